"""What travels to the panel: only changed rows, one refresh per burst, the refresh policy."""

import pytest

pytest.register_assert_rewrite("epd_harness")
from epd_harness import run, visible_hex

pytest_plugins = ("epd_harness",)


def data_writes(sim):
    return sim.controller.counters["data_bytes"]


def test_only_changed_rows_and_columns_are_sent(mp, sim):
    body = """
d = make(); ref = make_ref()
live = defio_epd.attach(d, delay_ms=10000)
for x in (d, ref): x.fill(E.WHITE)
live.flush()
report(live.stats()['bytes'])
for x in (d, ref): x.fill_rect(17, 100, 14, 10, E.BLACK)   # byte columns 2..3, rows 100..109
live.flush()
report(live.stats())
for x in (d, ref): x.fill_rect(17, 100, 14, 10, E.BLACK)   # same pixels again: nothing new
live.flush()
report(live.stats(), planes(ref))
"""
    first, second, (third, expected) = run(mp, sim, body)[0]
    assert first > 8000  # the first update sends everything (the panel content is unknown)
    log = sim.refresh_log
    assert [r["kind"] for r in log] == ["full", "partial"]
    assert log[1]["window"] == [2, 100, 3, 109]
    # 10 rows x 2 bytes of the black plane; the red plane did not change.
    assert data_writes(sim) == 8000 + 20
    assert second["bytes"] - first < 20 + 40
    assert third["refreshes"] == 2 and third["bytes"] == second["bytes"]
    assert visible_hex(sim) == expected


def test_one_refresh_per_burst_through_the_timer(mp, sim):
    body = """
d = make()
live = defio_epd.attach(d, delay_ms=1500)
d.fill(E.WHITE)
live.flush()
t0 = time.ticks_ms()
for i in range(0, 240, 12):               # a burst: many writes, all pages
    d.text("line %d" % i, 2, i, E.BLACK)
burst_ms = time.ticks_diff(time.ticks_ms(), t0)
wait_for(lambda: live.stats()['refreshes'] >= 2)
time.sleep_ms(1600)                        # more than delay_ms: no further round
report(live.stats(), burst_ms)
"""
    ((stats, burst_ms),) = run(mp, sim, body)[0]
    if burst_ms >= 1500:
        pytest.skip(f"the burst took {burst_ms} ms here, longer than delay_ms")
    assert stats["refreshes"] == 2 and stats["rounds"] == 2
    assert sim.controller.counters["refreshes"] == 2


def test_display_call_is_a_flush(mp, sim):
    body = """
d = make()
live = defio_epd.attach(d, delay_ms=10000)
d.fill(E.WHITE); d.display()
d.text("hi", 0, 0, E.BLACK); d.display(); d.display()
report(live.stats())
"""
    (stats,) = run(mp, sim, body)[0]
    assert (stats["full_refreshes"], stats["partial_refreshes"]) == (1, 1)
    assert sim.controller.counters["sw_resets"] == 1  # the panel stays awake between rounds


def test_full_refresh_every_n_partials(mp, sim):
    body = """
d = make()
live = defio_epd.attach(d, delay_ms=10000, full_every=3)
d.fill(E.WHITE); live.flush()
for i in range(7):
    d.pixel(10, 10 + 5 * i, E.BLACK); live.flush()
report(live.stats())
"""
    (stats,) = run(mp, sim, body)[0]
    kinds = [r["kind"][0] for r in sim.refresh_log]
    # the first update is full; then a full one after every 3 partial ones
    assert "".join(kinds) == "fpppfppp"
    assert stats["full_refreshes"] == 2 and stats["partial_refreshes"] == 6


def test_full_refresh_when_much_changed(mp, sim):
    body = """
d = make()
live = defio_epd.attach(d, delay_ms=10000, full_fraction=0.5)
d.fill(E.WHITE); live.flush()
d.fill_rect(0, 0, 122, 100, E.BLACK); live.flush()     # 100 of 250 rows: partial
d.fill_rect(0, 100, 122, 140, E.BLACK); live.flush()   # 140 rows: full
report(live.stats())
"""
    run(mp, sim, body)
    assert [r["kind"] for r in sim.refresh_log] == ["full", "partial", "full"]


