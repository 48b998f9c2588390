// defio: deferred IO for MicroPython. The binding: the only file with Python types.
//
// It turns arguments into plain C values for the core and the backend, owns the Python
// objects (callback, buffer view) and delivers rounds: take the dirty pages, re-protect
// them, call callback(d, pages).
#include <string.h>

#include "py/binary.h"
#include "py/gc.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/objarray.h"
#include "py/objint.h"
#include "py/runtime.h"
#include "py/smallint.h"
#include "py/qstr.h"

#include "defio_backend.h"
#include "defio_core.h"
#include "moddefio.h"

// 12 words on a 32-bit MCU: 48 bytes, three GC blocks (RAM per instance, issue 14). The size
// is the buffer's length; page size and memory length follow from npages and page_shift.
typedef struct _defio_obj_t {
    mp_obj_base_t base;
    defio_inst_t *inst;     // NULL once deinited
    mp_obj_t callback;
    mp_obj_t buffer;        // memoryview over mem (carries a pointer back to this object)
    void *mem;              // backend memory, given back when this object is collected
    // The thread delivering a round (its callback in flight), NULL when none: taken with a
    // compare-and-swap by whichever thread delivers, flushes or deinits, so one callback at
    // most is in flight and protection never changes under a running delivery.
    void *volatile busy;
    // Delivery statistics and error state: written only by the thread holding `busy`.
    mp_uint_t callbacks;
    mp_uint_t pages_delivered;
    mp_uint_t errors;
    mp_uint_t repeats;          // the last printed error raised again this many times
    size_t last_error_hash;     // hash of the last printed error's text
    uint16_t npages;            // DEFIO_MAX_PAGES <= 65535 (defio_core.h)
    uint8_t page_shift;
    uint8_t failures_in_row;    // raising callbacks since the last good one (backoff; stops
                                // at 255, long after the backoff reached its cap)
} defio_obj_t;

static size_t obj_size(const defio_obj_t *self) {
    return ((mp_obj_array_t *)MP_OBJ_TO_PTR(self->buffer))->len;
}

// A memoryview whose allocation holds one more word pointing at the DeferredIO object. The
// GC scans whole allocations, so while anything holds d.buffer (a FrameBuffer, a display
// driver) the object and its protected memory stay alive and reserved.
typedef struct _defio_view_t {
    mp_obj_array_t view;
    defio_obj_t *owner;
} defio_view_t;

// Live instances, indexed like the core's table: reachable from here so the GC never
// collects an instance the fault handler and the timer still use (thread side only).
MP_REGISTER_ROOT_POINTER(mp_obj_t defio_live[DEFIO_MAX_INSTANCES]);

static const mp_obj_type_t defio_type;

// Retry backoff after a raising callback: max(delay_ms, BASE) doubled per failure in a
// row, up to max(delay_ms, CAP).
#define RETRY_BASE_MS (10)
#define RETRY_CAP_MS (5000)

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

// An int argument in [lo, hi] (bool and float refused; big ints compared exactly), with a
// one-line error naming the argument and the bound it broke.
static mp_int_t get_int_arg(mp_obj_t arg, const char *name, mp_int_t lo, mp_int_t hi) {
    if (!mp_obj_is_int(arg) || mp_obj_is_bool(arg)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("defio: %s must be an int, not %s"),
            name, mp_obj_get_type_str(arg));
    }
    bool small = mp_obj_is_small_int(arg);
    mp_int_t v = small ? MP_OBJ_SMALL_INT_VALUE(arg) : 0;
    if (small ? v < lo : mp_obj_int_sign(arg) < 0) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("defio: %s must be >= %ld"), name,
            (long)lo);
    }
    if (!small || v > hi) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("defio: %s must be <= %lu"), name,
            (unsigned long)hi);
    }
    return v;
}

static uint32_t get_ms(mp_obj_t arg, const char *name) {
    return get_int_arg(arg, name, 0, DEFIO_DELAY_MS_MAX);
}

// max_delay_ms is 0 (automatic) or at least delay_ms.
static void check_max_delay(uint32_t delay_ms, uint32_t max_delay_ms) {
    if (max_delay_ms != 0 && max_delay_ms < delay_ms) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("defio: max_delay_ms must be 0 or >= delay_ms (%u)"),
            (unsigned)delay_ms);
    }
}

