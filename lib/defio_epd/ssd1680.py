"""SSD16xx-family operations for defio_epd (SSD1608, SSD1675, SSD1675B, SSD1680 and its
Legacy, B and Grayscale4 drivers, SSD1681 (and Grayscale4), SSD1683 (and Grayscale4)), built
on the driver's primitives (`command`, `write_ram`, the chip select, D/C and BUSY pins) with a
timeout on every BUSY wait (BUSY is high while busy).

RAM layout = the driver's buffer layout: X = byte column (8 pixels) from the panel's RAM X
offset (the Legacy panel: 1, Grayscale4: colstart / 8), Y = row; data entry mode 0x03 (X then
Y, both increasing). A band: RAM window (0x44/0x45), address counters (0x4E/0x4F), data.
Refresh: Display Update Control 2 (0x22) then master activation (0x20); the values per driver
are in `_FAMILY`. Partial refresh = display mode 2 (0xFC) on the RAM window of the changed
rows, where the chip has a partial waveform; elsewhere (SSD1608, SSD1675/B, every 4-gray
mode) `partial = False`: the changed rows are sent and the refresh is full.
"""

from micropython import const

from .ops_base import OpsBase

_DRIVER_CONTROL = const(0x01)
_GATE_VOLTAGE = const(0x03)
_SOURCE_VOLTAGE = const(0x04)
_BOOSTER = const(0x0C)
_DEEP_SLEEP = const(0x10)
_DATA_MODE = const(0x11)
_SW_RESET = const(0x12)
_TEMP_CONTROL = const(0x18)
_MASTER_ACTIVATE = const(0x20)
_DISP_CTRL1 = const(0x21)
_DISP_CTRL2 = const(0x22)
_WRITE_VCOM_REG = const(0x2C)
_WRITE_LUT = const(0x32)
_DUMMY_LINE = const(0x3A)
_GATE_LINE = const(0x3B)
_WRITE_BORDER = const(0x3C)
_END_OPTION = const(0x3F)
_SET_RAMXPOS = const(0x44)
_SET_RAMYPOS = const(0x45)
_SET_RAMXCOUNT = const(0x4E)
_SET_RAMYCOUNT = const(0x4F)
_ANALOG_BLOCK = const(0x74)
_DIGITAL_BLOCK = const(0x7E)
_PARTIAL = const(0xFC)  # display mode 2, the panel stays powered
# Modelled times, used only when the display has no BUSY pin.
_RESET_MS = const(20)
_PARTIAL_MS = const(500)

# Driver class -> (full update 0x22 value, partial: True, full-refresh ms without BUSY, init).
# The init replays the driver's power_up() after the resets; the RAM window and counters
# follow per band.
_FAMILY = {
    "Adafruit_SSD1608": (0xC7, False, 3000, "ssd1608"),
    "Adafruit_SSD1675": (0xF4, False, 3000, "ssd1675"),
    "Adafruit_SSD1675B": (0xC7, False, 3000, "ssd1675b"),
    "Adafruit_SSD1680": (0xF4, True, 3000, "ssd1680"),
    "Adafruit_SSD1680_Legacy": (0xF4, True, 3000, "ssd1680"),
    "Adafruit_SSD1680B": (0xF7, True, 3000, "ssd1680"),
    "Adafruit_SSD1680_Grayscale4": (0xC7, False, 6000, "ssd1680_gray"),
    "Adafruit_SSD1681": (0xF7, True, 3000, "ssd1681"),
    "Adafruit_SSD1681_Grayscale4": (0xC7, False, 6000, "ssd1681_gray"),
    "Adafruit_SSD1683": (0xF7, True, 1000, "ssd1683"),
    "Adafruit_SSD1683_Grayscale4": (0xCF, False, 6000, "ssd1683_gray"),
}


def _table(module, name):
    """A waveform table of Adafruit's driver module (the driver's own bytes, not a copy)."""
    mod = __import__("adafruit_epd." + module, None, None, (name,))
    table = getattr(mod, name, None)
    if table is None:
        raise ValueError(f"defio_epd: adafruit_epd.{module} has no {name}")
    return bytearray(table)


