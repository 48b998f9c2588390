// Reset, vector table and early system set-up (exception priorities, MPU null guard).
#include <stdint.h>

#include "py/mpconfig.h"

#include "cortexm.h"
#include "mphalport.h"
#include "uart.h"

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;

void Reset_Handler(void);
void NMI_Handler(void);
void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);
void PendSV_Handler(void);
void UART0_RX_IRQHandler(void);
void UART1_RX_IRQHandler(void);
int main(void);

#define NUM_IRQS (32)

typedef void (*vector_t)(void);

// 16 system exceptions then the MPS2-AN385 interrupts (UARTn RX = 2n, TX = 2n + 1).
const vector_t isr_vector[16 + NUM_IRQS] __attribute__((section(".isr_vector"), used)) = {
    [0] = (vector_t)&_estack,
    [1] = Reset_Handler,
    [2] = NMI_Handler,
    [3] = HardFault_Handler,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    [11] = Default_Handler, // SVCall: unused
    [12] = Default_Handler, // DebugMon: unused
    [14] = PendSV_Handler,
    [15] = SysTick_Handler,
    [16 ... 16 + NUM_IRQS - 1] = Default_Handler,
    [16 + MICROPY_HW_UART0_RX_IRQ] = UART0_RX_IRQHandler,
    [16 + MICROPY_HW_UART1_RX_IRQ] = UART1_RX_IRQHandler,
};

// Region 0 of the MPU: the null-pointer guard. 0x0-0xff (the vector table) is read-only and
// never executed, so a store through NULL or a call through a NULL function pointer faults
// instead of silently corrupting the vectors. PRIVDEFENA keeps the default map everywhere
// else; defio uses regions DEFIO_MPU_FIRST_REGION.. for its pool.
static void mpu_init(void) {
    MPU_CTRL = 0;
    MPU_RNR = 0;
    MPU_RBAR = 0x00000000;
    MPU_RASR = MPU_RASR_ENABLE | MPU_RASR_SIZE(8) | MPU_RASR_AP_RO | MPU_RASR_XN
        | MPU_RASR_NORMAL_WB;
    for (uint32_t r = 1; r < 8; ++r) {
        MPU_RNR = r;
        MPU_RASR = 0;
    }
    MPU_CTRL = MPU_CTRL_ENABLE | MPU_CTRL_PRIVDEFENA;
    cortexm_dsb_isb();
}

void __attribute__((noreturn, used)) Reset_Handler(void) {
    for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    SCB_VTOR = (uint32_t)(uintptr_t)isr_vector;
    // MemManage most urgent, then the other faults, SysTick, UARTs, PendSV last.
    SCB_SHPR1 = ((uint32_t)IRQ_PRI_FAULTS << 16) | ((uint32_t)IRQ_PRI_FAULTS << 8)
        | IRQ_PRI_MEMMANAGE;
    SCB_SHCSR |= SHCSR_MEMFAULTENA | SHCSR_BUSFAULTENA | SHCSR_USGFAULTENA;
    mpu_init();
    port_systick_init();
    port_uart_init(&port_uart0, 115200);
    main();
    for (;;) {
    }
}
