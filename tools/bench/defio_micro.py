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


def now_ns():
    # Nanoseconds where the port has them (Unix), else microseconds.
    return time.time_ns() if HAVE_NS else time.ticks_us() * 1000


HAVE_NS = hasattr(time, "time_ns") and defio.BACKEND == "mprotect"


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, len(xs) * q // 100)]


def fault_cost_ns():
    # Each store to a clean page minus the median store to an open page: the distribution of
    # one first-write fault (the store, the handler, opening the page, back).
    d = defio.DeferredIO(N * P, lambda d, p: None, delay_ms=1000000)
    b = d.buffer
    clean, dirty = [], []
    for r in range(ROUNDS):
        for p in range(N):
            t = now_ns()
            b[p * P] = r & 255
            clean.append(now_ns() - t)
            t = now_ns()
            b[p * P + 1] = r & 255
            dirty.append(now_ns() - t)
        d.flush()
    d.deinit()
    base = median(dirty)
    costs = [c - base for c in clean]
    return {q: percentile(costs, q) for q in (50, 90, 99)}, median(clean), base


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


fault_ns, clean_ns, dirty_ns = fault_cost_ns()
ratio, faults = dirty_write_ratio()
print(json.dumps({
    "backend": defio.BACKEND,
    "page_size": P,
    "fault_us": fault_ns[50] / 1000,
    "fault_us_p90": fault_ns[90] / 1000,
    "fault_us_p99": fault_ns[99] / 1000,
    "clean_store_us": clean_ns / 1000,
    "dirty_store_us": dirty_ns / 1000,
    "dirty_write_ratio": ratio,
    "dirty_loop_faults": faults,
}))
