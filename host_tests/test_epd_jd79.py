"""JD79661 / JD79667 (quad colour, 2 bits per pixel): attached, pixel-exact against the
same driver drawing into a plain buffer, the simulated panel's colours, full refreshes of
only the changed rows; Adafruit's own display() without attach; the model's protocol checks."""

import pytest

pytest.register_assert_rewrite("epd_harness")
from epd_harness import run, start_sim

from tools.panel_sim import protocol as P
from tools.panel_sim.controller_jd79 import JD79661, JD79667, PALETTE

pytest_plugins = ("epd_harness",)

MODELS = {"jd79661": JD79661, "jd79667": JD79667}

DRAW = """
def draw(d, step):
    K, W, Y, R = d.BLACK, d.WHITE, d.YELLOW, d.RED
    if step == 0:
        d.fill(W)
        d.fill_rect(4, 4, 20, 12, K)
        d.fill_rect(30, 4, 20, 12, Y)
        d.fill_rect(56, 4, 20, 12, R)
        d.line(0, 30, d.width - 1, 60, R)
        d.text("defio", 5, 70, K)
        d.rect(2, 90, 40, 20, Y)
    else:
        d.fill_rect(80, 120, 30, 10, Y)
        d.text("two", 10, 140, R)
        d.pixel(5, 200, K)
        d.fill_rect(30, 4, 8, 12, W)
        d.hline(0, d.height - 3, d.width, K)
def hexbuf(d):
    return binascii.hexlify(bytes(d._buffer1)).decode()
"""

# (x, y) -> the palette colour drawn there, rotation 0 (after both bursts)
SPOTS = {(14, 10): (0, 0, 0), (44, 10): (255, 255, 0), (34, 10): (255, 255, 255),
         (66, 10): (255, 0, 0), (95, 125): (255, 255, 0), (5, 200): (0, 0, 0),
         (100, 180): (255, 255, 255)}


