"""The simulated panel on its own: a host client speaks the frames, the SSD1680 model decodes
the command set, keeps RAM, refreshes on activation, reports errors with their position."""

import json
import socket
import subprocess
import sys

import pytest

pytest.register_assert_rewrite("epd_harness")
from epd_harness import ROOT, TIME_SCALE

from tools.panel_sim import SSD1680, PanelServer
from tools.panel_sim import protocol as P
from tools.panel_sim.server import parse_wiring

CS, DC, RST, BUSY = 9, 10, 5, 7


class Device:
    """The device end of the link, written from the frame format (a host-side client)."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.dec = P.Decoder()
        self.sent = 0  # frames since the HELLO, the HELLO included
        self.epoch = None
        ftype, data = self.request(P.T_HELLO, P.HELLO + b"\x01\x02\x03\x04", hello=True)
        assert ftype == P.T_HELLO | P.T_REPLY and data[:4] == b"\x01\x02\x03\x04"

    def send(self, ftype, payload=b""):
        self.sent += 1
        self.sock.sendall(P.encode(ftype, payload))

    def request(self, ftype, payload=b"", hello=False):
        """(reply type, reply data); checks the reply's frame count, keeps its epoch."""
        if hello:
            self.sent = 0
        self.send(ftype, payload)
        while True:  # bounded: recv times out after 5 s, a closed peer raises below
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("the simulator closed the connection")
            frames = self.dec.feed(data)
            if frames:
                rtype, payload = frames[0][:2]
                if rtype == P.T_ERROR:
                    return rtype, payload
                assert int.from_bytes(payload[4:8], "little") == self.sent
                self.epoch = int.from_bytes(payload[:4], "little")
                return rtype, payload[8:]

    def pin(self, pin, level):
        self.send(P.T_PIN, bytes((pin, level)))

    def command(self, cmd, data=b""):
        self.pin(DC, 0)
        self.pin(CS, 0)
        self.send(P.T_SPI, bytes((cmd,)))
        if data:
            self.pin(DC, 1)
            self.send(P.T_SPI, bytes(data))
        self.pin(CS, 1)

    def busy(self):
        return self.request(P.T_READ, bytes((BUSY,)))[1][1]

    def sync(self):
        self.request(P.T_SYNC)


@pytest.fixture
def panel(tmp_path):
    server = PanelServer("127.0.0.1:0", out=tmp_path, time_scale=TIME_SCALE,
                         log=lambda msg: None).start()
    yield server
    server.stop()


def reset_and_init(dev):
    dev.pin(RST, 0)
    dev.pin(RST, 1)
    dev.command(0x12)
    dev.command(0x01, (249, 0, 0))
    dev.command(0x11, (0x03,))
    dev.command(0x3C, (0x05,))
    dev.command(0x32, bytes(range(10)))


def wait_ready(dev):
    for _ in range(2000):
        if not dev.busy():
            return
    raise AssertionError("BUSY never fell")


def test_partial_updates_only_the_window_and_full_everything(panel):
    dev = Device(panel.address)
    reset_and_init(dev)
    c = panel.controller
    # Black 2x3 block at byte columns 4..5, rows 10..12 through the window and counters.
    dev.command(0x44, (4, 5))
    dev.command(0x45, (10, 0, 12, 0))
    dev.command(0x4E, (4,))
    dev.command(0x4F, (10, 0))
    dev.command(0x24, b"\x00" * 6)
    # Red byte at row 200, outside the window of the partial refresh below.
    dev.command(0x44, (0, 15))
    dev.command(0x45, (200, 0, 200, 0))
    dev.command(0x4E, (0,))
    dev.command(0x4F, (200, 0))
    dev.command(0x26, b"\xff")
    dev.command(0x44, (4, 5))
    dev.command(0x45, (10, 0, 12, 0))
    dev.command(0x22, (0xFC,))
    dev.command(0x20)
    wait_ready(dev)
    assert c.visible[0][10 * 16 + 4] == 0 and c.visible[0][12 * 16 + 5] == 0
    assert c.visible[0][13 * 16 + 4] == 0xFF
    assert c.visible[1][200 * 16] == 0  # not in the partial window: not shown yet
    dev.command(0x22, (0xF4,))
    dev.command(0x20)
    wait_ready(dev)
    assert c.visible[1][200 * 16] == 0xFF
    dev.command(0x10, (0x01,))
    dev.sync()
    k = c.counters
    assert (k["refreshes"], k["partial_refreshes"], k["full_refreshes"]) == (2, 1, 1)
    assert k["data_bytes"] == 7 and k["deep_sleeps"] == 1 and k["resets"] == 1
    assert c.recorded["write_lut"] == list(range(10)) and c.recorded["border"] == [5]
    assert c.errors == []