// The set bits in order: a word at a time, each set bit found with one count of trailing
// zeros (no test per page).
static mp_obj_t pages_to_list(const uint32_t *bits, size_t npages, size_t count) {
    mp_obj_list_t *list = MP_OBJ_TO_PTR(mp_obj_new_list(count, NULL));
    size_t n = 0;
    for (size_t w = 0; n < count && w < (npages + 31) / 32; ++w) {
        for (uint32_t b = bits[w]; b != 0 && n < count; b &= b - 1) {
            list->items[n++] = MP_OBJ_NEW_SMALL_INT(w * 32 + __builtin_ctz(b));
        }
    }
    return MP_OBJ_FROM_PTR(list);
}

// --- One delivery at a time -----------------------------------------------------------------

static void *thread_id(void) {
    #if MICROPY_PY_THREAD
    return mp_thread_get_state();
    #else
    return &mp_state_ctx;
    #endif
}

#if MICROPY_ASYNC_KBD_INTR
// The Unix port raises KeyboardInterrupt straight from its SIGINT handler, at whatever
// instruction the thread is on. SIGINT is held off while a delivery changes state (the busy
// owner, take, re-protect, put back), so an interrupt lands either in the callback, where
// deliver() catches it, or outside any delivery.
#include <signal.h>
typedef sigset_t async_state_t;
static void async_hold(async_state_t *old) {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, old);
}
static void async_allow(const async_state_t *old) {
    pthread_sigmask(SIG_SETMASK, old, NULL);
}
#else
// Elsewhere Ctrl-C is a pending exception, raised only where the VM checks for one.
typedef int async_state_t;
static inline void async_hold(async_state_t *old) {
    (void)old;
}
static inline void async_allow(const async_state_t *old) {
    (void)old;
}
#endif

typedef enum {
    LOCK_TAKEN,     // this thread now delivers
    LOCK_NESTED,    // this thread is already delivering: called from inside the callback
    LOCK_BUSY,      // another thread is delivering
} lock_result_t;

static lock_result_t busy_try(defio_obj_t *self) {
    void *me = thread_id();
    void *expected = NULL;
    if (__atomic_compare_exchange_n(&self->busy, &expected, me, false, __ATOMIC_SEQ_CST,
        __ATOMIC_SEQ_CST)) {
        return LOCK_TAKEN;
    }
    return expected == me ? LOCK_NESTED : LOCK_BUSY;
}

// Wait while another thread delivers, running pending callbacks (and Ctrl-C) meanwhile,
// for at most `timeout_ms` (0: no limit). Returns with SIGINT held where that matters; *old
// is the state to give back (async_allow) after busy_release.
static lock_result_t busy_acquire(defio_obj_t *self, uint32_t timeout_ms, async_state_t *old) {
    async_hold(old);
    lock_result_t r = busy_try(self);
    if (r != LOCK_BUSY) {
        return r; // the common case: no clock read
    }
    uint32_t start = defio_backend_ticks_ms();
    for (;;) {
        async_allow(old);
        mp_event_wait_ms(1);
        async_hold(old);
        r = busy_try(self);
        if (r != LOCK_BUSY || (timeout_ms != 0 && defio_backend_ticks_ms() - start >= timeout_ms)) {
            return r;
        }
    }
}

static void busy_release(defio_obj_t *self) {
    __atomic_store_n(&self->busy, NULL, __ATOMIC_SEQ_CST);
    defio_inst_t *inst = self->inst;
    if (inst != NULL) {
        defio_core_delivery_done(inst);
    }
}

// --- Delivery -------------------------------------------------------------------------------

static bool is_interrupt(mp_obj_t exc) {
    const mp_obj_type_t *type = mp_obj_get_type(exc);
    return mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(type), MP_OBJ_FROM_PTR(&mp_type_KeyboardInterrupt))
           || mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(type), MP_OBJ_FROM_PTR(&mp_type_SystemExit));
}

static uint32_t retry_delay(defio_obj_t *self) {
    uint32_t delay = self->inst->delay_ms;
    uint32_t base = delay > RETRY_BASE_MS ? delay : RETRY_BASE_MS;
    uint32_t cap = delay > RETRY_CAP_MS ? delay : RETRY_CAP_MS;
    uint32_t ms = base;
    for (mp_uint_t i = 1; i < self->failures_in_row && ms < cap; ++i) {
        ms *= 2;
    }
    return ms < cap ? ms : cap;
}