def decode(buf, stride, width, height):
    """Adafruit's 2-bit buffer -> {(x, y): RGB} by the panel's palette."""
    return {(x, y): PALETTE[buf[y * stride + x // 4] >> (6 - 2 * (x % 4)) & 3]
            for y in range(height) for x in range(width)}


def check_image(c, expected, spots=True):
    img = c.image()
    assert img.size == (c.width, c.height) and img.mode == "RGB"
    stride = c.stride
    got = img.load()
    want = decode(expected[:stride * c.height], stride, c.width, c.height)
    bad = [xy for xy, rgb in want.items() if got[xy] != rgb]
    assert not bad, f"{len(bad)} pixels differ, first {bad[:5]}"
    for xy, rgb in SPOTS.items() if spots else ():
        assert got[xy] == rgb, (xy, got[xy], rgb)
    assert {got[xy] for xy in want} == set(PALETTE)  # all four colours are on the panel


@pytest.fixture(params=sorted(MODELS))
def jd(request, tmp_path, pylib, target):
    server = start_sim(tmp_path, request.param, target=target)
    yield request.param, server
    server.stop()


def test_attached_two_bursts_pixel_exact_full_refreshes(mp, jd):
    key, sim = jd
    body = DRAW + f"""
class Mine({'Adafruit_JD79661' if key == 'jd79661' else 'Adafruit_JD79667'}):
    pass  # an app's own subclass gets its driver's operations
DRIVERS["mine"] = (Mine,) + DRIVERS["{key}"][1:]
d = make("mine"); ref = make_ref("{key}")
live = defio_epd.attach(d, delay_ms=10000)
for step in range(2):
    draw(d, step); draw(ref, step)
    live.flush()
report(hexbuf(ref), hexbuf(d) == hexbuf(ref), d._buffer2 is d._buffer1, live.stats())
live.deinit()
report(type(d._buffer1).__name__, d._buffer2 is d._buffer1)
"""
    (expected, same, alias, stats), (plain, alias_after) = run(mp, sim, body)[0]
    c = sim.controller
    expected = bytes.fromhex(expected)
    n = c.stride * c.height
    assert bytes(c.visible[0]) == expected[:n]
    assert same and alias and (plain, alias_after) == ("bytearray", True)
    check_image(c, expected)
    assert stats["controller"] == c.name
    assert (stats["refreshes"], stats["full_refreshes"], stats["partial_refreshes"]) == (2, 2, 0)
    assert (c.counters["full_refreshes"], c.counters["partial_refreshes"]) == (2, 0)
    assert [r["kind"] for r in sim.refresh_log] == ["full", "full"]
    assert c.errors == [] and sim.link_errors == []
    assert c.counters["commands_while_busy"] == 0
    assert c.counters["ignored_past_ram_end"] == 0
    assert c.counters["deep_sleeps"] == 1
    # the first update sends the plane, the second only its changed rows
    assert n < c.counters["data_bytes"] < n + n // 4
    assert c.recorded["tres"] == ([0, 128, 0, 250] if key == "jd79661" else [0, 180, 1, 128])


@pytest.mark.parametrize("rotation", [1, 2, 3])
def test_rotations_pixel_exact(mp, jd, rotation):
    """Adafruit's simpletest drawing (its lines reach every edge) in each other rotation."""
    key, sim = jd
    body = DRAW + f"""
d = make("{key}"); ref = make_ref("{key}")
d.rotation = ref.rotation = {rotation}
live = defio_epd.attach(d, delay_ms=10000)
for x in (d, ref):
    x.fill(x.WHITE); x.pixel(10, 100, x.BLACK); x.fill_rect(5, 5, 10, 10, x.RED)
    x.rect(0, 0, 20, 30, x.BLACK); x.text("hello world", 25, 10, x.BLACK)
    x.line(0, 0, x.width - 1, x.height - 1, x.YELLOW)
    x.line(0, x.height - 1, x.width - 1, 0, x.YELLOW)
live.flush()
report(hexbuf(ref), live.stats()["full_refreshes"])
live.deinit()
"""
    (expected, fulls), = run(mp, sim, body)[0]
    c = sim.controller
    expected = bytes.fromhex(expected)
    assert bytes(c.visible[0]) == expected[:c.stride * c.height]
    check_image(c, expected, spots=False)
    assert fulls == 1 and c.errors == [] and sim.link_errors == []


def test_plain_display_without_attach(mp, jd):
    key, sim = jd
    body = DRAW + f"""
d = make("{key}")
for step in range(2):
    draw(d, step)
d.display()
report(hexbuf(d))
"""
    (expected,) = run(mp, sim, body, timeout=120)[0]
    c = sim.controller
    expected = bytes.fromhex(expected)
    assert bytes(c.visible[0]) == expected[:c.stride * c.height]
    check_image(c, expected)
    assert c.counters["full_refreshes"] == 1 and c.errors == [] and sim.link_errors == []
    assert c.counters["commands_while_busy"] == 0
    # Adafruit's JD79667 buffer is rounded to 8 pixels, the RAM's rows to 4: the extra bytes
    # fall past the RAM's end.
    assert c.counters["ignored_past_ram_end"] == len(expected) - c.stride * c.height


def test_power_loss_anywhere_in_the_set_up_then_the_whole_image(mp, jd):
    # The panel loses power k frames into an update that resets it and sets it up (the
    # driver's chip select per byte makes that about 200 frames): wherever it falls, the
    # update that ends shows and holds the whole image.
    key, sim = jd
    n = {"jd79661": 32 * 250, "jd79667": 45 * 384}[key]
    body = f"""
d = make("{key}"); ref = make_ref("{key}")
live = defio_epd.attach(d, delay_ms=10000)
for k in range(0, 200, 40):
    live.invalidate()                        # the next update resets and sets the panel up
    for x in (d, ref):
        x.fill_rect(k // 2, k // 2 + 20, 9, 9, (x.RED, x.YELLOW, x.BLACK)[k % 3])
    panel_link.get().fault({P.F_POWER_LOSS}, k)
    flush_until_ok(live)
    panel_link.get().mark(k, binascii.crc32(bytes(ref._buffer1)[:{n}]))
report(live.stats())
"""
    (stats,), _ = run(mp, sim, body, timeout=120)
    c = sim.controller
    assert sim.marks == 5 and sim.bad_marks == [], sim.bad_marks
    assert c.counters["power_losses"] == 5
    assert stats["full_refreshes"] >= 6 and stats["panel_restarts"] >= 1
    # the losses fell inside the set-up: its command stream broke off
    assert any("without a command" in e or "parameter bytes" in e for e in c.errors)


# -- the model's protocol checks, on the controller alone ---------------------------------
def feed(c, *items):
    """items: (command, data bytes) pairs, sent as the drivers do."""
    pos = 0
    for cmd, data in items:
        c.spi(bytes((cmd,)), 0, pos)
        pos += 1
        if data:
            c.spi(bytes(data), 1, pos)
            pos += len(data)


def test_model_flags_what_the_chip_does_not_allow():
    c = JD79661(reset_s=0, full_s=0)
    feed(c, (0x12, [0]))  # refresh with the power off
    feed(c, (0x04, []), (0x83, [0, 2, 0, 9, 0, 0, 0, 3, 1]))  # x not on 4-pixel bytes
    feed(c, (0x83, [0, 4, 0, 11, 0, 0, 0, 1, 1]), (0x10, [1] * 5))  # 2 x 2 bytes window
    feed(c, (0x61, [0, 128]), (0x04, []))  # TRES short of its 4 bytes
    feed(c, (0x04, [1]))  # a parameter to a command that takes none
    feed(c, (0x42, []))  # no such command
    feed(c, (0x61, [0, 120, 0, 250]))  # rows of 120 pixels: not this panel's 128
    want = ["power off", "PTL window", "past the window end", "tres", "takes 0", "unknown",
            "TRES width 120"]
    assert len(c.errors) == len(want), c.errors
    for err, w in zip(c.errors, want, strict=True):
        assert w in err, (err, w)


@pytest.mark.parametrize("key", sorted(MODELS))
def test_model_window_write_and_full_refresh(key):
    c = MODELS[key](reset_s=0, full_s=0)
    assert c.busy_active_low  # BUSY_N: low while busy
    assert c.busy_level() == 1
    feed(c, (0x04, []), (0x83, [0, 8, 0, 15, 0, 2, 0, 3, 1]), (0x10, [0x00, 0xAA, 0xFF, 0x00]))
    feed(c, (0x83, [0, 0, 0, c.stride * 4 - 1, 0, 0, (c.height - 1) >> 8,
                    (c.height - 1) & 0xFF, 0]), (0x12, [0]))
    assert c.errors == []
    assert c.counters["full_refreshes"] == 1
    img = c.image()
    assert [img.getpixel((x, 2)) for x in (7, 8, 12, 16)] == [PALETTE[1], PALETTE[0],
                                                             PALETTE[2], PALETTE[1]]
    assert img.getpixel((9, 3)) == PALETTE[3] and img.getpixel((14, 3)) == PALETTE[0]