def test_busy_is_held_for_the_modelled_refresh_time():
    now = [100.0]
    c = SSD1680(full_s=2.5, partial_s=0.4, clock=lambda: now[0])
    c.spi(b"\x22", 0, 0)
    c.spi(b"\xfc", 1, 1)
    c.spi(b"\x20", 0, 2)
    assert c.busy()
    now[0] += 0.39
    assert c.busy()
    now[0] += 0.02
    assert not c.busy()
    c.spi(b"\x22", 0, 3)
    c.spi(b"\xf4", 1, 4)
    c.spi(b"\x20", 0, 5)
    now[0] += 2.49
    assert c.busy()
    now[0] += 0.02
    assert not c.busy()
    assert c.counters["partial_refreshes"] == 1 and c.counters["full_refreshes"] == 1


# A full refresh, after power on where the chip has a command for it, per family.
REFRESH = {"ssd": [(0x22, b"\xf7"), (0x20, b"")], "uc": [(0x04, b""), (0x12, b"")],
           "jd": [(0x04, b""), (0x12, b"\x00")]}


def held(c, now, cmd, data):
    """How long the command (and its data) keeps the model busy from now."""
    c.busy_until = 0.0
    c.spi(bytes((cmd,)), 0, 0)
    if data:
        c.spi(data, 1, 1)
    return max(c.busy_until - now[0], 0.0)


@pytest.mark.parametrize("scale", [1.0, 0.1])
def test_each_chip_has_its_own_times_and_they_scale(scale):
    from tools.panel_sim.server import CONTROLLERS

    rows = {}
    for key, cls in CONTROLLERS.items():
        now = [50.0]
        c = cls(time_scale=scale, clock=lambda now=now: now[0])
        row = c.times()
        rows[key] = row[:4]
        assert row.source and row.full >= row.partial > 0, key
        assert (c.full_s, c.partial_s) == pytest.approx((row.full * scale, row.partial * scale))
        for got, want in ((c.power_on_s, row.power_on), (c.power_off_s, row.power_off)):
            assert got == pytest.approx(c.reset_s if want is None else want * scale), key
        assert c.reset_s == pytest.approx(0.002 * scale)
        if c.COLOURS == "gray4":
            continue  # a 4-gray refresh needs the LUT: the SSD16xx tests drive it
        family = "jd" if key.startswith("jd") else "ssd" if key.startswith("ssd") else "uc"
        (cmd1, data1), (cmd2, data2) = REFRESH[family]
        first = held(c, now, cmd1, data1)  # SSD16xx: 0x22, no time of its own
        assert first == pytest.approx(0.0 if family == "ssd" else c.power_on_s), key
        assert held(c, now, cmd2, data2) == pytest.approx(c.full_s), key
        assert c.errors == [] and c.counters["full_refreshes"] == 1, key
    # The rows differ: the demo's SSD1680 keeps 2.5 s / 0.4 s, the tri- and quad-colour panels
    # take several times longer than the black/white ones.
    assert rows["ssd1680"][:2] == (2.5, 0.4) and rows["ssd1680_legacy"] == rows["ssd1680"]
    assert len({r[0] for r in rows.values()}) >= 15
    assert rows["uc8151d"][0] > 5 * rows["ssd1680"][0] < rows["jd79661"][0]
    assert rows["ssd1680_grayscale4"][0] > 2 * rows["ssd1680"][0]
    assert rows["uc8253_mono"][0] < rows["uc8253_tricolor"][0] == rows["uc8253"][0]


