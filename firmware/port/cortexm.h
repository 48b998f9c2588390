// Cortex-M system registers for the port: the CMSIS-style header defio ships (one set of
// register definitions for the module and the port), plus the port's exception priorities.
#ifndef DEFIO_PORT_CORTEXM_H
#define DEFIO_PORT_CORTEXM_H

#include <stdint.h>

#include "defio_cmsis.h"

// Exception numbers.
#define EXC_HARDFAULT   (3)
#define EXC_MEMMANAGE   (4)
#define EXC_BUSFAULT    (5)
#define EXC_USAGEFAULT  (6)
#define EXC_PENDSV      (14)
#define EXC_SYSTICK     (15)
#define EXC_IRQ(n)      (16 + (n))

// Priorities (0 is the most urgent; ARMv6-M implements the top 2 bits, so the levels are
// multiples of 0x40 where the order matters on every core).
#define IRQ_PRI_MEMMANAGE   (0x00) // highest configurable: the defio fault path
#define IRQ_PRI_FAULTS      (0x00) // BusFault, UsageFault: crash dump
#define IRQ_PRI_SYSTICK     (0x40)
#define IRQ_PRI_UART        (0x80)
#define IRQ_PRI_PENDSV      (0xc0) // lowest: the soft timer's bottom half, defio_mcu_poll

#endif // DEFIO_PORT_CORTEXM_H
