"""The panel link: SPI bytes, pin changes and pin reads as frames to the simulated panel.

Frame: 0xA5, type (1 byte), payload length (2 bytes, little endian), payload, checksum
(1 byte: 0xFF minus the sum of type, length and payload bytes, modulo 256). Types:

  device -> panel                       panel -> device
  0x01 SPI   payload: MOSI bytes        (no reply)
  0x02 PIN   payload: [pin, level]      (no reply)
  0x03 READ  payload: [pin]             0x83 payload: [pin, level]
  0x04 HELLO payload: b"defio-panel 1"  0x84 payload: panel description
  0x05 SYNC  payload: empty             0x85 payload: empty, once all before it is handled
  0x7F ERROR payload: UTF-8 message     0x7F ERROR (either side), then the sender hangs up

Output frames are coalesced in a small buffer and sent when the chip select rises, when a
pin is read, on sync, or when the buffer fills. Every wait has a timeout: a corrupt frame
or a vanished peer raises `LinkError` (an OSError) with a message, never hangs.

The transport is a small class with `write(buf)`, `read(n, timeout_ms)` and `close()`:
`SocketTransport` (Unix port: address from the DEFIO_PANEL env var, "host:port") and
`UartTransport` (firmware: `machine.UART(1)`, wired by QEMU to a socket on the host).
"""

import time

from micropython import const

MAGIC = const(0xA5)
T_SPI = const(0x01)
T_PIN = const(0x02)
T_READ = const(0x03)
T_HELLO = const(0x04)
T_SYNC = const(0x05)
T_REPLY = const(0x80)
T_ERROR = const(0x7F)
MAX_PAYLOAD = const(2048)
_OUT_LIMIT = const(4096)
HELLO = b"defio-panel 1"


class LinkError(OSError):
    """The panel link failed: corrupt frame, vanished peer, timeout or an error report."""


def checksum(ftype, payload):
    n = len(payload)
    return (0xFF - (ftype + (n & 0xFF) + (n >> 8) + sum(payload))) & 0xFF


def encode(ftype, payload=b""):
    n = len(payload)
    head = bytes((MAGIC, ftype, n & 0xFF, n >> 8))
    return head + bytes(payload) + bytes((checksum(ftype, payload),))


class SocketTransport:
    """A TCP connection to the simulator (the Unix port)."""

    def __init__(self, addr, connect_timeout_ms=5000):
        import socket

        host, _, port = addr.rpartition(":")
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.settimeout(connect_timeout_ms / 1000)
        try:
            self._sock.connect(socket.getaddrinfo(host, int(port))[0][-1])
            self._sock.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY
        except OSError as e:
            self._sock.close()
            raise LinkError(f"panel link: cannot connect to {addr}: {e!r}")
        self.name = "tcp " + addr

    def write(self, buf):
        self._sock.settimeout(5)
        mv = memoryview(buf)
        while mv:
            try:
                n = self._sock.send(mv)
            except OSError as e:
                raise LinkError(f"panel link: send failed ({e!r}): the panel is gone")
            mv = mv[n:]

    def read(self, n, timeout_ms):
        self._sock.settimeout(timeout_ms / 1000)
        out = b""
        while len(out) < n:
            try:
                chunk = self._sock.recv(n - len(out))
            except OSError as e:
                raise LinkError(f"panel link: no reply within {timeout_ms} ms ({e!r})")
            if not chunk:
                raise LinkError("panel link: the panel closed the connection")
            out += chunk
        return out

    def close(self):
        self._sock.close()


