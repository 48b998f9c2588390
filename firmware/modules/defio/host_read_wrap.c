// Host only: kernel writes into defio memory, and delivery at program exit.
//
// read(): the kernel does not raise SIGSEGV when it copies into a write-protected page; the
// call fails with EFAULT. The Unix build links with -Wl,--wrap=read, so every read() in
// MicroPython (files, sockets, pipes: f.readinto(d.buffer)) comes here first. A read whose
// destination overlaps a live instance goes through a bounce buffer: the kernel fills the
// bounce buffer, then a plain CPU copy moves the bytes it really returned into the
// destination, taking the normal fault path page by page. So:
// - exactly the pages the read wrote are marked (a short read marks fewer, a blocking read
//   marks nothing while it waits);
// - no page is ever opened without its dirty bit for the kernel's sake, so a round
//   delivered on another thread while the read blocks cannot re-protect a page under it;
// - it works for any page size and alignment.
//
// mp_deinit(): linked with -Wl,--wrap=mp_deinit, so at program exit (end of the script,
// sys.exit(), an uncaught exception) every live instance delivers its pending pages once
// while the VM still runs, then stops: deliver on close, as fb_deferred_io_cleanup does.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "defio_core.h"
#include "moddefio.h"

ssize_t __real_read(int fd, void *buf, size_t count);
ssize_t __wrap_read(int fd, void *buf, size_t count);
void __real_mp_deinit(void);
void __wrap_mp_deinit(void);

// Reads up to this size bounce through the stack, larger ones through malloc.
#define BOUNCE_STACK (4096)

ssize_t __wrap_read(int fd, void *buf, size_t count) {
    if (count == 0 || !defio_core_overlaps((uintptr_t)buf, count)) {
        return __real_read(fd, buf, count);
    }
    char stack_buf[BOUNCE_STACK];
    char *bounce = stack_buf;
    if (count > sizeof(stack_buf)) {
        bounce = malloc(count);
        if (bounce == NULL) {
            errno = ENOMEM;
            return -1;
        }
    }
    ssize_t n = __real_read(fd, bounce, count);
    int saved_errno = errno;
    if (n > 0) {
        memcpy(buf, bounce, n);
    }
    if (bounce != stack_buf) {
        free(bounce);
    }
    errno = saved_errno;
    return n;
}

void __wrap_mp_deinit(void) {
    defio_deinit_all();
    __real_mp_deinit();
}
