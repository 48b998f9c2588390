"""CircuitPython's time API on MicroPython: the built-in `time` extended from Python.

MicroPython lets a file named time.py extend the built-in module of that name (see its docs,
"Extending built-in libraries from Python"): the built-in is imported with sys.path emptied,
its globals copied, and what CircuitPython adds is defined here.

- `monotonic()`: seconds (float) since an arbitrary point, never going backwards.
- `monotonic_ns()`: the same in nanoseconds (int).

Both count ticks_ms() steps with ticks_diff, so the 2**30 ms wrap of the tick counter never
shows, as long as one of them is called at least once every 6 days.
"""

import sys

_path = sys.path
sys.path = ()
try:
    from time import *  # the built-in: every name it has
    from time import ticks_diff, ticks_ms
finally:
    sys.path = _path
    del _path

_clock = [ticks_ms(), 0]  # last tick reading, milliseconds counted up to it


def _elapsed_ms():
    now = ticks_ms()
    _clock[1] += ticks_diff(now, _clock[0])
    _clock[0] = now
    return _clock[1]


def monotonic():
    return _elapsed_ms() / 1000


def monotonic_ns():
    return _elapsed_ms() * 1000000

