// What defio adds to an upstream rp2 board configuration: included at the end of
// boards/<BOARD>/mpconfigboard.h, after upstream's own. Everything goes through the hooks
// upstream's rp2 port offers to boards (mpconfigport.h, pendsv.h); the functions are in
// firmware/rp2/defio_rp2.c.
#ifndef DEFIO_RP2_BOARD_H
#define DEFIO_RP2_BOARD_H

#if !DEFIO_RP2_WITHOUT_DEFIO

// A PendSV dispatch slot of our own: PENDSV_DISPATCH_DEFIO (ports/rp2/pendsv.h).
#define MICROPY_BOARD_PENDSV_ENTRIES PENDSV_DISPATCH_DEFIO,

// Once at boot, after the hardware is up: install the fault entry, set up core 0.
#define MICROPY_BOARD_EARLY_INIT defio_rp2_init
// Soft reset, while the VM is still up: every instance stopped, every defio region dropped.
#define MICROPY_BOARD_START_SOFT_RESET defio_rp2_soft_reset

#ifndef __ASSEMBLER__
void defio_rp2_init(void);
void defio_rp2_soft_reset(void);
#endif

#endif

#endif // DEFIO_RP2_BOARD_H
