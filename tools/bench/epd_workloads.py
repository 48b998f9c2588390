"""E-paper workloads: bytes to the panel, refreshes and time to the final image for defio_epd
(pages + shadow), the page list alone (no shadow) and the naive way (display() after every
change). The `workloads` part of `make bench`.

    .venv/bin/python -m tools.bench.epd_workloads [--board unix|qemu] [--time-scale 0.05]
        [--app-scale 0.4] [--tick-ms 1000] [--out build/bench/epd.json]

Workloads (examples/epd_demo.py's page on the SSD1680 panel, already shown before each run):
  clock_tick     one digit changes each second for a minute: 60 bursts of one change
  text_line      a text line changes each second: 12 bursts of one change
  sparse_pixels  seeded random pixels: 8 bursts of 4 single pixels, one burst a second
  burst_100      100 small filled squares drawn within one delay_ms: 1 burst of 100 changes
  full_redraw    the whole page redrawn inverted: 1 burst of one change
  slow_redraw    the whole page redrawn in 15 strips, one per 100 ms: the drawing takes 3 x
                 delay_ms (with settle: one refresh; without: one per delay_ms or so)
  animation      a moving square and a frame count, one frame per 100 ms for 10 x
                 max_delay_ms (with settle: one refresh per max_delay_ms)
Each workload runs three times, each through a fresh simulator and device process:
  defio   defio_epd.attach(d) with its defaults (delay_ms=500, settle_ms=200,
          max_delay_ms=5000): the app never calls display()
  pages   the same with shadow=False: every row of every dirty page, per plane
  naive   no defio: display() after every change (Adafruit's full update each time; not
          for animation, whose 500 full updates would take minutes)
slow_redraw and animation run once more, `nosettle`: defio without the settle phase
(settle_ms=0, max_delay_ms=0), as before issue 14.

Figures per workload: `bursts` (changes the app made between waits), `changes`, `bytes`,
`refreshes`, `partial_refreshes`, `full_refreshes`, `time_to_final_ms`, `naive_bytes`,
`naive_refreshes`, `naive_full_refreshes`, `naive_time_to_final_ms`, `pages_only_bytes`,
`pages_only_refreshes`, `pages_only_time_to_final_ms`, `same_final_image`, `ideal_bytes`,
`bytes_over_ideal`, and for slow_redraw and animation `nosettle_*` (bytes, refreshes,
ideal_bytes, bytes_over_ideal, time_to_final_ms). Bytes and refreshes are the simulator's
counts (SPI bytes with chip select low) between the app's first change and the final image.

`ideal_bytes`: for each refresh of the run (a round), what the panel had to be told at the
least: in every plane row that the refresh changed on the panel, the bytes from its first to
its last differing byte, plus one RAM window setup (RAM X/Y window, X/Y counters and the
write-RAM command: 14 bytes) and that refresh's own command bytes (SSD1680: partial 11 with
its window, full 3), summed over the run's refreshes. Rows are compared between the image
the panel showed before the refresh and after it, so it follows the run's own rounds.

Time. --time-scale S multiplies the panel's refresh times (SSD1680: full 2.5 s, partial 0.4 s);
--app-scale A the app's tick (--tick-ms, one second), delay_ms (500), settle_ms (200) and
max_delay_ms (5000). A is separate and
larger because the device's own work (drawing, the rounds, the link, the driver's fixed
sleeps) runs at its real speed: a burst must still fit in the real delay_ms (100 draws take
~160 ms in QEMU) and a round in a tick. `time_to_final_ms` is measured on the simulator's
clock from the app's first change to the end of the last refresh, unscaled: the app's k-th
wait for its tick ends at k * tick_ms (or later if the app is behind: the naive way), the
panel's BUSY time between waits is divided by S, delay_ms after the last change by A:
milliseconds of the unscaled panel model ("time_unit" in the JSON).
On unix the three runs of a workload go in parallel (each has its own simulator).
Device -> simulator markers: link pin 13 high while the app waits for its next tick, low
while it draws (the first low is the start); pin 12 low after the last change, high once
the final image is on the panel (the simulator takes its counters then).

`make bench` uses the defaults (--time-scale 0.05 --app-scale 0.4): about 1.5-2 minutes on
unix, 3-4 on qemu.
"""

import argparse
import ast
import itertools
import json
import pathlib
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from tools import run as run_demo
from tools.boards import PYLIB, ROOT, make_board
from tools.panel_sim import PanelServer
from tools.panel_sim import protocol as P

