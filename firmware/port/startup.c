// Reset, vector table and early system set-up (exception priorities, MPU null guard).
//
// defio comes in through its seam (defio_mcu.h): its fault handler is the HardFault vector
// and, on ARMv7-M/ARMv8-M, the MemManage vector; what it does not take goes on to the crash
// dump (port_fault_crash, set as defio_mcu_fault_next below).
#include <stdint.h>

#include "py/mpconfig.h"

#include "cortexm.h"
#include "defio_mcu.h"
#include "mphalport.h"
#include "uart.h"

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;

void Reset_Handler(void);
void port_fault_crash(void);
void SysTick_Handler(void);
void PendSV_Handler(void);
void UART0_RX_IRQHandler(void);
void UART1_RX_IRQHandler(void);
int main(void);

typedef void (*vector_t)(void);

#if defined(__ARM_ARCH_6M__)
// ARMv6-M: MemManage does not exist (on QEMU's Cortex-M3 it stays disabled, so an MPU
// fault escalates to HardFault, as on a Cortex-M0+).
#define MEMMANAGE_VECTOR port_fault_crash
#else
#define MEMMANAGE_VECTOR defio_mcu_memmanage_handler
#endif

// 16 system exceptions then the board's interrupts (UART RX numbers from mpconfigboard.h).
const vector_t isr_vector[16 + MICROPY_HW_NUM_IRQS] __attribute__((section(".isr_vector"), used)) = {
    [0] = (vector_t)&_estack,
    [1] = Reset_Handler,
    [2] = port_fault_crash, // NMI
    [EXC_HARDFAULT] = defio_mcu_fault_handler,
    [EXC_MEMMANAGE] = MEMMANAGE_VECTOR,
    [EXC_BUSFAULT] = port_fault_crash,
    [EXC_USAGEFAULT] = port_fault_crash,
    [7 ... 13] = port_fault_crash, // SecureFault (ARMv8-M), SVCall, DebugMon: unused
    [EXC_PENDSV] = PendSV_Handler,
    [EXC_SYSTICK] = SysTick_Handler,
    [16 ... 16 + MICROPY_HW_NUM_IRQS - 1] = port_fault_crash,
    [EXC_IRQ(MICROPY_HW_UART0_RX_IRQ)] = UART0_RX_IRQHandler,
    [EXC_IRQ(MICROPY_HW_UART1_RX_IRQ)] = UART1_RX_IRQHandler,
};

// MPU region 0: the null-pointer guard. 0x0-0xff (the vector table on the AN385, an alias of
// it on the AN505) is read-only and never executed, so a store through NULL or a call
// through a NULL function pointer faults instead of silently corrupting the vectors.
// PRIVDEFENA keeps the default map everywhere else; defio takes regions 1 and up
// (DEFIO_MCU_FIRST_REGION in the board's make fragment) the first time it is used.
static void mpu_init(void) {
    DEFIO_MPU->CTRL = 0;
    DEFIO_MPU->RNR = 0;
    #if defined(__ARM_ARCH_8M_MAIN__)
    DEFIO_MPU->MAIR0 = (DEFIO_MPU->MAIR0 & ~0xffu) | 0xffu; // attribute 0: normal, write-back
    DEFIO_MPU->RBAR = 0x00000000 | DEFIO_MPU_RBAR_AP_RO | DEFIO_MPU_RBAR_XN;
    DEFIO_MPU->RLAR = (0x100 - DEFIO_MPU_V8_GRANULE) | DEFIO_MPU_RLAR_ATTR(0) | DEFIO_MPU_RLAR_EN;
    #else
    DEFIO_MPU->RBAR = 0x00000000;
    DEFIO_MPU->RASR = DEFIO_MPU_RASR_ENABLE | DEFIO_MPU_RASR_SIZE(8) | DEFIO_MPU_RASR_AP_RO
        | DEFIO_MPU_RASR_XN | DEFIO_MPU_RASR_C | DEFIO_MPU_RASR_B;
    #endif
    DEFIO_MPU->CTRL = DEFIO_MPU_CTRL_ENABLE | DEFIO_MPU_CTRL_PRIVDEFENA;
    defio_dsb_isb();
}

void __attribute__((noreturn, used)) Reset_Handler(void) {
    for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    DEFIO_SCB->VTOR = (uint32_t)(uintptr_t)isr_vector;
    defio_mcu_fault_next = port_fault_crash;
    #if !defined(__ARM_ARCH_6M__)
    // MemManage most urgent (with the other faults), then SysTick, UARTs, PendSV last.
    defio_set_priority(EXC_MEMMANAGE, IRQ_PRI_MEMMANAGE);
    defio_set_priority(EXC_BUSFAULT, IRQ_PRI_FAULTS);
    defio_set_priority(EXC_USAGEFAULT, IRQ_PRI_FAULTS);
    DEFIO_SCB->SHCSR |= DEFIO_SHCSR_MEMFAULTENA | DEFIO_SHCSR_BUSFAULTENA
        | DEFIO_SHCSR_USGFAULTENA;
    #endif
    mpu_init();
    port_systick_init();
    port_uart_init(&port_uart0, 115200);
    main();
    for (;;) {
    }
}
