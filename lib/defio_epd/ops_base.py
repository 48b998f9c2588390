"""Controller operations shared by the drivers: the driver's own primitives (`command`,
`write_ram`, chip select, D/C, BUSY) with a timeout on every wait and a byte count."""

import time


class OpsBase:
    name = "?"
    partial = True
    busy_active_low = False  # UC8151D: BUSY_N is low while busy

    def __init__(self, display, busy_timeout_ms):
        self.display = display
        self.busy_timeout_ms = busy_timeout_ms
        self.stride = (display._width + 7) // 8
        self.rows = display._height
        self.bytes = 0

    def command(self, cmd, data=None):
        self.bytes += 1 + (len(data) if data is not None else 0)
        self.display.command(cmd, data)

    def write_ram(self, plane, data):
        disp = self.display
        self.bytes += 1 + len(data)
        disp.write_ram(plane)  # the command; chip select stays low
        spi = disp.spi_device
        t0 = time.ticks_ms()
        while not spi.try_lock():
            if time.ticks_diff(time.ticks_ms(), t0) >= self.busy_timeout_ms:
                raise OSError("defio_epd: the SPI bus stayed locked")
            time.sleep_ms(1)
        try:
            disp._dc.value = True
            spi.write(data)
            disp._cs.value = True
        finally:
            spi.unlock()

    def wait_busy(self, what, model_ms):
        """Wait while the panel is busy, at most busy_timeout_ms; no pin: model_ms."""
        busy = self.display._busy
        if busy is None:
            time.sleep_ms(model_ms)
            return
        t0 = time.ticks_ms()
        while busy.value != self.busy_active_low:
            if time.ticks_diff(time.ticks_ms(), t0) >= self.busy_timeout_ms:
                raise OSError(f"defio_epd: {what}: the panel still BUSY after "
                              f"{self.busy_timeout_ms} ms (busy_timeout_ms); "
                              "the pages will be retried")
            time.sleep_ms(5)
