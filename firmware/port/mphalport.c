// HAL: SysTick time base, the soft timer (defio's round timer), stdio on UART0.
//
// SysTick fires every millisecond and only counts and compares (constant time). When the
// soft timer is due it pends PendSV, the lowest-priority exception, which runs
// defio_core_poll: due rounds go to the workqueue (mp_sched_schedule) and the next
// deadline is stored. The defio fault handler pends PendSV directly when it opens a round.
#include <stdbool.h>

#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stream.h"
#include "shared/runtime/pyexec.h"

#include "cortexm.h"
#include "defio_core.h"
#include "uart.h"

#define SYSTICK_RELOAD (MICROPY_HW_SYSCLK_HZ / 1000 - 1)
#define SYSTICK_PER_US (MICROPY_HW_SYSCLK_HZ / 1000000)

volatile uint32_t port_ticks_ms_value;

// Soft timer. Written by PendSV (next before running), read by SysTick; the thread clears
// `running` with IRQs masked on soft reset.
static volatile uint32_t soft_timer_next;
static volatile bool soft_timer_running;

void port_systick_init(void) {
    SCB_SHPR3 = ((uint32_t)IRQ_PRI_SYSTICK << 24) | ((uint32_t)IRQ_PRI_PENDSV << 16);
    SYST_RVR = SYSTICK_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE;
}

void SysTick_Handler(void) {
    uint32_t now = port_ticks_ms_value + 1;
    port_ticks_ms_value = now;
    if (soft_timer_running && (int32_t)(now - soft_timer_next) >= 0) {
        SCB_ICSR = ICSR_PENDSVSET;
    }
}

void PendSV_Handler(void) {
    bool scheduled;
    uint32_t now = port_ticks_ms_value;
    uint32_t wait = defio_core_poll(now, &scheduled);
    if (wait == UINT32_MAX) {
        soft_timer_running = false;
    } else {
        soft_timer_next = now + (wait == 0 ? 1 : wait);
        soft_timer_running = true;
    }
}

void port_soft_timer_kick(void) {
    SCB_ICSR = ICSR_PENDSVSET;
}

void port_soft_timer_stop(void) {
    uint32_t state = disable_irq();
    soft_timer_running = false;
    enable_irq(state);
}

mp_uint_t mp_hal_ticks_ms(void) {
    return port_ticks_ms_value;
}

// Milliseconds and the SysTick counter read consistently (retry when a tick came between).
static void ticks_read(uint32_t *ms, uint32_t *clocks) {
    uint32_t a, val;
    do {
        a = port_ticks_ms_value;
        val = SYST_CVR;
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

uint32_t port_random_seed(void) {
    return mp_hal_ticks_cpu();
}
