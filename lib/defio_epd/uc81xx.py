"""UC81xx / IL0xxx / EK79686 operations for defio_epd (Adafruit_IL0373 and _213_Flex_Mono,
IL0398, IL91874, EK79686, UC8151D, UC8179, UC8253 and _Mono, _Tricolor), on the driver's
primitives with a timeout on every BUSY wait (BUSY_N: low while busy, on all of them).

RAM layout = the driver's buffer layout: rows of width/8 bytes; plane 0 goes through DTM1
(0x10), plane 1 through DTM2 (0x13), whatever they mean on the panel. The set-up after the
reset is the driver's own power_up() (so each variant's panel setting, LUTs and resolution
are the driver's), run with its reset skipped (done before, so that the panel's epoch is read
between the two) and its BUSY waits bounded by busy_timeout_ms.

What differs per chip (a class row each):
- PTL 0x90 partial window, 8-bit X (IL0373, UC8151D, UC8253: HRST, HRED, VRST 2 B, VRED 2 B,
  PT_SCAN) or 16-bit X (IL0398, UC8179: every coordinate 2 B). A band: PTL, PTIN 0x91, DTM,
  PTOUT 0x92. Partial refresh: PTL = bounding box, PTIN, DRF 0x12, PTOUT once done; full:
  PTOUT, DRF.
- No partial window (IL91874, EK79686): a band goes through partial data transmission
  (PDTM1 0x14 / PDTM2 0x15: X, Y, W, L (2 B each, pixels) then the data) and every refresh
  is full (DRF): `partial = False`, only the changed rows are sent.
"""


from micropython import const

from .ops_base import OpsBase

_POWER_OFF = const(0x02)
_DEEP_SLEEP = const(0x07)
_DTM1 = const(0x10)
_DTM2 = const(0x13)
_PDTM1 = const(0x14)
_PDTM2 = const(0x15)
_DISPLAY_REFRESH = const(0x12)
_PTL = const(0x90)
_PTIN = const(0x91)
_PTOUT = const(0x92)
_SLEEP_CHECK = const(0xA5)
_RESET_MS = const(20)


class _UC81xxOps(OpsBase):
    busy_active_low = True
    ptl16 = False  # PTL coordinates: 8-bit X (False) or 16-bit X (True)
    full_ms = 15000  # modelled refresh times: used only when the display has no BUSY pin
    partial_ms = 1000

    def reset(self):
        self.display.hardware_reset()
        self.wait_busy("reset", _RESET_MS)

    def init(self):
        """The driver's power_up() after the reset: its commands, bounded waits."""
        disp = self.display
        disp.hardware_reset = _no_reset  # done by reset(): the epoch is read in between
        disp.busy_wait = self._driver_wait
        ok = False
        try:  # no except: an interrupt propagates as it is, after the bus is released
            disp.power_up()
            ok = True
        finally:
            del disp.hardware_reset
            del disp.busy_wait
            if not ok:
                self._release()

    def _driver_wait(self):
        disp = self.display
        if disp._busy is None:  # the driver's own pause (bounded: no pin to poll)
            type(disp).busy_wait(disp)
        else:
            self.wait_busy("power up", _RESET_MS)

    def write_ram(self, plane, data):
        self.command(_DTM2 if plane else _DTM1)
        self.send_data(data)

    def window(self, x0, x1, y0, y1):
        xs, xe = x0 * 8, x1 * 8 + 7
        if self.ptl16:
            p = (xs >> 8, xs & 0xFF, xe >> 8, xe & 0xFF)
        else:
            p = (xs, xe)
        self.command(_PTL, bytearray(p + (y0 >> 8, y0 & 0xFF, y1 >> 8, y1 & 0xFF, 0x01)))

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
            self.wait_busy("full refresh", self.full_ms, 2 * self.full_ms)
        else:
            self.wait_busy("partial refresh", self.partial_ms, 2 * self.full_ms)
            self.command(_PTOUT)

    def sleep(self):
        self.command(_POWER_OFF)
        self.wait_busy("power off", _RESET_MS)
        self.command(_DEEP_SLEEP, bytearray((_SLEEP_CHECK,)))


def _no_reset():
    pass


class _NoWindowOps(_UC81xxOps):
    """No partial window: bands through PDTM1/PDTM2, every refresh full."""

    partial = False

    def window(self, x0, x1, y0, y1):
        raise NotImplementedError("no partial window on this controller")

    def write_band(self, plane, x0, x1, y0, y1, data):
        x, w, n = x0 * 8, (x1 - x0 + 1) * 8, y1 - y0 + 1
        self.command(_PDTM2 if plane else _PDTM1,
                     bytearray((x >> 8, x & 0xFF, y0 >> 8, y0 & 0xFF, w >> 8, w & 0xFF,
                                n >> 8, n & 0xFF)))
        self.send_data(data)

    def refresh(self, full, x0, x1, y0, y1):
        self.command(_DISPLAY_REFRESH)

    def wait_refresh(self, full):
        self.wait_busy("full refresh", self.full_ms, 2 * self.full_ms)


class UC8151DOps(_UC81xxOps):
    name = "UC8151D"


class IL0373Ops(_UC81xxOps):
    name = "IL0373"


class IL0398Ops(_UC81xxOps):
    name = "IL0398"
    ptl16 = True


class UC8179Ops(_UC81xxOps):
    name = "UC8179"
    ptl16 = True


class UC8253Ops(_UC81xxOps):
    name = "UC8253"


class IL91874Ops(_NoWindowOps):
    name = "IL91874"
    full_ms = 16000


class EK79686Ops(_NoWindowOps):
    name = "EK79686"
    full_ms = 16000
