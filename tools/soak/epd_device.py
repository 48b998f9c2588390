# The device half of the e-paper soak: tools/soak/epd.py sends it with the settings below
# replaced (one `NAME = value` line each).
#
# An app draws at random through the Adafruit API into an attached display (and the same
# drawing into a plain reference display), flushes at random, changes delay_ms, re-attaches,
# sleeps, and asks the simulated panel for faults at random points of the frame stream:
# power loss, a new panel, dropped and corrupt frames and replies, stuck BUSY, a dropped
# connection. At the end of every round it settles (flush until the panel confirms, cancel the
# faults still pending, flush again) and sends a MARK with the crc32 of the reference planes:
# the simulator compares them with what it shows and holds (the host counts the misses).
# Everything random comes from random.seed(SEED): a failing seed replays the same app.

import binascii
import os
import random
import time

import board
import defio_epd
import digitalio
import panel_link
from adafruit_epd.epd import Adafruit_EPD
from adafruit_epd.ssd1680 import Adafruit_SSD1680
from adafruit_epd.uc8151d import Adafruit_UC8151D

# -- settings (tools/soak/epd.py replaces these lines) --
SEED = 1
ROUNDS = 20
KIND = "ssd1680"
FONT_DIR = "build/pylib"
FAULT_PERCENT = 8  # of the random actions (at most 17)
SCRIBBLE_ROUND = -1  # a round whose image is spoilt on purpose (the check must see it)
PROGRESS = 100  # a progress line every that many rounds

BLACK, WHITE, RED = Adafruit_EPD.BLACK, Adafruit_EPD.WHITE, Adafruit_EPD.RED
DRIVERS = {"ssd1680": (Adafruit_SSD1680, 122, 250), "uc8151d": (Adafruit_UC8151D, 128, 296)}
# Fault kinds of the simulator (tools/panel_sim/protocol.py).
F_CANCEL, F_POWER_LOSS, F_REPLACE, F_DROP, F_CORRUPT, F_STICK_BUSY = 0, 1, 2, 3, 4, 5
F_DROP_REPLY, F_CORRUPT_REPLY, F_RECONNECT, F_SCRIBBLE = 6, 7, 8, 9

try:
    os.chdir(FONT_DIR)  # adafruit_framebuf opens font5x8.bin from the current folder
except OSError:
    pass  # on the board it is in /


def pin(p):
    return digitalio.DigitalInOut(p)


cls, W, H = DRIVERS[KIND]
d = cls(W, H, board.SPI(), cs_pin=pin(board.EPD_CS), dc_pin=pin(board.EPD_DC),
        sramcs_pin=None, rst_pin=pin(board.EPD_RESET), busy_pin=pin(board.EPD_BUSY))
ref = cls(W, H, board.SPI(), cs_pin=pin(board.D11), dc_pin=pin(board.D12), sramcs_pin=None,
          rst_pin=None, busy_pin=None)  # unwired: draws into plain bytearrays only
random.seed(SEED)
rnd = random.randint
BUSY_TIMEOUT_MS = 150
panel_link.reply_timeout_ms = 500  # a lost reply costs half a second, not five
panel_link.get().reply_timeout_ms = 500
counts = {"ops": 0, "flushes": 0, "flush_errors": 0, "settle_errors": 0, "faults": 0,
          "fault_errors": 0,
          "attaches": 0, "refreshes": 0, "full": 0, "restarts": 0, "wrong": 0, "ram_wrong": 0,
          "buffer_wrong": 0, "errors": 0}
live = None


def link():
    return panel_link.get()


def attach():
    global live
    counts["attaches"] += 1
    # (delay_ms >= 5: with 0 every byte a Python drawing loop writes is a round of its own)
    live = defio_epd.attach(d, delay_ms=rnd(5, 150), full_every=rnd(0, 8),
                            full_fraction=random.choice((0.3, 0.5, 0.8, 1)),
                            busy_timeout_ms=BUSY_TIMEOUT_MS)


def detach():
    """live.deinit(); its counters go into ours. A failing deinit still detaches."""
    global live
    try:
        live.deinit()
    except OSError as e:
        counts["flush_errors"] += 1
        note("deinit", e)
    finally:
        s = live.stats()
        counts["refreshes"] += s["refreshes"]
        counts["full"] += s["full_refreshes"]
        counts["restarts"] += s.get("panel_restarts", 0)
        counts["errors"] += s["errors"]
        live = None


notes = []


def note(what, e):
    if len(notes) < 5:
        notes.append(f"{what}: {e}")


