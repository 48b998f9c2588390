// The QEMU MPS2 port: MicroPython on QEMU's mps2-an385 (Cortex-M3, and the same board
// built for ARMv6-M) and mps2-an505 (Cortex-M33), with defio plugged in through its seam.
#include <stdint.h>

#include "defio_cmsis.h"

#include "mpconfigboard.h"

#define MICROPY_CONFIG_ROM_LEVEL            (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

// Compiler and runtime.
#define MICROPY_EMIT_THUMB                  (1)
#define MICROPY_EMIT_INLINE_THUMB           (1)
#if defined(__ARM_ARCH_6M__)
#define MICROPY_EMIT_THUMB_ARMV7M           (0)
#define MICROPY_EMIT_INLINE_THUMB_ARMV7M    (0)
#endif
#define MICROPY_MAKE_POINTER_CALLABLE(p)    ((void *)((mp_uint_t)(p) | 1))
#define MICROPY_PERSISTENT_CODE_LOAD        (1)
#define MICROPY_ENABLE_GC                   (1)
#define MICROPY_ENABLE_FINALISER            (1)
#define MICROPY_ENABLE_SCHEDULER            (1)
#define MICROPY_SCHEDULER_DEPTH             (8)
#define MICROPY_KBD_EXCEPTION               (1)
// Ctrl-C reaches code that runs inside a scheduled callback too (a defio callback that never
// returns). Without threads the VM only looks at sched_state, which stays locked while the
// scheduler runs a callback, so a Ctrl-C there would wait for the callback to end: look at
// the pending exception itself when the scheduler is locked.
#define MICROPY_VM_HOOK_LOOP \
    if (MP_STATE_VM(sched_state) < 0 && MP_STATE_THREAD(mp_pending_exception) != MP_OBJ_NULL) { \
        mp_handle_pending(true); \
    }
#define MICROPY_HELPER_REPL                 (1)
#define MICROPY_REPL_INFO                   (1)
#define MICROPY_ENABLE_EMERGENCY_EXCEPTION_BUF (1)
#define MICROPY_EMERGENCY_EXCEPTION_BUF_SIZE (256)
#define MICROPY_STACK_CHECK                 (1)
#define MICROPY_LONGINT_IMPL                (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL                  (MICROPY_FLOAT_IMPL_FLOAT)
#define MICROPY_WARNINGS                    (1)
#define MICROPY_READER_VFS                  (1)
#define MICROPY_USE_INTERNAL_PRINTF         (1)

// Modules.
#define MICROPY_PY_SYS_PLATFORM             "defio-cortexm"
#define MICROPY_PY_SYS_STDFILES             (1)
#define MICROPY_PY_SYS_STDIO_BUFFER         (1)
#define MICROPY_PY_OS                       (1)
#define MICROPY_PY_OS_UNAME                 (1)
#define MICROPY_PY_OS_SYNC                  (1)
#define MICROPY_PY_OS_DUPTERM               (0)
#define MICROPY_PY_OS_URANDOM               (0)
#define MICROPY_PY_TIME                     (1)
#define MICROPY_PY_TIME_GMTIME_LOCALTIME_MKTIME (0)
#define MICROPY_PY_TIME_TIME_TIME_NS        (1) // since boot (no RTC)
#define MICROPY_PY_TIME_INCLUDEFILE         "port_time.c"
#define MICROPY_PY_SELECT                   (1)
#define MICROPY_PY_ASYNCIO                  (1)
#define MICROPY_PY_RANDOM_SEED_INIT_FUNC    (port_random_seed())
#define MICROPY_PY_MACHINE                  (1)
#define MICROPY_PY_MACHINE_INCLUDEFILE      "port_machine.c"
#define MICROPY_PY_MACHINE_RESET            (1)
#define MICROPY_PY_MACHINE_BARE_METAL_FUNCS (1)
#define MICROPY_PY_MACHINE_DISABLE_IRQ_ENABLE_IRQ (1)
#define MICROPY_PY_MACHINE_MEMX             (1)
#define MICROPY_PY_MACHINE_PIN_BASE         (0)
#define MICROPY_PY_MACHINE_UART             (1)
#define MICROPY_PY_MACHINE_UART_INCLUDEFILE "port_machine_uart.c"
#define MICROPY_PY_MACHINE_UART_READCHAR_WRITECHAR (1)
#define MICROPY_PY_MACHINE_I2C              (0)
#define MICROPY_PY_MACHINE_SOFTI2C          (0)
#define MICROPY_PY_MACHINE_SPI              (0)
#define MICROPY_PY_MACHINE_SOFTSPI          (0)
#define MICROPY_PY_MACHINE_PWM              (0)
#define MICROPY_PY_MACHINE_ADC              (0)
#define MICROPY_PY_MACHINE_I2S              (0)
#define MICROPY_PY_MACHINE_TIMER            (0)
#define MICROPY_PY_NETWORK                  (0)
#define MICROPY_PY_BLUETOOTH                (0)
#define MICROPY_PY_SSL                      (0)
#define MICROPY_PY_BTREE                    (0)
#define MICROPY_PY_ONEWIRE                  (0)

// Filesystem: littlefs v2 (MICROPY_VFS_LFS2=1 from the Makefile) on a RAM block device.
#define MICROPY_VFS                         (1)
#define MICROPY_VFS_FAT                     (0)
#define MICROPY_VFS_ROM                     (0)

// Atomic sections mask interrupts with PRIMASK. A first write to a defio page inside one
// escalates to HardFault, which defio's fault handler takes like MemManage.
#define MICROPY_BEGIN_ATOMIC_SECTION()      disable_irq()
#define MICROPY_END_ATOMIC_SECTION(state)   enable_irq(state)

// Sleep until the next interrupt (SysTick at least every millisecond).
#define MICROPY_INTERNAL_WFE(TIMEOUT_MS)    __asm volatile ("wfi")

// Type definitions for the machine.
#define MP_SSIZE_MAX (0x7fffffff)
#define UINT_FMT "%u"
#define INT_FMT "%d"
typedef int mp_int_t; // must be pointer size
typedef unsigned int mp_uint_t; // must be pointer size
typedef long mp_off_t;

#include <alloca.h>

#define MP_NEED_LOG2 (1)
#define MP_STATE_PORT MP_STATE_VM

#define disable_irq defio_irq_save
#define enable_irq defio_irq_restore

// Seed for `random`: the SysTick clock count since boot.
uint32_t port_random_seed(void);
