#!/usr/bin/env python3
"""Boot our firmware in qemu-system-arm with the REPL and the panel UART where you want them.

    tools/qemu_launch.py [--board MPS2_AN385|MPS2_AN385_V6M|MPS2_AN505|MPS2_AN505_R8]
                         [--elf build/<BOARD>/firmware.elf]
                         [--repl tcp|pty|stdio] [--repl-port N]
                         [--panel tcp|null] [--panel-port N] [--icount]

- REPL (UART0) on a TCP socket (default; raw bytes: host_tests/target_qemu.py, `nc`, or
  pyserial's `socket://` URL), on a pty (`mpremote connect /dev/pts/N`: mpremote 1.25 opens
  only serial devices and rfc2217://, not socket://, so use the pty for mpremote) or on this
  terminal (stdio; Ctrl-A X quits QEMU).
- Panel link (UART1, the second -serial) on another TCP socket, or null.
- --icount runs QEMU with `-icount shift=0`: one instruction = 1 ns of virtual time, so the
  25 MHz SysTick counts one clock per 40 instructions (deterministic timing for benchmarks).

The chosen ports are printed as `repl=socket://127.0.0.1:PORT` and `panel=tcp:127.0.0.1:PORT`.
The QEMU machine comes from QEMU_MACHINE in boards/<BOARD>/mpconfigboard.mk. The board's
filesystem is RAM: files do not survive a reset or a QEMU restart.

From Python (stdlib only):

    from qemu_launch import QemuLauncher
    with QemuLauncher(panel="tcp") as q:
        print(q.repl_url, q.panel_port)
"""

import argparse
import atexit
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tty

ROOT = pathlib.Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def board_dir(board):
    """The folder of a board in boards/. A build variant `<BOARD>_R<n>` (the board built
    with defio limited to n MPU regions: `make firmware BOARD=MPS2_AN505_R8`) is its board's."""
    path = ROOT / "boards" / board
    m = re.fullmatch(r"(.+)_R\d+", board)
    if not path.is_dir() and m:
        path = ROOT / "boards" / m.group(1)
    return path


def board_machine(board):
    """The QEMU machine name of a board (QEMU_MACHINE in its mpconfigboard.mk)."""
    mk = board_dir(board) / "mpconfigboard.mk"
    for line in mk.read_text().splitlines():
        m = re.match(r"\s*QEMU_MACHINE\s*[:?]?=\s*(\S+)", line)
        if m:
            return m.group(1)
    raise ValueError(f"{mk}: no QEMU_MACHINE")


class PortBusy(OSError):
    """A TCP port asked for is taken by another process."""


def listen_socket(port=0):
    """A listening TCP socket on HOST:port (0: a free port), handed to QEMU as an open file
    descriptor: no other process can take the port between choosing and binding it, and
    nothing but QEMU answers there."""
    s = socket.socket()
    try:
        s.bind((HOST, port))
    except OSError as e:
        s.close()
        raise PortBusy(f"port {port} on {HOST} is busy ({e.strerror}): pick another "
                       "or 0 for a free one") from None
    s.listen(1)
    return s


