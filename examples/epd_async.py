"""An asyncio e-paper dashboard on defio: a clock task and a sensor task draw into the same
display, each at its own pace; neither calls display(). defio_epd sends what changed once
per burst, whichever task drew it.

    make run APP=examples/epd_async.py            (QEMU, about 10 s)
    make run APP=examples/epd_async.py BOARD=unix

Wiring: the default of board.py (EPD_CS=D9, EPD_DC=D10, EPD_RESET=D5, EPD_BUSY=D7).
ASYNC_ARGS (a dict set before this file runs) changes the length and pace (the tests).
"""

import asyncio
import random

import board
import defio_epd
import digitalio
from adafruit_epd.epd import Adafruit_EPD
from adafruit_epd.ssd1680 import Adafruit_SSD1680

BLACK, WHITE, RED = Adafruit_EPD.BLACK, Adafruit_EPD.WHITE, Adafruit_EPD.RED


def make_display():
    def pin(p):
        return digitalio.DigitalInOut(p)

    return Adafruit_SSD1680(122, 250, board.SPI(), cs_pin=pin(board.EPD_CS),
                            dc_pin=pin(board.EPD_DC), sramcs_pin=None,
                            rst_pin=pin(board.EPD_RESET), busy_pin=pin(board.EPD_BUSY))


async def clock(d, ticks, tick_ms):
    for second in range(ticks + 1):
        s = 12 * 3600 + second
        d.fill_rect(4, 24, d.width - 8, 20, WHITE)
        d.text(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}", 8, 26, BLACK, size=2)
        await asyncio.sleep_ms(tick_ms)


async def sensor(d, readings, every_ms, log):
    """A made-up temperature sensor read every `every_ms`; its value and a bar graph."""
    random.seed(7)
    temp = 21.0
    for i in range(readings):
        await asyncio.sleep_ms(every_ms)
        temp = round(temp + random.random() - 0.5, 1)
        log.append(temp)
        d.fill_rect(4, 60, d.width - 8, 12, WHITE)
        d.text(f"temp {temp} C", 6, 62, BLACK)
        x = 4 + (i % 20) * 5
        d.fill_rect(x, 80, 4, 40, WHITE)
        d.fill_rect(x, 120 - int((temp - 18) * 8), 4, int((temp - 18) * 8), RED)


async def main(ticks=8, tick_ms=1000, readings=5, every_ms=1500, delay_ms=300):
    d = make_display()
    live = defio_epd.attach(d, delay_ms=delay_ms)
    d.fill(WHITE)
    d.fill_rect(0, 0, d.width, 16, RED)
    d.text("asyncio + defio", 4, 4, WHITE)
    log = []
    await asyncio.gather(clock(d, ticks, tick_ms), sensor(d, readings, every_ms, log))
    live.flush()
    stats = live.stats()
    live.deinit()
    print("readings:", log)
    return stats


if __name__ == "__main__":
    print("defio_epd stats:", asyncio.run(main(**globals().get("ASYNC_ARGS", {}))))
