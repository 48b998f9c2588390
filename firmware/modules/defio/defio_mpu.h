// Inside the module: what the MCU glue (defio_mcu.c) and the MPU backends share.
// backend_pmsav7.c (subregions, PMSAv6 and PMSAv7), backend_pmsav6.c (the HardFault store
// decoder) and backend_pmsav8.c (base/limit intervals) implement the protection half of
// defio_backend.h; the glue implements the rest (pool, clock, timer, limits).
#ifndef DEFIO_MPU_H
#define DEFIO_MPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defio_backend.h"
#include "defio_cmsis.h"
#include "defio_mcu.h"
#include "defio_mcu_limits.h"

#ifndef DEFIO_MCU_RAMFUNC
#define DEFIO_MCU_RAMFUNC
#endif

// The exception frame the core stacks: r0-r3, r12, lr, pc, xpsr.
enum { FRAME_R0, FRAME_R1, FRAME_R2, FRAME_R3, FRAME_R12, FRAME_LR, FRAME_PC, FRAME_XPSR };

// Glue -> backend (thread side unless said otherwise).
// Program what the backend needs once the MPU is on (PMSAv8: its memory attribute).
void defio_mpu_init(void);
// Alignment of an instance's memory for this page size.
size_t defio_mpu_alloc_align(size_t page_size);
// Soft reset: every defio region off, every region free.
void defio_mpu_reset(void);
// Fault handler: true when the fault was a first write to a defio page (recorded, opened,
// status cleared); `frame` is the stacked frame, `r4_r7` what the entry stub saved.
bool defio_mpu_fault(uint32_t *frame, const uint32_t *r4_r7);

// Backend -> glue: the first MPU region defio uses and how many (MPU_TYPE, capped); written
// once by defio_backend_init before the first instance, read-only afterwards.
extern uint32_t defio_mpu_first;
extern uint32_t defio_mpu_count;

// Called by the entry stub (the C half of defio_mcu_fault_handler): 0 when handled, else
// the handler to branch to.
uintptr_t defio_mcu_fault_entry(uint32_t *frame, const uint32_t *r4_r7);

#if DEFIO_MCU_PMSAV6
// PMSAv6 (backend_pmsav7.c): is `addr` in a page that one of defio's regions protects now?
bool defio_pmsav7_protected(uintptr_t addr);

// The 16-bit Thumb store at `insn` (backend_pmsav6.c): the bytes [*lo, *hi) it writes, from
// the stacked frame and the saved r4-r7. False when it is not a store the decoder knows.
bool defio_thumb_store_range(uint16_t insn, const uint32_t *frame, const uint32_t *r4_r7,
    uintptr_t *lo, uintptr_t *hi);
#endif

#endif // DEFIO_MPU_H
