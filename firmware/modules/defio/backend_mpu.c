// Cortex-M backend: the pool is a linker section, protection is the MPU (PMSAv7), the
// trigger is MemManage (or HardFault when the write happens with PRIMASK set; the port's
// fault handlers call defio_core_fault with MMFAR).
//
// Each instance gets consecutive MPU regions starting at DEFIO_MPU_FIRST_REGION (the port
// keeps the regions below for itself). A region covers 8 pages (8 x page_size bytes, aligned
// to its size) and is read-only (AP=RO, XN); its 8 subregions are the pages. A set SRD bit
// disables the subregion, so that page falls back to the default map (PRIVDEFENA): plain
// read-write RAM. Open a page = set its SRD bit; protect ("mkclean") = clear it. Subregions
// past the end of the instance stay disabled forever (the pool allocator may place a smaller
// instance there, whose own region then decides).
//
// Concurrency: the fault handler does a read-modify-write of RASR (open_page). The thread
// does its RMWs (attach, detach, protect) with PRIMASK set, so MemManage cannot preempt them
// half way; no defio memory is written inside those sections, so no HardFault either.
#include <errno.h>
#include <string.h>

#include "py/mpconfig.h"
#include "py/mphal.h"

#include "defio_backend.h"
#include "defio_backend_mpu.h"

#ifndef DEFIO_MPU_PAGE_SIZE_MIN
#define DEFIO_MPU_PAGE_SIZE_MIN (32)
#endif
#ifndef DEFIO_MPU_PAGE_SIZE_DEFAULT
#define DEFIO_MPU_PAGE_SIZE_DEFAULT (DEFIO_MPU_PAGE_SIZE_MIN)
#endif
#ifndef DEFIO_MPU_FIRST_REGION
#define DEFIO_MPU_FIRST_REGION (1)
#endif
#ifndef DEFIO_MPU_NUM_REGIONS
#define DEFIO_MPU_NUM_REGIONS (8)
#endif
// Largest pool the allocator can track, in pages of DEFIO_MPU_PAGE_SIZE_MIN.
#ifndef DEFIO_MPU_POOL_MAX_GRANULES
#define DEFIO_MPU_POOL_MAX_GRANULES (1024)
#endif

#define MPU_RNR (*(volatile uint32_t *)0xe000ed98)
#define MPU_RBAR (*(volatile uint32_t *)0xe000ed9c)
#define MPU_RASR (*(volatile uint32_t *)0xe000eda0)
#define RASR_ENABLE (1u << 0)
#define RASR_SIZE(log2) ((uint32_t)((log2) - 1) << 1)
#define RASR_SRD(bits) ((uint32_t)(bits) << 8)
#define RASR_AP_RO (6u << 24)
#define RASR_XN (1u << 28)
#define RASR_NORMAL_WB ((1u << 17) | (1u << 16))

#define PAGES_PER_REGION (8)

const char defio_backend_name[] = "mpu-pmsav7";

// The pool, from the linker script (aligned to its size).
extern uint8_t _defio_pool_start[], _defio_pool_end[];

// Thread only (alloc/free/attach/detach run in thread context; reset on soft reset).
static uint8_t granule_used[DEFIO_MPU_POOL_MAX_GRANULES];
static bool region_used[DEFIO_MPU_NUM_REGIONS];

static inline uint32_t irq_save(void) {
    uint32_t state;
    __asm volatile ("mrs %0, primask\n cpsid i" : "=r" (state) : : "memory");
    return state;
}

static inline void irq_restore(uint32_t state) {
    __asm volatile ("msr primask, %0" : : "r" (state) : "memory");
}

static inline void mpu_sync(void) {
    __asm volatile ("dsb\n isb" : : : "memory");
}

static size_t pool_granules(void) {
    size_t n = (size_t)(_defio_pool_end - _defio_pool_start) / DEFIO_MPU_PAGE_SIZE_MIN;
    return n < DEFIO_MPU_POOL_MAX_GRANULES ? n : DEFIO_MPU_POOL_MAX_GRANULES;
}

size_t defio_backend_page_size_min(void) {
    return DEFIO_MPU_PAGE_SIZE_MIN;
}

size_t defio_backend_page_size_default(void) {
    return DEFIO_MPU_PAGE_SIZE_DEFAULT;
}

uint32_t defio_backend_ticks_ms(void) {
    return mp_hal_ticks_ms();
}

void defio_backend_init(void) {
    // The fault path and the timer belong to the port and are always installed.
}

