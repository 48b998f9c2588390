# Run by main.c when it has just made the filesystem (power-on, reset):
# adafruit_framebuf's text() opens font5x8.bin from the current folder, so a fresh RAM
# filesystem gets it from the frozen copy.


def _font(path="/font5x8.bin"):
    import os

    try:
        os.stat(path)
        return
    except OSError:
        pass
    from defio_font5x8 import FONT

    with open(path, "wb") as f:
        f.write(FONT)


_font()
del _font
