"""The SSD16xx family (issue 12): each of Adafruit's 11 SSD16xx driver classes on the simulated
board with its simulated controller, attached (two bursts) and plain (`display()`): what the
panel shows equals what the same driver draws into plain buffers, plane by plane and in the
rendered colours; partial refreshes where the chip has a partial waveform, full elsewhere."""

import pytest

pytest.register_assert_rewrite("epd_harness")
from epd_harness import run, start_sim

pytest_plugins = ("epd_harness",)

WHITE, BLACK, RED = (255, 255, 255), (0, 0, 0), (255, 0, 0)
DARK, LIGHT = (85, 85, 85), (170, 170, 170)
# Panel key -> (what the planes mean, partial refresh allowed, the two drawing colours).
KINDS = {
    "ssd1608": ("mono", False, "E.BLACK", "E.BLACK"),
    "ssd1675": ("mono", False, "E.BLACK", "E.BLACK"),
    "ssd1675b": ("mono", False, "E.BLACK", "E.BLACK"),
    "ssd1680": ("red", True, "E.RED", "E.BLACK"),
    "ssd1680_legacy": ("red", True, "E.RED", "E.BLACK"),
    "ssd1680b": ("mono", True, "E.BLACK", "E.BLACK"),
    "ssd1680_grayscale4": ("gray4", False, "E.DARK", "E.LIGHT"),
    "ssd1681": ("red", True, "E.RED", "E.BLACK"),
    "ssd1681_grayscale4": ("gray4", False, "E.DARK", "E.LIGHT"),
    "ssd1683": ("red", True, "E.RED", "E.BLACK"),
    "ssd1683_grayscale4": ("gray4", False, "E.LIGHT", "E.DARK"),
}

DRAW = """
def draw(d, step):
    if step == 0:
        d.fill(E.WHITE)
        d.rect(2, 3, 60, 40, E.BLACK)
        d.fill_rect(10, 60, 25, 12, C1)
        d.line(0, 0, d.width - 1, d.height - 1, E.BLACK)
        d.text("defio", 5, 90, C2)
    else:
        d.text("step 1", 8, 120, C1)
        d.fill_rect(40, 150, 20, 6, E.BLACK)
        d.fill_rect(150, 20, 3, 2, C2)
def planes2(d):
    return [binascii.hexlify(bytes(b)).decode() if b is not None else None
            for b in (d._buffer1, d._buffer2)]
"""


def script(kind, body):
    _, _, c1, c2 = KINDS[kind]
    return f"KIND = {kind!r}\nC1 = {c1}\nC2 = {c2}\n" + DRAW + body


def check_planes(sim, expected, planes=(0, 1)):
    """The panel's planes (those of `planes`) are the expected ones; no protocol errors."""
    c = sim.controller
    for i, want in enumerate(expected):
        if want is not None and i in planes:
            got = bytes(c.visible[i]).hex()
            bad = [k for k in range(0, len(want), 2) if got[k:k + 2] != want[k:k + 2]]
            assert not bad and len(got) == len(want), \
                f"plane {i}: {len(bad)} bytes differ, first at byte {bad[0] // 2 if bad else '-'}"
    assert c.errors == [] and sim.link_errors == []


def expected_image(colours, expected, width, height):
    """The colours the planes mean, from Adafruit's drivers: plane 0 bit 0 = black; plane 1
    bit 1 = red (tri-colour); 4-gray: (plane 0, plane 1) 11 white, 10 dark, 01 light, 00
    black (the Grayscale4 drivers' fill/_color_dup)."""
    p0 = bytes.fromhex(expected[0])
    p1 = bytes.fromhex(expected[1]) if expected[1] is not None else bytes(len(p0))
    stride = (width + 7) // 8
    gray = {(1, 1): WHITE, (1, 0): DARK, (0, 1): LIGHT, (0, 0): BLACK}
    out = []
    for y in range(height):
        for x in range(width):
            i, bit = y * stride + x // 8, 0x80 >> (x % 8)
            a, b = int(bool(p0[i] & bit)), int(bool(p1[i] & bit))
            if colours == "gray4":
                out.append(gray[(a, b)])
            elif colours == "red" and b:
                out.append(RED)
            else:
                out.append(WHITE if a else BLACK)
    return out


@pytest.fixture
def panel(tmp_path, pylib, target, request):
    server = start_sim(tmp_path, controller=request.param, target=target)
    yield request.param, server
    server.stop()


