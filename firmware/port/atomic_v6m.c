// The word-sized __atomic library calls GCC emits for ARMv6-M, which has no LDREX/STREX
// (pico-sdk's pico_atomic plays this part on the RP2040).
//
// Each one is a read-modify-write with PRIMASK set: no interrupt can come in between. A
// HardFault still can (PRIMASK does not mask it), but only from an instruction inside the
// section, and these touch nothing a fault could come from (defio's dirty bits and round
// state live in ordinary RAM), so on one core every call is atomic against every handler,
// defio's fault handler included.
#include <stdbool.h>
#include <stdint.h>

#include "defio_cmsis.h"

uint32_t __atomic_fetch_or_4(volatile void *ptr, uint32_t val, int order);
uint32_t __atomic_fetch_add_4(volatile void *ptr, uint32_t val, int order);
uint32_t __atomic_exchange_4(volatile void *ptr, uint32_t val, int order);
bool __atomic_compare_exchange_4(volatile void *ptr, void *expected, uint32_t desired,
    bool weak, int success, int failure);

uint32_t __atomic_fetch_or_4(volatile void *ptr, uint32_t val, int order) {
    (void)order;
    volatile uint32_t *p = ptr;
    uint32_t state = defio_irq_save();
    uint32_t old = *p;
    *p = old | val;
    defio_irq_restore(state);
    return old;
}

uint32_t __atomic_fetch_add_4(volatile void *ptr, uint32_t val, int order) {
    (void)order;
    volatile uint32_t *p = ptr;
    uint32_t state = defio_irq_save();
    uint32_t old = *p;
    *p = old + val;
    defio_irq_restore(state);
    return old;
}

uint32_t __atomic_exchange_4(volatile void *ptr, uint32_t val, int order) {
    (void)order;
    volatile uint32_t *p = ptr;
    uint32_t state = defio_irq_save();
    uint32_t old = *p;
    *p = val;
    defio_irq_restore(state);
    return old;
}

bool __atomic_compare_exchange_4(volatile void *ptr, void *expected, uint32_t desired,
    bool weak, int success, int failure) {
    (void)weak;
    (void)success;
    (void)failure;
    volatile uint32_t *p = ptr;
    uint32_t *exp = expected;
    uint32_t state = defio_irq_save();
    uint32_t old = *p;
    bool ok = old == *exp;
    if (ok) {
        *p = desired;
    }
    defio_irq_restore(state);
    if (!ok) {
        *exp = old;
    }
    return ok;
}
