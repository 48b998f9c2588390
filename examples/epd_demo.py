"""e-paper demo on defio: a clock ticking each second, text lines changing, one full redraw.

The drawing code uses Adafruit's API only and never calls display(): defio_epd sends what
changed, once per burst. `main(naive=True)` runs the same demo the naive way, display()
after every change, for comparison (`make run` runs both: tools/run.py).

Wiring: the default of lib/board.py (EPD_CS=D9, EPD_DC=D10, EPD_RESET=D5, EPD_BUSY=D7).
"""

import time

import board
import defio_epd
import digitalio
from adafruit_epd.epd import Adafruit_EPD
from adafruit_epd.ssd1680 import Adafruit_SSD1680
from adafruit_epd.uc8151d import Adafruit_UC8151D

BLACK, WHITE, RED = Adafruit_EPD.BLACK, Adafruit_EPD.WHITE, Adafruit_EPD.RED
LINES = ("temp {} C", "load {}%", "msgs {}")


PANELS = {"ssd1680": (Adafruit_SSD1680, 122, 250), "uc8151d": (Adafruit_UC8151D, 128, 296)}


def make_display(panel="ssd1680"):
    def pin(p):
        return digitalio.DigitalInOut(p)

    cls, width, height = PANELS[panel]
    return cls(width, height, board.SPI(), cs_pin=pin(board.EPD_CS), dc_pin=pin(board.EPD_DC),
               sramcs_pin=None, rst_pin=pin(board.EPD_RESET), busy_pin=pin(board.EPD_BUSY))


def clock_text(second):
    s = 12 * 3600 + second  # starts at 12:00:00, one tick per second
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def draw_page(d, second, values, inverted=False):
    fg, bg = (WHITE, BLACK) if inverted else (BLACK, WHITE)
    d.fill(bg)
    d.fill_rect(0, 0, d.width, 16, RED)
    d.text("defio e-paper", 4, 4, WHITE)
    d.rect(2, 20, d.width - 4, 40, fg)
    draw_clock(d, second, fg, bg)
    for i in range(len(LINES)):
        draw_line(d, i, values[i], fg, bg)
    d.line(0, d.height - 30, d.width - 1, d.height - 30, fg)
    d.text("page drawn at", 4, d.height - 24, fg)
    d.text(clock_text(second), 4, d.height - 12, RED)


def draw_clock(d, second, fg, bg):
    d.fill_rect(6, 28, d.width - 12, 24, bg)
    d.text(clock_text(second), 8, 32, fg, size=2)


def draw_line(d, i, value, fg, bg):
    y = 80 + 14 * i
    d.fill_rect(4, y, d.width - 8, 10, bg)
    d.text(LINES[i].format(value), 6, y + 1, fg)


def main(naive=False, seconds=12, tick_ms=1000, full_at=None, delay_ms=300, panel="ssd1680"):
    """Run the demo; returns the library's stats (None when naive)."""
    d = make_display(panel)
    d.rotation = 0
    live = None if naive else defio_epd.attach(d, delay_ms=delay_ms)
    show = d.display if naive else (lambda: None)
    if full_at is None:
        full_at = seconds // 2
    values = [20, 5, 0]
    inverted = False
    draw_page(d, 0, values)
    show()
    start = time.ticks_ms()
    for second in range(1, seconds + 1):
        if second == full_at:  # one full redraw: the whole page, inverted
            inverted = not inverted
        fg, bg = (WHITE, BLACK) if inverted else (BLACK, WHITE)
        if second == full_at:
            draw_page(d, second, values, inverted)
        else:
            draw_clock(d, second, fg, bg)
        show()
        if second % 3 == 0:  # a text line changes every 3 s
            i = (second // 3) % len(values)
            values[i] += 7
            draw_line(d, i, values[i], fg, bg)
            show()
        # Next tick: sleep until start + second * tick_ms (defio rounds run meanwhile).
        wait = time.ticks_diff(time.ticks_add(start, second * tick_ms), time.ticks_ms())
        if wait > 0:
            time.sleep_ms(wait)
    if live is None:
        return None
    live.flush()
    stats = live.stats()
    live.deinit()
    return stats


# `make run` sends this file as it is after a line setting DEMO_ARGS (naive, seconds, ...);
# DEMO_ARGS = None: the definitions only (the benchmark's workloads use them).
if __name__ == "__main__" and globals().get("DEMO_ARGS", {}) is not None:
    print("defio_epd stats:", main(**globals().get("DEMO_ARGS", {})))
