"""The pieces that let Adafruit's own examples run unmodified: the 23K640 SRAM model, board pin
names, time.monotonic, panel detection from the app's constructor, the error summary, and the
acceptance script (tools/examples) on small example folders made here. The device-side tests
run on both targets (the Unix port, or the firmware in QEMU with --target qemu)."""

import json
import pathlib
import subprocess
import sys
import time

import pytest

pytest.register_assert_rewrite("epd_harness")
from epd_harness import EPILOGUE, start_sim
from PIL import Image

from tools.examples import __main__ as examples
from tools.examples.detect import DetectError, board_pin_numbers, detect, parse_panel
from tools.panel_sim import sram_23k640 as S
from tools.panel_sim.server import FIRST_FEW, error_kind, summarise_errors

pytest_plugins = ("epd_harness",)
ROOT = pathlib.Path(__file__).resolve().parent.parent


# -- the SRAM model, host side -----------------------------------------------------------------
def op(sram, *data):
    """One instruction: chip select low, the bytes, chip select high; the MISO bytes."""
    sram.select()
    out = sram.transfer(bytes(data))
    sram.deselect()
    return out


def test_sram_sequential_write_and_read_wraps_at_the_end_of_the_array():
    m = S.SRAM23K640()
    op(m, S.WRSR, 0x43)                       # what adafruit_epd's driver sends: sequential
    assert op(m, S.RDSR, 0)[1] == 0x43 and m.mode == S.MODE_SEQUENTIAL
    op(m, S.WRITE, 0x1F, 0xFE, 1, 2, 3, 4)    # 0x1FFE, 0x1FFF, then 0x0000, 0x0001
    assert bytes(m.mem[0x1FFE:]) + bytes(m.mem[:2]) == bytes((1, 2, 3, 4))
    assert op(m, S.READ, 0x1F, 0xFE, 0, 0, 0, 0)[3:] == bytes((1, 2, 3, 4))
    # The upper address bits are don't-care: 0xFFFE is 0x1FFE.
    assert op(m, S.READ, 0xFF, 0xFE, 0)[3] == 1
    # Running past the end is what the chip does, but the app's buffers do not fit: noted,
    # once per instruction.
    assert [error_kind(e) for e in m.errors] == [
        "#K#: sequential WRITE ran past the end of the # KiB array (wrapped to #)",
        "#K#: sequential READ ran past the end of the # KiB array (wrapped to #)"]
    op(m, S.READ, 0x1F, 0xF0, 0, 0)
    assert len(m.errors) == 2


def test_sram_byte_mode_is_the_default_and_takes_one_byte_per_instruction():
    m = S.SRAM23K640()
    assert m.mode == S.MODE_BYTE
    op(m, S.WRITE, 0, 10, 0xAA, 0xBB)
    assert m.mem[10] == 0xAA and m.mem[11] != 0xBB
    assert op(m, S.READ, 0, 10, 0, 0)[3:] == bytes((0xAA, 0))
    assert len(m.errors) == 2 and "byte mode" in m.errors[0] and "stream offset" in m.errors[0]


def test_sram_page_mode_wraps_inside_its_32_byte_page():
    m = S.SRAM23K640()
    op(m, S.WRSR, 0x80)
    op(m, S.WRITE, 0, 62, 1, 2, 3)            # 62, 63, then 32 (same page)
    assert (m.mem[62], m.mem[63], m.mem[32]) == (1, 2, 3) and m.mem[64] != 3
    assert m.errors == []


def test_sram_unknown_instruction_and_reserved_mode_are_errors():
    m = S.SRAM23K640()
    assert op(m, 0x9F, 1, 2) == bytes(3)
    op(m, S.WRSR, 0xC0)
    assert [error_kind(e) for e in m.errors] == ["#K#: unknown instruction #",
                                                 "#K#: WRSR # selects the reserved mode"]


# -- the error summary -------------------------------------------------------------------------
def test_errors_are_summarised_per_kind_with_the_first_few():
    errors = [f"bad command 0x{i:02x} (stream offset {i * 7})" for i in range(50)]
    errors += ["the device vanished: gone"]
    s = summarise_errors(errors)
    assert list(s) == ["bad command #", "the device vanished: gone"]
    assert s["bad command #"]["count"] == 50
    assert s["bad command #"]["first"] == errors[:FIRST_FEW]


