// CMSDK APB UART driver: polled TX, interrupt-driven RX into a ring buffer.
#ifndef DEFIO_PORT_UART_H
#define DEFIO_PORT_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORT_UART_RXBUF_SIZE (1024) // power of two

typedef struct _port_uart_t {
    uintptr_t base;     // register block (constant)
    uint8_t irq;        // NVIC number of the RX interrupt (constant)
    bool is_repl;       // Ctrl-C on this UART raises KeyboardInterrupt (constant)
    // Ring buffer: `head` written by the RX interrupt only, `tail` by the thread only.
    volatile uint32_t head;
    volatile uint32_t tail;
    // Set by the RX interrupt when the ring is full (it stops reading, so the byte waits
    // in the UART and QEMU holds the rest); cleared by the thread with IRQs masked.
    volatile bool stalled;
    uint8_t buf[PORT_UART_RXBUF_SIZE];
} port_uart_t;

extern port_uart_t port_uart0;
extern port_uart_t port_uart1;

void port_uart_init(port_uart_t *u, uint32_t baudrate);
void port_uart_deinit(port_uart_t *u);
// Next received byte, or -1 (thread side).
int port_uart_rx_get(port_uart_t *u);
size_t port_uart_rx_any(port_uart_t *u);
// Polled transmit, any context.
void port_uart_tx(port_uart_t *u, const uint8_t *data, size_t len);
bool port_uart_tx_done(port_uart_t *u);

#endif // DEFIO_PORT_UART_H
