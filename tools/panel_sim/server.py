"""The simulator's link end: a TCP server speaking the panel-link frames to one device, or
(connect=HOST:PORT) a TCP client of a socket that carries the device's UART (QEMU's
`-serial tcp:...,server=on`).

Pins are link pin numbers; `wiring` says which panel signal each one is (default: the
EPD FeatherWing layout of lib/board.py: cs=9, dc=10, rst=5, busy=7, and sram=6, the chip select
of the FeatherWing's SPI SRAM, a 23K640 that shares the bus: sram_23k640.py; XFER frames get
its MISO bytes back; XFER_AHEAD frames also the bytes a sequential READ will clock out next,
up to protocol.AHEAD: the device clocks those out itself). Connections are served
one after another; the panel (its RAM and image) outlives them, as a wired panel would, but
each new connection and each HELLO starts a new epoch (frames may have been lost between).

Every reply carries the epoch and the count of frames received since the HELLO
(protocol.reply). Fault injection, from the device (FAULT frames: the soak) or from a test
(`inject`): power loss, a replaced panel, dropped or corrupt frames and replies, stuck BUSY,
a dropped connection. MARK frames log what the panel shows against what the device expects.

Outputs: panel.png in the app's orientation (`rotation`, the app's display.rotation; the
controller renders its rotation-0 frame) and panel.json (counters, `panel` key, `native_size`,
`rotation`, `times`: the chip's modelled times at the time scale and their source, and
protocol errors summarised: `error_count`, `error_summary` per kind with the
first few; the log shows the first few link errors of each kind, the rest are counted).

Analog inputs (ANALOG frames): `buttons_pin` (A3) is the shield's button ladder, pressed as
`buttons` says (a schedule from the device's first frame: buttons.py) or, with `presses` (a
buttons.Presses), pressed until the app has acted on each press; any other pin reads
full scale while the device drives it high, else 0. `sram` picks the SRAM chip model
(sram_23k640.CHIPS: the 8 KiB 23K640 by default, or the 32 KiB 23K256).
"""

import json
import pathlib
import re
import socket
import sys
import threading
import time
import zlib

from . import buttons as B
from . import controller_ssd1680 as ssd
from . import protocol as P
from .controller_jd79 import JD79661, JD79667
from .controller_uc81xx import PANELS as UC81XX_PANELS

CONTROLLERS = {
    "ssd1608": ssd.SSD1608, "ssd1675": ssd.SSD1675, "ssd1675b": ssd.SSD1675B,
    "ssd1680": ssd.SSD1680, "ssd1680_legacy": ssd.SSD1680Legacy, "ssd1680b": ssd.SSD1680B,
    "ssd1680_grayscale4": ssd.SSD1680Gray4, "ssd1681": ssd.SSD1681,
    "ssd1681_grayscale4": ssd.SSD1681Gray4, "ssd1683": ssd.SSD1683,
    "ssd1683_grayscale4": ssd.SSD1683Gray4,
    "jd79661": JD79661, "jd79667": JD79667,
}
CONTROLLERS.update(UC81XX_PANELS)  # il0373 ... uc8253_tricolor: the UC81xx family

DEFAULT_WIRING = {"cs": 9, "dc": 10, "rst": 5, "busy": 7, "sram": 6}


FIRST_FEW = 3  # errors kept (and logged) per kind; the rest are only counted


def error_kind(msg):
    """What an error message says without its numbers: offsets, bytes, counts."""
    msg = re.sub(r"\s*\(?(at )?stream offset \d+\)?", "", msg)
    return re.sub(r"0x[0-9a-fA-F]+|\d+", "#", msg).strip()


def summarise_errors(errors, few=FIRST_FEW):
    """{kind: {"count": n, "first": [the first `few` messages]}} in order of first sight."""
    out = {}
    for msg in errors:
        entry = out.setdefault(error_kind(msg), {"count": 0, "first": []})
        entry["count"] += 1
        if len(entry["first"]) < few:
            entry["first"].append(msg)
    return out


# display.rotation -> the turn that takes the rotation-0 picture to the app's (adafruit_framebuf:
# rotation 1 draws logical (x, y) at native (width - 1 - y, x): a quarter turn anticlockwise).
ROTATE = {1: "ROTATE_90", 2: "ROTATE_180", 3: "ROTATE_270"}


class UnknownPanel(ValueError):
    """A panel key that is not one of CONTROLLERS (the message names them)."""

    def __init__(self, key):
        super().__init__(f"unknown panel {key!r}: one of {' '.join(sorted(CONTROLLERS))}")
        self.key = key


