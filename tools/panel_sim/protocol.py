"""Frame codec of the panel link, host side (the device side is lib/panel_link.py).

Frame: 0xA5, type, length (2 bytes LE), payload, checksum = 0xFF - sum(type, length, payload).
Every reply (type | 0x80) starts with the panel's epoch (4 bytes LE) and the number of frames
received since the link's HELLO, the HELLO included (4 bytes LE), then its own data. The epoch
changes whenever the panel may have lost what it was told (a new panel, a new connection or
HELLO, a reset, deep sleep, power loss); the count shows lost frames. The device checks both
on every reply (lib/panel_link.py has the frame table).
"""

MAGIC = 0xA5
T_SPI, T_PIN, T_READ, T_HELLO, T_SYNC, T_MARK, T_FAULT = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
T_XFER = 0x08  # SPI bytes out, the MISO bytes back (a device on the bus that answers)
# An analog input: [pin] in, [pin, value LE 16-bit] back. Same protocol version: the panel
# description (HELLO reply) says `analog=N` when the simulator answers it (N: the buttons' pin).
T_ANALOG = 0x09
# XFER, and the reply's MISO bytes are followed by up to AHEAD more that the SRAM will clock
# out next (a sequential READ under way; none otherwise). The description says `ahead=N`.
T_XFER_AHEAD = 0x0A
AHEAD = 512
T_REPLY = 0x80
T_ERROR = 0x7F
MAX_PAYLOAD = 2048
HELLO = b"defio-panel 2"


class FrameError(Exception):
    """A corrupt frame; `offset` is its position in the stream."""

    def __init__(self, msg, offset):
        super().__init__(f"{msg} at stream offset {offset}")
        self.offset = offset


def checksum(ftype, payload):
    n = len(payload)
    return (0xFF - (ftype + (n & 0xFF) + (n >> 8) + sum(payload))) & 0xFF


# FAULT kinds (payload: kind, then 16-bit LE arguments; "after k" = after k more frames;
# FAULT and MARK frames are never dropped or corrupted and faults never fire at them).
F_CANCEL = 0        # forget every fault not yet fired
F_POWER_LOSS = 1    # after k: the controller loses power (RAM garbage, registers reset)
F_REPLACE = 2       # after k: a new blank panel, and the connection drops
F_DROP = 3          # after k: the next n frames are lost (k, n)
F_CORRUPT = 4       # after k: the next frame arrives corrupt
F_STICK_BUSY = 5    # the next refresh holds BUSY t ms longer (t)
F_DROP_REPLY = 6    # after k: the next reply is lost
F_CORRUPT_REPLY = 7  # after k: the next reply arrives corrupt
F_RECONNECT = 8     # after k: the connection drops (a link reconnect; the panel stays)
F_SCRIBBLE = 9      # now: flip bits of the visible image and RAM, same epoch (a defect no
                    # protocol can see: checks that the soak's image check catches it)
FAULT_NAMES = {F_CANCEL: "cancel", F_SCRIBBLE: "scribble", F_POWER_LOSS: "power_loss",
               F_REPLACE: "replace", F_DROP: "drop",
               F_CORRUPT: "corrupt", F_STICK_BUSY: "stick_busy", F_DROP_REPLY: "drop_reply",
               F_CORRUPT_REPLY: "corrupt_reply", F_RECONNECT: "reconnect"}


def reply(ftype, epoch, received, data=b""):
    """The reply to a request of type `ftype`: the epoch, the frame count, then the data."""
    head = (epoch & 0xFFFFFFFF).to_bytes(4, "little") + (received & 0xFFFFFFFF).to_bytes(
        4, "little")
    return encode(ftype | T_REPLY, head + bytes(data))


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
