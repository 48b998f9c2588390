"""UC8151D (Adafruit_UC8151D 128x296): partial window updates, pixel-exact, BUSY_N."""

import pytest

pytest.register_assert_rewrite("epd_harness")
from epd_harness import run, visible_hex

pytest_plugins = ("epd_harness",)


@pytest.mark.parametrize("rotation", [0, 1, 2, 3])
def test_uc8151d_pixel_exact_with_partial_windows(mp, sim_uc, rotation):
    body = f"""
d = make("uc8151d"); ref = make_ref("uc8151d")
d.rotation = ref.rotation = {rotation}
live = defio_epd.attach(d, delay_ms=10000)
for x in (d, ref):
    x.fill(E.WHITE); x.rect(3, 3, 50, 30, E.BLACK); x.text("uc8151d", 5, 40, E.RED)
live.flush()
for step in range(1, 4):
    for x in (d, ref):
        x.fill_rect(10 * step, 60 + 8 * step, 12, 6, E.RED if step % 2 else E.BLACK)
        x.text(str(step), 70, 10 * step, E.BLACK)
    live.flush()
report(planes(ref), live.stats())
live.deinit()
"""
    (expected, stats), = run(mp, sim_uc, body)[0]
    c = sim_uc.controller
    assert visible_hex(sim_uc) == expected
    assert (stats["full_refreshes"], stats["partial_refreshes"]) == (1, 3)
    assert [r["kind"] for r in sim_uc.refresh_log] == ["full"] + ["partial"] * 3
    assert c.errors == [] and sim_uc.link_errors == []
    assert c.counters["deep_sleeps"] == 1
    assert c.counters["data_bytes"] < 2 * 16 * 296 + 600  # the first full + small bands


def test_uc8151d_naive_display_matches_too(mp, sim_uc):
    body = """
d = make("uc8151d")
d.fill(E.WHITE); d.text("naive", 5, 5, E.BLACK); d.fill_rect(0, 100, 20, 20, E.RED)
d.display()
report(planes(d))
"""
    (expected,) = run(mp, sim_uc, body)[0]
    assert visible_hex(sim_uc) == expected
    assert sim_uc.controller.counters["full_refreshes"] == 1