// Deliver one round (the caller holds `busy`): take the dirty pages, re-protect them
// ("mkclean"), then call callback(d, pages). If the callback raises, its pages are pending
// again (retried after the backoff; KeyboardInterrupt and SystemExit: not retried, not
// counted as errors) and the exception is returned in *exc.
static size_t deliver(defio_obj_t *self, const async_state_t *unheld, mp_obj_t *exc) {
    defio_inst_t *inst = self->inst;
    uint32_t bits[DEFIO_BITMAP_WORDS];
    *exc = MP_OBJ_NULL;
    size_t count = defio_core_take(inst, bits);
    if (count == 0) {
        return 0;
    }
    defio_backend_protect(inst, bits);
    nlr_buf_t nlr;
    async_state_t held;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t pages = pages_to_list(bits, inst->npages, count);
        async_allow(unheld);
        mp_call_function_2(self->callback, MP_OBJ_FROM_PTR(self), pages);
        async_hold(&held);
        nlr_pop();
    } else {
        async_hold(&held);
        *exc = MP_OBJ_FROM_PTR(nlr.ret_val);
        bool interrupt = is_interrupt(*exc);
        if (!interrupt) {
            self->errors += 1;
            if (self->failures_in_row < UINT8_MAX) {
                self->failures_in_row += 1;
            }
        }
        // The callback may have deinited the instance; then there is nothing to retry.
        // Interrupted: the pages stay pending, with no round armed for them (the program
        // is being stopped); the next write, flush(), deinit() or exit delivers them.
        if (self->inst == inst) {
            defio_core_restore(inst, bits, interrupt ? 0 : retry_delay(self), !interrupt);
        }
        return 0;
    }
    self->failures_in_row = 0;
    if (self->inst == inst) {
        inst->retry_ms = 0;
    }
    self->callbacks += 1;
    self->pages_delivered += count;
    return count;
}

// End a run of identical errors: say how often the last one repeated, and forget it.
static void report_recovered(defio_obj_t *self) {
    if (self->repeats > 0) {
        mp_printf(MICROPY_ERROR_PRINTER, "defio: the previous error repeated %u more times\n",
            (unsigned)self->repeats);
    }
    self->repeats = 0;
    self->last_error_hash = 0;
}

// Print a callback's error, once per run of identical errors (same text, traceback
// included): a callback failing on every retry prints one traceback, then a count.
static void report_error(defio_obj_t *self, mp_obj_t exc) {
    vstr_t vstr;
    mp_print_t print;
    vstr_init_print(&vstr, 64, &print);
    mp_obj_print_exception(&print, exc);
    size_t hash = qstr_compute_hash((const byte *)vstr.buf, vstr.len);
    if (hash == self->last_error_hash) {
        self->repeats += 1;
    } else {
        report_recovered(self);
        self->last_error_hash = hash;
        mp_printf(MICROPY_ERROR_PRINTER, "defio: callback raised; its pages are pending again\n");
        mp_print_str(MICROPY_ERROR_PRINTER, vstr_null_terminated_str(&vstr));
    }
    vstr_clear(&vstr);
}

