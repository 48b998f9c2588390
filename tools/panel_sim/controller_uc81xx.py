"""The UC81xx / IL0xxx / EK79686 family: one controller model, a row of facts per chip.

Every chip of the family takes commands with D/C low and their parameters (or RAM data) with
D/C high; RAM data goes through DTM1 (0x10, plane 0) and DTM2 (0x13, plane 1), rows of
width/8 bytes, MSB left. A DTM command starts at the top left of the whole RAM, or of the
partial window when partial mode is on; a byte past its end is an error. Display refresh
(DRF 0x12) needs the power on (PON 0x04) and shows the partial window in partial mode, else
everything. BUSY_N is low while busy on all of them. Deep sleep (DSLP 0x07 with check code
0xA5; any other code is ignored, as the chips do) until a hardware reset.

What differs (the rows of CHIPS):
- the partial window: PTL 0x90 with 8-bit X (IL0373, UC8151D, UC8253: HRST, HRED, VRST
  2 B, VRED 2 B, PT_SCAN) or 16-bit X (IL0398, UC8179: HRST 2 B, HRED 2 B, VRST 2 B, VRED
  2 B, PT_SCAN), with PTIN 0x91 / PTOUT 0x92; or none (IL91874, EK79686: no partial mode;
  their partial data commands PDTM1 0x14 / PDTM2 0x15 take X 2 B, Y 2 B, W 2 B, L 2 B and
  then W/8 x L bytes into that rectangle of plane 0 / 1, and PDRF 0x16 with X, Y, W, L
  refreshes one; EK79686's 0x90 and 0x91 are vendor registers);
- the resolution command TRES 0x61 (3 B: HRES, VRES 2 B; or 4 B: HRES 2 B, VRES 2 B), checked
  against the panel's size when sent;
- what the planes mean (as Adafruit's driver draws them: `set_black_buffer` /
  `set_color_buffer` and their inversion): which plane is black and which bit means black,
  which plane is the colour (red) one and its "on" bit, or none (monochrome panels: the other
  plane is not shown). The UC8179 follows its panel setting (PSR 0x00 bit 4 KW/R: 1 =
  black/white only), as Adafruit_UC8179(tri_color=) sets it. Adafruit_UC8253_Mono and
  _Tricolor choose their planes in begin(), not in the constructor: an app that does not
  call begin() draws into the other planes, and the panel shows that, as a real one would;
- the times (TIMES, seconds at time scale 1: controller_base): DRF in full or partial mode,
  PON 0x04 and POF 0x02 (reset_s where no figure is published). A tri-colour panel has one
  waveform, so its partial refresh takes as long as a full one; the UC8179 takes the black/
  white or the tri-colour panel's times as its panel setting (KW/KWR) says at the refresh.
"""

from .controller_base import Controller, Times

# Commands every chip of the family knows (name only: parameters are recorded).
COMMON = {
    0x00: "psr", 0x01: "pwr", 0x02: "pof", 0x03: "pfs", 0x04: "pon", 0x05: "pmes",
    0x06: "btst", 0x07: "dslp", 0x10: "dtm1", 0x11: "dsp", 0x12: "drf", 0x13: "dtm2",
    0x20: "lut_vcom", 0x21: "lut_ww", 0x22: "lut_bw", 0x23: "lut_wb", 0x24: "lut_bb",
    0x30: "pll", 0x40: "tsc", 0x41: "tse", 0x42: "tsw", 0x43: "tsr", 0x50: "cdi",
    0x51: "lpd", 0x60: "tcon", 0x61: "tres", 0x65: "gsst", 0x70: "rev", 0x71: "flg",
    0x80: "amv", 0x81: "vv", 0x82: "vdcs", 0xA0: "pgm", 0xA1: "apg", 0xA2: "rotp",
    0xE0: "ccset", 0xE3: "pws", 0xE5: "tsset",
}
PARTIAL_WINDOW = {0x90: "ptl", 0x91: "ptin", 0x92: "ptout"}
PARTIAL_DATA = {0x14: "pdtm1", 0x15: "pdtm2", 0x16: "pdrf"}
EK_VENDOR = {c: f"vendor_{c:02x}" for c in (0x4D, 0x83, 0x84, 0x86, 0x87, 0x88, 0x90, 0x91,
                                            0xA8, 0xA9, 0xAA, 0xAB, 0xB1, 0xB9)}