# -- detection ---------------------------------------------------------------------------------
APP = '''
import board, busio, digitalio
from adafruit_epd.epd import Adafruit_EPD
from adafruit_epd.uc8151d import Adafruit_UC8151D
from adafruit_epd.ssd1680 import Adafruit_SSD1680
spi = busio.SPI(board.SCK, MOSI=board.MOSI, MISO=board.MISO)
ecs = digitalio.DigitalInOut(board.D12)
dc = digitalio.DigitalInOut(board.D11)
srcs = digitalio.DigitalInOut(board.D10)
# display = Adafruit_SSD1680(122, 250,   # a commented alternative
display = Adafruit_UC8151D(128, 296, spi, cs_pin=ecs, dc_pin=dc, sramcs_pin=srcs,
                           rst_pin=digitalio.DigitalInOut(board.D9), busy_pin=None)
""" display = Adafruit_SSD1680(122, 250, spi, cs_pin=ecs, dc_pin=dc, sramcs_pin=None,
    rst_pin=None, busy_pin=None)"""
display.rotation = 1
'''


def test_detection_follows_the_constructor_its_pins_and_rotation():
    a = detect(APP)
    assert (a.driver, a.key, a.size, a.rotation) == ("Adafruit_UC8151D", "uc8151d", (128, 296), 1)
    assert a.pins == {"cs": "D12", "dc": "D11", "sram": "D10", "rst": "D9", "busy": None}
    w = a.wiring()
    assert (w["cs"], w["dc"], w["sram"], w["rst"]) == (12, 11, 10, 9)
    assert w["busy"] not in board_pin_numbers().values()  # unconnected: a number never driven


def test_detection_of_a_subclass_positional_pins_and_board_aliases():
    src = '''
import board, digitalio
from adafruit_epd.ssd1680 import Adafruit_SSD1680_Grayscale4 as G
class Wing(G):
    pass
pin = digitalio.DigitalInOut
d = Wing(122, 250, board.SPI(), pin(board.EPD_CS), pin(board.EPD_DC), None,
         pin(board.EPD_RESET), pin(board.EPD_BUSY))
'''
    a = detect(src)
    assert (a.key, a.rotation) == ("ssd1680_grayscale4", 0)
    assert a.wiring() == {"cs": 9, "dc": 10, "sram": a.wiring()["sram"], "rst": 5, "busy": 7}


@pytest.mark.parametrize("src, words", [
    ("print(1)\n", "constructs no adafruit_epd driver"),
    (APP.replace("display.rotation = 1", "d2 = Adafruit_SSD1680(1, 2, None, None, None)"),
     "more than one driver"),
    (APP.replace("128, 296", "W, 296"), "the size is not two numbers"),
    (APP.replace("board.D12", "board.CE0"), "board.CE0 (cs) is not a pin"),
    ("x = (\n", "app:"),
])
def test_detection_says_why_it_cannot_tell(src, words):
    with pytest.raises(DetectError) as e:
        detect(src, "app")
    assert words in str(e.value) and "\n" not in str(e.value)


def test_panel_argument():
    assert parse_panel("SSD1681:200x200") == ("ssd1681", (200, 200))
    assert parse_panel("uc8151d") == ("uc8151d", None)
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_panel("ssd1681:200")


# -- on the target: pins, monotonic, the SRAM through the link -----------------------------------
@pytest.fixture
def sim_here(tmp_path, pylib, target):
    server = start_sim(tmp_path, target=target)
    yield server
    server.stop()


def run_on(mp, sim, body, timeout=120):
    res = mp("import panel_link\n" + body + EPILOGUE, timeout=timeout,
             env={"DEFIO_PANEL": sim.address})
    if sim.connect is None:
        sim.wait_disconnected()
    assert res.returncode == 0, res.out + res.err
    return res.out


def test_board_has_the_pin_names_of_the_in_scope_examples(mp, sim_here):
    names = ["D4", "D5", "D6", "D7", "D8", "D9", "D10", "D11", "D12", "D13", "EPD_CS",
             "EPD_DC", "EPD_RESET", "EPD_BUSY", "EPD_SCK", "EPD_MOSI", "EPD_MISO", "SRAM_CS",
             "SCK", "MOSI", "MISO", "A3"]
    out = run_on(mp, sim_here, f"""
import board, digitalio
print([getattr(board, n).id for n in {names!r}])
print(board.SPI() is board.SPI())
p = digitalio.DigitalInOut(board.D11)
p.switch_to_output(True)
p.value = False
""")
    ids, same = out.splitlines()[:2]
    table = board_pin_numbers()
    assert eval(ids) == [table[n] for n in names]
    assert (table["EPD_CS"], table["EPD_DC"], table["EPD_RESET"], table["EPD_BUSY"],
            table["SRAM_CS"]) == (9, 10, 5, 7, 6)
    assert same == "True" and sim_here.levels[11] == 0


