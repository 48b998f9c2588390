"""Acceptance: Adafruit's own adafruit_epd examples, unmodified, on our boards, pixel-exact.

    .venv/bin/python -m tools.examples [--boards MPS2_AN385,unix] [--only NAME] [--jobs 2]
                                       [--examples DIR] [--out DIR]

1. The sdist of the pinned adafruit-circuitpython-epd (requirements.txt) comes from PyPI into
   build/examples/ (`pip download --no-binary :all: --no-deps`), once.
2. Every example is classified: in scope (written for a microcontroller) or out, with the
   reason (Pillow, Raspberry Pi pins, analogio buttons...).
3. Each in-scope one runs through `python -m tools.run --app` (what `make run APP=` runs), on
   each board, with the panel detected from its constructor (tools/examples/detect.py), and
   must exit 0. An example with a module-level `while True:` runs for STOP_AFTER seconds
   (`--stop-after`: stopped then, a planned end), or, when it waits for button presses,
   until it has acted on the last (a planned end too; SETUP's timeout bounds it).
4. The reference: the same app on the Unix port with the driver drawing into plain buffers
   (sramcs_pin forced to None, pins and bus that reach no panel, display() replaced by a
   capture of the logical image in the app's orientation, in the contract palette). The
   panel's picture (panel.png, in the app's rotation) must equal the last capture pixel for
   pixel.
5. A derived copy under build/examples/ with `import defio_epd; defio_epd.attach(display)`
   inserted after the construction must give the same picture with no more refreshes than
   bursts (display() calls of the reference). SRAM-backed examples skip this step: attach
   refuses SRAM-backed displays (a clear error, by design); they run as plain displays.
6. What an example needs of the board besides the panel (SETUP): epd_shieldtest.py reads the
   shield's four buttons (analogio on A3): the simulator presses 1, 2, 3, 4, each until the
   app has acted on it (`tools.run --buttons 1,2,3,4`), and the reference's analogio does the
   same, a display() for a refresh (one refresh and one capture per press); the shield
   carries a 32 KiB SRAM (`--sram 23k256`). epd_bitmap.py opens blinka.bmp, which the sdist
   lacks: a 24-bit BMP drawn here (make_bitmap) goes where each run opens it (`--file`) and
   into the reference's current folder. Their output and reference picture are checked too.

Prints a table; exits 1 when any in-scope example fails, 2 when the set-up fails.
"""

import argparse
import ast
import concurrent.futures
import itertools
import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import time

from tools.examples.detect import DetectError, detect

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
BUILD = ROOT / "build" / "examples"
PYTHON = ROOT / ".venv" / "bin" / "python"
UNIX = ROOT / "build" / "unix" / "micropython"
PYLIB = ROOT / "build" / "pylib"
MPY_EXTMOD = ROOT / "deps" / "micropython-1.25.0" / "extmod"
TIME_SCALE = 0.05  # the simulator's refresh times x this (2.5 s full -> 0.125 s)
STOP_AFTER = 6.0   # seconds an endless-loop example runs
TIMEOUT = 120.0    # seconds any other example may run
REF = "@@ref "
REF_SAME = "@@ref same"  # a display() of the same buffers as the one before (not re-encoded)
BITMAP = BUILD / "blinka.bmp"

# What an example needs besides the panel: the shield's buttons pressed on a schedule (seconds
# from the app's first frame), its 32 KiB SRAM, files it opens; what its output must say (in
# this order) and which colours its reference picture must have. `waits`: its runs mostly
# sleep, so they do not take one of the --jobs slots.
# epd_shieldtest reads the buttons between displays: each press is held until the app's next
# refresh starts, the next one once that refresh is over and the app reads again (tools.run
# --buttons 1,2,3,4; the reference's analogio the same, a capture for a refresh); its run
# ends after the last, a planned end. `timeout` bounds it (a failure that says so).
SETUP = {
    "epd_shieldtest.py": {
        "buttons": "1,2,3,4", "timeout": 600.0,
        "sram": "23k256",
        "waits": True,
        "expect": ["Button #1 pressed", "Clear buffer", "Draw Rectangles", "Draw lines",
                   "Draw text"],
        "colours": ("black", "red")},
    "epd_bitmap.py": {"files": [BITMAP], "expect": ["File opened", "Image OK! Drawing...",
                                                    "Finished drawing"],
                      "colours": ("black", "red")},
}

