"""One host-side way to talk to a board: run a MicroPython script on it and get what it printed,
live or at the end. `make run`, the tests (host_tests/targets.py) and the bench use it.

    from tools.boards import make_board
    board = make_board("MPS2_AN385")        # or "unix", "qemu" (= MPS2_AN385)
    res = board.run("print(1 + 1)", timeout=30, on_output=sys.stdout.write)
    res.out, res.err, res.returncode        # "2\\n", "", 0
    board.close()

- `UnixBoard`: build/unix/micropython, one process per script; the panel link is a TCP
  connection from the device to the simulator (`env={"DEFIO_PANEL": "host:port"}`).
- `QemuBoard`: the firmware in QEMU (tools/qemu_launch.py), the REPL on a pty driven through
  the raw REPL; UART1 (the panel link) is a TCP socket the simulator connects to
  (`board.panel_connect`). Each run starts with a soft reset (every defio instance stopped,
  the pool free). The libraries are frozen into the firmware: nothing is copied.
  A script that crashes the board (a fault that is not a defio page) returns the crash dump
  in `err`, returncode -1; the next run starts on the rebooted board.

`on_output(text)` gets the script's output as it arrives (stdout and, on the firmware, the
traceback; on the Unix port stderr goes to `on_error` when given, else to `on_output`).
A run that outlasts `timeout` is interrupted (Ctrl-C / SIGTERM) and raises
subprocess.TimeoutExpired with what it printed so far in `.output`; so does one stopped
early because `until()` (polled a few times a second) became true: the caller's planned end.
A later serial board (a real chip over USB) is a QemuBoard without QEMU: the raw REPL client
below takes any tty.
"""

import codecs
import dataclasses
import os
import pathlib
import select
import subprocess
import threading
import time
import tty

from tools.qemu_launch import QemuLauncher

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
PYLIB = BUILD / "pylib"
MPY_DIR = ROOT / "deps" / "micropython-1.25.0"

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"
CRASH_MARK = b"*** resetting the board"
BOOT_MARK = b'Type "help()" for more information.'  # the board (re)booted
FRIENDLY_PROMPT = b"\r\n>>> "
MPREMOTE = ROOT / ".venv" / "bin" / "mpremote"


@dataclasses.dataclass
class Result:
    out: str          # stdout (and, on targets with one stream, everything printed)
    err: str          # stderr / traceback / crash dump ("" when the script ended cleanly)
    returncode: int   # 0 ok, 1 an exception, -1 the board crashed or reset


class BoardError(ValueError):
    """A board name that is not one of ours (the message says which names are)."""


def qemu_boards():
    """Board folders of boards/ that our QEMU port builds (mpconfigboard.mk with QEMU_MACHINE),
    and the build variant MPS2_AN505_R8."""
    names = [p.parent.name for p in sorted((ROOT / "boards").glob("*/mpconfigboard.mk"))
             if "QEMU_MACHINE" in p.read_text()]
    return names + ["MPS2_AN505_R8"]


def board_names():
    return ["unix", "qemu"] + qemu_boards()


def check_board(name):
    """The canonical board name (qemu -> MPS2_AN385); BoardError for an unknown one."""
    if name == "qemu":
        return "MPS2_AN385"
    if name == "unix" or name in qemu_boards():
        return name
    raise BoardError(f"unknown board {name!r}: one of {', '.join(board_names())}")


def make_board(name, **kwargs):
    name = check_board(name)
    if name == "unix":
        return UnixBoard()
    return QemuBoard(name, **kwargs)


class _Decoder:
    """Bytes from a board -> text for on_output: UTF-8 across chunk edges, CRLF -> LF."""

    def __init__(self, sink):
        self.sink = sink
        self.dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.cr = False

    def feed(self, data, final=False):
        text = self.dec.decode(data, final)
        if self.cr:
            text = "\r" + text
        self.cr = text.endswith("\r") and not final
        if self.cr:
            text = text[:-1]
        text = text.replace("\r\n", "\n")
        if text and self.sink:
            self.sink(text)


class _RawStream:
    """The raw REPL's answer `stdout \x04 traceback \x04 >`, chunk by chunk, to a sink."""

    def __init__(self, sink):
        self.dec = _Decoder(sink)
        self.ends = 0

    def feed(self, chunk):
        out = b""
        while chunk and self.ends < 2:
            i = chunk.find(b"\x04")
            if i < 0:
                out += chunk
                break
            out += chunk[:i]
            self.ends += 1
            chunk = chunk[i + 1:]
        self.dec.feed(out)

    def close(self):
        self.dec.feed(b"", final=True)


