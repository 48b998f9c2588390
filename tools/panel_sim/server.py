"""The simulator's link end: a TCP server speaking the panel-link frames to one device, or
(connect=HOST:PORT) a TCP client of a socket that carries the device's UART (QEMU's
`-serial tcp:...,server=on`).

Pins are link pin numbers; `wiring` says which panel signal each one is (default: the
EPD FeatherWing layout of lib/board.py: cs=9, dc=10, rst=5, busy=7). Connections are served
one after another; the panel (its RAM and image) outlives them, as a wired panel would.
"""

import json
import pathlib
import socket
import sys
import threading
import time

from . import protocol as P
from .controller_ssd1680 import SSD1680
from .controller_uc8151d import UC8151D

CONTROLLERS = {"ssd1680": SSD1680, "uc8151d": UC8151D}

DEFAULT_WIRING = {"cs": 9, "dc": 10, "rst": 5, "busy": 7}


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
                 controller="ssd1680", size=None, png_each=False, log=None, connect=None):
        host, _, port = listen.rpartition(":")
        self.connect = connect
        if isinstance(controller, str):
            kwargs = {"width": size[0], "height": size[1]} if size else {}
            controller = CONTROLLERS[controller](
                full_s=2.5 * time_scale, partial_s=0.4 * time_scale, reset_s=0.002 * time_scale,
                **kwargs)
        self.controller = controller
        self.controller.on_refresh = self._refreshed
        self.wiring = wiring or dict(DEFAULT_WIRING)
        self.out = pathlib.Path(out) if out else None
        self.png_each = png_each
        self.log = log or (lambda msg: print(f"panel_sim: {msg}", file=sys.stderr, flush=True))
        self.levels = {}
        self.link_errors = []
        self.frames = 0
        self.connections = 0
        self.sessions_done = 0
        self.corrupt_next_reply = False  # tests: spoil the checksum of the next reply
        self.first_frame_t = None
        self.refresh_log = []
        self._lock = threading.Lock()
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
        try:
            self._session(conn)
        finally:
            conn.close()
            self._conn = None
            self.sessions_done += 1

    def _session(self, conn):
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
                try:
                    conn.sendall(P.encode(P.T_ERROR, f"corrupt frame: {e}".encode()))
                    # Linger before hanging up: a UART behind a socket (QEMU) may drop what
                    # it has not passed to the device yet when the connection closes.
                    time.sleep(0.5)
                except OSError:
                    pass
                return
            for ftype, payload, pos in frames:
                reply = self._handle(ftype, payload, pos)
                if reply is not None and self.corrupt_next_reply:  # a test hook
                    self.corrupt_next_reply = False
                    reply = reply[:-1] + bytes(((reply[-1] + 1) & 0xFF,))
                if reply is not None:
                    try:
                        conn.sendall(reply)
                    except OSError as e:
                        self._link_error(f"the device vanished: {e}")
                        return

    def _link_error(self, msg):
        self.link_errors.append(msg)
        self.log(msg)

    def _handle(self, ftype, payload, pos):
        with self._lock:
            self.frames += 1
            if self.first_frame_t is None:
                self.first_frame_t = time.monotonic()
            c = self.controller
            if ftype == P.T_SPI:
                if not self.levels.get(self.wiring["cs"], 1):
                    c.spi(payload, self.levels.get(self.wiring["dc"], 0), pos + 4)
                return None
            if ftype == P.T_PIN and len(payload) == 2:
                pin, level = payload
                old = self.levels.get(pin, 1)
                self.levels[pin] = level
                if pin == self.wiring["rst"] and old == 0 and level == 1:
                    c.hardware_reset()
                return None
            if ftype == P.T_READ and len(payload) == 1:
                pin = payload[0]
                level = c.busy_level() if pin == self.wiring["busy"] else self.levels.get(pin, 0)
                return P.encode(P.T_READ | P.T_REPLY, bytes((pin, level)))
            if ftype == P.T_HELLO:
                if payload != P.HELLO:
                    self._link_error(f"unknown hello {payload!r} at stream offset {pos}")
                return P.encode(P.T_HELLO | P.T_REPLY,
                                f"{c.name} {c.width}x{c.height}".encode())
            if ftype == P.T_SYNC:
                return P.encode(P.T_SYNC | P.T_REPLY)
            if ftype == P.T_ERROR:
                self._link_error(f"the device reported: {payload.decode(errors='replace')}")
                return None
            self._link_error(f"unknown frame type 0x{ftype:02x} at stream offset {pos}")
            return None

    # -- outputs ----------------------------------------------------------------------
    def _refreshed(self, kind, window):
        self.refresh_log.append({"kind": kind, "window": list(window)})
        if self.out:
            n = self.controller.counters["refreshes"]
            img = self.controller.image()
            if self.png_each:
                img.save(self.out / f"refresh-{n:04d}.png")
            img.save(self.out / "panel.png")

    def summary(self):
        c = self.controller
        end = c.last_refresh_end
        t0 = self.first_frame_t
        return dict(
            c.counters,
            controller=c.name, width=c.width, height=c.height, frames=self.frames,
            connections=self.connections,
            time_to_final_s=round(end - t0, 3) if end is not None and t0 is not None else None,
            commands_by_name=dict(sorted(c.command_counts.items())), recorded=c.recorded,
            errors=list(c.errors), link_errors=list(self.link_errors),
            refresh_log=self.refresh_log[-200:])

    def write_outputs(self):
        if not self.out:
            return
        with self._lock:
            self.controller.image().save(self.out / "panel.png")
            (self.out / "panel.json").write_text(json.dumps(self.summary(), indent=1) + "\n")
