"""The firmware target: one QEMU per test session (the board's machine), scripts over the REPL.

`QemuTarget().run(src)` soft-resets the board (Ctrl-D in the raw REPL: every defio instance
is stopped, the pool is free again), sends `src` through the raw REPL and returns what it
printed: `out` is stdout, `err` the traceback (returncode 1), as on the Unix port. When the
script crashes the board (a fault that is not a defio page), `out` holds what was printed
before and `err` the crash dump; returncode is -1 and the next run starts on the rebooted
board (with lib/ copied onto it again: the RAM filesystem does not survive a reset).

The REPL is on a pty (tools/qemu_launch.py), so `target.mpremote(...)` can hand the same
board to mpremote 1.25 (which opens serial devices, not sockets). `env` is ignored here:
lib/ is copied to /lib on the device, which is on sys.path.
"""

import os
import pathlib
import select
import subprocess
import sys
import time
import tty

from targets import ROOT, Result

sys.path.insert(0, str(ROOT / "tools"))
from qemu_launch import QemuLauncher

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"
CRASH_MARK = b"*** resetting the board"
BOOT_MARK = b'Type "help()" for more information.'  # the board (re)booted
FRIENDLY_PROMPT = b"\r\n>>> "
MPREMOTE = ROOT / ".venv" / "bin" / "mpremote"


