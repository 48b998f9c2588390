"""E-paper workloads (clock tick, text line, full redraw): bytes to the panel, refreshes and
time to the final image, defio_epd against the naive way (display() after every change).

    .venv/bin/python tools/bench/epd_workloads.py [--board unix|qemu] [--time-scale 1.0]
                                                 [--out build/bench/epd.json]

Each workload runs on a page already on the panel; bytes are the SPI bytes the device sent
(panel_link's counter), refreshes and time come from the device (defio_epd: stats and
flush(); naive: one refresh per display(), which returns after the refresh).
"""

import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import run_demo

WORKLOADS = {
    "clock_tick": """
for s in range(1, 6):
    draw_clock(d, s, BLACK, WHITE); show()
""",
    "text_line": """
for i in range(6):
    draw_line(d, i % 3, 100 + i, BLACK, WHITE); show()
""",
    "full_redraw": """
draw_page(d, 9, [1, 2, 3], True); show()
""",
}

BENCH = """
import panel_link
d = make_display()
live = None if NAIVE else defio_epd.attach(d, delay_ms=10000)
show = d.display if NAIVE else live.flush
draw_page(d, 0, [20, 5, 0]); show()
link = panel_link.get()
b0, t0 = link.spi_bytes, time.ticks_ms()
r0 = 0 if NAIVE else live.stats()["refreshes"]
calls = [0]
if NAIVE:
    def show():
        calls[0] += 1
        d.display()
WORKLOAD
ms = time.ticks_diff(time.ticks_ms(), t0)
refreshes = calls[0] if NAIVE else live.stats()["refreshes"] - r0
print("@@", repr({"bytes": link.spi_bytes - b0, "refreshes": refreshes, "ms": ms}))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="unix", help="unix, qemu or a folder name in boards/")
    ap.add_argument("--time-scale", type=float, default=1.0)
    ap.add_argument("--out", default=str(ROOT / "build" / "bench" / "epd.json"))
    args = ap.parse_args(argv)
    demo = run_demo.demo_src(False, 0, 0)
    demo = demo[:demo.index("print('@@'")]
    board = run_demo.make_board(args.board)
    results = {}
    try:
        for name, workload in WORKLOADS.items():
            for naive in (False, True):
                src = demo + f"NAIVE = {naive}\n" + BENCH.replace("WORKLOAD", workload)
                out = ROOT / "build" / "bench" / f"{name}{'-naive' if naive else ''}"
                _, device, _ = run_demo.run_once(board, src, out, args.time_scale, 600)
                results.setdefault(name, {})["naive" if naive else "defio"] = device
    finally:
        board.close()
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(f"e-paper workloads on {board.name} (refresh times x{args.time_scale}):")
    for name, r in results.items():
        a, b = r["defio"], r["naive"]
        print(f"  {name:12s} defio {a['bytes']:6d} B {a['refreshes']:2d} refreshes "
              f"{a['ms']:6d} ms | naive {b['bytes']:6d} B {b['refreshes']:2d} refreshes "
              f"{b['ms']:6d} ms")
    return results


if __name__ == "__main__":
    main()
