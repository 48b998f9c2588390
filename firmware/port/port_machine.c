// machine module, port part (included by extmod/modmachine.c): reset, idle, freq, sleeps.
// mem8/16/32, disable_irq/enable_irq and UART come from extmod with this port's hooks.
#include "cortexm.h"

#define MICROPY_PY_MACHINE_EXTRA_GLOBALS

static void mp_machine_idle(void) {
    __asm volatile ("wfi");
}

NORETURN static void mp_machine_reset(void) {
    defio_dsb_isb();
    DEFIO_SCB->AIRCR = DEFIO_AIRCR_VECTKEY | DEFIO_AIRCR_SYSRESETREQ;
    defio_dsb_isb();
    for (;;) {
    }
}

static mp_int_t mp_machine_reset_cause(void) {
    return 0;
}

static mp_obj_t mp_machine_unique_id(void) {
    static const char id[] = "AN385";
    return mp_obj_new_bytes((const byte *)id, sizeof(id) - 1);
}

static mp_obj_t mp_machine_get_freq(void) {
    return MP_OBJ_NEW_SMALL_INT(MICROPY_HW_SYSCLK_HZ);
}

static void mp_machine_set_freq(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    (void)args;
    mp_raise_NotImplementedError(MP_ERROR_TEXT("the clock is fixed"));
}

static void mp_machine_lightsleep(size_t n_args, const mp_obj_t *args) {
    if (n_args > 0) {
        mp_hal_delay_ms(mp_obj_get_int(args[0]));
    } else {
        mp_machine_idle();
    }
}

NORETURN static void mp_machine_deepsleep(size_t n_args, const mp_obj_t *args) {
    mp_machine_lightsleep(n_args, args);
    mp_machine_reset();
}
