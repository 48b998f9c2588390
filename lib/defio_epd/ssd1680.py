"""SSD1680 operations for defio_epd, built on the driver's primitives (`command`,
`write_ram`, the chip select, D/C and BUSY pins) with a timeout on every BUSY wait.

RAM layout = the driver's buffer layout: X = byte column (8 pixels), Y = row; data entry mode
0x03 (X then Y, both increasing). Partial refresh: Display Update Control 2 = 0xFC (display
mode 2, the panel stays powered); full: 0xF4 (mode 1, as Adafruit's `update()`).
"""

from micropython import const

from .ops_base import OpsBase

_DRIVER_CONTROL = const(0x01)
_GATE_VOLTAGE = const(0x03)
_SOURCE_VOLTAGE = const(0x04)
_DEEP_SLEEP = const(0x10)
_DATA_MODE = const(0x11)
_SW_RESET = const(0x12)
_MASTER_ACTIVATE = const(0x20)
_DISP_CTRL2 = const(0x22)
_WRITE_VCOM_REG = const(0x2C)
_WRITE_BORDER = const(0x3C)
_SET_RAMXPOS = const(0x44)
_SET_RAMYPOS = const(0x45)
_SET_RAMXCOUNT = const(0x4E)
_SET_RAMYCOUNT = const(0x4F)
_UPDATE_FULL = const(0xF4)
_UPDATE_PARTIAL = const(0xFC)
# Modelled refresh times, used only when the display has no BUSY pin.
_FULL_MS = const(3000)
_PARTIAL_MS = const(500)
_RESET_MS = const(20)


class SSD1680Ops(OpsBase):
    name = "SSD1680"

    # -- operations ---------------------------------------------------------------------
    def reset(self):
        """Hardware and software reset, as the driver's power_up() (which waits forever)."""
        self.display.hardware_reset()
        self.wait_busy("reset", _RESET_MS)
        self.command(_SW_RESET)
        self.wait_busy("software reset", _RESET_MS)

    def init(self):
        """Set the freshly reset controller up, as the driver's power_up()."""
        h = self.rows - 1
        self.command(_DRIVER_CONTROL, bytearray((h & 0xFF, h >> 8, 0)))
        self.command(_DATA_MODE, bytearray((0x03,)))
        self.command(_WRITE_VCOM_REG, bytearray((0x36,)))
        self.command(_GATE_VOLTAGE, bytearray((0x17,)))
        self.command(_SOURCE_VOLTAGE, bytearray((0x41, 0x00, 0x32)))
        self.command(_WRITE_BORDER, bytearray((0x05,)))

    def window(self, x0, x1, y0, y1):
        self.command(_SET_RAMXPOS, bytearray((x0, x1)))
        self.command(_SET_RAMYPOS, bytearray((y0 & 0xFF, y0 >> 8, y1 & 0xFF, y1 >> 8)))

    def write_band(self, plane, x0, x1, y0, y1, data):
        """Rows y0..y1, byte columns x0..x1 of one plane (0 black/white, 1 red)."""
        self.window(x0, x1, y0, y1)
        self.command(_SET_RAMXCOUNT, bytearray((x0,)))
        self.command(_SET_RAMYCOUNT, bytearray((y0 & 0xFF, y0 >> 8)))
        self.write_ram(plane, data)

    def refresh(self, full, x0, x1, y0, y1):
        """Start a refresh; `wait_refresh` waits for it (the app runs meanwhile)."""
        if not full:
            self.window(x0, x1, y0, y1)
        self.command(_DISP_CTRL2, bytearray((_UPDATE_FULL if full else _UPDATE_PARTIAL,)))
        self.command(_MASTER_ACTIVATE)

    def wait_refresh(self, full):
        if full:
            self.wait_busy("full refresh", _FULL_MS)
        else:
            self.wait_busy("partial refresh", _PARTIAL_MS)

    def sleep(self):
        self.command(_DEEP_SLEEP, bytearray((0x01,)))
