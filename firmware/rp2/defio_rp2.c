// defio on MicroPython's own rp2 port: the port side of defio's seam (defio_mcu.h), plugged
// in only through what upstream's rp2 port offers a board. No upstream file is edited.
//
//   fault entry  pico-sdk keeps the vector table in RAM (one table for both cores):
//                defio_rp2_init installs defio_mcu_fault_handler there as HardFault (all
//                the RP2040's Cortex-M0+ has) and, on the RP2350, defio_mcu_memmanage_handler
//                as MemManage, which it enables. A fault that is not defio's goes to the
//                handler that was there.
//   poll soon    a PendSV dispatch slot of our own (MICROPY_BOARD_PENDSV_ENTRIES).
//   poll later   a static soft timer (shared/runtime/softtimer.c): upstream runs expired
//                timers from its own PendSV slot; ours hands over to our slot, so the poll
//                always runs at PendSV level, never inside the timer handler.
//   clock        mp_hal_ticks_ms(): the 64-bit microsecond timer, read without a lock.
//   soft reset   MICROPY_BOARD_START_SOFT_RESET, while the VM is still up.
//
// Core 1. _thread runs Python on core 1, and each core has its own MPU; defio programs the
// MPU of core 0, where MicroPython's main thread, the scheduler (so every defio callback)
// and the fault handler's PendSV run. A write from core 1 would not fault and its page would
// never be reported. Rather than keep core 1's MPU in step, defio and _thread take turns:
//   - starting a thread while a defio instance is live raises OSError(EBUSY);
//   - creating a defio instance while a thread runs raises OSError(EBUSY).
// So no Python code runs on core 1 while defio memory is protected: no write is lost.

#include "py/mperrno.h"
#include "py/mpthread.h"
#include "py/runtime.h"
#include "py/mphal.h"
#include "shared/runtime/softtimer.h"
#include "pendsv.h"
#include "hardware/exception.h"
#if PICO_RP2350 && PICO_ARM
#include "RP2350.h" // CMSIS: SCB->SHCSR
#endif

#include "defio_mcu.h"
#include "defio_backend.h"

#if !PICO_ARM
#error "defio needs an Arm core's MPU: build the RP2350 in ARM mode (not the RISCV variant)"
#endif

// --- Deferred work: PendSV slot, soft timer, clock ---------------------------------------------

static soft_timer_entry_t defio_rp2_timer;

void defio_mcu_hook_poll_soon(void) {
    // From the fault handler or a thread: one store and a PendSV pend, no lock.
    pendsv_schedule_dispatch(PENDSV_DISPATCH_DEFIO, defio_mcu_poll);
}

// The timer expired. Hand the poll to our PendSV slot rather than calling it here: the poll
// may re-arm this timer, and soft_timer_handler, which runs this callback, rewrites the
// timer heap from its own copy once its callbacks return (an entry inserted from inside a
// callback would be lost). Our slot comes after upstream's soft-timer slot, so the PendSV
// handler that runs this callback runs the poll next, in the same pass.
static void defio_rp2_timer_cb(soft_timer_entry_t *self) {
    (void)self;
    defio_mcu_hook_poll_soon();
}

void defio_mcu_hook_poll_later(uint32_t ms) {
    // Only from defio_mcu_poll, which runs from PendSV: reinsert takes upstream's recursive
    // PendSV lock, which this core already holds there.
    soft_timer_reinsert(&defio_rp2_timer, ms);
}

uint32_t defio_mcu_hook_ticks_ms(void) {
    return mp_hal_ticks_ms();
}

// --- Boot and soft reset --------------------------------------------------------------------

void defio_rp2_init(void) {
    soft_timer_static_init(&defio_rp2_timer, SOFT_TIMER_MODE_ONE_SHOT, 0, defio_rp2_timer_cb);
    // The handler that was there takes every fault that is not defio's (pico-sdk's default:
    // a breakpoint, as on a stock build).
    defio_mcu_fault_next = exception_set_exclusive_handler(HARDFAULT_EXCEPTION,
        defio_mcu_fault_handler);
    #if PICO_RP2350
    // MemManage reports the address (MMFAR): defio's short entry, no store decoder behind it.
    // A write with PRIMASK set escalates to HardFault, which the full handler above takes.
    exception_set_exclusive_handler(MEMMANAGE_EXCEPTION, defio_mcu_memmanage_handler);
    SCB->SHCSR |= SCB_SHCSR_MEMFAULTENA_Msk;
    #endif
}

static volatile uint32_t defio_rp2_live; // instances attached (MPU regions programmed)
static volatile bool defio_rp2_thread; // a _thread runs on core 1

void defio_rp2_soft_reset(void) {
    defio_mcu_soft_reset();
    soft_timer_remove(&defio_rp2_timer);
    defio_rp2_live = 0;
    // Upstream resets core 1 right after this hook (mp_thread_deinit).
    defio_rp2_thread = false;
}

// --- defio and _thread take turns (linker --wrap, see defio_rp2.cmake) -----------------------

int __real_defio_backend_attach(defio_inst_t *inst, const char **why);
void __real_defio_backend_detach(defio_inst_t *inst);
mp_uint_t __real_mp_thread_create(void *(*entry)(void *), void *arg, size_t *stack_size);
void __real_mp_thread_finish(void);

int __wrap_defio_backend_attach(defio_inst_t *inst, const char **why) {
    if (defio_rp2_thread) {
        *why = "defio: a _thread runs on core 1, whose MPU defio does not program; "
            "create instances when no thread runs";
        return MP_EBUSY;
    }
    int err = __real_defio_backend_attach(inst, why);
    if (err == 0) {
        defio_rp2_live += 1;
    }
    return err;
}

void __wrap_defio_backend_detach(defio_inst_t *inst) {
    __real_defio_backend_detach(inst);
    if (defio_rp2_live > 0) {
        defio_rp2_live -= 1;
    }
}

mp_uint_t __wrap_mp_thread_create(void *(*entry)(void *), void *arg, size_t *stack_size) {
    if (defio_rp2_live > 0) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT(
            "defio: instances are live; core 1's MPU does not guard them, so _thread waits "
            "until every instance is deinited"));
    }
    bool was = defio_rp2_thread;
    defio_rp2_thread = true;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_uint_t id = __real_mp_thread_create(entry, arg, stack_size);
        nlr_pop();
        return id;
    }
    defio_rp2_thread = was; // e.g. "core1 in use": the thread that runs keeps the flag set
    nlr_jump(nlr.ret_val);
}

void __wrap_mp_thread_finish(void) {
    __real_mp_thread_finish();
    defio_rp2_thread = false;
}
