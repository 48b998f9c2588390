// MPU backend for PMSAv8 (ARMv8-M Mainline: Cortex-M33, the RP2350): regions are base/limit
// pairs with 32-byte granularity, no subregions, and an address two regions cover faults.
//
// The protected part of an instance is a few intervals of pages, one MPU region each
// (read-only, XN). Attach: one region over the whole instance. A first write to page p of
// [lo, hi) opens p: the interval shrinks at one end, or splits in two and takes a free
// region. With no region free, the smaller side of the split is opened along with p and
// all of its pages are marked dirty (reporting a page too many is allowed, missing one never
// is). mkclean gathers the instance back into one region over all its pages: pages that are
// dirty in the next round may be protected again, since their bits are set (their next write
// faults once more). So an instance holds one region after every flush and a region for
// each hole between open pages in between.
//
// Every instance keeps at least one region from attach to detach (an interval may be
// empty: the region is off but stays the instance's), so the instance count is bounded by
// the region count only: an attach that finds no free region takes one from an instance
// that has two or more (marking its pages dirty if it was protecting any).
//
// Concurrency: as on PMSAv7, the fault handler changes regions and the tables below; the
// thread does so with PRIMASK set and writes no defio memory inside (no HardFault either).
#include <errno.h>

#include "defio_mpu.h"

#if DEFIO_MCU_PMSAV8

// Memory attribute index for defio's regions (MAIR): normal memory, write-back.
#ifndef DEFIO_MCU_MAIR_INDEX
#define DEFIO_MCU_MAIR_INDEX (7)
#endif
#define MAIR_NORMAL_WB (0xffu)

// Per defio region (index 0 = MPU region defio_mpu_first): the instance it belongs to
// (NULL: free) and the pages [lo, hi) it protects (empty: the region is off). Written by the
// fault handler, and by the thread with PRIMASK set.
static defio_inst_t *region_owner[DEFIO_MCU_REGIONS];
static uint16_t region_lo[DEFIO_MCU_REGIONS];
static uint16_t region_hi[DEFIO_MCU_REGIONS];

void defio_mpu_init(void) {
    volatile uint32_t *mair = DEFIO_MCU_MAIR_INDEX < 4 ? &DEFIO_MPU->MAIR0 : &DEFIO_MPU->MAIR1;
    uint32_t shift = (DEFIO_MCU_MAIR_INDEX & 3) * 8;
    *mair = (*mair & ~(0xffu << shift)) | (MAIR_NORMAL_WB << shift);
}

size_t defio_mpu_alloc_align(size_t page_size) {
    return page_size; // pages are aligned to their size; the region needs 32 bytes only
}

// Program MPU region r from the tables (off first, so no half-written region ever covers
// other memory).
DEFIO_MCU_RAMFUNC static void program(size_t r) {
    DEFIO_MPU->RNR = defio_mpu_first + r;
    DEFIO_MPU->RLAR = 0;
    defio_inst_t *inst = region_owner[r];
    if (inst != NULL && region_lo[r] < region_hi[r]) {
        uintptr_t base = inst->base + ((uintptr_t)region_lo[r] << inst->page_shift);
        uintptr_t end = inst->base + ((uintptr_t)region_hi[r] << inst->page_shift);
        DEFIO_MPU->RBAR = base | DEFIO_MPU_RBAR_AP_RO | DEFIO_MPU_RBAR_XN;
        DEFIO_MPU->RLAR = (end - DEFIO_MPU_V8_GRANULE) | DEFIO_MPU_RLAR_ATTR(DEFIO_MCU_MAIR_INDEX)
            | DEFIO_MPU_RLAR_EN;
    }
    defio_dsb_isb();
}

// Mark pages [lo, hi) of inst dirty, as defio_core_fault marks one (atomic OR of the bits).
DEFIO_MCU_RAMFUNC static void mark_dirty(defio_inst_t *inst, size_t lo, size_t hi) {
    for (size_t p = lo; p < hi; p = (p | 31) + 1) {
        size_t end = (p | 31) + 1 < hi ? (p | 31) + 1 : hi;
        uint32_t mask = (uint32_t)(0xffffffffu >> (32 - (end - p))) << (p & 31);
        __atomic_fetch_or(&inst->dirty[p >> 5], mask, __ATOMIC_ACQ_REL);
    }
}

