// defio: deferred IO for MicroPython. The binding: the only file with Python types.
//
// It turns arguments into plain C values for the core and the backend, owns the Python
// objects (callback, buffer view) and delivers rounds: take the dirty pages, re-protect
// them, call callback(d, pages).
#include <string.h>

#include "py/binary.h"
#include "py/mperrno.h"
#include "py/objarray.h"
#include "py/objint.h"
#include "py/runtime.h"
#include "py/smallint.h"

#include "defio_backend.h"
#include "defio_core.h"
#include "moddefio.h"

typedef struct _defio_obj_t {
    mp_obj_base_t base;
    defio_inst_t *inst;     // NULL once deinited
    mp_obj_t callback;
    mp_obj_t buffer;        // memoryview over mem (carries a pointer back to this object)
    void *mem;              // backend memory, given back when this object is collected
    size_t mem_len;
    size_t size;
    size_t page_size;
    size_t npages;
} defio_obj_t;

// A memoryview whose allocation holds one more word pointing at the DeferredIO object. The
// GC scans whole allocations, so while anything holds d.buffer (a FrameBuffer, a display
// driver) the object and its protected memory stay alive and reserved.
typedef struct _defio_view_t {
    mp_obj_array_t view;
    defio_obj_t *owner;
} defio_view_t;

// Live instances: reachable from here so the GC never collects an instance the fault
// handler and the timer still use (thread side only).
MP_REGISTER_ROOT_POINTER(mp_obj_t defio_live[DEFIO_MAX_INSTANCES]);

static const mp_obj_type_t defio_type;

// OSError(errcode, message): e.errno is errcode, str(e) carries the message.
static mp_obj_t new_oserror(int errcode, const char *msg) {
    mp_obj_t args[2] = {MP_OBJ_NEW_SMALL_INT(errcode), mp_obj_new_str(msg, strlen(msg))};
    return mp_obj_exception_make_new(&mp_type_OSError, 2, 0, args);
}

static defio_obj_t *get_live(mp_obj_t self_in) {
    defio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->inst == NULL) {
        mp_raise_ValueError(MP_ERROR_TEXT("defio: instance is deinitialised"));
    }
    return self;
}

// An int argument (bool and float refused); a big int is clamped to +-MP_SMALL_INT_MAX,
// which every caller treats as out of range.
static mp_int_t get_int_arg(mp_obj_t arg, const char *name) {
    if (!mp_obj_is_int(arg)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("defio: %s must be an int, not %s"),
            name, mp_obj_get_type_str(arg));
    }
    if (mp_obj_is_small_int(arg)) {
        return MP_OBJ_SMALL_INT_VALUE(arg);
    }
    return mp_obj_int_sign(arg) < 0 ? -MP_SMALL_INT_MAX : MP_SMALL_INT_MAX;
}

static uint32_t get_delay_ms(mp_obj_t arg) {
    mp_int_t delay = get_int_arg(arg, "delay_ms");
    if (delay < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("defio: delay_ms must be >= 0"));
    }
    if ((uint64_t)delay > 0x7fffffff) {
        mp_raise_ValueError(MP_ERROR_TEXT("defio: delay_ms too large"));
    }
    return (uint32_t)delay;
}

static mp_obj_t pages_to_list(const uint32_t *bits, size_t npages, size_t count) {
    mp_obj_list_t *list = MP_OBJ_TO_PTR(mp_obj_new_list(count, NULL));
    size_t n = 0;
    for (size_t p = 0; p < npages && n < count; ++p) {
        if (defio_bit_get(bits, p)) {
            list->items[n++] = MP_OBJ_NEW_SMALL_INT(p);
        }
    }
    return MP_OBJ_FROM_PTR(list);
}

