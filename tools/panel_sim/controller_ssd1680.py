"""SSD1680 controller model: the command set Adafruit's driver and defio_epd use.

RAM: two planes (BW at 0x24, RED at 0x26), `xbytes` x `rows`, X = source byte (8 pixels,
MSB left), Y = gate row. The visible image changes only on master activation (0x20) with a
display bit in Display Update Control 2 (0x22): bit 0x08 set = display mode 2 (partial: the
current RAM window), else mode 1 (full: everything). BUSY is held for the modelled refresh
time. Voltage, LUT and other settings are accepted and recorded.
"""


from .controller_base import Controller

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
RECORDED = {0x03, 0x04, 0x08, 0x0C, 0x18, 0x1A, 0x1C, 0x21, 0x2C, 0x32, 0x37, 0x3C, 0x3F,
            0x74, 0x7E}


class SSD1680(Controller):
    name = "SSD1680"
    size = (122, 250)
    RAM_COMMANDS = (0x24, 0x26)  # write RAM: black/white plane, red plane

    # -- state ------------------------------------------------------------------------
    def _registers_reset(self):
        self.cmd = None
        self.params = bytearray()
        self.entry_mode = 0x03
        self.xwin = [0, self.xbytes - 1]
        self.ywin = [0, self.height - 1]
        self.xc = 0
        self.yc = 0
        self.update_ctrl = 0xFF
        self.deep_sleep = False

    def _ram_data(self, plane, data, pos):
        for i, b in enumerate(data):
            self._ram_write(plane, b, pos + i)

    def _command(self, b, pos):
        if not self._begin_command(b, pos, NAMES):
            return
        if b == 0x12:
            self.counters["sw_resets"] += 1
            self._registers_reset()
            self._hold_busy(self.reset_s)
            self.state_lost("software reset")
        elif b == 0x20:
            self._activate()
        elif b in (0x24, 0x26):
            self.ram_pos = pos

    def _params_update(self):
        c, p = self.cmd, self.params
        if c == 0x11 and len(p) >= 1:
            self.entry_mode = p[0] & 0x07
        elif c == 0x44 and len(p) >= 2:
            self.xwin = [p[0] & 0x3F, p[1] & 0x3F]
        elif c == 0x45 and len(p) >= 4:
            self.ywin = [p[0] | (p[1] & 1) << 8, p[2] | (p[3] & 1) << 8]
        elif c == 0x4E and len(p) >= 1:
            self.xc = p[0] & 0x3F
        elif c == 0x4F and len(p) >= 2:
            self.yc = p[0] | (p[1] & 1) << 8
        elif c == 0x22 and len(p) >= 1:
            self.update_ctrl = p[0]
        elif c == 0x10 and len(p) >= 1:
            if p[0] & 0x03:
                self.deep_sleep = True
                self.counters["deep_sleeps"] += 1
                self.state_lost("deep sleep")
        elif c == 0x01 and len(p) >= 3:
            self.recorded["driver_output"] = list(p[:3])
        elif c in RECORDED:
            self.recorded[NAMES[c]] = list(p)

    def _ram_write(self, plane, b, pos):
        x, y = self.xc, self.yc
        x0, x1 = sorted(self.xwin)
        y0, y1 = sorted(self.ywin)
        if not (x0 <= x <= x1 and y0 <= y <= y1) or x >= self.xbytes or y >= self.height:
            self.error(f"RAM write outside the window at x byte {x}, row {y} (window x "
                       f"{x0}..{x1}, y {y0}..{y1})", pos)
        else:
            plane[y * self.xbytes + x] = b
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

    def _activate(self):
        ctrl = self.update_ctrl
        if not ctrl & 0x04:
            self._hold_busy(self.reset_s)
            return
        if ctrl & 0x08:
            x0, x1 = sorted(self.xwin)
            y0, y1 = sorted(self.ywin)
            self._show("partial", (x0, y0, min(x1, self.xbytes - 1), min(y1, self.height - 1)))
        else:
            self._show("full", (0, 0, self.xbytes - 1, self.height - 1))

