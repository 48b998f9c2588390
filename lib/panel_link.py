"""The panel link: SPI bytes, pin changes and pin reads as frames to the simulated panel.

Frame: 0xA5, type (1 byte), payload length (2 bytes, little endian), payload, checksum
(1 byte: 0xFF minus the sum of type, length and payload bytes, modulo 256). Types:

  device -> panel                       panel -> device (every reply: epoch, count, data)
  0x01 SPI   payload: MOSI bytes        (no reply)
  0x02 PIN   payload: [pin, level]      (no reply)
  0x03 READ  payload: [pin]             0x83 data: [pin, level]
  0x04 HELLO "defio-panel 2" + nonce    0x84 data: nonce (4 bytes), panel description
  0x05 SYNC  payload: empty             0x85 data: empty, once all before it is handled
  0x06 MARK  round, crc32 (4 + 4 bytes) 0x86 data: crc32 of the visible image and of RAM
  0x07 FAULT kind, arguments            (no reply; the simulator's fault injection)
  0x08 XFER  payload: MOSI bytes        0x88 data: the MISO bytes (as many)
  0x09 ANALOG payload: [pin]            0x89 data: [pin, value (2 bytes LE, 0..65535)]
  0x0A XFER_AHEAD payload: MOSI bytes   0x8A data: the MISO bytes, then up to N more ahead
  0x7F ERROR payload: UTF-8 message     0x7F ERROR (either side), then the sender hangs up

Every reply starts with the panel's epoch (4 bytes LE) and the number of frames the panel
received since this link's HELLO, the HELLO included (4 bytes LE). The epoch changes whenever
the panel may have lost what it was told (a new panel, a new connection or HELLO, a reset,
deep sleep, power loss): `Link.epoch` is the latest, `sync()` asks for it. A count that is
not the number of frames sent means frames were lost on the way: `LinkError`. So whoever keeps
a copy of what the panel holds (defio_epd's shadow) trusts it only while the epoch it saw
after setting the panel up is still the panel's epoch.

The panel description (HELLO reply) names the chip select of the SPI SRAM next to the panel,
`sram=N`: while the device drives that pin low, SPI reads are XFER requests (the SRAM answers
on MISO); otherwise a read returns zeros at once (the panel's MISO is idle). It also says
`analog=N` when the simulator answers ANALOG requests (N: the pin of its button ladder); a
panel without it (an older simulator, same protocol version) gets no ANALOG frame.

`ahead=N`: the SRAM's reads after the first of an instruction (one read, e.g. a pixel's
byte, asks for nothing more) are XFER_AHEAD requests. In a sequential READ (the 23K640's
output does not depend on MOSI once the command and address are in) the reply carries, after
the bytes asked for, up to N bytes the SRAM will clock out next; the following reads take
their bytes from those here (`xfer`), while every byte clocked still goes out (SPI frames: the
panel, whose chip select may be low too, takes them; the SRAM model clocks on). A change of
the SRAM's chip select drops what is left, as does a read longer than what is left (it asks
the panel again); the panel sends nothing ahead in any other instruction or mode. Meanwhile
a pin that rises does not flush the output (a display's chip select, byte by byte): the next
request, the SRAM's deselect or a full buffer does.

Output frames are coalesced in a small buffer and sent when the chip select rises, when a
pin is read, on sync, or when the buffer fills. Every wait has a timeout: a corrupt frame,
lost frames or a vanished peer raise `LinkError` (an OSError) with a message, never hang.
Anything that interrupts a request (an error, KeyboardInterrupt) closes the link: a reply may
still be on its way, so the next use opens a new link (HELLO with a fresh nonce; replies left
over from the old one are skipped). A new link first sends the level of every pin the device
drives: a level change lost with the old link would otherwise leave, say, D/C high, and every
later command would reach the panel as data. While the link writes or waits for a reply, the
scheduler may run a callback (a defio round) that uses the link too: that use is refused with
`LinkError` ("busy"), the callback fails and is retried, and the transfer it interrupted goes
on untouched (its frames would otherwise land inside a frame, or take that request's reply).
`in_use()` says so beforehand: defio_epd checks it before a round sends anything, so such a
round is only put off, and the panel keeps what it held.

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
T_MARK = const(0x06)
T_FAULT = const(0x07)
T_XFER = const(0x08)
T_ANALOG = const(0x09)
T_XFER_AHEAD = const(0x0A)
T_REPLY = const(0x80)
T_ERROR = const(0x7F)
MAX_PAYLOAD = const(2048)
_OUT_LIMIT = const(4096)
HELLO = b"defio-panel 2"
_REPLY_HEAD = const(8)  # epoch, frames received
_nonces = [0]
_levels = {}  # pin -> the level the device last drove it to (every link re-sends them)
_unsent = set()  # pins whose level is not on the wire yet


class LinkError(OSError):
    """The panel link failed: corrupt frame, vanished peer, timeout or an error report."""


class NoLink(LinkError):
    """This board has no panel link at all (no DEFIO_PANEL, no second UART): a real board."""


def checksum(ftype, payload):
    n = len(payload)
    return (0xFF - (ftype + (n & 0xFF) + (n >> 8) + sum(payload))) & 0xFF


def encode(ftype, payload=b""):
    n = len(payload)
    head = bytes((MAGIC, ftype, n & 0xFF, n >> 8))
    return head + bytes(payload) + bytes((checksum(ftype, payload),))


_EAGAIN = const(11)
_EINPROGRESS = const(115)


class SocketTransport:
    """A TCP connection to the simulator (the Unix port).

    The socket is non-blocking and every wait is a loop on our own deadline with
    time.sleep_ms(1): a socket timeout (SO_RCVTIMEO) starts again whenever a signal
    interrupts the call (defio's timer sends one per round), so under a stream of rounds it
    would never expire."""

    def __init__(self, addr, connect_timeout_ms=5000):
        import select
        import socket

        host, _, port = addr.rpartition(":")
        self.name = "tcp " + addr
        self.fresh = True  # a new connection: nothing from an earlier link can arrive
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ok = False
        try:
            self._sock.setblocking(False)
            try:
                self._sock.connect(socket.getaddrinfo(host, int(port))[0][-1])
            except OSError as e:
                if e.errno != _EINPROGRESS:
                    raise
            poller = select.poll()
            poller.register(self._sock, select.POLLOUT)
            deadline = time.ticks_add(time.ticks_ms(), connect_timeout_ms)
            while True:
                ready = poller.poll(0)
                if ready:
                    if ready[0][1] & (select.POLLERR | select.POLLHUP):
                        raise OSError("connection refused")
                    break
                if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                    raise OSError(f"no answer within {connect_timeout_ms} ms")
                time.sleep_ms(1)
            self._sock.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY
            self._readable = select.poll()  # waits for a reply: returns as soon as it comes
            self._readable.register(self._sock, select.POLLIN)
            ok = True
        except OSError as e:
            raise LinkError(f"panel link: cannot connect to {addr}: {e}")
        finally:
            if not ok:
                self._sock.close()

    def write(self, buf, timeout_ms=5000):
        mv = memoryview(buf)
        deadline = time.ticks_add(time.ticks_ms(), timeout_ms)
        while mv:
            try:
                n = self._sock.send(mv)
            except OSError as e:
                if e.errno != _EAGAIN:
                    raise LinkError(f"panel link: send failed ({e!r}): the panel is gone")
                if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                    raise LinkError(f"panel link: the panel took nothing for {timeout_ms} ms")
                time.sleep_ms(1)
                continue
            mv = mv[n:]

    def read(self, n, timeout_ms):
        out = b""
        deadline = time.ticks_add(time.ticks_ms(), timeout_ms)
        while len(out) < n:
            try:
                chunk = self._sock.recv(n - len(out))
            except OSError as e:
                if e.errno != _EAGAIN:
                    raise LinkError(f"panel link: receive failed ({e!r}): the panel is gone")
                if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                    raise LinkError(f"panel link: no reply within {timeout_ms} ms")
                self._readable.poll(1)  # at most 1 ms, as the deadline loop needs
                continue
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
        self.fresh = False  # replies to an earlier link may still arrive
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
    try:
        from machine import UART  # noqa: F401
    except ImportError:  # the Unix port without DEFIO_PANEL
        raise NoLink("panel link: none here (DEFIO_PANEL is not set and the port has no "
                     "machine.UART)")
    return UartTransport()


class Link:
    """Frames over a transport; counts what it sends; checks every reply."""

    def __init__(self, transport, reply_timeout_ms=5000):
        self.transport = transport
        self.reply_timeout_ms = reply_timeout_ms
        self._out = bytearray()
        self.spi_bytes = 0
        self.frames = 0
        self.sent = 0  # frames since (and with) the HELLO: what every reply's count must be
        self.epoch = None
        self.panel = None
        self.closed = False
        self.skipped = 0  # stale frames skipped while waiting for the HELLO reply
        self._busy = False  # a transfer is under way (see _free)
        _nonces[0] += 1
        nonce = (time.ticks_us() + _nonces[0] * 0x9E3779B1) & 0xFFFFFFFF
        self.nonce = nonce.to_bytes(4, "little")
        self.panel = self._hello()
        self.sram_pin = None
        self.analog = False  # the panel answers ANALOG requests
        self.ahead = 0  # the panel sends up to this many SRAM bytes ahead (XFER_AHEAD)
        self._ahead = b""  # the bytes the SRAM will clock out next, sent ahead
        self._at = 0  # ... of which these are clocked out already
        self.ahead_bytes = 0  # bytes read from them
        self._reads = 0  # SRAM reads since its chip select fell
        for word in self.panel.split():
            if word.startswith("sram="):
                self.sram_pin = int(word[5:])
            elif word.startswith("analog="):
                self.analog = True
            elif word.startswith("ahead="):
                self.ahead = int(word[6:])
        # The pins keep the levels the device drives, whatever happened to the link: tell the
        # panel again (frames lost with an earlier link may have carried a change).
        _unsent.update(_levels)
        self._queue(T_PIN, None)

    def _check(self):
        if self.closed:
            raise LinkError("panel link: closed after an earlier error")

    def _free(self):
        """Refuse a use of the link from inside one of its own transfers: a callback (a defio
        round) that the scheduler ran while this link waited for the transport. Its frames
        would land in the middle of a frame or take the waiting request's reply."""
        if self._busy:
            raise LinkError("panel link: busy (a callback ran during a link transfer); "
                            "try again")

    def _queue(self, ftype, payload, own=False):
        if not own:
            self._free()
        self._check()
        if _unsent and ftype != T_HELLO:  # levels set while the link was busy or closed
            pins = sorted(_unsent)
            _unsent.clear()
            for pin in pins:
                self._append(T_PIN, bytes((pin, _levels[pin])), own)
        self._append(ftype, payload, own)

    def _append(self, ftype, payload, own):
        if payload is None:  # pin(): its level went out with the unsent ones
            return
        self._out += encode(ftype, payload)
        self.frames += 1
        self.sent += 1
        if len(self._out) >= _OUT_LIMIT:
            if own:
                self._write_out()
            else:
                self.send_now()

    def send_now(self):
        if self._out:
            self._free()
            self._busy = True
            try:
                self._write_out()
            finally:
                self._busy = False

    def _write_out(self):
        out = self._out
        self._out = bytearray()
        try:
            self.transport.write(out)
        except LinkError:
            self.fail()
            raise

    def fail(self):
        self.closed = True
        self._out = bytearray()
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

    def _read_frame(self, t, resync=False):
        """One frame: (type, payload). resync: skip bytes and frames that do not check out
        (what a UART may hold from before this link) instead of failing."""
        while True:
            head = self.transport.read(4, t)
            while resync and head[0] != MAGIC:
                head = head[1:] + self.transport.read(1, t)
            n = head[2] | (head[3] << 8)
            if n > MAX_PAYLOAD:
                if resync:
                    self.skipped += 1
                    continue
                self._corrupt(f"length {n}")
            body = self.transport.read(n + 1, t)
            payload = body[:n]
            if body[n] != checksum(head[1], payload):
                if resync:
                    self.skipped += 1
                    continue
                self._corrupt(f"bad checksum, type 0x{head[1]:02x}")
            return head[1], payload

    def _reply(self, rtype, payload):
        """Check a reply's head (epoch, count); returns its data."""
        if rtype == T_ERROR:
            self.fail()
            raise LinkError("panel link: the panel reported: " + bytes(payload).decode())
        if len(payload) < _REPLY_HEAD:
            self._corrupt(f"short reply, type 0x{rtype:02x}")
        got = int.from_bytes(payload[4:8], "little")
        if got != self.sent & 0xFFFFFFFF:
            self.fail()
            raise LinkError(f"panel link: frames lost on the way to the panel (it got {got} "
                            f"of {self.sent} since the link opened); the panel state is unknown")
        self.epoch = int.from_bytes(payload[:4], "little")
        return payload[_REPLY_HEAD:]

    def _hello(self):
        """Open the link: HELLO with a nonce; the reply with that nonce ends the wait."""
        ok = False
        self._busy = True
        try:
            self.sent = 0
            self._queue(T_HELLO, HELLO + self.nonce, True)
            self._write_out()
            t0 = time.ticks_ms()
            while True:
                left = self.reply_timeout_ms - time.ticks_diff(time.ticks_ms(), t0)
                if left <= 0:
                    raise LinkError(f"panel link: no HELLO reply within "
                                    f"{self.reply_timeout_ms} ms on {self.transport.name} "
                                    f"({self.skipped} stale or corrupt frames skipped)")
                rtype, payload = self._read_frame(left, resync=not self.transport.fresh)
                if rtype == T_HELLO | T_REPLY and payload[8:12] == self.nonce:
                    data = self._reply(rtype, payload)
                    ok = True
                    return bytes(data[4:]).decode()
                if self.transport.fresh:  # nothing else can come first on a new connection
                    if rtype == T_ERROR:
                        self._reply(rtype, payload)
                    raise LinkError(f"panel link: unexpected reply type 0x{rtype:02x} to "
                                    "HELLO")
                self.skipped += 1  # a reply or error meant for an earlier link
        finally:
            self._busy = False
            if not ok:
                self.fail()

    def _request(self, ftype, payload):
        self._free()  # (refused before anything is sent: the link stays good)
        ok = False
        self._busy = True
        try:
            self._queue(ftype, payload, True)
            self._write_out()
            rtype, reply = self._read_frame(self.reply_timeout_ms)
            data = self._reply(rtype, reply)
            if rtype != (ftype | T_REPLY):
                raise LinkError(f"panel link: unexpected reply type 0x{rtype:02x} "
                                f"to 0x{ftype:02x}")
            ok = True
            return data
        finally:
            self._busy = False
            if not ok:  # an error or an interrupt: a reply may still come, the link is spent
                self.fail()

    def spi(self, buf):
        mv = memoryview(buf)
        self._free()
        self.spi_bytes += len(mv)
        for i in range(0, len(mv), MAX_PAYLOAD):
            self._queue(T_SPI, mv[i:i + MAX_PAYLOAD])
        if self._ahead:  # the selected SRAM clocks these out too
            self._at += len(mv)
            if self._at >= len(self._ahead):
                self._drop_ahead()

    def _drop_ahead(self):
        self._ahead = b""
        self._at = 0

    def miso_driven(self):
        """True while a device that answers on MISO (the SRAM) is selected."""
        return self.sram_pin is not None and _levels.get(self.sram_pin, 1) == 0

    def xfer(self, buf):
        """SPI bytes out; returns the bytes that came back on MISO (those the panel sent
        ahead, while they last: the bytes out go as SPI frames)."""
        mv = memoryview(buf)
        n = len(mv)
        if n and self._at + n <= len(self._ahead):
            got = self._ahead[self._at:self._at + n]
            self.spi(mv)  # (moves _at on)
            self.ahead_bytes += n
            return got
        self._drop_ahead()
        self.spi_bytes += n
        out = b""
        step = MAX_PAYLOAD - _REPLY_HEAD
        # Ahead from the second read of an instruction: one read (a pixel's byte) takes one.
        self._reads += 1
        for i in range(0, n, step):
            chunk = mv[i:i + step]
            if self.ahead and self._reads > 1 and i + step >= n:  # the rest comes ahead
                data = self._request(T_XFER_AHEAD, chunk)
                out += data[:len(chunk)]
                if len(data) > len(chunk):
                    self._ahead = bytes(data[len(chunk):])
            else:
                out += self._request(T_XFER, chunk)
        return out

    def pin(self, pin, level, flush=False):
        """Drive a pin. The level is the device's from now on, even if this link refuses the
        frame (busy, closed): the next frame of any link sends it first."""
        if pin == self.sram_pin and _levels.get(pin, 1) != (1 if level else 0):
            self._drop_ahead()  # the SRAM's instruction ends (or a new one starts)
            self._reads = 0
        _levels[pin] = 1 if level else 0
        _unsent.add(pin)
        self._queue(T_PIN, None)
        if flush and not self._ahead:  # (a read from bytes sent ahead: no need to hurry)
            self.send_now()

    def read_pin(self, pin):
        return self._request(T_READ, bytes((pin,)))[1]

    def read_analog(self, pin):
        """The pin's analog level, 0..65535 (the simulated board's ADC)."""
        if not self.analog:
            raise LinkError("panel link: the panel has no analog inputs (its description "
                            "names no analog=): an older simulator")
        data = self._request(T_ANALOG, bytes((pin,)))
        return data[1] | (data[2] << 8)

    def sync(self):
        """Returns the panel's epoch once the panel has handled everything sent so far."""
        self._request(T_SYNC, b"")
        return self.epoch

    def mark(self, label, crc):
        """Ask what the panel shows: label and crc32 of the expected planes go into the
        simulator's log; returns (crc32 of the visible planes, crc32 of the RAM planes)."""
        data = self._request(T_MARK, label.to_bytes(4, "little") + crc.to_bytes(4, "little"))
        return int.from_bytes(data[:4], "little"), int.from_bytes(data[4:8], "little")

    def fault(self, kind, *args):
        """Fault injection (the simulator's FAULT frame): kind and 16-bit arguments."""
        payload = bytearray((kind,))
        for a in args:
            payload += a.to_bytes(2, "little")
        self._queue(T_FAULT, payload)
        self.send_now()

    def close(self):
        if not self.closed:
            self.send_now()
            self.fail()


_link = None
reply_timeout_ms = 5000  # for the links get() opens


_opening = [False]


def in_use():
    """True while the app is inside a transfer on the link (or opening it): a callback that
    runs now must not use the link (it would get LinkError "busy")."""
    return _opening[0] or (_link is not None and _link._busy)


def get():
    """The board's panel link, connected on first use (and again after an error)."""
    global _link
    if _link is None or _link.closed:
        if _opening[0]:  # a callback that ran while the link was being opened
            raise LinkError("panel link: busy (being opened); try again")
        _opening[0] = True
        try:
            _link = Link(default_transport(), reply_timeout_ms)
        finally:
            _opening[0] = False
    return _link
