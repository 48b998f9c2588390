// HAL: SysTick time base, the deferred-work timer defio's seam asks for, stdio on UART0.
//
// SysTick fires every millisecond and only counts and compares (constant time). When the
// deadline defio asked for (defio_mcu_hook_poll_later) has come it pends PendSV, the
// lowest-priority exception, which runs defio_mcu_poll: due rounds go to the workqueue
// (mp_sched_schedule) and defio asks for its next run. defio_mcu_hook_poll_soon (called by
// defio's fault handler when a round opens) pends PendSV directly.
#include <stdbool.h>

#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stream.h"
#include "shared/runtime/pyexec.h"

#include "cortexm.h"
#include "defio_mcu.h"
#include "uart.h"

#define SYSTICK_RELOAD (MICROPY_HW_SYSCLK_HZ / 1000 - 1)
#define SYSTICK_PER_US (MICROPY_HW_SYSCLK_HZ / 1000000)

volatile uint32_t port_ticks_ms_value;

// The deadline of the next defio_mcu_poll. Written by PendSV (through
// defio_mcu_hook_poll_later, which runs inside defio_mcu_poll) and cleared by PendSV before
// each poll; read by SysTick.
static volatile uint32_t poll_deadline;
static volatile bool poll_armed;

void port_systick_init(void) {
    defio_set_priority(EXC_SYSTICK, IRQ_PRI_SYSTICK);
    defio_set_priority(EXC_PENDSV, IRQ_PRI_PENDSV);
    DEFIO_SYSTICK->LOAD = SYSTICK_RELOAD;
    DEFIO_SYSTICK->VAL = 0;
    DEFIO_SYSTICK->CTRL = DEFIO_SYSTICK_CTRL_ENABLE | DEFIO_SYSTICK_CTRL_TICKINT
        | DEFIO_SYSTICK_CTRL_CLKSOURCE;
}

void SysTick_Handler(void) {
    uint32_t now = port_ticks_ms_value + 1;
    port_ticks_ms_value = now;
    if (poll_armed && (int32_t)(now - poll_deadline) >= 0) {
        DEFIO_SCB->ICSR = DEFIO_ICSR_PENDSVSET;
    }
}

// PendSV dispatches the port's deferred work; defio's poll is the only item.
void PendSV_Handler(void) {
    poll_armed = false;
    defio_mcu_poll();
}

// defio's hooks (defio_mcu.h).
void defio_mcu_hook_poll_soon(void) {
    DEFIO_SCB->ICSR = DEFIO_ICSR_PENDSVSET;
}

void defio_mcu_hook_poll_later(uint32_t ms) {
    poll_deadline = port_ticks_ms_value + ms;
    poll_armed = true;
}

uint32_t defio_mcu_hook_ticks_ms(void) {
    return port_ticks_ms_value;
}

mp_uint_t mp_hal_ticks_ms(void) {
    return port_ticks_ms_value;
}

// Milliseconds and the SysTick counter read consistently (retry when a tick came between).
static void ticks_read(uint32_t *ms, uint32_t *clocks) {
    uint32_t a, val;
    do {
        a = port_ticks_ms_value;
        val = DEFIO_SYSTICK->VAL;
    } while (a != port_ticks_ms_value);
    *ms = a;
    *clocks = SYSTICK_RELOAD - val;
}

mp_uint_t mp_hal_ticks_us(void) {
    uint32_t ms, clocks;
    ticks_read(&ms, &clocks);
    return ms * 1000 + clocks / SYSTICK_PER_US;
}

uint32_t mp_hal_ticks_cpu(void) {
    uint32_t ms, clocks;
    ticks_read(&ms, &clocks);
    return ms * (SYSTICK_RELOAD + 1) + clocks;
}

uint64_t mp_hal_time_ns(void) {
    return (uint64_t)mp_hal_ticks_us() * 1000;
}

// Sleeping runs scheduled callbacks (defio rounds) and sleeps with WFI between ticks.
void mp_hal_delay_ms(mp_uint_t ms) {
    uint32_t start = mp_hal_ticks_ms();
    while (mp_hal_ticks_ms() - start < ms) {
        mp_event_wait_indefinite();
    }
}

void mp_hal_delay_us(mp_uint_t us) {
    if (us >= 1000) {
        mp_hal_delay_ms(us / 1000);
        us %= 1000;
    }
    uint32_t start = mp_hal_ticks_us();
    while (mp_hal_ticks_us() - start < us) {
        mp_event_handle_nowait();
    }
}

// stdin: wait for the RX ring, running scheduled callbacks while idle (so defio rounds
// are delivered while the REPL waits for input, unlike upstream's qemu port). Not while the
// raw REPL waits for its next command: a callback printing there would break the protocol
// of the tool on the other side (mpremote); its rounds run when the next command does.
// (pyexec sets the interrupt character only while code runs.)
int mp_hal_stdin_rx_chr(void) {
    for (;;) {
        int c = port_uart_rx_get(&port_uart0);
        if (c >= 0) {
            return c;
        }
        if (pyexec_mode_kind == PYEXEC_MODE_RAW_REPL && mp_interrupt_char < 0) {
            __asm volatile ("wfi");
        } else {
            mp_event_wait_indefinite();
        }
    }
}

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    port_uart_tx(&port_uart0, (const uint8_t *)str, len);
    return len;
}

void port_stdout_polled(const char *str, size_t len) {
    port_uart_tx(&port_uart0, (const uint8_t *)str, len);
}

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags) {
    uintptr_t ret = 0;
    if ((poll_flags & MP_STREAM_POLL_RD) && port_uart_rx_any(&port_uart0)) {
        ret |= MP_STREAM_POLL_RD;
    }
    if (poll_flags & MP_STREAM_POLL_WR) {
        ret |= MP_STREAM_POLL_WR;
    }
    return ret;
}

// The SysTick count alone repeats when QEMU reads it twice within one of its timer updates
// (random.seed() twice in a row gave the same sequence now and then): mix in a call count.
uint32_t port_random_seed(void) {
    static uint32_t calls;
    calls += 1;
    return mp_hal_ticks_cpu() ^ (calls * 0x9e3779b9u);
}