# Plane meaning: (plane, bit value that means "on"). Black first, then colour (or None).
_K0, _R1 = (0, 0), (1, 0)  # Adafruit's default: both inverted (0 = black, 0 = red)

# key: name, default size, PTL format (8, 16 or None), PDTM/PDRF, TRES bytes (or None),
# black, colour, extra command names.
CHIPS = {
    "il0373": ("IL0373", (104, 212), 8, False, 3, _K0, _R1, {}),
    "il0373_213_flex_mono": ("IL0373", (104, 212), 8, False, 3, (1, 0), None, {}),
    "il0398": ("IL0398", (400, 300), 16, False, 4, _K0, _R1, {}),
    "il91874": ("IL91874", (176, 264), None, True, 4, _K0, (1, 1), {0xF8: "vendor_f8"}),
    "ek79686": ("EK79686", (176, 264), None, True, 4, _K0, (1, 1), EK_VENDOR),
    "uc8151d": ("UC8151D", (128, 296), 8, False, None, _K0, _R1,
                {0x17: "auto", 0x2A: "lutopt", 0x44: "pbc", 0xE4: "lvsel"}),
    "uc8179": ("UC8179", (800, 480), 16, False, 4, None, None, {0x15: "duspi", 0x17: "auto"}),
    "uc8253": ("UC8253", (240, 416), 8, False, None, _K0, (1, 1), {}),
    "uc8253_mono": ("UC8253", (240, 416), 8, False, None, (1, 0), None, {}),
    "uc8253_tricolor": ("UC8253", (240, 416), 8, False, None, (1, 1), (0, 0), {}),
}
# Times per key: full, partial, power on, power off (s). GxEPD2: ZinggJM/GxEPD2's src/, the
# "e.g." measured figures its headers quote; Adafruit_EPD: the Arduino library's ThinkInk
# panel, its default_refresh_delay (the wait without a BUSY pin).
_UC8253_TRI = Times(13.0, 13.0, 0.046, 0.040, "Adafruit_EPD ThinkInk_370_Tricolor_BABMFGNR.h; "
                    "power: GxEPD2 gdey/GxEPD2_370_GDEY037T03.h")
TIMES = {
    "il0373": Times(14.90, 14.90, 0.037, 0.021, "GxEPD2 epd3c/GxEPD2_213c.h (GDEW0213Z16)"),
    "il0373_213_flex_mono": Times(2.06, 0.28, 0.037, 0.021,
                                  "GxEPD2 epd/GxEPD2_213_flex.h (GDEW0213I5F)"),
    "il0398": Times(15.77, 15.77, 0.038, 0.020, "GxEPD2 epd3c/GxEPD2_420c.h (GDEW042Z15)"),
    "il91874": Times(15.52, 15.52, 0.101, 0.029, "GxEPD2 epd3c/GxEPD2_270c.h (GDEW027C44)"),
    "ek79686": Times(13.0, 13.0, None, None, "Adafruit_EPD ThinkInk_270_Tricolor_Z70.h"),
    "uc8151d": Times(17.81, 17.81, 0.080, 0.039, "GxEPD2 epd3c/GxEPD2_290_Z13c.h (GDEH029Z13)"),
    "uc8179": Times(4.11, 1.58, 0.134, 0.040, "GxEPD2 epd/GxEPD2_750_T7.h (GDEW075T7), KW"),
    "uc8253": _UC8253_TRI,
    "uc8253_mono": Times(1.49, 0.34, 0.046, 0.040, "GxEPD2 gdey/GxEPD2_370_GDEY037T03.h"),
    "uc8253_tricolor": _UC8253_TRI,
}
UC8179_KWR = Times(17.13, 17.13, 0.133, 0.025, "GxEPD2 epd3c/GxEPD2_750c_Z08.h (GDEW075Z08), KWR")

# UC8179 (black, colour) by panel setting bit 4: KW (Adafruit's tri_color=False) / KWR.
_UC8179_KW = ((0, 0), None)
_UC8179_KWR = ((0, 1), (1, 1))

_DTM = (0x10, 0x13)
_PDTM = (0x14, 0x15)

WHITE, BLACK, RED = (255, 255, 255), (0, 0, 0), (255, 0, 0)


