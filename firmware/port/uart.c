// CMSDK APB UART (ARM's simple UART, as on the MPS2 boards and in QEMU).
//
// Transmit is polled (wait while TXFULL), so output is safe from any context including the
// fault handlers. Receive is interrupt driven: the RX interrupt moves bytes into a ring
// buffer; on the REPL UART the interrupt character raises KeyboardInterrupt through
// mp_sched_keyboard_interrupt(). When the ring is full the interrupt stops reading (and
// masks itself); the byte waits in the UART, QEMU holds back the rest, nothing is lost.
#include "py/mpconfig.h"
#include "py/runtime.h"
#include "shared/runtime/interrupt_char.h"

#include "cortexm.h"
#include "uart.h"

typedef struct _cmsdk_uart_regs_t {
    volatile uint32_t DATA;
    volatile uint32_t STATE;
    volatile uint32_t CTRL;
    volatile uint32_t INTSTATUS; // read: status; write 1: clear
    volatile uint32_t BAUDDIV;
} cmsdk_uart_regs_t;

#define STATE_TXFULL (1u << 0)
#define STATE_RXFULL (1u << 1)
#define CTRL_TX_EN (1u << 0)
#define CTRL_RX_EN (1u << 1)
#define CTRL_RX_INTEN (1u << 3)
#define INT_RX (1u << 1)

#define REGS(u) ((cmsdk_uart_regs_t *)(u)->base)

port_uart_t port_uart0 = { .base = MICROPY_HW_UART0_BASE, .irq = MICROPY_HW_UART0_RX_IRQ,
                           .is_repl = true };
port_uart_t port_uart1 = { .base = MICROPY_HW_UART1_BASE, .irq = MICROPY_HW_UART1_RX_IRQ };

void port_uart_init(port_uart_t *u, uint32_t baudrate) {
    cmsdk_uart_regs_t *r = REGS(u);
    uint32_t div = MICROPY_HW_SYSCLK_HZ / (baudrate ? baudrate : 115200);
    r->BAUDDIV = div < 16 ? 16 : div;
    u->head = 0;
    u->tail = 0;
    u->stalled = false;
    r->CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INTEN;
    defio_set_priority(EXC_IRQ(u->irq), IRQ_PRI_UART);
    DEFIO_NVIC_ISER(u->irq / 32) = 1u << (u->irq % 32);
    // Bytes that arrived before the interrupt was enabled: let the handler take them.
    DEFIO_NVIC_ISPR(u->irq / 32) = 1u << (u->irq % 32);
}

void port_uart_deinit(port_uart_t *u) {
    DEFIO_NVIC_ICER(u->irq / 32) = 1u << (u->irq % 32);
    REGS(u)->CTRL = CTRL_TX_EN | CTRL_RX_EN;
}

static void uart_rx_irq(port_uart_t *u) {
    cmsdk_uart_regs_t *r = REGS(u);
    r->INTSTATUS = INT_RX;
    while (r->STATE & STATE_RXFULL) {
        uint32_t head = u->head;
        if (head - u->tail >= PORT_UART_RXBUF_SIZE) {
            // Full: leave the byte in the UART, stop interrupting until the thread drains.
            r->CTRL &= ~CTRL_RX_INTEN;
            u->stalled = true;
            return;
        }
        int c = r->DATA & 0xff;
        r->INTSTATUS = INT_RX;
        if (u->is_repl && c == mp_interrupt_char) {
            mp_sched_keyboard_interrupt();
            continue;
        }
        u->buf[head % PORT_UART_RXBUF_SIZE] = c;
        u->head = head + 1;
    }
}

void UART0_RX_IRQHandler(void) {
    uart_rx_irq(&port_uart0);
}

void UART1_RX_IRQHandler(void) {
    uart_rx_irq(&port_uart1);
}

int port_uart_rx_get(port_uart_t *u) {
    uint32_t tail = u->tail;
    if (tail == u->head) {
        return -1;
    }
    int c = u->buf[tail % PORT_UART_RXBUF_SIZE];
    u->tail = tail + 1;
    if (u->stalled) {
        uint32_t state = disable_irq();
        u->stalled = false;
        REGS(u)->CTRL |= CTRL_RX_INTEN;
        DEFIO_NVIC_ISPR(u->irq / 32) = 1u << (u->irq % 32); // pend: drain the UART
        enable_irq(state);
    }
    return c;
}

size_t port_uart_rx_any(port_uart_t *u) {
    return u->head - u->tail;
}

void port_uart_tx(port_uart_t *u, const uint8_t *data, size_t len) {
    cmsdk_uart_regs_t *r = REGS(u);
    for (size_t i = 0; i < len; ++i) {
        while (r->STATE & STATE_TXFULL) {
        }
        r->DATA = data[i];
    }
}

bool port_uart_tx_done(port_uart_t *u) {
    return !(REGS(u)->STATE & STATE_TXFULL);
}
