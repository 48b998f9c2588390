#!/usr/bin/env python3
"""The e-paper half of `make soak`: a seeded, randomized app on the Unix port or the firmware
in QEMU, drawing through the Adafruit API into an attached display, with panel restarts,
dropped and corrupt frames and replies, stuck BUSY and dropped connections injected by the
simulated panel. At the end of every round the panel must show and hold exactly the app's
image (the simulator compares crc32s of its visible image and RAM with the reference planes the
app drew into plain buffers; a miss also saves the panel's PNG).

    .venv/bin/python tools/soak/epd.py [--target unix|qemu] [--rounds N] [--seed S]
                                       [--controller ssd1680|uc8151d] [--faults PCT] [--out DIR]

Prints the seed first (the same seed replays the same app and the same fault requests; the
frame-exact interleaving with the timer may differ) and ends with one line:

    soak-epd: N rounds, M refreshes, 0 wrong images, seed S

Exit status 0 when every round was checked and showed the right image (and RAM), else 1.
The device half is tools/soak/epd_device.py.
"""

import argparse
import ast
import os
import pathlib
import re
import sys
import threading
import time

from tools.panel_sim import PanelServer

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent

DEVICE = pathlib.Path(__file__).with_name("epd_device.py")
PYLIB = ROOT / "build" / "pylib"
TIME_SCALE = 0.005  # full refresh 12.5 ms, partial 2 ms
DEFAULT_ROUNDS = {"unix": 4000, "qemu": 1000}


def device_source(seed, rounds, controller, target_name, fault_percent, scribble_round,
                  progress):
    settings = {"SEED": seed, "ROUNDS": rounds, "KIND": controller,
                "FONT_DIR": str(PYLIB) if target_name == "unix" else "/",
                "FAULT_PERCENT": fault_percent, "SCRIBBLE_ROUND": scribble_round,
                "PROGRESS": progress}
    src = DEVICE.read_text()
    for name, value in settings.items():
        src, n = re.subn(rf"^{name} = .*$", f"{name} = {value!r}", src, count=1,
                         flags=re.MULTILINE)
        if n != 1:
            raise RuntimeError(f"{DEVICE}: no `{name} = ...` line")
    return src


def start_panel(target, controller, out):
    connect = target.panel_connect  # QEMU: the simulator connects to UART1's socket
    return PanelServer("127.0.0.1:0", out=out, time_scale=TIME_SCALE, controller=controller,
                       log=lambda msg: None, connect=connect).start()


