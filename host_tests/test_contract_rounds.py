"""Rounds: the delay, one callback per round, writes during the callback, retries."""

from mpscript import run


def test_delay_is_measured_from_the_first_write(mp):
    # Keep writing to one page every 10 ms for 600 ms with delay_ms=150: each round is
    # delivered delay_ms after its own first write, while the writes go on.
    vals, _ = run(mp, """
firsts = []
calls = []
def cb(d, pages):
    calls.append((time.ticks_ms(), pages))
d = defio.DeferredIO(2 * P, cb, delay_ms=150)
t0 = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), t0) < 600:
    f = d.stats()["faults"]
    d.buffer[5] = 1
    if d.stats()["faults"] != f:
        firsts.append(time.ticks_ms())
    time.sleep_ms(10)
last_write = time.ticks_ms()
time.sleep_ms(400)
report([time.ticks_diff(c[0], f) for c, f in zip(calls, firsts)],
       [c[1] for c in calls], len(firsts),
       time.ticks_diff(last_write, calls[0][0]) > 0)
d.deinit()
""")
    lags, pages, rounds, before_last_write = vals[0]
    assert rounds == len(lags) and rounds >= 2
    assert all(lag >= 150 for lag in lags), lags
    assert all(p == [0] for p in pages)
    assert before_last_write  # the first callback came while the writes went on


def test_one_callback_per_burst(mp):
    vals, _ = run(mp, """
d = defio.DeferredIO(8 * P, record, delay_ms=200)
for i in range(2000):
    d.buffer[(i * 997) % (8 * P)] = i & 255
time.sleep_ms(500)
report(log, d.stats()["faults"], d.stats()["callbacks"])
d.deinit()
""")
    assert vals == [([[0, 1, 2, 3, 4, 5, 6, 7]], 8, 1)]


def test_delay_zero_delivers_at_next_scheduler_run(mp):
    vals, _ = run(mp, """
d = defio.DeferredIO(P, record, delay_ms=0)
d.buffer[0] = 1
time.sleep_ms(50)
report(log)
d.deinit()
""")
    assert vals == [[[0]]]


def test_writes_in_the_callback_go_to_the_next_round(mp):
    vals, _ = run(mp, """
def cb(d, pages):
    log.append(pages)
    if len(log) == 1:
        d.buffer[2 * P] = 1    # faults again: next round
        d.buffer[0] = 2        # page 0 was re-protected before the callback: next round
d = defio.DeferredIO(3 * P, cb, delay_ms=30)
d.buffer[0] = 1
time.sleep_ms(300)
report(log, d.pending())
d.deinit()
""")
    assert vals == [([[0], [0, 2]], [])]


def test_callbacks_run_while_busy_in_bytecode_and_while_polling(mp):
    vals, _ = run(mp, """
import select
d = defio.DeferredIO(P, record, delay_ms=20)
d.buffer[0] = 1
t0 = time.ticks_ms()
while not log and time.ticks_diff(time.ticks_ms(), t0) < 2000:
    pass                       # plain bytecode, no sleep
report(len(log))
d.buffer[0] = 1
p = select.poll()
t0 = time.ticks_ms()
while len(log) < 2 and time.ticks_diff(time.ticks_ms(), t0) < 2000:
    p.poll(500)                # blocked waiting
report(len(log))
d.deinit()
""")
    assert vals == [1, 2]


def test_raising_callback_loses_no_page(mp):
    vals, text = run(mp, """
calls = []
def cb(d, pages):
    calls.append(pages)
    if len(calls) <= 2:
        raise RuntimeError("panel unplugged %d" % len(calls))
d = defio.DeferredIO(4 * P, cb, delay_ms=30)
d.buffer[P] = 1
d.buffer[3 * P] = 1
time.sleep_ms(60)
d.buffer[0] = 1                # joins the retried pages
time.sleep_ms(400)
s = d.stats()
report(calls, s["errors"], s["callbacks"], s["pages"], d.pending())
d.deinit()
""", tracebacks=True)
    assert vals == [([[1, 3], [0, 1, 3], [0, 1, 3]], 2, 1, 3, [])]
    assert text.count("panel unplugged") == 2
    assert "pending again" in text


def test_flush_propagates_a_callback_error_and_keeps_pages(mp):
    vals, _ = run(mp, """
fail = [True]
def cb(d, pages):
    log.append(pages)
    if fail[0]:
        raise OSError(5, "link down")
d = defio.DeferredIO(2 * P, cb, delay_ms=100000)
d.buffer[P] = 1
try:
    d.flush()
except OSError as e:
    report("raised", e.args[1], d.pending(), d.stats()["errors"])
fail[0] = False
report(d.flush(), log)
d.deinit()
""")
    assert vals == [("raised", "link down", [1], 1), (1, [[1], [1]])]


def test_deinit_delivers_pending_and_then_no_callback(mp):
    vals, _ = run(mp, """
d = defio.DeferredIO(2 * P, record, delay_ms=50)
d.buffer[P] = 1
time.sleep_ms(10)
d.deinit()                     # the timer was due in 40 ms
time.sleep_ms(200)
report(log)
""")
    assert vals == [[[1]]]


def test_random_writes_lose_no_update(mp):
    # Random writes with random pauses; the callback copies the pages it is given into a
    # shadow. Once writes stop and the last round is delivered, shadow == buffer.
    vals, _ = run(mp, """
import random
random.seed(1234)
N = 6
shadow = bytearray(N * P)
def cb(d, pages):
    b = d.buffer
    for p in pages:
        shadow[p * P:(p + 1) * P] = b[p * P:(p + 1) * P]
d = defio.DeferredIO(N * P, cb, delay_ms=7)
b = d.buffer
for step in range(1500):
    i = random.getrandbits(16) % (N * P)
    b[i] = random.getrandbits(8)
    if step % 7 == 0:
        time.sleep_ms(random.getrandbits(4) % 6)
t0 = time.ticks_ms()
while d.pending() and time.ticks_diff(time.ticks_ms(), t0) < 3000:
    time.sleep_ms(5)
time.sleep_ms(20)
s = d.stats()
report(shadow == bytes(b), s["callbacks"] > 20, s["errors"])
d.deinit()
""", timeout=120)
    assert vals == [(True, True, 0)]


def test_no_round_is_delivered_before_its_delay(mp):
    # Many short-lived instances, each written once and flushed by hand: with delay_ms far
    # away the timer must never deliver one of these rounds by itself (the first round of
    # an instance, whose start is written while the timer may already be looking). A second
    # instance with delay_ms=0 keeps the timer busy meanwhile.
    vals, _ = run(mp, """
busy = defio.DeferredIO(P, lambda d, p: None, delay_ms=0)
early = [0]
def cb(d, pages):
    if not flushing[0]:
        early[0] += 1
flushing = [False]
for i in range(3000):
    busy.buffer[0] = i & 255
    d = defio.DeferredIO(P, cb, delay_ms=100000)
    d.buffer[i % P] = 1
    flushing[0] = True
    d.flush()
    flushing[0] = False
    d.deinit()
busy.deinit()
report(early[0])
""", timeout=300)
    assert vals == [0]
