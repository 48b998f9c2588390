"""The UC81xx / IL0xxx / EK family: each of Adafruit's 10 driver classes on its simulated
controller, attached (two bursts) and plain (display()), pixel-exact against the same driver
drawing into plain buffers; refresh kinds per chip; the colours of image(); protocol errors
of the model."""

import pytest
from PIL import Image, ImageDraw

pytest.register_assert_rewrite("epd_harness")
from epd_harness import TIME_SCALE, draw_src, image_diff, run, start_sim, visible_hex

from tools.panel_sim.controller_uc81xx import PANELS

pytest_plugins = ("epd_harness",)

KEYS = ["il0373", "il0373_213_flex_mono", "il0398", "il91874", "ek79686", "uc8151d",
        "uc8179", "uc8253", "uc8253_mono", "uc8253_tricolor"]
NO_PARTIAL = {"il91874", "ek79686"}  # no partial window: changed rows, full refresh

# The drivers whose begin() only sets their planes up (UC8253 variants): the app calls it.
SETUP = """
def setup(d):
    if type(d).__name__ in ("Adafruit_UC8253_Mono", "Adafruit_UC8253_Tricolor"):
        d.begin()
"""

DRAW = draw_src(vline_x=90)  # the IL0373 is 104 pixels wide


# On the MPS2 boards one defio instance tracks at most 56 pages of 1 KB: the 800x480 UC8179
# (94 KB in two planes) gets attach()'s MemoryError there, so QEMU runs it at 400x240 (the
# chip takes any resolution through TRES; the protocol is the same).
QEMU_SIZES = {"uc8179": (400, 240)}


@pytest.fixture
def panel(tmp_path, pylib, target):
    """start(key) -> (simulator, device prelude that sets the driver's size for `make`)."""
    servers = []

    def start(key):
        size = QEMU_SIZES.get(key) if target.name == "qemu" else None
        controller = key
        if size:
            controller = PANELS[key](width=size[0], height=size[1], time_scale=TIME_SCALE)
        servers.append(start_sim(tmp_path, controller, target=target))
        w, h = size or PANELS[key].size
        prelude = SETUP + f"""
if {key!r} not in DRIVERS:
    _uc81xx()
DRIVERS[{key!r}] = (DRIVERS[{key!r}][0], {w}, {h})
W, H = {w}, {h}
"""
        return servers[-1], prelude

    yield start
    for s in servers:
        s.stop()


@pytest.mark.parametrize("key", KEYS)
def test_attached_two_bursts_pixel_exact(mp, panel, key):
    sim, prelude = panel(key)
    body = prelude + DRAW + f"""
d = make({key!r}); ref = make_ref({key!r})
setup(d); setup(ref)
d.rotation = ref.rotation = {KEYS.index(key) % 4}  # every rotation, over the chips
live = defio_epd.attach(d, delay_ms=10000)
for step in range(2):
    draw(d, step); draw(ref, step)
    live.flush()
report(planes(ref), live.stats())
live.deinit()
"""
    (expected, stats), = run(mp, sim, body)[0]
    c = sim.controller
    assert not image_diff(visible_hex(sim), expected), image_diff(visible_hex(sim), expected)
    second = "full" if key in NO_PARTIAL else "partial"
    assert [r["kind"] for r in sim.refresh_log] == ["full", second]
    assert (stats["refreshes"], stats["full_refreshes"]) == (2, 2 if key in NO_PARTIAL else 1)
    assert c.errors == [] and sim.link_errors == []
    assert c.counters["deep_sleeps"] == 1
    assert c.counters["commands_while_busy"] == 0  # every BUSY waited for
    # Only the changed rows go out the second time, with or without a partial window.
    assert c.counters["data_bytes"] < 2 * len(c.ram[0]) + 1500


@pytest.mark.parametrize("key", KEYS)
def test_plain_display_without_attach(mp, panel, key):
    sim, prelude = panel(key)
    body = prelude + DRAW + f"""
d = make({key!r})
setup(d)
draw(d, 0); draw(d, 1)
d.display()
report(planes(d))
"""
    (expected,) = run(mp, sim, body)[0]
    c = sim.controller
    assert not image_diff(visible_hex(sim), expected), image_diff(visible_hex(sim), expected)
    assert c.counters["full_refreshes"] == 1 and c.counters["partial_refreshes"] == 0
    assert c.errors == [] and sim.link_errors == []


