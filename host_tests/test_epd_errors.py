"""Failures are clear errors, never hangs, and lose nothing: stuck BUSY, corrupt frames,
a vanished simulator."""

import socket
import threading
import time

import pytest

pytest.register_assert_rewrite("epd_harness")
from epd_harness import on_marker, run, visible_hex

pytest_plugins = ("epd_harness",)


def test_stuck_busy_times_out_then_recovers_without_loss(mp, sim):
    body = """
d = make(); ref = make_ref()
live = defio_epd.attach(d, delay_ms=50, busy_timeout_ms=300)
for x in (d, ref): x.fill(E.WHITE); x.text("before", 5, 5, E.BLACK)
live.flush()
for x in (d, ref): x.text("while stuck", 5, 50, E.RED)
try:
    live.flush()
except OSError as e:
    report("timeout", str(e))
for x in (d, ref): x.fill_rect(60, 200, 30, 20, E.BLACK)    # more writes while stuck
signal_host()                                                # the test releases BUSY
wait_for(lambda: live.stats()['refreshes'] >= 2 and not live.dio.pending())
report(live.stats(), planes(ref))
"""
    def stick_at_second_refresh(kind, window, orig=sim._refreshed):
        orig(kind, window)
        if sim.controller.counters["refreshes"] == 2:
            sim.controller.busy_stuck = True  # BUSY never falls after this refresh

    sim.controller.on_refresh = stick_at_second_refresh
    watcher = on_marker(sim, lambda: setattr(sim.controller, "busy_stuck", False))
    values, _ = run(mp, sim, body, errors_ok=True)
    watcher.join(5)
    (tag, msg), (stats, expected) = values
    assert tag == "timeout" and "still BUSY" in msg and "300 ms" in msg
    assert stats["errors"] >= 1
    assert visible_hex(sim) == expected  # nothing lost


def test_corrupt_frame_from_the_device(mp, sim):
    body = """
link = panel_link.get()
link.transport.write(b"\\xa5\\x01\\x02\\x00xy\\x00")   # bad checksum
try:
    link.sync()
except OSError as e:
    report(str(e))
"""
    (msg,) = run(mp, sim, body)[0]
    assert "corrupt frame" in msg and "checksum" in msg and "offset" in msg
    assert any("corrupt frame" in e and "offset" in e for e in sim.link_errors)


def test_corrupt_frame_from_the_panel_is_reported_both_ways(mp, sim):
    body = """
link = panel_link.get()
try:
    link.read_pin(board.EPD_BUSY.id)
except OSError as e:
    report(str(e))
"""
    sim.corrupt_next_reply = False
    orig = sim._handle

    def spoil_reads(ftype, payload, pos):
        if ftype == 0x03:
            sim.corrupt_next_reply = True
        return orig(ftype, payload, pos)

    sim._handle = spoil_reads
    (msg,) = run(mp, sim, body)[0]
    assert msg.startswith("panel link: corrupt frame from the panel (bad checksum")
    # The device's ERROR frame travels on the panel's own line (QEMU: UART1), independent of
    # the REPL's: it may land a little after the script's output.
    reported = "the device reported: corrupt frame from the panel"
    deadline = time.monotonic() + 10
    while not any(reported in e for e in sim.link_errors) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any(reported in e for e in sim.link_errors), sim.link_errors


def fake_panel(reply):
    """A TCP peer that answers the first bytes it gets with `reply`, then hangs up."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(30)

    def serve():
        with srv:
            conn, _ = srv.accept()
            with conn:
                conn.recv(100)
                conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return f"127.0.0.1:{srv.getsockname()[1]}"


CONNECT = """
try:
    d = make()
except OSError as e:
    report(type(e).__name__, str(e))
"""


def test_corrupt_frame_from_the_panel(mp, sim, unix_only):
    addr = fake_panel(b"\x5a\x84\x00\x00\x00")
    ((name, msg),) = run(mp, sim, CONNECT, addr=addr)[0]
    assert name == "LinkError" and "corrupt frame from the panel" in msg


def test_no_panel_listening(mp, sim, unix_only):
    srv = socket.create_server(("127.0.0.1", 0))
    addr = f"127.0.0.1:{srv.getsockname()[1]}"
    srv.close()
    ((name, msg),) = run(mp, sim, CONNECT, addr=addr)[0]
    assert name == "LinkError" and "cannot connect" in msg


def test_vanished_simulator_is_a_clear_error(mp, sim, target):
    body = """
