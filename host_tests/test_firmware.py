"""Firmware-only behaviour of our Cortex-M port in QEMU (run with `pytest --target qemu`).

Fault paths (MemManage, HardFault with PRIMASK set, the crash dump), soft reset in the
middle of a round, MPU region and pool exhaustion, the idle REPL running defio rounds,
Ctrl-C, the panel UART and mpremote (fs round trip, mount).
"""

import socket
import subprocess
import time

import pytest
from mpscript import run
from target_qemu import FRIENDLY_PROMPT


@pytest.fixture
def fw(target):
    if target.name != "qemu":
        pytest.skip("firmware only: run with --target qemu")
    return target


@pytest.fixture(scope="module")
def limits(target):
    """The board's backend and limits, as the firmware reports them."""
    if target.name != "qemu":
        pytest.skip("firmware only: run with --target qemu")
    vals, _ = run(target.run, "report(defio.BACKEND, defio.MAX_INSTANCES, defio.MAX_PAGES)")
    backend, ninst, npages = vals[0]
    return {"backend": backend, "instances": ninst, "pages": npages}


def test_write_with_irqs_masked_is_recorded(fw):
    # PRIMASK set: MemManage cannot preempt, the fault escalates to HardFault (FORCED), which
    # handles the defio page the same way.
    vals, _ = run(fw.run, """
import machine
d = defio.DeferredIO(4 * P, record, delay_ms=100000)
b = d.buffer
s = machine.disable_irq()
b[2 * P + 5] = 7
b[2 * P + 6] = 8
machine.enable_irq(s)
report(d.pending(), d.stats()["faults"], b[2 * P + 5], b[2 * P + 6])
d.flush()
s = machine.disable_irq()
b[3 * P] = 1
b[0] = 1
machine.enable_irq(s)
report(d.pending(), log)
d.deinit()
""")
    assert vals == [([2], 1, 7, 8), ([0, 3], [[2]])]


def test_fault_outside_defio_prints_crash_dump(fw, limits):
    res = fw.run("import machine\nprint('before')\nmachine.mem32[0] = 0x1234\nprint('after')")
    assert res.returncode == -1
    assert res.out == "before\n"
    if limits["backend"] == "mpu-pmsav6":
        # ARMv6-M: a HardFault with no fault status or address registers; defio's decoder
        # saw a store outside its pages and passed it on.
        assert "*** FATAL HardFault (not a defio page)" in res.err
        fields = ("PC=0x", "LR=0x", "R0=0x00001234")
    else:
        assert "*** FATAL MemManage (not a defio page)" in res.err
        fields = ("PC=0x", "LR=0x", "fault address=0x00000000 (MMFAR)", "CFSR=0x", "HFSR=0x")
    for field in fields:
        assert field in res.err
    assert "resetting the board" in res.err
    # The board came back: the next script runs.
    assert fw.run("print(6 * 7)").out == "42\n"


def test_write_to_a_deinited_instance_is_plain_ram(fw):
    vals, _ = run(fw.run, """
d = defio.DeferredIO(2 * P, record, delay_ms=0)
b = d.buffer
d.deinit()
b[0] = 5            # no protection any more: plain RAM, no fault, no callback
time.sleep_ms(20)
report(b[0], log)
""")
    assert vals == [(5, [])]


def test_soft_reset_in_the_middle_of_a_round(fw, limits):
    res = fw.run("""
import defio
def cb(d, pages):
    print("CALLBACK", pages)
d = defio.DeferredIO(4096, cb, delay_ms=300)
d.buffer[0] = 1
d.buffer[3000] = 1
print("pending", d.pending())
""")
    assert res.out == "pending [0, 2]\n"
    # run() soft-resets first: the pending round is delivered once while resetting (deliver
    # on close), then no callback and no fault follow, and the whole pool and every MPU
    # region are free again.
    vals, text = run(fw.run, """
time.sleep_ms(500)
ds = [defio.DeferredIO(8 * P, record, delay_ms=0) for i in range(defio.MAX_INSTANCES)]
for d in ds:
    d.buffer[0] = 1
time.sleep_ms(20)
report(len(ds), len(log))
for d in ds:
    d.deinit()
""")
    assert fw.reset_output.count("CALLBACK [0, 2]") == 1, fw.reset_output
    assert vals == [(limits["instances"], limits["instances"])]
    assert "CALLBACK" not in text


