"""A panel that restarted, lost power or was replaced is detected and gets a full refresh from
the buffer: the shadow is trusted only while the panel is known to hold it (both targets)."""

import time

import pytest

pytest.register_assert_rewrite("epd_harness")
from epd_harness import TIME_SCALE, PanelServer, image_diff, on_marker, run, start_sim

pytest_plugins = ("epd_harness",)


def replacement_sim(sim, target, out):
    """A new simulated panel on the same link: the board's UART (QEMU) or the same address."""
    if target.name == "qemu":
        return start_sim(out, target=target)
    return PanelServer(sim.address, out=out, time_scale=TIME_SCALE, log=lambda m: None).start()


def shows(sim, expected):
    """'' when the panel shows the expected planes and holds them in RAM, else where not."""
    c = sim.controller
    bad = image_diff(c.visible, expected)
    bad_ram = image_diff(c.ram, expected)
    return "; ".join(filter(None, (bad and "visible " + bad, bad_ram and "RAM " + bad_ram)))


REPLACED = """
d = make(); ref = make_ref()
live = defio_epd.attach(d, delay_ms=30, busy_timeout_ms=3000)
for x in (d, ref): x.fill(E.WHITE); x.text("first", 5, 5, E.BLACK)
live.flush()                                   # a full refresh: the panel holds "first"
for x in (d, ref): x.text("second", 5, 40, E.RED); x.fill_rect(0, 200, 50, 20, E.BLACK)
wait_for(lambda: live.stats()['refreshes'] >= 2)   # a round; its refresh is in flight
signal_host()                                  # the test replaces the panel (BUSY high)
time.sleep_ms(1500)                            # the new panel is connected by then
for x in (d, ref): x.pixel(3, 3, E.BLACK)      # a small change: a 1-row partial if trusted
def try_flush():
    try:
        live.flush()
        return True
    except OSError as e:
        print("flush:", e)
        return False
wait_for(try_flush, 20000)
report(planes(ref), live.stats())
"""


def test_panel_replaced_mid_refresh_gets_the_whole_image(mp, sim, target, tmp_path):
    def stick(kind, window, orig=sim._refreshed):
        orig(kind, window)
        if sim.controller.counters["refreshes"] == 2:
            sim.controller.busy_stuck = True  # the old panel dies while BUSY is high

    sim.controller.on_refresh = stick
    new = []

    def replace():
        t0 = time.monotonic()
        sim.stop()
        new.append(replacement_sim(sim, target, tmp_path / "new"))
        new.append(time.monotonic() - t0)

    watcher = on_marker(sim, replace)
    try:
        values, text = run(mp, sim, REPLACED, errors_ok=True)
        watcher.join(5)
        second, took = new
        assert took < 1.0  # the premise: the device's next frame goes to the new panel
        (expected, stats), = values
        c = second.controller
        assert shows(second, expected) == "", text  # the new panel shows and holds it all
        assert c.counters["full_refreshes"] >= 1
        assert stats["full_refreshes"] >= 2
        assert c.errors == [], c.errors
    finally:
        for s in new[:1]:
            s.stop()
