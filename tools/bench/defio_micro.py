# Micro-benchmarks of the defio core, run on the target (Unix port or firmware).
# Prints one JSON object: first-write fault cost and the dirty-page write ratio.
import json
import time

import defio

P = defio.PAGE_SIZE_DEFAULT
N = 8 if defio.BACKEND == "mprotect" else 4  # pages per instance (the MCU pool is small)
ROUNDS = 200 if defio.BACKEND == "mprotect" else 40


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def write_loop(b, n):
    # The same loop for both buffers: n single-byte stores into the first page.
    for i in range(n):
        b[i & 255] = i & 255


def fault_cost_us():
    # Time of one store to a clean page minus one store to an open page, median of many.
    d = defio.DeferredIO(N * P, lambda d, p: None, delay_ms=1000000)
    b = d.buffer
    clean, dirty = [], []
    for r in range(ROUNDS):
        for p in range(N):
            t = time.ticks_us()
            b[p * P] = r & 255
            clean.append(time.ticks_diff(time.ticks_us(), t))
            t = time.ticks_us()
            b[p * P + 1] = r & 255
            dirty.append(time.ticks_diff(time.ticks_us(), t))
        d.flush()
    d.deinit()
    return median(clean) - median(dirty), median(clean), median(dirty)


def dirty_write_ratio(n=20000, reps=5):
    d = defio.DeferredIO(P, lambda d, p: None, delay_ms=1000000)
    b = d.buffer
    b[0] = 1  # the page is open: later stores never fault
    plain = bytearray(P)
    t_defio, t_plain = [], []
    for _ in range(reps):
        t = time.ticks_us()
        write_loop(b, n)
        t_defio.append(time.ticks_diff(time.ticks_us(), t))
        t = time.ticks_us()
        write_loop(plain, n)
        t_plain.append(time.ticks_diff(time.ticks_us(), t))
    faults = d.stats()["faults"]
    d.deinit()
    return median(t_defio) / median(t_plain), faults


fault_us, clean_us, dirty_us = fault_cost_us()
ratio, faults = dirty_write_ratio()
print(json.dumps({
    "backend": defio.BACKEND,
    "page_size": P,
    "fault_us": fault_us,
    "clean_store_us": clean_us,
    "dirty_store_us": dirty_us,
    "dirty_write_ratio": ratio,
    "dirty_loop_faults": faults,
}))