DELAY_MS = 500  # defio_epd's delay_ms in the model (the default; scaled by --app-scale)
SETTLE_MS = 200  # its settle_ms and max_delay_ms (the defaults; scaled the same way)
MAX_DELAY_MS = 5000
TIME_UNIT = "ms (panel model, unscaled)"
WAIT_PIN, DONE_PIN = 13, 12
MODES = ("defio", "pages", "naive")
# Workloads run once more without the settle phase; workloads without a naive run.
NOSETTLE = ("slow_redraw", "animation")
NO_NAIVE = ("animation",)
# The app's tick per workload (model ms, unscaled; default --tick-ms).
TICKS = {"slow_redraw": 100, "animation": 100}
# The least a round costs besides its pixels (SSD1680Ops): one band's RAM window (0x44 + 2,
# 0x45 + 4), counters (0x4E + 1, 0x4F + 2) and write-RAM command (1); the refresh commands:
# partial = its window (8) + 0x22 + 1 + 0x20, full = 0x22 + 1 + 0x20.
WINDOW_SETUP_BYTES = 14
REFRESH_BYTES = {"partial": 11, "full": 3}


def sparse_pixels(seed=6, bursts=8, per_burst=4, width=122, height=250):
    rnd = random.Random(seed)
    return [[(rnd.randrange(width), rnd.randrange(height)) for _ in range(per_burst)]
            for _ in range(bursts)]


WORKLOADS = {
    "clock_tick": """
for s in range(1, 61):
    if s > 1:
        wait_tick(s - 1)
    draw_clock(d, s, BLACK, WHITE); change()
""",
    "text_line": """
for i in range(12):
    if i:
        wait_tick(i)
    draw_line(d, i % 3, 100 + 7 * i, BLACK, WHITE); change()
""",
    "sparse_pixels": f"""
for k, burst in enumerate({sparse_pixels()!r}):
    if k:
        wait_tick(k)
    for x, y in burst:
        d.pixel(x, y, BLACK); change()
""",
    "burst_100": """
for i in range(100):
    d.fill_rect(4 + (i % 10) * 11, 130 + (i // 10) * 9, 4, 4, BLACK); change()
""",
    "full_redraw": """
draw_page(d, 9, [1, 2, 3], True); change()
""",
    "slow_redraw": """
for k in range(15):
    if k:
        wait_tick(k)
    y0, y1 = k * d.height // 15, (k + 1) * d.height // 15
    d.fill_rect(0, y0, d.width, y1 - y0, BLACK)
    d.text("strip %d" % k, 4 + 3 * k, y0 + 4, WHITE); change()
""",
    "animation": """
for k in range(10 * MAX_DELAY_MS // TICK_MS):
    if k:
        wait_tick(k)
    x = 4 + (5 * k) % (d.width - 28)
    d.fill_rect(0, 150, d.width, 34, WHITE)
    d.fill_rect(x, 152, 20, 20, BLACK)
    d.text("frame %d" % k, 4, 175, BLACK); change()
""",
}

DEVICE = """
import panel_link
MODE, TICK_MS, DELAY_MS, MARK_WAITS = {mode!r}, {tick_ms}, {delay_ms}, {mark_waits}
SETTLE_MS, MAX_DELAY_MS = {settle_ms}, {max_delay_ms}
d = make_display()
d.rotation = 0
live = None
if MODE != "naive":
    settle = MODE != "nosettle"
    live = defio_epd.attach(d, delay_ms=DELAY_MS, settle_ms=SETTLE_MS if settle else 0,
                            max_delay_ms=MAX_DELAY_MS if settle else 0,
                            shadow=MODE != "pages")
draw_page(d, 0, [20, 5, 0])
if live is None:
    d.display()
else:
    live.flush()
link = panel_link.get()
counts = [0, 1]  # changes, bursts


def mark(pin, level):
    link.pin(pin, level, flush=True)


def change():
    counts[0] += 1
    if live is None:
        d.display()


def wait_tick(k):
    counts[1] += 1
    if MARK_WAITS:
        mark({wait_pin}, 1)
    w = time.ticks_diff(time.ticks_add(start, k * TICK_MS), time.ticks_ms())
    if w > 0:
        time.sleep_ms(w)
    if MARK_WAITS:
        mark({wait_pin}, 0)


b0 = link.spi_bytes
mark({wait_pin}, 0)
start = time.ticks_ms()
WORKLOAD
app_ms = time.ticks_diff(time.ticks_ms(), start)
mark({done_pin}, 0)
if live is not None:
    time.sleep_ms(2 * (DELAY_MS + SETTLE_MS) + 20)  # the round comes by itself after the burst
    live.flush()  # then wait for its refresh (BUSY)
mark({done_pin}, 1)
stats = None if live is None else live.stats()
print("@@", repr({{"changes": counts[0], "bursts": counts[1], "app_ms": app_ms,
                   "link_bytes": link.spi_bytes - b0, "stats": stats}}))
if live is not None:
    live.deinit()
"""


