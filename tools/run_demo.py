"""Run an e-paper app on a board with the simulated panel; write build/run/panel.png/json.

    .venv/bin/python tools/run_demo.py [--board unix|qemu|BOARD] [--app PATH] [--out build/run]
                                       [--time-scale 1.0] [--seconds 12] [--tick-ms 1000]

Without --app it runs examples/epd_demo.py twice: with defio_epd, then the naive way
(display() after every change) through a second simulator, and records both. The board is
a small class: `UnixBoard` runs build/unix/micropython with DEFIO_PANEL=host:port; `QemuBoard`
boots the firmware (tools/qemu_launch.py) with UART1 on a TCP socket the simulator joins.
"""

import argparse
import ast
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from panel_sim import PanelServer

PYLIB = ROOT / "build" / "pylib"


class UnixBoard:
    """The Unix port with defio; the panel link is a TCP connection to the simulator."""

    name = "unix"
    panel_connect = None  # the simulator listens; the device connects (DEFIO_PANEL)

    def __init__(self):
        self.exe = ROOT / "build" / "unix" / "micropython"
        if not self.exe.exists():
            sys.exit(f"run_demo: {self.exe} is missing: run `make unix` first")

    def run(self, src, panel_address, timeout):
        path = ":".join(str(p) for p in (ROOT / "lib", PYLIB, ROOT / "examples"))
        env = dict(os.environ, MICROPYPATH=path, DEFIO_PANEL=panel_address)
        # cwd: adafruit_framebuf opens font5x8.bin from the current folder.
        p = subprocess.run([str(self.exe), "-c", src], capture_output=True, text=True,
                           timeout=timeout, env=env, cwd=PYLIB, check=False)
        return p.returncode, p.stdout + p.stderr

    def close(self):
        pass


class QemuBoard:
    """The firmware in QEMU (host_tests/target_qemu.py over tools/qemu_launch.py): UART1 is
    QEMU's TCP server socket and the simulator connects to it; lib/, build/pylib and the font
    are copied onto the board's filesystem."""

    name = "qemu"

    def __init__(self, board="MPS2_AN385"):
        elf = ROOT / "build" / board / "firmware.elf"
        if not elf.exists():
            sys.exit(f"run_demo: {elf} is missing: run `make firmware BOARD={board}` first")
        sys.path.insert(0, str(ROOT / "host_tests"))
        from target_qemu import QemuTarget

        self.target = QemuTarget(board=board, pylib=True)
        self.panel_connect = f"127.0.0.1:{self.target.qemu.panel_port}"

    def run(self, src, panel_address, timeout):
        res = self.target.run(src, timeout=timeout)
        return res.returncode, res.out + res.err

    def close(self):
        self.target.close()


BOARDS = {"unix": UnixBoard, "qemu": QemuBoard}


def make_board(name):
    """unix: the Unix port; qemu or a board folder name (boards/NAME): the firmware in QEMU."""
    if name == "unix":
        return UnixBoard()
    if name == "qemu":
        return QemuBoard()
    if (ROOT / "boards" / name).is_dir():
        return QemuBoard(name)
    sys.exit(f"run_demo: unknown board {name!r} (unix, qemu or one of boards/)")

# Every app ends with a sync: once the panel answers, it has handled everything.
EPILOGUE = """
import panel_link
if panel_link._link is not None and not panel_link._link.closed:
    panel_link._link.sync()
"""


def demo_src(naive, seconds, tick_ms, panel="ssd1680"):
    """examples/epd_demo.py as a script (it is not on the board's filesystem) + the call."""
    text = (ROOT / "examples" / "epd_demo.py").read_text()
    text = text[:text.index('if __name__ == "__main__":')]
    return text + (f"print('@@', repr(main(naive={naive}, seconds={seconds}, "
                   f"tick_ms={tick_ms}, panel={panel!r})))\n")


