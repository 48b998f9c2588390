"""E-paper on real pins, without the pins: the rp2 boards' transport on the Unix port.

On a Pico, board.py gives machine.Pin objects, so busio and digitalio drive machine.SPI and
machine.Pin instead of the panel link. Here the Unix port (with defio) runs RPI_PICO's own
board.py, our lib/ and Adafruit's unmodified SSD1680 driver against a recording stand-in for
`machine` (the Unix port's `machine` is extensible, so a machine.py on sys.path wins). What
this proves: the board, not the app, picks the transport; the SPI bus follows from the pins
(SPI1 for GP10/GP11); the driver's commands go out with D/C low and CS framing each
transfer; reset and BUSY use their pins; defio_epd.attach works on that transport; the font
lands where adafruit_framebuf reads it. What it does not: the timing and electrical side of
a real panel (README, "Flash to a board").
"""

import ast
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
from tools.build_pylib import font5x8

# A stand-in for rp2's machine.Pin and machine.SPI that records what the drivers do.
MACHINE_STANDIN = '''
LOG = []


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, id):
        self.id = id
        self.level = 0
        self.mode = None

    def init(self, mode=None, pull=None, *, value=None):
        self.mode = mode
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            LOG.append(("read", self.id))
            return self.level
        self.level = int(bool(v))
        LOG.append(("pin", self.id, self.level))


class SPI:
    def __init__(self, id, baudrate=1000000, *, sck, mosi=None, miso=None):
        # rp2: SPI0 or SPI1 by GPIO bank of 8 pins; a pin of the other bus is refused.
        for p in (sck, mosi, miso):
            if p is not None and (p.id >> 3) & 1 != id:
                raise ValueError("bad pin")
        self.id = id
        LOG.append(("spi_new", id, sck.id, mosi.id, miso.id if miso else None))

    def init(self, **kw):
        LOG.append(("spi_init", kw["baudrate"], kw["polarity"], kw["phase"]))

    def write(self, buf):
        LOG.append(("spi", bytes(buf)))

    def write_readinto(self, out, into):
        LOG.append(("spi", bytes(out)))
        for i in range(len(into)):
            into[i] = 0

    def readinto(self, into, write=0):
        LOG.append(("spi", bytes([write]) * len(into)))
        for i in range(len(into)):
            into[i] = 0

    def deinit(self):
        pass
'''

SCRIPT = '''
import sys, os
sys.path.insert(0, {tmp!r})
os.chdir({tmp!r})
import machine, board, busio, digitalio, defio_epd
from adafruit_epd.ssd1680 import Adafruit_SSD1680
from adafruit_epd.epd import Adafruit_EPD as E

def pin(p):
    return digitalio.DigitalInOut(p)

d = Adafruit_SSD1680(122, 250, board.SPI(), cs_pin=pin(board.EPD_CS), dc_pin=pin(board.EPD_DC),
                     sramcs_pin=None, rst_pin=pin(board.EPD_RESET), busy_pin=pin(board.EPD_BUSY))
live = defio_epd.attach(d, delay_ms=0)
d.fill(E.WHITE)
d.text("hi", 4, 4, E.BLACK)
live.flush()
live.deinit()

# Replay the log: bytes sent with D/C low are commands; CS must be low around every write.
cmds, data, cs, dc, bad_cs = [], 0, 1, 1, 0
for ev in machine.LOG:
    if ev[0] == "pin" and ev[1] == board.EPD_CS.id:
        cs = ev[2]
    elif ev[0] == "pin" and ev[1] == board.EPD_DC.id:
        dc = ev[2]
    elif ev[0] == "spi":
        bad_cs += cs != 0
        if dc == 0:
            cmds.extend(ev[1])
        else:
            data += len(ev[1])
resets = [ev[2] for ev in machine.LOG if ev[0] == "pin" and ev[1] == board.EPD_RESET.id]
busy_reads = sum(1 for ev in machine.LOG if ev == ("read", board.EPD_BUSY.id))
spi_new = [ev for ev in machine.LOG if ev[0] == "spi_new"]
print("@@", repr((digitalio.on_chip(board.EPD_CS), spi_new, bytes(cmds).hex(), data, bad_cs,
                  resets, busy_reads, os.stat("font5x8.bin")[6])))
'''


@pytest.fixture
def pico_env(target, tmp_path):
    if target.name != "unix":
        pytest.fail("test_rp2_pins runs on the Unix port only (the Makefile ignores it on qemu)")
    (tmp_path / "machine.py").write_text(MACHINE_STANDIN)
    shutil.copy(ROOT / "boards" / "RPI_PICO" / "board.py", tmp_path / "board.py")
    (tmp_path / "defio_font5x8.py").write_text(f"FONT = {font5x8()!r}\n")
    return tmp_path


def run(mp, tmp):
    r = mp(SCRIPT.format(tmp=str(tmp)))
    lines = [ln for ln in r.out.splitlines() if ln.startswith("@@ ")]
    assert r.returncode == 0 and lines, r.out + r.err
    return ast.literal_eval(lines[-1][3:])


def test_adafruit_driver_drives_the_chip_spi_and_pins(mp, pico_env):
    on_chip, spi_new, cmds, data, bad_cs, resets, busy_reads, font_size = run(mp, pico_env)
    assert on_chip, "board.py pins must select the chip transport"
    # One bus, SPI1, on the documented pins (SCK GP10, MOSI GP11, MISO GP28).
    assert spi_new == [("spi_new", 1, 10, 11, 28)]
    cmds = bytes.fromhex(cmds)
    # SSD1680: software reset, RAM write (black plane), update (master activation).
    for command in (0x12, 0x24, 0x20):
        assert command in cmds, f"command {command:#04x} never sent"
    assert data > 0
    assert bad_cs == 0, "an SPI transfer ran with CS high"
    assert 0 in resets and resets[-1] == 1, "no reset pulse on EPD_RESET"
    assert busy_reads > 0, "BUSY was never read"
    # board.py put the font where adafruit_framebuf reads it: the current folder.
    assert font_size == len(font5x8())


def test_the_emulated_board_keeps_the_panel_link(mp):
    # lib/board.py (QEMU, Unix) gives link pins: the same busio/digitalio take the link path.
    r = mp("import board, digitalio\nprint('@@', digitalio.on_chip(board.EPD_CS))")
    assert "@@ False" in r.out, r.out + r.err
