// The interface every protection backend implements (host mprotect, MPU PMSAv6/v7/v8).
#ifndef DEFIO_BACKEND_H
#define DEFIO_BACKEND_H

#include "defio_core.h"

extern const char defio_backend_name[];

// Smallest and default page size, in bytes (powers of two).
size_t defio_backend_page_size_min(void);
size_t defio_backend_page_size_default(void);

// Instances alive at once and pages per instance this backend allows (at most the core's
// DEFIO_MAX_INSTANCES and DEFIO_MAX_PAGES; an MPU backend reads its region count at run
// time). defio.MAX_INSTANCES, defio.MAX_PAGES.
size_t defio_backend_max_instances(void);
size_t defio_backend_max_pages(void);

// Install the fault path and start the timer (idempotent, thread side).
void defio_backend_init(void);

// Reserve `len` bytes (a multiple of page_size) aligned as protection needs, readable and
// writable. Returns 0 and sets *mem, or an errno value (ENOMEM) and sets *why.
int defio_backend_alloc(size_t len, size_t page_size, void **mem, const char **why);
// Give memory back once nothing can reach it any more (the object was collected).
void defio_backend_free(void *mem, size_t len);

// Bind protection to a claimed instance (MPU: program its regions). Returns 0 or an errno
// value and sets *why.
int defio_backend_attach(defio_inst_t *inst, const char **why);
// Drop all protection of the instance: its memory becomes plain RAM (thread side).
void defio_backend_detach(defio_inst_t *inst);
// Write-protect the pages set in `bits` ("mkclean", thread side).
void defio_backend_protect(defio_inst_t *inst, const uint32_t *bits);
// Open one page for writing (fault handler side).
void defio_backend_open_page(defio_inst_t *inst, size_t page);
// A round was armed (fault handler side): make sure the timer will look at it.
void defio_backend_wake_timer(void);
// Milliseconds, wrapping, safe to call from the fault handler.
uint32_t defio_backend_ticks_ms(void);

#endif // DEFIO_BACKEND_H
