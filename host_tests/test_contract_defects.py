"""Contract points a hostile test broke (issue 9), on every target.

Each test names the defect it reproduces; each failed before the fix.
"""

from mpscript import run


def test_scheduled_round_never_nests_in_a_sleeping_flush_callback(mp):
    """Defect 5b: a callback started by flush() sleeps; the timer's round must wait."""
    vals, _ = run(mp, """
depth = [0]
most = [0]
def cb(d, pages):
    depth[0] += 1
    most[0] = max(most[0], depth[0])
    log.append(pages)
    if len(log) == 1:
        d.buffer[P] = 1        # a new round opens while this callback sleeps
        time.sleep_ms(300)     # the scheduler runs in here
    depth[0] -= 1
d = defio.DeferredIO(2 * P, cb, delay_ms=20)
d.buffer[0] = 1
d.flush()
time.sleep_ms(200)
report(most[0], log, d.pending())
d.deinit()
""")
    assert vals == [(1, [[0], [1]], [])]


def test_flush_inside_the_callback_does_not_nest(mp):
    """Defect 5b: flush() called by the callback itself returns 0; nothing is lost."""
    vals, _ = run(mp, """
got = []
def cb(d, pages):
    log.append(pages)
    if len(log) == 1:
        d.buffer[P] = 1
        got.append(d.flush())
d = defio.DeferredIO(2 * P, cb, delay_ms=30)
d.buffer[0] = 1
d.flush()
time.sleep_ms(200)
report(got, log)
d.deinit()
""")
    assert vals == [([0], [[0], [1]])]


def test_lowering_delay_applies_to_the_open_round(mp):
    """Defect 10: 30 s -> 10 ms while a round is open."""
    vals, _ = run(mp, """
d = defio.DeferredIO(P, record, delay_ms=30000)
d.buffer[0] = 1
time.sleep_ms(20)
d.delay_ms = 10
time.sleep_ms(300)
report(log, d.delay_ms)
d.deinit()
""")
    assert vals == [([[0]], 10)]


def test_delay_limits_are_the_same_everywhere(mp):
    """Defect 11: what cannot be honoured is refused with a message, never clamped."""
    vals, _ = run(mp, """
for v in (2**31, 2**30, 2**64, -1):
    try:
        defio.DeferredIO(P, record, delay_ms=v)
        report("accepted", v)
    except ValueError as e:
        report(str(e))
d = defio.DeferredIO(P, record, delay_ms=2**30 - 1)
report(d.delay_ms)
try:
    d.delay_ms = 2**31
except ValueError as e:
    report(str(e), d.delay_ms)
d.deinit()
""")
    assert vals == ["defio: delay_ms must be <= 1073741823"] * 3 + [
        "defio: delay_ms must be >= 0", 2**30 - 1,
        ("defio: delay_ms must be <= 1073741823", 2**30 - 1)]


def test_overtaken_scheduled_flush_keeps_the_next_rounds_delay(mp):
    """Defect 13: a scheduled flush overtaken by flush() must not deliver the next round
    early. sum() over a range runs in C, so the scheduler cannot run the flush that falls
    due meanwhile."""
    vals, _ = run(mp, """
times = []
def cb(d, pages):
    times.append(time.ticks_ms())
n = 1000
while True:                    # size one sum() call to take about 250 ms
    t0 = time.ticks_ms()
    sum(range(n))
    dt = time.ticks_diff(time.ticks_ms(), t0)
    if dt >= 25:
        n = n * 250 // dt
        break
    n *= 4
d = defio.DeferredIO(2 * P, cb, delay_ms=100)
d.buffer[0] = 1
sum(range(n))                  # one C call: the flush due meanwhile waits in the queue
d.flush()                      # overtakes it
second = time.ticks_ms()
d.buffer[P] = 1                # the next round starts now
time.sleep_ms(400)
report(len(times), time.ticks_diff(times[1], second) >= 100)
d.deinit()
""")
    assert vals == [(2, True)]