class UnixBoard:
    """The Unix port built with defio (build/unix/micropython), one process per script."""

    name = "unix"
    panel_connect = None  # the simulator listens; the device connects to DEFIO_PANEL

    def __init__(self, exe=None):
        self.exe = pathlib.Path(exe) if exe else BUILD / "unix" / "micropython"
        if not self.exe.exists():
            raise RuntimeError(f"{self.exe} is missing: run `make unix` first")
        self.proc = None

    def run(self, src, timeout=60, env=None, on_output=None, on_error=None, cwd=None,
            until=None):
        """Run `src`; MICROPYPATH has lib/ and build/pylib (Adafruit's packages); the current
        folder is build/pylib unless `cwd` (adafruit_framebuf opens font5x8.bin there)."""
        # extmod/ of the MicroPython source holds asyncio's Python part (frozen on the
        # firmware; this Unix build freezes nothing).
        path = [".frozen", ROOT / "lib", PYLIB, ROOT / "examples", MPY_DIR / "extmod"]
        full_env = dict(os.environ, MICROPYPATH=":".join(map(str, path)))
        full_env.update(env or {})
        # Its own session: a Ctrl-C on the terminal is ours to handle, not a traceback.
        self.proc = p = subprocess.Popen([str(self.exe), "-c", src], env=full_env,
                                         cwd=cwd or (PYLIB if PYLIB.is_dir() else ROOT),
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         start_new_session=True)
        chunks = {"out": [], "err": []}

        def pump(stream, key, sink):
            dec = _Decoder(lambda text: (chunks[key].append(text), sink and sink(text)))
            for data in iter(lambda: os.read(stream.fileno(), 4096), b""):
                dec.feed(data)
            dec.feed(b"", final=True)

        threads = [threading.Thread(target=pump, args=(p.stdout, "out", on_output)),
                   threading.Thread(target=pump, args=(p.stderr, "err", on_error or on_output))]
        for t in threads:
            t.start()
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    p.wait(min(0.1, max(deadline - time.monotonic(), 0)))
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= deadline or (until is not None and until()):
                        raise
        except subprocess.TimeoutExpired:
            self.stop()
            raise subprocess.TimeoutExpired(str(self.exe), timeout,
                                            output="".join(chunks["out"] + chunks["err"]))
        finally:
            if p.poll() is None:  # KeyboardInterrupt on our side
                self.stop()
            for t in threads:
                t.join(10)
            p.stdout.close()
            p.stderr.close()
            self.proc = None
        return Result("".join(chunks["out"]), "".join(chunks["err"]), p.returncode)

    def place_files(self, files, folder):
        """A current folder for the next run(cwd=...): the files and font5x8.bin (which
        adafruit_framebuf opens from the current folder). Returns the folder."""
        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for src in [PYLIB / "font5x8.bin", *files]:
            src = pathlib.Path(src)
            if src.exists():
                (folder / src.name).write_bytes(src.read_bytes())
        return folder

    def stop(self):
        p = self.proc
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def close(self):
        self.stop()


