"""What every simulated controller has: two RAM planes, the visible image, BUSY timing,
counters, errors with stream positions, the epoch, and PNG rendering in the shared palette.

Rendering (`image()`): the pixel (x, y) of the driver's rotation-0 frame is bit 0x80 >> (x % 8)
of byte y * xbytes + x // 8 in both planes; `COLOURS` says what the two bits mean: "mono"
(plane 0 only: 0 black, 1 white), "red" (plane 1 is the red plane, its "on" level per
`red_active_low`, red wins over black), "gray4" (the two bits together are the gray level,
`GRAY4`). A family with another meaning overrides `_colour` (or `GRAY4`).

The epoch is a 32-bit number that every reply to the device carries (protocol.reply). A new
panel starts at a random one; it changes whenever the panel may no longer hold what the device
told it: a hardware or software reset, deep sleep, a power loss, a new link connection (the
server calls `state_lost`). Between two equal epochs nothing was lost.

Times: every chip has a row of modelled times (`TIMES`, seconds at time scale 1, with a
one-line source): a full refresh, a partial one, and power on / power off where the chip has
such a step and a published figure (else the step holds `reset_s`, as a reset does). The
constructor scales the row by `time_scale`; `full_s`, `partial_s`, `power_on_s`,
`power_off_s` and `reset_s` given explicitly win over it, unscaled (`overrides` keeps them,
so that a replaced panel gets the same).
"""

import random
import time
from typing import ClassVar, NamedTuple

_epochs = random.Random()  # a new panel's first epoch: different from any earlier panel's

# The palette of every simulated panel (RGB).
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
RED = (255, 0, 0)
YELLOW = (255, 255, 0)
DARK = (85, 85, 85)
LIGHT = (170, 170, 170)

RESET_S = 0.002  # a reset's BUSY time at time scale 1 (every chip)


class Times(NamedTuple):
    """A chip's modelled times in seconds at time scale 1; None: no such step, or no figure
    published for it (the step then holds reset_s)."""
    full: float
    partial: float
    power_on: float | None = None
    power_off: float | None = None
    source: str = ""