# Out of scope: (regex over the source, reason); every match is named.
OUT_OF_SCOPE = [
    (r"^\s*(from PIL|import PIL)", "needs Pillow (CPython/Blinka only)"),
    (r"board\.(CE0|CE1|D17|D22|D25|D27)\b", "Raspberry Pi pins (Linux SPI, a bonnet)"),
    (r"sdcardio|adafruit_sdcard|storage\.mount", "needs an SD card"),
    (r"^\s*import sys\b.*\n(.|\n)*sys\.argv", "reads a file named on the command line"),
]


def say(msg):
    print(f"examples: {msg}", file=sys.stderr, flush=True)


def pinned_version():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.startswith("adafruit-circuitpython-epd=="):
            return line.split("==", 1)[1].strip()
    say("requirements.txt pins no adafruit-circuitpython-epd")
    raise SystemExit(2)


def fetch_examples():
    """build/examples/adafruit_circuitpython_epd-V/examples (downloaded and unpacked once)."""
    version = pinned_version()
    name = f"adafruit_circuitpython_epd-{version}"
    folder = BUILD / name / "examples"
    if folder.is_dir():
        return folder
    BUILD.mkdir(parents=True, exist_ok=True)
    sdist = BUILD / f"{name}.tar.gz"
    if not sdist.exists():
        say(f"downloading the sdist of adafruit-circuitpython-epd {version} from PyPI")
        r = subprocess.run([str(PYTHON), "-m", "pip", "download", "--no-binary", ":all:",
                            "--no-deps", "-d", str(BUILD),
                            f"adafruit-circuitpython-epd=={version}"],
                           capture_output=True, text=True, timeout=300, check=False)
        if r.returncode or not sdist.exists():
            say("pip download failed: " + (r.stderr.strip().splitlines() or ["?"])[-1])
            raise SystemExit(2)
    with tarfile.open(sdist) as tar:
        for m in tar.getmembers():  # the examples' regular files only, nothing outside
            if (m.isfile() and m.name.startswith(f"{name}/examples/")
                    and ".." not in pathlib.PurePosixPath(m.name).parts):
                dest = BUILD / m.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(tar.extractfile(m).read())
    return folder


def classify(path):
    """(in_scope, reason, AppPanel or None)."""
    src = path.read_text()
    reasons = [reason for pattern, reason in OUT_OF_SCOPE
               if re.search(pattern, src, re.MULTILINE)]
    if reasons:
        return False, "; ".join(reasons), None
    try:
        return True, "", detect(src, path.name)
    except DetectError as e:  # in scope all the same: a failure to look at, not a skip
        return True, f"cannot tell its panel: {e}", None


def endless(src):
    """A module-level `while True:` loop."""
    return any(isinstance(n, ast.While) and isinstance(n.test, ast.Constant) and n.test.value
               for n in ast.parse(src).body)


# -- the reference: the Unix port, plain buffers, no panel ------------------------------------
FAKE_DIGITALIO = '''
import time
first = []  # ticks_ms of the first pin: where the link's first frame would be
class Direction:
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
class Pull:
    UP = "UP"
    DOWN = "DOWN"
class DriveMode:
    PUSH_PULL = "PUSH_PULL"
class DigitalInOut:
    def __init__(self, pin):
        self.pin, self.value, self.direction, self.pull = pin, False, Direction.INPUT, None
        if not first:
            first.append(time.ticks_ms())
    def switch_to_output(self, value=False, drive_mode=None):
        self.value, self.direction = bool(value), Direction.OUTPUT
    def switch_to_input(self, pull=None):
        self.direction, self.pull = Direction.INPUT, pull
    def deinit(self):
        pass
'''
FAKE_BUSIO = '''
class SPI:
    def __init__(self, clock, MOSI=None, MISO=None):
        self.frequency = 1000000
    def try_lock(self):
        return True
    def unlock(self):
        pass
    def configure(self, **kw):
        pass
    def write(self, buf, **kw):
        pass
    def readinto(self, buf, **kw):
        pass
    def write_readinto(self, a, b, **kw):
        pass
    def deinit(self):
        pass
'''
# The shield's buttons as the simulator presses them: (from ms, to ms, value) segments of the
# ladder's level (tools/panel_sim/buttons.py) from the first pin; full scale outside them.
# A read takes a millisecond (an ADC conversion), as a link's round trip does. Or a sequence
# (PRESSES: the levels of buttons pressed until the app acts on them, as buttons.Presses):
# each held until the next display() (a capture: the app's refresh), released at the read
# after it, the next press from the read after that; after the last, that read ends the run
# (SystemExit, after DONE on stdout: a planned end).
FAKE_ANALOGIO = '''
import sys
import time
import digitalio
SEGMENTS = {segments!r}
PRESSES = {presses!r}
_state = [0, True]  # the press under way, held
if PRESSES:
    import adafruit_epd.epd as _epd
    _show = _epd.Adafruit_EPD.display
    def _display(self):
        _show(self)
        _state[1] = False
    _epd.Adafruit_EPD.display = _display
class AnalogIn:
    def __init__(self, pin):
        self.pin = pin
        if not digitalio.first:
            digitalio.first.append(time.ticks_ms())
    @property
    def value(self):
        time.sleep_ms(1)
        if PRESSES:
            if _state[1]:
                return PRESSES[_state[0]]
            _state[0] += 1
            _state[1] = True
            if _state[0] == len(PRESSES):
                sys.stdout.write("{done}\\n")
                raise SystemExit(0)
            return 65535
        t = time.ticks_diff(time.ticks_ms(), digitalio.first[0])
        for start, end, value in SEGMENTS:
            if start <= t < end:
                return value
        return 65535
    def deinit(self):
        pass
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        pass
'''
REF_DONE = "@@presses done"


