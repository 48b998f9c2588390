// defio on a Cortex-M: the MCU glue (see defio_mcu.h for the port's side).
//
// Here: the fault entry (a naked stub valid on ARMv6-M, ARMv7-M and ARMv8-M, and its C
// half), the MMFAR fault source of PMSAv7/v8, the poll, the soft-reset hook, the protected
// pool and its allocator, the limits, and the parts of defio_backend.h that are the same
// for every MPU (page sizes, clock, timer wake-up). The MPU itself: backend_pmsav*.c.
#include <errno.h>
#include <string.h>

#include "defio_mpu.h"
#include "moddefio.h"

#if DEFIO_MCU_PMSAV8
const char defio_backend_name[] = "mpu-pmsav8";
#elif DEFIO_MCU_PMSAV7
const char defio_backend_name[] = "mpu-pmsav7";
#else
const char defio_backend_name[] = "mpu-pmsav6";
#endif

// The pool: a static array, aligned as the MPU needs (its own size on PMSAv6/v7, so a
// region of any size fits wherever the allocator finds room).
#ifdef DEFIO_MCU_POOL_SECTION
#define POOL_ATTR __attribute__((section(DEFIO_MCU_POOL_SECTION), aligned(DEFIO_MCU_POOL_ALIGN)))
#else
#define POOL_ATTR __attribute__((aligned(DEFIO_MCU_POOL_ALIGN)))
#endif
static uint8_t defio_pool[DEFIO_MCU_POOL_SIZE] POOL_ATTR;

// Pool pages in use, one byte per smallest page. Thread only (alloc, free, soft reset).
static uint8_t pool_used[DEFIO_MCU_POOL_PAGES];

// Written by the port in thread context before the first instance; read by the handler.
void (*volatile defio_mcu_fault_next)(void);

// Written once by defio_backend_init (thread, before any region is programmed).
uint32_t defio_mpu_first;
uint32_t defio_mpu_count;

size_t defio_backend_page_size_min(void) {
    return DEFIO_MCU_PAGE_SIZE_MIN;
}

size_t defio_backend_page_size_default(void) {
    return DEFIO_MCU_PAGE_SIZE_DEFAULT;
}

size_t defio_mcu_regions(void) {
    uint32_t n = DEFIO_MPU_TYPE_DREGION(DEFIO_MPU->TYPE);
    if (n > DEFIO_MCU_MPU_REGIONS_MAX) {
        n = DEFIO_MCU_MPU_REGIONS_MAX;
    }
    return n > DEFIO_MCU_FIRST_REGION ? n - DEFIO_MCU_FIRST_REGION : 0;
}

size_t defio_mcu_max_instances(void) {
    return defio_mcu_regions();
}

size_t defio_mcu_max_pages(void) {
    #if DEFIO_MCU_PMSAV8
    return defio_mcu_regions() ? DEFIO_MAX_PAGES : 0;
    #else
    size_t n = defio_mcu_regions() * DEFIO_MCU_PAGES_PER_REGION;
    return n < DEFIO_MAX_PAGES ? n : DEFIO_MAX_PAGES;
    #endif
}

size_t defio_backend_max_instances(void) {
    return defio_mcu_max_instances();
}

size_t defio_backend_max_pages(void) {
    return defio_mcu_max_pages();
}

DEFIO_MCU_RAMFUNC uint32_t defio_backend_ticks_ms(void) {
    return defio_mcu_hook_ticks_ms();
}

DEFIO_MCU_RAMFUNC void defio_backend_wake_timer(void) {
    defio_mcu_hook_poll_soon();
}

void defio_backend_init(void) {
    if (defio_mpu_count == 0) {
        defio_mpu_first = DEFIO_MCU_FIRST_REGION;
        defio_mpu_count = defio_mcu_regions();
        defio_mpu_init();
    }
    // PRIVDEFENA: everything no region covers keeps the default map (the port may have
    // enabled the MPU already for regions of its own; they stay).
    DEFIO_MPU->CTRL |= DEFIO_MPU_CTRL_ENABLE | DEFIO_MPU_CTRL_PRIVDEFENA;
    defio_dsb_isb();
}

int defio_backend_alloc(size_t len, size_t page_size, void **mem, const char **why) {
    size_t align = defio_mpu_alloc_align(page_size);
    size_t need = len / DEFIO_MCU_PAGE_SIZE_MIN;
    uintptr_t pool = (uintptr_t)defio_pool;
    uintptr_t first = (pool + align - 1) & ~(uintptr_t)(align - 1);
    for (uintptr_t addr = first; addr >= pool; addr += align) {
        size_t g = (addr - pool) / DEFIO_MCU_PAGE_SIZE_MIN;
        if (g + need > DEFIO_MCU_POOL_PAGES) {
            break;
        }
        size_t k = 0;
        while (k < need && !pool_used[g + k]) {
            ++k;
        }
        if (k == need) {
            memset(&pool_used[g], 1, need);
            // Fresh memory reads as zeros (as mmap gives on the host); attach protects it.
            memset((void *)addr, 0, len);
            *mem = (void *)addr;
            return 0;
        }
    }
    *why = "defio: the protected pool is exhausted (deinit and drop an instance first)";
    return ENOMEM;
}

void defio_backend_free(void *mem, size_t len) {
    size_t g = ((uintptr_t)mem - (uintptr_t)defio_pool) / DEFIO_MCU_PAGE_SIZE_MIN;
    memset(&pool_used[g], 0, len / DEFIO_MCU_PAGE_SIZE_MIN);
}