class UC81xx(Controller):
    """One chip of the family; subclasses set `key` (a row of CHIPS)."""

    key = "uc8151d"
    RAM_COMMANDS = _DTM
    busy_active_low = True
    shown_psr = 0x1F  # the panel setting of the last refresh: what the visible planes mean

    def __init__(self, width=None, height=None, **kwargs):
        (self.name, _, self.ptl, self.pdtm, self.tres_len, self.black, self.colour,
         extra) = CHIPS[self.key]
        names = dict(COMMON)
        names.update(PARTIAL_WINDOW if self.ptl else {})
        names.update(PARTIAL_DATA if self.pdtm else {})
        names.update(extra)
        self.names = names
        if self.key == "uc8179" and height:
            height += -height % 8  # Adafruit_UC8179 rounds the height up to whole bytes
        super().__init__(width, height, **kwargs)
        black, colour = self.planes()
        for planes in (self.ram, self.visible):  # a new panel is white
            for i in (0, 1):
                planes[i][:] = self._white_byte(i, black, colour) * len(planes[i])

    @staticmethod
    def _white_byte(i, black, colour):
        for role in (black, colour):
            if role is not None and role[0] == i:
                return b"\xff" if role[1] == 0 else b"\x00"
        return b"\xff"

    def planes(self):
        """(black, colour) as (plane, on bit); colour None on black/white panels."""
        if self.key == "uc8179":
            return _UC8179_KW if self.shown_psr & 0x10 else _UC8179_KWR
        return self.black, self.colour

    def times(self):
        if self.key == "uc8179" and not getattr(self, "psr", 0x1F) & 0x10:
            return UC8179_KWR
        return TIMES[self.key]

    def _show(self, kind, window):
        self.shown_psr = self.psr  # a reset later does not change what the panel shows
        if self.key == "uc8179":  # the waveform of the panel setting in force
            self.full_s, self.partial_s, self.power_on_s, self.power_off_s = \
                self.scaled(self.times())
        super()._show(kind, window)

    # -- state ------------------------------------------------------------------------
    def _registers_reset(self):
        self.cmd = None
        self.params = bytearray()
        self.window = (0, 0, self.xbytes - 1, self.height - 1)  # x0, y0, x1, y1 (bytes, rows)
        self.partial_mode = False
        self.powered = False
        self.deep_sleep = False
        self.psr = 0x1F if self.key == "uc8179" else 0x0F
        self.addr = 0
        self.area = self.window

    def _whole(self):
        return (0, 0, self.xbytes - 1, self.height - 1)

    def spi(self, data, dc, pos):
        # PDTM1/PDTM2: the first 8 data bytes are the rectangle, the rest is RAM data.
        if dc and self.pdtm and not self.deep_sleep and self.cmd in _PDTM:
            self.counters["bytes"] += len(data)
            need = 8 - len(self.params)
            if need > 0:
                self.params += data[:need]
                data, pos = data[need:], pos + need
                if len(self.params) == 8:
                    self.area = self._rect(self.params, pos)
                    self.addr = 0
            if data:
                if self.area is None:
                    self.error("partial data with no valid rectangle", pos)
                    return
                self.counters["data_bytes"] += len(data)
                self._ram_data(self.ram[_PDTM.index(self.cmd)], data, pos)
            return
        super().spi(data, dc, pos)

    def _rect(self, p, pos):
        """X, Y, W, L (2 bytes each, X and W in pixels: whole bytes) -> (x0, y0, x1, y1)."""
        x, y = p[0] << 8 | p[1], p[2] << 8 | p[3]
        w, n = p[4] << 8 | p[5], p[6] << 8 | p[7]
        if x % 8 or w % 8 or not w or not n or x + w > self.xbytes * 8 or y + n > self.height:
            self.error(f"bad partial rectangle x {x} y {y} w {w} l {n} on a "
                       f"{self.width}x{self.height} panel", pos)
            return None
        return (x >> 3, y, (x + w) // 8 - 1, y + n - 1)

    def _ram_data(self, plane, data, pos):
        x0, y0, x1, y1 = self.area
        w = x1 - x0 + 1
        for i, b in enumerate(data):
            y, x = divmod(self.addr, w)
            if y0 + y > y1:
                self.error(f"RAM write past the window end ({w} x {y1 - y0 + 1} bytes)",
                           pos + i)
                break
            plane[(y0 + y) * self.xbytes + x0 + x] = b
            self.addr += 1

    def _command(self, b, pos):
        self._end_command()
        if not self._begin_command(b, pos, self.names):
            return
        self.cmd_pos = pos
        if b == 0x04:
            self.powered = True
            self._hold_busy(self.power_on_s)
        elif b == 0x02:
            self.powered = False
            self._hold_busy(self.power_off_s)
        elif b in _DTM:
            self.area = self.window if self.partial_mode else self._whole()
            self.addr = 0
        elif b in _PDTM and self.pdtm:  # UC8179: 0x15 is dual SPI
            self.area = None
        elif b in (0x91, 0x92) and self.ptl:  # EK79686: vendor registers
            self.partial_mode = b == 0x91
        elif b == 0x12:
            if not self.powered:
                self.error("display refresh with the power off (PON 0x04 first)", pos)
            elif self.partial_mode:
                self._show("partial", self.window)
            else:
                self._show("full", self._whole())

    def _end_command(self):
        """A command's parameters end at the next command byte: check the short ones."""
        c, p = self.cmd, self.params
        if c == 0x90 and self.ptl and len(p) < (7 if self.ptl == 8 else 9):
            self.error(f"PTL with {len(p)} parameter bytes", self.cmd_pos)
        elif c in _PDTM and self.pdtm and len(p) < 8:
            self.error(f"{self.names[c].upper()} with {len(p)} of 8 rectangle bytes",
                       self.cmd_pos)

    def _params_update(self):
        c, p = self.cmd, self.params
        if c == 0x90 and self.ptl == 8 and len(p) == 7:
            self._set_window(p[0], p[1], (p[2] & 1) << 8 | p[3], (p[4] & 1) << 8 | p[5])
        elif c == 0x90 and self.ptl == 16 and len(p) == 9:
            self._set_window(p[0] << 8 | p[1], p[2] << 8 | p[3], p[4] << 8 | p[5],
                             p[6] << 8 | p[7])
        elif c == 0x61 and len(p) == self.tres_len:
            w = p[0] if self.tres_len == 3 else p[0] << 8 | p[1]
            h = p[-2] << 8 | p[-1]
            if (w, h) != (self.width, self.height):
                self.error(f"resolution {w}x{h} sent to a {self.width}x{self.height} panel",
                           self.cmd_pos)
        elif c == 0x16 and len(p) == 8:
            area = self._rect(p, self.cmd_pos)
            if area is None:
                return
            if not self.powered:
                self.error("partial refresh with the power off (PON 0x04 first)", self.cmd_pos)
            else:
                self._show("partial", area)
        elif c == 0x07 and len(p) == 1 and p[0] == 0xA5:
            self.deep_sleep = True
            self.counters["deep_sleeps"] += 1
            self.state_lost("deep sleep")
        elif c == 0x00 and len(p) >= 1:
            self.psr = p[0]
        if c not in _DTM:
            self.recorded[self.names[c]] = list(p)

    def _set_window(self, hrst, hred, vrst, vred):
        x0, x1 = hrst >> 3, hred >> 3
        if not (x0 <= x1 < self.xbytes and vrst <= vred < self.height):
            self.error(f"partial window x {hrst}..{hred} y {vrst}..{vred} outside the "
                       f"{self.width}x{self.height} panel", self.cmd_pos)
            return
        self.window = (x0, vrst, x1, vred)

    # -- rendering ----------------------------------------------------------------------
    def image(self):
        """The visible image in the driver's rotation-0 frame (width x height), in the
        contract palette: white, black, red for the colour plane."""
        from PIL import Image

        img = Image.new("RGB", (self.width, self.height), WHITE)
        black, colour = self.planes()
        for role, rgb in ((black, BLACK), (colour, RED)):  # red drawn last: it wins
            if role is not None:
                img.paste(rgb, mask=self._mask(*role))
        return img

    def _mask(self, plane, on):
        """An L image: 255 where the plane's bit is `on` (rows of xbytes, MSB left)."""
        from PIL import Image

        bits = Image.frombytes("1", (self.xbytes * 8, self.height), bytes(self.visible[plane]))
        mask = bits.convert("L").crop((0, 0, self.width, self.height))
        return mask if on else mask.point(lambda v: 255 - v)

def _panel(key):
    return type(key.upper(), (UC81xx,), {"key": key, "size": CHIPS[key][1]})


PANELS = {key: _panel(key) for key in CHIPS}
UC8151D = PANELS["uc8151d"]
