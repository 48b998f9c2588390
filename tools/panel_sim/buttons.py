"""The simulated board's analog inputs: the 2.7" eInk shield's four buttons on one pin (A3).

The shield reads its buttons through a resistor ladder: a pull-up to 3.3 V, each button pulls
the pin to ground through its own resistor, so the pin's level says which one is down. The
model: a 10 kOhm pull-up; button 1 shorts the pin, 2, 3 and 4 go through 2.2 k, 4.7 k and
12 k (levels 0, 0.18, 0.32 and 0.55 of full scale: what Adafruit's epd_shieldtest.py sorts
with its thresholds 0.13, 0.25, 0.4 and 0.75). Buttons held at once are resistors in parallel.

A schedule says which button is pressed when, in seconds from the device's first frame on
the link (the app opening its pins): `parse_schedule("1@0.5+1,2@2+1")` is button 1 from 0.5 s
for 1 s, then button 2 from 2 s for 1 s. Values are 16-bit, as CircuitPython's
`AnalogIn.value` (0..65535).

Or presses that wait for the app (`Presses`, from a sequence "1,2,3,4": buttons, no times):
each button is held from when the sequence reaches it until the panel sees the app's next
refresh start (the app read it and is drawing), then released; the next press begins when
that refresh is over and the app reads the ladder again (that read sees the release). The
sequence is done (`done`, an Event) at that read after the last one's refresh: no assumption
about how long the app takes to draw.
"""

import threading
import time

PULL_UP = 10000  # ohms
LADDER = {1: 0, 2: 2200, 3: 4700, 4: 12000}  # button -> ohms to ground
FULL = 65535
DEFAULT_PIN = 17  # board.A3 in lib/board.py


def parse_schedule(text):
    """"B@START+LENGTH,..." -> [(button, start_s, length_s)]; ValueError with one line."""
    out = []
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        try:
            button, _, when = item.partition("@")
            start, _, length = when.partition("+")
            press = (int(button), float(start), float(length))
        except ValueError:
            raise ValueError(f"button press {item!r}: give BUTTON@START+SECONDS, "
                             "e.g. 1@0.5+1") from None
        if press[0] not in LADDER or press[1] < 0 or press[2] <= 0:
            raise ValueError(f"button press {item!r}: a button of {sorted(LADDER)}, a start "
                             ">= 0 and a length > 0")
        out.append(press)
    return out


def level(schedule, t):
    """The ladder's output at `t` seconds from the first frame (0..FULL)."""
    down = [LADDER[b] for b, start, length in schedule if start <= t < start + length]
    if not down:
        return FULL
    if 0 in down:
        return 0
    r = 1 / sum(1 / ohms for ohms in down)
    return round(FULL * r / (r + PULL_UP))


def button_for(value):
    """What epd_shieldtest.py's read_buttons() makes of a value (None: no button)."""
    reading = value / FULL
    for limit, button in ((0.75, None), (0.4, 4), (0.25, 3), (0.13, 2)):
        if reading > limit:
            return button
    return 1


def is_sequence(text):
    """True for a sequence of presses that wait for the app ("1,2,3,4"), not a schedule."""
    return bool(text and text.strip()) and "@" not in text


def parse_sequence(text):
    """"1,2,3,4" -> [1, 2, 3, 4]; ValueError with one line."""
    out = []
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        if not item.isdigit() or int(item) not in LADDER:
            raise ValueError(f"button press {item!r}: a button of {sorted(LADDER)} (a sequence "
                             "of presses, e.g. 1,2,3,4) or BUTTON@START+SECONDS")
        out.append(int(item))
    return out


class Presses:
    """The sequence's state: `read(busy)` is the ladder's level at an analog read (busy: the
    panel is refreshing), `refresh_started()` the panel's news of a refresh."""

    def __init__(self, order):
        self.order = list(order)
        self.index = 0  # the press under way
        self.held = bool(self.order)  # held, or released and waiting for the refresh's end
        self.done = threading.Event()
        self.done_at = None  # time.monotonic() when the sequence was done
        if not self.order:
            self._finish()

    def read(self, busy=False):
        if self.done.is_set():
            return FULL
        if self.held:
            return level([(self.order[self.index], 0, 1)], 0)
        if not busy:  # the app reads again after its refresh: released, and on to the next
            self.index += 1
            self.held = self.index < len(self.order)
            if not self.held:
                self._finish()
        return FULL

    def _finish(self):
        self.done_at = time.monotonic()
        self.done.set()

    def refresh_started(self):
        self.held = False

    def describe(self):
        if self.done.is_set():
            return f"all {len(self.order)} presses acted on"
        b = self.order[self.index]
        what = ("held, waiting for the app's refresh" if self.held
                else "released, waiting for the refresh to end and the app to read again")
        return f"press {self.index + 1} of {len(self.order)} (button {b}) {what}"


def parse_buttons(text):
    """A schedule or a sequence: (schedule, Presses or None); ValueError with one line."""
    if is_sequence(text):
        return [], Presses(parse_sequence(text))
    return parse_schedule(text), None