class RawRepl:
    """MicroPython's raw REPL over a tty (QEMU's pty; a real board's USB serial later)."""

    def __init__(self, device):
        self.device = device
        self._fd = None
        self._raw = False

    def open(self):
        if self._fd is None:
            self._fd = os.open(self.device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            tty.setraw(self._fd)
            self._raw = False

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._raw = False

    def write(self, data):
        view = memoryview(data)
        while view:
            select.select([], [self._fd], [], 1)
            try:
                n = os.write(self._fd, view)
            except BlockingIOError:
                continue
            view = view[n:]

    def read_some(self, timeout):
        r, _, _ = select.select([self._fd], [], [], max(timeout, 0))
        if not r:
            return b""
        try:
            return os.read(self._fd, 4096)
        except (BlockingIOError, OSError):
            return b""

    def drain(self, quiet=0.1):
        data = b""
        while True:
            chunk = self.read_some(quiet)
            if not chunk:
                return data
            data += chunk

    def read_until(self, marker, timeout, buf=b"", on_data=None, until=None):
        """Read until `marker`; returns (data, crashed). Raises TimeoutError (also when
        `until()` becomes true). on_data(bytes) sees every chunk as it arrives."""
        deadline = time.monotonic() + timeout
        while marker not in buf:
            if until is not None and until():
                raise TimeoutError(f"stopped while waiting for {marker!r}, as asked")
            if CRASH_MARK in buf or BOOT_MARK in buf:
                return buf, True
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waiting for {marker!r}; got {buf[-300:]!r}")
            chunk = self.read_some(min(left, 0.5))
            if chunk and on_data:
                on_data(chunk)
            buf += chunk
        return buf, False

    def enter_raw(self):
        self.open()
        for _ in range(3):
            self.write(b"\r\x03\x03")
            self.drain()
            self.write(b"\r\x01")
            data, _ = self.read_until(RAW_BANNER, 10)
            if RAW_BANNER in data:  # else the board was (re)booting meanwhile: again
                self._raw = True
                return
        raise RuntimeError("cannot enter the raw REPL")

    def soft_reset(self):
        """Soft reset in the raw REPL; returns what the board printed while resetting (the
        last callbacks of the previous run's instances)."""
        self.drain(0.02)
        self.write(b"\x04")
        data, _ = self.read_until(b"soft reboot\r\n", 10)
        rest = data.split(b"soft reboot\r\n", 1)[1]
        data, _ = self.read_until(RAW_BANNER, 10, rest)
        return data.split(RAW_BANNER, 1)[0].decode(errors="replace")

    def exec(self, src, timeout, on_output=None, until=None):
        """Execute in the raw REPL: (out, err, crashed) or raise TimeoutError. on_output(text)
        gets the output (then the traceback) as it arrives."""
        self.write(src.encode() + b"\x04")
        data, crashed = self.read_until(b"OK", 10)
        if crashed:
            return data, b"", True
        data = data[data.index(b"OK") + 2:]
        # Stream: stdout up to the first \x04, then the traceback up to the second.
        stream = _RawStream(on_output)
        stream.feed(data)
        data, crashed = self.read_until(b"\x04", timeout, data, stream.feed, until)
        if crashed:
            stream.close()
            return data, b"", True
        out, rest = data.split(b"\x04", 1)
        rest, crashed = self.read_until(b"\x04>", 10, rest, stream.feed)
        stream.close()
        if crashed:
            return out, rest, True
        return out, rest.split(b"\x04", 1)[0], False

    def interrupt(self):
        """Ctrl-C the running script; False when the raw REPL did not come back."""
        self.write(b"\x03")
        try:
            self.read_until(b"\x04>", 5)
            return True
        except TimeoutError:
            self._raw = False
            return False


class QemuBoard:
    """The firmware in QEMU: one QEMU per board object, scripts over the raw REPL."""

    name = "qemu"

    def __init__(self, board="MPS2_AN385", panel="tcp", icount=False):
        self.board = check_board(board)
        elf = BUILD / self.board / "firmware.elf"
        if not elf.exists():
            raise RuntimeError(f"{elf} is missing: run `make firmware BOARD={self.board}` first")
        self.qemu = QemuLauncher(self.board, repl="pty", panel=panel, icount=icount).start()
        self.device = self.qemu.repl_pty
        self.repl = RawRepl(self.device)
        self.reset_output = ""

    @property
    def panel_connect(self):
        """HOST:PORT of UART1 (QEMU's server socket): the simulator connects to it."""
        return f"127.0.0.1:{self.qemu.panel_port}" if self.qemu.panel == "tcp" else None

    def place_files(self, files, folder=None):
        """Copy files into the board's filesystem root (its current folder), as mpremote does
        (littlefs on a RAM disk: they stay until a hard reset). Returns None: no cwd to give."""
        del folder
        for src in files:
            r = self.mpremote("fs", "cp", str(src), ":" + pathlib.Path(src).name, timeout=120)
            if r.returncode:
                raise RuntimeError(f"cannot copy {src} to the board: "
                                   + (r.stderr.strip().splitlines() or ["mpremote failed"])[-1])

    def run(self, src, timeout=60, env=None, on_output=None, on_error=None, until=None):
        del env, on_error  # the libraries are frozen; one stream
        if not self.repl._raw:
            self.repl.enter_raw()
        self.reset_output = self.repl.soft_reset()
        try:
            out, err, crashed = self.repl.exec(src, timeout, on_output, until)
        except TimeoutError:
            self.repl.interrupt()
            raise subprocess.TimeoutExpired("qemu", timeout) from None
        except BaseException:  # KeyboardInterrupt: leave the board at its prompt
            self.repl.interrupt()
            raise
        out = out.decode(errors="replace").replace("\r\n", "\n")
        err = err.decode(errors="replace").replace("\r\n", "\n")
        if crashed:
            # A crash dump (the board resets after it) or a reset (machine.reset()).
            try:
                self.repl.read_until(FRIENDLY_PROMPT, 10)
            except TimeoutError:
                pass
            self.repl._raw = False
            for mark in ("\n*** FATAL", "MPY: ", "MicroPython v"):
                idx = out.find(mark)
                if idx >= 0:
                    return Result(out[:idx], out[idx:].lstrip("\n"), -1)
            return Result(out, "board reset", -1)
        return Result(out, err, 1 if err else 0)

    def mpremote(self, *args, timeout=60):
        """Run mpremote on this board (our pty is handed over meanwhile)."""
        self.repl.release()
        try:
            return subprocess.run([str(MPREMOTE), "connect", self.device, *args],
                                  check=False, capture_output=True, text=True, timeout=timeout,
                                  cwd=ROOT)
        finally:
            self.repl.open()

    def close(self):
        self.repl.release()
        self.qemu.stop()


