"""The defio API contract (DESIGN.md section 2): construction, attributes, bad input."""

import pytest
from mpscript import run


def test_module_constants(mp):
    vals, _ = run(mp, "report(defio.BACKEND, defio.PAGE_SIZE_MIN, defio.PAGE_SIZE_DEFAULT)")
    backend, pmin, pdef = vals[0]
    assert backend in ("mprotect", "mpu-pmsav6", "mpu-pmsav7", "mpu-pmsav8")
    assert pmin > 0 and pmin & (pmin - 1) == 0
    assert pdef >= pmin and pdef & (pdef - 1) == 0


def test_attributes_and_buffer(mp):
    vals, _ = run(mp, """
d = defio.DeferredIO(2 * P + 5, record, delay_ms=250)
b = d.buffer
report(type(b).__name__, len(b), d.page_size, d.npages, d.delay_ms)
d.delay_ms = 0
report(d.delay_ms, d.buffer is b)
b[0] = 7; b[len(b) - 1] = 9
report(b[0], b[-1], d.pending())
d.deinit()
""")
    assert vals[0] == ("memoryview", 2 * vals[0][2] + 5, vals[0][2], 3, 250)
    assert vals[1] == (0, True)
    assert vals[2] == (7, 9, [0, 2])


def test_defaults(mp):
    vals, _ = run(mp, """
d = defio.DeferredIO(10, record)
report(d.delay_ms, d.page_size == defio.PAGE_SIZE_DEFAULT, d.npages)
d.deinit()
d = defio.DeferredIO(10, record, page_size=2 * defio.PAGE_SIZE_MIN)
report(d.page_size == 2 * defio.PAGE_SIZE_MIN)
d.deinit()
""")
    assert vals == [(1000, True, 1), True]


BAD_INPUTS = [
    ("'10', record", "TypeError"),
    ("10.0, record", "TypeError"),
    ("None, record", "TypeError"),
    ("0, record", "ValueError"),
    ("-1, record", "ValueError"),
    ("-(1 << 70), record", "ValueError"),
    ("10, None", "TypeError"),
    ("10, 5", "TypeError"),
    ("10, record, delay_ms=-1", "ValueError"),
    ("10, record, delay_ms='1'", "TypeError"),
    ("10, record, delay_ms=1.5", "TypeError"),
    ("10, record, page_size=3", "ValueError"),
    ("10, record, page_size=defio.PAGE_SIZE_MIN // 2", "ValueError"),
    ("10, record, page_size=defio.PAGE_SIZE_MIN + 1", "ValueError"),
    ("10, record, page_size=-defio.PAGE_SIZE_MIN", "ValueError"),
    ("10, record, page_size='x'", "TypeError"),
    ("10, record, bogus=1", "TypeError"),
    ("10", "TypeError"),
]


@pytest.mark.parametrize("args,exc", BAD_INPUTS)
def test_bad_arguments(mp, args, exc):
    vals, _ = run(mp, f"""
try:
    defio.DeferredIO({args})
    report("no error")
except Exception as e:
    report(type(e).__name__, len(str(e)) > 0)
# Nothing was reserved: the full set of instances can still be made.
ds = []
try:
    for i in range(4):
        ds.append(defio.DeferredIO(10, record))
    report("ok")
finally:
    for d in ds:
        d.deinit()
""")
    assert vals == [(exc, True), "ok"]


@pytest.mark.parametrize("size", ["1 << 40", "1 << 80"])
def test_too_large(mp, size):
    vals, _ = run(mp, f"""
import errno
try:
    defio.DeferredIO({size}, record)
except MemoryError as e:
    report("MemoryError", len(str(e)) > 0)
except OSError as e:
    report("OSError", e.errno == errno.ENOMEM)
""")
    assert vals in ([("MemoryError", True)], [("OSError", True)])


def test_bad_delay_attribute_keeps_old_value(mp):
    vals, _ = run(mp, """
d = defio.DeferredIO(10, record, delay_ms=30)
for v in (-1, "5", None):
    try:
        d.delay_ms = v
    except Exception as e:
        report(type(e).__name__)
report(d.delay_ms)
d.deinit()
""")
    assert vals == ["ValueError", "TypeError", "TypeError", 30]


