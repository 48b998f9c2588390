// defio's Cortex-M port: boot, the soft-reset loop, the root filesystem.
#include <string.h>

#include "py/compile.h"
#include "py/gc.h"
#include "py/mperrno.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "extmod/vfs.h"
#include "extmod/vfs_lfs.h"
#include "shared/readline/readline.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/pyexec.h"

#include "defio_mcu.h"
#include "mphalport.h"
#include "ramdisk.h"
#include "uart.h"

extern uint32_t _sstack, _estack, _heap_start, _heap_end;

// Mount littlefs on the RAM disk at / (make it on first boot: the RAM disk is zeroed at
// power-on, so files do not survive a reset or a QEMU restart; they do survive soft reset).
// Returns true when the filesystem was just made.
static bool mount_root(void) {
    mp_obj_t bdev = MP_OBJ_FROM_PTR(&port_ramdisk_obj);
    mp_obj_t mount_point = MP_OBJ_NEW_QSTR(MP_QSTR__slash_);
    if (mp_vfs_mount_and_chdir_protected(bdev, mount_point) == 0) {
        return false;
    }
    mp_printf(&mp_plat_print, "MPY: making a littlefs filesystem on the RAM disk\n");
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t mkfs = mp_load_attr(MP_OBJ_FROM_PTR(&mp_type_vfs_lfs2), MP_QSTR_mkfs);
        mp_call_function_1(mkfs, bdev);
        nlr_pop();
    } else {
        mp_obj_print_exception(&mp_plat_print, MP_OBJ_FROM_PTR(nlr.ret_val));
    }
    if (mp_vfs_mount_and_chdir_protected(bdev, mount_point) != 0) {
        mp_printf(&mp_plat_print, "MPY: cannot mount the root filesystem\n");
    }
    return true;
}

int main(void) {
    mp_stack_set_top(&_estack);
    mp_stack_set_limit((char *)&_estack - (char *)&_sstack - 4096);
    gc_init(&_heap_start, &_heap_end);

    for (;;) {
        mp_init();
        mp_obj_list_append(mp_sys_path, MP_OBJ_NEW_QSTR(MP_QSTR__slash_lib));
        readline_init0();
        bool fresh = mount_root();
        #if MICROPY_MODULE_FROZEN_MPY
        // Frozen modules/_boot.py puts the font adafruit_framebuf opens onto a fresh
        // filesystem (power-on, reset). Only then: a soft reset runs nothing of ours.
        if (fresh) {
            pyexec_frozen_module("_boot.py", false);
        }
        #endif

        int ret = pyexec_file_if_exists("boot.py");
        if (!(ret & PYEXEC_FORCED_EXIT) && pyexec_mode_kind == PYEXEC_MODE_FRIENDLY_REPL) {
            ret = pyexec_file_if_exists("main.py");
        }
        if (!(ret & PYEXEC_FORCED_EXIT)) {
            for (;;) {
                if (pyexec_mode_kind == PYEXEC_MODE_RAW_REPL) {
                    if (pyexec_raw_repl() != 0) {
                        break;
                    }
                } else {
                    if (pyexec_friendly_repl() != 0) {
                        break;
                    }
                }
            }
        }

        mp_printf(&mp_plat_print, "MPY: soft reboot\n");
        // Soft reset: defio delivers what is pending once and stops every instance (no
        // callback and no defio fault can follow, the pool and its MPU regions are free),
        // then the panel UART stops and the heap goes.
        defio_mcu_soft_reset();
        port_uart_deinit(&port_uart1);
        gc_sweep_all();
        mp_deinit();
    }
}

void gc_collect(void) {
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    gc_collect_end();
}

void nlr_jump_fail(void *val) {
    mp_printf(&mp_plat_print, "FATAL: uncaught NLR %p\n", val);
    for (;;) {
    }
}

#ifndef NDEBUG
void __assert_func(const char *file, int line, const char *func, const char *expr) {
    (void)func;
    mp_printf(&mp_plat_print, "Assertion '%s' failed, at file %s:%d\n", expr, file, line);
    for (;;) {
    }
}
#endif