def test_soft_reset_reports_a_raising_callback_once(fw):
    fw.run("""
import defio
def bad(d, pages):
    raise RuntimeError("panel gone")
d = defio.DeferredIO(4096, bad, delay_ms=100000)
d.buffer[0] = 1
""")
    assert fw.run("print('next')").out == "next\n"
    assert fw.reset_output.count("RuntimeError: panel gone") == 1, fw.reset_output
    assert "while closing" in fw.reset_output


def test_ctrl_c_reaches_a_callback_that_never_returns(fw):
    """Issue 9, defect 8: a callback spinning forever still yields to Ctrl-C; the program
    gets the KeyboardInterrupt and the pages stay pending."""
    assert fw.run("print('ready')").out == "ready\n"
    fw._soft_reset()
    fw._write(b"""
import defio, time
spun = []
def spin(d, pages):
    if spun:
        return                 # the delivery at the next soft reset returns at once
    spun.append(1)
    print("in callback")
    while True:
        pass
d = defio.DeferredIO(2048, spin, delay_ms=0)
d.buffer[0] = 1
try:
    time.sleep_ms(30000)
except KeyboardInterrupt:
    print("interrupted", d.pending())
\x04""")
    fw._read_until(b"in callback", 10)
    fw._write(b"\x03")
    data, crashed = fw._read_until(b"\x04>", 10)
    assert not crashed
    assert b"interrupted [0]" in data, data


def test_raw_repl_idle_stays_clean_while_a_callback_fails(fw, tmp_path):
    """Issue 9, defect 15: a failing callback must not print into the idle raw REPL,
    which would break mpremote's protocol (fs cp hung)."""
    fw.run("""
import defio
def bad(d, pages):
    raise RuntimeError("failing at the idle REPL")
d = defio.DeferredIO(2048, bad, delay_ms=0)
d.buffer[0] = 1
""")
    time.sleep(0.5)
    src = tmp_path / "payload.txt"
    src.write_text("copied while a callback fails\n")
    r = fw.mpremote("resume", "fs", "cp", str(src), ":payload.txt", "+",
                    "resume", "fs", "cat", ":payload.txt")
    assert r.returncode == 0, r.stderr
    assert "copied while a callback fails" in r.stdout
    fw.mpremote("resume", "fs", "rm", ":payload.txt")


def test_mpu_region_exhaustion_is_enomem_and_recovers(fw):
    vals, _ = run(fw.run, """
ds = [defio.DeferredIO(P, record) for i in range(defio.MAX_INSTANCES)]
try:
    defio.DeferredIO(P, record)
except OSError as e:
    report(e.errno, "MPU region" in str(e) or "instances" in str(e))
ds[3].deinit()
d = defio.DeferredIO(P, record, delay_ms=0)
d.buffer[0] = 1
time.sleep_ms(20)
report(log)
for d in ds + [d]:
    d.deinit()
""")
    assert vals == [(12, True), [[0]]]


def test_pool_exhaustion_is_enomem_and_recovers(fw, limits):
    # Fill the pool with instances of 8 pages of 4 KiB (one MPU region each, fewer than the
    # board has: the pool runs out first), drop one, and take its memory again. Objects are
    # dropped inside functions: a stale slot on the module frame's VM stack would keep a
    # dropped instance (and its pool memory) reachable for the conservative GC.
    vals, _ = run(fw.run, """
def big():
    return defio.DeferredIO(8 * 4096, record, page_size=4096)
def fill_then_fail():
    held = []
    try:
        while True:
            held.append(big())
    except OSError as e:
        report(e.errno, "pool" in str(e), len(held))
    held[-1].deinit()
    return held[:-1]
def recover(held):
    b = big()                    # the pool comes back once the dropped one is collected
    b.buffer[5 * 4096] = 1
    report(b.pending())
    for d in held + [b]:
        d.deinit()
def scrub(n):                    # overwrite stale stack slots that could keep it alive
    return scrub(n - 1) + 1 if n else 0
held = fill_then_fail()
scrub(20)
recover(held)
held = None
try:
    defio.DeferredIO((defio.MAX_PAGES + 1) * P, record)
except MemoryError as e:
    report("MemoryError")
""")
    (errno, pool, count), pending, memerr = vals
    assert (errno, pool, pending, memerr) == (12, True, [5], "MemoryError")
    assert 2 <= count < limits["instances"]


