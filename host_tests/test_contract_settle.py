"""The settle phase: settle_ms and max_delay_ms (rounds that end when the drawing ends)."""

from mpscript import run


def test_settle_arguments_and_attributes(mp):
    vals, _ = run(mp, """
d = defio.DeferredIO(P, record)
report(d.settle_ms, d.max_delay_ms)
d.settle_ms = 40
d.max_delay_ms = 2000
report(d.settle_ms, d.max_delay_ms)
for kw in ({"settle_ms": -1}, {"settle_ms": 2**31}, {"max_delay_ms": True},
           {"delay_ms": 500, "max_delay_ms": 100}):
    try:
        defio.DeferredIO(P, record, **kw)
        report("accepted", kw)
    except (TypeError, ValueError) as e:
        report(type(e).__name__, str(e))
try:
    d.delay_ms = 5000              # above max_delay_ms: refused, nothing changed
except ValueError as e:
    report(str(e), d.delay_ms, d.max_delay_ms)
d.deinit()
""")
    assert vals == [
        (0, 0), (40, 2000),
        ("ValueError", "defio: settle_ms must be >= 0"),
        ("ValueError", "defio: settle_ms must be <= 1073741823"),
        ("TypeError", "defio: max_delay_ms must be an int, not bool"),
        ("ValueError", "defio: max_delay_ms must be 0 or >= delay_ms (500)"),
        ("defio: max_delay_ms must be 0 or >= delay_ms (5000)", 1000, 2000),
    ]


SLOW_REDRAW = """
shadow = bytearray(4 * P)
def cb(d, pages):
    log.append(pages)
    for p in pages:
        shadow[p * P:(p + 1) * P] = d.buffer[p * P:(p + 1) * P]
d = defio.DeferredIO(4 * P, cb, delay_ms=100, settle_ms=SETTLE, max_delay_ms=5000)
t0 = time.ticks_ms()
i = 0
while time.ticks_diff(time.ticks_ms(), t0) < 600:   # drawing takes 6 x delay_ms
    d.buffer[(i * 911) % (4 * P)] = i & 255
    i += 1
    time.sleep_ms(20)
t0 = time.ticks_ms()
while d.pending() and time.ticks_diff(time.ticks_ms(), t0) < 3000:
    time.sleep_ms(10)
time.sleep_ms(50)
report(len(log), shadow == bytes(d.buffer), d.pending())
d.deinit()
"""


def test_slow_redraw_is_one_round_with_settle(mp):
    vals, _ = run(mp, "SETTLE = 60\n" + SLOW_REDRAW)
    assert vals == [(1, True, [])]


def test_slow_redraw_without_settle_is_several_rounds(mp):
    vals, _ = run(mp, "SETTLE = 0\n" + SLOW_REDRAW)
    rounds, same, pending = vals[0]
    assert rounds >= 3 and same and pending == []


def test_animation_gets_an_update_every_max_delay(mp):
    vals, _ = run(mp, """
times = []
def cb(d, pages):
    times.append(time.ticks_ms())
d = defio.DeferredIO(2 * P, cb, delay_ms=50, settle_ms=50, max_delay_ms=300)
t0 = time.ticks_ms()
i = 0
while time.ticks_diff(time.ticks_ms(), t0) < 1500:  # never quiet for settle_ms
    d.buffer[(i * 31) % (2 * P)] = i & 255
    i += 1
    time.sleep_ms(10)
time.sleep_ms(400)
gaps = [time.ticks_diff(b, a) for a, b in zip(times, times[1:])]
report(len(times), max(gaps) if gaps else 0, d.pending())
d.deinit()
""")
    n, widest, pending = vals[0]
    # About one callback per 300 ms (no settle would give one per ~50 ms): 1500 ms of
    # drawing is 4 to 6 rounds, plus the last one; none waits much past max_delay_ms.
    assert 4 <= n <= 8, vals
    assert widest <= 300 + 150, vals
    assert pending == []


def test_settle_loses_nothing_and_keeps_one_callback_in_flight(mp):
    vals, _ = run(mp, """
import random
random.seed(7)
N = 6
shadow = bytearray(N * P)
depth = [0, 0]
def cb(d, pages):
    depth[0] += 1
    depth[1] = max(depth)
    for p in pages:
        shadow[p * P:(p + 1) * P] = d.buffer[p * P:(p + 1) * P]
    if random.getrandbits(2) == 0:
        d.buffer[random.getrandbits(12) % (N * P)] = 1   # writes inside the callback
    time.sleep_ms(random.getrandbits(2))
    depth[0] -= 1
d = defio.DeferredIO(N * P, cb, delay_ms=5, settle_ms=8, max_delay_ms=40)
b = d.buffer
for step in range(1200):
    b[random.getrandbits(16) % (N * P)] = random.getrandbits(8)
    if step % 5 == 0:
        time.sleep_ms(random.getrandbits(4) % 9)
    if step % 97 == 0:
        d.flush()
t0 = time.ticks_ms()
while d.pending() and time.ticks_diff(time.ticks_ms(), t0) < 3000:
    time.sleep_ms(5)
time.sleep_ms(30)
report(shadow == bytes(b), depth[1], d.pending(), d.stats()["callbacks"] > 10)
d.deinit()
""", timeout=120)
    assert vals == [(True, 1, [], True)]
