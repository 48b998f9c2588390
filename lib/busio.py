"""CircuitPython's busio.SPI subset used by Adafruit's drivers, over the panel link.

Writes travel as SPI frames; reads return zeros (the simulated panel's MISO is idle).
"""

import panel_link


class SPI:
    def __init__(self, clock, MOSI=None, MISO=None):
        self.clock, self.mosi, self.miso = clock, MOSI, MISO
        self.frequency = 1000000
        self._locked = False

    def try_lock(self):
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self):
        self._locked = False

    def configure(self, *, baudrate=1000000, polarity=0, phase=0, bits=8):
        self.frequency = baudrate

    def write(self, buf, *, start=0, end=None):
        if end is None:
            end = len(buf)
        panel_link.get().spi(memoryview(buf)[start:end])

    def readinto(self, buf, *, start=0, end=None, write_value=0):
        if end is None:
            end = len(buf)
        panel_link.get().spi(bytes([write_value]) * (end - start))
        for i in range(start, end):
            buf[i] = 0

    def write_readinto(self, out_buf, in_buf, *, out_start=0, out_end=None, in_start=0,
                       in_end=None):
        if out_end is None:
            out_end = len(out_buf)
        if in_end is None:
            in_end = len(in_buf)
        panel_link.get().spi(bytes(memoryview(out_buf)[out_start:out_end]))
        for i in range(in_start, in_end):
            in_buf[i] = 0

    def deinit(self):
        self._locked = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.deinit()
