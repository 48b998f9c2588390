// Host only: make kernel writes into defio memory work.
//
// The kernel does not raise SIGSEGV when read() copies into a write-protected page: the
// call fails with EFAULT (or returns short). The Unix build links with -Wl,--wrap=read, so
// every read() in MicroPython (files, sockets, pipes: f.readinto(d.buffer)) comes here
// first: the pages of the destination that belong to a live instance are touched with an
// atomic no-op store, which takes the normal fault path (page marked dirty and opened),
// then the real read() runs. A page is marked even if the read returns fewer bytes: an
// extra page in a round costs a little, a missed one would lose an update.
#include <sys/types.h>

#include "defio_core.h"

ssize_t __real_read(int fd, void *buf, size_t count);
ssize_t __wrap_read(int fd, void *buf, size_t count);

ssize_t __wrap_read(int fd, void *buf, size_t count) {
    defio_core_prepare_write((uintptr_t)buf, count);
    return __real_read(fd, buf, count);
}
