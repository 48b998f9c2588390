"""Controller operations shared by the drivers: the driver's own primitives (`command`,
`write_ram`, chip select, D/C, BUSY) with a timeout on every wait and a byte count."""

import sys
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
        transaction with the panel (SPI locked, chip select low, a link transfer), retry the
        round later: nothing was sent, so the panel still holds what it held."""
        disp = self.display
        spi = disp.spi_device
        if not spi.try_lock():
            raise OSError("defio_epd: the SPI bus is in use; the round will be retried")
        spi.unlock()
        if not disp._cs.value:
            raise OSError("defio_epd: a panel transaction is open; the round will be retried")
        link = sys.modules.get("panel_link")  # the simulated panel's link, where there is one
        if link is not None and link.in_use():
            raise OSError("defio_epd: the panel link is in use; the round will be retried")

    def _release(self):
        """After a failed or interrupted transfer: the driver's command() leaves the bus
        locked and the chip select low."""
        self.display.spi_device.unlock()
        try:
            self.display._cs.value = True
        except OSError:
            pass  # the link is gone: the first error is the one that propagates

    def command(self, cmd, data=None):
        self.bytes += 1 + (len(data) if data is not None else 0)
        ok = False
        try:  # no except: an interrupt propagates as it is, after the bus is released
            self.display.command(cmd, data)
            ok = True
        finally:
            if not ok:
                self._release()

    def write_ram(self, plane, data):
        """The driver's RAM command for the plane, then the data in one burst."""
        self.bytes += 1
        ok = False
        try:
            self.display.write_ram(plane)  # the command
            ok = True
        finally:
            if not ok:
                self._release()
        self.send_data(data)

    def send_data(self, data):
        """Data bytes after a command, in one burst with chip select low (drivers that select
        the chip byte by byte, SSD1683, IL91874, UC8253, JD796xx, leave it high after the
        command)."""
        disp = self.display
        spi = disp.spi_device
        self.bytes += len(data)
        t0 = time.ticks_ms()
        while not spi.try_lock():
            if time.ticks_diff(time.ticks_ms(), t0) >= self.busy_timeout_ms:
                raise OSError("defio_epd: the SPI bus stayed locked")
            time.sleep_ms(1)
        ok = False
        try:
            disp._dc.value = True
            disp._cs.value = False
            spi.write(data)
            disp._cs.value = True
            ok = True
        finally:
            if ok:
                spi.unlock()
            else:
                self._release()

    @staticmethod
    def panel_epoch():
        """The panel's epoch where the panel has one (the simulated panel's link,
        lib/panel_link.py: it changes whenever the panel may have lost what it was told),
        after everything sent so far was handled; None on a plain SPI panel."""
        link = sys.modules.get("panel_link")
        if link is None or link._link is None:
            return None
        return link.get().sync()

    def wait_busy(self, what, model_ms, at_least_ms=0):
        """Wait while the panel is busy, at most busy_timeout_ms (a refresh: at least
        at_least_ms, the chip's own worst case: a tri-colour refresh takes 13-22 s, longer
        than the default bound); no pin: model_ms."""
        busy = self.display._busy
        if busy is None:
            time.sleep_ms(model_ms)
            return
        limit = max(self.busy_timeout_ms, at_least_ms)
        t0 = time.ticks_ms()
        while busy.value != self.busy_active_low:
            if time.ticks_diff(time.ticks_ms(), t0) >= limit:
                raise OSError(f"defio_epd: {what}: the panel still BUSY after {limit} ms "
                              "(busy_timeout_ms, or the chip's refresh bound); "
                              "the pages will be retried")
            time.sleep_ms(5)
