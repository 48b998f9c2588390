// defio core: the instance table, dirty bitmaps, rounds and page maths.
//
// Plain C types only (no mp_obj_t), so the same file builds into every port and is
// testable on the host. The fault handler side (defio_core_fault) and the timer side
// (defio_core_poll) do constant-time work, take no locks and never allocate.
//
// The invariant everything below keeps, on one core or several: a page of a live instance
// is writable only if its dirty bit is set, or a fault handler that opened it is about to
// set it. So a write is never lost: either it faults, or the page it lands in is (or is
// about to be) in the bitmap, and the next take sees it.
#ifndef DEFIO_CORE_H
#define DEFIO_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Limits, overridable per port or board with -D: instances alive at once, pages each (the
// sizes of the tables; a backend may allow fewer at run time: defio_backend_max_*). On a
// Cortex-M they follow from the MPU and the pool: defio_mcu_limits.h.
#ifdef DEFIO_MCU
#include "defio_mcu_limits.h"
#endif
#ifndef DEFIO_MAX_INSTANCES
#define DEFIO_MAX_INSTANCES (8)
#endif
#ifndef DEFIO_MAX_PAGES
#define DEFIO_MAX_PAGES (4096)
#endif
// Largest page size accepted (bytes, a power of two).
#ifndef DEFIO_PAGE_SIZE_MAX
#define DEFIO_PAGE_SIZE_MAX (16u * 1024 * 1024)
#endif
// Largest delay_ms: the timer works with wrapping 32-bit milliseconds, so a deadline must
// be less than half the wrap away (about 12 days).
#define DEFIO_DELAY_MS_MAX (0x3fffffffu)

#define DEFIO_BITMAP_WORDS ((DEFIO_MAX_PAGES + 31) / 32)

// defio_inst_t keeps npages in 16 bits.
#if DEFIO_MAX_PAGES > 65535
#error "DEFIO_MAX_PAGES must be at most 65535"
#endif

// Attribute of the functions the fault handler runs (a port may need them in RAM).
#ifndef DEFIO_FAULT_PATH
#define DEFIO_FAULT_PATH
#endif

// Round states (defio_inst_t.armed). OPENING: the first fault is noting the start time; the
// timer looks only at OPEN rounds.
#define DEFIO_ROUND_CLOSED (0)
#define DEFIO_ROUND_OPENING (1)
#define DEFIO_ROUND_OPEN (2)

typedef struct _defio_inst_t {
    // Written by the thread before `live` is set (release), read-only while live.
    // Packed into two words (RAM per instance, issue 14). The binding's object is found by
    // the slot number (defio_core_index), not kept here.
    uintptr_t base;         // first byte of the protected memory, page aligned
    uint16_t npages;        // pages covered (the last one may be partly used)
    uint8_t page_shift;     // log2(page size)
    uint8_t backend;        // backend-private data (MPU: first region number)

    // Written by the thread, read by the timer (and settle_ms by the fault handler): single
    // aligned words. retry_ms: the delay of a round that retries a failed delivery (backoff),
    // 0 otherwise. settle_ms, max_delay_ms: the settle phase (0: none; see defio_core.c).
    volatile uint32_t delay_ms;
    volatile uint32_t retry_ms;
    volatile uint32_t settle_ms;
    volatile uint32_t max_delay_ms;
    // Written by the thread holding the binding's busy owner, read by the timer: the settle
    // window of the open round (settling: 1 once its pages were protected again after
    // delay_ms, cleared by take; the window's start and the fault count then).
    volatile uint32_t settling;
    volatile uint32_t settle_start_ms;
    volatile uint32_t settle_faults;

    // Shared with the fault handler and the timer: atomic operations only.
    volatile uint32_t live;             // 1 while the instance is protected and tracked
    volatile uint32_t armed;            // DEFIO_ROUND_*: opened by its first fault, closed by take
    volatile uint32_t round_start_ms;   // time of the first fault of the open round
    volatile uint32_t due;              // set by the timer when it schedules the flush, cleared
                                        // by the thread when that flush runs
    volatile uint32_t dirty[DEFIO_BITMAP_WORDS];
    volatile uint32_t faults;
} defio_inst_t;