@pytest.mark.parametrize("kwargs, exc, bounds", [
    ("delay_ms=-1", "ValueError", "0..86400000"),
    ("delay_ms=2**31", "ValueError", "0..86400000"),
    ("delay_ms=86400001", "ValueError", "0..86400000"),
    ("delay_ms=True", "TypeError", "0..86400000"),
    ("delay_ms='x'", "TypeError", "0..86400000"),
    ("delay_ms=1.5", "TypeError", "0..86400000"),
    ("full_every=-2", "ValueError", "0..1000000"),
    ("full_every=2**40", "ValueError", "0..1000000"),
    ("full_every=False", "TypeError", "0..1000000"),
    ("full_fraction=1.5", "ValueError", "0..1"),
    ("full_fraction=-0.1", "ValueError", "0..1"),
    ("full_fraction=float('nan')", "ValueError", "0..1"),
    ("full_fraction=float('inf')", "ValueError", "0..1"),
    ("full_fraction=True", "TypeError", "0..1"),
    ("full_fraction='0.5'", "TypeError", "0..1"),
    ("busy_timeout_ms=0", "ValueError", "1..86400000"),
    ("busy_timeout_ms=2**40", "ValueError", "1..86400000"),
    ("busy_timeout_ms=-2**70", "ValueError", "1..86400000"),
    ("busy_timeout_ms=True", "TypeError", "1..86400000"),
    ("busy_timeout_ms=None", "TypeError", "1..86400000"),
    ("shadow=1", "TypeError", "True or False"),
])
def test_bad_numbers(mp, sim, kwargs, exc, bounds):
    body = f"""
d = make()
try:
    defio_epd.attach(d, {kwargs})
    report("accepted")
except Exception as e:
    report(type(e).__name__, str(e))
"""
    ((name, msg),) = run(mp, sim, body)[0]
    assert name == exc and msg.startswith("defio_epd: ") and bounds in msg, msg
    assert "\n" not in msg and len(msg) < 100


def test_numbers_at_their_bounds_are_accepted(mp, sim):
    body = """
d = make()
live = defio_epd.attach(d, delay_ms=86400000, full_every=1000000, full_fraction=1,
                        busy_timeout_ms=86400000)
live.deinit()
live = defio_epd.attach(d, delay_ms=10000, busy_timeout_ms=1)
report(live.ops.busy_timeout_ms)
try:
    live.deinit()    # a full refresh in 1 ms: not on this panel
except OSError as e:
    report(str(e))
live = defio_epd.attach(d, delay_ms=0, full_every=0, full_fraction=0.0)
live.flush()     # (no drawing: with delay_ms=0 a Python drawing loop is a round per byte)
report(live.stats()["refreshes"])
"""
    timeout, msg, refreshes = run(mp, sim, body)[0]
    assert timeout == 1 and "still BUSY after 1 ms" in msg and refreshes >= 1


def test_unsupported_driver_names_the_supported_ones(mp, sim):
    body = """
class NotADisplay:
    pass
class Adafruit_SSD1680:  # an app's own class: a known name, but no Adafruit driver
    pass
class Mine(E):  # derived from Adafruit's base class only: no driver either
    def __init__(self):
        pass
for disp in (NotADisplay(), Adafruit_SSD1680(), Mine()):
    try:
        defio_epd.attach(disp)
    except TypeError as e:
        report(str(e))
"""
    msgs = run(mp, sim, body)[0]
    assert len(msgs) == 3
    assert all("Adafruit_SSD1680, " in m and "Adafruit_UC8151D" in m for m in msgs)
    assert "driver NotADisplay " in msgs[0] and "driver Mine " in msgs[2]


def test_full_fraction_zero_makes_every_refresh_full(mp, sim):
    body = """
d = make()
live = defio_epd.attach(d, delay_ms=10000, full_fraction=0)
d.fill(E.WHITE); live.flush()
for i in range(3):
    d.pixel(5, 5 + i, E.BLACK); live.flush()
report(live.stats())
"""
    (stats,) = run(mp, sim, body)[0]
    assert (stats["full_refreshes"], stats["partial_refreshes"]) == (4, 0)
    assert sim.controller.counters["data_bytes"] == 8000 + 3  # still only the changed bytes
    assert sim.controller.counters["commands_while_busy"] == 0


def test_attaching_twice_is_refused(mp, sim):
    body = """
d = make()
live = defio_epd.attach(d, delay_ms=10000)
try:
    defio_epd.attach(d)
except ValueError as e:
    report(str(e))
live.deinit()
live2 = defio_epd.attach(d, delay_ms=10000)   # after deinit: fine again
report(live2.stats()["refreshes"])
"""
    msg, refreshes = run(mp, sim, body)[0]
    assert "already attached" in msg and refreshes == 0


def test_pages_only_sends_more_bytes_for_the_same_image(mp, sim):
    """shadow=False (the bench's "pages only" figure): every row the dirty pages cover, at full
    width; never fewer bytes than the shadow diff, and the same final image."""
    body = """
d = make(); ref = make_ref()
live = defio_epd.attach(d, delay_ms=10000, shadow=SHADOW)
for x in (d, ref): x.fill(E.WHITE); x.text("base", 4, 4, E.BLACK)
live.flush()
b0 = live.stats()['bytes']
for x in (d, ref):
    x.pixel(40, 120, E.BLACK)                  # sparse: one byte of one row
    x.fill_rect(0, 200, 30, 3, E.RED)
    x.text("same", 60, 60, E.BLACK)
live.flush()
for x in (d, ref): x.pixel(41, 120, E.BLACK)
live.flush()
report(live.stats()['bytes'] - b0, live.stats(), planes(ref))
live.deinit()
"""
    results = {}
    for shadow in (True, False):
        ((sent, stats, expected),) = run(mp, sim, body.replace("SHADOW", str(shadow)))[0]
        assert visible_hex(sim) == expected
        assert stats["refreshes"] == 3 and stats["errors"] == 0
        results[shadow] = sent
    assert results[False] > results[True]
    assert sim.controller.errors == [] and sim.link_errors == []
