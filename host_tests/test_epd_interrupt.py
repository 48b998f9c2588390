"""KeyboardInterrupt and SystemExit raised inside defio_epd's callback path reach the program:
defio_epd catches neither, and after one the panel link, the SPI bus and the shadow are in a
state from which the next update shows exactly the app's image (both targets)."""

import os
import signal
import time

import pytest

pytest.register_assert_rewrite("epd_harness")
from epd_harness import image_diff, run

pytest_plugins = ("epd_harness",)


def press_ctrl_c(target):
    """Ctrl-C as a user gives it: on the board's REPL, or SIGINT to the Unix process."""
    if target.name == "qemu":
        target._write(b"\x03")
        return
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm == "micropython" and int(fields[1]) == os.getpid():
            os.kill(int(pid), signal.SIGINT)


def hang_and_interrupt(sim, target, refresh):
    """From refresh number `refresh` on, BUSY stays high; at the device's next BUSY read the
    test presses Ctrl-C and holds that read's reply for half a second (so the interrupt
    lands while the device waits for it), then lets BUSY fall."""
    orig = sim._handle
    state = {"pressed": 0}

    def handle(ftype, payload, pos):
        c = sim.controller
        if (ftype == 0x03 and payload == bytes((sim.wiring["busy"],)) and c.busy_stuck
                and not state["pressed"]):
            state["pressed"] = time.monotonic()
            press_ctrl_c(target)
            time.sleep(0.5)
            c.busy_stuck = False
        return orig(ftype, payload, pos)

    def stick(kind, window, orig_refreshed=sim._refreshed):
        orig_refreshed(kind, window)
        if sim.controller.counters["refreshes"] == refresh:
            sim.controller.busy_stuck = True

    sim._handle = handle
    sim.controller.on_refresh = stick
    return state


def test_ctrl_c_during_a_flush_reaches_the_program(mp, sim, target):
    body = """
d = make(); ref = make_ref()
live = defio_epd.attach(d, delay_ms=10000, busy_timeout_ms=20000)
for x in (d, ref): x.fill(E.WHITE); x.text("one", 5, 5, E.BLACK)
live.flush()
for x in (d, ref): x.text("two", 5, 30, E.RED); x.fill_rect(30, 90, 40, 30, E.BLACK)
t0 = time.ticks_ms()
try:
    live.flush()                      # the refresh hangs; the test presses Ctrl-C
    report("not interrupted")
except KeyboardInterrupt:
    report("interrupted", time.ticks_diff(time.ticks_ms(), t0) < 10000, live.dio.pending() != [])
for x in (d, ref): x.pixel(1, 1, E.BLACK)
live.flush()
report(planes(ref), live.stats(), d.spi_device.try_lock())
"""
    state = hang_and_interrupt(sim, target, 2)
    values, text = run(mp, sim, body)
    assert state["pressed"], "the test never pressed Ctrl-C"
    (tag, quick, pending), (expected, stats, unlocked) = values
    assert (tag, quick, pending) == ("interrupted", True, True), text
    assert image_diff(sim.controller.visible, expected) == ""
    assert image_diff(sim.controller.ram, expected) == ""
    assert unlocked and stats["errors"] == 1
    assert sim.controller.counters["commands_while_busy"] == 0
    assert sim.link_errors == [] or all("vanished" in e or "connection" in e
                                        for e in sim.link_errors), sim.link_errors


def test_system_exit_in_the_callback_path_reaches_the_program(mp, sim):
    # SystemExit from inside the round: the app's own BUSY pin object raises it (what
    # sys.exit() in any code the round calls into would do).
    body = """
class ExitingPin:                     # the BUSY input, as the driver reads it
    armed = False
    def __init__(self, pin):
        self.pin = pin
    @property
    def value(self):
        if ExitingPin.armed:
            ExitingPin.armed = False
            raise SystemExit(7)
        return self.pin.value
d = make(); ref = make_ref()
d._busy = ExitingPin(d._busy)
live = defio_epd.attach(d, delay_ms=10000)
for x in (d, ref): x.fill(E.WHITE); x.text("one", 5, 5, E.BLACK)
live.flush()
for x in (d, ref): x.text("two", 5, 30, E.RED)
ExitingPin.armed = True
try:
    live.flush()
    report("not raised")
except SystemExit as e:
    report("exit", e.args, live.dio.pending() != [])
live.flush()
report(planes(ref), live.stats())
"""
    (tag, args, pending), (expected, stats) = run(mp, sim, body)[0]
    assert (tag, args, pending) == ("exit", (7,), True)
    assert image_diff(sim.controller.visible, expected) == ""
    assert image_diff(sim.controller.ram, expected) == ""
    assert stats["errors"] == 1


def test_ctrl_c_during_a_scheduled_round_reaches_the_program(mp, sim, target):
    body = """
d = make(); ref = make_ref()
live = defio_epd.attach(d, delay_ms=20, busy_timeout_ms=20000)
for x in (d, ref): x.fill(E.WHITE); x.text("one", 5, 5, E.BLACK)
live.flush()
for x in (d, ref): x.text("two", 5, 30, E.RED)
wait_for(lambda: live.stats()["refreshes"] >= 2)   # its refresh hangs (BUSY stays high)
for x in (d, ref): x.text("three", 5, 60, E.BLACK)
try:  # the next round waits for BUSY in the scheduler; the test presses Ctrl-C
    wait_for(lambda: live.stats()["refreshes"] >= 3, 15000)
    report("not interrupted")
except KeyboardInterrupt:
    report("interrupted", live.dio.pending() != [])
live.flush()
report(planes(ref), live.stats())
"""
    state = hang_and_interrupt(sim, target, 2)
    values, text = run(mp, sim, body, errors_ok=True)
    assert state["pressed"]
    (tag, *_), (expected, _stats) = values
    assert tag == "interrupted", text
    assert image_diff(sim.controller.visible, expected) == ""
