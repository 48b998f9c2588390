// time module, port part (included by extmod/modtime.c). No RTC: time.time() counts
// seconds since boot, time.time_ns() nanoseconds since boot (from the SysTick clock).
#include "py/mphal.h"

static mp_obj_t mp_time_time_get(void) {
    return mp_obj_new_int_from_uint(mp_hal_ticks_ms() / 1000);
}