class BenchServer(PanelServer):
    """The simulator, plus the times of the device's markers and of every refresh."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.marks = []  # (t, pin, level)
        self.busy = []  # (start, end) of each refresh
        self.snaps = {}
        self.images = []  # (kind, visible planes) at the start mark and after each refresh

    def _handle(self, ftype, payload, pos):
        if ftype == P.T_PIN and len(payload) == 2 and payload[0] in (WAIT_PIN, DONE_PIN):
            pin, level = payload
            self.marks.append((self.controller.clock(), pin, level))
            key = "start" if pin == WAIT_PIN else ("end" if level else None)
            if key and key not in self.snaps:
                self.snaps[key] = dict(self.controller.counters)
                if key == "start":
                    self.images = [(None, [bytes(p) for p in self.controller.visible])]
        return super()._handle(ftype, payload, pos)

    def _refreshed(self, kind, window):
        self.busy.append((self.controller.clock(), self.controller.busy_until))
        if self.images and "end" not in self.snaps:
            self.images.append((kind, [bytes(p) for p in self.controller.visible]))
        super()._refreshed(kind, window)


def ideal_bytes(images, stride):
    """The least a run's refreshes had to send (see the module's docstring): per refresh, the
    first to last differing byte of every plane row it changed, one window setup and its
    refresh command. `images`: the panel's image at the start, then after each refresh."""
    total = 0
    for (_, before), (kind, after) in itertools.pairwise(images):
        total += WINDOW_SETUP_BYTES + REFRESH_BYTES[kind]
        for old, new in zip(before, after):
            for a in range(0, len(new), stride):
                if old[a:a + stride] == new[a:a + stride]:
                    continue
                x0 = next(x for x in range(stride) if old[a + x] != new[a + x])
                x1 = next(x for x in reversed(range(stride)) if old[a + x] != new[a + x])
                total += x1 - x0 + 1
    return total


def union_length(intervals, lo, hi):
    """Total length of the union of the intervals, clipped to [lo, hi]."""
    total, end = 0.0, lo
    for a, b in sorted(intervals):
        a, b = max(a, end), min(b, hi)
        if b > a:
            total += b - a
            end = b
    return total


def panel_time_ms(server, scale, app_scale, tick_ms, delay_s, paced=False):
    """Simulator time from the first change to the end of the last refresh, unscaled (see the
    module's docstring): the app's k-th wait ends at k * tick_ms unless the app is already
    later (the naive way falls behind); between waits, real time with the panel's BUSY
    divided by the panel scale; after the last change, delay_ms divided by the app scale.
    `paced`: the app marked no waits (its ticks run in scaled real time): from its first to
    its last change, real time divided by the app scale."""
    marks = server.marks
    t_start = next(t for t, pin, _ in marks if pin == WAIT_PIN)
    t_done = next(t for t, pin, level in marks if pin == DONE_PIN and level == 0)
    busy = [(a, b) for a, b in server.busy if a >= t_start]
    t_final = max([b for _, b in busy], default=t_done)
    waits, waiting = [], None
    for t, pin, level in marks:
        if pin != WAIT_PIN:
            continue
        if level and waiting is None:
            waiting = t
        elif not level and waiting is not None:
            waits.append((waiting, t))
            waiting = None

    def segment(lo, hi, delay=()):
        app = union_length(list(delay), lo, hi)
        panel = union_length(list(delay) + busy, lo, hi) - app
        return (hi - lo) + app * (1 / app_scale - 1) + panel * (1 / scale - 1)

    unscaled, prev = 0.0, t_start
    for k, (t1, t2) in enumerate(waits, 1):
        unscaled = max(unscaled + segment(prev, t1), k * tick_ms / 1000)
        prev = t2
    delay = [(t_done, t_done + delay_s)] if delay_s else []
    if paced:
        delay.append((t_start, t_done))
    unscaled += segment(prev, max(prev, t_final), delay)
    return round(unscaled * 1000)


