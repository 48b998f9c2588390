// defio on a Cortex-M: the seam between the module and a MicroPython port.
//
// The module brings all of its MCU side: the fault entry, the MPU backend (picked from the
// architecture it is compiled for: ARMv6-M -> "mpu-pmsav6", ARMv7-M/ARMv7E-M ->
// "mpu-pmsav7", ARMv8-M -> "mpu-pmsav8"), the poll that hands due rounds to the MicroPython
// scheduler, the soft-reset hook and the protected pool (a static array aligned as the MPU
// needs, sized by DEFIO_MCU_POOL_SIZE). A port (ours for the QEMU MPS2 boards, upstream's
// rp2, stm32, ...) connects three entry points, implements three small hooks and sets a few
// numbers. It includes nothing of the module but this header; the module includes nothing
// of the port. Build: USER_C_MODULES with DEFIO_BACKEND=mpu (micropython.mk) or
// -DDEFIO_BACKEND=mpu (micropython.cmake).
//
// 1. What the port calls
//
//   defio_mcu_fault_handler   an exception handler (naked entry stub). Install it as
//       HardFault on every core and also as MemManage on ARMv7-M/ARMv8-M (and enable
//       MemManage there: SHCSR.MEMFAULTENA), in the vector table or at run time (pico-sdk:
//       exception_set_exclusive_handler). A first write to a clean defio page: the page is
//       recorded and opened, the handler returns and the store re-executes. Anything else:
//       it branches to defio_mcu_fault_next with r4-r11, SP and LR (EXC_RETURN) as they
//       were on entry (r0-r3, r12 are in the stacked frame), as if the core had vectored
//       there itself: the port's crash dump sees the original fault.
//   defio_mcu_memmanage_handler  ARMv7-M/ARMv8-M: a shorter handler for MemManage alone
//       (no store decoder behind it); install it as MemManage instead of
//       defio_mcu_fault_handler for the cheaper first-write fault. HardFault keeps
//       defio_mcu_fault_handler (a write with PRIMASK set escalates there).
//   defio_mcu_poll            the deferred work: run it at low priority (PendSV level, a
//       soft timer callback) when defio_mcu_hook_poll_soon() asked for it and when the
//       delay given to defio_mcu_hook_poll_later() has passed. It hands due rounds to
//       mp_sched_schedule and asks for its next run. Never call it from the fault handler.
//   defio_mcu_soft_reset      at soft reset, while the VM is still up (upstream ports:
//       MICROPY_BOARD_START_SOFT_RESET; before gc_sweep_all and mp_deinit). Every instance
//       is stopped, every defio MPU region dropped, the whole pool free: no callback and no
//       defio fault can follow. A poll already requested may still run: it finds nothing.
//
// 2. What the port provides: three functions with these names (link-time hooks, so the
//    module needs no header of the port).
//
//   void defio_mcu_hook_poll_soon(void)
//       Make defio_mcu_poll run soon at low priority. Called from the fault handler
//       (HardFault or MemManage) and from thread context: constant time, no lock that could
//       wait. Ours: pend PendSV. rp2: pendsv_schedule_dispatch(<a board PendSV slot from
//       MICROPY_BOARD_PENDSV_ENTRIES>, defio_mcu_poll).
//   void defio_mcu_hook_poll_later(uint32_t ms)
//       Run defio_mcu_poll again once `ms` (>= 1) milliseconds have passed; replaces any
//       earlier request. Called only from defio_mcu_poll. Ours: a deadline SysTick checks.
//       rp2: a soft_timer_entry_t (shared/runtime/softtimer.h) whose C callback calls
//       defio_mcu_poll.
//   uint32_t defio_mcu_hook_ticks_ms(void)
//       A wrapping millisecond clock, callable from the fault handler (no lock).
//
//   And one variable: defio_mcu_fault_next, the handler for faults that are not defio's
//   (the port's crash dump, or the handler that was installed before). Set it before the
//   first instance is created, at the latest. Left NULL, such a fault spins in
//   defio_mcu_fault_unhandled (a debugger sees where).
//
// 3. Settings: -D flags (micropython.cmake also takes CMake variables of the same names).
//
//   DEFIO_MCU_POOL_SIZE          protected pool in bytes, a power of two (default 64 KiB).
//   DEFIO_MCU_POOL_ALIGN         alignment of the pool (default: its size on PMSAv6/v7, so
//                                any region fits anywhere; 32 on PMSAv8).
//   DEFIO_MCU_POOL_SECTION       put the pool in this linker section (default: .bss).
//   DEFIO_MCU_PAGE_SIZE_MIN      smallest page (default: 256 on PMSAv6/v7, the smallest
//                                region with subregions; 32 on PMSAv8). QEMU 7.2 needs 1024.
//   DEFIO_MCU_PAGE_SIZE_DEFAULT  page size when page_size=0 (default: the minimum).
//   DEFIO_MCU_FIRST_REGION       MPU regions below this one stay the port's (default 0).
//   DEFIO_MCU_MPU_REGIONS_MAX    use at most this many MPU regions (default 8 on PMSAv6/v7,
//                                16 on PMSAv8); the count itself is read from MPU_TYPE.
//   DEFIO_MCU_RAMFUNC            attribute for everything the fault handler runs: the entry
//                                stub, the decoder, the backends' page opening, the core's
//                                defio_core_fault (default none; RP2040, where flash XIP may
//                                be off: __attribute__((section(...))) placed in RAM). The
//                                port's hooks called from the handler need the same care.
//   DEFIO_MCU_CHECK_DECODER      (PMSAv6 code run on a core with MMFAR, tests only) compare
//                                every decoded store with MMFAR; a mismatch is not handled.
//
// The limits (instances at once, pages per instance) follow from these and from MPU_TYPE at
// run time: defio_mcu_limits.h; Python sees defio.MAX_INSTANCES and defio.MAX_PAGES.
//
// The module enables the MPU itself (PRIVDEFENA: the default map stays for everything that
// no region covers) the first time an instance is created, and never touches the regions
// below DEFIO_MCU_FIRST_REGION. Stacks must never live in the pool (a fault while stacking
// locks up an ARMv6-M core).
#ifndef DEFIO_MCU_H
#define DEFIO_MCU_H

#include <stdint.h>

// Called by the port.
void defio_mcu_fault_handler(void);
void defio_mcu_memmanage_handler(void);
void defio_mcu_poll(void);
void defio_mcu_soft_reset(void);

// Provided by the port.
void defio_mcu_hook_poll_soon(void);
void defio_mcu_hook_poll_later(uint32_t ms);
uint32_t defio_mcu_hook_ticks_ms(void);

// Set by the port (thread context, before the first instance); read by the fault handler.
extern void (*volatile defio_mcu_fault_next)(void);

// Where a fault that is not defio's goes while defio_mcu_fault_next is NULL: a spin loop.
void defio_mcu_fault_unhandled(void);

#endif // DEFIO_MCU_H