// Deliver one round: take the dirty pages, re-protect them ("mkclean"), then call
// callback(d, pages). If the callback raises, its pages are pending again (a new round,
// retried after delay_ms), `errors` counts it and the exception is returned in *exc.
static size_t deliver(defio_obj_t *self, mp_obj_t *exc) {
    defio_inst_t *inst = self->inst;
    uint32_t bits[DEFIO_BITMAP_WORDS];
    *exc = MP_OBJ_NULL;
    size_t count = defio_core_take(inst, bits);
    if (count == 0) {
        return 0;
    }
    defio_backend_protect(inst, bits);
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t pages = pages_to_list(bits, inst->npages, count);
        mp_call_function_2(self->callback, MP_OBJ_FROM_PTR(self), pages);
        nlr_pop();
    } else {
        *exc = MP_OBJ_FROM_PTR(nlr.ret_val);
        // The callback may have deinited the instance; then there is nothing to retry.
        if (self->inst == inst) {
            defio_core_restore(inst, bits);
            inst->errors += 1;
        }
        return 0;
    }
    inst->callbacks += 1;
    inst->pages_delivered += count;
    return count;
}

static void print_callback_error(mp_obj_t exc) {
    mp_printf(MICROPY_ERROR_PRINTER, "defio: callback raised; its pages are pending again\n");
    mp_obj_print_exception(MICROPY_ERROR_PRINTER, exc);
}

// The workqueue item: runs from the MicroPython scheduler, between bytecodes or while the
// program waits, never in interrupt context.
static mp_obj_t defio_sched_flush(mp_obj_t self_in) {
    defio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->inst != NULL) {
        mp_obj_t exc;
        deliver(self, &exc);
        if (exc != MP_OBJ_NULL) {
            print_callback_error(exc);
        }
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(defio_sched_flush_obj, defio_sched_flush);

bool defio_port_round_due(defio_inst_t *inst) {
    return mp_sched_schedule(MP_OBJ_FROM_PTR(&defio_sched_flush_obj), MP_OBJ_FROM_PTR(inst->owner));
}

// Stop tracking and drop protection; no callback. The memory stays reserved.
static void stop(defio_obj_t *self) {
    defio_inst_t *inst = self->inst;
    if (inst == NULL) {
        return;
    }
    defio_backend_detach(inst);
    defio_core_release(inst);
    self->inst = NULL;
    for (size_t i = 0; i < DEFIO_MAX_INSTANCES; ++i) {
        if (MP_STATE_PORT(defio_live)[i] == MP_OBJ_FROM_PTR(self)) {
            MP_STATE_PORT(defio_live)[i] = MP_OBJ_NULL;
        }
    }
}

static mp_obj_t defio_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
    const mp_obj_t *all_args) {
    enum { ARG_size, ARG_callback, ARG_delay_ms, ARG_page_size };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_size, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_callback, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_delay_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(1000)} },
        { MP_QSTR_page_size, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed_args), allowed_args,
        args);

    mp_int_t size = get_int_arg(args[ARG_size].u_obj, "size");
    mp_obj_t callback = args[ARG_callback].u_obj;
    if (!mp_obj_is_callable(callback)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("defio: callback must be callable, not %s"),
            mp_obj_get_type_str(callback));
    }
    uint32_t delay_ms = get_delay_ms(args[ARG_delay_ms].u_obj);
    mp_int_t page_size = get_int_arg(args[ARG_page_size].u_obj, "page_size");
    if (size <= 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("defio: size must be > 0"));
    }
    size_t min = defio_backend_page_size_min();
    if (page_size == 0) {
        page_size = defio_backend_page_size_default();
    }
    uint32_t shift;
    if (page_size < 0 || !defio_page_size_valid(page_size, min, &shift)) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("defio: page_size must be 0 or a power of two >= %u"), (unsigned)min);
    }
    size_t npages = defio_pages_for(size, shift);
    if (size == MP_SMALL_INT_MAX || npages > DEFIO_MAX_PAGES) {
        mp_raise_msg_varg(&mp_type_MemoryError,
            MP_ERROR_TEXT("defio: size too large: an instance tracks at most %u pages of %u bytes"),
            (unsigned)DEFIO_MAX_PAGES, (unsigned)page_size);
    }
    size_t slot = 0;
    while (slot < DEFIO_MAX_INSTANCES && MP_STATE_PORT(defio_live)[slot] != MP_OBJ_NULL) {
        ++slot;
    }
    if (slot == DEFIO_MAX_INSTANCES) {
        nlr_raise(new_oserror(MP_ENOMEM, "defio: all instances are in use (deinit one first)"));
    }

    // Python objects first, so a MemoryError here leaks no backend memory.
    defio_obj_t *self = mp_obj_malloc_with_finaliser(defio_obj_t, type);
    self->inst = NULL;
    self->mem = NULL;
    self->callback = callback;
    self->size = size;
    self->page_size = page_size;
    self->npages = npages;
    self->mem_len = npages << shift;
    defio_view_t *view = m_new_obj(defio_view_t);
    view->owner = self;

    defio_backend_init();
    const char *why = "";
    int err = defio_backend_alloc(self->mem_len, page_size, &self->mem, &why);
    if (err != 0) {
        nlr_raise(new_oserror(err, why));
    }
    // Byte items exactly like memoryview(bytearray): the same store path, at the same speed.
    mp_obj_memoryview_init(&view->view, BYTEARRAY_TYPECODE | MP_OBJ_ARRAY_TYPECODE_FLAG_RW, 0,
        size, self->mem);
    self->buffer = MP_OBJ_FROM_PTR(&view->view);

    defio_inst_t *inst = defio_core_claim((uintptr_t)self->mem, npages, shift, delay_ms, self);
    if (inst == NULL) {
        nlr_raise(new_oserror(MP_ENOMEM, "defio: no free instance slot"));
    }
    err = defio_backend_attach(inst, &why);
    if (err != 0) {
        defio_core_release(inst);
        nlr_raise(new_oserror(err, why));
    }
    self->inst = inst;
    MP_STATE_PORT(defio_live)[slot] = MP_OBJ_FROM_PTR(self);
    defio_core_publish(inst);
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t defio_pending(mp_obj_t self_in) {
    defio_obj_t *self = get_live(self_in);
    uint32_t bits[DEFIO_BITMAP_WORDS];
    size_t count = defio_core_peek(self->inst, bits);
    return pages_to_list(bits, self->npages, count);
}
static MP_DEFINE_CONST_FUN_OBJ_1(defio_pending_obj, defio_pending);

