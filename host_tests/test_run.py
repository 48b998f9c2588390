"""`make run` as a user runs it: live output, exit statuses, TIMEOUT, Ctrl-C, wrong APP/BOARD,
run folders; and the asyncio example. Each test runs the real commands (QEMU or the Unix
port, the simulator in the runner)."""

import json
import os
import pathlib
import select
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUN = [sys.executable, "-m", "tools.run"]


@pytest.fixture
def board(target, request):
    return "unix" if target.name == "unix" else request.config.getoption("--board")


def make_run(*args, timeout=300):
    return subprocess.run(["make", "--no-print-directory", "run", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


def app(tmp_path, body, name="app.py"):
    path = tmp_path / name
    path.write_text(body)
    return path


def test_output_streams_while_the_app_runs(tmp_path, board):
    a = app(tmp_path, "import time\nprint('first')\ntime.sleep(3)\nprint('second')\n")
    p = subprocess.Popen(RUN + ["--board", board, "--app", str(a), "--out", str(tmp_path / "o")],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and line != "first\n":
            if select.select([p.stdout], [], [], 1)[0]:
                line = p.stdout.readline()
        assert line == "first\n"
        assert p.poll() is None          # seen while the app still runs
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    assert out == "second\n" and p.returncode == 0, err
    assert "panel:  0 bytes" in err      # no defio line for an app that does not use defio
    assert json.loads((tmp_path / "o" / "panel.json").read_text())["used_defio"] is False


def test_app_error_fails_and_keeps_the_last_good_picture(tmp_path, board):
    good = app(tmp_path, "print('fine')\n", "good.py")
    r = make_run(f"BOARD={board}", f"APP={good}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("fine")
    last_good = os.readlink(ROOT / "build" / "run")
    bad = app(tmp_path, "print('before')\nopen('nothing-here.bin')\n", "bad.py")
    r = make_run(f"BOARD={board}", f"APP={bad}")
    assert r.returncode != 0
    assert "before" in r.stdout
    assert "OSError" in r.stdout + r.stderr and "bad.py failed" in r.stderr
    assert os.readlink(ROOT / "build" / "run") == last_good


def test_wrong_app_and_board_are_one_line_before_anything_boots(tmp_path):
    t0 = time.monotonic()
    r = make_run(f"APP={tmp_path}/missing.py")
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "missing.py: no such file" in r.stderr
    r = make_run("BOARD=nonexistent")
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "unknown BOARD=nonexistent" in r.stderr
    assert not (ROOT / "build" / "nonexistent").exists()
    r = subprocess.run(RUN + ["--board", "nope"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert time.monotonic() - t0 < 30


def test_make_firmware_takes_the_rp2_boards_and_only_known_ones(tmp_path):
    # Nothing is built: the board check runs when make reads the Makefile; FIRMWARE points
    # at a file that exists, so `make firmware` has nothing to do (an rp2 build here would
    # need the rp2 sources, which test-rp2 fetches later). `make -p -q` shows what
    # FIRMWARE would be.
    done = tmp_path / "firmware.uf2"
    done.write_bytes(b"")

    def make(*args):
        return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=False)
    for board in ("RPI_PICO", "RPI_PICO2"):
        r = make("firmware", f"BOARD={board}", f"FIRMWARE={done}")
        assert r.returncode == 0 and "unknown BOARD" not in r.stderr, r.stderr
        r = make("-p", "-q", f"BOARD={board}", "lint")
        assert f"FIRMWARE := {ROOT}/build/{board}/firmware.uf2" in r.stdout
    r = make("firmware", "BOARD=NOPE", f"FIRMWARE={done}")
    assert r.returncode != 0 and "unknown BOARD=NOPE" in r.stderr
    assert "RPI_PICO2" in r.stderr


def test_timeout_stops_a_hanging_app(tmp_path, board):
    a = app(tmp_path, "import time\nprint('alive')\nwhile True:\n    time.sleep(1)\n")
    t0 = time.monotonic()
    r = subprocess.run(RUN + ["--board", board, "--app", str(a), "--timeout", "3",
                              "--out", str(tmp_path / "o")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 124, r.stderr
    assert r.stdout == "alive\n" and "after 3 s (TIMEOUT=)" in r.stderr
    assert time.monotonic() - t0 < 60
    r = make_run(f"BOARD={board}", f"APP={a}", "TIMEOUT=2")
    assert r.returncode != 0 and "after 2 s" in r.stderr


def children(pid):
    kids = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def test_ctrl_c_stops_everything_quietly(tmp_path, board):
    a = app(tmp_path, "import time\nprint('waiting')\ntime.sleep(60)\n")
    p = subprocess.Popen(RUN + ["--board", board, "--app", str(a), "--out", str(tmp_path / "o")],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        assert select.select([p.stdout], [], [], 60)[0] and p.stdout.readline() == "waiting\n"
        kids = children(p.pid)
        assert kids                      # QEMU or the Unix port
        os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C on the terminal sends
        _out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    assert p.returncode == 130
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("run: interrupted")
    time.sleep(0.5)
    assert not [k for k in kids if pathlib.Path(f"/proc/{k}").exists()]


def test_asyncio_example(tmp_path, board):
    r = subprocess.run(RUN + ["--board", board, "--app", str(ROOT / "examples" / "epd_async.py"),
                              "--time-scale", "0.05", "--out", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "readings: [" in r.stdout
    saved = json.loads((tmp_path / "panel.json").read_text())
    assert saved["used_defio"] and saved["panel_errors"] == [] == saved["link_errors"]
    # Both tasks' drawings coalesced into rounds: fewer refreshes than draws (9 + 5).
    assert 2 <= saved["refreshes"] < 14
    assert saved["device_stats"]["errors"] == 0


def test_make_repl_has_the_libraries_and_the_panel(target):
    if target.name != "qemu":
        pytest.skip("make repl boots the firmware: run with --target qemu")
    png = ROOT / "build" / "repl" / "panel.png"
    png.unlink(missing_ok=True)
    master, slave = os.openpty()
    p = subprocess.Popen(["make", "--no-print-directory", "repl"], cwd=ROOT, stdin=slave,
                         stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    seen = b""

    def expect(marker, timeout=60):
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 1)[0]:
                seen += os.read(master, 4096)
        assert marker in seen, seen[-500:]

    try:
        expect(b"panel.png is rewritten after every refresh")
        expect(b">>> ")
        for line in ("import board, digitalio, defio_epd",
                     "from adafruit_epd.ssd1680 import Adafruit_SSD1680",
                     "p = digitalio.DigitalInOut",
                     ("d = Adafruit_SSD1680(122, 250, board.SPI(), cs_pin=p(board.EPD_CS), "
                     "dc_pin=p(board.EPD_DC), sramcs_pin=None, rst_pin=p(board.EPD_RESET), "
                     "busy_pin=p(board.EPD_BUSY))"),
                     "live = defio_epd.attach(d, delay_ms=100)",
                     "d.fill(1); d.text('repl', 5, 5, 0)",
                     "live.flush(); print('FLUSHED', live.stats()['refreshes'])"):
            os.write(master, line.encode() + b"\r")
        expect(b"FLUSHED 1")
        deadline = time.monotonic() + 30
        while not png.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert png.exists()
        os.write(master, b"\x01x")       # Ctrl-A X quits QEMU
        p.wait(30)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(10)
        os.close(master)


UC_APP = """import board, busio, digitalio
from adafruit_epd.epd import Adafruit_EPD
from adafruit_epd.uc8151d import Adafruit_UC8151D
spi = busio.SPI(board.SCK, MOSI=board.MOSI, MISO=board.MISO)
display = Adafruit_UC8151D(128, 296, spi, cs_pin=digitalio.DigitalInOut(board.D12),
    dc_pin=digitalio.DigitalInOut(board.D11), sramcs_pin=None,
    rst_pin=digitalio.DigitalInOut(board.D4), busy_pin=digitalio.DigitalInOut(board.D13))
display.rotation = 1
display.fill(Adafruit_EPD.WHITE)
display.fill_rect(0, 0, 10, 5, Adafruit_EPD.BLACK)
display.display()
"""


def test_the_panel_follows_the_app_s_constructor(tmp_path, board):
    """No PANEL: the driver, size, pins and rotation come from the app's source."""
    a = app(tmp_path, UC_APP)
    r = subprocess.run(RUN + ["--board", board, "--app", str(a), "--time-scale", "0.05",
                              "--out", str(tmp_path / "o")],
                       cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    saved = json.loads((tmp_path / "o" / "panel.json").read_text())
    assert (saved["panel"], saved["native_size"], saved["rotation"]) == ("uc8151d",
                                                                         [128, 296], 1)
    assert saved["refreshes"] == 1 and saved["error_count"] == 0
    from PIL import Image

    img = Image.open(tmp_path / "o" / "panel.png").convert("RGB")
    assert img.size == (296, 128)        # as the app draws it (rotation 1)
    assert img.getpixel((9, 4)) == (0, 0, 0) and img.getpixel((10, 5)) == (255, 255, 255)


def test_panel_overrides_and_bad_panels_are_one_line(tmp_path, board):
    a = app(tmp_path, "print('no display here')\n")
    r = make_run(f"BOARD={board}", f"APP={a}", "PANEL=uc8151d:104x200")
    assert r.returncode == 0, r.stderr
    saved = json.loads((ROOT / "build" / "run" / "panel.json").read_text())
    assert saved["panel"] == "uc8151d" and saved["native_size"] == [104, 200]
    # Without PANEL, an app whose constructor says nothing: one line, the default panel.
    r = make_run(f"BOARD={board}", f"APP={a}")
    assert r.returncode == 0 and "cannot tell the panel" in r.stderr
    assert json.loads((ROOT / "build" / "run" / "panel.json").read_text())["panel"] == "ssd1680"
    for panel, words in (("nonsense", "unknown panel 'nonsense': one of "),
                         ("ssd1680:12", "the size is WIDTHxHEIGHT")):
        r = subprocess.run(RUN + ["--board", board, "--app", str(a), "--panel", panel],
                           cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and words in r.stderr, r.stderr


def test_protocol_errors_fail_the_run_with_one_summarised_line(tmp_path, board):
    # 40 instructions the SRAM does not know, on its own chip select.
    a = app(tmp_path, """import board, busio, digitalio
spi = busio.SPI(board.SCK, MOSI=board.MOSI)
cs = digitalio.DigitalInOut(board.SRAM_CS)
cs.switch_to_output(True)
for i in range(40):
    cs.value = False
    spi.write(bytes((0x9F, i)))
    cs.value = True
print('sent')
""")
    r = subprocess.run(RUN + ["--board", board, "--app", str(a), "--out", str(tmp_path / "o")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 1 and r.stdout == "sent\n", r.stderr
    lines = [x for x in r.stderr.splitlines() if "protocol error" in x]
    assert len(lines) == 1 and "40 protocol error(s) of 1 kind(s)" in lines[0], r.stderr
    assert "unknown instruction 0x9f" in lines[0]
    saved = json.loads((tmp_path / "o" / "panel.json").read_text())
    (_kind, entry), = saved["error_summary"].items()
    assert saved["error_count"] == 40 and entry["count"] == 40 and len(entry["first"]) == 3
    assert len(saved["panel_errors"]) == 3   # the first few, not all 40
