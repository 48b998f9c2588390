"""Build the on-device Python library folder (default build/pylib): the Adafruit packages
from the venv (adafruit_epd, adafruit_framebuf, adafruit_bus_device), optionally compiled to
.mpy, and font5x8.bin for adafruit_framebuf.text(), generated from the X11 misc-fixed 5x8
font of the Debian package xfonts-base (read with Pillow's PCF reader).

    .venv/bin/python tools/build_pylib.py [--out build/pylib] [--mpy]

Nothing here is committed: it all comes from packages at build time.
"""

import argparse
import gzip
import pathlib
import shutil
import subprocess
import sys
import sysconfig

PACKAGES = ["adafruit_epd", "adafruit_framebuf.py", "adafruit_bus_device"]
FONT_PCF = pathlib.Path("/usr/share/fonts/X11/misc/5x8.pcf.gz")  # Debian: xfonts-base
ROOT = pathlib.Path(__file__).resolve().parent.parent


def font5x8(pcf_path=FONT_PCF):
    """256 glyphs x 5 column bytes (bit 0 = top row), preceded by width 5 and height 8."""
    from PIL import PcfFontFile

    with gzip.open(pcf_path) as f:
        font = PcfFontFile.PcfFontFile(f, charset_encoding="iso8859-1")
    width, height, ascent = 5, 8, 7
    out = bytearray((width, height))
    for code in range(256):
        cols = [0] * width
        glyph = font.glyph[code] if code < len(font.glyph) else None
        if glyph and code >= 32:
            _, (dx0, dy0, _, _), _, img = glyph
            for gy in range(img.size[1]):
                for gx in range(img.size[0]):
                    x, y = dx0 + gx, dy0 + ascent + gy
                    if img.getpixel((gx, gy)) and 0 <= x < width and 0 <= y < height:
                        cols[x] |= 1 << y
        out += bytes(cols)
    return bytes(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "build" / "pylib"))
    ap.add_argument("--mpy", action="store_true", help="compile to .mpy with mpy-cross")
    args = ap.parse_args(argv)
    site = pathlib.Path(sysconfig.get_paths()["purelib"])
    out = pathlib.Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in PACKAGES:
        src = site / name
        if not src.exists():
            sys.exit(f"build_pylib: {src} is missing (pip install -r requirements.txt)")
        if src.is_dir():
            shutil.copytree(src, out / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, out / name)
    if args.mpy:
        for py in sorted(out.rglob("*.py")):
            subprocess.run([sys.executable, "-m", "mpy_cross", str(py)], check=True)
            py.unlink()
    if not FONT_PCF.exists():
        sys.exit(f"build_pylib: {FONT_PCF} is missing (apt-get install xfonts-base)")
    (out / "font5x8.bin").write_bytes(font5x8())
    print(f"build_pylib: {out} ({', '.join(PACKAGES)}, font5x8.bin)")


if __name__ == "__main__":
    main()