CONTROL = (P.T_FAULT, P.T_MARK)  # test and soak control: never dropped, corrupted or hit


def parse_wiring(text):
    wiring = dict(DEFAULT_WIRING)
    for item in filter(None, text.split(",")):
        name, _, pin = item.partition("=")
        if name not in wiring:
            raise ValueError(f"unknown panel signal {name!r} (one of {sorted(wiring)})")
        wiring[name] = int(pin)
    return wiring


class PanelServer:
    def __init__(self, listen="127.0.0.1:0", out=None, time_scale=1.0, wiring=None,
                 controller="ssd1680", size=None, png_each=False, log=None, connect=None,
                 rotation=0, panel_key=None, buttons=None, buttons_pin=B.DEFAULT_PIN,
                 sram="23k640", presses=None):
        host, _, port = listen.rpartition(":")
        self.connect = connect
        if isinstance(controller, str):
            if controller not in CONTROLLERS:
                raise UnknownPanel(controller)
            panel_key = controller
            kwargs = {"width": size[0], "height": size[1]} if size else {}
            # The chip's own row of times (controller_base.Times), scaled.
            controller = CONTROLLERS[controller](time_scale=time_scale, **kwargs)
        self.controller = controller
        self.controller.on_refresh = self._refreshed
        from .sram_23k640 import CHIPS  # (here: the imports above are the panels' rows)

        if sram not in CHIPS:
            raise ValueError(f"unknown SRAM chip {sram!r}: one of {' '.join(sorted(CHIPS))}")
        self.sram = CHIPS[sram]()
        self.buttons = list(buttons or [])  # [(button, start s, length s)] from the first frame
        self.buttons_pin = buttons_pin
        self.presses = presses  # presses that wait for the app's refreshes (or None)
        self.analog_reads = 0
        self.ahead_bytes = 0  # SRAM bytes sent ahead (XFER_AHEAD replies)
        self.rotation = rotation % 4
        self.panel_key = panel_key or next(
            (k for k, v in CONTROLLERS.items() if isinstance(controller, v)), controller.name)
        self.wiring = wiring or dict(DEFAULT_WIRING)
        self.out = pathlib.Path(out) if out else None
        self.png_each = png_each
        self.log = log or (lambda msg: print(f"panel_sim: {msg}", file=sys.stderr, flush=True))
        self.levels = {}
        self.link_errors = []
        self._link_error_times = []  # time.monotonic() of each link error
        self._link_kinds = {}  # kind -> link errors of that kind so far (the log shows a few)
        self.frames = 0
        self.connections = 0
        self.sessions_done = 0
        self.corrupt_next_reply = False  # tests: spoil the checksum of the next reply
        self.rx = 0  # frames received since the connection or its last HELLO (HELLO included)
        self.frames_in = 0  # frames decoded, all connections: fault positions count these
        self._faults = []  # [frame index, kind, args], fired before that frame is handled
        self._drop = 0  # frames still to lose
        self._drop_replies = 0
        self._stick_ms = 0
        self.faults_fired = {}
        self.replaced = 0
        self._retired = {}  # counters of replaced panels
        self.marks = 0
        self.bad_marks = []  # marks whose visible image (or RAM) was not the expected one
        self.mark_log = []
        self.first_frame_t = None
        self.refresh_log = []
        self._lock = threading.RLock()  # fault injection may run inside a frame handler
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if connect:
            self.address = connect
        else:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind((host, int(port)))
            self._sock.listen(1)
            self.address = "{}:{}".format(*self._sock.getsockname())
        self._stop = threading.Event()
        self._conn = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        if self.out:
            self.out.mkdir(parents=True, exist_ok=True)

    # -- lifecycle --------------------------------------------------------------------
    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._sock.close()
        if self._conn:
            self._conn.close()
        self._thread.join(timeout=5)
        self.write_outputs()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_idle(self, timeout=30):
        """Wait until BUSY is low (the last refresh finished)."""
        deadline = time.monotonic() + timeout
        while self.controller.busy() and not self.controller.busy_stuck:
            if time.monotonic() > deadline:
                raise TimeoutError("panel_sim: still busy")
            time.sleep(0.01)

    def wait_disconnected(self, timeout=10):
        """Wait until every device connection has ended (all its frames handled)."""
        deadline = time.monotonic() + timeout
        while self.sessions_done < self.connections and self._thread.is_alive():
            if time.monotonic() > deadline:
                raise TimeoutError("panel_sim: the device is still connected")
            time.sleep(0.005)

    # -- serving ----------------------------------------------------------------------
    def _serve(self):
        if self.connect:
            self._serve_client()
            return
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._serve_connection(conn)

    def _serve_client(self):
        """Connect to the device's UART socket; reconnect if it closes, until stop()."""
        host, _, port = self.connect.rpartition(":")
        while not self._stop.is_set():
            try:
                conn = socket.create_connection((host, int(port)), timeout=1)
            except OSError:
                time.sleep(0.05)
                continue
            self._serve_connection(conn)

    def _serve_connection(self, conn):
        """One device connection, from accept/connect to close."""
        self._conn = conn
        self.connections += 1
        with self._lock:
            self.rx = 0
            self.controller.state_lost("new connection")
        try:
            self._session(conn)
        finally:
            conn.close()
            self._conn = None
            self.sessions_done += 1

    def _session(self, conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        dec = P.Decoder()
        conn.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError as e:
                if not self._stop.is_set():  # stop() closes the connection under recv
                    self._link_error(f"connection error: {e}")
                return
            if not data:
                if dec.partial:
                    self._link_error(f"the device vanished mid-frame at stream offset "
                                     f"{dec.offset} ({dec.partial} bytes of a frame)")
                return
            try:
                frames = dec.feed(data)
            except P.FrameError as e:
                self._link_error(f"corrupt frame from the device: {e}")
                self._hang_up_with(conn, P.encode(P.T_ERROR, f"corrupt frame: {e}".encode()))
                return
            for ftype, payload, pos in frames:
                action = self._fire_faults(ftype)
                if action == "hang up":
                    return  # the rest of what came is lost with the connection
                if action == "corrupt":
                    self._link_error(f"corrupt frame from the device: bad checksum (type "
                                     f"0x{ftype:02x}, injected) at stream offset {pos}")
                    self._hang_up_with(conn, P.encode(P.T_ERROR, b"corrupt frame: bad "
                                                      b"checksum (injected)"))
                    return
                if self._drop and ftype not in CONTROL:
                    self._drop -= 1
                    continue
                reply = self._handle(ftype, payload, pos)
                if reply is not None and self._drop_replies:
                    self._drop_replies -= 1
                    continue
                if reply is not None and self.corrupt_next_reply:  # a test hook and a fault
                    self.corrupt_next_reply = False
                    reply = reply[:-1] + bytes(((reply[-1] + 1) & 0xFF,))
                if reply is not None:
                    try:
                        conn.sendall(reply)
                    except OSError as e:
                        self._link_error(f"the device vanished: {e}")
                        return

    def _hang_up_with(self, conn, frame):
        """Send a last frame before the connection closes."""
        try:
            conn.sendall(frame)
            if self.connect:
                # Linger: a UART behind a socket (QEMU) may drop what it has not passed to
                # the device yet when the connection closes.
                time.sleep(0.5)
        except OSError:
            pass

    def _link_error(self, msg):
        self.link_errors.append(msg)
        self._link_error_times.append(time.monotonic())
        kind = error_kind(msg)
        seen = self._link_kinds[kind] = self._link_kinds.get(kind, 0) + 1
        if seen <= FIRST_FEW:
            self.log(msg)
        elif seen == FIRST_FEW + 1:
            self.log(f"(more of this kind are only counted: {kind})")

    def forgive_hangups(self, since):
        """The device was stopped on purpose at `since` (time.monotonic()), e.g. an endless app
        at its --stop-after: a connection it then reset or left mid-frame (a request under way)
        is the stop, not a protocol error. Returns how many errors that took back."""
        hangup = ("connection error", "the device vanished")
        with self._lock:
            keep = [(m, t) for m, t in zip(self.link_errors, self._link_error_times)
                    if t < since or not m.startswith(hangup)]
            taken = len(self.link_errors) - len(keep)
            self.link_errors = [m for m, _ in keep]
            self._link_error_times = [t for _, t in keep]
        return taken

    def _handle(self, ftype, payload, pos):
        with self._lock:
            self.frames += 1
            self.rx = 1 if ftype == P.T_HELLO else self.rx + 1
            if self.first_frame_t is None:
                self.first_frame_t = time.monotonic()
            c = self.controller
            if ftype in (P.T_SPI, P.T_XFER, P.T_XFER_AHEAD):
                # Every device whose chip select is low sees the bytes; only the SRAM answers.
                if not self.levels.get(self.wiring["cs"], 1):
                    c.spi(payload, self.levels.get(self.wiring["dc"], 0), pos + 4)
                miso = None
                if not self.levels.get(self.wiring["sram"], 1):
                    miso = self.sram.transfer(payload, pos + 4)
                if ftype == P.T_SPI:
                    return None
                miso = miso or bytes(len(payload))
                if ftype == P.T_XFER_AHEAD and not self.levels.get(self.wiring["sram"], 1):
                    room = P.MAX_PAYLOAD - 8 - len(miso)  # the reply's head: 8 bytes
                    ahead = self.sram.ahead(min(P.AHEAD, room))
                    self.ahead_bytes += len(ahead)
                    miso += ahead
                return P.reply(ftype, c.epoch, self.rx, miso)
            if ftype == P.T_PIN and len(payload) == 2:
                pin, level = payload
                old = self.levels.get(pin, 1)
                self.levels[pin] = level
                if pin == self.wiring["rst"] and old == 0 and level == 1:
                    c.hardware_reset()
                if pin == self.wiring["sram"] and old != level:
                    if level:
                        self.sram.deselect()
                    else:
                        self.sram.select()
                return None
            if ftype == P.T_READ and len(payload) == 1:
                pin = payload[0]
                level = c.busy_level() if pin == self.wiring["busy"] else self.levels.get(pin, 0)
                return P.reply(ftype, c.epoch, self.rx, bytes((pin, level)))
            if ftype == P.T_ANALOG and len(payload) == 1:
                pin = payload[0]
                self.analog_reads += 1
                if pin == self.buttons_pin and self.presses is not None:
                    value = self.presses.read(c.busy())
                elif pin == self.buttons_pin:
                    value = B.level(self.buttons, time.monotonic() - self.first_frame_t)
                else:
                    value = B.FULL if self.levels.get(pin, 0) else 0
                return P.reply(ftype, c.epoch, self.rx, bytes((pin, value & 0xFF, value >> 8)))
            if ftype == P.T_HELLO:
                if payload[:len(P.HELLO)] != P.HELLO or len(payload) != len(P.HELLO) + 4:
                    self._link_error(f"unknown hello {payload!r} at stream offset {pos}")
                c.state_lost("hello")
                return P.reply(ftype, c.epoch, self.rx, payload[len(P.HELLO):] +
                               f"{c.name} {c.width}x{c.height} sram={self.wiring['sram']} "
                               f"analog={self.buttons_pin} ahead={P.AHEAD}".encode())
            if ftype == P.T_SYNC:
                return P.reply(ftype, c.epoch, self.rx)
            if ftype == P.T_MARK and len(payload) == 8:
                return P.reply(ftype, c.epoch, self.rx, self._mark(payload))
            if ftype == P.T_FAULT and len(payload) >= 1:
                self._schedule_fault(payload, pos)
                return None
            if ftype == P.T_ERROR:
                self._link_error(f"the device reported: {payload.decode(errors='replace')}")
                return None
            self._link_error(f"unknown frame type 0x{ftype:02x} at stream offset {pos}")
            return None

    # -- checkpoints and fault injection -------------------------------------------------
    def _mark(self, payload):
        """The device's checkpoint: what the panel shows (and holds) against its crc32."""
        label = int.from_bytes(payload[:4], "little")
        expected = int.from_bytes(payload[4:], "little")
        c = self.controller
        visible = zlib.crc32(bytes(c.visible[0]) + bytes(c.visible[1]))
        ram = zlib.crc32(bytes(c.ram[0]) + bytes(c.ram[1]))
        self.marks += 1
        entry = {"label": label, "expected": expected, "visible": visible, "ram": ram,
                 "ok": visible == expected, "ram_ok": ram == expected}
        self.mark_log.append(entry)
        del self.mark_log[:-20]
        if not (entry["ok"] and entry["ram_ok"]):
            self.bad_marks.append(entry)
            if self.out:
                c.image().save(self.out / f"wrong-{label}.png")
        return visible.to_bytes(4, "little") + ram.to_bytes(4, "little")

    def _schedule_fault(self, payload, pos):
        kind = payload[0]
        args = [int.from_bytes(payload[i:i + 2], "little") for i in range(1, len(payload), 2)]
        if kind not in P.FAULT_NAMES:
            self._link_error(f"unknown fault kind {kind} at stream offset {pos}")
            return
        self.inject(kind, *args)

    def inject(self, kind, *args):
        """Schedule a fault (protocol.F_*): "after k" counts frames from now."""
        if kind == P.F_STICK_BUSY:
            self._stick_ms += args[0] if args else 1000
            self._count_fault(kind)
            return
        if kind == P.F_CANCEL:
            self._faults.clear()
            self._drop = self._drop_replies = self._stick_ms = 0
            self.corrupt_next_reply = False
            return
        if kind == P.F_SCRIBBLE:
            self._count_fault(kind)
            with self._lock:
                c = self.controller
                for planes in (c.visible, c.ram):
                    planes[0][len(planes[0]) // 2] ^= 0x5A
            return
        after = args[0] if args else 0
        self._faults.append([self.frames_in + after + 1, kind, args[1:]])

    def _count_fault(self, kind):
        name = P.FAULT_NAMES[kind]
        self.faults_fired[name] = self.faults_fired.get(name, 0) + 1

    def _fire_faults(self, ftype):
        """Before a frame is handled: fire the faults due at it. Returns what the link does."""
        self.frames_in += 1
        action = None
        if ftype in CONTROL:
            return None  # due faults wait for the next frame of the device's own traffic
        for f in [f for f in self._faults if f[0] <= self.frames_in]:
            self._faults.remove(f)
            _, kind, args = f
            self._count_fault(kind)
            with self._lock:
                if kind == P.F_POWER_LOSS:
                    self.controller.power_loss()
                elif kind == P.F_REPLACE:
                    self._replace_panel()
                    action = "hang up"
                elif kind == P.F_RECONNECT:
                    action = "hang up"
                elif kind == P.F_DROP:
                    self._drop += args[0] if args else 1
                elif kind == P.F_CORRUPT:
                    action = action or "corrupt"
                elif kind == P.F_DROP_REPLY:
                    self._drop_replies += 1
                elif kind == P.F_CORRUPT_REPLY:
                    self.corrupt_next_reply = True
        return action

    def _replace_panel(self):
        """A new, blank panel of the same model in place of the old one."""
        old = self.controller
        for k, v in old.counters.items():
            self._retired[k] = self._retired.get(k, 0) + v
        # The same model, time scale and explicit times: the same modelled times.
        new = type(old)(width=old.width, height=old.height, clock=old.clock,
                        time_scale=old.time_scale, **old.overrides)
        new.on_refresh = self._refreshed
        self.controller = new
        self.replaced += 1

    def total_counters(self):
        """The counters of this panel and of the ones it replaced."""
        out = dict(self._retired)
        for k, v in self.controller.counters.items():
            out[k] = out.get(k, 0) + v
        return out

    # -- outputs ----------------------------------------------------------------------
    def _refreshed(self, kind, window):
        if self.presses is not None:
            self.presses.refresh_started()
        if self._stick_ms:  # an injected stuck BUSY: this refresh takes longer
            self.controller.busy_until += self._stick_ms / 1000
            self._stick_ms = 0
        self.refresh_log.append({"kind": kind, "window": list(window)})
        del self.refresh_log[:-1000]
        if self.out:
            n = self.controller.counters["refreshes"]
            img = self.image()
            if self.png_each:
                img.save(self.out / f"refresh-{n:04d}.png")
            img.save(self.out / "panel.png")

    def image(self):
        """The panel as the app sees it: the controller's picture in the app's rotation."""
        from PIL import Image

        img = self.controller.image()
        if not self.rotation:
            return img
        return img.transpose(getattr(Image.Transpose, ROTATE[self.rotation]))

    def all_errors(self):
        """The panel's protocol errors (controller and SRAM), then the link's."""
        return list(self.controller.errors) + list(self.sram.errors) + list(self.link_errors)

    def summary(self):
        c = self.controller
        panel_errors = list(c.errors) + list(self.sram.errors)
        end = c.last_refresh_end
        t0 = self.first_frame_t
        return dict(
            c.counters,
            controller=c.name, width=c.width, height=c.height, frames=self.frames,
            connections=self.connections, epoch=c.epoch, epoch_log=c.epoch_log[-20:],
            replaced=self.replaced, faults=dict(self.faults_fired), marks=self.marks,
            bad_marks=self.bad_marks[:20],
            time_to_final_s=round(end - t0, 3) if end is not None and t0 is not None else None,
            commands_by_name=dict(sorted(c.command_counts.items())), recorded=c.recorded,
            panel=self.panel_key, native_size=[c.width, c.height], rotation=self.rotation,
            times=c.times_summary(),
            sram=dict(self.sram.counts, status=self.sram.status, chip=self.sram.name,
                      sent_ahead=self.ahead_bytes),
            analog_reads=self.analog_reads,
            presses=self.presses.describe() if self.presses is not None else None,
            error_count=len(panel_errors) + len(self.link_errors),
            error_summary=summarise_errors(panel_errors + list(self.link_errors)),
            errors=panel_errors[:FIRST_FEW], link_errors=list(self.link_errors)[:FIRST_FEW],
            refresh_log=self.refresh_log[-200:])

    def write_outputs(self):
        if not self.out:
            return
        with self._lock:
            self.image().save(self.out / "panel.png")
            (self.out / "panel.json").write_text(json.dumps(self.summary(), indent=1) + "\n")
