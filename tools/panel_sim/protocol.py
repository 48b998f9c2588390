"""Frame codec of the panel link, host side (the device side is lib/panel_link.py).

Frame: 0xA5, type, length (2 bytes LE), payload, checksum = 0xFF - sum(type, length, payload).
"""

MAGIC = 0xA5
T_SPI, T_PIN, T_READ, T_HELLO, T_SYNC = 0x01, 0x02, 0x03, 0x04, 0x05
T_REPLY = 0x80
T_ERROR = 0x7F
MAX_PAYLOAD = 2048
HELLO = b"defio-panel 1"


class FrameError(Exception):
    """A corrupt frame; `offset` is its position in the stream."""

    def __init__(self, msg, offset):
        super().__init__(f"{msg} at stream offset {offset}")
        self.offset = offset


def checksum(ftype, payload):
    n = len(payload)
    return (0xFF - (ftype + (n & 0xFF) + (n >> 8) + sum(payload))) & 0xFF


def encode(ftype, payload=b""):
    n = len(payload)
    return bytes((MAGIC, ftype, n & 0xFF, n >> 8)) + bytes(payload) + bytes(
        (checksum(ftype, payload),))


class Decoder:
    """Feed bytes, get frames; raises FrameError on the first corrupt one."""

    def __init__(self):
        self._buf = bytearray()
        self.offset = 0  # stream offset of _buf[0]

    def feed(self, data):
        self._buf += data
        frames = []
        while len(self._buf) >= 4:
            if self._buf[0] != MAGIC:
                raise FrameError(f"bad magic 0x{self._buf[0]:02x}", self.offset)
            ftype = self._buf[1]
            n = self._buf[2] | (self._buf[3] << 8)
            if n > MAX_PAYLOAD:
                raise FrameError(f"bad length {n}", self.offset)
            if len(self._buf) < n + 5:
                break
            payload = bytes(self._buf[4:4 + n])
            if self._buf[4 + n] != checksum(ftype, payload):
                raise FrameError(f"bad checksum (type 0x{ftype:02x}, length {n})", self.offset)
            frames.append((ftype, payload, self.offset))
            del self._buf[:n + 5]
            self.offset += n + 5
        return frames

    @property
    def partial(self):
        return len(self._buf)
