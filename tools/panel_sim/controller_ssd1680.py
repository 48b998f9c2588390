"""The SSD16xx family (SSD1608, SSD1675, SSD1675B, SSD1680, SSD1681, SSD1683): one model, a row
of numbers per chip and a class per panel key (Adafruit's driver class).

RAM: the chip's own RAM (`RAM`: source pixels x gates), X = source byte (8 pixels, MSB
left), Y = gate row; write RAM 0x24 (black/white) and 0x26 (the second plane; not on the
SSD1608). The panel shows `width` x `height` of it from byte column `X_OFFSET` (the
SSD1680_Legacy panel: 1); `ram`/`visible` are that region, laid out as the driver's buffers.
Writes go through the RAM window (0x44/0x45, X `XBITS` wide, Y 9 bits) and the address
counters (0x4E/0x4F) in the data entry mode (0x11); a write outside the window or the chip's
RAM is an error, one inside the RAM but off the panel is kept nowhere (not visible).

The visible image changes on master activation (0x20) with the display bit (0x04) of Display
Update Control 2 (0x22). Bit 0x08 is display mode 2 (partial: the current RAM window) on
chips with a partial waveform (`MODE2`); elsewhere it is an error. 4-gray panels
(`COLOURS = "gray4"`) refresh with the 4-gray LUT written (0x32 with data) since the last
reset, always the whole panel; loading the OTP LUT there (bit 0x10) or having none is an
error. BUSY is high while busy. Voltage, LUT and other settings are accepted and recorded
(Adafruit's SSD1608/SSD1675/SSD1675B drivers pass their LUT and voltages as `bytes`, which
their `command()` drops: those commands arrive without data, as on a real panel).

Times (`TIMES`, a row per chip, seconds at time scale 1; controller_base): a full refresh, a
partial one (display mode 2), a 4-gray refresh on the Grayscale4 panels (their full time),
and the power sequences of an activation without the display bit (0x22 with 0x40, enable
analog: power on; with 0x02, disable analog: power off). GxEPD2's per-panel figures (the
measured ones its headers quote, for a black/white panel of the chip: the family is modelled
with a partial waveform); the SSD1680 keeps the simulator's first 2.5 s / 0.4 s (the demo,
the bench and many tests are tuned to them).
"""


from .controller_base import Controller, Times

NAMES = {
    0x01: "driver_output", 0x03: "gate_voltage", 0x04: "source_voltage", 0x08: "init_setting",
    0x09: "init_write_reg", 0x0A: "init_read_reg", 0x0C: "booster_soft_start",
    0x10: "deep_sleep", 0x11: "data_entry_mode", 0x12: "sw_reset", 0x14: "hv_detect",
    0x15: "vci_detect", 0x18: "temp_control", 0x1A: "temp_write", 0x1B: "temp_read",
    0x1C: "ext_temp_write", 0x20: "master_activation", 0x21: "display_ctrl1",
    0x22: "display_ctrl2", 0x24: "write_bw_ram", 0x26: "write_red_ram", 0x27: "read_ram",
    0x28: "vcom_sense", 0x29: "vcom_duration", 0x2A: "write_vcom_otp", 0x2B: "write_vcom_ctrl",
    0x2C: "write_vcom_reg", 0x2D: "read_otp", 0x2E: "read_userid", 0x2F: "read_status",
    0x30: "write_ws_otp", 0x31: "load_ws_otp", 0x32: "write_lut", 0x34: "crc_calc",
    0x35: "crc_read", 0x36: "prog_otp", 0x37: "write_display_opt", 0x38: "write_userid",
    0x39: "otp_progmode", 0x3C: "border", 0x3F: "end_option", 0x41: "read_ram_opt",
    0x44: "ram_x_window", 0x45: "ram_y_window", 0x46: "autowrite_red", 0x47: "autowrite_bw",
    0x4E: "ram_x_counter", 0x4F: "ram_y_counter", 0x74: "analog_block", 0x7E: "digital_block",
    0x7F: "nop",
}
# The older chips (SSD1608, SSD1675/B) set the line timing with two commands of their own.
NAMES_OLD = {**NAMES, 0x3A: "dummy_line_period", 0x3B: "gate_line_width"}
# The SSD1608 has one RAM and no second-plane, OTP-CRC or auto-write commands.
NAMES_1608 = {c: n for c, n in NAMES_OLD.items()
              if c not in (0x26, 0x34, 0x35, 0x46, 0x47, 0x74, 0x7E)}
RECORDED = {0x03, 0x04, 0x08, 0x0C, 0x18, 0x1A, 0x1C, 0x21, 0x2C, 0x32, 0x37, 0x3A, 0x3B,
            0x3C, 0x3F, 0x74, 0x7E}