d = make()
live = defio_epd.attach(d, delay_ms=10000, busy_timeout_ms=500)
d.fill(E.WHITE); live.flush()
signal_host()                         # the test stops the simulator
time.sleep_ms(300)
d.text("lost?", 0, 0, E.BLACK)
for attempt in range(2):
    try:
        live.flush()
    except OSError as e:
        report(str(e))
report(live.dio.pending() != [], live.stats()['errors'])
"""
    watcher = on_marker(sim, sim.stop)
    values, text = run(mp, sim, body, timeout=30, errors_ok=True)
    watcher.join(5)
    *msgs, (pending, errors) = values
    assert len(msgs) == 2 and all("panel" in m for m in msgs), msgs
    assert pending and errors == 2  # the pages wait for a panel to come back
    # At exit defio delivers once more (deliver on close); with no panel it says so. (On the
    # firmware that happens at the next soft reset.)
    if target.name == "unix":
        assert "defio: callback raised while closing" in text, text


def test_round_waits_for_the_apps_own_panel_transaction(mp, sim):
    body = """
d = make()
live = defio_epd.attach(d, delay_ms=10000)
d.fill(E.WHITE)
d.spi_device.try_lock()           # the app is in the middle of its own SPI transfer
try:
    live.flush()
except OSError as e:
    report(str(e))
d.spi_device.unlock()
live.flush()
report(live.stats()["refreshes"])
"""
    values, _ = run(mp, sim, body)
    assert "SPI bus is in use" in values[0] and values[1] == 1


def test_a_round_that_waited_for_the_app_resends_nothing_extra(mp, sim):
    # The app's own transaction costs a retry, not a full resend: nothing had been sent.
    body = """
d = make()
live = defio_epd.attach(d, delay_ms=10000)
d.fill(E.WHITE); live.flush()
d.pixel(3, 3, E.BLACK)
d.spi_device.try_lock()
try:
    live.flush()
except OSError as e:
    report(str(e))
d.spi_device.unlock()
before = live.stats()
live.flush()
after = live.stats()
report(after["full_refreshes"] - before["full_refreshes"],
       after["partial_refreshes"] - before["partial_refreshes"],
       after["bytes"] - before["bytes"])
"""
    values, _ = run(mp, sim, body)
    assert "SPI bus is in use" in values[0]
    full, partial, sent = values[1]
    assert (full, partial) == (0, 1) and sent < 100, values[1]


def test_a_round_during_the_apps_link_transfer_is_retried_without_a_resend(mp, sim):
    # A round the scheduler runs while the app waits inside a link transfer (here: the link
    # inside a request, as panel_link marks it) sends nothing and keeps the panel's state.
    body = """
d = make()
live = defio_epd.attach(d, delay_ms=10000)
d.fill(E.WHITE); live.flush()
d.pixel(3, 3, E.BLACK)
panel_link.get()._busy = True
try:
    live.flush()
except OSError as e:
    report(str(e))
panel_link.get()._busy = False
before = live.stats()
live.flush()
after = live.stats()
report(after["full_refreshes"] - before["full_refreshes"],
       after["partial_refreshes"] - before["partial_refreshes"])
"""
    values, _ = run(mp, sim, body)
    assert "panel link is in use" in values[0]
    assert values[1] == (0, 1), values


def test_panel_back_after_vanishing_gets_everything(mp, sim, unix_only, tmp_path):
    body = """
d = make(); ref = make_ref()
live = defio_epd.attach(d, delay_ms=10000, busy_timeout_ms=500)
for x in (d, ref): x.fill(E.WHITE); x.text("first", 5, 5, E.BLACK)
live.flush()
signal_host()                         # the test replaces the simulator by a new one
for x in (d, ref): x.text("after the restart", 5, 40, E.RED)
def try_flush():
    try:
        live.flush()
        return True
    except OSError:
        return False
wait_for(try_flush)
report(planes(ref), live.stats()["errors"] > 0)
"""
    replacement = []

    def restart():
        sim.stop()
        replacement.append(start_sim_at(sim.address, tmp_path / "second"))

    watcher = on_marker(sim, restart)
    values, _ = run(mp, sim, body, errors_ok=True)
    watcher.join(5)
    second = replacement[0]
    try:
        second.wait_disconnected()
        (expected, had_errors), = values
        assert had_errors
        assert visible_hex(second) == expected  # the new panel shows all of it
        assert second.controller.counters["full_refreshes"] >= 1
    finally:
        second.stop()


def start_sim_at(address, out):
    from epd_harness import TIME_SCALE, PanelServer

    return PanelServer(address, out=out, time_scale=TIME_SCALE, log=lambda m: None).start()
