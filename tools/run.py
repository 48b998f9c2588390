"""Run an e-paper app on a board with the simulated panel, its output live; write the panel's
picture. `make run [APP=app.py] [BOARD=...] [TIMEOUT=s]` calls this:

    .venv/bin/python -m tools.run [--board unix|qemu|BOARD] [--app PATH] [--out DIR]
                                  [--timeout S] [--time-scale 1.0] [--seconds 12] ...

- The app's output (stdout and stderr, plain, as `mpremote run` shows it) streams while it
  runs; `run:` lines say what happens meanwhile (booting, waiting for the last refresh).
- Each run writes into its own folder, build/runs/<time>-<pid>/ (panel.png, panel.json,
  output.txt); build/run points at the latest good one: a failed run never replaces the
  last good picture and two runs at once never share a folder. `--out DIR` writes there.
- The exit status is 0 when the app ended cleanly and the panel saw no protocol error; 1 when
  the app raised (its traceback is the last thing printed) or the panel saw errors; 2 for a
  wrong APP or BOARD (one line, before anything boots); 124 when `--timeout` stopped it;
  130 on Ctrl-C (QEMU and the simulator stopped, one line said).
- The simulated panel: `--panel KEY[:WxH]` (PANEL=), else the driver the app constructs, its
  size, pins and rotation (tools/examples/detect.py); panel.png is in the app's rotation.
  `--stop-after S` ends an app that runs on (an endless loop) after S seconds, exit 0.
- `--buttons 1@0.5+1,...` presses the simulated shield's buttons (A3, read with analogio) on
  that schedule from the app's first frame; `--buttons 1,2,3,4` presses each until the app
  has acted on it (held until its next refresh starts, the next one once that refresh is
  over and the app reads again), and the run ends (a planned end, exit 0) when the app reads
  after the last one's refresh; `--timeout` bounds it. `--sram 23k256`: a 32 KiB SRAM.
- `--file PATH` (repeatable) puts a file where the app opens it: the Unix run's current
  folder (a folder of the run's own, with font5x8.bin), the board's filesystem (/, mpremote).
- Without --app it runs examples/epd_demo.py twice: with defio_epd, then the naive way
  (display() after every change) through a second simulator, and compares.
"""

import argparse
import ast
import json
import os
import pathlib
import subprocess
import sys
import time

from tools.boards import BoardError, Result, check_board, make_board

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
DEMO = ROOT / "examples" / "epd_demo.py"
MARK = "@@run "  # the epilogue's report line (never shown)

# After the app: whether it used defio_epd, then a sync (once the panel answers, it has
# handled everything the app sent).
EPILOGUE = f"""
import sys as _s
print({MARK!r} + repr('defio_epd' in _s.modules))
try:
    import panel_link as _pl
    if _pl._link is not None and not _pl._link.closed:
        _pl._link.sync()
except ImportError:
    pass
"""


class RunError(Exception):
    """A one-line reason to stop before anything boots (exit status 2)."""


def say(msg):
    print(f"run: {msg}", file=sys.stderr, flush=True)


