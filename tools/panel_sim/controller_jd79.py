"""JD79661 / JD79667 controller model (quad colour: black, white, yellow, red; 2 bits per
pixel): the command set of Adafruit's drivers, GxEPD2's partial window, and defio_epd.

RAM: one plane, rows of `stride` bytes, 4 pixels per byte, the leftmost pixel in the top two
bits: 0 black, 1 white, 2 yellow, 3 red (Adafruit's buffer layout). The row stride is the
driver's: the width rounded up to 8 pixels (JD79661) or to 4 (JD79667). DTM (0x10) writes
from the top left of the partial window when PTL (0x83, pixels, x on 4-pixel bytes, last
byte 1 = window on) turned it on, else of the whole RAM; past the window's end is an error,
past the RAM's end (Adafruit's JD79667 buffer is rounded to 8 pixels wide, its rows to 4:
it sends more bytes than the RAM holds) is ignored and counted. DRF (0x12) needs the power on
(PON 0x04) and shows the window when it is on, else everything, with the same (full)
waveform either way: these panels have no partial waveform, so a window refresh takes the
full time (`full_s`). Times (`TIMES`, controller_base): a refresh 21.4 s, power on 0.16 s,
off 0.08 s at time scale 1, GxEPD2's measured figures. Every command's parameter count is
checked, and TRES's width against the RAM rows'. BUSY_N is low while busy (Adafruit's
busy_wait waits while it is low).
Deep sleep (0x07 with 0xA5) until a hardware reset. `visible`/`ram` are [plane, b""] (the
second plane is empty: the server's checkpoints read two).
"""

from .controller_base import Controller, Times

# command -> (name, parameter bytes)
COMMANDS = {
    0x00: ("psr", 2), 0x01: ("pwr", 2), 0x02: ("pof", 1), 0x03: ("pofs", 3), 0x04: ("pon", 0),
    0x06: ("btst", 7), 0x07: ("dslp", 1), 0x10: ("dtm", None), 0x12: ("drf", 1),
    0x30: ("pll", 1), 0x4D: ("cmd_4d", 1), 0x50: ("cdi", 1), 0x60: ("tcon", 2),
    0x61: ("tres", 4), 0x83: ("ptl", 9), 0xB4: ("cmd_b4", 1), 0xB5: ("cmd_b5", 1),
    0xE3: ("cmd_e3", 1), 0xE7: ("cmd_e7", 1), 0xE9: ("cmd_e9", 1),
}
NAMES = {c: n for c, (n, _) in COMMANDS.items()}
PALETTE = ((0, 0, 0), (255, 255, 255), (255, 255, 0), (255, 0, 0))  # 0 black .. 3 red
WHITE4 = 0x55  # four white pixels