static mp_obj_t defio_flush(mp_obj_t self_in) {
    defio_obj_t *self = get_live(self_in);
    mp_obj_t exc;
    size_t n = deliver(self, &exc);
    if (exc != MP_OBJ_NULL) {
        nlr_raise(exc);
    }
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_1(defio_flush_obj, defio_flush);

static mp_obj_t defio_stats(mp_obj_t self_in) {
    defio_obj_t *self = get_live(self_in);
    defio_inst_t *inst = self->inst;
    uint32_t bits[DEFIO_BITMAP_WORDS];
    mp_obj_t dict = mp_obj_new_dict(5);
    const struct {
        qstr key;
        mp_uint_t value;
    } items[] = {
        { MP_QSTR_faults, inst->faults },
        { MP_QSTR_callbacks, inst->callbacks },
        { MP_QSTR_pages, inst->pages_delivered },
        { MP_QSTR_errors, inst->errors },
        { MP_QSTR_pending, defio_core_peek(inst, bits) },
    };
    for (size_t i = 0; i < MP_ARRAY_SIZE(items); ++i) {
        mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(items[i].key), mp_obj_new_int_from_uint(items[i].value));
    }
    return dict;
}
static MP_DEFINE_CONST_FUN_OBJ_1(defio_stats_obj, defio_stats);

