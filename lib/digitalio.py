"""CircuitPython's digitalio subset used by Adafruit's drivers, over the panel link.

Output levels are sent as PIN frames; reading an input asks the panel (BUSY and friends).
"""

import panel_link


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
        panel_link.get()  # connect now: a missing panel is an error at construction

    @property
    def direction(self):
        return self._direction

    @direction.setter
    def direction(self, value):
        self._direction = value
        if value == Direction.OUTPUT:
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
        return bool(panel_link.get().read_pin(self.pin.id))

    @value.setter
    def value(self, value):
        value = bool(value)
        if self._direction != Direction.OUTPUT:
            raise AttributeError("digitalio: pin is an input")
        if value != self._value:
            self._value = value
            # A rising chip select or a reset edge ends a transaction: send it now.
            panel_link.get().pin(self.pin.id, value, flush=value)

    def deinit(self):
        self._direction = Direction.INPUT

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.deinit()
