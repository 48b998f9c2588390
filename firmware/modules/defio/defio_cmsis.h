// Cortex-M system registers, CMSIS style (register blocks as structs with CMSIS's member
// names), for the parts defio and a port without CMSIS need: SCB, SysTick, NVIC, MPU
// (PMSAv6/v7 and PMSAv8 views of the same block), and the PRIMASK save/restore pair.
// Prefixed DEFIO_ so a file may include it next to a real CMSIS device header.
#ifndef DEFIO_CMSIS_H
#define DEFIO_CMSIS_H

#include <stdint.h>

typedef struct {
    volatile uint32_t CPUID;    // 0xe000ed00
    volatile uint32_t ICSR;
    volatile uint32_t VTOR;
    volatile uint32_t AIRCR;
    volatile uint32_t SCR;
    volatile uint32_t CCR;
    volatile uint32_t SHPR[3];  // SHPR1-3, word access (ARMv6-M has SHPR2 and SHPR3 only)
    volatile uint32_t SHCSR;    // 0xe000ed24, ARMv7-M/v8-M Mainline from here on
    volatile uint32_t CFSR;
    volatile uint32_t HFSR;
    volatile uint32_t DFSR;
    volatile uint32_t MMFAR;
    volatile uint32_t BFAR;
} defio_scb_t;

typedef struct {
    volatile uint32_t CTRL;     // 0xe000e010
    volatile uint32_t LOAD;
    volatile uint32_t VAL;
    volatile uint32_t CALIB;
} defio_systick_t;

typedef struct {
    volatile uint32_t TYPE;     // 0xe000ed90
    volatile uint32_t CTRL;
    volatile uint32_t RNR;
    volatile uint32_t RBAR;
    union {
        volatile uint32_t RASR; // PMSAv6/v7: size, subregion disables, access
        volatile uint32_t RLAR; // PMSAv8: limit, attribute index, enable
    };
    uint32_t reserved[7];
    volatile uint32_t MAIR0;    // 0xe000edc0, PMSAv8
    volatile uint32_t MAIR1;
} defio_mpu_t;

#define DEFIO_SCB ((defio_scb_t *)0xe000ed00)
#define DEFIO_SYSTICK ((defio_systick_t *)0xe000e010)
#define DEFIO_MPU ((defio_mpu_t *)0xe000ed90)
#define DEFIO_NVIC_ISER(n) (*(volatile uint32_t *)(0xe000e100 + 4 * (n)))
#define DEFIO_NVIC_ICER(n) (*(volatile uint32_t *)(0xe000e180 + 4 * (n)))
#define DEFIO_NVIC_ISPR(n) (*(volatile uint32_t *)(0xe000e200 + 4 * (n)))
#define DEFIO_NVIC_IPR(n) (*(volatile uint32_t *)(0xe000e400 + 4 * (n))) // word access

// Set the priority byte of exception `exc` (>= 4: system handlers; >= 16: IRQ exc - 16) with
// word accesses, which every profile allows.
static inline void defio_set_priority(uint32_t exc, uint8_t pri) {
    volatile uint32_t *reg = exc >= 16 ? &DEFIO_NVIC_IPR((exc - 16) / 4)
        : &((volatile uint32_t *)0xe000ed18)[(exc - 4) / 4];
    uint32_t shift = (exc % 4) * 8;
    *reg = (*reg & ~(0xffu << shift)) | ((uint32_t)pri << shift);
}

#define DEFIO_ICSR_PENDSVSET (1u << 28)
#define DEFIO_AIRCR_VECTKEY (0x05fau << 16)
#define DEFIO_AIRCR_SYSRESETREQ (1u << 2)
#define DEFIO_SHCSR_MEMFAULTENA (1u << 16)
#define DEFIO_SHCSR_BUSFAULTENA (1u << 17)
#define DEFIO_SHCSR_USGFAULTENA (1u << 18)
#define DEFIO_CFSR_DACCVIOL (1u << 1)
#define DEFIO_CFSR_MMARVALID (1u << 7)
#define DEFIO_CFSR_MMFSR_Msk (0xffu)
#define DEFIO_CFSR_BFARVALID (1u << 15)
#define DEFIO_HFSR_FORCED (1u << 30)

#define DEFIO_SYSTICK_CTRL_ENABLE (1u << 0)
#define DEFIO_SYSTICK_CTRL_TICKINT (1u << 1)
#define DEFIO_SYSTICK_CTRL_CLKSOURCE (1u << 2)

#define DEFIO_MPU_TYPE_DREGION(type) (((type) >> 8) & 0xffu)
#define DEFIO_MPU_CTRL_ENABLE (1u << 0)
#define DEFIO_MPU_CTRL_HFNMIENA (1u << 1)
#define DEFIO_MPU_CTRL_PRIVDEFENA (1u << 2)

// PMSAv6/v7 RASR.
#define DEFIO_MPU_RASR_ENABLE (1u << 0)
#define DEFIO_MPU_RASR_SIZE(log2) ((uint32_t)((log2) - 1) << 1) // a region of 2^log2 bytes
#define DEFIO_MPU_RASR_SRD(bits) ((uint32_t)(bits) << 8)
#define DEFIO_MPU_RASR_B (1u << 16)
#define DEFIO_MPU_RASR_C (1u << 17)
#define DEFIO_MPU_RASR_AP_RO (6u << 24) // read-only, privileged and unprivileged
#define DEFIO_MPU_RASR_XN (1u << 28)

// PMSAv8 RBAR / RLAR.
#define DEFIO_MPU_RBAR_XN (1u << 0)
#define DEFIO_MPU_RBAR_AP_RO (3u << 1) // read-only, privileged and unprivileged
#define DEFIO_MPU_RLAR_EN (1u << 0)
#define DEFIO_MPU_RLAR_ATTR(index) ((uint32_t)(index) << 1)
#define DEFIO_MPU_V8_GRANULE (32u)

static inline uint32_t defio_irq_save(void) {
    uint32_t state;
    __asm volatile ("mrs %0, primask\n cpsid i" : "=r" (state) : : "memory");
    return state;
}

static inline void defio_irq_restore(uint32_t state) {
    __asm volatile ("msr primask, %0" : : "r" (state) : "memory");
}

static inline void defio_dsb_isb(void) {
    __asm volatile ("dsb\n isb" : : : "memory");
}

#endif // DEFIO_CMSIS_H