class LiveOutput:
    """The app's output to our stdout as it arrives, line by line, without the MARK lines."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.partial = ""
        self.reports = []
        self.text = []

    def __call__(self, text):
        self.partial += text
        *lines, self.partial = self.partial.split("\n")
        for line in lines:
            self._line(line + "\n")

    def _line(self, line):
        if line.startswith(MARK):
            self.reports.append(line[len(MARK):].strip())
            return
        self.text.append(line)
        self.stream.write(line)
        self.stream.flush()

    def close(self):
        if self.partial:
            self._line(self.partial)
            self.partial = ""


STATS = "defio_epd stats: "  # the demo's last line


def demo_src(naive, seconds, tick_ms, panel="ssd1680"):
    """examples/epd_demo.py as it is, after one line: its arguments (DEMO_ARGS)."""
    args = {"naive": naive, "seconds": seconds, "tick_ms": tick_ms, "panel": panel}
    return f"DEMO_ARGS = {args!r}\n" + DEMO.read_text()


def run_once(board, src, out, args, controller="ssd1680", label="app"):
    """One run through a fresh simulator: (simulator summary, Result, LiveOutput)."""
    from tools.panel_sim import PanelServer
    from tools.panel_sim.buttons import parse_buttons

    out.mkdir(parents=True, exist_ok=True)
    files = getattr(args, "file", None) or []
    cwd = board.place_files(files, out / "files") if files else None
    schedule, presses = parse_buttons(getattr(args, "buttons", None))
    server = PanelServer("127.0.0.1:0", out=out, time_scale=args.time_scale,
                         buttons=schedule, presses=presses,
                         sram=getattr(args, "sram", None) or "23k640",
                         log=lambda msg: say(f"panel: {msg}"),
                         connect=board.panel_connect, controller=controller,
                         png_each=args.png_each, size=getattr(args, "size", None),
                         wiring=getattr(args, "wiring", None),
                         rotation=getattr(args, "rotation", 0))
    server.start()
    live = LiveOutput()
    t0 = time.monotonic()
    res = None
    stopped_at = None
    try:
        say(f"running {label}")
        stop_after = getattr(args, "stop_after", None)
        t_run = time.monotonic()
        until = presses.done.is_set if presses is not None else None
        try:
            res = board.run(src + EPILOGUE, timeout=stop_after or args.timeout,
                            env={"DEFIO_PANEL": server.address}, on_output=live,
                            until=until, **({"cwd": cwd} if cwd else {}))
        except subprocess.TimeoutExpired:
            if presses is not None and presses.done.is_set():
                # The app acted on every press and read the buttons after the last refresh.
                say(f"stopped {label}: it acted on every button press (--buttons), as planned")
                stopped_at = presses.done_at
            elif presses is not None:
                say(f"the buttons when it was stopped: {presses.describe()}")
                raise
            elif not stop_after:
                raise
            else:
                # An app that runs on (an endless loop): stopped as asked, a planned end.
                say(f"stopped {label} after {stop_after:g} s, as asked (--stop-after)")
                stopped_at = t_run + stop_after
            res = Result("".join(live.text), "", 0)
        live.close()
        if board.panel_connect is None:
            server.wait_disconnected()
        if stopped_at is not None and server.forgive_hangups(stopped_at):
            say("the app was stopped in the middle of a link request: its hang-up is the stop")
        if server.summary()["refreshes"] or res.returncode == 0:
            say("waiting for the panel's last refresh")
        server.wait_idle()
    finally:
        live.close()
        server.stop()  # writes out/panel.png and out/panel.json
    (out / "output.txt").write_text("".join(live.text))
    summary = server.summary()
    summary["wall_s"] = round(time.monotonic() - t0, 3)
    return summary, res, live


def new_run_dir():
    runs = BUILD / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = runs / f"{stamp}-{os.getpid()}"
    path.mkdir()
    return path


def link_latest(run_dir):
    """build/run -> runs/<this run>, replaced atomically (an old real folder moves aside)."""
    link = BUILD / "run"
    if link.is_dir() and not link.is_symlink():
        link.rename(BUILD / "runs" / f"old-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    tmp = BUILD / f".run-{os.getpid()}"
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(run_dir.relative_to(BUILD))
    os.replace(tmp, link)


def check_args(args):
    """APP and BOARD before anything boots: RunError with one line."""
    try:
        args.board = check_board(args.board)
    except BoardError as e:
        raise RunError(str(e)) from None
    if args.app:
        app = pathlib.Path(args.app)
        if not app.is_file():
            raise RunError(f"APP={args.app}: no such file")
        try:
            compile(app.read_text(), str(app), "exec")
        except (SyntaxError, UnicodeDecodeError) as e:
            raise RunError(f"APP={args.app}: {e}") from None
    if args.timeout is not None and args.timeout <= 0:
        raise RunError(f"TIMEOUT={args.timeout}: give seconds > 0")
    if args.stop_after is not None and args.stop_after <= 0:
        raise RunError(f"--stop-after {args.stop_after:g}: give seconds > 0")
    for path in args.file or []:
        if not pathlib.Path(path).is_file():
            raise RunError(f"--file {path}: no such file")
    from tools.panel_sim.buttons import parse_buttons

    try:
        parse_buttons(args.buttons)
    except ValueError as e:
        raise RunError(f"--buttons: {e}") from None
    choose_panel(args)


def choose_panel(args):
    """args.panel, .size, .wiring, .rotation: PANEL= if given, else the app's constructor
    (tools/examples/detect.py); the pins and rotation come from the app whenever they can."""
    from tools.examples.detect import DetectError, detect, parse_panel
    from tools.panel_sim.server import CONTROLLERS, DEFAULT_WIRING

    args.size, args.wiring, args.rotation = None, None, 0
    given = None
    if args.panel:
        try:
            given = parse_panel(args.panel)
        except ValueError as e:
            raise RunError(str(e)) from None
    if args.app:
        try:
            found = detect(pathlib.Path(args.app).read_text(), args.app)
        except DetectError as e:
            if given is None:
                say(f"cannot tell the panel from the app's constructor ({e}); "
                    "simulating ssd1680 with the board's wiring (PANEL=key[:WxH] picks one)")
            found = None
        if found is not None:
            args.wiring = dict(DEFAULT_WIRING, **found.wiring())
            args.rotation = found.rotation
            if given is None:
                given = (found.key, found.size)
    key, args.size = given or ("ssd1680", None)
    if key not in CONTROLLERS:
        raise RunError(f"unknown panel {key!r}: one of {' '.join(sorted(CONTROLLERS))}")
    if not args.app and key not in ("ssd1680", "uc8151d"):
        raise RunError(f"PANEL={key}: the demo drives ssd1680 or uc8151d")
    args.panel = key


def parse(argv):
    ap = argparse.ArgumentParser(prog="run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", default="unix",
                    help="unix, qemu (MPS2_AN385) or a QEMU board of boards/")
    ap.add_argument("--app", default=None, help="an app to run instead of our demo")
    ap.add_argument("--out", default=None, help="default: build/runs/<time>-<pid>, "
                    "linked as build/run when the run is good")
    ap.add_argument("--timeout", type=float, default=600, help="seconds the app may run")
    ap.add_argument("--time-scale", type=float, default=1.0,
                    help="the simulated chip's own refresh times x this (a row per chip; "
                    "1.0: ssd1680 full 2.5 s, partial 0.4 s; panel.json `times`)")
    ap.add_argument("--seconds", type=int, default=12, help="demo length in clock ticks")
    ap.add_argument("--tick-ms", type=int, default=1000)
    ap.add_argument("--panel", default=None,
                    help="KEY[:WIDTHxHEIGHT], a key of the simulator's CONTROLLERS (default: "
                    "detected from the app's driver constructor; the demo: ssd1680)")
    ap.add_argument("--stop-after", type=float, default=None,
                    help="stop the app after S seconds and take that as its end (exit 0): "
                    "an app with an endless loop")
    ap.add_argument("--buttons", default=None,
                    help="press the simulated shield's buttons (A3): BUTTON@START+SECONDS,... "
                    "in seconds from the app's first frame, e.g. 1@0.5+1,2@2+1; or 1,2,3,4: each "
                    "held until the app's next refresh starts, the run ends after the last")
    ap.add_argument("--sram", default="23k640", choices=("23k640", "23k256"),
                    help="the board's SPI SRAM chip (23k256: 32 KiB, for panels whose planes "
                    "need more than 8 KiB)")
    ap.add_argument("--file", action="append", default=None,
                    help="a file to put where the app opens it (its current folder); "
                    "repeatable")
    ap.add_argument("--png-each", action="store_true",
                    help="also write refresh-NNNN.png after every refresh")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive comparison run")
    return ap.parse_args(argv)


def main(argv=None):
    """Run; returns the result dict (panel.json). Raises SystemExit with the exit status
    when the run failed."""
    args = parse(argv)
    try:
        check_args(args)
    except RunError as e:
        print(f"run: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    out = pathlib.Path(args.out) if args.out else new_run_dir()
    board = None
    try:
        where = "the Unix port" if args.board == "unix" else f"{args.board} in QEMU"
        say(f"booting {where}")
        board = make_board(args.board)
        result, status = run_all(board, args, out)
    except KeyboardInterrupt:
        if board is not None:
            board.close()
            board = None
        print("\nrun: interrupted; QEMU and the simulator are stopped" if args.board != "unix"
              else "\nrun: interrupted; the app and the simulator are stopped", file=sys.stderr)
        raise SystemExit(130) from None
    except RuntimeError as e:  # a missing build, QEMU that would not start
        print(f"run: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        if board is not None:
            board.close()
    if status == 0 and not args.out:
        link_latest(out)
    if status:
        raise SystemExit(status)
    return result


def run_all(board, args, out):
    app = args.app or "examples/epd_demo.py"
    src = pathlib.Path(args.app).read_text() if args.app else demo_src(
        False, args.seconds, args.tick_ms, args.panel)
    try:
        summary, res, live = run_once(board, src, out, args, args.panel, app)
    except subprocess.TimeoutExpired:
        say(f"stopped {app}: still running after {args.timeout:g} s (TIMEOUT=); "
            f"the panel so far: {out / 'panel.png'}")
        return None, 124
    used_defio = live.reports[-1:] == ["True"]
    result = {k: summary[k] for k in ("bytes", "refreshes", "partial_refreshes",
                                      "full_refreshes", "time_to_final_s")}
    device = [ast.literal_eval(line[len(STATS):]) for line in res.out.splitlines()
              if line.startswith(STATS)]
    result.update(board=args.board, app=app, time_scale=args.time_scale,
                  used_defio=used_defio, device_stats=device[-1] if device else None,
                  returncode=res.returncode, panel_errors=summary["errors"],
                  link_errors=summary["link_errors"], panel=summary["panel"],
                  native_size=summary["native_size"], rotation=summary["rotation"],
                  error_count=summary["error_count"], error_summary=summary["error_summary"])
    if res.returncode == 0 and not args.app and not args.no_naive:
        say("running the same demo the naive way (display() after every change)")
        naive, nres, _ = run_once(board, demo_src(True, args.seconds, args.tick_ms,
                                                  args.panel),
                                  out / "naive", args, args.panel, "the naive demo")
        result.update(naive_bytes=naive["bytes"], naive_refreshes=naive["refreshes"],
                      naive_full_refreshes=naive["full_refreshes"],
                      naive_time_to_final_s=naive["time_to_final_s"])
        from PIL import Image, ImageChops

        a = Image.open(out / "panel.png").convert("RGB")
        b = Image.open(out / "naive" / "panel.png").convert("RGB")
        result["same_final_image_as_naive"] = ImageChops.difference(a, b).getbbox() is None
        if nres.returncode:
            result["returncode"] = nres.returncode
    result["simulator"] = summary
    (out / "panel.json").write_text(json.dumps(result, indent=1) + "\n")
    print_summary(result, app, args)
    if result["returncode"] != 0:
        say(f"{app} failed on {args.board}"
            + (" (the board crashed)" if result["returncode"] < 0 else "")
            + f"; output in {out / 'output.txt'}")
        return result, 1
    if summary["error_count"]:
        kinds = summary["error_summary"]
        first = next(iter(kinds.values()))["first"][0]
        say(f"the panel saw {summary['error_count']} protocol error(s) of {len(kinds)} "
            f"kind(s); first: {first} (each kind counted in panel.json)")
        return result, 1
    return result, 0


def print_summary(result, app, args):
    label = "defio" if result["used_defio"] else "panel"
    say(f"{app} on {args.board}, refresh times x{args.time_scale:g}")
    print(f"  {label}:  {result['bytes']} bytes, {result['refreshes']} refreshes "
          f"({result['partial_refreshes']} partial, {result['full_refreshes']} full)"
          + (f", final image after {result['time_to_final_s']} s"
             if result["refreshes"] else ""), file=sys.stderr)
    if "naive_bytes" in result:
        print(f"  naive:  {result['naive_bytes']} bytes, {result['naive_refreshes']} "
              f"refreshes (all full), final image after {result['naive_time_to_final_s']} s",
              file=sys.stderr)
        print(f"  ratio:  {result['naive_bytes'] / max(result['bytes'], 1):.1f}x fewer bytes; "
              f"same final image: {result['same_final_image_as_naive']}", file=sys.stderr)


def cli(argv=None):
    try:
        result = main(argv)
    except SystemExit as e:
        return e.code
    if result is not None:
        out = BUILD / "run"
        say(f"wrote {out / 'panel.png'} and {out / 'panel.json'}"
            if not parse(argv).out else f"wrote {parse(argv).out}")
    return 0


if __name__ == "__main__":
    sys.exit(cli())
