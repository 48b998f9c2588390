"""CircuitPython's analogio.AnalogIn on MicroPython, on the board's transport.

As in digitalio, the board decides: a pin of the emulated board (lib/board.py) is read over
the panel link (an ANALOG request: the simulated board's level, e.g. the eInk shield's
button ladder on A3); a pin of the chip itself (machine.Pin), or any pin where there is no
panel link at all, is read with the port's machine.ADC. A port with neither raises one line.
`value` is 16-bit (0..65535) and `reference_voltage` 3.3, as in CircuitPython.
"""

import panel_link

try:
    from machine import ADC as _ADC
except ImportError:  # the Unix port and our QEMU boards have no ADC
    _ADC = None

import digitalio


class AnalogIn:
    def __init__(self, pin):
        self.pin = pin
        self._adc = None
        self._link = False
        if not digitalio.on_chip(pin):
            try:
                panel_link.get()  # connect now: a missing panel is an error at construction
                self._link = True
            except panel_link.NoLink:
                pass
        if not self._link:
            if _ADC is None:
                raise RuntimeError(f"analogio: cannot read {pin!r}: no panel link and no "
                                   "machine.ADC on this port")
            self._adc = _ADC(pin if digitalio.on_chip(pin) else pin.id)

    @property
    def value(self):
        if self._adc is not None:
            return self._adc.read_u16()
        if self._link is None:
            raise ValueError("analogio: the AnalogIn is deinitialised")
        return panel_link.get().read_analog(self.pin.id)

    @property
    def reference_voltage(self):
        return 3.3

    def deinit(self):
        self._adc = None
        self._link = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.deinit()