static bool pool_take(size_t len, size_t page_size, void **mem) {
    size_t align = page_size * PAGES_PER_REGION; // an MPU region is aligned to its size
    size_t need = len / DEFIO_MPU_PAGE_SIZE_MIN;
    size_t total = pool_granules();
    uintptr_t pool = (uintptr_t)_defio_pool_start;
    uintptr_t first = (pool + align - 1) & ~(uintptr_t)(align - 1);
    for (uintptr_t addr = first; addr >= pool; addr += align) {
        size_t g = (addr - pool) / DEFIO_MPU_PAGE_SIZE_MIN;
        if (g + need > total) {
            break;
        }
        size_t k = 0;
        while (k < need && !granule_used[g + k]) {
            ++k;
        }
        if (k == need) {
            memset(&granule_used[g], 1, need);
            // Fresh memory reads as zeros (as mmap gives on the host). Not protected yet:
            // attach programs the regions later.
            memset((void *)addr, 0, len);
            *mem = (void *)addr;
            return true;
        }
    }
    return false;
}

int defio_backend_alloc(size_t len, size_t page_size, void **mem, const char **why) {
    if (pool_take(len, page_size, mem)) {
        return 0;
    }
    *why = "defio: the protected pool is exhausted (deinit and drop an instance first)";
    return ENOMEM;
}

void defio_backend_free(void *mem, size_t len) {
    size_t g = ((uintptr_t)mem - (uintptr_t)_defio_pool_start) / DEFIO_MPU_PAGE_SIZE_MIN;
    memset(&granule_used[g], 0, len / DEFIO_MPU_PAGE_SIZE_MIN);
}

static size_t inst_regions(const defio_inst_t *inst) {
    return (inst->npages + PAGES_PER_REGION - 1) / PAGES_PER_REGION;
}

int defio_backend_attach(defio_inst_t *inst, const char **why) {
    size_t nreg = inst_regions(inst);
    size_t run = 0;
    size_t first = 0;
    for (size_t r = DEFIO_MPU_FIRST_REGION; r < DEFIO_MPU_NUM_REGIONS && run < nreg; ++r) {
        if (region_used[r]) {
            run = 0;
        } else if (run++ == 0) {
            first = r;
        }
    }
    if (run < nreg) {
        *why = "defio: no free MPU regions (deinit an instance first)";
        return ENOMEM;
    }
    uint32_t region_log2 = inst->page_shift + 3;
    for (size_t k = 0; k < nreg; ++k) {
        region_used[first + k] = true;
        // Subregions past the last page stay disabled (plain RAM, not ours).
        size_t pages_here = inst->npages - k * PAGES_PER_REGION;
        uint32_t srd = pages_here >= PAGES_PER_REGION ? 0 : (0xffu << pages_here) & 0xffu;
        uint32_t state = irq_save();
        MPU_RNR = first + k;
        MPU_RBAR = inst->base + (k << region_log2);
        MPU_RASR = RASR_ENABLE | RASR_SIZE(region_log2) | RASR_SRD(srd) | RASR_AP_RO
            | RASR_XN | RASR_NORMAL_WB;
        mpu_sync();
        irq_restore(state);
    }
    inst->backend = first;
    return 0;
}

void defio_backend_detach(defio_inst_t *inst) {
    size_t nreg = inst_regions(inst);
    for (size_t k = 0; k < nreg; ++k) {
        uint32_t state = irq_save();
        MPU_RNR = inst->backend + k;
        MPU_RASR = 0;
        mpu_sync();
        irq_restore(state);
        region_used[inst->backend + k] = false;
    }
}

void defio_backend_protect(defio_inst_t *inst, const uint32_t *bits) {
    size_t nreg = inst_regions(inst);
    for (size_t k = 0; k < nreg; ++k) {
        size_t p0 = k * PAGES_PER_REGION;
        uint32_t close = (bits[p0 >> 5] >> (p0 & 31)) & 0xffu; // 8 | 32: never straddles
        if (close == 0) {
            continue;
        }
        uint32_t state = irq_save();
        MPU_RNR = inst->backend + k;
        MPU_RASR &= ~RASR_SRD(close);
        mpu_sync();
        irq_restore(state);
    }
}

// Fault handler side: constant time, no allocation.
void defio_backend_open_page(defio_inst_t *inst, size_t page) {
    MPU_RNR = inst->backend + page / PAGES_PER_REGION;
    MPU_RASR |= RASR_SRD(1u << (page % PAGES_PER_REGION));
    mpu_sync();
}

void defio_backend_wake_timer(void) {
    port_soft_timer_kick();
}

void defio_backend_reset(void) {
    uint32_t state = irq_save();
    for (size_t r = DEFIO_MPU_FIRST_REGION; r < DEFIO_MPU_NUM_REGIONS; ++r) {
        MPU_RNR = r;
        MPU_RASR = 0;
        region_used[r] = false;
    }
    mpu_sync();
    irq_restore(state);
    memset(granule_used, 0, sizeof(granule_used));
}