class SSD16xx(Controller):
    """The family model; a chip is a subclass with its row of numbers."""
    name = "SSD16xx"
    size = (122, 250)
    RAM = (176, 296)  # the chip's RAM: source pixels, gates
    XBITS = 6  # width of the X window/counter registers
    X_OFFSET = 0  # byte column of RAM shown at the panel's left edge
    MODE2 = True  # display mode 2 (a partial waveform in OTP)
    RAM_COMMANDS = (0x24, 0x26)  # write RAM: black/white plane, second plane
    COMMANDS = NAMES

    def __init__(self, *args, x_offset=None, **kwargs):
        """x_offset: the panel's first RAM byte column when it differs from the model's (a
        Grayscale4 app with colstart=8 drives a panel whose pixels start at byte 1)."""
        super().__init__(*args, **kwargs)
        if x_offset is not None:
            self.X_OFFSET = x_offset
            self._registers_reset()
        self.ram_xbytes = max(self.RAM[0] // 8, self.X_OFFSET + self.xbytes)
        self.ram_rows = max(self.RAM[1], self.height)

    # -- state ------------------------------------------------------------------------
    def _registers_reset(self):
        self.cmd = None
        self.params = bytearray()
        self.entry_mode = 0x03
        self.xwin = [self.X_OFFSET, self.X_OFFSET + self.xbytes - 1]
        self.ywin = [0, self.height - 1]
        self.xc = self.X_OFFSET
        self.yc = 0
        self.update_ctrl = 0xFF
        self.lut = False  # a waveform written (0x32) since the reset
        self.deep_sleep = False

    def _ram_data(self, plane, data, pos):
        for i, b in enumerate(data):
            self._ram_write(plane, b, pos + i)

    def _command(self, b, pos):
        if not self._begin_command(b, pos, self.COMMANDS):
            return
        if b == 0x12:
            self.counters["sw_resets"] += 1
            self._registers_reset()
            self._hold_busy(self.reset_s)
            self.state_lost("software reset")
        elif b == 0x20:
            self._activate(pos)

    def _params_update(self):
        c, p = self.cmd, self.params
        xmask = (1 << self.XBITS) - 1
        if c == 0x11 and len(p) >= 1:
            self.entry_mode = p[0] & 0x07
        elif c == 0x44 and len(p) >= 2:
            self.xwin = [p[0] & xmask, p[1] & xmask]
        elif c == 0x45 and len(p) >= 4:
            self.ywin = [p[0] | (p[1] & 1) << 8, p[2] | (p[3] & 1) << 8]
        elif c == 0x4E and len(p) >= 1:
            self.xc = p[0] & xmask
        elif c == 0x4F and len(p) >= 2:
            self.yc = p[0] | (p[1] & 1) << 8
        elif c == 0x22 and len(p) >= 1:
            self.update_ctrl = p[0]
        elif c == 0x32:
            self.lut = True  # data bytes arrived
            self.recorded["write_lut"] = list(p)
        elif c == 0x10 and len(p) >= 1:
            if p[0] & 0x03 and not self.deep_sleep:
                self.deep_sleep = True
                self.counters["deep_sleeps"] += 1
                self.state_lost("deep sleep")
        elif c == 0x01 and len(p) >= 3:
            self.recorded["driver_output"] = list(p[:3])
        elif c in RECORDED:
            self.recorded[self.COMMANDS[c]] = list(p)

    def _ram_write(self, plane, b, pos):
        x, y = self.xc, self.yc
        x0, x1 = sorted(self.xwin)
        y0, y1 = sorted(self.ywin)
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            self.error(f"RAM write outside the window at x byte {x}, row {y} (window x "
                       f"{x0}..{x1}, y {y0}..{y1})", pos)
        elif x >= self.ram_xbytes or y >= self.ram_rows:
            self.error(f"RAM write outside the {self.name}'s RAM ({self.ram_xbytes} x "
                       f"{self.ram_rows} bytes) at x byte {x}, row {y}", pos)
        else:
            px = x - self.X_OFFSET
            if 0 <= px < self.xbytes and y < self.height:
                plane[y * self.xbytes + px] = b
        # Advance the address counter as the data entry mode says.
        xinc, yinc, ydir = self.entry_mode & 1, self.entry_mode & 2, self.entry_mode & 4
        if not ydir:  # X first
            self.xc, wrapped = self._step(x, xinc, x0, x1)
            if wrapped:
                self.yc, _ = self._step(y, yinc, y0, y1)
        else:
            self.yc, wrapped = self._step(y, yinc, y0, y1)
            if wrapped:
                self.xc, _ = self._step(x, xinc, x0, x1)

    @staticmethod
    def _step(v, inc, lo, hi):
        if inc:
            return (lo, True) if v >= hi else (v + 1, False)
        return (hi, True) if v <= lo else (v - 1, False)

    def _activate(self, pos):
        ctrl = self.update_ctrl
        if not ctrl & 0x04:  # clock/analog power sequencing only
            if ctrl & 0x40:
                self._hold_busy(self.power_on_s)
            elif ctrl & 0x02:
                self._hold_busy(self.power_off_s)
            else:
                self._hold_busy(self.reset_s)
            return
        gray = self.COLOURS == "gray4"
        if gray and (ctrl & 0x10 or not self.lut):
            self.error(f"4-gray refresh (0x22 = 0x{ctrl:02x}) without the 4-gray LUT: "
                       + ("bit 0x10 loads the OTP waveform over it" if self.lut
                          else "no LUT written (0x32) since the reset"), pos)
            return
        if ctrl & 0x08 and not gray:
            if not self.MODE2:
                self.error(f"display mode 2 (0x22 = 0x{ctrl:02x}, bit 0x08): the {self.name} "
                           "has no partial waveform", pos)
                return
            x0, x1 = sorted(self.xwin)
            y0, y1 = sorted(self.ywin)
            x0, x1 = max(x0 - self.X_OFFSET, 0), min(x1 - self.X_OFFSET, self.xbytes - 1)
            self._show("partial", (x0, y0, x1, min(y1, self.height - 1)))
        else:
            self._show("full", (0, 0, self.xbytes - 1, self.height - 1))


# One row per chip (RAM size, register width, partial waveform, commands, times), one class
# per panel key (the driver class): colours, RAM offset, Adafruit's example size. Times:
# full, partial, power on, power off (s); the GxEPD2 files are ZinggJM/GxEPD2's src/ (and
# ZinggJM/GxEPD2_4G's for the 4-gray refresh), their "e.g." measured figures.
class SSD1608(SSD16xx):
    name = "SSD1608"
    size = (200, 200)
    RAM = (240, 320)
    XBITS = 5
    MODE2 = False
    RAM_COMMANDS = (0x24,)
    COMMANDS = NAMES_1608
    COLOURS = "mono"
    TIMES = Times(1.11, 0.29, 0.074, 0.069, "GxEPD2 epd/GxEPD2_154.h (GDEP015OC1)")


class SSD1675(SSD16xx):
    name = "SSD1675"
    size = (122, 250)
    RAM = (160, 296)
    XBITS = 5
    MODE2 = False  # Adafruit drives it with a full waveform of its own
    COMMANDS = NAMES_OLD
    COLOURS = "mono"  # Adafruit's driver: black only, the second plane stays 0
    TIMES = Times(1.69, 0.19, 0.091, 0.173, "GxEPD2 epd/GxEPD2_213_B72.h (GDEH0213B72)")


class SSD1675B(SSD1675):
    name = "SSD1675B"
    TIMES = Times(3.82, 0.20, 0.090, 0.230, "GxEPD2 epd/GxEPD2_213_B73.h (GDEH0213B73)")


class SSD1680(SSD16xx):
    name = "SSD1680"
    TIMES = Times(2.5, 0.4, 0.095, 0.140, "the simulator's first figures (Adafruit waits 3 s "
                  "without BUSY); power: GxEPD2 epd/GxEPD2_213_B74.h")


class SSD1680B(SSD1680):
    name = "SSD1680 (B panel)"
    COLOURS = "mono"  # Adafruit_SSD1680B drives the black/white GDEY0213B74
    TIMES = Times(1.62, 0.46, 0.095, 0.140, "GxEPD2 gdey/GxEPD2_213_GDEY0213B74.h")


class SSD1680Legacy(SSD1680):
    name = "SSD1680 (legacy panel)"
    X_OFFSET = 1  # the older 2.13" panel starts at source byte 1


class SSD1680Gray4(SSD1680):
    name = "SSD1680 (4-gray)"
    COLOURS = "gray4"
    BLANK = (0xFF, 0xFF)
    TIMES = Times(5.39, 0.46, 0.091, 0.140, "GxEPD2_4G gdey/GxEPD2_213_GDEY0213B74.h (grey)")


class SSD1681(SSD16xx):
    name = "SSD1681"
    size = (200, 200)
    RAM = (200, 200)
    XBITS = 5
    TIMES = Times(2.51, 0.46, 0.096, 0.141, "GxEPD2 epd/GxEPD2_154_D67.h (GDEH0154D67)")


class SSD1681Gray4(SSD1681):
    name = "SSD1681 (4-gray)"
    COLOURS = "gray4"
    BLANK = (0xFF, 0xFF)
    TIMES = Times(5.52, 0.46, 0.096, 0.141, "GxEPD2_4G gdey/GxEPD2_154_GDEY0154D67.h (grey)")


class SSD1683(SSD16xx):
    name = "SSD1683"
    size = (400, 300)
    RAM = (400, 300)
    TIMES = Times(1.14, 0.36, 0.096, 0.268, "GxEPD2 gdey/GxEPD2_420_GDEY042T81.h (GDEY042T81)")


class SSD1683Gray4(SSD1683):
    name = "SSD1683 (4-gray)"
    COLOURS = "gray4"
    BLANK = (0xFF, 0xFF)
    TIMES = Times(5.40, 0.36, 0.095, 0.140, "GxEPD2_4G gdey/GxEPD2_420_GDEY042T81.h (grey)")

