// MPU backend for PMSAv7 (Cortex-M3/M4/M7) and PMSAv6 (Cortex-M0+): regions with 8
// subregions. The fault source differs (MMFAR on PMSAv7: defio_mcu.c; the store decoder on
// PMSAv6: backend_pmsav6.c); the regions are the same.
//
// Each instance gets consecutive MPU regions from defio_mpu_first on. A region covers 8
// pages (8 x page_size bytes, aligned to its size) and is read-only (AP=RO, XN); its 8
// subregions are the pages. A set SRD bit disables the subregion, so that page falls back to
// the default map (PRIVDEFENA): plain read-write RAM. Open a page = set its SRD bit; protect
// ("mkclean") = clear it. Subregions past the end of the instance stay disabled for good
// (the pool may place a smaller instance there, whose own region then decides).
//
// Concurrency: the fault handler does a read-modify-write of RASR (open_page). The thread
// does its own (attach, detach, protect) with PRIMASK set, so MemManage cannot preempt them
// half way, and no defio memory is written inside those sections, so no HardFault either
// (HardFault ignores PRIMASK: on PMSAv6 it is the defio fault).
#include <errno.h>

#include "defio_mpu.h"

#if DEFIO_MCU_PMSAV7 || DEFIO_MCU_PMSAV6

#define PAGES_PER_REGION DEFIO_MCU_PAGES_PER_REGION
#define RASR_PROTECTED (DEFIO_MPU_RASR_ENABLE | DEFIO_MPU_RASR_AP_RO | DEFIO_MPU_RASR_XN \
    | DEFIO_MPU_RASR_C | DEFIO_MPU_RASR_B)

// Which of defio's regions are taken (index 0 = region defio_mpu_first). Thread only.
static bool region_used[DEFIO_MCU_REGIONS];
#if DEFIO_MCU_PMSAV6
// Base and log2 size of each taken region, for defio_pmsav7_protected. Written by the
// thread with PRIMASK set before the region is enabled, read by the fault handler.
static uintptr_t region_base[DEFIO_MCU_REGIONS];
static uint8_t region_log2[DEFIO_MCU_REGIONS];
#endif

void defio_mpu_init(void) {
}

size_t defio_mpu_alloc_align(size_t page_size) {
    return page_size * PAGES_PER_REGION; // a region is aligned to its size
}

static size_t inst_regions(const defio_inst_t *inst) {
    return (inst->npages + PAGES_PER_REGION - 1) / PAGES_PER_REGION;
}

int defio_backend_attach(defio_inst_t *inst, const char **why) {
    size_t nreg = inst_regions(inst);
    size_t run = 0;
    size_t first = 0;
    for (size_t r = 0; r < defio_mpu_count && run < nreg; ++r) {
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
    uint32_t log2 = inst->page_shift + 3;
    for (size_t k = 0; k < nreg; ++k) {
        region_used[first + k] = true;
        // Subregions past the last page stay disabled (plain RAM, not ours).
        size_t pages_here = inst->npages - k * PAGES_PER_REGION;
        uint32_t srd = pages_here >= PAGES_PER_REGION ? 0 : (0xffu << pages_here) & 0xffu;
        uintptr_t base = inst->base + (k << log2);
        uint32_t state = defio_irq_save();
        #if DEFIO_MCU_PMSAV6
        region_base[first + k] = base;
        region_log2[first + k] = log2;
        #endif
        DEFIO_MPU->RNR = defio_mpu_first + first + k;
        DEFIO_MPU->RBAR = base;
        DEFIO_MPU->RASR = RASR_PROTECTED | DEFIO_MPU_RASR_SIZE(log2) | DEFIO_MPU_RASR_SRD(srd);
        defio_dsb_isb();
        defio_irq_restore(state);
    }
    inst->backend = first;
    return 0;
}

void defio_backend_detach(defio_inst_t *inst) {
    size_t nreg = inst_regions(inst);
    for (size_t k = 0; k < nreg; ++k) {
        uint32_t state = defio_irq_save();
        DEFIO_MPU->RNR = defio_mpu_first + inst->backend + k;
        DEFIO_MPU->RASR = 0;
        defio_dsb_isb();
        defio_irq_restore(state);
        region_used[inst->backend + k] = false;
    }
}

void defio_backend_protect(defio_inst_t *inst, const uint32_t *bits) {
    size_t nreg = inst_regions(inst);
    for (size_t k = 0; k < nreg; ++k) {
        size_t p0 = k * PAGES_PER_REGION;
        uint32_t word = bits[p0 >> 5];
        if (word == 0) {
            // No page of this word's regions was taken: skip them all at once.
            k = (p0 | 31) / PAGES_PER_REGION;
            continue;
        }
        uint32_t close = (word >> (p0 & 31)) & 0xffu; // 8 | 32: never straddles
        if (close == 0) {
            continue;
        }
        uint32_t state = defio_irq_save();
        DEFIO_MPU->RNR = defio_mpu_first + inst->backend + k;
        DEFIO_MPU->RASR &= ~DEFIO_MPU_RASR_SRD(close);
        defio_dsb_isb();
        defio_irq_restore(state);
    }
}

// Fault handler side: constant time, no allocation.
DEFIO_MCU_RAMFUNC void defio_backend_open_page(defio_inst_t *inst, size_t page) {
    DEFIO_MPU->RNR = defio_mpu_first + inst->backend + page / PAGES_PER_REGION;
    DEFIO_MPU->RASR |= DEFIO_MPU_RASR_SRD(1u << (page % PAGES_PER_REGION));
    defio_dsb_isb();
}

void defio_mpu_reset(void) {
    uint32_t state = defio_irq_save();
    for (size_t r = 0; r < defio_mpu_count; ++r) {
        DEFIO_MPU->RNR = defio_mpu_first + r;
        DEFIO_MPU->RASR = 0;
        region_used[r] = false;
    }
    defio_dsb_isb();
    defio_irq_restore(state);
}

#if DEFIO_MCU_PMSAV6
// Fault handler side: one pass over defio's regions (8 at most on PMSAv6).
DEFIO_MCU_RAMFUNC bool defio_pmsav7_protected(uintptr_t addr) {
    for (size_t r = 0; r < defio_mpu_count; ++r) {
        uint32_t log2 = region_log2[r];
        uintptr_t off = addr - region_base[r]; // wraps to huge below the base
        if (log2 == 0 || (off >> log2) != 0) {
            continue;
        }
        DEFIO_MPU->RNR = defio_mpu_first + r;
        uint32_t rasr = DEFIO_MPU->RASR;
        uint32_t sub = off >> (log2 - 3);
        // A disabled subregion (an open page, or past the end of a smaller instance whose
        // neighbour's region covers it) leaves the address to the other regions.
        if ((rasr & DEFIO_MPU_RASR_ENABLE) && !(rasr & DEFIO_MPU_RASR_SRD(1u << sub))) {
            return true;
        }
    }
    return false;
}
#endif

#endif // DEFIO_MCU_PMSAV7 || DEFIO_MCU_PMSAV6