def test_time_monotonic(mp, sim_here):
    out = run_on(mp, sim_here, """
import time
a = time.monotonic()
time.sleep(0.3)
b = time.monotonic()
n = time.monotonic_ns()
# The tick counter read 1 s ago: monotonic counts the ticks_diff since.
time._clock[0] = time.ticks_add(time._clock[0], -1000)
c = time.monotonic()
print(type(a).__name__, round(b - a, 1), type(n).__name__, n >= int(b * 1e9) - 1e6,
      round(c - b, 1), time.ticks_ms() >= 0, callable(time.sleep_ms))
""")
    words = out.split()
    assert words[0] == "float" and 0.3 <= float(words[1]) <= 1.5, out  # loaded machines
    assert words[2] == "int" and words[3] == "True", out
    assert 1.0 <= float(words[4]) <= 2.0 and words[5:] == ["True", "True"], out


def test_sram_tells_what_a_sequential_read_clocks_out_next_and_nothing_else():
    chip = S.SRAM23K256()
    data = bytes((i * 7 + i // 256) & 0xFF for i in range(chip.size))
    op(chip, S.WRSR, 0x40)  # sequential
    op(chip, S.WRITE, 0, 0, *data)
    chip.select()
    assert chip.ahead(8) == b""  # no instruction yet
    chip.transfer(bytes((S.READ, 0x12)))
    assert chip.ahead(8) == b""  # half an address
    chip.transfer(bytes((0x34,)))
    assert chip.ahead(600) == data[0x1234:0x1234 + 600]
    got = chip.transfer(bytes(700))  # the bytes out whatever comes in: the ones told
    assert got == data[0x1234:0x1234 + 700] and chip.ahead(3) == data[0x1234 + 700:][:3]
    chip.deselect()
    assert chip.ahead(3) == b""
    chip.select()
    chip.transfer(bytes((S.READ, 0x7F, 0xFE)))
    assert chip.ahead(10) == data[-2:]  # never past the end (where it wraps)
    chip.deselect()
    for status, cmd in ((0x40, S.WRITE), (0x00, S.READ), (0x80, S.READ)):
        op(chip, S.WRSR, status)  # a write, byte mode, page mode: nothing ahead
        chip.select()
        chip.transfer(bytes((cmd, 0, 0)))
        assert chip.ahead(4) == b"", (status, cmd)
        chip.deselect()
    assert chip.errors == []


AHEAD_APP = """
import board, busio, digitalio, panel_link
from adafruit_epd.mcp_sram import Adafruit_MCP_SRAM
spi = busio.SPI(board.SCK, MOSI=board.MOSI, MISO=board.MISO)
cs = digitalio.DigitalInOut(board.SRAM_CS)
sram = Adafruit_MCP_SRAM(cs, spi)  # sequential mode
data = bytes((i * 7 + i // 256) & 0xFF for i in range(2048))
for i in range(0, 2048, 512):
    sram.write(i, data[i:i + 512])
link = panel_link.get()
b = bytearray(1)
def read(addr, n, toggle_at=None):
    cs.value = False
    spi.write(bytes((3, addr >> 8, addr & 0xFF)))
    out = bytearray()
    for k in range(n):
        spi.write_readinto(b"\\x5a", b)  # what goes in does not matter
        out += b
    cs.value = True
    return bytes(out)
got = read(5, 1300)  # across two blocks sent ahead
print("seq", got == data[5:1305], link.ahead_bytes, len(link._ahead))
cs.value = False
spi.write(bytes((3, 0, 100)))
firsts = bytearray()
for k in range(3):
    spi.write_readinto(b"\\x00", b)
    firsts += b
had = len(link._ahead) - link._at
cs.value = True  # mid-block: what is left is dropped
left = len(link._ahead)
print("toggle", firsts == data[100:103], left, read(300, 40) == data[300:340], had)
print("bytes", link.ahead_bytes)
"""


def test_sram_reads_from_bytes_sent_ahead_equal_the_sram_and_a_toggle_drops_them(mp, sim_here):
    out = run_on(mp, sim_here, AHEAD_APP, timeout=300)
    seq = next(x for x in out.splitlines() if x.startswith("seq")).split()
    toggle = next(x for x in out.splitlines() if x.startswith("toggle")).split()
    assert seq[1] == "True" and int(seq[2]) > 1024 and seq[3] == "0", out
    assert toggle[1] == "True" and toggle[2] == "0" and toggle[3] == "True", out
    assert int(toggle[4]) > 100, out  # the second read asked for more, not the first
    m = sim_here.sram
    assert m.errors == [] and sim_here.all_errors() == [] and sim_here.ahead_bytes > 1024
    sent = sim_here.ahead_bytes
    assert m.counts["bytes_in"] >= 1300 + 40  # every byte clocked reached the SRAM
    # One read of an instruction (a pixel's byte) asks for nothing ahead.
    out = run_on(mp, sim_here, SRAM_APP)
    assert out.split()[:3] == ["True", "0xbeef", "1"] and sim_here.ahead_bytes == sent, out


SRAM_APP = """
import board, busio, digitalio
from adafruit_epd.mcp_sram import Adafruit_MCP_SRAM
spi = busio.SPI(board.SCK, MOSI=board.MOSI, MISO=board.MISO)
sram = Adafruit_MCP_SRAM(digitalio.DigitalInOut(board.SRAM_CS), spi)
sram.write(0x100, bytes(range(40)))
sram.write16(0x1FFE, 0xBEEF)
print(list(sram.read(0x100, 40)) == list(range(40)), hex(sram.read16(0x1FFE)),
      sram.read8(0x101))
"""


def test_the_driver_s_sram_works_through_the_link(mp, sim_here):
    out = run_on(mp, sim_here, SRAM_APP)
    assert out.split()[:3] == ["True", "0xbeef", "1"], out
    m = sim_here.sram
    assert m.status == 0x43 and bytes(m.mem[0x100:0x128]) == bytes(range(40))
    assert m.counts["WRSR"] == 1 and m.counts["READ"] == 3 and m.errors == []


DISPLAY_APP = """
import board, busio, digitalio
from adafruit_epd.epd import Adafruit_EPD as E
from adafruit_epd.ssd1680 import Adafruit_SSD1680
pin = digitalio.DigitalInOut
d = Adafruit_SSD1680(122, 250, board.SPI(), cs_pin=pin(board.EPD_CS), dc_pin=pin(board.EPD_DC),
                     sramcs_pin={sram}, rst_pin=pin(board.EPD_RESET), busy_pin=pin(board.EPD_BUSY))
d.rotation = 1
d.fill(E.WHITE)
d.fill_rect(3, 4, 12, 9, E.RED)
d.line(0, 0, d.width - 1, d.height - 1, E.BLACK)
d.pixel(200, 100, E.BLACK)
d.display()
"""


def test_an_sram_backed_display_shows_what_a_plain_one_shows(mp, tmp_path, pylib, target):
    images = []
    for sram in ("pin(board.SRAM_CS)", "None"):
        server = start_sim(tmp_path / sram[:4], target=target)
        try:
            run_on(mp, server, DISPLAY_APP.format(sram=sram), timeout=300)
            server.wait_idle()
            images.append(server.controller.image())
            assert server.all_errors() == []
        finally:
            server.stop()
        if sram != "None":
            assert server.sram.counts["READ"] >= 2 and server.sram.counts["bytes_out"] > 7000
    assert images[0].tobytes() == images[1].tobytes()
    assert images[0].getpixel((121 - 4, 3)) == (255, 0, 0)  # rotation 1: (3, 4) -> (117, 3)


# -- the acceptance script on small folders ------------------------------------------------------
HEAD = """import time
import board
import busio
import digitalio
from adafruit_epd.epd import Adafruit_EPD
"""


def write_examples(folder):
    folder.mkdir()
    (folder / "loop_ssd1680.py").write_text(HEAD + """\
from adafruit_epd.ssd1680 import Adafruit_SSD1680
spi = busio.SPI(board.EPD_SCK, MOSI=board.EPD_MOSI, MISO=None)
display = Adafruit_SSD1680(122, 250, spi, cs_pin=digitalio.DigitalInOut(board.D12),
    dc_pin=digitalio.DigitalInOut(board.D11), sramcs_pin=None,
    rst_pin=digitalio.DigitalInOut(board.D9), busy_pin=digitalio.DigitalInOut(board.D5))
display.rotation = 3
display.fill(Adafruit_EPD.WHITE)
display.fill_rect(20, 20, 50, 60, Adafruit_EPD.BLACK)
display.text("hi", 100, 10, Adafruit_EPD.RED)
display.display()
display.vline(80, 30, 60, Adafruit_EPD.BLACK)
while True:
    display.display()
    time.sleep(30)
""")
    (folder / "sram_uc8151d.py").write_text(HEAD + """\
from adafruit_epd.uc8151d import Adafruit_UC8151D
spi = busio.SPI(board.SCK, MOSI=board.MOSI, MISO=board.MISO)
display = Adafruit_UC8151D(104, 212, spi, cs_pin=digitalio.DigitalInOut(board.D10),
    dc_pin=digitalio.DigitalInOut(board.D9), sramcs_pin=digitalio.DigitalInOut(board.D7),
    rst_pin=digitalio.DigitalInOut(board.D11), busy_pin=digitalio.DigitalInOut(board.D12))
display.rotation = 2
display.fill(Adafruit_EPD.WHITE)
display.rect(2, 3, 40, 50, Adafruit_EPD.BLACK)
display.text("sram", 50, 100, Adafruit_EPD.BLACK)
display.fill_rect(60, 150, 30, 20, Adafruit_EPD.RED)
display.display()
""")
    (folder / "pillow_app.py").write_text(HEAD + "from PIL import Image\n")
    (folder / "two_drivers.py").write_text(HEAD + """\
from adafruit_epd.ssd1680 import Adafruit_SSD1680
from adafruit_epd.uc8151d import Adafruit_UC8151D
a = Adafruit_SSD1680(122, 250, None, None, None, None, None, None)
b = Adafruit_UC8151D(128, 296, None, None, None, None, None, None)
""")
    (folder / "future_panel.py").write_text(HEAD + """\
from adafruit_epd.xyz import Adafruit_XYZ9
display = Adafruit_XYZ9(100, 100, None, cs_pin=None, dc_pin=None, sramcs_pin=None,
                        rst_pin=None, busy_pin=None)
""")


def test_acceptance_script_on_a_folder(tmp_path, target, request):
    board = "unix" if target.name == "unix" else request.config.getoption("--board")
    write_examples(tmp_path / "ex")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "tools.examples", "--boards", board,
                        "--examples", str(tmp_path / "ex"), "--out", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600, check=False)
    lines = r.stdout.splitlines()
    row = {line.split()[0]: line for line in lines if line and not line.startswith(" ")}
    assert r.returncode == 1, r.stdout + r.stderr          # the unknown panel fails, alone
    assert "FAIL unknown panel key 'xyz9'" in r.stdout
    assert "out of scope: needs Pillow" in row["pillow_app.py"]
    for name in ("loop_ssd1680.py", "sram_uc8151d.py"):
        assert row[name].split()[2] == "ok" and row[name].split()[3] == "yes", r.stdout
    # An example in scope whose panel cannot be told fails (it is not skipped).
    assert "FAIL cannot tell its panel: two_drivers.py: constructs more than one driver" in \
        r.stdout
    assert len([x for x in lines if "FAIL" in x]) == 2, r.stdout
    results = json.loads((out / "results.json").read_text())
    loop = next(x for x in results["rows"] if x["example"] == "loop_ssd1680.py")
    assert loop["bound"] == "6 s" and loop["bursts"] == 2
    assert loop[f"{board}-attach"]["refreshes"] <= 2 and loop[f"{board}-plain"]["refreshes"] == 2
    png = out / "runs" / "loop_ssd1680" / f"{board}-plain" / "panel.png"
    assert Image.open(png).size == (250, 122)              # the app's rotation (3)
    saved = json.loads(png.with_name("panel.json").read_text())["simulator"]
    assert (saved["panel"], saved["native_size"], saved["rotation"]) == ("ssd1680", [122, 250], 3)
    sram = next(x for x in results["rows"] if x["example"] == "sram_uc8151d.py")
    assert "SRAM" in sram["attach"] and sram[f"{board}-plain"]["exact"]


def test_the_pixel_comparison_sees_one_pixel(tmp_path):
    ref = Image.new("RGB", (20, 10), (255, 255, 255))
    ref.save(tmp_path / "p.png")
    assert examples.same_image(tmp_path / "p.png", ref)
    ref.putpixel((19, 9), (0, 0, 0))
    assert not examples.same_image(tmp_path / "p.png", ref)
    assert not examples.same_image(tmp_path / "p.png", ref.resize((10, 20)))


def test_attach_is_one_line_after_the_construction():
    src = ("from adafruit_epd.ssd1680 import Adafruit_SSD1680 as S\nclass W(S):\n    pass\n"
           "d = W(\n    1,\n    2)\nd.rotation = 1\n")
    out = examples.with_attach(src, "a.py")
    assert out.splitlines()[6] == "import defio_epd; defio_epd.attach(d)  # inserted"
    assert out.replace(out.splitlines()[6] + "\n", "") == src
    with pytest.raises(DetectError, match="module-level"):
        examples.with_attach(src.replace("d = W(", "def f():\n    d = W("), "a.py")


def test_the_simulator_logs_the_first_few_errors_of_a_kind_and_counts_the_rest(tmp_path):
    import socket

    from tools.panel_sim import PanelServer
    from tools.panel_sim import protocol as P

    logged = []
    server = PanelServer(out=tmp_path, log=logged.append).start()
    try:
        host, port = server.address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"".join(P.encode(0x40 + i) for i in range(10)))
            deadline = time.monotonic() + 10
            while server.frames < 10 and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        server.stop()
    assert len(server.link_errors) == 10
    assert logged[:3] == server.link_errors[:3] and len(logged) == 4
    assert logged[3] == "(more of this kind are only counted: unknown frame type #)"
    saved = json.loads((tmp_path / "panel.json").read_text())
    assert saved["error_count"] == 10 and len(saved["link_errors"]) == FIRST_FEW
    assert saved["error_summary"] == {"unknown frame type #": {
        "count": 10, "first": server.link_errors[:FIRST_FEW]}}


