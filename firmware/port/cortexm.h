// Cortex-M (ARMv7-M) system registers the port uses: SCB, NVIC, SysTick, MPU.
#ifndef DEFIO_PORT_CORTEXM_H
#define DEFIO_PORT_CORTEXM_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(addr))

// System control block.
#define SCB_ICSR        REG32(0xe000ed04)
#define SCB_VTOR        REG32(0xe000ed08)
#define SCB_AIRCR       REG32(0xe000ed0c)
#define SCB_SCR         REG32(0xe000ed10)
#define SCB_CCR         REG32(0xe000ed14)
#define SCB_SHPR1       REG32(0xe000ed18) // MemManage, BusFault, UsageFault priorities
#define SCB_SHPR2       REG32(0xe000ed1c) // SVCall
#define SCB_SHPR3       REG32(0xe000ed20) // PendSV, SysTick
#define SCB_SHCSR       REG32(0xe000ed24)
#define SCB_CFSR        REG32(0xe000ed28)
#define SCB_HFSR        REG32(0xe000ed2c)
#define SCB_MMFAR       REG32(0xe000ed34)
#define SCB_BFAR        REG32(0xe000ed38)

#define ICSR_PENDSVSET          (1u << 28)
#define AIRCR_VECTKEY           (0x05fau << 16)
#define AIRCR_SYSRESETREQ       (1u << 2)
#define SHCSR_MEMFAULTENA       (1u << 16)
#define SHCSR_BUSFAULTENA       (1u << 17)
#define SHCSR_USGFAULTENA       (1u << 18)
#define CFSR_MMARVALID          (1u << 7)
#define CFSR_MMFSR_MASK         (0xffu)
#define CFSR_BFARVALID          (1u << 15)
#define HFSR_FORCED             (1u << 30)

// NVIC.
#define NVIC_ISER(n)    REG32(0xe000e100 + 4 * (n))
#define NVIC_ICER(n)    REG32(0xe000e180 + 4 * (n))
#define NVIC_IPR_BYTE(irq) (*(volatile uint8_t *)(0xe000e400 + (irq)))

// SysTick.
#define SYST_CSR        REG32(0xe000e010)
#define SYST_RVR        REG32(0xe000e014)
#define SYST_CVR        REG32(0xe000e018)
#define SYST_CSR_ENABLE     (1u << 0)
#define SYST_CSR_TICKINT    (1u << 1)
#define SYST_CSR_CLKSOURCE  (1u << 2)
#define SYST_CSR_COUNTFLAG  (1u << 16)

// MPU (PMSAv7).
#define MPU_TYPE        REG32(0xe000ed90)
#define MPU_CTRL        REG32(0xe000ed94)
#define MPU_RNR         REG32(0xe000ed98)
#define MPU_RBAR        REG32(0xe000ed9c)
#define MPU_RASR        REG32(0xe000eda0)
#define MPU_CTRL_ENABLE     (1u << 0)
#define MPU_CTRL_HFNMIENA   (1u << 1)
#define MPU_CTRL_PRIVDEFENA (1u << 2)
#define MPU_RBAR_VALID      (1u << 4)
#define MPU_RASR_ENABLE     (1u << 0)
#define MPU_RASR_SIZE(log2) ((uint32_t)((log2) - 1) << 1) // region of 2^log2 bytes
#define MPU_RASR_SRD_SHIFT  (8)
#define MPU_RASR_SRD_MASK   (0xffu << 8)
#define MPU_RASR_AP_RO      (6u << 24) // read-only, privileged and unprivileged
#define MPU_RASR_XN         (1u << 28)
#define MPU_RASR_NORMAL_WB  ((1u << 17) | (1u << 16)) // TEX=0 C=1 B=1: normal, write-back
#define MPU_RASR_SHAREABLE  (1u << 18)

// Exception priorities (4 bits implemented on the Cortex-M3; 0 is the most urgent).
#define IRQ_PRI_MEMMANAGE   (0x00) // highest configurable: the defio fault path
#define IRQ_PRI_FAULTS      (0x10) // BusFault, UsageFault
#define IRQ_PRI_SYSTICK     (0x40)
#define IRQ_PRI_UART        (0x60)
#define IRQ_PRI_PENDSV      (0xf0) // lowest: the soft timer's bottom half

static inline void cortexm_dsb_isb(void) {
    __asm volatile ("dsb\n isb" : : : "memory");
}

#endif // DEFIO_PORT_CORTEXM_H
