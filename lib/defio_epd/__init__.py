"""defio_epd: Adafruit e-paper drivers drawing into defio memory, updated with only what changed.

    live = defio_epd.attach(display, *, delay_ms=500, settle_ms=200, max_delay_ms=None,
                            full_every=20, full_fraction=0.5, busy_timeout_ms=10000,
                            shadow=True)

`display` is an Adafruit_EPD driver built the usual way (without SRAM: sramcs_pin=None).
Its pixel buffers move into one `defio.DeferredIO` (contents kept). `delay_ms` after the
first write of a burst, the changed rows go to the panel and it refreshes once; while the app
is still drawing then (a write within `settle_ms`), the round waits on, up to `max_delay_ms`
from its first write (defio's settle phase): a redraw slower than `delay_ms` still reaches
the panel as one refresh. Why these values: a refresh costs 0.4 s (partial) to 2.5 s (full)
and leaves ghosting, so waiting 200 ms more while drawing goes on is cheaper than refreshing
a half-drawn screen, and an animation still gets a frame every 5 s (max_delay_ms=None:
5000, or delay_ms when that is longer). Defaults:
partial refreshes, a full one after `full_every` partial ones (0: never) or when more than
`full_fraction` of the rows changed, and for the first update (the panel's content is
unknown). `busy_timeout_ms` bounds every BUSY wait (a slow chip's
refresh: at least its own bound, README). `display.display()` becomes
`live.flush()`. `shadow=False` (for measurements: tools/bench/epd_workloads.py) keeps no
shadow and sends every row the dirty pages cover, per plane, at full width. See live.py for
the round and README for the limits.
"""

from micropython import const

from .live import Live

# Adafruit driver class -> (module of defio_epd, its operations class). A driver is matched
# by what it is: the first class of its MRO found here, so an app's own subclass of a driver
# gets that driver's operations. A new driver of a known command family is one row.
_DRIVERS = {
    "Adafruit_SSD1608": ("ssd1680", "SSD1680Ops"),
    "Adafruit_SSD1675": ("ssd1680", "SSD1680Ops"),
    "Adafruit_SSD1675B": ("ssd1680", "SSD1680Ops"),
    "Adafruit_SSD1680": ("ssd1680", "SSD1680Ops"),
    "Adafruit_SSD1680_Legacy": ("ssd1680", "SSD1680Ops"),
    "Adafruit_SSD1680B": ("ssd1680", "SSD1680Ops"),
    "Adafruit_SSD1680_Grayscale4": ("ssd1680", "SSD1680Ops"),
    "Adafruit_SSD1681": ("ssd1680", "SSD1680Ops"),
    "Adafruit_SSD1681_Grayscale4": ("ssd1680", "SSD1680Ops"),
    "Adafruit_SSD1683": ("ssd1680", "SSD1680Ops"),
    "Adafruit_SSD1683_Grayscale4": ("ssd1680", "SSD1680Ops"),
    "Adafruit_JD79661": ("jd79", "JD79661Ops"),
    "Adafruit_JD79667": ("jd79", "JD79667Ops"),
    # The UC81xx family (uc81xx.py); the variants' own set-up is their power_up().
    "Adafruit_IL0373": ("uc81xx", "IL0373Ops"),
    "Adafruit_IL0373_213_Flex_Mono": ("uc81xx", "IL0373Ops"),
    "Adafruit_IL0398": ("uc81xx", "IL0398Ops"),
    "Adafruit_IL91874": ("uc81xx", "IL91874Ops"),
    "Adafruit_EK79686": ("uc81xx", "EK79686Ops"),
    "Adafruit_UC8151D": ("uc81xx", "UC8151DOps"),
    "Adafruit_UC8179": ("uc81xx", "UC8179Ops"),
    "Adafruit_UC8253": ("uc81xx", "UC8253Ops"),
    "Adafruit_UC8253_Mono": ("uc81xx", "UC8253Ops"),
    "Adafruit_UC8253_Tricolor": ("uc81xx", "UC8253Ops"),
}
SUPPORTED = tuple(sorted(_DRIVERS))


def _ops_for(display, busy_timeout_ms):
    """The operations for the display's driver class or its nearest known base class."""
    for cls in _mro(type(display)):
        row = _DRIVERS.get(cls.__name__)
        if row is not None and getattr(cls, "__module__", "").startswith("adafruit_epd"):
            module = __import__("defio_epd." + row[0], None, None, (row[1],))
            return getattr(module, row[1])(display, busy_timeout_ms)
    raise TypeError("defio_epd: unsupported display driver {} (supported: {})".format(
        type(display).__name__, ", ".join(SUPPORTED)))


def _mro(cls):
    """cls and its bases, nearest first (MicroPython has no __mro__: walk __bases__)."""
    out, todo = [], [cls]
    while todo:
        c = todo.pop(0)
        if c not in out:
            out.append(c)
            todo.extend(getattr(c, "__bases__", ()))
    return out


# Bounds of attach()'s numbers: a day at most for a delay or a BUSY wait (well inside what
# ticks_ms can measure on every port), a million partial refreshes between full ones.
_DAY_MS = const(86400000)
_BOUNDS = {"delay_ms": (0, _DAY_MS), "settle_ms": (0, _DAY_MS), "max_delay_ms": (0, _DAY_MS),
           "busy_timeout_ms": (1, _DAY_MS), "full_every": (0, 1000000)}


def _int_arg(name, value):
    low, high = _BOUNDS[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"defio_epd: {name} must be an int in {low}..{high}, "
                        f"not {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"defio_epd: {name} must be in {low}..{high}, got {value}")
    return value


def attach(display, *, delay_ms=500, settle_ms=200, max_delay_ms=None, full_every=20,
           full_fraction=0.5, busy_timeout_ms=10000, shadow=True):
    """Move the display's buffers into defio memory; return the live handle."""
    if not isinstance(shadow, bool):
        raise TypeError(f"defio_epd: shadow must be True or False, not {type(shadow).__name__}")
    _int_arg("delay_ms", delay_ms)
    _int_arg("settle_ms", settle_ms)
    if max_delay_ms is None:
        max_delay_ms = max(5000, delay_ms)
    _int_arg("max_delay_ms", max_delay_ms)
    if max_delay_ms and max_delay_ms < delay_ms:
        raise ValueError(f"defio_epd: max_delay_ms must be 0 or >= delay_ms ({delay_ms}), "
                         f"got {max_delay_ms}")
    _int_arg("full_every", full_every)
    _int_arg("busy_timeout_ms", busy_timeout_ms)
    if not isinstance(full_fraction, (int, float)) or isinstance(full_fraction, bool):
        raise TypeError(f"defio_epd: full_fraction must be a number in 0..1, "
                        f"not {type(full_fraction).__name__}")
    if not 0 <= full_fraction <= 1:  # NaN fails this too
        raise ValueError(f"defio_epd: full_fraction must be in 0..1, got {full_fraction!r}")
    ops = _ops_for(display, busy_timeout_ms)
    if getattr(display, "sram", None):
        raise ValueError("defio_epd: SRAM-backed buffers are not supported (sramcs_pin=None)")
    if isinstance(getattr(display, "_buffer1", None), memoryview) and \
            "display" in getattr(display, "__dict__", {}):
        raise ValueError("defio_epd: display is already attached")
    return Live(display, ops, delay_ms, full_every, full_fraction, shadow, settle_ms,
                max_delay_ms)