# -- the shield's buttons: the ladder model, analogio on the target, the reference's replay -----
def test_the_ladder_gives_each_button_the_level_the_shield_test_sorts_it_by():
    from tools.panel_sim import buttons as B

    for button in (1, 2, 3, 4):
        value = B.level(B.parse_schedule(f"{button}@1+2"), 2.0)
        assert B.button_for(value) == button, (button, value)
        assert B.level(B.parse_schedule(f"{button}@1+2"), 3.0) == B.FULL  # released
    assert B.button_for(B.level([], 0)) is None and B.level([], 0) == 65535
    # Two at once are resistors in parallel: the lower one wins the thresholds.
    assert B.button_for(B.level(B.parse_schedule("3@0+5,4@0+5"), 1)) == 3
    assert B.level(B.parse_schedule("1@0+5,4@0+5"), 1) == 0
    for bad in ("5@1+1", "2@1", "x", "2@-1+1", "2@1+0"):
        with pytest.raises(ValueError) as e:
            B.parse_schedule(bad)
        assert "\n" not in str(e.value) and "button press" in str(e.value)


def test_analogio_reads_the_simulated_ladder_through_the_link(mp, sim_here):
    from tools.panel_sim import buttons as B

    seen = {}
    for button in (None, 1, 2, 3, 4):
        sim_here.buttons = B.parse_schedule(f"{button}@0+100000") if button else []
        before = sim_here.analog_reads
        out = run_on(mp, sim_here, """
import board, analogio
with analogio.AnalogIn(board.A3) as a:
    v = a.value
r = v / 65535
b = None if r > 0.75 else 4 if r > 0.4 else 3 if r > 0.25 else 2 if r > 0.13 else 1
print("analog", v, b, analogio.AnalogIn(board.D4).value)
""")
        words = next(x for x in out.splitlines() if x.startswith("analog")).split()
        seen[button] = (int(words[1]), words[2], int(words[3]))
        assert sim_here.analog_reads == before + 2
    for button, (value, sorted_as, d4) in seen.items():
        assert value == (B.level(B.parse_schedule(f"{button}@0+1"), 0.5) if button
                         else 65535)
        assert sorted_as == str(button) and d4 == 0