class QemuTarget:
    name = "qemu"

    def __init__(self, board="MPS2_AN385", panel="tcp", copy_lib=True, icount=False,
                 pylib=False):
        self.board = board
        self.qemu = QemuLauncher(board, repl="pty", panel=panel, icount=icount).start()
        self.pylib = pylib
        self.device = self.qemu.repl_pty
        self.copy_lib = copy_lib
        self._fd = None
        self._raw = False
        self._lib_ok = False
        self.reset_output = ""

    # Low-level pty I/O.
    def _open(self):
        if self._fd is None:
            self._fd = os.open(self.device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            tty.setraw(self._fd)
            self._raw = False

    def _release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._raw = False

    def _write(self, data):
        view = memoryview(data)
        while view:
            select.select([], [self._fd], [], 1)
            try:
                n = os.write(self._fd, view)
            except BlockingIOError:
                continue
            view = view[n:]

    def _read_some(self, timeout):
        r, _, _ = select.select([self._fd], [], [], max(timeout, 0))
        if not r:
            return b""
        try:
            return os.read(self._fd, 4096)
        except (BlockingIOError, OSError):
            return b""

    def _drain(self, quiet=0.1):
        data = b""
        while True:
            chunk = self._read_some(quiet)
            if not chunk:
                return data
            data += chunk

    def _read_until(self, marker, timeout, buf=b""):
        """Read until `marker`; returns (data, crashed). Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while marker not in buf:
            if CRASH_MARK in buf or BOOT_MARK in buf:
                return buf, True
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waiting for {marker!r}; got {buf[-300:]!r}")
            buf += self._read_some(min(left, 0.5))
        return buf, False

    # Raw REPL.
    def _enter_raw(self):
        self._open()
        for _ in range(3):
            self._write(b"\r\x03\x03")
            self._drain()
            self._write(b"\r\x01")
            data, _ = self._read_until(RAW_BANNER, 10)
            if RAW_BANNER in data:  # else the board was (re)booting meanwhile: again
                self._raw = True
                return
        raise RuntimeError("cannot enter the raw REPL")

    def _soft_reset(self):
        """Soft reset in the raw REPL; what the board printed while resetting (the last
        callbacks of the previous run's instances) is kept in self.reset_output."""
        self._drain(0.02)
        self._write(b"\x04")
        data, _ = self._read_until(b"soft reboot\r\n", 10)
        rest = data.split(b"soft reboot\r\n", 1)[1]
        data, _ = self._read_until(RAW_BANNER, 10, rest)
        self.reset_output = data.split(RAW_BANNER, 1)[0].decode(errors="replace")

    def _after_crash(self, timeout=10):
        # The board resets: wait for the friendly prompt, then the raw REPL again.
        try:
            self._read_until(FRIENDLY_PROMPT, timeout)
        except TimeoutError:
            pass
        self._raw = False
        self._lib_ok = False

    def _exec(self, src, timeout):
        """Execute in the raw REPL: (out, err, crashed) or raise TimeoutError."""
        self._write(src.encode() + b"\x04")
        data, crashed = self._read_until(b"OK", 10)
        if crashed:
            return data, b"", True
        data = data[data.index(b"OK") + 2:]
        data, crashed = self._read_until(b"\x04", timeout, data)
        if crashed:
            return data, b"", True
        out, rest = data.split(b"\x04", 1)
        rest, crashed = self._read_until(b"\x04>", 10, rest)
        if crashed:
            return out, rest, True
        return out, rest.split(b"\x04", 1)[0], False

    def _put_tree(self, src, dest, patterns=("*.py",)):
        """Copy the files of host folder `src` matching `patterns` into `dest` on the board."""
        files = sorted(p for pat in patterns for p in src.rglob(pat)
                       if "__pycache__" not in p.parts)
        dirs = sorted({p.parent.relative_to(src) for p in files} - {pathlib.Path(".")})
        code = ["import os"]
        for d in [pathlib.Path(".")] + dirs:
            path = f"{dest}/{d.as_posix()}".rstrip("/.") or "/"
            code.append(f"try:\n os.mkdir({path!r})\nexcept OSError:\n pass")
        self._exec("\n".join(code), 30)
        for p in files:
            path = f"{dest}/{p.relative_to(src).as_posix()}"
            _out, err, crashed = self._exec(
                f"with open({path!r}, 'wb') as f:\n f.write({p.read_bytes()!r})", 30)
            if err or crashed:
                raise RuntimeError(f"copying {p} to the board failed: {err!r}")

    def _put_lib(self):
        # Our lib/ in /lib; with pylib=True also build/pylib (Adafruit packages, about 250 KB:
        # ~10 s over the emulated UART) in /lib and the font adafruit_framebuf opens from
        # the current folder in /.
        self._put_tree(ROOT / "lib", "/lib")
        pylib = ROOT / "build" / "pylib"
        if self.pylib and pylib.is_dir():
            self._put_tree(pylib, "/lib")
            if (pylib / "font5x8.bin").exists():
                self._put_tree(pylib, "", ("font5x8.bin",))
        self._lib_ok = True

    def run(self, src, timeout=60, env=None):
        del env  # lib/ is on the device in /lib, which is on sys.path
        if not self._raw:
            self._enter_raw()
        if self.copy_lib and not self._lib_ok:
            self._put_lib()
        self._soft_reset()
        try:
            out, err, crashed = self._exec(src, timeout)
        except TimeoutError:
            self._write(b"\x03")
            try:
                self._read_until(b"\x04>", 5)
            except TimeoutError:
                self._raw = False
            raise subprocess.TimeoutExpired("qemu", timeout) from None
        out = out.decode(errors="replace").replace("\r\n", "\n")
        err = err.decode(errors="replace").replace("\r\n", "\n")
        if crashed:
            # A crash dump (the board resets after it) or a reset (machine.reset()).
            self._after_crash()
            for mark in ("\n*** FATAL", "MPY: ", "MicroPython v"):
                idx = out.find(mark)
                if idx >= 0:
                    return Result(out[:idx], out[idx:].lstrip("\n"), -1)
            return Result(out, "board reset", -1)
        return Result(out, err, 1 if err else 0)

    def mpremote(self, *args, timeout=60):
        """Run mpremote on this board (our pty is handed over meanwhile)."""
        self._release()
        try:
            return subprocess.run([str(MPREMOTE), "connect", self.device, *args],
                                  check=False, capture_output=True, text=True, timeout=timeout,
                                  cwd=ROOT)
        finally:
            self._open()

    def close(self):
        self._release()
        self.qemu.stop()