// The workqueue item: runs from the MicroPython scheduler, between bytecodes or while the
// program waits, never in interrupt context.
static mp_obj_t defio_sched_flush(mp_obj_t self_in) {
    defio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    defio_inst_t *inst = self->inst;
    if (inst == NULL) {
        return mp_const_none;
    }
    async_state_t old;
    async_hold(&old);
    defio_core_sched_ran(inst);
    if (busy_try(self) != LOCK_TAKEN) {
        // A callback is in flight (on this thread, which is inside it, or on another): it
        // wakes the timer when it ends, and the round is looked at again then.
        async_allow(&old);
        return mp_const_none;
    }
    mp_obj_t exc = MP_OBJ_NULL;
    size_t n = 0;
    // The app's flush() may have taken the round this was scheduled for: deliver only a
    // round that has waited its delay.
    uint32_t now = defio_backend_ticks_ms();
    switch (defio_core_round_ready(inst, now)) {
        case DEFIO_ROUND_DELIVER:
            n = deliver(self, &old, &exc);
            break;
        case DEFIO_ROUND_SETTLE: {
            // delay_ms is over: protect the round's pages again (they stay dirty) and watch
            // for writes; busy_release wakes the timer for the settle deadline.
            uint32_t bits[DEFIO_BITMAP_WORDS];
            defio_core_begin_settle(inst, now);
            if (defio_core_peek(inst, bits) != 0) {
                defio_backend_protect(inst, bits);
            }
            break;
        }
        default:
            break;
    }
    busy_release(self);
    async_allow(&old);
    if (exc == MP_OBJ_NULL) {
        if (n > 0) {
            report_recovered(self);
        }
    } else if (is_interrupt(exc)) {
        // The scheduler would print and swallow it: hand it to the program instead.
        mp_sched_exception(exc);
    } else {
        report_error(self, exc);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(defio_sched_flush_obj, defio_sched_flush);

bool defio_port_round_due(defio_inst_t *inst) {
    // The slot's object (set before the instance is published, cleared after it is
    // released). None: the instance is being stopped on another thread; nothing to run.
    mp_obj_t owner = __atomic_load_n(&MP_STATE_PORT(defio_live)[defio_core_index(inst)],
        __ATOMIC_ACQUIRE);
    if (owner == MP_OBJ_NULL) {
        return true;
    }
    return mp_sched_schedule(MP_OBJ_FROM_PTR(&defio_sched_flush_obj), owner);
}

// Stop tracking and drop protection; no callback. The memory stays reserved.
static void stop(defio_obj_t *self) {
    defio_inst_t *inst = self->inst;
    if (inst == NULL) {
        return;
    }
    // The slot's object goes first: once the slot is released another thread may claim it
    // and set its own object there, which a later clear would wipe out.
    __atomic_store_n(&MP_STATE_PORT(defio_live)[defio_core_index(inst)], MP_OBJ_NULL,
        __ATOMIC_RELEASE);
    defio_backend_detach(inst);
    defio_core_release(inst);
    self->inst = NULL;
}

static mp_obj_t defio_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
    const mp_obj_t *all_args) {
    enum { ARG_size, ARG_callback, ARG_delay_ms, ARG_page_size, ARG_settle_ms, ARG_max_delay_ms };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_size, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_callback, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_delay_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(1000)} },
        { MP_QSTR_page_size, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
        { MP_QSTR_settle_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
        { MP_QSTR_max_delay_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(0)} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed_args), allowed_args,
        args);

    size_t min = defio_backend_page_size_min();
    mp_obj_t size_in = args[ARG_size].u_obj;
    if (mp_obj_is_int(size_in) && !mp_obj_is_small_int(size_in) && mp_obj_int_sign(size_in) > 0) {
        mp_raise_msg(&mp_type_MemoryError, MP_ERROR_TEXT("defio: size too large"));
    }
    mp_int_t size = get_int_arg(size_in, "size", 1, MP_SMALL_INT_MAX);
    mp_obj_t callback = args[ARG_callback].u_obj;
    if (!mp_obj_is_callable(callback)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("defio: callback must be callable, not %s"),
            mp_obj_get_type_str(callback));
    }
    uint32_t delay_ms = get_ms(args[ARG_delay_ms].u_obj, "delay_ms");
    uint32_t settle_ms = get_ms(args[ARG_settle_ms].u_obj, "settle_ms");
    uint32_t max_delay_ms = get_ms(args[ARG_max_delay_ms].u_obj, "max_delay_ms");
    check_max_delay(delay_ms, max_delay_ms);
    mp_int_t page_size = get_int_arg(args[ARG_page_size].u_obj, "page_size", 0,
        DEFIO_PAGE_SIZE_MAX);
    if (page_size == 0) {
        page_size = defio_backend_page_size_default();
    }
    uint32_t shift;
    if (!defio_page_size_valid(page_size, min, &shift)) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("defio: page_size must be 0 or a power of two >= %u"), (unsigned)min);
    }
    size_t npages = defio_pages_for(size, shift);
    if (npages > defio_backend_max_pages()) {
        mp_raise_msg_varg(&mp_type_MemoryError,
            MP_ERROR_TEXT("defio: size %lu needs %lu pages of %lu bytes; an instance tracks at most %u"),
            (unsigned long)size, (unsigned long)npages, (unsigned long)page_size,
            (unsigned)defio_backend_max_pages());
    }

    // Python objects first, so a MemoryError here leaks no slot and no backend memory.
    defio_obj_t *self = mp_obj_malloc_with_finaliser(defio_obj_t, type);
    memset((byte *)self + sizeof(mp_obj_base_t), 0, sizeof(*self) - sizeof(mp_obj_base_t));
    self->callback = callback;
    self->npages = npages;
    self->page_shift = shift;
    size_t mem_len = npages << shift;
    defio_view_t *view = m_new_obj(defio_view_t);
    view->owner = self;

    defio_backend_init();
    const char *why = "";
    int err = defio_backend_alloc(mem_len, page_size, &self->mem, &why);
    if (err == MP_ENOMEM) {
        // Instances that were deinited and dropped keep their memory until the GC collects
        // them (a stale view must never reach a newer instance): collect, as the heap does,
        // and try once more.
        gc_collect();
        err = defio_backend_alloc(mem_len, page_size, &self->mem, &why);
    }
    if (err != 0) {
        nlr_raise(new_oserror(err, why));
    }
    // Byte items exactly like memoryview(bytearray): the same store path, at the same speed.
    mp_obj_memoryview_init(&view->view, BYTEARRAY_TYPECODE | MP_OBJ_ARRAY_TYPECODE_FLAG_RW, 0,
        size, self->mem);
    self->buffer = MP_OBJ_FROM_PTR(&view->view);

    defio_inst_t *inst = defio_core_claim((uintptr_t)self->mem, npages, shift, delay_ms);
    if (inst == NULL) {
        gc_collect(); // dropped, undeinited instances give their slots back in their finaliser
        inst = defio_core_claim((uintptr_t)self->mem, npages, shift, delay_ms);
    }
    if (inst == NULL) {
        nlr_raise(new_oserror(MP_ENOMEM, "defio: all instances are in use (deinit one first)"));
    }
    err = defio_backend_attach(inst, &why);
    if (err != 0) {
        defio_core_release(inst);
        nlr_raise(new_oserror(err, why));
    }
    defio_core_set_timing(inst, delay_ms, settle_ms, max_delay_ms);
    self->inst = inst;
    __atomic_store_n(&MP_STATE_PORT(defio_live)[defio_core_index(inst)], MP_OBJ_FROM_PTR(self),
        __ATOMIC_RELEASE);
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
    // Another thread's callback in flight: wait for it, then deliver what is left. Called
    // from inside this instance's own callback: nothing now (no nesting); what the callback
    // wrote goes to the next round.
    async_state_t old;
    if (busy_acquire(self, 0, &old) == LOCK_NESTED) {
        async_allow(&old);
        return MP_OBJ_NEW_SMALL_INT(0);
    }
    if (self->inst == NULL) {
        busy_release(self);
        async_allow(&old);
        get_live(self_in); // deinited by the thread we waited for
    }
    mp_obj_t exc;
    size_t n = deliver(self, &old, &exc);
    busy_release(self);
    async_allow(&old);
    if (exc != MP_OBJ_NULL) {
        nlr_raise(exc);
    }
    if (n > 0) {
        report_recovered(self);
    }
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_1(defio_flush_obj, defio_flush);

