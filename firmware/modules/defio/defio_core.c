// defio core: see defio_core.h. Shared fields are touched with __atomic builtins only
// (LDREX/STREX on Cortex-M3/M4, lock-prefixed instructions on the host), so the fault
// handler never waits for the thread and the thread never masks the fault handler.
#include <string.h>

#include "defio_core.h"
#include "defio_backend.h"

// The instance table. A slot belongs to the thread while `live` is 0; the fault handler and
// the timer only read slots whose `live` is 1 (acquire), so they see complete fields.
static defio_inst_t defio_table[DEFIO_MAX_INSTANCES];
// Slots handed out by defio_core_claim and not yet released (thread only).
static uint8_t defio_claimed[DEFIO_MAX_INSTANCES];

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define XCHG(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define OR(p, v) __atomic_fetch_or((p), (v), __ATOMIC_ACQ_REL)
#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)

defio_inst_t *defio_core_claim(uintptr_t base, size_t npages, uint32_t page_shift,
    uint32_t delay_ms, void *owner) {
    if (npages == 0 || npages > DEFIO_MAX_PAGES) {
        return NULL;
    }
    for (size_t i = 0; i < DEFIO_MAX_INSTANCES; ++i) {
        if (!defio_claimed[i]) {
            defio_inst_t *inst = &defio_table[i];
            memset((void *)inst, 0, sizeof(*inst));
            inst->base = base;
            inst->npages = npages;
            inst->page_shift = page_shift;
            inst->owner = owner;
            inst->delay_ms = delay_ms;
            defio_claimed[i] = 1;
            return inst;
        }
    }
    return NULL;
}

void defio_core_publish(defio_inst_t *inst) {
    STORE(&inst->live, 1);
}

void defio_core_release(defio_inst_t *inst) {
    STORE(&inst->live, 0);
    defio_claimed[inst - defio_table] = 0;
}

static size_t popcount_words(const uint32_t *bits, size_t nwords) {
    size_t n = 0;
    for (size_t i = 0; i < nwords; ++i) {
        n += __builtin_popcount(bits[i]);
    }
    return n;
}

static size_t bitmap_words(const defio_inst_t *inst) {
    return (inst->npages + 31) / 32;
}

size_t defio_core_take(defio_inst_t *inst, uint32_t *bits) {
    // Close the round first: a fault from here on opens the next one (and arms the timer),
    // so a page written while we take is either in `bits` or in the next round.
    STORE(&inst->armed, DEFIO_ROUND_CLOSED);
    size_t nwords = bitmap_words(inst);
    for (size_t i = 0; i < nwords; ++i) {
        bits[i] = XCHG(&inst->dirty[i], 0);
    }
    // The round is closed, so the timer may schedule the next one from now on.
    STORE(&inst->due, 0);
    return popcount_words(bits, nwords);
}

// Open a round unless one is open: only the first write of a round gets the CAS, and it
// notes the start before the timer can see the round open (the timer may run on another
// core, or preempt the thread between the two stores).
static void arm_round(defio_inst_t *inst) {
    uint32_t closed = DEFIO_ROUND_CLOSED;
    if (__atomic_compare_exchange_n(&inst->armed, &closed, DEFIO_ROUND_OPENING, false,
        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        STORE(&inst->round_start_ms, defio_backend_ticks_ms());
        STORE(&inst->armed, DEFIO_ROUND_OPEN);
        defio_backend_wake_timer();
    }
}

void defio_core_restore(defio_inst_t *inst, const uint32_t *bits) {
    size_t nwords = bitmap_words(inst);
    for (size_t i = 0; i < nwords; ++i) {
        OR(&inst->dirty[i], bits[i]);
    }
    arm_round(inst);
}

size_t defio_core_peek(const defio_inst_t *inst, uint32_t *bits) {
    size_t nwords = bitmap_words(inst);
    for (size_t i = 0; i < nwords; ++i) {
        bits[i] = LOAD(&inst->dirty[i]);
    }
    return popcount_words(bits, nwords);
}

bool defio_page_size_valid(size_t page_size, size_t min, uint32_t *shift_out) {
    if (page_size < min || (page_size & (page_size - 1)) != 0) {
        return false;
    }
    *shift_out = __builtin_ctzl(page_size);
    return true;
}

size_t defio_pages_for(size_t size, uint32_t page_shift) {
    return (size + ((size_t)1 << page_shift) - 1) >> page_shift;
}

// The page of `inst` holding `addr`, or -1 when `inst` is not live or does not hold it.
static inline intptr_t page_in(defio_inst_t *inst, uintptr_t addr) {
    if (!LOAD(&inst->live)) {
        return -1;
    }
    size_t page = (addr - inst->base) >> inst->page_shift; // wraps to huge below base
    return page < inst->npages ? (intptr_t)page : -1;
}

// The instance that took the last fault: tried first, so a burst of drawing into one
// display costs the same however many instances exist. Only a hint (written by the fault
// handler, any value is safe: page_in checks it).
static defio_inst_t *volatile defio_last_hit = &defio_table[0];

bool defio_core_fault(uintptr_t addr) {
    defio_inst_t *inst = defio_last_hit;
    intptr_t page = page_in(inst, addr);
    for (size_t i = 0; page < 0 && i < DEFIO_MAX_INSTANCES; ++i) {
        inst = &defio_table[i];
        page = page_in(inst, addr);
    }
    if (page < 0) {
        return false;
    }
    defio_last_hit = inst;
    OR(&inst->dirty[page >> 5], (uint32_t)1 << (page & 31));
    ADD(&inst->faults, 1);
    defio_backend_open_page(inst, page);
    arm_round(inst);
    return true;
}

// The start of the open round. A take and the next round's first fault may come between
// the loads: the start is accepted only if an open round still has it.
static bool round_open_since(defio_inst_t *inst, uint32_t *start) {
    if (LOAD(&inst->armed) != DEFIO_ROUND_OPEN) {
        return false;
    }
    *start = LOAD(&inst->round_start_ms);
    return LOAD(&inst->armed) == DEFIO_ROUND_OPEN && LOAD(&inst->round_start_ms) == *start;
}

uint32_t defio_core_poll(uint32_t now_ms, bool *scheduled) {
    uint32_t next = UINT32_MAX;
    *scheduled = false;
    for (size_t i = 0; i < DEFIO_MAX_INSTANCES; ++i) {
        defio_inst_t *inst = &defio_table[i];
        uint32_t start;
        if (!LOAD(&inst->live) || LOAD(&inst->due) || !round_open_since(inst, &start)) {
            continue;
        }
        uint32_t elapsed = now_ms - start;
        if ((int32_t)elapsed < 0) {
            // The round opened after the caller read now_ms (a fault preempted the timer).
            elapsed = 0;
        }
        uint32_t delay = inst->delay_ms;
        // Millisecond clocks truncate: a round opened at 10.9 ms starts at 10, so
        // `elapsed >= delay` could fire up to 1 ms early. delay_ms is a minimum: wait for
        // one more tick (delay 0 still means the next scheduler run).
        if (delay == 0 || elapsed > delay) {
            STORE(&inst->due, 1);
            if (defio_port_round_due(inst)) {
                *scheduled = true;
            } else {
                // Workqueue full: try again on the next millisecond.
                STORE(&inst->due, 0);
                next = 1;
            }
        } else if (delay - elapsed + 1 < next) {
            next = delay - elapsed + 1;
        }
    }
    return next;
}

void defio_core_prepare_write(uintptr_t addr, size_t len) {
    if (len == 0) {
        return;
    }
    uintptr_t end = addr + len; // exclusive
    for (size_t i = 0; i < DEFIO_MAX_INSTANCES; ++i) {
        defio_inst_t *inst = &defio_table[i];
        if (!LOAD(&inst->live)) {
            continue;
        }
        uintptr_t lo = inst->base;
        uintptr_t hi = lo + (inst->npages << inst->page_shift);
        uintptr_t from = addr > lo ? addr : lo;
        uintptr_t to = end < hi ? end : hi;
        for (uintptr_t p = from; p < to; p = (p | (((uintptr_t)1 << inst->page_shift) - 1)) + 1) {
            // An atomic add of zero: a real store (it faults on a clean page), no data change.
            __atomic_fetch_add((volatile uint8_t *)p, 0, __ATOMIC_RELAXED);
        }
    }
}