// What the scheduled flush does with an open round (defio_core_round_ready).
typedef enum {
    DEFIO_ROUND_WAIT,       // not due yet (or no round open)
    DEFIO_ROUND_SETTLE,     // delay_ms is over: protect its pages again and watch for writes
    DEFIO_ROUND_DELIVER,    // due: deliver it
} defio_round_action_t;

// Thread side. Claim a table slot for memory at `base` (NULL when the table is full).
defio_inst_t *defio_core_claim(uintptr_t base, size_t npages, uint32_t page_shift,
    uint32_t delay_ms);
// The slot number of a claimed instance (0 .. DEFIO_MAX_INSTANCES - 1).
size_t defio_core_index(const defio_inst_t *inst);
// Make a claimed instance visible to the fault handler and the timer.
void defio_core_publish(defio_inst_t *inst);
// Stop tracking: the fault handler and the timer ignore the slot from now on.
void defio_core_release(defio_inst_t *inst);
// Take and clear the dirty bitmap (closing the round); returns the number of pages taken.
// The caller write-protects exactly the taken pages afterwards.
size_t defio_core_take(defio_inst_t *inst, uint32_t *bits);
// Put pages back (a failed delivery). With `arm`, open a round for them if none is open;
// the rounds wait max(delay_ms, retry_ms) until a delivery succeeds.
void defio_core_restore(defio_inst_t *inst, const uint32_t *bits, uint32_t retry_ms, bool arm);
// Copy the dirty bitmap without clearing it; returns the number of pages set.
size_t defio_core_peek(const defio_inst_t *inst, uint32_t *bits);
// New timing for the instance, applied to the open round too (max_delay_ms 0: delay_ms +
// 10 x settle_ms).
void defio_core_set_timing(defio_inst_t *inst, uint32_t delay_ms, uint32_t settle_ms,
    uint32_t max_delay_ms);
// A settle window starts: the open round's pages are about to be protected again (thread
// side, before the protection); a fault from now on means the app is still drawing.
void defio_core_begin_settle(defio_inst_t *inst, uint32_t now_ms);
// The scheduled flush runs: the timer may schedule the instance again from now on.
void defio_core_sched_ran(defio_inst_t *inst);
// What the scheduled flush does with the open round at `now_ms`: it delivers only a round
// that has waited its delay (so a flush() that overtook it does not make the next round
// early) and, with settle_ms, stayed quiet that long.
defio_round_action_t defio_core_round_ready(defio_inst_t *inst, uint32_t now_ms);
// A delivery (or a refused scheduled flush) ended: if a round is open, make sure the timer
// looks at it (it skipped the instance while the flush was scheduled).
void defio_core_delivery_done(defio_inst_t *inst);

// Page maths (thread side).
static inline bool defio_bit_get(const uint32_t *bits, size_t page) {
    return (bits[page >> 5] >> (page & 31)) & 1;
}
bool defio_page_size_valid(size_t page_size, size_t min, uint32_t *shift_out);
size_t defio_pages_for(size_t size, uint32_t page_shift);

// Fault handler side: `addr` was written and faulted. If it belongs to a live instance,
// open the page (backend), then record it, arm the round and return true; else return
// false and the caller chains to the normal fault path.
bool defio_core_fault(uintptr_t addr);

// Any side: true when [addr, addr + len) overlaps the memory of a live instance.
bool defio_core_overlaps(uintptr_t addr, size_t len);

// Timer side: schedule the flush of every round that is due at `now_ms`; returns the
// milliseconds until the next round falls due (UINT32_MAX when no round is open) and sets
// *scheduled when it handed at least one flush to the workqueue.
uint32_t defio_core_poll(uint32_t now_ms, bool *scheduled);

// Provided by the binding: schedule the flush of `inst` on the workqueue (the MicroPython
// scheduler; the binding finds its object by defio_core_index). Called from the timer
// side; returns false when the queue is full.
bool defio_port_round_due(defio_inst_t *inst);

#endif // DEFIO_CORE_H
