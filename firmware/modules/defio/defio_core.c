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
    uint32_t delay_ms) {
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
            inst->delay_ms = delay_ms;
            defio_claimed[i] = 1;
            return inst;
        }
    }
    return NULL;
}

size_t defio_core_index(const defio_inst_t *inst) {
    return inst - defio_table;
}

void defio_core_publish(defio_inst_t *inst) {
    STORE(&inst->live, 1);
}

void defio_core_release(defio_inst_t *inst) {
    STORE(&inst->live, 0);
    defio_claimed[inst - defio_table] = 0;
}

// ARMv6-M and ARMv7-M have no popcount instruction (__builtin_popcount is a library call
// there): a dozen plain instructions per word, none for an empty one.
static size_t popcount_words(const uint32_t *bits, size_t nwords) {
    size_t n = 0;
    for (size_t i = 0; i < nwords; ++i) {
        uint32_t v = bits[i];
        if (v != 0) {
            v = v - ((v >> 1) & 0x55555555u);
            v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
            n += (((v + (v >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24;
        }
    }
    return n;
}

static size_t bitmap_words(const defio_inst_t *inst) {
    return (inst->npages + 31) / 32;
}

size_t defio_core_take(defio_inst_t *inst, uint32_t *bits) {
    // Close the round first: a fault from here on opens the next one (and arms the timer),
    // so a page written while we take is either in `bits` or in the next round.
    STORE(&inst->settling, 0);
    STORE(&inst->armed, DEFIO_ROUND_CLOSED);
    size_t nwords = bitmap_words(inst);
    for (size_t i = 0; i < nwords; ++i) {
        bits[i] = XCHG(&inst->dirty[i], 0);
    }
    return popcount_words(bits, nwords);
}

// Open a round unless one is open: only the first write of a round gets the CAS, and it
// notes the start before the timer can see the round open (the timer may run on another
// core, or preempt the thread between the two stores).
DEFIO_FAULT_PATH static void arm_round(defio_inst_t *inst) {
    uint32_t closed = DEFIO_ROUND_CLOSED;
    if (__atomic_compare_exchange_n(&inst->armed, &closed, DEFIO_ROUND_OPENING, false,
        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        STORE(&inst->round_start_ms, defio_backend_ticks_ms());
        STORE(&inst->armed, DEFIO_ROUND_OPEN);
        defio_backend_wake_timer();
    }
}

void defio_core_restore(defio_inst_t *inst, const uint32_t *bits, uint32_t retry_ms, bool arm) {
    STORE(&inst->retry_ms, retry_ms);
    size_t nwords = bitmap_words(inst);
    for (size_t i = 0; i < nwords; ++i) {
        OR(&inst->dirty[i], bits[i]);
    }
    if (arm) {
        arm_round(inst);
    }
}

size_t defio_core_peek(const defio_inst_t *inst, uint32_t *bits) {
    size_t nwords = bitmap_words(inst);
    for (size_t i = 0; i < nwords; ++i) {
        bits[i] = LOAD(&inst->dirty[i]);
    }
    return popcount_words(bits, nwords);
}

void defio_core_set_timing(defio_inst_t *inst, uint32_t delay_ms, uint32_t settle_ms,
    uint32_t max_delay_ms) {
    STORE(&inst->delay_ms, delay_ms);
    STORE(&inst->settle_ms, settle_ms);
    STORE(&inst->max_delay_ms, max_delay_ms);
    // The timer may be sleeping until the old deadline.
    defio_backend_wake_timer();
}

void defio_core_begin_settle(defio_inst_t *inst, uint32_t now_ms) {
    STORE(&inst->settle_faults, LOAD(&inst->faults));
    STORE(&inst->settle_start_ms, now_ms);
    STORE(&inst->settling, 1);
}

bool defio_page_size_valid(size_t page_size, size_t min, uint32_t *shift_out) {
    if (page_size < min || page_size > DEFIO_PAGE_SIZE_MAX || (page_size & (page_size - 1)) != 0) {
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

DEFIO_FAULT_PATH bool defio_core_fault(uintptr_t addr) {
    defio_inst_t *inst = defio_last_hit;
    intptr_t page = page_in(inst, addr);
    for (size_t i = 0; page < 0 && i < DEFIO_MAX_INSTANCES; ++i) {
        inst = &defio_table[i];
        page = page_in(inst, addr);
    }
    if (page < 0) {
        return false;
    }
    if (defio_last_hit != inst) {
        defio_last_hit = inst;
    }
    // Open the page first, then set its bit (fb_defio's page_mkwrite order). The other
    // order loses writes: a take and re-protect on another core (or thread) between the
    // two would clear the bit and close the page, and this handler would then open it with
    // its bit clear. In this order a take between the two finds no bit and leaves the page
    // open; the bit set just after puts it in the next round, with every write made to it.
    // (Opening ends with a barrier on the MCU and is a system call on the host, so the bit
    // is set after the page is open.)
    defio_backend_open_page(inst, page);
    __atomic_fetch_or(&inst->dirty[page >> 5], (uint32_t)1 << (page & 31), __ATOMIC_RELAXED);
    #ifdef DEFIO_MCU
    // Only fault handlers write it, and on an MCU they do not preempt one another (one
    // priority) or run on two cores at once (the MPU is programmed on one): a plain add.
    inst->faults += 1;
    #else
    ADD(&inst->faults, 1);
    #endif
    // Then look at the round, after the bit (one full barrier). Most faults find it open and
    // need no exclusive access. Seeing it open while a take is closing it is fine: a take
    // closes the round before it takes the bitmap, so it takes the bit set just before.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&inst->armed, __ATOMIC_RELAXED) == DEFIO_ROUND_CLOSED) {
        arm_round(inst);
    }
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

// The settle phase (settle_ms > 0), an extension of the kernel's fixed delay: when delay_ms
// is over, the thread protects the round's pages again instead of delivering them
// (DEFIO_ROUND_SETTLE: a settle window of settle_ms starts) and the round goes on. A write
// in the window faults (the fault count moves): the app is still drawing, so when the window
// ends the pages are protected again for another window. The round is delivered at the end
// of a window without a fault, or when it is max_delay_ms old (so a continuous animation
// still gets an update every max_delay_ms). Pages written before and during the settle
// phase go in the same callback. The fault path does nothing more for it.

static uint32_t since(uint32_t now_ms, uint32_t then_ms) {
    uint32_t elapsed = now_ms - then_ms;
    // `then` after the caller read now_ms (a fault preempted the timer): no time passed.
    return (int32_t)elapsed < 0 ? 0 : elapsed;
}

// The longest a round waits, from its first write, with the settle phase.
static uint32_t max_delay(defio_inst_t *inst, uint32_t delay) {
    uint32_t cap = LOAD(&inst->max_delay_ms);
    if (cap == 0) {
        uint32_t settle = LOAD(&inst->settle_ms);
        cap = settle > (DEFIO_DELAY_MS_MAX - delay) / 10 ? DEFIO_DELAY_MS_MAX : delay + 10 * settle;
    }
    return cap > delay ? cap : delay;
}

// Milliseconds until the open round started at `start` is due at `now_ms` (0: due now).
// Millisecond clocks truncate: a round opened at 10.9 ms starts at 10, so `elapsed >= delay`
// could fire up to 1 ms early. Every wait is a minimum: wait for one more tick (a delay of 0
// still means the next scheduler run).
static uint32_t round_wait(defio_inst_t *inst, uint32_t start, uint32_t now_ms) {
    uint32_t elapsed = since(now_ms, start);
    uint32_t delay = LOAD(&inst->delay_ms);
    uint32_t retry = LOAD(&inst->retry_ms);
    if (retry > delay) {
        delay = retry;
    }
    if (!LOAD(&inst->settling)) {
        return delay == 0 || elapsed > delay ? 0 : delay - elapsed + 1;
    }
    uint32_t cap = max_delay(inst, delay);
    if (elapsed >= cap) {
        return 0;
    }
    uint32_t settle = LOAD(&inst->settle_ms);
    uint32_t window = since(now_ms, LOAD(&inst->settle_start_ms));
    if (window > settle) {
        return 0;
    }
    uint32_t wait = settle - window + 1;
    return wait < cap - elapsed ? wait : cap - elapsed;
}

defio_round_action_t defio_core_round_ready(defio_inst_t *inst, uint32_t now_ms) {
    uint32_t start;
    if (!round_open_since(inst, &start) || round_wait(inst, start, now_ms) != 0) {
        return DEFIO_ROUND_WAIT;
    }
    if (LOAD(&inst->settle_ms) == 0
        || since(now_ms, start) >= max_delay(inst, LOAD(&inst->delay_ms))) {
        return DEFIO_ROUND_DELIVER;
    }
    // delay_ms is over (first window), or a window ended with writes in it (another one).
    if (!LOAD(&inst->settling) || LOAD(&inst->faults) != LOAD(&inst->settle_faults)) {
        return DEFIO_ROUND_SETTLE;
    }
    return DEFIO_ROUND_DELIVER;
}

void defio_core_sched_ran(defio_inst_t *inst) {
    __atomic_store_n(&inst->due, 0, __ATOMIC_SEQ_CST);
}

void defio_core_delivery_done(defio_inst_t *inst) {
    if (__atomic_load_n(&inst->armed, __ATOMIC_SEQ_CST) != DEFIO_ROUND_CLOSED) {
        defio_backend_wake_timer();
    }
}

uint32_t defio_core_poll(uint32_t now_ms, bool *scheduled) {
    uint32_t next = UINT32_MAX;
    *scheduled = false;
    for (size_t i = 0; i < DEFIO_MAX_INSTANCES; ++i) {
        defio_inst_t *inst = &defio_table[i];
        uint32_t start;
        // A scheduled flush that has not run yet: it wakes us when it has
        // (defio_core_delivery_done), so there is no deadline to keep for it.
        if (!LOAD(&inst->live) || LOAD(&inst->due) || !round_open_since(inst, &start)) {
            continue;
        }
        uint32_t wait = round_wait(inst, start, now_ms);
        if (wait == 0) {
            STORE(&inst->due, 1);
            if (defio_port_round_due(inst)) {
                *scheduled = true;
            } else {
                // Workqueue full: try again on the next millisecond.
                STORE(&inst->due, 0);
                next = 1;
            }
        } else if (wait < next) {
            next = wait;
        }
    }
    return next;
}

bool defio_core_overlaps(uintptr_t addr, size_t len) {
    uintptr_t end = addr + len; // exclusive
    for (size_t i = 0; i < DEFIO_MAX_INSTANCES; ++i) {
        defio_inst_t *inst = &defio_table[i];
        if (!LOAD(&inst->live)) {
            continue;
        }
        uintptr_t lo = inst->base;
        uintptr_t hi = lo + ((size_t)inst->npages << inst->page_shift);
        if (addr < hi && end > lo) {
            return true;
        }
    }
    return false;
}
