"""CircuitPython's busio.SPI subset used by Adafruit's drivers, on the board's transport.

Pins of the chip (machine.Pin, from a real board's board.py): the chip's own SPI
(machine.SPI, the first bus whose pins they are). Pins of the emulated board: the panel
link; writes travel as SPI frames; reads while the simulated SRAM is selected are XFER
requests (its bytes come back), otherwise they return zeros (the panel's MISO is idle).
"""

import panel_link
from digitalio import on_chip


class SPI:
    def __init__(self, clock, MOSI=None, MISO=None):
        self.clock, self.mosi, self.miso = clock, MOSI, MISO
        self.frequency = 1000000
        self._locked = False
        self._spi = None
        if on_chip(clock):
            self._spi = _machine_spi(clock, MOSI, MISO)
            self._config = None

    def try_lock(self):
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self):
        self._locked = False

    def configure(self, *, baudrate=1000000, polarity=0, phase=0, bits=8):
        self.frequency = baudrate
        config = (baudrate, polarity, phase, bits)
        if self._spi is not None and config != self._config:  # drivers call it per transfer
            self._spi.init(baudrate=baudrate, polarity=polarity, phase=phase, bits=bits)
            self._config = config

    def write(self, buf, *, start=0, end=None):
        if end is None:
            end = len(buf)
        if self._spi is not None:
            self._spi.write(memoryview(buf)[start:end])
            return
        panel_link.get().spi(memoryview(buf)[start:end])

    def readinto(self, buf, *, start=0, end=None, write_value=0):
        if end is None:
            end = len(buf)
        if self._spi is not None:
            self._spi.readinto(memoryview(buf)[start:end], write_value)
            return
        _exchange(bytes([write_value]) * (end - start), buf, start, end)

    def write_readinto(self, out_buf, in_buf, *, out_start=0, out_end=None, in_start=0,
                       in_end=None):
        if out_end is None:
            out_end = len(out_buf)
        if in_end is None:
            in_end = len(in_buf)
        if self._spi is not None:
            self._spi.write_readinto(memoryview(out_buf)[out_start:out_end],
                                     memoryview(in_buf)[in_start:in_end])
            return
        _exchange(bytes(memoryview(out_buf)[out_start:out_end]), in_buf, in_start, in_end)

    def deinit(self):
        self._locked = False
        if self._spi is not None:
            self._spi.deinit()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.deinit()


def _exchange(out, buf, start, end):
    """Clock `out` over the panel link; what came back on MISO into buf[start:end]."""
    link = panel_link.get()
    if link.miso_driven():
        got = link.xfer(out)
        buf[start:end] = got[:end - start]
        return
    link.spi(out)
    for i in range(start, end):
        buf[i] = 0


def _machine_spi(sck, mosi, miso):
    """machine.SPI on these pins: the first bus id whose pins they are (rp2: 0 or 1)."""
    import machine

    pins = {"sck": sck}
    if mosi is not None:
        pins["mosi"] = mosi
    if miso is not None:
        pins["miso"] = miso
    for bus in range(2):
        try:
            return machine.SPI(bus, baudrate=1000000, **pins)
        except ValueError:
            continue
    raise ValueError("busio: no SPI bus of this chip has these pins")