def button_presses(text):
    """A sequence's levels (buttons.Presses) or [] for a schedule (button_segments)."""
    from tools.panel_sim import buttons

    if not buttons.is_sequence(text):
        return []
    return [buttons.level([(b, 0, 1)], 0) for b in buttons.parse_sequence(text)]


def button_segments(schedule):
    """The ladder's level over time: [(from ms, to ms, value)] where it is not full scale."""
    from tools.panel_sim import buttons

    if buttons.is_sequence(schedule):
        return []
    presses = buttons.parse_schedule(schedule)
    edges = sorted({round(t * 1000) for _, start, length in presses
                    for t in (start, start + length)})
    out = []
    for a, b in itertools.pairwise(edges):
        value = buttons.level(presses, (a + b) / 2000)
        if value != buttons.FULL:
            out.append((a, b, value))
    return out


# The capture: one REF line per display(): width, height, one colour code per logical pixel
# (0 white, 1 black, 2 red, 3 dark, 4 light), in the app's rotation.
REF_PROLOGUE = '''
import sys as _sys
import {module} as _m
import adafruit_epd.epd as _epd
_orig = _m.{cls}.__init__
def _init(self, *a, **k):
    a = list(a)
    if len(a) > 5:
        a[5] = None
    if "sramcs_pin" in k:
        k["sramcs_pin"] = None
    _orig(self, *a, **k)
_m.{cls}.__init__ = _init
_last = []
def _capture(self):
    fb_b, fb_c = self._blackframebuf, self._colorframebuf
    gray = {gray}
    if {quad}:
        raise NotImplementedError("no reference decoder for quad-colour buffers")
    mono = fb_b is fb_c
    now = (bytes(fb_b.buf), bytes(fb_c.buf))
    if _last and _last[0] == now:
        _sys.stdout.write("{same}\\n")
        return
    _last[:] = [now]
    w, h = self.width, self.height
    out = bytearray(w * h)
    i = 0
    for y in range(h):
        for x in range(w):
            b = fb_b.pixel(x, y)
            if gray:
                r = fb_c.pixel(x, y)
                v = (1, 4, 3, 0)[(b << 1) | r]
            elif mono:
                v = 1 if (b != 0) != self._black_inverted else 0
            else:
                r = fb_c.pixel(x, y)
                if (r != 0) != self._color_inverted:
                    v = 2
                else:
                    v = 1 if (b != 0) != self._black_inverted else 0
            out[i] = v
            i += 1
    _sys.stdout.write("{mark}%d %d %s\\n" % (w, h, out.hex()))
_epd.Adafruit_EPD.display = _capture
'''
PALETTE = [(255, 255, 255), (0, 0, 0), (255, 0, 0), (85, 85, 85), (170, 170, 170)]
COLOURS = dict(zip(("white", "black", "red", "dark", "light"), PALETTE))


def driver_module(cls):
    for path in sorted((PYLIB / "adafruit_epd").glob("*.py")):
        if re.search(rf"^class {cls}\(", path.read_text(), re.MULTILINE):
            return f"adafruit_epd.{path.stem}"
    raise RuntimeError(f"no module of adafruit_epd defines {cls}")