def draw(x):
    """One random drawing operation on x (d and ref get the same one: same random state)."""
    k = rnd(0, 99)
    c = random.choice((BLACK, BLACK, WHITE, RED))
    w, h = x.width, x.height
    if k < 25:
        x.pixel(rnd(-3, w + 2), rnd(-3, h + 2), c)
    elif k < 40:
        x.hline(rnd(-5, w), rnd(0, h - 1), rnd(1, 40), c)
    elif k < 55:
        x.vline(rnd(0, w - 1), rnd(-5, h), rnd(1, 40), c)
    elif k < 68:
        x.fill_rect(rnd(-5, w), rnd(-5, h), rnd(1, 16), rnd(1, 16), c)
    elif k < 78:
        x.rect(rnd(-5, w), rnd(-5, h), rnd(1, 40), rnd(1, 40), c)
    elif k < 86:
        x.line(rnd(0, w - 1), rnd(0, h - 1), rnd(0, w - 1), rnd(0, h - 1), c)
    elif k < 98:
        x.text(str(rnd(0, 99999)), rnd(-8, w), rnd(-8, h), c)
    else:
        x.fill(random.choice((WHITE, WHITE, BLACK)))


def same_draw():
    state = rnd(0, 1 << 30)
    random.seed(state)
    draw(d)
    random.seed(state)
    draw(ref)
    counts["ops"] += 1


def fault():
    """Ask the panel for a fault; the request itself may meet the previous one's effects."""
    counts["faults"] += 1
    try:
        ask_fault()
    except OSError as e:
        counts["fault_errors"] += 1
        note("fault", e)


def ask_fault():
    k = rnd(0, 99)
    after = rnd(0, 60)
    if k < 18:
        link().fault(F_POWER_LOSS, after)
    elif k < 22:
        link().fault(F_REPLACE, after)
    elif k < 38:
        link().fault(F_DROP, after, rnd(1, 4))
    elif k < 52:
        link().fault(F_CORRUPT, after)
    elif k < 68:
        link().fault(F_STICK_BUSY, rnd(BUSY_TIMEOUT_MS // 4, BUSY_TIMEOUT_MS * 2))
    elif k < 78:
        link().fault(F_DROP_REPLY, after)
    elif k < 88:
        link().fault(F_CORRUPT_REPLY, after)
    else:
        link().fault(F_RECONNECT, after)


def flush():
    counts["flushes"] += 1
    live.flush()


def try_flush():
    try:
        flush()
    except OSError as e:
        counts["flush_errors"] += 1
        note("flush", e)


def settle(r):
    """Flush until the panel confirms (faults may still fire), cancel the pending faults,
    flush again: the panel must now show and hold the reference image."""
    t0 = time.ticks_ms()
    for phase in (0, 1):
        while True:
            try:
                if phase == 1:
                    link().fault(F_CANCEL)
                flush()
                break
            except OSError as e:
                counts["settle_errors"] += 1
                note(f"round {r} settle", e)
                if time.ticks_diff(time.ticks_ms(), t0) > 60000:
                    raise OSError(f"soak-epd: round {r} did not settle in 60 s: {e}")
                time.sleep_ms(20)


def planes(x):
    return bytes(x._buffer1), bytes(x._buffer2)


def check(r):
    a, b = planes(d), planes(ref)
    if a != b:
        counts["buffer_wrong"] += 1
        print(f"soak-epd: round {r}: the attached buffers differ from the reference")
    crc = binascii.crc32(b[1], binascii.crc32(b[0]))
    for _ in range(3):
        try:
            if SCRIBBLE_ROUND == r:  # a panel defect no protocol can see: must be caught
                link().fault(F_SCRIBBLE)
            visible, ram = link().mark(r, crc)
            break
        except OSError as e:  # the link broke after the settle: settle again
            note(f"round {r} mark", e)
            settle(r)
    else:
        raise OSError(f"soak-epd: round {r}: no MARK answer")
    if visible != crc:
        counts["wrong"] += 1
        print(f"soak-epd: round {r}: WRONG IMAGE on the panel (crc {visible:08x}, "
              f"expected {crc:08x})")
    if ram != crc:
        counts["ram_wrong"] += 1
        print(f"soak-epd: round {r}: the panel's RAM differs (crc {ram:08x}, "
              f"expected {crc:08x})")


attach()
t_start = time.ticks_ms()
for r in range(ROUNDS):
    d.rotation = ref.rotation = rnd(0, 3)
    for _ in range(rnd(1, 8)):
        k = rnd(0, 99)
        if k < 62:
            same_draw()
        elif k < 72:
            try_flush()
        elif k < 80:
            time.sleep_ms(rnd(0, 40))  # rounds run while the app sleeps
        elif k < 80 + FAULT_PERCENT:
            fault()
        elif k < 97:
            live.dio.delay_ms = rnd(5, 150)
        elif k < 99:
            detach()
            for _ in range(rnd(0, 2)):
                same_draw()  # drawn into plain buffers, kept by the next attach
            attach()
        else:
            same_draw()
            for _ in range(rnd(1, 5)):
                same_draw()
    settle(r)
    check(r)
    if (r + 1) % PROGRESS == 0:
        print(f"soak-epd: round {r + 1}/{ROUNDS}, "
              f"{time.ticks_diff(time.ticks_ms(), t_start) // 1000} s")
detach()
print("soak-epd-device:", repr(counts), repr(notes))
