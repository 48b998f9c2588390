// HAL of defio's Cortex-M port: ticks, delays, the REPL UART.
#ifndef DEFIO_PORT_MPHALPORT_H
#define DEFIO_PORT_MPHALPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/runtime/interrupt_char.h"

#define mp_hal_ticks_cpu mp_hal_ticks_cpu
// SysTick clocks (MICROPY_HW_SYSCLK_HZ), wrapping; under `-icount shift=0` one clock of
// the 25 MHz SysTick is 40 instructions.
uint32_t mp_hal_ticks_cpu(void);

static inline void mp_hal_delay_us_fast(uint32_t us) {
    extern void mp_hal_delay_us(unsigned int us);
    mp_hal_delay_us(us);
}

// Milliseconds since boot, written by SysTick only (one aligned word).
extern volatile uint32_t port_ticks_ms_value;

// SysTick at 1 ms; it pends PendSV (defio_mcu_poll) when defio's deadline comes.
void port_systick_init(void);

// Polled output on the REPL UART, safe from any context (the crash dump uses it).
void port_stdout_polled(const char *str, size_t len);

#endif // DEFIO_PORT_MPHALPORT_H