def test_explicit_times_win_and_a_replaced_panel_keeps_the_times(tmp_path):
    from tools.panel_sim.server import CONTROLLERS

    c = CONTROLLERS["uc8151d"](full_s=0.5, reset_s=0, time_scale=0.1)
    assert (c.full_s, c.reset_s, c.overrides) == (0.5, 0, {"full_s": 0.5, "reset_s": 0})
    assert c.partial_s == pytest.approx(1.781) and c.power_on_s == pytest.approx(0.008)
    # The UC8179 takes the tri-colour panel's times once its panel setting says KWR.
    now = [0.0]
    c = CONTROLLERS["uc8179"](time_scale=0.5, clock=lambda: now[0])
    kw = c.full_s
    c.spi(b"\x00", 0, 0)
    c.spi(b"\x0f", 1, 1)  # PSR bit 4 clear: KWR
    held(c, now, 0x04, b"")
    assert held(c, now, 0x12, b"") == pytest.approx(17.13 * 0.5) and kw == 4.11 * 0.5
    server = PanelServer("127.0.0.1:0", controller="jd79667", time_scale=0.25)
    try:
        old = server.controller
        assert old.full_s == pytest.approx(21.43 * 0.25)
        times = server.summary()["times"]
        assert times["time_scale"] == 0.25 and "GxEPD2" in times["source"]
        assert times["power_on_s"] == pytest.approx(0.157 * 0.25)
        server._replace_panel()
        new = server.controller
        assert new is not old and [getattr(new, n) for n in ("full_s", "power_on_s")] == \
            [old.full_s, old.power_on_s]
    finally:
        server._sock.close()


def test_unknown_command_and_write_outside_window_are_reported_with_position(panel):
    dev = Device(panel.address)
    reset_and_init(dev)
    dev.command(0x99)
    dev.command(0x44, (0, 0))
    dev.command(0x45, (0, 0, 0, 0))
    dev.command(0x4E, (3,))
    dev.command(0x4F, (0, 0))
    dev.command(0x24, b"\x00")
    dev.sync()
    errs = panel.controller.errors
    assert len(errs) == 2
    assert "unknown command 0x99" in errs[0] and "stream offset" in errs[0]
    assert "outside the window at x byte 3, row 0" in errs[1] and "stream offset" in errs[1]


def test_deep_sleep_ignores_commands_until_reset(panel):
    dev = Device(panel.address)
    reset_and_init(dev)
    dev.command(0x10, (0x01,))
    dev.command(0x22, (0xF4,))
    dev.command(0x20)
    dev.sync()
    c = panel.controller
    assert c.counters["refreshes"] == 0 and c.counters["ignored_in_deep_sleep"] >= 2


def test_corrupt_frame_gets_an_error_reply_and_position(panel):
    dev = Device(panel.address)
    dev.pin(CS, 1)
    dev.sock.sendall(b"\xa5\x01\x01\x00\x12\x00")  # checksum should be 0xEB
    ftype, payload = dev.request(P.T_SYNC)
    assert ftype == P.T_ERROR and b"checksum" in payload and b"offset 29" in payload
    assert dev.sock.recv(10) == b""  # and it hangs up
    assert any("corrupt frame" in e for e in panel.link_errors)


def test_device_vanishing_mid_frame_is_reported(panel):
    dev = Device(panel.address)
    dev.sock.sendall(P.encode(P.T_SPI, b"abc")[:4])
    dev.sock.close()
    panel.wait_disconnected()
    assert any("vanished mid-frame" in e for e in panel.link_errors)


def test_wiring_can_be_changed():
    assert parse_wiring("cs=12,busy=13") == {"cs": 12, "dc": 10, "rst": 5, "busy": 13,
                                             "sram": 6}
    with pytest.raises(ValueError):
        parse_wiring("clk=3")