class SSD1680Ops(OpsBase):
    """The family's operations; `kind` is the Adafruit class whose row applies."""
    name = "SSD1680"

    def __init__(self, display, busy_timeout_ms):
        super().__init__(display, busy_timeout_ms)
        from . import _mro  # the row of the nearest driver class (an app's subclass too)

        kind = next(c.__name__ for c in _mro(type(display)) if c.__name__ in _FAMILY)
        self.name = kind[len("Adafruit_"):]
        self.update_full, self.partial, self.full_ms, self.init_kind = _FAMILY[kind]
        xoff = getattr(display, "_colstart", 0) // 8
        if kind == "Adafruit_SSD1680_Legacy":
            xoff = 1
        self.xoff = xoff

    # -- operations ---------------------------------------------------------------------
    def reset(self):
        """Hardware and software reset, as the driver's power_up() (which waits forever)."""
        self.display.hardware_reset()
        self.wait_busy("reset", _RESET_MS)
        self.command(_SW_RESET)
        self.wait_busy("software reset", _RESET_MS)

    def init(self):
        """Set the freshly reset controller up, as the driver's power_up()."""
        c = self.command
        h = self.rows - 1
        gates = bytearray((h & 0xFF, h >> 8, 0))
        k = self.init_kind
        if k == "ssd1608":
            c(_DRIVER_CONTROL, gates)
            c(_DUMMY_LINE, bytearray((0x1B,)))
            c(_GATE_LINE, bytearray((0x0B,)))
            c(_DATA_MODE, bytearray((0x03,)))
            c(_WRITE_VCOM_REG, bytearray((0x70,)))
            c(_WRITE_LUT)  # the driver's table is bytes, which its command() never sends
        elif k in ("ssd1675", "ssd1675b"):
            c(_ANALOG_BLOCK, bytearray((0x54,)))
            c(_DIGITAL_BLOCK, bytearray((0x3B,)))
            c(_DRIVER_CONTROL, gates)
            c(_DATA_MODE, bytearray((0x03,)))
            c(_WRITE_BORDER, bytearray((0x03,)))
            c(_WRITE_VCOM_REG, bytearray((0x70 if k == "ssd1675" else 0x50,)))
            # The driver sends its voltages and LUT as slices of a bytes table, which its
            # command() never sends: only the command bytes reach the panel. The same here.
            for cmd in (_GATE_VOLTAGE, _SOURCE_VOLTAGE, _DUMMY_LINE, _GATE_LINE, _WRITE_LUT):
                c(cmd)
        elif k == "ssd1680":
            c(_DRIVER_CONTROL, gates)
            c(_DATA_MODE, bytearray((0x03,)))
            c(_WRITE_VCOM_REG, bytearray((0x36,)))
            c(_GATE_VOLTAGE, bytearray((0x17,)))
            c(_SOURCE_VOLTAGE, bytearray((0x41, 0x00, 0x32)))
            c(_WRITE_BORDER, bytearray((0x05,)))
        elif k == "ssd1680_gray":
            c(_ANALOG_BLOCK, bytearray((0x54,)))
            c(_DIGITAL_BLOCK, bytearray((0x3B,)))
            c(_DRIVER_CONTROL, bytearray((0x27, 0x01, 0x00)))  # as the driver: 296 gates
            c(_DATA_MODE, bytearray((0x03,)))
            c(_WRITE_BORDER, bytearray((0x00,)))
            c(_WRITE_VCOM_REG, bytearray((self.display._vcom,)))
            c(_END_OPTION, bytearray((0x22,)))
            c(_GATE_VOLTAGE, bytearray((0x17,)))
            c(_SOURCE_VOLTAGE, bytearray((0x41, 0x00, 0x32)))
            c(_DISP_CTRL1, bytearray((0x00, 0x80)))
            c(_WRITE_LUT, _table("ssd1680", "_SSD1680_GRAY4_LUT"))
        elif k == "ssd1681":
            c(_DRIVER_CONTROL, gates)
            c(_DATA_MODE, bytearray((0x03,)))
            c(_WRITE_BORDER, bytearray((0x05,)))
            c(_TEMP_CONTROL, bytearray((0x80,)))
        elif k == "ssd1681_gray":
            c(_DRIVER_CONTROL, gates)
            c(_WRITE_BORDER, bytearray((0x00,)))
            c(_TEMP_CONTROL, bytearray((0x80,)))
            c(_DATA_MODE, bytearray((0x03,)))
            c(_WRITE_LUT, _table("ssd1681", "_SSD1681_GRAY4_LUT"))
        elif k == "ssd1683":
            c(_WRITE_BORDER, bytearray((0x05,)))
            c(_TEMP_CONTROL, bytearray((0x80,)))
            c(_DATA_MODE, bytearray((0x03,)))
            c(_DRIVER_CONTROL, gates)
        else:  # ssd1683_gray
            c(_BOOSTER, bytearray((0x8B, 0x9C, 0xA4, 0x0F)))
            c(_DISP_CTRL1, bytearray((0x00, 0x00)))
            c(_WRITE_BORDER, bytearray((0x03,)))
            c(_DATA_MODE, bytearray((0x03,)))
            c(_WRITE_LUT, _table("ssd1683", "_SSD1683_GRAY4_LUT"))
            c(_END_OPTION, bytearray((0x07,)))
            c(_GATE_VOLTAGE, bytearray((0x17,)))
            c(_SOURCE_VOLTAGE, bytearray((0x41, 0xA8, 0x32)))
            c(_WRITE_VCOM_REG, bytearray((0x30,)))
            c(_DRIVER_CONTROL, gates)

    def window(self, x0, x1, y0, y1):
        o = self.xoff
        self.command(_SET_RAMXPOS, bytearray((x0 + o, x1 + o)))
        self.command(_SET_RAMYPOS, bytearray((y0 & 0xFF, y0 >> 8, y1 & 0xFF, y1 >> 8)))

    def write_band(self, plane, x0, x1, y0, y1, data):
        """Rows y0..y1, byte columns x0..x1 of one plane (0 black/white, 1 the second)."""
        self.window(x0, x1, y0, y1)
        self.command(_SET_RAMXCOUNT, bytearray((x0 + self.xoff,)))
        self.command(_SET_RAMYCOUNT, bytearray((y0 & 0xFF, y0 >> 8)))
        self.write_ram(plane, data)

    def refresh(self, full, x0, x1, y0, y1):
        """Start a refresh; `wait_refresh` waits for it (the app runs meanwhile)."""
        if not full:
            self.window(x0, x1, y0, y1)
        self.command(_DISP_CTRL2, bytearray((self.update_full if full else _PARTIAL,)))
        self.command(_MASTER_ACTIVATE)

    def wait_refresh(self, full):
        if full:
            self.wait_busy("full refresh", self.full_ms)
        else:
            self.wait_busy("partial refresh", _PARTIAL_MS)

    def sleep(self):
        """Deep sleep, which only a hardware reset ends: without a reset pin the panel stays
        awake (as Adafruit's SSD1683 driver does), or the next attach could not wake it."""
        if self.display._rst is not None:
            self.command(_DEEP_SLEEP, bytearray((0x01,)))