def test_always_raising_callback_backs_off_and_prints_once(mp):
    """Defect 14: delay_ms=0 and a callback that always raises: no spin, one traceback."""
    vals, text = run(mp, """
calls = [0]
ok = [False]
def bad(d, pages):
    if ok[0]:
        return
    calls[0] += 1
    raise RuntimeError("always")
d = defio.DeferredIO(P, bad, delay_ms=0)
d.buffer[0] = 1
t0 = time.ticks_ms()
spins = 0
while time.ticks_diff(time.ticks_ms(), t0) < 1000:
    spins += 1                 # the program keeps running at full speed
    time.sleep_ms(1)
s = d.stats()
report(calls[0], s["errors"], d.pending(), spins > 200)
ok[0] = True
d.deinit()
""", tracebacks=True)
    calls, errors, pending, fast = vals[0]
    assert 3 <= calls <= 12, calls  # 10, 20, 40, ... ms: about 7 tries in a second
    assert errors == calls and pending == [0] and fast
    assert text.count("RuntimeError: always") == 1, text


def test_repeated_error_count_is_reported_when_the_error_changes(mp):
    """Defect 14: 'repeated N more times' when a run of identical errors ends."""
    vals, text = run(mp, """
calls = [0]
def cb(d, pages):
    calls[0] += 1
    if calls[0] <= 3:
        raise RuntimeError("same")
d = defio.DeferredIO(P, cb, delay_ms=0)
d.buffer[0] = 1
time.sleep_ms(400)
report(calls[0], d.stats()["errors"], d.pending())
d.deinit()
""", tracebacks=True)
    assert vals == [(4, 3, [])]
    assert text.count("RuntimeError: same") == 1
    assert "repeated 2 more times" in text


def test_new_instance_in_a_reused_slot_starts_with_clean_stats(mp):
    """Defect 16: a callback deinits its instance and makes a new one in the same slot."""
    vals, _ = run(mp, """
box = []
def cb(d, pages):
    d.deinit()
    box.append(defio.DeferredIO(P, record, delay_ms=100000))
d = defio.DeferredIO(3 * P, cb, delay_ms=100000)
d.buffer[0] = d.buffer[P] = d.buffer[2 * P] = 1
d.flush()
s = box[0].stats()
report(s["callbacks"], s["pages"], s["errors"], s["faults"])
box[0].deinit()
""")
    assert vals == [(0, 0, 0, 0)]


def test_messages_say_what_is_wrong(mp):
    """Defect 17: huge page sizes and sizes get messages about what is wrong."""
    vals, _ = run(mp, """
for kw in ({"page_size": 2**62}, {"page_size": 2**28}, {"page_size": 3 * P},
           {"page_size": True}, {"delay_ms": 1.5}):
    try:
        defio.DeferredIO(8 * P, record, **kw)
    except (ValueError, TypeError) as e:
        report(type(e).__name__, str(e))
try:
    defio.DeferredIO(8 * 2**28, record, page_size=2**28)
except (ValueError, MemoryError) as e:
    report(type(e).__name__, str(e))
d = defio.DeferredIO(10, record, page_size=P)
report(repr(d))
d.deinit()
""")
    assert vals[0] == ("ValueError", "defio: page_size must be <= 16777216")
    assert vals[1] == ("ValueError", "defio: page_size must be <= 16777216")
    assert vals[2][0] == "ValueError" and "power of two" in vals[2][1]
    assert vals[3] == ("TypeError", "defio: page_size must be an int, not bool")
    assert vals[4] == ("TypeError", "defio: delay_ms must be an int, not float")
    # 2 GiB: a big int on 32-bit boards, refused as a size before the page size is looked at.
    assert vals[5] in (("ValueError", "defio: page_size must be <= 16777216"),
                       ("MemoryError", "defio: size too large"))
    assert vals[6].startswith("<DeferredIO size=10 page_size=") and "npages=1>" in vals[6]
