// Host backend: memory from mmap, protection with mprotect, the trigger is SIGSEGV.
//
// Fault path: a write to a read-only page raises SIGSEGV with si_code SEGV_ACCERR. The
// handler asks the core whether the address belongs to a live instance; if so the core sets
// the page bit, this file opens the page (mprotect RW) and posts the timer's semaphore, and
// the store re-executes. Any other fault restores the previous disposition and returns, so
// the faulting instruction runs again and the process dies (or the previous handler runs)
// exactly as it would without us.
//
// Timer: a thread sleeps on a semaphore (sem_post is async-signal-safe) until the earliest
// open round is due, then defio_core_poll schedules the flush on the MicroPython scheduler
// and the thread pokes the process's main thread with DEFIO_WAKE_SIGNAL, whose empty handler makes a
// blocking read/select/poll return EINTR, so MicroPython runs pending callbacks there too.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "defio_backend.h"

#define DEFIO_WAKE_SIGNAL SIGURG

const char defio_backend_name[] = "mprotect";

// Set once by defio_backend_init (thread side, under init_once).
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static struct sigaction previous_segv;
// The process's main thread, noted before main() runs (whichever thread creates the first
// instance): the one whose blocking calls the wake signal interrupts.
static pthread_t main_thread;
static pthread_t timer_thread;
// Posted by the fault handler and the thread, waited on by the timer thread.
static sem_t timer_sem;

size_t defio_backend_page_size_min(void) {
    return (size_t)sysconf(_SC_PAGESIZE);
}

size_t defio_backend_page_size_default(void) {
    return defio_backend_page_size_min();
}

size_t defio_backend_max_instances(void) {
    return DEFIO_MAX_INSTANCES;
}

size_t defio_backend_max_pages(void) {
    return DEFIO_MAX_PAGES;
}

uint32_t defio_backend_ticks_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

// The address of this thread's last write fault that no live instance held (0: none).
static __thread uintptr_t unplaced_fault;

static void segv_handler(int sig, siginfo_t *info, void *context) {
    uintptr_t addr = (uintptr_t)info->si_addr;
    if (info->si_code == SEGV_ACCERR) {
        if (defio_core_fault(addr)) {
            unplaced_fault = 0;
            return;
        }
        // No live instance holds the address. Another thread may have deinited the instance
        // between this write's fault and now, making its memory plain read-write again: run
        // the store once more. The same address faulting again is a real fault.
        if (unplaced_fault != addr) {
            unplaced_fault = addr;
            return;
        }
    }
    unplaced_fault = 0;
    // Not ours: put the previous disposition back; returning re-runs the faulting
    // instruction, which now takes the previous path (by default: killed by SIGSEGV).
    sigaction(SIGSEGV, &previous_segv, NULL);
    if (!(previous_segv.sa_flags & SA_SIGINFO) && previous_segv.sa_handler != SIG_DFL
        && previous_segv.sa_handler != SIG_IGN) {
        previous_segv.sa_handler(sig);
    } else if ((previous_segv.sa_flags & SA_SIGINFO) && previous_segv.sa_sigaction != NULL) {
        previous_segv.sa_sigaction(sig, info, context);
    }
}

static void wake_handler(int sig) {
    (void)sig;
}

static void *timer_main(void *arg) {
    (void)arg;
    for (;;) {
        bool scheduled;
        uint32_t wait_ms = defio_core_poll(defio_backend_ticks_ms(), &scheduled);
        if (scheduled) {
            pthread_kill(main_thread, DEFIO_WAKE_SIGNAL);
        }
        if (wait_ms == 0) {
            continue;
        }
        if (wait_ms == UINT32_MAX) {
            while (sem_wait(&timer_sem) != 0 && errno == EINTR) {
            }
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (long)(wait_ms % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec += 1;
                ts.tv_nsec -= 1000000000;
            }
            while (sem_timedwait(&timer_sem, &ts) != 0 && errno == EINTR) {
            }
        }
    }
    return NULL;
}

__attribute__((constructor)) static void note_main_thread(void) {
    main_thread = pthread_self();
}

static void init_once_fn(void) {
    sem_init(&timer_sem, 0, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = wake_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART: blocking calls return EINTR and run pending callbacks
    sigaction(DEFIO_WAKE_SIGNAL, &sa, NULL);

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = segv_handler;
    // Nothing interrupts the handler between opening a page and setting its bit (the Unix
    // port's SIGINT handler would raise KeyboardInterrupt right there and lose the bit).
    sigfillset(&sa.sa_mask);
    sigdelset(&sa.sa_mask, SIGSEGV);
    sigdelset(&sa.sa_mask, SIGBUS);
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, &previous_segv);

    // The timer thread takes no asynchronous signal: not the wake signal, and not SIGINT,
    // whose handler in the Unix port raises KeyboardInterrupt on the thread it interrupts
    // (MICROPY_ASYNC_KBD_INTR). Faults (SIGSEGV, SIGBUS, ...) stay deliverable.
    sigset_t block, old;
    sigfillset(&block);
    sigdelset(&block, SIGSEGV);
    sigdelset(&block, SIGBUS);
    sigdelset(&block, SIGFPE);
    sigdelset(&block, SIGILL);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_create(&timer_thread, NULL, timer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void defio_backend_init(void) {
    pthread_once(&init_once, init_once_fn);
}

int defio_backend_alloc(size_t len, size_t page_size, void **mem, const char **why) {
    (void)page_size; // mmap is host-page aligned; page_size is a multiple of it
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        *why = "defio: mmap of the buffer failed";
        return ENOMEM;
    }
    *mem = p;
    return 0;
}

void defio_backend_free(void *mem, size_t len) {
    // Keep the address range reserved (inaccessible, no memory behind it) rather than
    // unmapping it, so a stale view can never reach a later instance: it faults loudly.
    mmap(mem, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}

static size_t inst_len(const defio_inst_t *inst) {
    return (size_t)inst->npages << inst->page_shift;
}

int defio_backend_attach(defio_inst_t *inst, const char **why) {
    if (mprotect((void *)inst->base, inst_len(inst), PROT_READ) != 0) {
        *why = "defio: mprotect failed";
        return errno;
    }
    return 0;
}

void defio_backend_detach(defio_inst_t *inst) {
    mprotect((void *)inst->base, inst_len(inst), PROT_READ | PROT_WRITE);
}

void defio_backend_protect(defio_inst_t *inst, const uint32_t *bits) {
    // One mprotect over the span from the first to the last page taken: pages in between
    // that were not taken are clean (already read-only) or dirty in the next round (their
    // bit is set, so re-protecting them only costs one more fault, never a lost page).
    size_t first = SIZE_MAX, last = 0;
    for (size_t p = 0; p < inst->npages; ++p) {
        if (defio_bit_get(bits, p)) {
            if (first == SIZE_MAX) {
                first = p;
            }
            last = p;
        }
    }
    if (first != SIZE_MAX) {
        mprotect((void *)(inst->base + (first << inst->page_shift)),
            (last - first + 1) << inst->page_shift, PROT_READ);
    }
}

void defio_backend_open_page(defio_inst_t *inst, size_t page) {
    mprotect((void *)(inst->base + (page << inst->page_shift)),
        (size_t)1 << inst->page_shift, PROT_READ | PROT_WRITE);
}

void defio_backend_wake_timer(void) {
    sem_post(&timer_sem);
}
