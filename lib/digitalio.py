"""CircuitPython's digitalio subset used by Adafruit's drivers, on the board's transport.

The board decides, not the app: a pin of the chip itself (a machine.Pin, as the board.py of
a real board gives) is driven directly; a pin of the emulated board travels over the panel
link (output levels as PIN frames; reading an input asks the panel: BUSY and friends).
"""

import panel_link

try:
    from machine import Pin as _MachinePin
except ImportError:  # the Unix port has no machine.Pin
    _MachinePin = None


def on_chip(pin):
    """True for a pin of the chip (machine.Pin): no panel link."""
    return _MachinePin is not None and isinstance(pin, _MachinePin)


class Direction:
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"


class Pull:
    UP = "UP"
    DOWN = "DOWN"


class DriveMode:
    PUSH_PULL = "PUSH_PULL"
    OPEN_DRAIN = "OPEN_DRAIN"


class DigitalInOut:
    def __init__(self, pin):
        self.pin = pin
        self._direction = Direction.INPUT
        self._value = False
        self.pull = None
        self.drive_mode = DriveMode.PUSH_PULL
        self._chip = on_chip(pin)
        if self._chip:
            pin.init(_MachinePin.IN, None)
        else:
            panel_link.get()  # connect now: a missing panel is an error at construction

    @property
    def direction(self):
        return self._direction

    @direction.setter
    def direction(self, value):
        self._direction = value
        if self._chip:
            if value == Direction.OUTPUT:
                self.pin.init(_MachinePin.OUT, value=self._value)
            else:
                pull = {Pull.UP: _MachinePin.PULL_UP, Pull.DOWN: _MachinePin.PULL_DOWN}
                self.pin.init(_MachinePin.IN, pull.get(self.pull))
        elif value == Direction.OUTPUT:
            panel_link.get().pin(self.pin.id, self._value)

    def switch_to_output(self, value=False, drive_mode=DriveMode.PUSH_PULL):
        self._value = bool(value)
        self.drive_mode = drive_mode
        self.direction = Direction.OUTPUT

    def switch_to_input(self, pull=None):
        self.pull = pull
        self.direction = Direction.INPUT

    @property
    def value(self):
        if self._direction == Direction.OUTPUT:
            return self._value
        if self._chip:
            return bool(self.pin.value())
        return bool(panel_link.get().read_pin(self.pin.id))

    @value.setter
    def value(self, value):
        value = bool(value)
        if self._direction != Direction.OUTPUT:
            raise AttributeError("digitalio: pin is an input")
        if self._chip:
            self._value = value
            self.pin.value(value)
        elif value != self._value:
            self._value = value
            # A rising chip select or a reset edge ends a transaction: send it now.
            panel_link.get().pin(self.pin.id, value, flush=value)

    def deinit(self):
        self._direction = Direction.INPUT

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.deinit()