class JD79661(Controller):
    name = "JD79661"
    size = (122, 250)  # GDEY0213F51, 2.13" (TRES 128 x 250)
    x_align = 8  # the driver's row stride: the width rounded up to 8 pixels
    RAM_COMMANDS = (0x10,)
    busy_active_low = True
    # Full, partial (the same waveform), power on, power off (s): GxEPD2's measured figures.
    TIMES = Times(21.43, 21.43, 0.157, 0.081,
                  "GxEPD2 epd4c/GxEPD2_213c_GDEY0213F51.h (GDEY0213F51)")

    def __init__(self, width=None, height=None, **kwargs):
        super().__init__(width, height, **kwargs)
        w = -(-self.width // self.x_align) * self.x_align
        self.stride = w // 4
        n = self.stride * self.height
        self.ram = [bytearray(bytes((WHITE4,)) * n), bytearray()]
        self.visible = [bytearray(bytes((WHITE4,)) * n), bytearray()]
        self.counters["ignored_past_ram_end"] = 0

    def _full(self):
        return (0, 0, self.stride - 1, self.height - 1)

    def _registers_reset(self):
        self.cmd = None
        self.params = bytearray()
        self.window = None  # (x0, y0, x1, y1) in bytes and rows, set by PTL
        self.partial_mode = False
        self.powered = False
        self.deep_sleep = False
        self.addr = 0
        self.area = None

    def _command(self, b, pos):
        self._check_count(pos)
        if not self._begin_command(b, pos, NAMES):
            return
        self.cmd_pos = pos
        if b == 0x04:
            self.powered = True
            self._hold_busy(self.power_on_s)
        elif b == 0x10:
            self.area = self.window if self.partial_mode else self._full()
            self.addr = 0

    def _check_count(self, pos):
        """The command before this byte had all its parameters."""
        if self.cmd is None or self.deep_sleep:
            return
        want = COMMANDS[self.cmd][1]
        if want is not None and len(self.params) < want:
            self.error(f"{NAMES[self.cmd]} (0x{self.cmd:02x}) got {len(self.params)} "
                       f"parameter bytes, needs {want}", pos)

    def _ram_data(self, plane, data, pos):
        x0, y0, x1, y1 = self.area
        w = x1 - x0 + 1
        for i, b in enumerate(data):
            y, x = divmod(self.addr, w)
            if y0 + y > y1:
                if self.partial_mode:
                    self.error(f"RAM write past the window end ({w} x {y1 - y0 + 1} bytes)",
                               pos + i)
                else:
                    self.counters["ignored_past_ram_end"] += len(data) - i
                break
            plane[(y0 + y) * self.stride + x0 + x] = b
            self.addr += 1

    def _params_update(self):
        c, p = self.cmd, self.params
        want = COMMANDS[c][1]
        if want is not None and len(p) > want:
            self.error(f"{NAMES[c]} (0x{c:02x}) takes {want} parameter bytes, got more",
                       self.cmd_pos)
            self.cmd = None  # one error per command
            return
        if len(p) < want:
            return
        if c == 0x83:
            self._ptl(p)
        elif c == 0x61 and (p[0] << 8 | p[1]) != self.stride * 4:
            self.error(f"TRES width {p[0] << 8 | p[1]} is not the RAM rows' "
                       f"{self.stride * 4} pixels (a {self.width} wide panel)", self.cmd_pos)
        elif c == 0x07:
            if p[0] == 0xA5:
                self.deep_sleep = True
                self.counters["deep_sleeps"] += 1
                self.state_lost("deep sleep")
        elif c == 0x02:
            self.powered = False
            self._hold_busy(self.power_off_s)
        elif c == 0x12:
            self._refresh()
        self.recorded[NAMES[c]] = list(p)

    def _ptl(self, p):
        xs, xe = p[0] << 8 | p[1], p[2] << 8 | p[3]
        ys, ye = p[4] << 8 | p[5], p[6] << 8 | p[7]
        if xs % 4 or xe % 4 != 3 or not xs <= xe < self.stride * 4 or \
                not ys <= ye < self.height or p[8] > 1:
            self.error(f"PTL window x {xs}..{xe} y {ys}..{ye} mode {p[8]} is not within "
                       f"{self.stride * 4} x {self.height} on 4-pixel bytes", self.cmd_pos)
            return
        self.window = (xs // 4, ys, xe // 4, ye)
        self.partial_mode = p[8] == 1

    def _refresh(self):
        if not self.powered:
            self.error("display refresh with the power off (PON 0x04 first)", self.cmd_pos)
        elif self.partial_mode:
            self._show("partial", self.window)
        else:
            self._show("full", self._full())

    def _show(self, kind, window):
        """RAM -> the visible image (window in bytes and rows, inclusive); one waveform."""
        x0, y0, x1, y1 = window
        ram, vis = self.ram[0], self.visible[0]
        for y in range(y0, y1 + 1):
            a = y * self.stride
            vis[a + x0:a + x1 + 1] = ram[a + x0:a + x1 + 1]
        self.counters["refreshes"] += 1
        self.counters[kind + "_refreshes"] += 1
        self._hold_busy(self.full_s)  # one waveform, a window or the whole panel
        self.last_refresh_end = self.busy_until
        if self.on_refresh:
            self.on_refresh(kind, window)

    def colour(self, x, y):
        """The visible pixel value (0 black, 1 white, 2 yellow, 3 red) at (x, y)."""
        return self.visible[0][y * self.stride + (x >> 2)] >> (6 - 2 * (x & 3)) & 3

    def image(self):
        """The visible image (PIL RGB, width x height, the driver's rotation-0 frame)."""
        from PIL import Image

        img = Image.new("RGB", (self.width, self.height))
        px = img.load()
        for y in range(self.height):
            for x in range(self.width):
                px[x, y] = PALETTE[self.colour(x, y)]
        return img


class JD79667(JD79661):
    name = "JD79667"
    size = (180, 384)  # Adafruit's driver (TRES 180 x 384)
    x_align = 4
    # GxEPD2's JD79667 panel (GDEY029F51H, 168 x 384) quotes the JD79661 panel's figures.
    TIMES = Times(21.43, 21.43, 0.157, 0.081,
                  "GxEPD2 epd4c/GxEPD2_290c_GDEY029F51H.h (GDEY029F51H)")