# UC8179 tri-colour: Adafruit_UC8179(..., tri_color=True) (panel setting KWR, other planes).
TRI_UC8179 = """
from adafruit_epd.uc8179 import Adafruit_UC8179
d = Adafruit_UC8179(W, H, board.SPI(), cs_pin=pin(board.EPD_CS), dc_pin=pin(board.EPD_DC),
                    sramcs_pin=None, rst_pin=pin(board.EPD_RESET), busy_pin=pin(board.EPD_BUSY),
                    tri_color=True)
"""


@pytest.mark.parametrize("key, colour, ctor", [
    ("il0373", True, None), ("il91874", True, None), ("uc8253_tricolor", True, None),
    ("uc8179", True, TRI_UC8179), ("il0373_213_flex_mono", False, None),
    ("uc8179", False, None)],
    ids=["il0373", "il91874", "uc8253_tricolor", "uc8179_tri", "flex_mono", "uc8179_mono"])
def test_image_uses_the_palette(mp, panel, key, colour, ctor):
    """Black and red rectangles in rotation 0: image() shows exactly them (mono: no red)."""
    sim, prelude = panel(key)
    body = prelude + (ctor or f"d = make({key!r})\n") + """
setup(d)
live = defio_epd.attach(d, delay_ms=10000)
d.fill(E.WHITE)
d.fill_rect(4, 6, 30, 20, E.BLACK)
d.fill_rect(20, 16, 25, 30, E.RED)
d.pixel(60, 70, E.BLACK)
live.flush()
d.fill_rect(50, 100, 9, 5, E.RED)
live.flush()
live.deinit()
"""
    run(mp, sim, body)
    c = sim.controller
    want = Image.new("RGB", (c.width, c.height), (255, 255, 255))
    draw = ImageDraw.Draw(want)
    red = (255, 0, 0) if colour else (255, 255, 255)
    draw.rectangle((4, 6, 33, 25), fill=(0, 0, 0))
    draw.rectangle((20, 16, 44, 45), fill=red)
    draw.point((60, 70), fill=(0, 0, 0))
    draw.rectangle((50, 100, 58, 104), fill=red)
    got = c.image()
    assert got.size == want.size
    bad = [(x, y, got.getpixel((x, y))) for y in range(c.height) for x in range(c.width)
           if got.getpixel((x, y)) != want.getpixel((x, y))]
    assert not bad, f"{len(bad)} pixels differ, first {bad[:5]}"
    assert c.errors == []


def _feed(c, stream):
    """(dc, bytes) pairs into the controller as the server would (chip select low)."""
    pos = 0
    for dc, data in stream:
        c.spi(bytes(data), dc, pos)
        pos += len(data)


def _panel(key):
    return PANELS[key](full_s=0, partial_s=0, reset_s=0)


def test_protocol_the_chip_does_not_allow_is_an_error():
    # IL91874 has no partial window: PTL is an unknown command.
    c = _panel("il91874")
    _feed(c, [(0, [0x90]), (1, [0, 7, 0, 0, 0, 7, 1])])
    assert any("unknown command 0x90" in e for e in c.errors), c.errors
    # A PTL of the 8-bit format sent to a 16-bit chip is short; one outside the panel too.
    c = _panel("il0398")
    _feed(c, [(0, [0x90]), (1, [0, 7, 0, 0, 0, 7, 1]), (0, [0x91])])
    assert any("PTL with 7 parameter bytes" in e for e in c.errors), c.errors
    c = _panel("uc8151d")
    _feed(c, [(0, [0x90]), (1, [0, 255, 0, 0, 0, 7, 1])])
    assert any("outside the 128x296 panel" in e for e in c.errors), c.errors
    # A resolution that is not the panel's; a refresh with the power off; RAM past the end.
    c = _panel("il0373")
    _feed(c, [(0, [0x61]), (1, [152, 0, 152]), (0, [0x12]),
              (0, [0x10]), (1, b"\xff" * (len(c.ram[0]) + 1))])
    assert [e.split(" (")[0] for e in c.errors] == [
        "resolution 152x152 sent to a 104x212 panel",
        "display refresh with the power off",
        "RAM write past the window end"]
    # PDTM rectangle not in whole bytes; data past its end.
    c = _panel("ek79686")
    _feed(c, [(0, [0x14]), (1, [0, 4, 0, 0, 0, 8, 0, 1]),
              (0, [0x15]), (1, [0, 8, 0, 0, 0, 8, 0, 1, 0xAA, 0xBB])])
    assert [e.split(" (")[0] for e in c.errors] == [
        "bad partial rectangle x 4 y 0 w 8 l 1 on a 176x264 panel",
        "RAM write past the window end"]
    assert c.ram[1][1] == 0xAA  # x 8 = byte column 1


