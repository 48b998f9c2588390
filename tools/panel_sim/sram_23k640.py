"""Microchip 23K640: 64 Kbit (8 KiB) SPI serial SRAM, as on Adafruit's eInk FeatherWings.

Instructions (first byte after chip select falls): READ 0x03 and WRITE 0x02 (then a 16-bit
address, high byte first; the upper three bits are don't-care), RDSR 0x05 (the status
register comes out) and WRSR 0x01 (the next byte is written to it). The status register's
bits 7:6 select the mode: 00 byte (one data byte per instruction), 10 page (the address wraps
inside its 32-byte page), 01 sequential (the address runs through the whole array, wrapping
at its end); 11 is reserved (taken as byte mode, an error noted). Bit 0 disables HOLD. At
power-on the mode is byte and the array holds garbage (here: a fixed pattern).

While a READ runs, each byte clocked in (MOSI, ignored) clocks one out (MISO): `transfer`
returns them. The chip select's rising edge ends the instruction (`deselect`). `errors`
lists protocol errors (unknown instruction, a data byte in byte mode past the first, a
reserved mode) with their stream offsets; the server summarises them. A sequential READ or
WRITE that runs past the end of the array wraps to address 0 as the chip does, and is
noted as an error too (once per instruction): the app's buffers need more than the 8 KiB
this chip has (a 128x296 tri-colour display needs 9472 bytes), and what it shows is garbage.

In a sequential READ the bytes out do not depend on the bytes in: `ahead(n)` tells the next
(up to) n bytes the chip will clock out, without clocking (none in any other instruction or
mode, or before the address is in; never past the end of the array). The simulator sends
them ahead to the device, which then clocks them out locally while its bytes still come here.

`SRAM23K256` is its 256 Kbit (32 KiB) sibling with the same instructions and modes, the chip
of boards whose panel needs more (the 2.7" shield's 176x264 tri-colour planes: 11616 bytes).
`CHIPS` maps the simulator's `--sram` names to the models.
"""

READ, WRITE, RDSR, WRSR = 0x03, 0x02, 0x05, 0x01
NAMES = {READ: "READ", WRITE: "WRITE", RDSR: "RDSR", WRSR: "WRSR"}
MODE_BYTE, MODE_SEQUENTIAL, MODE_PAGE, MODE_RESERVED = 0, 1, 2, 3
PAGE = 32


class SRAM23K640:
    size = 8192
    name = "23K640"

    def __init__(self):
        self.mem = bytearray((i * 37 + 11) & 0xFF for i in range(self.size))
        self.status = 0x00  # byte mode, HOLD enabled
        self.errors = []
        self.counts = {"READ": 0, "WRITE": 0, "RDSR": 0, "WRSR": 0, "bytes_in": 0,
                       "bytes_out": 0}
        self._state = None  # None (idle) / instruction name / "done"
        self._cmd = None
        self._addr_bytes = []
        self._addr = 0
        self._data = 0  # data bytes of this instruction so far
        self._wrapped = False  # this instruction ran past the end of the array (noted)
        self._past_end = False  # the address counter wrapped in this instruction

    @property
    def mode(self):
        return self.status >> 6

    def select(self):
        """Chip select fell: a new instruction starts."""
        self._state = "cmd"
        self._cmd = None
        self._addr_bytes = []
        self._data = 0
        self._wrapped = self._past_end = False

    def deselect(self):
        self._state = None

    def _error(self, msg, pos):
        self.errors.append(f"{msg} at stream offset {pos}")

    def _next_addr(self):
        if self.mode == MODE_PAGE:
            return (self._addr & ~(PAGE - 1)) | ((self._addr + 1) & (PAGE - 1))
        if self._addr + 1 == self.size:
            self._past_end = True  # an error if a byte is read or written there
        return (self._addr + 1) % self.size

    def ahead(self, n):
        """The next bytes (at most n) a sequential READ under way will clock out; b"" unless
        one is (selected, READ, address in, sequential mode), and never past the array's end
        (where it wraps: an error the clocking itself notes)."""
        if (self._state != "data" or self._cmd != READ or self.mode != MODE_SEQUENTIAL
                or self._past_end):
            return b""
        return bytes(self.mem[self._addr:min(self._addr + n, self.size)])

    def transfer(self, mosi, pos=0):
        """Bytes in while selected; returns the bytes out (0 where the chip drives nothing)."""
        if self._state is None:
            self.select()
        out = bytearray(len(mosi))
        for i, b in enumerate(mosi):
            out[i] = self._byte(b, pos + i)
        self.counts["bytes_in"] += len(mosi)
        return bytes(out)

    def _byte(self, b, pos):
        st = self._state
        if st == "cmd":
            if b not in NAMES:
                self._error(f"{self.name}: unknown instruction 0x{b:02x}", pos)
                self._state = "done"
                return 0
            self._cmd = b
            self.counts[NAMES[b]] += 1
            self._state = "addr" if b in (READ, WRITE) else "data"
            return 0
        if st == "addr":
            self._addr_bytes.append(b)
            if len(self._addr_bytes) == 2:
                self._addr = ((self._addr_bytes[0] << 8) | self._addr_bytes[1]) % self.size
                self._state = "data"
            return 0
        if st != "data":
            return 0
        self._data += 1
        if self._cmd == RDSR:
            return self.status
        if self._cmd == WRSR:
            if self._data == 1:
                self.status = b
                if self.mode == MODE_RESERVED:
                    self._error(f"{self.name}: WRSR 0x{b:02x} selects the reserved mode", pos)
            return 0
        if self.mode in (MODE_BYTE, MODE_RESERVED) and self._data > 1:
            if self._data == 2:
                self._error(f"{self.name}: {NAMES[self._cmd]} past one byte in byte mode", pos)
            return 0
        if self._past_end and not self._wrapped:
            self._wrapped = True
            self._error(f"{self.name}: sequential {NAMES[self._cmd]} ran past the end of the "
                        f"{self.size // 1024} KiB array (wrapped to 0)", pos)
        addr = self._addr
        self._addr = self._next_addr()
        if self._cmd == READ:
            self.counts["bytes_out"] += 1
            return self.mem[addr]
        self.mem[addr] = b
        return 0


class SRAM23K256(SRAM23K640):
    size = 32768
    name = "23K256"


CHIPS = {"23k640": SRAM23K640, "23k256": SRAM23K256}