@pytest.mark.parametrize("panel", list(KINDS), indirect=True)
def test_attached_driver_shows_what_it_draws(mp, panel):
    kind, sim = panel
    colours, partial, _, _ = KINDS[kind]
    body = script(kind, """
d = make(KIND); ref = make_ref(KIND)
live = defio_epd.attach(d, delay_ms=10000)
for step in (0, 1):
    draw(d, step); draw(ref, step)
    live.flush()
report(planes2(ref), live.stats(), live.page_size, d._width, d._height)
live.deinit()
""")
    (expected, stats, page_size, w, h), = run(mp, sim, body)[0]
    check_planes(sim, expected)
    c = sim.controller
    assert stats["controller"] == kind.upper().replace("GRAYSCALE", "Grayscale").replace(
        "LEGACY", "Legacy")
    assert (stats["refreshes"], stats["full_refreshes"]) == (2, 1 if partial else 2)
    k = c.counters
    assert (k["partial_refreshes"], k["full_refreshes"]) == (1 if partial else 0,
                                                             1 if partial else 2)
    # The second burst sent only the rows it changed (well under the planes' size).
    plane = len(expected[0]) // 2
    nplanes = 2 if expected[1] is not None else 1
    assert plane * nplanes < k["data_bytes"] < plane * nplanes * 1.5
    assert k["deep_sleeps"] == 1 and page_size > 0
    img = c.image()
    assert img.size == (w, h)
    pixels = [img.getpixel((x, y)) for y in range(h) for x in range(w)]
    assert pixels == expected_image(colours, expected, w, h)
    palette = {"mono": {WHITE, BLACK}, "red": {WHITE, BLACK, RED},
               "gray4": {WHITE, BLACK, DARK, LIGHT}}[colours]
    assert set(pixels) == palette  # every colour the drawing used, nothing else


@pytest.mark.parametrize("panel", list(KINDS), indirect=True)
def test_plain_adafruit_display_renders(mp, panel):
    kind, sim = panel
    body = script(kind, """
d = make(KIND); ref = make_ref(KIND)
for x in (d, ref):
    draw(x, 0); draw(x, 1)
d.display()
report(planes2(ref))
""")
    expected, = run(mp, sim, body, timeout=120)[0]
    colours = KINDS[kind][0]
    # Adafruit_SSD1680B's RAM window is a row taller than the panel, so its second plane
    # lands a row up; its panel is black/white and never shows that plane.
    check_planes(sim, expected, (0,) if kind == "ssd1680b" else (0, 1))
    k = sim.controller.counters
    assert (k["refreshes"], k["full_refreshes"]) == (1, 1)
    img = sim.controller.image()
    w, h = img.size
    assert [img.getpixel((x, y)) for y in range(h) for x in range(w)] == \
        expected_image(colours, expected, w, h)


@pytest.mark.parametrize("panel, base", [("ssd1681", "Adafruit_SSD1681"),
                                         ("ssd1680_grayscale4", "Adafruit_SSD1680_Grayscale4")],
                         indirect=["panel"])
def test_user_subclass_gets_its_base_row(mp, panel, base):
    kind, sim = panel
    body = script(kind, f"""
class MyPanel({base}):
    def hello(self):
        return "mine"
_, w, h = DRIVERS[KIND]
d = MyPanel(w, h, board.SPI(), cs_pin=pin(board.EPD_CS), dc_pin=pin(board.EPD_DC),
            sramcs_pin=None, rst_pin=pin(board.EPD_RESET), busy_pin=pin(board.EPD_BUSY))
ref = make_ref(KIND)
live = defio_epd.attach(d, delay_ms=10000)
for step in (0, 1):
    draw(d, step); draw(ref, step)
    live.flush()
report(planes2(ref), live.stats()["controller"], d.hello())
""")
    (expected, name, hello), = run(mp, sim, body)[0]
    assert name == base[len("Adafruit_"):] and hello == "mine"
    check_planes(sim, expected)


