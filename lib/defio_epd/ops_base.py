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

    def check_idle(self):
        """A round may run between any two bytecodes of the app: if the app is inside its own
        transaction with the panel (SPI locked or chip select low), retry the round later."""
        disp = self.display
        spi = disp.spi_device
        if not spi.try_lock():
            raise OSError("defio_epd: the SPI bus is in use; the round will be retried")
        spi.unlock()
        if not disp._cs.value:
            raise OSError("defio_epd: a panel transaction is open; the round will be retried")

    def _release(self):
        """After a failed transfer: the driver's command() leaves the bus locked."""
        self.display.spi_device.unlock()
        try:
            self.display._cs.value = True
        except OSError:
            pass

    def command(self, cmd, data=None):
        self.bytes += 1 + (len(data) if data is not None else 0)
        try:
            self.display.command(cmd, data)
        except Exception:
            self._release()
            raise

    def write_ram(self, plane, data):
        disp = self.display
        self.bytes += 1 + len(data)
        try:
            disp.write_ram(plane)  # the command; chip select stays low
        except Exception:
            self._release()
            raise
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