void defio_mcu_poll(void) {
    bool scheduled;
    uint32_t wait = defio_core_poll(defio_mcu_hook_ticks_ms(), &scheduled);
    if (wait != UINT32_MAX) {
        defio_mcu_hook_poll_later(wait == 0 ? 1 : wait);
    }
}

void defio_mcu_soft_reset(void) {
    // The binding stops every instance (the core forgets them), then no region and no pool
    // page is left: the finalisers gc_sweep_all runs later free pages that are free already.
    defio_deinit_all();
    if (defio_mpu_count != 0) {
        defio_mpu_reset();
    }
    memset(pool_used, 0, sizeof(pool_used));
}

void defio_mcu_fault_unhandled(void) {
    for (;;) {
    }
}

#if !DEFIO_MCU_PMSAV6
// PMSAv7/v8: MemManage reports the address (MMFAR). A write with PRIMASK set (or from a
// handler that MemManage cannot preempt) escalates to HardFault with HFSR.FORCED and the
// same MemManage status.
DEFIO_MCU_RAMFUNC bool defio_mpu_fault(uint32_t *frame, const uint32_t *r4_r7) {
    (void)frame;
    (void)r4_r7;
    uint32_t ipsr;
    __asm volatile ("mrs %0, ipsr" : "=r" (ipsr));
    bool hard = (ipsr & 0x1ff) == 3;
    if (hard && !(DEFIO_SCB->HFSR & DEFIO_HFSR_FORCED)) {
        return false;
    }
    uint32_t cfsr = DEFIO_SCB->CFSR;
    const uint32_t want = DEFIO_CFSR_MMARVALID | DEFIO_CFSR_DACCVIOL;
    if ((cfsr & want) != want || !defio_core_fault(DEFIO_SCB->MMFAR)) {
        return false;
    }
    DEFIO_SCB->CFSR = cfsr & DEFIO_CFSR_MMFSR_Msk; // write 1 to clear
    if (hard) {
        DEFIO_SCB->HFSR = DEFIO_HFSR_FORCED;
    }
    return true;
}
#endif

// Where a fault that is not defio's goes (inlined: the fault path may run from RAM).
static inline __attribute__((always_inline)) uintptr_t fault_next(void) {
    void (*next)(void) = defio_mcu_fault_next;
    return (uintptr_t)(next != NULL ? next : defio_mcu_fault_unhandled);
}

#if !DEFIO_MCU_PMSAV6
// MemManage, the common case on PMSAv7/v8, on its own short path: no decoder, so no r4-r7,
// no frame and no question which exception this is (issue 14: instructions per fault). The
// MMFAR check is defio_mpu_fault's, written out here: through a shared inline helper the
// compiler lays out this hot path with an extra branch (measured: 80 instead of 74).
DEFIO_MCU_RAMFUNC uintptr_t defio_mcu_memmanage_entry(void) {
    uint32_t cfsr = DEFIO_SCB->CFSR;
    const uint32_t want = DEFIO_CFSR_MMARVALID | DEFIO_CFSR_DACCVIOL;
    if ((cfsr & want) == want && defio_core_fault(DEFIO_SCB->MMFAR)) {
        DEFIO_SCB->CFSR = cfsr & DEFIO_CFSR_MMFSR_Msk; // write 1 to clear
        return 0;
    }
    return fault_next();
}

// Keeps EXC_RETURN (and SP 8-byte aligned) around the call; a fault that is not ours goes on
// to defio_mcu_fault_next with every register as it came, as from defio_mcu_fault_handler.
__attribute__((naked)) DEFIO_MCU_RAMFUNC void defio_mcu_memmanage_handler(void) {
    __asm volatile (
        "push {r0, lr}\n"
        "bl defio_mcu_memmanage_entry\n"
        "pop {r1, lr}\n"
        "cbnz r0, 1f\n"
        "bx lr\n"
        "1:\n"
        "bx r0\n"
        );
}
#endif

DEFIO_MCU_RAMFUNC uintptr_t defio_mcu_fault_entry(uint32_t *frame, const uint32_t *r4_r7) {
    if (defio_mpu_fault(frame, r4_r7)) {
        return 0;
    }
    return fault_next();
}

// The entry stub, in the instructions ARMv6-M has. The frame is on MSP or PSP (EXC_RETURN
// bit 2); r4-r7 and EXC_RETURN are saved (with r3, to keep SP 8-byte aligned) so the decoder
// can read r4-r7 and a fault that is not ours leaves with every register as it came.
__attribute__((naked)) DEFIO_MCU_RAMFUNC void defio_mcu_fault_handler(void) {
    __asm volatile (
        "movs r0, #4\n"
        "mov r1, lr\n"
        "tst r0, r1\n"
        "mrs r0, msp\n"
        "beq 1f\n"
        "mrs r0, psp\n"
        "1:\n"
        "push {r3, r4, r5, r6, r7, lr}\n"
        "add r1, sp, #4\n"
        "ldr r2, =defio_mcu_fault_entry\n"
        "blx r2\n"
        "pop {r3, r4, r5, r6, r7}\n"
        "pop {r2}\n"
        "mov lr, r2\n"
        "cmp r0, #0\n"
        "bne 2f\n"
        "bx lr\n"
        "2:\n"
        "bx r0\n"
        ".ltorg\n"
        );
}
