"""Feather-style pin names for the emulated board (and the Unix port), wired to the panel link.

A pin is its number on the link. Default wiring of the simulated panel and SRAM (the EPD
FeatherWing layout; the simulator takes `--wiring` for another one, and `make run` follows
the pins the app passes to its display driver):

  EPD_CS = D9    EPD_DC = D10    SRAM_CS = D6    EPD_RESET = D5    EPD_BUSY = D7
  SCK = 24, MOSI = 25, MISO = 23 (the SPI bus; its bytes travel as SPI frames)
  EPD_SCK, EPD_MOSI, EPD_MISO: the same bus (a Feather with an on-board EPD connector)
"""


class Pin:
    def __init__(self, number, name):
        self.id = number
        self.name = name

    def __repr__(self):
        return "board." + self.name


D0 = Pin(0, "D0")
D1 = Pin(1, "D1")
D2 = Pin(2, "D2")
D3 = Pin(3, "D3")
D4 = Pin(4, "D4")
D5 = Pin(5, "D5")
D6 = Pin(6, "D6")
D7 = Pin(7, "D7")
D8 = Pin(8, "D8")
D9 = Pin(9, "D9")
D10 = Pin(10, "D10")
D11 = Pin(11, "D11")
D12 = Pin(12, "D12")
D13 = Pin(13, "D13")
A0 = Pin(14, "A0")
A1 = Pin(15, "A1")
A2 = Pin(16, "A2")
A3 = Pin(17, "A3")
A4 = Pin(18, "A4")
A5 = Pin(19, "A5")
MISO = Pin(23, "MISO")
SCK = Pin(24, "SCK")
MOSI = Pin(25, "MOSI")
EPD_MISO = MISO
EPD_SCK = SCK
EPD_MOSI = MOSI

EPD_CS = D9
EPD_DC = D10
SRAM_CS = D6
EPD_RESET = D5
EPD_BUSY = D7

_spi = None


def SPI():
    """The board's default SPI bus (singleton, as in CircuitPython)."""
    global _spi
    if _spi is None:
        import busio

        _spi = busio.SPI(SCK, MOSI=MOSI, MISO=MISO)
    return _spi
