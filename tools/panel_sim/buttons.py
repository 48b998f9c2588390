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
"""

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