static mp_obj_t defio_deinit(mp_obj_t self_in) {
    defio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->inst == NULL) {
        return mp_const_none;
    }
    // Deliver what is pending, as Linux's fb_deferred_io_cleanup flushes its work.
    mp_obj_t exc;
    deliver(self, &exc);
    stop(self);
    if (exc != MP_OBJ_NULL) {
        nlr_raise(exc);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(defio_deinit_obj, defio_deinit);

static mp_obj_t defio_exit(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    return defio_deinit(args[0]);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(defio_exit_obj, 4, 4, defio_exit);

// Finaliser: the object is unreachable (or the VM is going away). No callback here: the
// heap is locked while the GC runs finalisers.
static mp_obj_t defio_del(mp_obj_t self_in) {
    defio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    stop(self);
    if (self->mem != NULL) {
        defio_backend_free(self->mem, self->mem_len);
        self->mem = NULL;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(defio_del_obj, defio_del);

void defio_deinit_all(void) {
    for (size_t i = 0; i < DEFIO_MAX_INSTANCES; ++i) {
        mp_obj_t obj = MP_STATE_PORT(defio_live)[i];
        if (obj != MP_OBJ_NULL) {
            stop(MP_OBJ_TO_PTR(obj));
        }
    }
}

static void defio_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    defio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (dest[0] == MP_OBJ_NULL) {
        // Load.
        mp_obj_t value = MP_OBJ_NULL;
        if (attr == MP_QSTR_buffer) {
            value = self->buffer;
        } else if (attr == MP_QSTR_page_size) {
            value = MP_OBJ_NEW_SMALL_INT(self->page_size);
        } else if (attr == MP_QSTR_npages) {
            value = MP_OBJ_NEW_SMALL_INT(self->npages);
        } else if (attr == MP_QSTR_delay_ms) {
            value = mp_obj_new_int_from_uint(get_live(self_in)->inst->delay_ms);
        } else {
            dest[1] = MP_OBJ_SENTINEL; // continue with the methods
            return;
        }
        get_live(self_in);
        dest[0] = value;
    } else if (dest[1] != MP_OBJ_NULL && attr == MP_QSTR_delay_ms) {
        // Store.
        get_live(self_in)->inst->delay_ms = get_delay_ms(dest[1]);
        dest[0] = MP_OBJ_NULL;
    }
}

static void defio_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    (void)kind;
    defio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_printf(print, "<DeferredIO size=%u page_size=%u npages=%u%s>", (unsigned)self->size,
        (unsigned)self->page_size, (unsigned)self->npages, self->inst ? "" : " deinited");
}

static const mp_rom_map_elem_t defio_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_pending), MP_ROM_PTR(&defio_pending_obj) },
    { MP_ROM_QSTR(MP_QSTR_flush), MP_ROM_PTR(&defio_flush_obj) },
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&defio_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_deinit), MP_ROM_PTR(&defio_deinit_obj) },
    { MP_ROM_QSTR(MP_QSTR___enter__), MP_ROM_PTR(&mp_identity_obj) },
    { MP_ROM_QSTR(MP_QSTR___exit__), MP_ROM_PTR(&defio_exit_obj) },
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&defio_del_obj) },
};
static MP_DEFINE_CONST_DICT(defio_locals_dict, defio_locals_dict_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    defio_type,
    MP_QSTR_DeferredIO,
    MP_TYPE_FLAG_NONE,
    make_new, defio_make_new,
    print, defio_print,
    attr, defio_attr,
    locals_dict, &defio_locals_dict
    );

static mp_obj_t defio_module_getattr(mp_obj_t attr) {
    if (attr == MP_OBJ_NEW_QSTR(MP_QSTR_PAGE_SIZE_MIN)) {
        return MP_OBJ_NEW_SMALL_INT(defio_backend_page_size_min());
    } else if (attr == MP_OBJ_NEW_QSTR(MP_QSTR_PAGE_SIZE_DEFAULT)) {
        return MP_OBJ_NEW_SMALL_INT(defio_backend_page_size_default());
    } else if (attr == MP_OBJ_NEW_QSTR(MP_QSTR_BACKEND)) {
        return mp_obj_new_str(defio_backend_name, strlen(defio_backend_name));
    }
    return MP_OBJ_NULL;
}
static MP_DEFINE_CONST_FUN_OBJ_1(defio_module_getattr_obj, defio_module_getattr);

static const mp_rom_map_elem_t defio_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_defio) },
    { MP_ROM_QSTR(MP_QSTR___getattr__), MP_ROM_PTR(&defio_module_getattr_obj) },
    { MP_ROM_QSTR(MP_QSTR_DeferredIO), MP_ROM_PTR(&defio_type) },
};
static MP_DEFINE_CONST_DICT(defio_module_globals, defio_module_globals_table);

const mp_obj_module_t defio_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&defio_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_defio, defio_user_cmodule);