def test_analogio_without_a_link_is_one_line(target):
    if target.name != "unix":
        pytest.skip("the firmware always has its panel link (UART1)")
    res = target.run("import board, analogio\nanalogio.AnalogIn(board.A3)\n", timeout=30)
    assert res.returncode == 1
    last = res.err.strip().splitlines()[-1]
    assert last == ("RuntimeError: analogio: cannot read board.A3: no panel link and no "
                    "machine.ADC on this port"), res.err


BMP_APP = """
import board, busio, digitalio
from adafruit_epd.epd import Adafruit_EPD
from adafruit_epd.il0373 import Adafruit_IL0373
from analogio import AnalogIn
spi = busio.SPI(board.SCK, MOSI=board.MOSI, MISO=board.MISO)
pin = digitalio.DigitalInOut
display = Adafruit_IL0373(104, 212, spi, cs_pin=pin(board.D10), dc_pin=pin(board.D9),
                          sramcs_pin=None, rst_pin=None, busy_pin=pin(board.D12))
display.rotation = 1
display.fill(Adafruit_EPD.WHITE)
try:
    f = open("blinka.bmp", "rb")
    head = f.read(30)
    f.close()
    print("File opened", head[:2], int.from_bytes(head[18:22], "little"),
          int.from_bytes(head[22:26], "little"), head[28])
    display.fill_rect(1, 1, 8, 8, Adafruit_EPD.RED)
except OSError:
    print("Couldn't open file")
print("A3", AnalogIn(board.A3).value)
display.display()
"""


