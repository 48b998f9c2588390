# Micro-benchmarks of defio on the firmware, run in QEMU with `-icount shift=0`: one
# instruction is 1 ns of virtual time and SysTick counts the core clock (machine.freq():
# 25 MHz on the AN385, one clock per 40 instructions; 20 MHz on the AN505, 50), so
# time.ticks_cpu() differences times that are instruction counts.
# Prints one JSON object.
import json
import time

import defio
import machine
import micropython

INSNS_PER_CLOCK = 1000000000 // machine.freq()
P = defio.PAGE_SIZE_DEFAULT
MAXP = min(56, defio.MAX_PAGES)
MAXI = min(7, defio.MAX_INSTANCES)
ROUNDS = 60


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


@micropython.viper
def touch(buf, n: int, step: int):
    p = ptr8(buf)
    i = 0
    while i < n:
        p[i * step] = 1
        i += 1


def write_loop(b, n):
    # Plain bytecode: n single-byte stores into the first 256 bytes.
    for i in range(n):
        b[i & 255] = i & 255


def fault_insns(pages, instances, step=1):
    # Instructions of one first-write fault minus a plain store, median over rounds; the
    # instance written to is the last one created (the handler's search sees all of them).
    # step=2 writes every other page (in the middle of an interval: a split on PMSAv8).
    # The round is opened first by a write to the last page, outside the timed part: that
    # fault also wakes the timer (PendSV runs the poll right after it), which is the round's
    # cost, not a fault's (round_open_insns below).
    others = [defio.DeferredIO(P, lambda d, p: None, delay_ms=1000000)
              for _ in range(instances - 1)]
    d = defio.DeferredIO(pages * P, lambda d, p: None, delay_ms=1000000)
    n = (pages - 1) // step  # the last page opens the round
    opener = memoryview(d.buffer)[(pages - 1) * P:]
    b = memoryview(d.buffer)[P * (step - 1):]
    touch(b, n, P * step)
    d.flush()
    per = []
    for _ in range(ROUNDS):
        opener[0] = 1
        t0 = time.ticks_cpu()
        touch(b, n, P * step)
        t1 = time.ticks_cpu()
        touch(b, n, P * step)
        t2 = time.ticks_cpu()
        d.flush()
        faulting, plain = time.ticks_diff(t1, t0), time.ticks_diff(t2, t1)
        per.append((faulting - plain) * INSNS_PER_CLOCK / n)
    d.deinit()
    for o in others:
        o.deinit()
    return median(per)


def round_open_insns():
    # The first write of a round: the fault, noting the round's start and the timer's poll
    # that it wakes (PendSV), minus a plain store.
    d = defio.DeferredIO(P, lambda d, p: None, delay_ms=1000000)
    b = d.buffer
    per = []
    for _ in range(ROUNDS):
        t0 = time.ticks_cpu()
        touch(b, 1, P)
        t1 = time.ticks_cpu()
        touch(b, 1, P)
        t2 = time.ticks_cpu()
        d.flush()
        per.append((time.ticks_diff(t1, t0) - time.ticks_diff(t2, t1)) * INSNS_PER_CLOCK)
    d.deinit()
    return median(per)