def run_one(board, src, scale, app_scale, tick_ms, delay_s, timeout, paced=False):
    """One device run through a fresh simulator: the figures of that run."""
    server = BenchServer("127.0.0.1:0", out=None, time_scale=scale, connect=board.panel_connect,
                         log=lambda msg: print(f"  panel_sim: {msg}", file=sys.stderr))
    server.start()
    try:
        res = board.run(src + run_demo.EPILOGUE, timeout, env={"DEFIO_PANEL": server.address})
        rc, text = res.returncode, res.out + res.err
        if board.panel_connect is None:
            server.wait_disconnected()
        server.wait_idle()
    finally:
        server.stop()
    reports = [line[3:] for line in text.splitlines() if line.startswith("@@ ")]
    errors = server.controller.errors + server.link_errors
    if rc != 0 or not reports or errors or set(server.snaps) != {"start", "end"}:
        print(text, file=sys.stderr)
        raise RuntimeError(f"epd_workloads: the run failed on {board.name} (exit status {rc}, "
                           f"panel errors {errors})")
    device = ast.literal_eval(reports[-1])
    c0, c1 = server.snaps["start"], server.snaps["end"]
    diff = {k: c1[k] - c0[k] for k in ("bytes", "refreshes", "partial_refreshes",
                                       "full_refreshes")}
    diff.update(time_to_final_ms=panel_time_ms(server, scale, app_scale, tick_ms, delay_s,
                                               paced),
                bursts=device["bursts"], changes=device["changes"],
                app_ms=device["app_ms"], device=device,
                visible=[bytes(p) for p in server.controller.visible],
                ideal_bytes=ideal_bytes(server.images, server.controller.xbytes))
    return diff


def measure(board, name, args):
    demo = "DEMO_ARGS = None  # the definitions only\n" + run_demo.DEMO.read_text()
    delay = max(1, round(DELAY_MS * args.app_scale))
    settle = round(SETTLE_MS * args.app_scale)
    max_delay = round(MAX_DELAY_MS * args.app_scale)

    tick_ms = TICKS.get(name, args.tick_ms)

    def one(mode):
        # A paced workload marks no waits where rounds run: a round that comes while the app
        # talks to the simulator over the link (a marker) is put off until the link is free,
        # which would measure the markers, not the library.
        paced = name in TICKS and mode != "naive"
        src = demo + DEVICE.format(mode=mode, tick_ms=round(tick_ms * args.app_scale),
                                   delay_ms=delay, settle_ms=settle, max_delay_ms=max_delay,
                                   wait_pin=WAIT_PIN, done_pin=DONE_PIN,
                                   mark_waits=not paced)
        src = src.replace("WORKLOAD", WORKLOADS[name].strip())
        after = {"naive": 0, "nosettle": delay}.get(mode, delay + settle)
        return run_one(board, src, args.time_scale, args.app_scale, tick_ms, after / 1000,
                       args.timeout, paced)

    modes = [m for m in MODES if not (m == "naive" and name in NO_NAIVE)]
    if name in NOSETTLE:
        modes.append("nosettle")
    if board.name == "unix":  # independent processes and simulators: side by side
        with ThreadPoolExecutor(len(modes)) as pool:
            futures = {mode: pool.submit(one, mode) for mode in modes}
            runs = {mode: f.result(timeout=args.timeout + 60) for mode, f in futures.items()}
    else:
        runs = {mode: one(mode) for mode in modes}
    a, p = runs["defio"], runs["pages"]
    n = runs.get("naive", dict.fromkeys(("bytes", "refreshes", "full_refreshes",
                                         "time_to_final_ms")))
    finals = [r["visible"] for r in runs.values()]
    out = {
        "bursts": a["bursts"], "changes": a["changes"],
        "bytes": a["bytes"], "refreshes": a["refreshes"],
        "partial_refreshes": a["partial_refreshes"], "full_refreshes": a["full_refreshes"],
        "time_to_final_ms": a["time_to_final_ms"],
        "naive_bytes": n["bytes"], "naive_refreshes": n["refreshes"],
        "naive_full_refreshes": n["full_refreshes"],
        "naive_time_to_final_ms": n["time_to_final_ms"],
        "pages_only_bytes": p["bytes"], "pages_only_refreshes": p["refreshes"],
        "pages_only_time_to_final_ms": p["time_to_final_ms"],
        "same_final_image": all(f == finals[0] for f in finals),
        "ideal_bytes": a["ideal_bytes"],
        "bytes_over_ideal": round(a["bytes"] / a["ideal_bytes"], 3),
        "app_ms_real": {m: r["app_ms"] for m, r in runs.items()},
        "library_stats": {m: runs[m]["device"]["stats"] for m in runs if m != "naive"},
    }
    if "nosettle" in runs:
        s = runs["nosettle"]
        out.update(nosettle_bytes=s["bytes"], nosettle_refreshes=s["refreshes"],
                   nosettle_partial_refreshes=s["partial_refreshes"],
                   nosettle_full_refreshes=s["full_refreshes"],
                   nosettle_ideal_bytes=s["ideal_bytes"],
                   nosettle_bytes_over_ideal=round(s["bytes"] / s["ideal_bytes"], 3),
                   nosettle_time_to_final_ms=s["time_to_final_ms"])
    return out