class QemuLauncher:
    """One QEMU running the firmware. start() returns once the REPL endpoint is ready."""

    def __init__(self, board="MPS2_AN385", elf=None, repl="tcp", repl_port=0, panel="tcp",
                 panel_port=0, icount=False, extra=()):
        if repl not in ("tcp", "pty", "stdio"):
            raise ValueError("repl must be tcp, pty or stdio")
        if panel not in ("tcp", "null"):
            raise ValueError("panel must be tcp or null")
        self.board = board
        self.elf = pathlib.Path(elf) if elf else ROOT / "build" / board / "firmware.elf"
        self.repl = repl
        self.repl_port = repl_port
        self.panel = panel
        self.panel_port = panel_port
        self.icount = icount
        self.extra = list(extra)
        self.repl_pty = None
        self.proc = None
        self._keepalive_fd = None
        self._sockets = []

    @property
    def repl_url(self):
        """What mpremote connects to."""
        if self.repl == "tcp":
            return f"socket://{HOST}:{self.repl_port}"
        return self.repl_pty

    def command(self):
        qemu = shutil.which("qemu-system-arm") or "qemu-system-arm"
        cmd = [qemu, "-M", board_machine(self.board), "-nographic", "-kernel", str(self.elf)]
        if self.repl == "tcp":
            cmd += ["-monitor", "null", *self._tcp_serial("repl")]
        elif self.repl == "pty":
            cmd += ["-monitor", "null", "-serial", "pty"]
        else:
            cmd += ["-serial", "mon:stdio"]
        if self.panel == "tcp":
            cmd += self._tcp_serial("panel")
        else:
            cmd += ["-serial", "null"]
        if self.icount:
            cmd += ["-icount", "shift=0"]
        return cmd + self.extra

    def _tcp_serial(self, name):
        """-serial on a listening socket we bound (its descriptor passes to QEMU)."""
        s = listen_socket(getattr(self, f"{name}_port"))
        self._sockets.append(s)
        setattr(self, f"{name}_port", s.getsockname()[1])
        return ["-chardev", f"socket,id={name},fd={s.fileno()},server=on,wait=off,nodelay=on",
                "-serial", f"chardev:{name}"]

    def start(self, timeout=10):
        if not self.elf.exists():
            raise FileNotFoundError(f"{self.elf} is missing: run `make firmware` first")
        self._sockets = []
        try:
            cmd = self.command()
            atexit.register(self.stop)  # no QEMU left behind when the caller forgets stop()
            fds = tuple(s.fileno() for s in self._sockets)
            if self.repl == "stdio":
                self.proc = subprocess.Popen(cmd, pass_fds=fds)
                return self
            # Its own session: a Ctrl-C on the caller's terminal is the caller's to handle
            # (it stops QEMU), not a signal QEMU reports on its own.
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True, pass_fds=fds,
                                         start_new_session=True)
        finally:
            for s in self._sockets:  # QEMU holds them now
                s.close()
        if self.repl == "pty":
            # QEMU prints the pty's name first thing (or exits with its error).
            while self.repl_pty is None:
                line = self.proc.stdout.readline()
                if not line:
                    self.proc.wait(timeout)
                    raise RuntimeError("QEMU exited before opening its pty")
                m = re.search(r"char device redirected to (\S+) \(label serial0\)", line)
                if m:
                    self.repl_pty = m.group(1)
            # Hold the pty open (raw mode, never read): QEMU drops output and polls once a
            # second while nobody has the pty open, so a client connecting later (mpremote)
            # would lose its first bytes.
            self._keepalive_fd = os.open(self.repl_pty, os.O_RDWR | os.O_NOCTTY)
            tty.setraw(self._keepalive_fd)
        # TCP: the sockets listen already; QEMU accepts its client once it runs.
        return self

    def wait(self):
        return self.proc.wait() if self.proc else 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._keepalive_fd is not None:
            os.close(self._keepalive_fd)
            self._keepalive_fd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", default="MPS2_AN385")
    ap.add_argument("--elf", help="default: build/<BOARD>/firmware.elf")
    ap.add_argument("--repl", default="tcp", choices=("tcp", "pty", "stdio"))
    ap.add_argument("--repl-port", type=int, default=0, help="0: pick a free port")
    ap.add_argument("--panel", default="tcp", choices=("tcp", "null"))
    ap.add_argument("--panel-port", type=int, default=0, help="0: pick a free port")
    ap.add_argument("--icount", action="store_true", help="-icount shift=0")
    ap.add_argument("--panel-sim", metavar="DIR", default=None,
                    help="attach the simulated panel (SSD1680) to the panel UART; DIR/panel.png "
                         "is rewritten after every refresh (make repl: build/repl)")
    args = ap.parse_args()
    # SIGTERM stops QEMU too (the finally below), not only Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    q = QemuLauncher(args.board, args.elf, args.repl, args.repl_port, args.panel,
                     args.panel_port, args.icount)
    try:
        return run_cli(q, args)
    except (PortBusy, FileNotFoundError) as e:
        sys.exit(f"qemu_launch: {e}")


def run_cli(q, args):
    if args.repl == "stdio":
        sim = None
        if args.panel_sim and args.panel == "tcp":
            out = pathlib.Path(args.panel_sim)
            out.mkdir(parents=True, exist_ok=True)
            print(f"{q.board} in QEMU, REPL on this terminal (Ctrl-A X quits). Frozen: "
                  "asyncio, board, busio, digitalio, defio_epd, adafruit_epd.\n"
                  f"Simulated SSD1680 panel on the default wiring: {out}/panel.png is "
                  "rewritten after every refresh.", file=sys.stderr)
        else:
            print("REPL on this terminal; Ctrl-A X quits QEMU", file=sys.stderr)
        q.start()
        if args.panel_sim and args.panel == "tcp":
            from tools.panel_sim import PanelServer

            sim = PanelServer(f"{HOST}:0", out=args.panel_sim, log=lambda msg: None,
                              connect=f"{HOST}:{q.panel_port}").start()
        elif args.panel == "tcp":
            print(f"panel=tcp:{HOST}:{q.panel_port}", file=sys.stderr)
        try:
            return q.wait()
        finally:
            if sim is not None:
                sim.stop()
    q.start()
    print(f"repl={q.repl_url}")
    if args.panel == "tcp":
        print(f"panel=tcp:{HOST}:{q.panel_port}")
    print("Ctrl-C stops QEMU", flush=True)
    try:
        return q.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        q.stop()


if __name__ == "__main__":
    sys.exit(main())
