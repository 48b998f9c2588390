#!/usr/bin/env python3
"""Cost of a first-write defio fault on the emulated Cortex-M3, in instructions.

Boots the firmware with `-icount shift=0` (one instruction = 1 ns of virtual time, so the
25 MHz SysTick advances one clock per 40 instructions) and times, with time.ticks_cpu(), a
viper loop that writes one byte into each page of a 56-page instance: first while the pages
are clean (every store takes MemManage: handler, core, MPU update, return, store again),
then again while they are open (plain stores). The difference divided by the number of
faults is the extra cost of one first write, i.e. the fault minus a plain write.

    tools/qemu_fault_cost.py [--rounds 200]
"""

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "host_tests"))

SCRIPT = """
import defio, micropython, time
PAGES = 56
INSNS_PER_CLOCK = 1000000000 // 25000000 // 1   # 1 ns per instruction, 40 ns per clock

@micropython.viper
def touch(buf, n: int, step: int):
    p = ptr8(buf)
    i = 0
    while i < n:
        p[i * step] = 1
        i += 1

d = defio.DeferredIO(PAGES * 1024, lambda d, p: None, delay_ms=1000000)
b = d.buffer
touch(b, PAGES, 1024)      # warm-up (code paths, caches of the translator)
d.flush()
clean = 0
dirty = 0
for r in range({rounds}):
    t0 = time.ticks_cpu()
    touch(b, PAGES, 1024)  # every store faults
    t1 = time.ticks_cpu()
    touch(b, PAGES, 1024)  # every page already open: plain stores
    t2 = time.ticks_cpu()
    clean += time.ticks_diff(t1, t0)
    dirty += time.ticks_diff(t2, t1)
    d.flush()              # re-protect every page
faults = d.stats()["faults"] - PAGES
d.deinit()
n = {rounds} * PAGES
print("faults", faults, "expected", n)
print("clocks_faulting", clean, "clocks_plain", dirty)
print("insns_per_first_write", (clean - dirty) * INSNS_PER_CLOCK / n)
print("insns_per_plain_write", dirty * INSNS_PER_CLOCK / n)
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    from target_qemu import QemuTarget

    t = QemuTarget(panel="null", copy_lib=False, icount=True)
    try:
        res = t.run(SCRIPT.replace("{rounds}", str(args.rounds)), timeout=300)
    finally:
        t.close()
    print(res.out, end="")
    if res.returncode:
        print(res.err, file=sys.stderr)
    return res.returncode


if __name__ == "__main__":
    sys.exit(main())
