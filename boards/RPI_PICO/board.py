"""Pin names of a Raspberry Pi Pico or Pico 2 wired to an e-paper breakout (frozen).

Pins are machine.Pin objects, so busio and digitalio drive the chip's own SPI and GPIO (the
panel link of the emulated board is not used). GP0..GP28 and LED are the chip's pins. The
e-paper names follow a common wiring on SPI1, the same as Waveshare's Pico e-Paper boards,
and fit Adafruit's 2.13" eInk breakout (and any SSD1680 / UC8151D breakout) with jumpers:

  breakout pin        board name   GPIO   Pico pin
  SCK / CLK           SCK          GP10   14
  MOSI / SDI / DIN    MOSI         GP11   15
  MISO / SDO          MISO         GP28   34   (not needed by the panel)
  ECS / CS            EPD_CS       GP9    12
  D/C / DC            EPD_DC       GP8    11
  RST                 EPD_RESET    GP12   16
  BUSY                EPD_BUSY     GP13   17
  SRCS (SRAM CS)      SRAM_CS      GP7    10   (Adafruit breakouts; use sramcs_pin=None)
  VIN, GND            3V3(OUT) 36, GND 38

Importing this module also writes font5x8.bin (adafruit_framebuf's text font) into the
current folder (/ after boot, where adafruit_framebuf looks) when it is not there yet, from
a frozen copy: nothing to copy by hand.
"""

from machine import Pin

for _n in range(29):
    if _n not in (23, 24, 25):  # not on the header (SMPS mode, VBUS sense, LED)
        globals()[f"GP{_n}"] = Pin(_n)
LED = Pin("LED")

SCK = Pin(10)
MOSI = Pin(11)
MISO = Pin(28)
EPD_CS = Pin(9)
EPD_DC = Pin(8)
EPD_RESET = Pin(12)
EPD_BUSY = Pin(13)
SRAM_CS = Pin(7)

_spi = None


def SPI():
    """The board's default SPI bus (singleton, as in CircuitPython): SPI1 on SCK, MOSI, MISO."""
    global _spi
    if _spi is None:
        import busio

        _spi = busio.SPI(SCK, MOSI=MOSI, MISO=MISO)
    return _spi


def _install_font(path="font5x8.bin"):
    import os

    try:
        os.stat(path)
    except OSError:
        from defio_font5x8 import FONT

        with open(path, "wb") as f:
            f.write(FONT)


_install_font()