def test_rounds_run_while_the_friendly_repl_is_idle(fw):
    fw.run("print('ready')")
    fw._write(b"\x02")                 # leave the raw REPL: the REPL a person sees
    fw._read_until(FRIENDLY_PROMPT, 10)
    fw._write(b"import defio\r")
    fw._write(b"d = defio.DeferredIO(2048, lambda d, p: print('IDLE-CALLBACK', p), "
              b"delay_ms=100)\r")
    fw._write(b"d.buffer[1500] = 1\r")
    time.sleep(0.8)
    idle = fw._drain(0.2).decode()
    fw._raw = False                     # the next run enters the raw REPL again
    assert "IDLE-CALLBACK [1]" in idle, idle


def test_ctrl_c_interrupts_a_running_script(fw):
    with pytest.raises(subprocess.TimeoutExpired):
        fw.run("while True:\n    pass", timeout=1)
    assert fw.run("print('alive')").out == "alive\n"


def test_ticks_and_sleep(fw):
    vals, _ = run(fw.run, """
t0 = time.ticks_ms(); u0 = time.ticks_us()
time.sleep_ms(100)
t1 = time.ticks_ms(); u1 = time.ticks_us()
report(time.ticks_diff(t1, t0), time.ticks_diff(u1, u0) // 1000)
""")
    (ms, us_ms), = vals
    assert 100 <= ms <= 102 and 99 <= us_ms <= 102


def test_panel_uart_both_ways(fw):
    with socket.create_connection(("127.0.0.1", fw.qemu.panel_port), timeout=5) as s:
        time.sleep(0.2)
        s.sendall(b"world")
        res = fw.run("""
import machine
u = machine.UART(1, 115200, timeout=500)
u.write(b"hello")
buf = bytearray(5)
print(u.readinto(buf), bytes(buf), u.any(), u.read(1))
""")
        assert res.out == "5 b'world' 0 None\n", res
        got = b""
        while len(got) < 5:
            got += s.recv(16)
        assert got == b"hello"


def test_mpremote_fs_round_trip(fw, tmp_path):
    src = tmp_path / "hello.py"
    src.write_text("MSG = 'hi from the RAM disk'\n")
    r = fw.mpremote("fs", "cp", str(src), ":hello.py", "+", "fs", "ls", ":", "+",
                    "fs", "cat", ":hello.py")
    assert r.returncode == 0, r.stderr
    assert "hello.py" in r.stdout and "hi from the RAM disk" in r.stdout
    assert fw.run("import hello\nprint(hello.MSG)").out == "hi from the RAM disk\n"
    r = fw.mpremote("fs", "rm", ":hello.py", "+", "fs", "ls", ":")
    assert r.returncode == 0, r.stderr
    assert "hello.py" not in r.stdout.split("ls :", 1)[1]


def test_mpremote_mount_exec_run_soft_reset(fw, tmp_path):
    (tmp_path / "hostmod.py").write_text("X = 42\n")
    script = tmp_path / "script.py"
    script.write_text("import hostmod, defio\nprint('run', hostmod.X, defio.BACKEND)\n")
    r = fw.mpremote("mount", str(tmp_path), "exec", "import hostmod; print('exec', hostmod.X)",
                    "+", "run", str(script))
    assert r.returncode == 0, r.stderr
    assert "exec 42" in r.stdout and "run 42 mpu-pmsav" in r.stdout
    r = fw.mpremote("soft-reset", "+", "exec", "import os; print(os.getcwd())")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("/")


def test_boot_py_runs_at_soft_reset(fw, tmp_path):
    boot = tmp_path / "boot.py"
    boot.write_text("BOOTED = 'yes'\n")
    r = fw.mpremote("fs", "cp", str(boot), ":boot.py")
    assert r.returncode == 0, r.stderr
    try:
        assert fw.run("print(BOOTED)").out == "yes\n"   # run() soft-resets: boot.py first
    finally:
        fw.mpremote("fs", "rm", ":boot.py")
    assert "NameError" in fw.run("print(BOOTED)").err


def test_machine_reset_reboots_the_board(fw, limits):
    res = fw.run("import machine\nprint('going')\nmachine.reset()")
    assert res.returncode == -1 and res.out == "going\n"
    assert fw.run("import defio\nprint(defio.BACKEND)").out == limits["backend"] + "\n"
