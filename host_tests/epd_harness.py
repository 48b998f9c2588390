"""Shared set-up of the e-paper tests: the simulated panel (in-process, scaled-down refresh
times) and a MicroPython prelude that builds the Adafruit driver on our board modules."""

import ast
import pathlib
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYLIB = ROOT / "build" / "pylib"
from tools.panel_sim import PanelServer

TIME_SCALE = 0.02  # the chip's own times x this: SSD1680 full 50 ms, partial 8 ms

PRELUDE = f"""
import os, time, binascii, board, digitalio, defio, defio_epd, panel_link
try:
    os.chdir({str(PYLIB)!r})  # adafruit_framebuf opens font5x8.bin from the current folder
except OSError:
    pass  # on the board it is in /, the current folder
from adafruit_epd.ssd1608 import Adafruit_SSD1608
from adafruit_epd.ssd1675 import Adafruit_SSD1675
from adafruit_epd.ssd1675b import Adafruit_SSD1675B
from adafruit_epd.ssd1680 import Adafruit_SSD1680, Adafruit_SSD1680_Grayscale4
from adafruit_epd.ssd1680_legacy import Adafruit_SSD1680_Legacy
from adafruit_epd.ssd1680b import Adafruit_SSD1680B
from adafruit_epd.ssd1681 import Adafruit_SSD1681, Adafruit_SSD1681_Grayscale4
from adafruit_epd.ssd1683 import Adafruit_SSD1683, Adafruit_SSD1683_Grayscale4
from adafruit_epd.uc8151d import Adafruit_UC8151D
from adafruit_epd.jd79661 import Adafruit_JD79661
from adafruit_epd.jd79667 import Adafruit_JD79667
from adafruit_epd.epd import Adafruit_EPD as E
def pin(p):
    return digitalio.DigitalInOut(p)
DRIVERS = {{
    "ssd1608": (Adafruit_SSD1608, 200, 200), "ssd1675": (Adafruit_SSD1675, 122, 250),
    "ssd1675b": (Adafruit_SSD1675B, 122, 250), "ssd1680": (Adafruit_SSD1680, 122, 250),
    "ssd1680_legacy": (Adafruit_SSD1680_Legacy, 122, 250),
    "ssd1680b": (Adafruit_SSD1680B, 122, 250),
    "ssd1680_grayscale4": (Adafruit_SSD1680_Grayscale4, 122, 250),
    "ssd1681": (Adafruit_SSD1681, 200, 200),
    "ssd1681_grayscale4": (Adafruit_SSD1681_Grayscale4, 200, 200),
    "ssd1683": (Adafruit_SSD1683, 400, 300),
    "ssd1683_grayscale4": (Adafruit_SSD1683_Grayscale4, 400, 300),
    "uc8151d": (Adafruit_UC8151D, 128, 296),
    "jd79661": (Adafruit_JD79661, 122, 250), "jd79667": (Adafruit_JD79667, 180, 384)}}
def _uc81xx():  # the UC81xx family: imported on first use (QEMU's heap)
    from adafruit_epd import il0373, il0398, il91874, ek79686, uc8179, uc8253
    DRIVERS.update({{
        "il0373": (il0373.Adafruit_IL0373, 104, 212),
        "il0373_213_flex_mono": (il0373.Adafruit_IL0373_213_Flex_Mono, 104, 212),
        "il0398": (il0398.Adafruit_IL0398, 400, 300),
        "il91874": (il91874.Adafruit_IL91874, 176, 264),
        "ek79686": (ek79686.Adafruit_EK79686, 176, 264),
        "uc8179": (uc8179.Adafruit_UC8179, 800, 480),
        "uc8253": (uc8253.Adafruit_UC8253, 240, 416),
        "uc8253_mono": (uc8253.Adafruit_UC8253_Mono, 240, 416),
        "uc8253_tricolor": (uc8253.Adafruit_UC8253_Tricolor, 240, 416)}})
def make(kind="ssd1680"):
    if kind not in DRIVERS:
        _uc81xx()
    cls, w, h = DRIVERS[kind]
    return cls(w, h, board.SPI(), cs_pin=pin(board.EPD_CS),
        dc_pin=pin(board.EPD_DC), sramcs_pin=None, rst_pin=pin(board.EPD_RESET),
        busy_pin=pin(board.EPD_BUSY))
def make_ref(kind="ssd1680"):
    # Same driver on unwired pins and no reset/busy: draws into plain bytearrays only.
    if kind not in DRIVERS:
        _uc81xx()
    cls, w, h = DRIVERS[kind]
    return cls(w, h, board.SPI(), cs_pin=pin(board.D11),
        dc_pin=pin(board.D12), sramcs_pin=None, rst_pin=None, busy_pin=None)
def planes(d):
    return [binascii.hexlify(bytes(d._buffer1)).decode(),
            binascii.hexlify(bytes(d._buffer2)).decode()]
def report(*values):
    print("@@", repr(values if len(values) != 1 else values[0]))
def wait_for(cond, ms=10000):
    t0 = time.ticks_ms()
    while not cond():
        if time.ticks_diff(time.ticks_ms(), t0) > ms:
            raise OSError("test: condition not reached")
        time.sleep_ms(5)
def flush_until_ok(live, ms=20000):
    # live.flush() again until it succeeds (a panel that restarts or drops frames); the
    # errors it raised meanwhile.
    errors = []
    def attempt():
        try:
            live.flush()
            return True
        except OSError as e:
            errors.append(str(e))
            return False
    wait_for(attempt, ms)
    return errors
def signal_host():
    marker = pin(board.D13)   # a spare pin: the test's side channel
    marker.switch_to_output(False)
    marker.value = True
"""