def _opt(value, fmt, width):
    return f"{'-':>{width}s}" if value is None else f"{value:>{width}{fmt}}"


def table(result):
    head = (f"{'workload':20s}{'bursts':>7s}{'bytes':>8s}{'ideal':>7s}{'x ideal':>8s}"
            f"{'pages':>8s}{'naive':>8s}{'refr p/f':>10s}{'naive':>7s}{'final s':>9s}"
            f"{'naive s':>9s}  same")
    lines = [head]
    for name, w in result["workloads"].items():
        naive_s = w["naive_time_to_final_ms"]
        lines.append(
            f"{name:20s}{w['bursts']:7d}{w['bytes']:8d}{w['ideal_bytes']:7d}"
            f"{w['bytes_over_ideal']:8.2f}{w['pages_only_bytes']:8d}"
            f"{_opt(w['naive_bytes'], 'd', 8)}{w['partial_refreshes']:6d}/"
            f"{w['full_refreshes']:<3d}{_opt(w['naive_refreshes'], 'd', 7)}"
            f"{w['time_to_final_ms'] / 1000:9.1f}"
            f"{_opt(None if naive_s is None else naive_s / 1000, '.1f', 9)}"
            f"  {w['same_final_image']}")
        if "nosettle_bytes" in w:
            lines.append(
                f"{'  same, no settle':20s}{'':7s}{w['nosettle_bytes']:8d}"
                f"{w['nosettle_ideal_bytes']:7d}{w['nosettle_bytes_over_ideal']:8.2f}"
                f"{'':16s}{w['nosettle_partial_refreshes']:6d}/"
                f"{w['nosettle_full_refreshes']:<3d}{'':7s}"
                f"{w['nosettle_time_to_final_ms'] / 1000:9.1f}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="unix", help="unix, qemu or a folder name in boards/")
    ap.add_argument("--time-scale", type=float, default=0.05,
                    help="the panel's refresh times x this (default 0.05)")
    ap.add_argument("--app-scale", type=float, default=0.4,
                    help="the app's tick and delay_ms x this (default 0.4)")
    ap.add_argument("--tick-ms", type=int, default=1000,
                    help="the app's tick in the model (unscaled; the real wait is x app scale)")
    ap.add_argument("--only", action="append", choices=sorted(WORKLOADS),
                    help="run only this workload (repeatable)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per device run")
    ap.add_argument("--out", default=str(ROOT / "build" / "bench" / "epd.json"))
    args = ap.parse_args(argv)
    if not (0 < args.time_scale <= 1 and 0 < args.app_scale <= 1):
        ap.error("--time-scale and --app-scale must be within (0, 1]")
    if not (PYLIB / "font5x8.bin").exists():
        from tools import build_pylib

        build_pylib.main(["--out", str(PYLIB), "--font-module"])
    board = make_board(args.board)
    t0 = time.monotonic()
    result = {"board": board.name, "time_scale": args.time_scale,
              "app_scale": args.app_scale, "time_unit": TIME_UNIT,
              "tick_ms": args.tick_ms, "delay_ms": DELAY_MS, "workloads": {}}
    try:
        for name in args.only or WORKLOADS:
            print(f"epd_workloads: {name} on {board.name} ...", file=sys.stderr, flush=True)
            result["workloads"][name] = measure(board, name, args)
    finally:
        board.close()
    result["wall_s"] = round(time.monotonic() - t0, 1)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"e-paper workloads on {board.name}: bytes to the panel (defio = pages + shadow, "
          f"pages only, naive), refreshes, time to the final image ({TIME_UNIT}; "
          f"scales: panel {args.time_scale}, app {args.app_scale}; {result['wall_s']} s wall)")
    print(table(result))
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