def run_once(board, src, out, time_scale, timeout, controller="ssd1680", png_each=False):
    """One run through a fresh simulator; returns (simulator summary, device report, text)."""
    server = PanelServer("127.0.0.1:0", out=out, time_scale=time_scale,
                         log=lambda msg: print(f"  panel_sim: {msg}", file=sys.stderr),
                         connect=board.panel_connect, controller=controller,
                         png_each=png_each)
    server.start()
    t0 = time.monotonic()
    try:
        rc, text = board.run(src + EPILOGUE, server.address, timeout)
        if board.panel_connect is None:
            server.wait_disconnected()
        server.wait_idle()  # the last refresh
    finally:
        server.stop()  # writes out/panel.png and out/panel.json
    summary = server.summary()
    summary["wall_s"] = round(time.monotonic() - t0, 3)
    if rc != 0:
        print(text, file=sys.stderr)
        sys.exit(f"run_demo: the app failed on {board.name} (exit status {rc})")
    reports = [ast.literal_eval(line[3:]) for line in text.splitlines() if line.startswith("@@ ")]
    return summary, (reports[-1] if reports else None), text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="unix",
                    help="unix, qemu (MPS2_AN385) or a folder name in boards/")
    ap.add_argument("--app", default=None, help="an app to run instead of our demo")
    ap.add_argument("--out", default=str(ROOT / "build" / "run"))
    ap.add_argument("--time-scale", type=float, default=1.0,
                    help="simulated refresh times x this (1.0: full 2.5 s, partial 0.4 s)")
    ap.add_argument("--seconds", type=int, default=12, help="demo length in clock ticks")
    ap.add_argument("--tick-ms", type=int, default=1000)
    ap.add_argument("--panel", default="ssd1680", choices=("ssd1680", "uc8151d"),
                    help="the demo's display driver and the simulated controller")
    ap.add_argument("--png-each", action="store_true",
                    help="also write refresh-NNNN.png after every refresh")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--no-naive", action="store_true", help="skip the naive comparison run")
    args = ap.parse_args(argv)

    if not (PYLIB / "font5x8.bin").exists():
        import build_pylib

        build_pylib.main(["--out", str(PYLIB)])
    board = make_board(args.board)
    try:
        return run_all(board, args)
    finally:
        board.close()


def run_all(board, args):
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.app:
        src = pathlib.Path(args.app).read_text()
    else:
        src = demo_src(False, args.seconds, args.tick_ms, args.panel)
    print(f"run_demo: {args.app or 'examples/epd_demo.py'} on {board.name}, "
          f"refresh times x{args.time_scale}")
    summary, device, _ = run_once(board, src, out, args.time_scale, args.timeout, args.panel,
                                  args.png_each)
    result = {k: summary[k] for k in ("bytes", "refreshes", "partial_refreshes",
                                      "full_refreshes", "time_to_final_s")}
    result.update(board=board.name, app=args.app or "examples/epd_demo.py",
                  time_scale=args.time_scale, device_stats=device,
                  panel_errors=summary["errors"], link_errors=summary["link_errors"])
    if not args.app and not args.no_naive:
        naive_out = out / "naive"
        naive, _, _ = run_once(board, demo_src(True, args.seconds, args.tick_ms, args.panel),
                               naive_out, args.time_scale, args.timeout, args.panel)
        result.update(naive_bytes=naive["bytes"], naive_refreshes=naive["refreshes"],
                      naive_full_refreshes=naive["full_refreshes"],
                      naive_time_to_final_s=naive["time_to_final_s"])
        from PIL import Image, ImageChops

        a = Image.open(out / "panel.png").convert("RGB")
        b = Image.open(naive_out / "panel.png").convert("RGB")
        result["same_final_image_as_naive"] = ImageChops.difference(a, b).getbbox() is None
    result["simulator"] = summary
    (out / "panel.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"  defio:  {result['bytes']} bytes, {result['refreshes']} refreshes "
          f"({result['partial_refreshes']} partial, {result['full_refreshes']} full), "
          f"final image after {result['time_to_final_s']} s")
    if "naive_bytes" in result:
        print(f"  naive:  {result['naive_bytes']} bytes, {result['naive_refreshes']} refreshes "
              f"(all full), final image after {result['naive_time_to_final_s']} s")
        print(f"  ratio:  {result['naive_bytes'] / max(result['bytes'], 1):.1f}x fewer bytes; "
              f"same final image: {result['same_final_image_as_naive']}")
    if result["panel_errors"] or result["link_errors"]:
        print(f"  errors: {result['panel_errors'] + result['link_errors']}")
    print(f"  wrote {out / 'panel.png'} and {out / 'panel.json'}")
    return result


if __name__ == "__main__":
    main()