def reference(path, panel, stop_after, setup=None, folder=None):
    """The app's captures: [(PIL image)], and its output on failure. `folder` (default
    build/examples/ref/<name>) holds the fake modules and is the app's current folder, with
    font5x8.bin and the files of its SETUP."""
    from PIL import Image

    setup = setup or {}
    fake = pathlib.Path(folder or BUILD / "ref" / path.stem)
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "digitalio.py").write_text(FAKE_DIGITALIO)
    (fake / "busio.py").write_text(FAKE_BUSIO)
    (fake / "analogio.py").write_text(FAKE_ANALOGIO.format(
        segments=button_segments(setup.get("buttons")),
        presses=button_presses(setup.get("buttons")), done=REF_DONE))
    for src in [PYLIB / "font5x8.bin", *setup.get("files", [])]:
        (fake / pathlib.Path(src).name).write_bytes(pathlib.Path(src).read_bytes())
    src = REF_PROLOGUE.format(module=driver_module(panel.driver), cls=panel.driver,
                              mark=REF, same=REF_SAME, gray="Grayscale4" in panel.driver,
                              quad=panel.driver.startswith("Adafruit_JD7966")) + path.read_text()
    env = dict(os.environ, MICROPYPATH=":".join(map(str, (fake, ROOT / "lib", PYLIB,
                                                             MPY_EXTMOD))))
    limit = stop_after or setup.get("timeout", TIMEOUT)
    try:
        r = subprocess.run([str(UNIX), "-c", src], env=env, cwd=fake, capture_output=True,
                           text=True, timeout=limit, check=False)
        out, code = r.stdout + (r.stderr if r.returncode else ""), r.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        code = 0 if stop_after else 124
        if code and button_presses(setup.get("buttons")):
            out += (f"\nthe app did not act on every button press "
                    f"({setup['buttons']}) within {limit:g} s\n")
    images = []
    for line in out.splitlines():
        if line.startswith(REF_SAME) and images:
            images.append(images[-1])
        elif line.startswith(REF):
            w, h, data = line[len(REF):].split()
            if len(data) != 2 * int(w) * int(h):  # cut off where the run was stopped
                continue
            codes = bytes.fromhex(data)
            img = Image.new("RGB", (int(w), int(h)))
            img.putdata([PALETTE[c] for c in codes])
            images.append(img)
    return images, code, out


# -- the runs ---------------------------------------------------------------------------------
def with_attach(src, name):
    """The app with `import defio_epd; defio_epd.attach(<display>)` after its construction."""
    panel = detect(src, name)
    if panel.end_line is None:
        raise DetectError(f"{name}: the display is not built by a module-level "
                          "`name = Driver(...)` statement to attach after")
    lines = src.splitlines(keepends=True)
    lines.insert(panel.end_line,
                 f"import defio_epd; defio_epd.attach({panel.target})  # inserted\n")
    return "".join(lines)


def run_app(app, board, out, stop_after, setup=None):
    """tools.run on one board: (exit status, panel.json or None, last lines of output)."""
    setup = setup or {}
    limit = setup.get("timeout", TIMEOUT)
    cmd = [str(PYTHON), "-m", "tools.run", "--board", board, "--app", str(app), "--out",
           str(out), "--time-scale", str(TIME_SCALE), "--timeout", str(limit)]
    if setup.get("buttons"):
        cmd += ["--buttons", setup["buttons"]]
    if setup.get("sram"):
        cmd += ["--sram", setup["sram"]]
    for f in setup.get("files", []):
        cmd += ["--file", str(f)]
    if stop_after:
        cmd += ["--stop-after", str(stop_after)]
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                           timeout=(stop_after or limit) + 60, check=False)
    except subprocess.TimeoutExpired:
        return 124, None, "tools.run did not end"
    result = None
    if (out / "panel.json").exists():
        result = json.loads((out / "panel.json").read_text())
    tail = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()][-2:]
    return r.returncode, result, " | ".join(tail)


def same_image(png, ref):
    from PIL import Image, ImageChops

    if not png.exists():
        return False
    img = Image.open(png).convert("RGB")
    return img.size == ref.size and ImageChops.difference(img, ref).getbbox() is None