def test_page_size_fits_the_planes_in_max_pages(mp, pylib, target, tmp_path):
    sim = start_sim(tmp_path, target=target)
    try:
        body = """
from defio_epd.live import page_size_for
sizes = (1, 8000, 30000, defio.MAX_PAGES * defio.PAGE_SIZE_DEFAULT + 1)
report(defio.MAX_PAGES, defio.PAGE_SIZE_DEFAULT, defio.PAGE_SIZE_MIN,
       [page_size_for(n) for n in sizes])
try:
    page_size_for(defio.MAX_PAGES * (1 << 24) + 1)
except ValueError as e:
    report(str(e))
"""
        (max_pages, default, minimum, sizes), msg = run(mp, sim, body)[0]
    finally:
        sim.stop()
    for n, ps in zip((1, 8000, 30000, max_pages * default + 1), sizes, strict=True):
        assert ps >= max(default, minimum) and ps & (ps - 1) == 0
        assert -(-n // ps) <= max_pages  # fits
        assert ps == max(default, minimum) or -(-n // (ps // 2)) > max_pages  # smallest
    assert sizes[-1] == 2 * default
    assert "do not fit in defio.MAX_PAGES" in msg


# -- the models on their own: what a chip does not allow is an error ------------------------
def model(kind):
    from tools.panel_sim.server import CONTROLLERS

    now = [0.0]
    c = CONTROLLERS[kind](full_s=1.0, partial_s=0.1, reset_s=0.001, clock=lambda: now[0])
    pos = [0]

    def cmd(b, *data):
        c.spi(bytes((b,)), 0, pos[0])
        pos[0] += 1
        if data:
            c.spi(bytes(data), 1, pos[0])
            pos[0] += len(data)
        now[0] += 2.0  # whatever it started has finished
    return c, cmd


def test_models_refuse_what_the_chip_cannot_do():
    c, cmd = model("ssd1608")
    cmd(0x26, 0xFF)  # one RAM only
    cmd(0x22, 0xFC)
    cmd(0x20)  # display mode 2: no partial waveform
    assert len(c.errors) == 3 and "unknown command 0x26" in c.errors[0]
    assert "data byte without a command" in c.errors[1]
    assert "SSD1608 has no partial waveform" in c.errors[2] and c.counters["refreshes"] == 0
    c, cmd = model("ssd1675b")
    cmd(0x22, 0xFF)
    cmd(0x20)
    assert "no partial waveform" in c.errors[0]
    c, cmd = model("ssd1680_grayscale4")
    cmd(0x22, 0xC7)
    cmd(0x20)  # no 4-gray LUT written since the reset
    cmd(0x32, *range(12))
    cmd(0x22, 0xF7)
    cmd(0x20)  # loads the OTP waveform over the LUT
    assert len(c.errors) == 2 and "no LUT written" in c.errors[0]
    assert "loads the OTP waveform" in c.errors[1] and c.counters["refreshes"] == 0
    cmd(0x22, 0xC7)
    cmd(0x20)
    cmd(0x12)  # a software reset forgets the LUT
    cmd(0x22, 0xC7)
    cmd(0x20)
    assert c.counters["full_refreshes"] == 1 and len(c.errors) == 3
    c, cmd = model("ssd1683_grayscale4")
    cmd(0x32, *range(10))
    cmd(0x22, 0xCF)  # Adafruit's 4-gray update: mode 2 bit, but the LUT drives every pixel
    cmd(0x20)
    assert (c.counters["full_refreshes"], c.counters["partial_refreshes"]) == (1, 0)
    c, cmd = model("ssd1681")
    cmd(0x44, 24, 25)  # the SSD1681 has 25 source bytes: byte 25 is not RAM
    cmd(0x4E, 24)
    cmd(0x4F, 0, 0)
    cmd(0x24, 0x00, 0x00)
    assert len(c.errors) == 1 and "SSD1681's RAM (25 x 200 bytes) at x byte 25" in c.errors[0]
    assert c.ram[0][24] == 0 and c.errors


def test_legacy_panel_starts_at_ram_byte_1():
    c, cmd = model("ssd1680_legacy")
    cmd(0x44, 0, 1)
    cmd(0x45, 0, 0, 0, 0)
    cmd(0x4E, 0)
    cmd(0x4F, 0, 0)
    cmd(0x24, 0x0F, 0x3C)  # RAM byte 0 is off the panel, byte 1 its first column
    cmd(0x22, 0xF4)
    cmd(0x20)
    assert c.visible[0][:2] == b"\x3c\xff" and c.errors == []
    img = c.image()
    assert [img.getpixel((x, 0)) for x in (0, 2, 6, 8)] == [BLACK, WHITE, BLACK, WHITE]


@pytest.mark.parametrize("panel", ["ssd1680_grayscale4"], indirect=True)
def test_grayscale4_colstart_on_a_panel_that_starts_at_byte_1(mp, panel):
    kind, sim = panel
    old = sim.controller  # the same model, on a panel whose pixels start at RAM byte 1
    c = type(old)(width=old.width, height=old.height, full_s=old.full_s,
                  partial_s=old.partial_s, reset_s=old.reset_s, x_offset=1)
    c.on_refresh = old.on_refresh
    sim.controller = c
    make = """
cls, w, h = DRIVERS[KIND]
d = cls(w, h, board.SPI(), cs_pin=pin(board.EPD_CS), dc_pin=pin(board.EPD_DC), sramcs_pin=None,
        rst_pin=pin(board.EPD_RESET), busy_pin=pin(board.EPD_BUSY), colstart=8)
ref = make_ref(KIND)
"""
    body = script(kind, make + """
live = defio_epd.attach(d, delay_ms=10000)
for step in (0, 1):
    draw(d, step); draw(ref, step)
    live.flush()
report(planes2(ref))
live.deinit()
""")
    expected, = run(mp, sim, body)[0]
    check_planes(sim, expected)
    # Adafruit's own display() on the same panel.
    body = script(kind, make + """
for x in (d, ref):
    x.fill(E.WHITE); x.fill_rect(0, 0, 8, 4, E.DARK)
d.display()
report(planes2(ref))
""")
    expected, = run(mp, sim, body)[0]
    check_planes(sim, expected)
    img = c.image()
    assert img.getpixel((0, 0)) == DARK and img.getpixel((8, 0)) == WHITE