def test_the_bitmap_is_a_24_bit_bmp_of_the_panel_in_the_app_s_orientation(tmp_path):
    panel = detect(BMP_APP, "bmp_app.py")
    bmp = examples.make_bitmap(tmp_path / "blinka.bmp", panel)
    head = bmp.read_bytes()[:30]
    assert head[:2] == b"BM" and head[28] == 24
    assert (int.from_bytes(head[18:22], "little"), int.from_bytes(head[22:26], "little")) == \
        (212, 104)  # rotation 1: the app's width is the panel's height
    img = Image.open(bmp).convert("RGB")
    colours = {img.getpixel((x, y)) for x in range(img.width) for y in range(img.height)}
    assert {(0, 0, 0), (255, 0, 0), (255, 255, 255)} <= colours


def test_the_reference_opens_the_bitmap_and_hears_the_buttons(tmp_path):
    from tools.panel_sim import buttons as B

    app = tmp_path / "bmp_app.py"
    app.write_text(BMP_APP)
    panel = detect(BMP_APP, app.name)
    bmp = examples.make_bitmap(tmp_path / "blinka.bmp", panel)
    for setup, opened in (({"files": [bmp], "buttons": "2@0+600"}, True), ({}, False)):
        refs, code, out = examples.reference(app, panel, None, setup, tmp_path / f"ref{opened}")
        assert code == 0 and len(refs) == 1, out
        assert ("File opened b'BM' 212 104 24" in out) == opened, out
        level = B.level(B.parse_schedule("2@0+1"), 0.5) if opened else 65535
        assert f"A3 {level}" in out, out
        problems = examples.setup_problems("ref", out, refs[-1],
                                           {"expect": ["File opened"], "colours": ["red"]})
        assert problems == ([] if opened else [
            "ref: the output does not say 'File opened' (after the lines before it)",
            "ref: the picture has no red pixel"])


