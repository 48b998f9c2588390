"""UC8151D operations for defio_epd (Adafruit_UC8151D, e.g. 128x296), on the driver's
primitives with a timeout on every BUSY wait (BUSY_N: low while busy).

RAM layout = the driver's buffer layout: rows of width/8 bytes. A band is written through a
partial window (PTL 0x90 in pixels, X byte aligned; PTIN 0x91; DTM1 0x10 / DTM2 0x13; PTOUT
0x92). Partial refresh: PTL = the bounding box, PTIN, DRF 0x12; full: PTOUT, DRF.
"""

from micropython import const

from .ops_base import OpsBase

_PANEL_SETTING = const(0x00)
_POWER_OFF = const(0x02)
_POWER_ON = const(0x04)
_DEEP_SLEEP = const(0x07)
_DISPLAY_REFRESH = const(0x12)
_CDI = const(0x50)
_PTL = const(0x90)
_PTIN = const(0x91)
_PTOUT = const(0x92)
_FULL_MS = const(15000)
_PARTIAL_MS = const(1000)
_RESET_MS = const(20)


class UC8151DOps(OpsBase):
    name = "UC8151D"
    busy_active_low = True

    def reset(self):
        self.display.hardware_reset()
        self.wait_busy("reset", _RESET_MS)

    def init(self):
        """Power on and set the freshly reset panel up, as the driver's power_up()."""
        self.command(_POWER_ON)
        self.wait_busy("power on", _RESET_MS)
        self.command(_PANEL_SETTING, bytearray((0x1F,)))
        self.command(_CDI, bytearray((0x97,)))

    def window(self, x0, x1, y0, y1):
        self.command(_PTL, bytearray((x0 * 8, x1 * 8 + 7, y0 >> 8, y0 & 0xFF, y1 >> 8,
                                      y1 & 0xFF, 0x01)))

    def write_band(self, plane, x0, x1, y0, y1, data):
        self.window(x0, x1, y0, y1)
        self.command(_PTIN)
        self.write_ram(plane, data)
        self.command(_PTOUT)

    def refresh(self, full, x0, x1, y0, y1):
        if full:
            self.command(_PTOUT)
        else:
            self.window(x0, x1, y0, y1)
            self.command(_PTIN)
        self.command(_DISPLAY_REFRESH)

    def wait_refresh(self, full):
        if full:
            self.wait_busy("full refresh", _FULL_MS)
        else:
            self.wait_busy("partial refresh", _PARTIAL_MS)
            self.command(_PTOUT)

    def sleep(self):
        self.command(_CDI, bytearray((0xF7,)))
        self.command(_POWER_OFF)
        self.wait_busy("power off", _RESET_MS)
        self.command(_DEEP_SLEEP, bytearray((0xA5,)))