def timer_reads():
    # What the timing itself costs in flush_insns: the two clock reads around nothing.
    samples = []
    for _ in range(ROUNDS // 2):
        t0 = time.ticks_cpu()
        samples.append(time.ticks_diff(time.ticks_cpu(), t0) * INSNS_PER_CLOCK)
    return median(samples)


def flush_insns(counts):
    # Instructions of d.flush() with `pages` dirty pages and a callback that returns at once,
    # for each count, on one instance (a dropped instance keeps its pool memory until the GC
    # finds it unreachable, and the conservative GC may not at once). The figures include
    # the app's call of d.flush() and the clock reads around it (timer_reads: subtracted by
    # tools/bench/run.py).
    d = defio.DeferredIO(MAXP * P, lambda d, p: None, delay_ms=1000000)
    b = d.buffer
    out = {}
    for pages in counts:
        samples = []
        for _ in range(ROUNDS // 2):
            touch(b, pages, P)
            t0 = time.ticks_cpu()
            d.flush()
            samples.append(time.ticks_diff(time.ticks_cpu(), t0) * INSNS_PER_CLOCK)
        out[str(pages)] = median(samples)
    d.deinit()
    return out


def sched_round_insns():
    # A whole round as the timer delivers it (delay_ms=0): the first write's fault, the
    # timer's poll, mp_sched_schedule, the scheduler's entry at the next backward jump, the
    # scheduled flush (lock, take, re-protect, the page list) and the callback; minus the
    # same code writing to a page already open (no fault, nothing scheduled).
    d = defio.DeferredIO(P, lambda d, p: None, delay_ms=0)
    quiet = defio.DeferredIO(P, lambda d, p: None, delay_ms=1000000)
    b, q = d.buffer, quiet.buffer
    q[0] = 1  # open: writes to it never fault again
    per = []
    for _ in range(ROUNDS):
        t0 = time.ticks_cpu()
        touch(b, 1, P)
        for _ in range(1):  # a backward jump: the scheduler runs the round here
            pass
        t1 = time.ticks_cpu()
        touch(q, 1, P)
        for _ in range(1):
            pass
        t2 = time.ticks_cpu()
        per.append((time.ticks_diff(t1, t0) - time.ticks_diff(t2, t1)) * INSNS_PER_CLOCK)
    rounds = d.stats()["callbacks"]
    d.deinit()
    quiet.deinit()
    return median(per), rounds


def loop_clocks(b, n):
    t0 = time.ticks_cpu()
    write_loop(b, n)
    return time.ticks_diff(time.ticks_cpu(), t0)


def dirty_write_ratio(plain, n=4000, reps=5):
    # `plain`: a bytearray (the yardstick) or a memoryview of one, which takes the
    # very same store path as d.buffer, so that ratio isolates what defio itself costs.
    d = defio.DeferredIO(P, lambda d, p: None, delay_ms=1000000)
    b = d.buffer
    b[0] = 1  # the page is open: the loops below never fault
    loop_clocks(b, 10)  # warm up: first-call caches of the bytecode
    loop_clocks(plain, 10)
    t_defio, t_plain = [], []
    for _ in range(reps):  # alternate, so neither side always runs first
        t_defio.append(loop_clocks(b, n))
        t_plain.append(loop_clocks(plain, n))
    faults = d.stats()["faults"]
    d.deinit()
    return median(t_defio) / median(t_plain), faults


def ram_per_instance(callback=None):
    # GC heap an instance takes: its object and its buffer's memoryview. The callback is the
    # app's, made before the count; callback=None makes a lambda in the call, as the figure
    # before issue 14's RAM work did (that counts the lambda's 16 bytes too).
    import gc

    gc.collect()
    before = gc.mem_free()
    d = defio.DeferredIO(P, callback or (lambda d, p: None))
    gc.collect()
    used = before - gc.mem_free()
    d.deinit()
    return used


def app_callback(d, pages):
    pass


ratio, faults = dirty_write_ratio(bytearray(P))
ratio_mv, _ = dirty_write_ratio(memoryview(bytearray(P)))
result = {
    "backend": defio.BACKEND,
    "page_size": P,
    "max_instances": defio.MAX_INSTANCES,
    "max_pages": defio.MAX_PAGES,
    "dirty_write_ratio": ratio,
    "dirty_write_ratio_vs_memoryview": ratio_mv,
    "dirty_loop_faults": faults,
    "round_open_instructions": round_open_insns(),
    "fault_instructions": {
        "pages=8,instances=1": fault_insns(8, 1),
        "pages=%d,instances=1" % MAXP: fault_insns(MAXP, 1),
        "pages=8,instances=4": fault_insns(8, 4),
        "pages=8,instances=%d" % MAXI: fault_insns(8, MAXI),
        "pages=8,instances=1,every other page": fault_insns(8, 1, 2),
    },
    "flush_instructions": flush_insns((1, 2, 4, 8, 16, 32, MAXP)),
    "timer_read_instructions": timer_reads(),
    "scheduled_round_instructions": sched_round_insns(),
    "heap_bytes_per_instance": ram_per_instance(app_callback),
    "heap_bytes_per_instance_with_lambda": ram_per_instance(),
}
print(json.dumps(result))