// A region to split into: one of inst's empty ones, else a free one; -1 when none.
DEFIO_MCU_RAMFUNC static int spare_region(const defio_inst_t *inst) {
    int free = -1;
    for (size_t r = 0; r < defio_mpu_count; ++r) {
        if (region_owner[r] == inst && region_lo[r] == region_hi[r]) {
            return r;
        }
        if (region_owner[r] == NULL && free < 0) {
            free = r;
        }
    }
    return free;
}

// Fault handler side: at most two passes over defio's regions, no allocation.
DEFIO_MCU_RAMFUNC void defio_backend_open_page(defio_inst_t *inst, size_t page) {
    size_t r = 0;
    while (r < defio_mpu_count
           && (region_owner[r] != inst || page < region_lo[r] || page >= region_hi[r])) {
        ++r;
    }
    if (r == defio_mpu_count) {
        return; // open already
    }
    size_t lo = region_lo[r];
    size_t hi = region_hi[r];
    if (page == lo) {
        region_lo[r] = page + 1;
    } else if (page + 1 == hi) {
        region_hi[r] = page;
    } else {
        int f = spare_region(inst);
        if (f >= 0) {
            region_owner[f] = inst;
            region_lo[f] = page + 1;
            region_hi[f] = hi;
            region_hi[r] = page;
            program(r);
            program(f);
            return;
        }
        // No region left: open the smaller side with the page, all of it marked dirty.
        if (page - lo < hi - page) {
            mark_dirty(inst, lo, page);
            region_lo[r] = page + 1;
        } else {
            mark_dirty(inst, page + 1, hi);
            region_hi[r] = page;
        }
    }
    program(r);
}

int defio_backend_attach(defio_inst_t *inst, const char **why) {
    int r = spare_region(NULL);
    defio_inst_t *victim = NULL;
    if (r < 0) {
        // Take a region from an instance that holds two or more (an empty one if possible).
        uint8_t held[DEFIO_MCU_REGIONS] = {0};
        for (size_t k = 0; k < defio_mpu_count; ++k) {
            for (size_t j = 0; j < defio_mpu_count; ++j) {
                held[k] += region_owner[j] == region_owner[k];
            }
        }
        for (size_t k = 0; k < defio_mpu_count; ++k) {
            if (held[k] >= 2 && (r < 0 || region_lo[k] == region_hi[k])) {
                r = k;
            }
        }
        if (r < 0) {
            *why = "defio: no free MPU regions (deinit an instance first)";
            return ENOMEM;
        }
        if (region_lo[r] < region_hi[r]) {
            // Its pages are about to be open: mark them dirty first (the thread side way,
            // which also opens a round), then drop the region.
            victim = region_owner[r];
            uint32_t bits[DEFIO_BITMAP_WORDS] = {0};
            for (size_t p = region_lo[r]; p < region_hi[r]; ++p) {
                bits[p >> 5] |= 1u << (p & 31);
            }
            defio_core_restore(victim, bits, victim->retry_ms, true);
        }
    }
    uint32_t state = defio_irq_save();
    region_owner[r] = inst;
    region_lo[r] = 0;
    region_hi[r] = inst->npages;
    program(r);
    defio_irq_restore(state);
    return 0;
}

void defio_backend_detach(defio_inst_t *inst) {
    uint32_t state = defio_irq_save();
    for (size_t r = 0; r < defio_mpu_count; ++r) {
        if (region_owner[r] == inst) {
            region_owner[r] = NULL;
            program(r);
        }
    }
    defio_irq_restore(state);
}

// mkclean: one region over the whole instance again (see the top of the file); `bits` are
// inside it.
void defio_backend_protect(defio_inst_t *inst, const uint32_t *bits) {
    (void)bits;
    uint32_t state = defio_irq_save();
    bool kept = false;
    for (size_t r = 0; r < defio_mpu_count; ++r) {
        if (region_owner[r] != inst) {
            continue;
        }
        if (!kept) {
            region_lo[r] = 0;
            region_hi[r] = inst->npages;
            kept = true;
        } else {
            region_owner[r] = NULL;
        }
        program(r);
    }
    defio_irq_restore(state);
}

void defio_mpu_reset(void) {
    uint32_t state = defio_irq_save();
    for (size_t r = 0; r < defio_mpu_count; ++r) {
        region_owner[r] = NULL;
        program(r);
    }
    defio_irq_restore(state);
}

#endif // DEFIO_MCU_PMSAV8