def setup_problems(who, output, image, setup):
    """What SETUP says the output must show (in order) and the picture's colours must be."""
    problems = []
    at = 0
    for text in setup.get("expect", []):
        found = output.find(text, at)
        if found < 0:
            problems.append(f"{who}: the output does not say {text!r} (after the lines "
                            "before it)")
            break
        at = found + len(text)
    if image is not None:
        have = {image.getpixel((x, y)) for x in range(image.width)
                for y in range(image.height)}
        for colour in setup.get("colours", ()):
            if COLOURS[colour] not in have:
                problems.append(f"{who}: the picture has no {colour} pixel")
    return problems


def make_bitmap(dest, panel):
    """A 24-bit BMP for epd_bitmap.py: the panel's size in the app's orientation, white with
    black and red shapes and text (the example draws dark pixels black and reddish ones red)."""
    from PIL import Image, ImageDraw, ImageFont

    w, h = panel.size or (104, 212)
    if panel.rotation % 2:
        w, h = h, w
    img = Image.new("RGB", (w, h), COLOURS["white"])
    d = ImageDraw.Draw(img)
    d.rectangle((2, 2, w - 3, h - 3), outline=COLOURS["black"], width=2)
    d.ellipse((w // 4, h // 8, w * 3 // 4, h // 8 + w // 2), fill=COLOURS["red"])
    d.rectangle((w // 8, h // 2, w // 2, h // 2 + h // 10), fill=COLOURS["black"])
    d.polygon([(w - 8, h - 8), (w // 2, h - 8), (w - 8, h * 2 // 3)], fill=COLOURS["red"])
    font = ImageFont.load_default()
    d.text((6, h // 2 + h // 8), "defio", fill=COLOURS["black"], font=font)
    d.text((6, h // 2 + h // 8 + 14), "bmp", fill=COLOURS["red"], font=font)
    dest.parent.mkdir(parents=True, exist_ok=True)
    img.save(dest, format="BMP")
    return dest


def check_example(path, panel, boards, jobs_pool, out_root=BUILD, waiting_pool=None):
    from tools.panel_sim.server import CONTROLLERS

    name = path.stem
    row = {"example": path.name, "driver": panel.driver, "panel": panel.key, "problems": []}
    if panel.key not in CONTROLLERS:
        row["problems"].append(f"unknown panel key {panel.key!r} (the simulator has "
                               f"{' '.join(sorted(CONTROLLERS))})")
        return row
    src = path.read_text()
    setup = SETUP.get(path.name, {})
    presses = button_presses(setup.get("buttons"))
    stop_after = None if presses or not endless(src) else setup.get("stop_after", STOP_AFTER)
    row["bound"] = (f"{stop_after:g} s" if stop_after else
                    "presses acted on" if presses else "ends")
    if BITMAP in setup.get("files", []):
        make_bitmap(BITMAP, panel)
    sram = panel.pins.get("sram") is not None
    variants = [("plain", path)]
    if not sram:
        derived = out_root / "attach" / path.name
        derived.parent.mkdir(parents=True, exist_ok=True)
        try:
            derived.write_text(with_attach(src, path.name))
            variants.append(("attach", derived))
        except DetectError as e:
            row["problems"].append(f"attach: {e}")
    futures = {}  # the runs go on while the reference runs here
    for variant, app in variants:
        for board in boards:
            out_dir = out_root / "runs" / name / f"{board}-{variant}"
            pool = waiting_pool if setup.get("waits") and waiting_pool else jobs_pool
            futures[(variant, board)] = (out_dir, pool.submit(
                run_app, app, board, out_dir, stop_after, setup))
    refs, code, out = reference(path, panel, stop_after, setup, out_root / "ref" / name)
    if code or not refs:
        last = (out.strip().splitlines() or ["no output"])[-1][:200]
        row["problems"].append(f"reference: exit {code}, {len(refs)} captures; {last}")
        for _, fut in futures.values():
            fut.cancel()
        concurrent.futures.wait([fut for _, fut in futures.values()])
        return row
    row["bursts"] = len(refs)
    row["problems"] += setup_problems("reference", out, refs[-1], setup)
    if presses and (REF_DONE not in out or len(refs) != len(presses)):
        row["problems"].append(f"reference: {len(refs)} captures for {len(presses)} presses"
                               + ("" if REF_DONE in out else ", the presses not all acted on"))
    for (variant, board), (out_dir, fut) in futures.items():
        status, result, tail = fut.result()
        key = f"{board}-{variant}"
        exact = status == 0 and same_image(out_dir / "panel.png", refs[-1])
        row[key] = {"status": status, "exact": exact,
                    "bytes": result and result.get("bytes"),
                    "refreshes": result and result.get("refreshes")}
        if status:
            row["problems"].append(f"{key}: exit {status} ({tail})")
        elif not exact:
            row["problems"].append(f"{key}: panel.png differs from the reference "
                                   f"({out_dir / 'panel.png'})")
        elif presses and result.get("refreshes") != len(presses):
            row["problems"].append(f"{key}: {result.get('refreshes')} refreshes for "
                                   f"{len(presses)} presses")
        elif variant == "attach" and (result.get("refreshes") or 0) > len(refs):
            row["problems"].append(f"{key}: {result['refreshes']} refreshes for "
                                   f"{len(refs)} bursts")
        output = out_dir / "output.txt"
        row["problems"] += setup_problems(
            key, output.read_text() if output.exists() else "", None, setup)
    if sram:
        row["attach"] = "n/a: SRAM-backed (attach refuses it)"
    return row


def print_table(rows, out_rows, boards):
    head = f"{'example':42} {'driver':30} " + " ".join(f"{b[:10]:>10}" for b in boards) + \
        f" {'exact':>5} {'bytes':>7} {'refr':>4} {'bytes+at':>8} {'refr+at':>7} {'bursts':>6}"
    print(head + f"   (bytes, refreshes: {boards[0]}; +at: with attach)")
    for row in rows:
        cells = []
        for b in boards:
            v = row.get(f"{b}-plain")
            cell = ("ok" if v["status"] == 0 else f"exit {v['status']}") if v else "-"
            cells.append(f"{cell:>10}")
        plain = [row.get(f"{b}-plain") for b in boards]
        att = [row.get(f"{b}-attach") for b in boards]
        allv = [v for v in plain + att if v]
        exact = ("yes" if all(v["exact"] for v in allv) else "NO") if allv else "-"
        first = plain[0] or {}
        firsta = att[0] or {}
        print(f"{row['example']:42} {row['driver']:30} " + " ".join(cells) +
              f" {exact:>5} {first.get('bytes') or '-'!s:>7} {first.get('refreshes') or '-'!s:>4}"
              f" {firsta.get('bytes') or '-'!s:>8} {firsta.get('refreshes') or '-'!s:>7}"
              f" {row.get('bursts', '-')!s:>6}")
        for p in row["problems"]:
            print(f"    FAIL {p}")
    for name, reason in out_rows:
        print(f"{name:42} out of scope: {reason}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="examples", description=__doc__.split("\n\n")[0])
    ap.add_argument("--boards", default="MPS2_AN385,unix",
                    help="the table's bytes and refreshes are the first board's")
    ap.add_argument("--out", default=str(BUILD),
                    help="where the runs, derived copies and results.json go")
    ap.add_argument("--only", default=None, help="run only examples whose name has this")
    ap.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    ap.add_argument("--examples", default=None,
                    help="a folder of example files instead of the sdist's")
    args = ap.parse_args(argv)
    boards = [b.strip() for b in args.boards.split(",") if b.strip()]
    t0 = time.monotonic()
    folder = pathlib.Path(args.examples) if args.examples else fetch_examples()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, out_rows = [], []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool, \
            concurrent.futures.ThreadPoolExecutor(args.jobs) as outer, \
            concurrent.futures.ThreadPoolExecutor(2 * len(boards)) as waiting:
        pending = []
        for path in sorted(folder.glob("*.py")):
            if args.only and args.only not in path.name:
                continue
            ok, reason, panel = classify(path)
            if not ok:
                out_rows.append((path.name, reason))
            elif panel is None:
                pending.append({"example": path.name, "driver": "?", "problems": [reason]})
            else:
                pending.append(outer.submit(check_example, path, panel, boards, pool, out,
                                            waiting))
        rows = [p if isinstance(p, dict) else p.result() for p in pending]
    print_table(rows, out_rows, boards)
    (out / "results.json").write_text(json.dumps({"rows": rows, "out_of_scope": out_rows},
                                                   indent=1, default=str) + "\n")
    failed = [r for r in rows if r["problems"]]
    say(f"{len(rows)} in scope, {len(out_rows)} out of scope, {len(failed)} failed, "
        f"{time.monotonic() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