def soak(target, rounds, seed, controller="ssd1680", out=None, fault_percent=8,
         scribble_round=-1, progress_s=30, log=print):
    """Run the soak on `target` (a board of tools/boards.py); returns a dict with the figures
    and `line`, the final line. Does not raise for wrong images: `ok` says."""
    sim = start_panel(target, controller, out)
    src = device_source(seed, rounds, controller, target.name, fault_percent, scribble_round,
                        max(1, rounds // 10))
    done = threading.Event()
    t0 = time.monotonic()

    def report_progress():
        while not done.wait(progress_s):
            log(f"soak-epd: {sim.marks}/{rounds} rounds checked, "
                f"{sim.total_counters()['refreshes']} refreshes, "
                f"{sum(not m['ok'] for m in sim.bad_marks)} wrong images, "
                f"{time.monotonic() - t0:.0f} s", flush=True)

    threading.Thread(target=report_progress, daemon=True).start()
    try:
        res = target.run(src, timeout=120 + 5 * rounds, env={"DEFIO_PANEL": sim.address})
    finally:
        done.set()
        if sim.connect is None:
            try:
                sim.wait_disconnected()
            except TimeoutError:
                pass
        sim.stop()
    device = {}
    notes = []
    for line in res.out.splitlines():
        if line.startswith("soak-epd-device: "):
            counts, _, rest = line[len("soak-epd-device: "):].partition("} ")
            device = ast.literal_eval(counts + "}")
            notes = ast.literal_eval(rest)
    wrong = sum(not m["ok"] for m in sim.bad_marks)
    ram_wrong = sum(not m["ram_ok"] for m in sim.bad_marks)
    missing = rounds - sim.marks
    refreshes = sim.total_counters()["refreshes"]
    # (Tracebacks of rounds that failed under injected faults are printed by defio and
    # expected; the app's own failure is the exit status.)
    ok = (res.returncode == 0 and missing == 0 and wrong == 0 and ram_wrong == 0
          and device.get("buffer_wrong", 1) == 0)
    line = (f"soak-epd: {sim.marks} rounds, {refreshes} refreshes, {wrong + missing} wrong "
            f"images, seed {seed}")
    return {"ok": ok, "line": line, "rounds": sim.marks, "wanted_rounds": rounds,
            "refreshes": refreshes, "wrong": wrong, "missing": missing, "ram_wrong": ram_wrong,
            "seed": seed, "device": device, "notes": notes, "faults": dict(sim.faults_fired),
            "replaced": sim.replaced, "link_errors": len(sim.link_errors),
            "panel_errors": sim.controller.errors[:5], "bad_marks": sim.bad_marks[:5],
            "out": res.out, "err": res.err, "returncode": res.returncode,
            "seconds": round(time.monotonic() - t0, 1)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", default="unix", choices=("unix", "qemu"))
    ap.add_argument("--rounds", type=int, default=None,
                    help=f"default: {DEFAULT_ROUNDS['unix']} (unix), {DEFAULT_ROUNDS['qemu']} "
                    "(qemu)")
    ap.add_argument("--seed", type=int, default=None, help="default: a random one")
    ap.add_argument("--controller", default="ssd1680", choices=("ssd1680", "uc8151d"))
    ap.add_argument("--faults", type=int, default=8,
                    help="percent of the app's random actions that ask for a fault (0..17)")
    ap.add_argument("--out", default=str(ROOT / "build" / "soak" / "epd"),
                    help="the panel's PNG/JSON and wrong-ROUND.png for misses")
    args = ap.parse_args(argv)
    if not 0 <= args.faults <= 17:
        ap.error("--faults must be in 0..17")
    rounds = args.rounds or DEFAULT_ROUNDS[args.target]
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(3), "little")
    print(f"soak-epd: seed {seed}, {rounds} rounds on {args.target}, {args.controller}, "
          f"faults {args.faults} %", flush=True)
    from tools.boards import make_board

    target = make_board("MPS2_AN385" if args.target == "qemu" else "unix")
    try:
        r = soak(target, rounds, seed, args.controller, pathlib.Path(args.out), args.faults)
    finally:
        target.close()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "device.log").write_text(r["out"] + r["err"])
    for line in r["out"].splitlines():
        if line.startswith("soak-epd: ") and "/" not in line.split(",")[0]:
            print(line)  # the device's own findings (not its progress lines)
    if r["err"]:
        print(r["err"], file=sys.stderr)
    failed = (r["out"] + r["err"]).count("Traceback")
    print(f"soak-epd: {failed} failed rounds printed by defio (the "
          f"injected faults; in {out / 'device.log'}), notes {r['notes']}")
    print(f"soak-epd: device {r['device']}")
    print(f"soak-epd: simulator faults {r['faults']}, {r['replaced']} panels replaced, "
          f"{r['link_errors']} link errors, {r['seconds']} s")
    if r["panel_errors"]:
        print(f"soak-epd: protocol errors at the panel: {r['panel_errors']}")
    if not r["ok"]:
        print(f"soak-epd: FAILED ({r['missing']} rounds unchecked, {r['ram_wrong']} RAM "
              f"mismatches, exit status {r['returncode']}); replay: "
              f"python -m tools.soak.epd --target "
              f"{args.target} --rounds {rounds} --seed {seed} --controller {args.controller} "
              f"--faults {args.faults}")
    print(r["line"], flush=True)
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