def test_run_puts_the_file_where_the_app_opens_it(tmp_path, target, request):
    board = "unix" if target.name == "unix" else request.config.getoption("--board")
    app = tmp_path / "bmp_app.py"
    app.write_text(BMP_APP)
    bmp = examples.make_bitmap(tmp_path / "blinka.bmp", detect(BMP_APP, app.name))
    for extra, opened in ((["--file", str(bmp), "--buttons", "4@0+600"], True), ([], False)):
        out = tmp_path / f"out{opened}"
        r = subprocess.run([sys.executable, "-m", "tools.run", "--board", board, "--app",
                            str(app), "--out", str(out), "--time-scale", "0.05",
                            "--timeout", "120", *extra], cwd=ROOT, capture_output=True,
                           text=True, timeout=300, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        said = (out / "output.txt").read_text()
        assert ("File opened b'BM' 212 104 24" in said) == opened, said
        assert ("Couldn't open file" in said) != opened, said
        png = Image.open(out / "panel.png").convert("RGB")
        assert (png.getpixel((4, 4)) == (255, 0, 0)) == opened


def test_the_shield_s_23k256_holds_what_the_23k640_wraps():
    data = bytes(i // 256 for i in range(11776))  # more than 8 KiB, no period of 8 KiB
    for chip, wraps in ((S.SRAM23K640(), True), (S.SRAM23K256(), False)):
        op(chip, S.WRSR, 0x43)
        op(chip, S.WRITE, 0, 0, *data)
        assert (op(chip, S.READ, 0, 0, *bytes(len(data)))[3:] == data) != wraps
        assert bool(chip.errors) == wraps and chip.size == (8192 if wraps else 32768)
    assert S.CHIPS["23k256"] is S.SRAM23K256


def test_a_hang_up_at_the_planned_stop_is_not_a_protocol_error(tmp_path):
    import socket

    from tools.panel_sim import PanelServer
    from tools.panel_sim import protocol as P

    server = PanelServer(out=tmp_path, log=lambda msg: None).start()
    try:
        host, port = server.address.rsplit(":", 1)
        for n in (1, 2):  # a device that vanishes mid-frame, twice
            with socket.create_connection((host, int(port)), timeout=5) as s:
                s.sendall(P.encode(P.T_SYNC)[:3])
            deadline = time.monotonic() + 10
            while len(server.link_errors) < n and time.monotonic() < deadline:
                time.sleep(0.01)
            if n == 1:
                since = time.monotonic()
    finally:
        server.stop()
    assert len(server.link_errors) == 2 and "vanished mid-frame" in server.link_errors[1]
    assert server.forgive_hangups(since) == 1  # the second: after the stop
    assert len(server.link_errors) == 1 and server.summary()["error_count"] == 1


# -- presses that wait for the app: held until its refresh, the next once it reads again -------
PRESS_APP = """
import board, busio, digitalio
from analogio import AnalogIn
from adafruit_epd.epd import Adafruit_EPD
from adafruit_epd.il0373 import Adafruit_IL0373
spi = busio.SPI(board.SCK, MOSI=board.MOSI, MISO=board.MISO)
pin = digitalio.DigitalInOut
display = Adafruit_IL0373(104, 212, spi, cs_pin=pin(board.D10), dc_pin=pin(board.D9),
                          sramcs_pin=None, rst_pin=None, busy_pin=pin(board.D12))
display.fill(Adafruit_EPD.WHITE)
DRAW = True
last = None
while True:
    v = AnalogIn(board.A3).value / 65535
    b = None if v > 0.75 else 4 if v > 0.4 else 3 if v > 0.25 else 2 if v > 0.13 else 1
    if b != last:
        print("Button", b)
        last = b
        if b and DRAW:
            display.fill_rect(b * 10, 0, 8, 8, Adafruit_EPD.RED)
            display.display()
"""


def test_a_press_is_held_until_the_refresh_and_the_next_waits_for_the_read_after_it():
    from tools.panel_sim import buttons as B

    p = B.Presses(B.parse_sequence("2,4"))
    two, four = (B.level([(b, 0, 1)], 0) for b in (2, 4))
    assert [p.read(), p.read()] == [two, two] and not p.done.is_set()
    p.refresh_started()
    assert [p.read(busy=True), p.read(busy=True)] == [B.FULL, B.FULL]  # still refreshing
    assert "button 2" in p.describe() and "released" in p.describe()
    assert p.read() == B.FULL  # the refresh is over: the release is read, the next press is on
    assert [p.read(), p.read()] == [four, four] and "press 2 of 2" in p.describe()
    p.refresh_started()
    assert not p.done.is_set() and p.read() == B.FULL and p.done.is_set()
    assert p.read() == B.FULL and p.done_at is not None
    assert B.is_sequence("1,2,3,4") and not B.is_sequence("1@0+1") and not B.is_sequence("")
    assert B.parse_buttons("1,3")[0] == [] and B.parse_buttons("1@0+1")[1] is None
    for bad in ("5", "1,x", "0"):
        with pytest.raises(ValueError) as e:
            B.parse_sequence(bad)
        assert "\n" not in str(e.value) and "button press" in str(e.value)


def test_the_reference_draws_once_per_press_and_ends_after_the_last(tmp_path):
    app = tmp_path / "press_app.py"
    app.write_text(PRESS_APP)
    panel = detect(PRESS_APP, app.name)
    refs, code, out = examples.reference(app, panel, None, {"buttons": "2,4"}, tmp_path / "r")
    assert code == 0 and examples.REF_DONE in out and len(refs) == 2, out
    assert out.split().count("Button") == 3  # 2, released, 4 (the read after it ends it)
    red = (255, 0, 0)
    assert refs[0].getpixel((21, 1)) == red and refs[0].getpixel((41, 1)) != red
    assert refs[1].getpixel((21, 1)) == red and refs[1].getpixel((41, 1)) == red
    app.write_text(PRESS_APP.replace("DRAW = True", "DRAW = False"))  # never acts on a press
    refs, code, out = examples.reference(app, panel, None, {"buttons": "2", "timeout": 3},
                                         tmp_path / "r2")
    assert code == 124 and not refs, out
    assert out.strip().splitlines()[-1] == ("the app did not act on every button press (2) "
                                            "within 3 s"), out


def test_run_presses_until_the_app_acted_on_each_then_stops_it(tmp_path, target, request):
    board = "unix" if target.name == "unix" else request.config.getoption("--board")
    app = tmp_path / "press_app.py"
    for draw, timeout in ((True, 120), (False, 15)):
        app.write_text(PRESS_APP.replace("DRAW = True", f"DRAW = {draw}"))
        out = tmp_path / f"out{draw}"
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "tools.run", "--board", board, "--app",
                            str(app), "--out", str(out), "--time-scale", "0.05", "--timeout",
                            str(timeout), "--buttons", "2,4"], cwd=ROOT, capture_output=True,
                           text=True, timeout=300, check=False)
        said = r.stdout
        if draw:
            assert r.returncode == 0, r.stdout + r.stderr
            assert "acted on every button press (--buttons), as planned" in r.stderr
            # (the last read's "Button None" may be cut short by the stop)
            assert said.split("\n")[:3] == ["Button 2", "Button None", "Button 4"], said
            result = json.loads((out / "panel.json").read_text())
            assert result["refreshes"] == 2 and result["error_count"] == 0
            assert result["simulator"]["presses"] == "all 2 presses acted on"
            assert time.monotonic() - t0 < 100  # stopped when done, not at the timeout
        else:
            assert r.returncode == 124, r.stdout + r.stderr
            assert ("the buttons when it was stopped: press 1 of 2 (button 2) held, waiting "
                    "for the app's refresh") in r.stderr, r.stderr
            assert said.startswith("Button 2\n"), said
