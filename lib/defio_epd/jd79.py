"""JD79661 / JD79667 operations for defio_epd (Adafruit_JD79661 122x250, Adafruit_JD79667
180x384: quad colour, one plane of 2 bits per pixel), on the driver's primitives with a
timeout on every BUSY wait (BUSY_N: low while busy).

RAM layout = the driver's buffer layout: rows of `stride` bytes, 4 pixels per byte (the
width rounded up to 8 pixels on the JD79661, to 4 on the JD79667, as the driver's pixel()).
A band is written through the partial window (PTL 0x83: x and y start/end in pixels, x on
4-pixel bytes, 1 = window on; then DTM 0x10). These panels have a partial window but no
partial waveform: every refresh is full (PTL with the window off, DRF 0x12), `partial =
False`, and only the changed rows are sent. After a refresh the controller is set up again
before the next writes (the same sequence as the driver's power_up(), without its reset:
GxEPD2 does the same, the panel needs it). A refresh takes about 20 s: its BUSY wait is
bounded by busy_timeout_ms or 40 s, whichever is longer.
"""


from micropython import const

from .ops_base import OpsBase

_PSR = const(0x00)
_PWR = const(0x01)
_POF = const(0x02)
_POFS = const(0x03)
_PON = const(0x04)
_BTST = const(0x06)
_DSLP = const(0x07)
_DRF = const(0x12)
_PLL = const(0x30)
_CMD_4D = const(0x4D)
_CDI = const(0x50)
_TCON = const(0x60)
_TRES = const(0x61)
_PTL = const(0x83)
_CMD_B4 = const(0xB4)
_CMD_B5 = const(0xB5)
_CMD_E3 = const(0xE3)
_CMD_E7 = const(0xE7)
_CMD_E9 = const(0xE9)
_FULL_MS = const(25000)  # no BUSY pin: the model's wait (GxEPD2: 21.4 s measured)
_POWER_MS = const(200)
_REFRESH_BOUND_MS = const(40000)


class JD79661Ops(OpsBase):
    name = "JD79661"
    partial = False
    busy_active_low = True
    x_align = 8  # the driver's row stride: the width rounded up to this many pixels
    psr = b"\x8f\x29"
    tres = b"\x00\x80\x00\xfa"  # 128 x 250, as the driver's power_up()

    def __init__(self, display, busy_timeout_ms):
        super().__init__(display, busy_timeout_ms)
        a = self.x_align
        self.stride = (display._width + a - 1) // a * a // 4
        self.configured = False

    def reset(self):
        self.display.hardware_reset()
        self.wait_busy("reset", _POWER_MS)
        self.configured = False

    def init(self):
        """Set the freshly reset panel up and power it on, as the driver's power_up()."""
        self._configure()

    def _configure(self):
        c = self.command
        c(_CMD_4D, bytearray(b"\x78"))
        c(_PSR, bytearray(self.psr))
        c(_PWR, bytearray(b"\x07\x00"))
        c(_POFS, bytearray(b"\x10\x54\x44"))
        c(_BTST, bytearray(b"\x05\x00\x3f\x0a\x25\x12\x1a"))
        c(_CDI, bytearray(b"\x37"))
        c(_TCON, bytearray(b"\x02\x02"))
        c(_TRES, bytearray(self.tres))
        c(_CMD_E7, bytearray(b"\x1c"))
        c(_CMD_E3, bytearray(b"\x22"))
        c(_CMD_B4, bytearray(b"\xd0"))
        c(_CMD_B5, bytearray(b"\x03"))
        c(_CMD_E9, bytearray(b"\x01"))
        c(_PLL, bytearray(b"\x08"))
        c(_PON)
        self.wait_busy("power on", _POWER_MS)
        self.configured = True

    def window(self, x0, x1, y0, y1, on=1):
        xs, xe = x0 * 4, x1 * 4 + 3
        self.command(_PTL, bytearray((xs >> 8, xs & 0xFF, xe >> 8, xe & 0xFF,
                                      y0 >> 8, y0 & 0xFF, y1 >> 8, y1 & 0xFF, on)))

    def write_band(self, plane, x0, x1, y0, y1, data):
        if not self.configured:
            self._configure()
        self.window(x0, x1, y0, y1)
        self.write_ram(plane, data)

    def refresh(self, full, x0, x1, y0, y1):
        if not self.configured:
            self._configure()
        self.window(0, self.stride - 1, 0, self.rows - 1, 0)  # window off: the whole panel
        self.command(_DRF, bytearray(b"\x00"))
        self.configured = False  # set up again before the next writes

    def wait_refresh(self, full):
        self.wait_busy("refresh", _FULL_MS, _REFRESH_BOUND_MS)

    def sleep(self):
        self.command(_POF, bytearray(b"\x00"))
        self.wait_busy("power off", _POWER_MS)
        self.command(_DSLP, bytearray(b"\xa5"))


class JD79667Ops(JD79661Ops):
    name = "JD79667"
    x_align = 4
    psr = b"\x0f\x29"
    tres = b"\x00\xb4\x01\x80"  # 180 x 384