def test_cli_prints_its_port_and_writes_png_and_json(tmp_path):
    env_path = str(ROOT / "tools")
    p = subprocess.Popen([sys.executable, "-m", "panel_sim", "--listen", "127.0.0.1:0", "--out",
                          str(tmp_path), "--time-scale", "0.01", "--stdin-stop"],
                         cwd=env_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.startswith("panel_sim listening on 127.0.0.1:")
    dev = Device(line.split()[-1])
    reset_and_init(dev)
    dev.command(0x22, (0xF4,))
    dev.command(0x20)
    wait_ready(dev)
    dev.sock.close()
    p.stdin.close()
    assert p.wait(timeout=20) == 0
    summary = json.loads((tmp_path / "panel.json").read_text())
    assert summary["full_refreshes"] == 1 and summary["errors"] == []
    assert (tmp_path / "panel.png").stat().st_size > 0


def test_cli_on_a_busy_port_says_so_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        p = subprocess.run([sys.executable, "-m", "panel_sim", "--listen", f"127.0.0.1:{port}",
                            "--out", str(tmp_path)], cwd=str(ROOT / "tools"),
                           capture_output=True, text=True, timeout=30, check=False)
    assert p.returncode == 2
    assert p.stderr == f"panel_sim: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_epoch_changes_only_when_the_panel_may_have_lost_state(panel):
    dev = Device(panel.address)
    e0 = dev.epoch
    reset_and_init(dev)  # a hardware reset and a software reset
    dev.sync()
    e1 = dev.epoch
    assert e1 == (e0 + 2) & 0xFFFFFFFF
    dev.command(0x44, (0, 15))
    dev.command(0x22, (0xF4,))
    dev.command(0x20)
    wait_ready(dev)
    assert dev.epoch == e1  # commands, refreshes, BUSY reads: the same panel state
    panel.controller.power_loss()
    dev.sync()
    assert dev.epoch != e1
    e2 = dev.epoch
    dev.command(0x10, (0x01,))  # deep sleep
    dev.sync()
    assert dev.epoch != e2
    e3 = dev.epoch
    dev.sock.close()
    again = Device(panel.address)  # a new connection (and HELLO)
    assert again.epoch not in (e0, e1, e2, e3)
    assert panel.controller.epoch_log[-2:] == ["new connection", "hello"]


def test_power_loss_keeps_the_image_and_loses_ram(panel):
    dev = Device(panel.address)
    reset_and_init(dev)
    dev.command(0x24, b"\x00" * 16)
    dev.command(0x22, (0xF4,))
    dev.command(0x20)
    wait_ready(dev)
    c = panel.controller
    shown = bytes(c.visible[0])
    c.power_loss()
    assert bytes(c.visible[0]) == shown and not c.busy()
    assert c.ram[0][:16] != b"\x00" * 16 and c.counters["power_losses"] == 1


def test_a_new_panel_starts_at_another_epoch(tmp_path):
    epochs = set()
    for _ in range(3):
        with PanelServer("127.0.0.1:0", log=lambda m: None) as server:
            epochs.add(Device(server.address).epoch)
    assert len(epochs) == 3


def test_lost_frames_show_in_the_reply_count(panel):
    dev = Device(panel.address)
    dev.send(P.T_FAULT, bytes((P.F_DROP, 1, 0, 2, 0)))  # after 1 frame, lose 2
    for level in (0, 1, 0, 1):
        dev.pin(CS, level)
    dev.sent -= 2  # what the panel should have got
    assert dev.request(P.T_SYNC)[0] == P.T_SYNC | P.T_REPLY  # (request checks the count)
    assert panel.levels[CS] == 1 and panel.faults_fired == {"drop": 1}


def test_injected_faults_from_the_device(panel):
    dev = Device(panel.address)
    e0 = dev.epoch
    dev.send(P.T_FAULT, bytes((P.F_POWER_LOSS, 0, 0)))
    dev.sync()
    assert dev.epoch != e0 and panel.controller.counters["power_losses"] == 1
    dev.send(P.T_FAULT, bytes((P.F_CORRUPT_REPLY, 0, 0)))
    with pytest.raises(P.FrameError):
        dev.sync()
    dev.sock.close()
    dev = Device(panel.address)
    dev.send(P.T_FAULT, bytes((P.F_CORRUPT, 0, 0)))
    ftype, payload = dev.request(P.T_SYNC)
    assert ftype == P.T_ERROR and b"injected" in payload
    dev.sock.close()
    dev = Device(panel.address)
    dev.send(P.T_FAULT, bytes((P.F_REPLACE, 0, 0)))
    with pytest.raises(ConnectionError):
        dev.sync()  # a new panel: the connection dropped
    assert panel.replaced == 1
    dev.sock.close()
    dev = Device(panel.address)
    dev.send(P.T_FAULT, bytes((P.F_STICK_BUSY, 200, 0)))
    reset_and_init(dev)
    dev.command(0x22, (0xF4,))
    dev.command(0x20)
    assert dev.busy() and panel.controller.busy_until - panel.controller.clock() > 0.15


def test_mark_compares_the_visible_image_and_ram(panel):
    import zlib

    dev = Device(panel.address)
    c = panel.controller
    white = zlib.crc32(bytes(c.visible[0]) + bytes(c.visible[1]))
    ftype, data = dev.request(P.T_MARK, (7).to_bytes(4, "little") + white.to_bytes(4, "little"))
    assert ftype == P.T_MARK | P.T_REPLY and int.from_bytes(data[:4], "little") == white
    dev.request(P.T_MARK, (8).to_bytes(4, "little") + (white ^ 1).to_bytes(4, "little"))
    assert panel.marks == 2 and [m["label"] for m in panel.bad_marks] == [8]
