"""Pixel-exact: what the simulated panel shows equals the same drawing rendered by the
Adafruit API into plain bytearrays, in every rotation, for both colour planes."""

import pytest

pytest.register_assert_rewrite("epd_harness")
from epd_harness import draw_src, run, visible_hex

pytest_plugins = ("epd_harness",)

DRAW = draw_src(vline_x=100)


@pytest.mark.parametrize("rotation", [0, 1, 2, 3])
def test_final_image_matches_plain_buffers(mp, sim, rotation):
    body = DRAW + f"""
d = make(); ref = make_ref()
d.rotation = ref.rotation = {rotation}
live = defio_epd.attach(d, delay_ms=10000)
for step in range(5):
    draw(d, step); draw(ref, step)
    live.flush()
report(planes(ref), live.stats())
live.deinit()
"""
    (expected, stats), = run(mp, sim, body)[0]
    assert visible_hex(sim) == expected
    assert stats["refreshes"] == 5 and stats["full_refreshes"] == 1
    assert sim.controller.errors == [] and sim.link_errors == []


def test_native_framebuf_view_of_the_same_bytes(mp, sim):
    body = """
import framebuf
d = make(); ref = make_ref()
live = defio_epd.attach(d, delay_ms=10000)
d.fill(E.WHITE); ref.fill(E.WHITE)
live.flush()
for disp in (d, ref):
    fb = framebuf.FrameBuffer(disp._buffer1, 128, 250, framebuf.MONO_HLSB)
    fb.fill_rect(16, 130, 40, 20, 0)
    fb.text("native", 20, 160, 0)
live.flush()
report(planes(ref), live.stats())
"""
    (expected, stats), = run(mp, sim, body)[0]
    assert visible_hex(sim) == expected
    assert stats["partial_refreshes"] == 1


def test_deinit_gives_plain_buffers_back(mp, sim):
    body = """
d = make()
with defio_epd.attach(d, delay_ms=10000) as live:
    d.fill(E.WHITE); d.text("bye", 10, 10, E.BLACK)
    b1 = d._buffer1
live.deinit()
d.pixel(1, 1, E.BLACK)
report(type(b1).__name__, type(d._buffer1).__name__, d._framebuf1.buf is d._buffer1,
       'display' in d.__dict__, live.stats()['refreshes'])
"""
    (b1, b2, same, patched, refreshes), = run(mp, sim, body)[0]
    assert (b1, b2, same, patched, refreshes) == ("memoryview", "bytearray", True, False, 1)
    assert sim.controller.counters["deep_sleeps"] == 1


def test_attach_keeps_what_was_drawn_before(mp, sim):
    body = """
d = make(); ref = make_ref()
for x in (d, ref):
    x.fill(E.WHITE); x.text("drawn before attach", 2, 30, E.BLACK); x.fill_rect(5, 5, 9, 9, E.RED)
live = defio_epd.attach(d, delay_ms=10000)
report(planes(d) == planes(ref))
d.display()
report(planes(ref), live.stats()["full_refreshes"])
"""
    same, (expected, fulls) = run(mp, sim, body)[0]
    assert same and fulls == 1
    assert visible_hex(sim) == expected