@pytest.fixture(scope="session")
def pylib():
    """build/pylib (Adafruit packages + font), built on demand as the Makefile would."""
    if not (PYLIB / "font5x8.bin").exists():
        import build_pylib

        build_pylib.main(["--out", str(PYLIB)])
    return PYLIB


def draw_src(vline_x=100):
    """A device-side draw(d, step) for the pixel tests: step 0 a page of every primitive in
    black and red, steps 1.. small changes (text, a pixel, a line at vline_x - step, a hole)."""
    return """
def draw(d, step):
    if step == 0:
        d.fill(E.WHITE)
        d.rect(2, 3, 60, 40, E.BLACK)
        d.fill_rect(10, 60, 25, 12, E.RED)
        d.line(0, 0, d.width - 1, d.height - 1, E.BLACK)
        d.text("defio 0", 5, 90, E.BLACK)
        d.hline(0, d.height - 2, d.width, E.RED)
    else:
        d.text("step %d" % step, 8, 20 + 9 * step, E.RED if step % 2 else E.BLACK)
        d.pixel(step, step * 3, E.BLACK)
        d.vline(VLINE_X - step, 5, 30, E.RED)
        d.fill_rect(40, 110 + step, 8, 3, E.WHITE)
""".replace("VLINE_X", str(vline_x))


# Run at the end of every script: the panel has handled everything once it answers.
EPILOGUE = """
if panel_link._link is not None and not panel_link._link.closed:
    panel_link._link.sync()
"""


def start_sim(out, controller="ssd1680", target=None):
    connect = None
    if target is not None and target.name == "qemu":
        # The board's UART1 is QEMU's TCP server socket: the simulator connects to it.
        connect = f"127.0.0.1:{target.qemu.panel_port}"
        if not target.pylib:  # the Adafruit packages and the font onto the board
            target.pylib = True
            target._lib_ok = False
    return PanelServer("127.0.0.1:0", out=out, time_scale=TIME_SCALE, controller=controller,
                       log=lambda msg: None, connect=connect).start()


@pytest.fixture
def sim(tmp_path, pylib, target):
    server = start_sim(tmp_path, target=target)
    yield server
    server.stop()


@pytest.fixture
def sim_uc(tmp_path, pylib, target):
    server = start_sim(tmp_path, "uc8151d", target=target)
    yield server
    server.stop()


@pytest.fixture
def unix_only(target):
    if target.name != "unix":
        pytest.skip("needs a TCP panel address (the Unix port's link)")


def run(mp, sim, body, timeout=60, errors_ok=False, addr=None):
    """Run PRELUDE + body against the simulator; return (reported values, output)."""
    res = mp(PRELUDE + body + EPILOGUE, timeout=timeout,
             env={"DEFIO_PANEL": addr or sim.address})
    text = res.out + res.err
    if addr is None and sim.connect is None:
        sim.wait_disconnected()
    assert res.returncode == 0, text
    assert errors_ok or "Traceback" not in text, text
    values = [ast.literal_eval(line[3:]) for line in res.out.splitlines()
              if line.startswith("@@ ")]
    return values, text


def on_marker(sim, action, pin=13):
    """Call action() once the device raises pin D13 (a side channel for the test)."""
    def watch():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if sim.levels.get(pin) == 1:
                action()
                return
            time.sleep(0.005)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def visible_hex(sim):
    return [bytes(p).hex() for p in sim.controller.visible]


def image_diff(planes_now, expected):
    """'' when the planes (bytes or hex) equal the expected hex planes, else a short account
    of where they differ (for assertion messages: not 16 KB of hex)."""
    out = []
    for i, (got, want) in enumerate(zip(planes_now, expected, strict=True)):
        got = bytes.fromhex(got) if isinstance(got, str) else bytes(got)
        want = bytes.fromhex(want)
        bad = [k for k in range(min(len(got), len(want))) if got[k] != want[k]]
        if bad or len(got) != len(want):
            out.append(f"plane {i}: {len(bad)} bytes differ, offsets {bad[0] if bad else '-'}"
                       f"..{bad[-1] if bad else '-'} (lengths {len(got)}/{len(want)})")
    return "; ".join(out)
