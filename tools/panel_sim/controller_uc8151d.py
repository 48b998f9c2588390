"""UC8151D controller model: the command set of Adafruit's driver and defio_epd.

RAM: DTM1 (0x10, plane 0: 0 = black) and DTM2 (0x13, plane 1: 0 = red, as Adafruit's
buffers), rows of width/8 bytes. A DTM command starts at the top left of the partial window
(PTL 0x90) when partial mode is on (PTIN 0x91), else of the whole RAM; bytes past its end are
errors. DRF (0x12) shows the partial window in partial mode, else everything, and needs the
power on (PON 0x04). BUSY_N is low while busy. Deep sleep (0x07 with 0xA5) until reset.
"""


from .controller_base import Controller

NAMES = {
    0x00: "panel_setting", 0x01: "power_setting", 0x02: "power_off", 0x03: "power_off_seq",
    0x04: "power_on", 0x05: "power_on_measure", 0x06: "booster_soft_start",
    0x07: "deep_sleep", 0x10: "dtm1", 0x11: "data_stop", 0x12: "display_refresh",
    0x13: "dtm2", 0x17: "auto", 0x20: "lut_vcom", 0x21: "lut_ww", 0x22: "lut_bw",
    0x23: "lut_wb", 0x24: "lut_bb", 0x2A: "lut_option", 0x30: "pll", 0x40: "tsc",
    0x41: "tse", 0x42: "tsw", 0x43: "tsr", 0x44: "pbc", 0x50: "cdi", 0x51: "lpd",
    0x60: "tcon", 0x61: "tres", 0x65: "gsst", 0x70: "rev", 0x71: "flg", 0x80: "amv",
    0x81: "vv", 0x82: "vcm_dc", 0x90: "ptl", 0x91: "ptin", 0x92: "ptout", 0xA0: "pgm",
    0xA1: "apg", 0xA2: "rotp", 0xE0: "ccset", 0xE3: "pws", 0xE4: "lvsel", 0xE5: "tsset",
}


class UC8151D(Controller):
    name = "UC8151D"
    size = (128, 296)
    RAM_COMMANDS = (0x10, 0x13)  # data start transmission 1 (black), 2 (red)
    red_active_low = True
    busy_active_low = True

    def _registers_reset(self):
        self.cmd = None
        self.params = bytearray()
        self.window = (0, 0, self.xbytes - 1, self.height - 1)  # x0, y0, x1, y1 (bytes, rows)
        self.partial_mode = False
        self.powered = False
        self.deep_sleep = False
        self.addr = 0
        self.area = self.window

    def _ram_data(self, plane, data, pos):
        x0, y0, x1, y1 = self.area
        w = x1 - x0 + 1
        for i, b in enumerate(data):
            y, x = divmod(self.addr, w)
            if y0 + y > y1:
                self.error(f"RAM write past the window end ({w} x {y1 - y0 + 1} bytes)",
                           pos + i)
                break
            plane[(y0 + y) * self.xbytes + x0 + x] = b
            self.addr += 1

    def _command(self, b, pos):
        if not self._begin_command(b, pos, NAMES):
            return
        if b == 0x04:
            self.powered = True
            self._hold_busy(self.reset_s)
        elif b == 0x02:
            self.powered = False
            self._hold_busy(self.reset_s)
        elif b in (0x10, 0x13):
            self.area = self.window if self.partial_mode else (
                0, 0, self.xbytes - 1, self.height - 1)
            self.addr = 0
        elif b == 0x91:
            self.partial_mode = True
        elif b == 0x92:
            self.partial_mode = False
        elif b == 0x12:
            if not self.powered:
                self.error("display refresh with the power off (PON 0x04 first)", pos)
            elif self.partial_mode:
                self._show("partial", self.window)
            else:
                self._show("full", (0, 0, self.xbytes - 1, self.height - 1))

    def _params_update(self):
        c, p = self.cmd, self.params
        if c == 0x90 and len(p) >= 7:
            x0, x1 = p[0] >> 3, p[1] >> 3
            y0, y1 = (p[2] & 1) << 8 | p[3], (p[4] & 1) << 8 | p[5]
            self.window = (x0, y0, min(x1, self.xbytes - 1), min(y1, self.height - 1))
        elif c == 0x07 and len(p) >= 1:
            if p[0] == 0xA5:
                self.deep_sleep = True
                self.counters["deep_sleeps"] += 1
                self.state_lost("deep sleep")
        elif c not in (0x10, 0x13):
            self.recorded[NAMES[c]] = list(p)
