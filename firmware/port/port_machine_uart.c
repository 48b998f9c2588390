// machine.UART, port part (included by extmod/machine_uart.c). UART1 is the second QEMU
// -serial: the e-paper panel link. UART0 carries the REPL and is not offered here.
//   UART(1, baudrate=115200, *, timeout=1000, timeout_char=10)
// read/readinto wait up to `timeout` ms for the first byte and `timeout_char` ms between
// bytes, running scheduled callbacks while they wait; write is polled.
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/stream.h"

#include "uart.h"

typedef struct _machine_uart_obj_t {
    mp_obj_base_t base;
    port_uart_t *uart;
    uint32_t baudrate;
    uint32_t timeout;       // ms, first byte
    uint32_t timeout_char;  // ms, between bytes
    bool active;
} machine_uart_obj_t;

// One object per UART, so soft reset can find it (thread only).
static machine_uart_obj_t machine_uart1_obj = { { &machine_uart_type }, &port_uart1 };

#define MICROPY_PY_MACHINE_UART_CLASS_CONSTANTS

static void mp_machine_uart_print(const mp_print_t *print, mp_obj_t self_in,
    mp_print_kind_t kind) {
    machine_uart_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_printf(print, "UART(1, baudrate=%u, timeout=%u, timeout_char=%u)", self->baudrate,
        self->timeout, self->timeout_char);
}

static void mp_machine_uart_init_helper(machine_uart_obj_t *self, size_t n_args,
    const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_baudrate, ARG_timeout, ARG_timeout_char };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_baudrate, MP_ARG_INT, {.u_int = 115200} },
        { MP_QSTR_timeout, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 1000} },
        { MP_QSTR_timeout_char, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 10} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);
    if (args[ARG_baudrate].u_int <= 0 || args[ARG_timeout].u_int < 0
        || args[ARG_timeout_char].u_int < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad UART parameter"));
    }
    self->baudrate = args[ARG_baudrate].u_int;
    self->timeout = args[ARG_timeout].u_int;
    self->timeout_char = args[ARG_timeout_char].u_int;
    port_uart_init(self->uart, self->baudrate);
    self->active = true;
}

static mp_obj_t mp_machine_uart_make_new(const mp_obj_type_t *type, size_t n_args,
    size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, MP_OBJ_FUN_ARGS_MAX, true);
    if (mp_obj_get_int(args[0]) != 1) {
        mp_raise_ValueError(MP_ERROR_TEXT("UART(1) only: UART0 is the REPL"));
    }
    machine_uart_obj_t *self = &machine_uart1_obj;
    mp_map_t kw_args;
    mp_map_init_fixed_table(&kw_args, n_kw, args + n_args);
    mp_machine_uart_init_helper(self, n_args - 1, args + 1, &kw_args);
    return MP_OBJ_FROM_PTR(self);
}

static void mp_machine_uart_deinit(machine_uart_obj_t *self) {
    port_uart_deinit(self->uart);
    self->active = false;
}

static mp_int_t mp_machine_uart_any(machine_uart_obj_t *self) {
    return port_uart_rx_any(self->uart);
}

static bool mp_machine_uart_txdone(machine_uart_obj_t *self) {
    return port_uart_tx_done(self->uart);
}

static mp_int_t mp_machine_uart_readchar(machine_uart_obj_t *self) {
    uint32_t start = mp_hal_ticks_ms();
    for (;;) {
        int c = port_uart_rx_get(self->uart);
        if (c >= 0) {
            return c;
        }
        if (mp_hal_ticks_ms() - start >= self->timeout) {
            return -1;
        }
        mp_event_wait_indefinite();
    }
}

static void mp_machine_uart_writechar(machine_uart_obj_t *self, uint16_t data) {
    uint8_t b = data;
    port_uart_tx(self->uart, &b, 1);
}

static mp_uint_t mp_machine_uart_read(mp_obj_t self_in, void *buf_in, mp_uint_t size,
    int *errcode) {
    machine_uart_obj_t *self = MP_OBJ_TO_PTR(self_in);
    uint8_t *buf = buf_in;
    mp_uint_t n = 0;
    uint32_t start = mp_hal_ticks_ms();
    while (n < size) {
        int c = port_uart_rx_get(self->uart);
        if (c >= 0) {
            buf[n++] = c;
            start = mp_hal_ticks_ms();
            continue;
        }
        uint32_t limit = n == 0 ? self->timeout : self->timeout_char;
        if (mp_hal_ticks_ms() - start >= limit) {
            break;
        }
        mp_event_wait_indefinite();
    }
    if (n == 0 && size > 0) {
        *errcode = MP_EAGAIN;
        return MP_STREAM_ERROR;
    }
    return n;
}

static mp_uint_t mp_machine_uart_write(mp_obj_t self_in, const void *buf_in, mp_uint_t size,
    int *errcode) {
    machine_uart_obj_t *self = MP_OBJ_TO_PTR(self_in);
    port_uart_tx(self->uart, buf_in, size);
    return size;
}

static mp_uint_t mp_machine_uart_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg,
    int *errcode) {
    machine_uart_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (request == MP_STREAM_POLL) {
        mp_uint_t ret = 0;
        if ((arg & MP_STREAM_POLL_RD) && port_uart_rx_any(self->uart)) {
            ret |= MP_STREAM_POLL_RD;
        }
        if ((arg & MP_STREAM_POLL_WR) && port_uart_tx_done(self->uart)) {
            ret |= MP_STREAM_POLL_WR;
        }
        return ret;
    } else if (request == MP_STREAM_FLUSH) {
        return 0;
    }
    *errcode = MP_EINVAL;
    return MP_STREAM_ERROR;
}