def test_stats_keys(mp):
    vals, _ = run(mp, """
d = defio.DeferredIO(P, record, delay_ms=10000)
s = d.stats()
report(sorted(k for k in ("faults", "callbacks", "pages", "errors") if k in s))
d.buffer[1] = 1
d.buffer[2] = 1
d.flush()
s = d.stats()
report(s["faults"], s["callbacks"], s["pages"], s["errors"])
d.deinit()
""")
    assert vals == [["callbacks", "errors", "faults", "pages"], (1, 1, 1, 0)]


def test_deinit_contract(mp):
    vals, _ = run(mp, """
d = defio.DeferredIO(3 * P, record, delay_ms=100)
b = d.buffer
b[P] = 1
d.deinit()
report(log)                # pending pages delivered by deinit
d.deinit()                 # idempotent
for name in ("pending", "flush", "stats"):
    try:
        getattr(d, name)()
        report(name, "no error")
    except ValueError as e:
        report(name, "ValueError")
for name in ("buffer", "delay_ms", "npages"):
    try:
        getattr(d, name)
        report(name, "no error")
    except ValueError:
        report(name, "ValueError")
b[2 * P] = 5               # old views are plain memory now: no fault, no callback
time.sleep_ms(250)
report(b[2 * P], log)
""")
    assert vals[0] == [[1]]
    assert vals[1:4] == [("pending", "ValueError"), ("flush", "ValueError"),
                         ("stats", "ValueError")]
    assert vals[4:7] == [("buffer", "ValueError"), ("delay_ms", "ValueError"),
                         ("npages", "ValueError")]
    assert vals[7] == (5, [[1]])


def test_context_manager(mp):
    vals, _ = run(mp, """
with defio.DeferredIO(2 * P, record, delay_ms=10000) as d:
    d.buffer[P + 1] = 1
report(log)
try:
    d.pending()
except ValueError:
    report("deinited")
""")
    assert vals == [[[1]], "deinited"]


def test_buffer_keeps_instance_alive(mp):
    vals, _ = run(mp, """
def make():
    d = defio.DeferredIO(2 * P, record, delay_ms=0)
    return d.buffer
b = make()
gc.collect()
b[P] = 3
time.sleep_ms(50)
report(log, b[P])
""")
    assert vals == [([[1]], 3)]


def test_deinited_buffer_stays_reserved_while_viewed(mp):
    # The view keeps the (deinited) instance and its memory alive: writing through it after
    # a collection neither crashes nor reaches the memory of a newer instance.
    vals, _ = run(mp, """
def make():
    d = defio.DeferredIO(P, record, delay_ms=0)
    b = d.buffer
    d.deinit()
    return b
old = make()
for i in range(20):
    gc.collect()
    d2 = defio.DeferredIO(P, record, delay_ms=10000)
    old[0] = i
    report_val = d2.pending()
    d2.deinit()
report(old[0], report_val, log)
""")
    assert vals == [(19, [], [])]


def test_size_page_size_and_pages_at_the_limit(mp):
    # The object keeps pages and the page shift only (issue 14: RAM per instance); size,
    # page size and pages must still read back exactly, live and deinited, up to MAX_PAGES.
    vals, _ = run(mp, """
ps = 2 * defio.PAGE_SIZE_MIN
d = defio.DeferredIO(3 * ps + 1, record, page_size=ps)
report(ps, len(d.buffer), d.page_size, d.npages, repr(d))
d.deinit()
report(repr(d))
""")
    # A script of its own: on some boards MAX_PAGES pages are the whole pool, and a dropped
    # instance keeps its memory until the (conservative) GC frees it.
    vals += run(mp, """
n = defio.MAX_PAGES
d = defio.DeferredIO(n * defio.PAGE_SIZE_MIN, record, page_size=defio.PAGE_SIZE_MIN)
b = d.buffer
b[len(b) - 1] = 1
report(n, d.npages, len(b) // defio.PAGE_SIZE_MIN, d.pending())
report(d.flush(), log[-1])
d.deinit()
""")[0]
    ps = vals[0][0]
    text = f"<DeferredIO size={3 * ps + 1} page_size={ps} npages=4"
    assert vals[0] == (ps, 3 * ps + 1, ps, 4, text + ">")
    assert vals[1] == text + " deinited>"
    n = vals[2][0]
    assert vals[2] == (n, n, n, [n - 1])
    assert vals[3] == (1, [n - 1])