class Controller:
    # Commands whose data bytes go to controller RAM, one per colour plane (subclasses).
    RAM_COMMANDS = ()
    name = "?"
    red_active_low = False  # the red plane's "on" bit (UC8151D/Adafruit: 0 = red)
    busy_active_low = False  # the BUSY pin's level while busy (UC8151D: low)
    COLOURS = "red"  # what the planes mean: "mono", "red" or "gray4" (module docstring)
    # 4-gray: (plane 0 bit, plane 1 bit) -> colour (Adafruit's SSD16xx Grayscale4 drivers).
    GRAY4: ClassVar[dict] = {(1, 1): WHITE, (1, 0): DARK, (0, 1): LIGHT, (0, 0): BLACK}
    BLANK = None  # the planes' bytes at power-on (None: white, the red plane off)

    size = (0, 0)  # the panel's width and height in pixels (subclasses)
    TIMES = Times(2.5, 0.4, source="the simulator's first figures (subclasses: their chip's)")

    def __init__(self, width=None, height=None, full_s=None, partial_s=None, reset_s=None,
                 clock=time.monotonic, time_scale=1.0, power_on_s=None, power_off_s=None):
        self.width = width or self.size[0]
        self.height = height or self.size[1]
        self.xbytes = (self.width + 7) // 8
        given = {"full_s": full_s, "partial_s": partial_s, "reset_s": reset_s,
                 "power_on_s": power_on_s, "power_off_s": power_off_s}
        self.overrides = {k: v for k, v in given.items() if v is not None}
        self.time_scale = time_scale
        self.reset_s = RESET_S * time_scale if reset_s is None else reset_s
        (self.full_s, self.partial_s, self.power_on_s,
         self.power_off_s) = self.scaled(self.times())
        self.clock = clock
        nbytes = self.xbytes * self.height
        blank = self.BLANK or (0xFF, 0xFF if self.red_active_low else 0x00)
        self.ram = [bytearray(bytes((b,)) * nbytes) for b in blank]
        self.visible = [bytearray(bytes((b,)) * nbytes) for b in blank]
        self.busy_until = 0.0
        self.busy_stuck = False
        self.on_refresh = None  # called with (kind, window) after each refresh starts
        self.counters = {"bytes": 0, "data_bytes": 0, "commands": 0, "refreshes": 0,
                         "partial_refreshes": 0, "full_refreshes": 0, "resets": 0,
                         "sw_resets": 0, "deep_sleeps": 0, "commands_while_busy": 0,
                         "ignored_in_deep_sleep": 0,
                         "power_losses": 0}
        self.command_counts = {}
        self.recorded = {}
        self.errors = []
        self.last_refresh_end = None
        self.epoch = _epochs.getrandbits(32)
        self.epoch_log = []  # why the epoch changed, in order
        self._registers_reset()

    def times(self):
        """The row of modelled times of this panel (the class's `TIMES`)."""
        return self.TIMES

    def scaled(self, row):
        """(full_s, partial_s, power_on_s, power_off_s): the row at this time scale, the
        constructor's explicit values in its place where given."""
        out = []
        for name, v in zip(("full_s", "partial_s", "power_on_s", "power_off_s"), row[:4],
                           strict=True):
            if name in self.overrides:
                out.append(self.overrides[name])
            else:
                out.append(self.reset_s if v is None else v * self.time_scale)
        return tuple(out)

    def times_summary(self):
        """The modelled times as panel.json reports them (seconds, at this time scale)."""
        row = self.times()
        names = ("full_s", "partial_s", "power_on_s", "power_off_s", "reset_s")
        out = {n: round(getattr(self, n), 6) for n in names}
        return dict(out, time_scale=self.time_scale, overrides=sorted(self.overrides),
                    source=row.source)

    def state_lost(self, why):
        """The panel may have lost what it was told: a new epoch."""
        self.epoch = (self.epoch + 1) & 0xFFFFFFFF
        self.epoch_log.append(why)
        del self.epoch_log[:-50]

    def hardware_reset(self):
        self.counters["resets"] += 1
        self._registers_reset()
        self._hold_busy(self.reset_s)
        self.state_lost("hardware reset")

    def power_loss(self):
        """The controller loses power and comes back (fault injection): registers reset, RAM
        garbage, BUSY released; the visible image stays (e-paper keeps it without power)."""
        self.counters["power_losses"] += 1
        self._registers_reset()
        for plane in self.ram:
            plane[:] = bytes(_epochs.getrandbits(8) for _ in range(len(plane)))
        self.busy_until = 0.0
        self.busy_stuck = False
        self.state_lost("power loss")

    def spi(self, data, dc, pos):
        """Bytes clocked in with chip select low; dc: 0 command, 1 data."""
        self.counters["bytes"] += len(data)
        if not dc:
            for i, b in enumerate(data):
                self._command(b, pos + i)
            return
        if self.deep_sleep:
            self.counters["ignored_in_deep_sleep"] += len(data)
            return
        if self.cmd in self.RAM_COMMANDS:
            self.counters["data_bytes"] += len(data)
            self._ram_data(self.ram[self.RAM_COMMANDS.index(self.cmd)], data, pos)
            return
        self._parameters(data, pos)

    def _begin_command(self, b, pos, names):
        """The start every command byte shares; False when the byte is to be ignored."""
        self.cmd = None
        self.params = bytearray()
        if self.deep_sleep:
            self.counters["ignored_in_deep_sleep"] += 1
            return False
        if b not in names:
            self.error(f"unknown command 0x{b:02x}", pos)
            return False
        if self.busy():
            self.counters["commands_while_busy"] += 1
        self._count(names[b])
        self.cmd = b
        return True

    def _parameters(self, data, pos):
        """Data bytes that are a command's parameters (not RAM data)."""
        if self.cmd is None:
            self.error("data byte without a command", pos)
            return
        self.params += data
        self._params_update()

    def busy(self):
        return self.busy_stuck or self.clock() < self.busy_until

    def busy_level(self):
        """The BUSY pin's level as the device reads it."""
        return int(self.busy() != self.busy_active_low)

    def _hold_busy(self, seconds):
        self.busy_until = max(self.busy_until, self.clock() + seconds)

    def error(self, msg, pos):
        self.errors.append(f"{msg} (stream offset {pos})")

    def _count(self, name):
        self.counters["commands"] += 1
        self.command_counts[name] = self.command_counts.get(name, 0) + 1

    def _show(self, kind, window):
        """Copy RAM to the visible image (window in byte columns and rows, inclusive)."""
        x0, y0, x1, y1 = window
        for p in (0, 1):
            for y in range(y0, y1 + 1):
                a = y * self.xbytes
                self.visible[p][a + x0:a + x1 + 1] = self.ram[p][a + x0:a + x1 + 1]
        self.counters["refreshes"] += 1
        self.counters[kind + "_refreshes"] += 1
        self._hold_busy(self.partial_s if kind == "partial" else self.full_s)
        self.last_refresh_end = self.busy_until
        if self.on_refresh:
            self.on_refresh(kind, window)

    def _colour(self, bw, second):
        """The colour of a pixel whose plane bits are bw (plane 0) and second (plane 1)."""
        if self.COLOURS == "gray4":
            return self.GRAY4[(bw, second)]
        if self.COLOURS == "red" and second == (0 if self.red_active_low else 1):
            return RED
        return WHITE if bw else BLACK

    def image(self):
        """The visible image (PIL, RGB) in the driver's rotation-0 frame: width x height."""
        from PIL import Image

        img = Image.new("RGB", (self.width, self.height), WHITE)
        px = img.load()
        p0, p1 = self.visible
        lut = {(a, b): self._colour(a, b) for a in (0, 1) for b in (0, 1)}
        for y in range(self.height):
            row = y * self.xbytes
            for x in range(self.width):
                i = row + (x >> 3)
                bit = 0x80 >> (x & 7)
                px[x, y] = lut[(1 if p0[i] & bit else 0, 1 if p1[i] & bit else 0)]
        return img
