// memmove with dest == src does nothing. MicroPython's slice assignment (for example
// `buf[a:b] = data` on a memoryview) ends with memmove(tail, tail, n) when the slice keeps
// its length; the plain loop in shared/libc/string0.c would rewrite every byte of the tail
// and so dirty every following defio page (glibc returns early too). Linked with
// -Wl,--wrap=memmove.
#include <stddef.h>

void *__real_memmove(void *dest, const void *src, size_t n);

void *__wrap_memmove(void *dest, const void *src, size_t n) {
    if (dest == src || n == 0) {
        return dest;
    }
    return __real_memmove(dest, src, n);
}