static mp_obj_t defio_stats(mp_obj_t self_in) {
    defio_obj_t *self = get_live(self_in);
    uint32_t bits[DEFIO_BITMAP_WORDS];
    mp_obj_t dict = mp_obj_new_dict(5);
    const struct {
        qstr key;
        mp_uint_t value;
    } items[] = {
        { MP_QSTR_faults, self->inst->faults },
        { MP_QSTR_callbacks, self->callbacks },
        { MP_QSTR_pages, self->pages_delivered },
        { MP_QSTR_errors, self->errors },
        { MP_QSTR_pending, defio_core_peek(self->inst, bits) },
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
    // A callback in flight on another thread: wait for it, so protection is never dropped
    // under a running delivery. From inside the callback itself: stop now; the callback in
    // flight is the last one.
    async_state_t old;
    lock_result_t lock = busy_acquire(self, 0, &old);
    mp_obj_t exc = MP_OBJ_NULL;
    if (lock == LOCK_TAKEN && self->inst != NULL) {
        // Deliver what is pending, as Linux's fb_deferred_io_cleanup flushes its work.
        deliver(self, &old, &exc);
    }
    stop(self);
    if (lock == LOCK_TAKEN) {
        busy_release(self);
    }
    async_allow(&old);
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
        defio_backend_free(self->mem, (size_t)self->npages << self->page_shift);
        self->mem = NULL;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(defio_del_obj, defio_del);

// How long program exit or soft reset waits for a callback in flight on another thread.
#define CLOSE_WAIT_MS (2000)

// Close one instance at program exit or soft reset: deliver its pending pages once (an
// error is printed, not retried), then stop it.
static void close_instance(defio_obj_t *self) {
    async_state_t old;
    lock_result_t lock = busy_acquire(self, CLOSE_WAIT_MS, &old);
    if (lock == LOCK_TAKEN && self->inst != NULL) {
        mp_obj_t exc;
        deliver(self, &old, &exc);
        if (exc != MP_OBJ_NULL) {
            mp_printf(MICROPY_ERROR_PRINTER,
                "defio: callback raised while closing; its pages are not delivered\n");
            mp_obj_print_exception(MICROPY_ERROR_PRINTER, exc);
        }
    } else if (lock == LOCK_BUSY) {
        mp_printf(MICROPY_ERROR_PRINTER,
            "defio: a callback still runs on another thread; pending pages not delivered\n");
    }
    stop(self);
    if (lock == LOCK_TAKEN) {
        busy_release(self);
    }
    async_allow(&old);
}

void defio_deinit_all(void) {
    // A callback that hangs while closing can still be interrupted with Ctrl-C (after
    // the REPL or the program has stopped listening for it).
    mp_hal_set_interrupt_char(3); // Ctrl-C
    for (size_t i = 0; i < DEFIO_MAX_INSTANCES; ++i) {
        mp_obj_t obj = MP_STATE_PORT(defio_live)[i];
        if (obj == MP_OBJ_NULL) {
            continue;
        }
        nlr_buf_t nlr;
        if (nlr_push(&nlr) == 0) {
            close_instance(MP_OBJ_TO_PTR(obj));
            nlr_pop();
        } else {
            // Ctrl-C (or an allocation failure) while closing: just stop it.
            stop(MP_OBJ_TO_PTR(obj));
        }
    }
    mp_hal_set_interrupt_char(-1);
}

static void defio_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    defio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (dest[0] == MP_OBJ_NULL) {
        // Load.
        mp_obj_t value = MP_OBJ_NULL;
        if (attr == MP_QSTR_buffer) {
            value = self->buffer;
        } else if (attr == MP_QSTR_page_size) {
            value = mp_obj_new_int_from_uint((size_t)1 << self->page_shift);
        } else if (attr == MP_QSTR_npages) {
            value = mp_obj_new_int_from_uint(self->npages);
        } else if (attr == MP_QSTR_delay_ms) {
            value = mp_obj_new_int_from_uint(get_live(self_in)->inst->delay_ms);
        } else if (attr == MP_QSTR_settle_ms) {
            value = mp_obj_new_int_from_uint(get_live(self_in)->inst->settle_ms);
        } else if (attr == MP_QSTR_max_delay_ms) {
            value = mp_obj_new_int_from_uint(get_live(self_in)->inst->max_delay_ms);
        } else {
            dest[1] = MP_OBJ_SENTINEL; // continue with the methods
            return;
        }
        get_live(self_in);
        dest[0] = value;
    } else if (dest[1] != MP_OBJ_NULL
               && (attr == MP_QSTR_delay_ms || attr == MP_QSTR_settle_ms
                   || attr == MP_QSTR_max_delay_ms)) {
        // Store: the new timing applies to the open round too.
        defio_inst_t *inst = get_live(self_in)->inst;
        uint32_t ms = get_ms(dest[1], qstr_str(attr));
        uint32_t delay_ms = attr == MP_QSTR_delay_ms ? ms : inst->delay_ms;
        uint32_t max_delay_ms = attr == MP_QSTR_max_delay_ms ? ms : inst->max_delay_ms;
        check_max_delay(delay_ms, max_delay_ms);
        defio_core_set_timing(inst, delay_ms, attr == MP_QSTR_settle_ms ? ms : inst->settle_ms,
            max_delay_ms);
        dest[0] = MP_OBJ_NULL;
    }
}

static void defio_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    (void)kind;
    defio_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_printf(print, "<DeferredIO size=%lu page_size=%lu npages=%lu%s>",
        (unsigned long)obj_size(self), 1ul << self->page_shift, (unsigned long)self->npages,
        self->inst ? "" : " deinited");
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
    } else if (attr == MP_OBJ_NEW_QSTR(MP_QSTR_MAX_INSTANCES)) {
        return MP_OBJ_NEW_SMALL_INT(defio_backend_max_instances());
    } else if (attr == MP_OBJ_NEW_QSTR(MP_QSTR_MAX_PAGES)) {
        return MP_OBJ_NEW_SMALL_INT(defio_backend_max_pages());
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