class UartTransport:
    """machine.UART(1): the board's second serial port, a socket on the QEMU host."""

    def __init__(self, uart_id=1, baudrate=115200):
        import machine

        self._uart = machine.UART(uart_id, baudrate, timeout=20, timeout_char=10)
        self.name = f"uart{uart_id}"
        while self._uart.any():  # bytes left over from an earlier session
            self._uart.read()

    def write(self, buf):
        self._uart.write(buf)

    def read(self, n, timeout_ms):
        out = b""
        deadline = time.ticks_add(time.ticks_ms(), timeout_ms)
        while len(out) < n:
            chunk = self._uart.read(n - len(out))
            if chunk:
                out += chunk
            elif time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                raise LinkError(f"panel link: no reply within {timeout_ms} ms on {self.name}")
            else:
                time.sleep_ms(1)
        return out

    def close(self):
        pass


def default_transport():
    """DEFIO_PANEL=host:port (Unix port) or the board's second UART."""
    try:
        import os

        addr = os.getenv("DEFIO_PANEL")
    except (ImportError, AttributeError):
        addr = None
    if addr:
        return SocketTransport(addr)
    return UartTransport()


class Link:
    """Frames over a transport; counts what it sends."""

    def __init__(self, transport, reply_timeout_ms=5000):
        self.transport = transport
        self.reply_timeout_ms = reply_timeout_ms
        self._out = bytearray()
        self.spi_bytes = 0
        self.frames = 0
        self.panel = None
        self.closed = False
        self.panel = self._request(T_HELLO, HELLO)

    def _check(self):
        if self.closed:
            raise LinkError("panel link: closed after an earlier error")

    def _queue(self, ftype, payload):
        self._check()
        self._out += encode(ftype, payload)
        self.frames += 1
        if len(self._out) >= _OUT_LIMIT:
            self.send_now()

    def send_now(self):
        if self._out:
            out = self._out
            self._out = bytearray()
            try:
                self.transport.write(out)
            except LinkError:
                self.fail()
                raise

    def fail(self):
        self.closed = True
        self.transport.close()

    def _corrupt(self, what):
        """Tell the panel (best effort), close the link, raise."""
        msg = "corrupt frame from the panel (" + what + ")"
        try:
            self.transport.write(encode(T_ERROR, msg.encode()))
        except OSError:
            pass
        self.fail()
        raise LinkError("panel link: " + msg)

    def _read_frame(self):
        t = self.reply_timeout_ms
        head = self.transport.read(4, t)
        if head[0] != MAGIC:
            self._corrupt(f"bad magic 0x{head[0]:02x}")
        n = head[2] | (head[3] << 8)
        if n > MAX_PAYLOAD:
            self._corrupt(f"length {n}")
        body = self.transport.read(n + 1, t)
        payload = body[:n]
        if body[n] != checksum(head[1], payload):
            self._corrupt(f"bad checksum, type 0x{head[1]:02x}")
        if head[1] == T_ERROR:
            self.fail()
            raise LinkError("panel link: the panel reported: " + payload.decode())
        return head[1], payload

    def _request(self, ftype, payload):
        try:
            self._queue(ftype, payload)
            self.send_now()
            rtype, reply = self._read_frame()
        except LinkError:
            self.fail()
            raise
        if rtype != (ftype | T_REPLY):
            self.fail()
            raise LinkError(f"panel link: unexpected reply type 0x{rtype:02x} to 0x{ftype:02x}")
        return reply

    def spi(self, buf):
        mv = memoryview(buf)
        self.spi_bytes += len(mv)
        for i in range(0, len(mv), MAX_PAYLOAD):
            self._queue(T_SPI, mv[i:i + MAX_PAYLOAD])

    def pin(self, pin, level, flush=False):
        self._queue(T_PIN, bytes((pin, 1 if level else 0)))
        if flush:
            self.send_now()

    def read_pin(self, pin):
        return self._request(T_READ, bytes((pin,)))[1]

    def sync(self):
        """Returns once the panel has handled everything sent so far."""
        self._request(T_SYNC, b"")

    def close(self):
        if not self.closed:
            self.send_now()
            self.fail()


_link = None


def get():
    """The board's panel link, connected on first use."""
    global _link
    if _link is None or _link.closed:
        _link = Link(default_transport())
    return _link