def test_the_same_stream_is_accepted_where_the_chip_allows_it():
    c = _panel("il91874")
    _feed(c, [(0, [0x04]), (0, [0x14]), (1, [0, 16, 0, 2, 0, 16, 0, 2]), (1, b"\x01\x02\x03"),
              (1, b"\x04"), (0, [0x12])])
    assert c.errors == []
    assert c.visible[0][2 * 22 + 2:2 * 22 + 4] == b"\x01\x02"
    assert c.visible[0][3 * 22 + 2:3 * 22 + 4] == b"\x03\x04"
    c = _panel("uc8179")
    _feed(c, [(0, [0x04]), (0, [0x90]), (1, [0, 8, 0, 23, 0, 1, 0, 1, 1]), (0, [0x91]),
              (0, [0x13]), (1, b"\x55\x66"), (0, [0x12])])
    assert c.errors == [] and c.counters["partial_refreshes"] == 1
    assert c.visible[1][100 + 1:100 + 3] == b"\x55\x66"


def test_uc8179_planes_follow_the_panel_setting_of_the_refresh():
    c = _panel("uc8179")
    whole = len(c.ram[0])
    _feed(c, [(0, [0x00]), (1, [0x0F]), (0, [0x04]), (0, [0x10]), (1, b"\x80" + bytes(whole - 1)),
              (0, [0x13]), (1, b"\x40" + bytes(whole - 1)), (0, [0x12])])
    assert c.errors == []
    c.hardware_reset()  # the panel setting goes back to its default; the image stays
    px = c.image().load()
    assert (px[0, 0], px[1, 0], px[2, 0]) == ((0, 0, 0), (255, 0, 0), (255, 255, 255))
    _feed(c, [(0, [0x00]), (1, [0x1F]), (0, [0x04]), (0, [0x12])])  # KW: black/white only
    px = c.image().load()
    assert (px[0, 0], px[1, 0], px[2, 0]) == ((255, 255, 255), (0, 0, 0), (0, 0, 0))


F_POWER_LOSS = 1  # panel_link FAULT: the controller loses power (RAM garbage, image kept)


@pytest.mark.parametrize("key", ["il91874", "uc8179", "uc8253_tricolor"])
def test_power_loss_between_updates_gets_the_whole_image(mp, panel, key):
    sim, prelude = panel(key)
    body = prelude + f"""
d = make({key!r}); ref = make_ref({key!r})
setup(d); setup(ref)
live = defio_epd.attach(d, delay_ms=10000)
for x in (d, ref):
    x.fill(E.WHITE); x.text("before", 5, 5, E.BLACK); x.fill_rect(9, 60, 30, 9, E.RED)
live.flush()
panel_link.get().fault({F_POWER_LOSS}, 0)
for x in (d, ref): x.pixel(3, 3, E.BLACK)
errors = flush_until_ok(live)
report(planes(ref), live.stats(), errors)
"""
    (expected, stats, errors), = run(mp, sim, body)[0]
    c = sim.controller
    assert not image_diff(c.visible, expected), image_diff(c.visible, expected)
    assert not image_diff(c.ram, expected), image_diff(c.ram, expected)  # RAM refilled too
    assert errors == [] and stats["panel_restarts"] == 1
    assert [r["kind"] for r in sim.refresh_log] == ["full", "full"]
    assert c.counters["power_losses"] == 1 and c.errors == []
