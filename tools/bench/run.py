#!/usr/bin/env python3
"""`make bench`: defio's figures on the Unix build and on the firmware in QEMU, side by side.

Writes build/bench/results.json and build/bench/bench.png and prints a table. Each comparison
is measured in the same run; on the firmware QEMU runs with `-icount shift=0`, so counts are
instructions (deterministic), not wall time. Speed goals live here, never in test asserts.

    .venv/bin/python -m tools.bench.run [--board MPS2_AN385] [--skip-workloads]
        [--backends MPS2_AN385,MPS2_AN385_V6M,MPS2_AN505]

--backends adds one row per board (so per MPU backend): first-write fault cost, defio's text
size and the limits.
"""

import argparse
import json
import pathlib
import re
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
BUILD = ROOT / "build"
OUT = BUILD / "bench"
from tools.bench import epd_workloads


def host_micro(runs=5):
    """Median over several runs of tools/bench/defio_micro.py on the Unix build."""
    samples = []
    for _ in range(runs):
        p = subprocess.run([str(BUILD / "unix" / "micropython"),
                            str(ROOT / "tools" / "bench" / "defio_micro.py")],
                           capture_output=True, text=True, timeout=120, check=True)
        samples.append(json.loads(p.stdout.strip().splitlines()[-1]))
    return {
        "host_fault_us": statistics.median(s["fault_us"] for s in samples),
        "host_fault_us_p90": statistics.median(s["fault_us_p90"] for s in samples),
        "host_fault_us_p99": statistics.median(s["fault_us_p99"] for s in samples),
        "host_dirty_write_ratio": statistics.median(s["dirty_write_ratio"] for s in samples),
    }


def mcu_micro(board):
    """tools/bench/defio_mcu.py on the firmware in QEMU with -icount shift=0."""
    from tools.boards import QemuBoard

    t = QemuBoard(board, panel="null", icount=True)
    try:
        res = t.run((ROOT / "tools" / "bench" / "defio_mcu.py").read_text(), timeout=600)
    finally:
        t.close()
    if res.returncode != 0:
        raise RuntimeError(f"defio_mcu.py failed on the firmware:\n{res.out}{res.err}")
    return json.loads(res.out.strip().splitlines()[-1])


def line_fit(points):
    """Least-squares line through (x, y): (slope, intercept)."""
    xs, ys = zip(*points)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = (sum((x - mx) * (y - my) for x, y in points)
             / sum((x - mx) ** 2 for x in xs))
    return slope, my - slope * mx


def sizes(board, ninst):
    """Firmware text/data/bss, the defio objects' text, the instance table entry."""
    elf = BUILD / board / "firmware.elf"
    out = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1].split()
    objs = sorted((BUILD / board / "defio").glob("*.o"))
    obj_text = 0
    for o in objs:
        line = subprocess.run(["arm-none-eabi-size", str(o)], capture_output=True, text=True,
                              check=True).stdout.splitlines()[1].split()
        obj_text += int(line[0])
    nm = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True,
                        check=True).stdout
    table = re.search(r"^\S+ (\S+) [bBdD] defio_table$", nm, re.MULTILINE)
    return {
        "firmware_text_bytes": int(out[0]),
        "firmware_data_bytes": int(out[1]),
        "firmware_bss_bytes": int(out[2]),
        "defio_text_bytes": obj_text,
        "defio_text_share": obj_text / int(out[0]),
        "instance_table_bytes_per_instance": int(table.group(1), 16) // ninst,
        "max_instances": ninst,
    }


def workloads(board_name):
    """tools/bench/epd_workloads.py with its default scales (reported unscaled)."""
    out = OUT / f"epd-{board_name}.json"
    subprocess.run([sys.executable, "-m", "tools.bench.epd_workloads",
                    "--board", board_name, "--out", str(out)], check=True, timeout=1800,
                   cwd=ROOT)
    return json.loads(out.read_text())


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wl = results.get("workloads") or {}
    names = list(wl)
    if not names:
        return False
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.27
    xs = range(len(names))
    for i, (key, label) in enumerate((("naive_bytes", "naive: display() each change"),
                                      ("pages_only_bytes", "defio: pages only"),
                                      ("bytes", "defio: pages + shadow"))):
        ax1.bar([x + (i - 1) * width for x in xs], [wl[n].get(key) or 0 for n in names],
                width, label=label)
    ax1.set_yscale("log")
    ax1.set_ylabel("bytes sent to the panel")
    for i, (key, label) in enumerate((("naive_time_to_final_ms", "naive"),
                                      ("time_to_final_ms", "defio"))):
        ax2.bar([x + (i - 0.5) * width for x in xs],
                [(wl[n].get(key) or 0) / 1000 for n in names], width, label=label)
    ax2.set_ylabel("time to the final image (s, panel model)")
    for ax in (ax1, ax2):
        ax.set_xticks(list(xs))
        ax.set_xticklabels(names, rotation=20)
        ax.legend(fontsize=8)
    fig.suptitle(f"defio e-paper workloads on {results['workloads_board']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def backends(boards, known):
    """Per board: its backend, the first-write fault cost, defio's text and the limits."""
    rows = {}
    for board in boards:
        mcu, sz = known.get(board) or (None, None)
        if mcu is None:
            mcu = mcu_micro(board)
            sz = sizes(board, mcu["max_instances"])
        faults = mcu["fault_instructions"]
        rows[board] = {
            "backend": mcu["backend"],
            "fault_instructions": statistics.median(faults.values()),
            "fault_instructions_every_other_page": faults["pages=8,instances=1,every other page"],
            "defio_text_bytes": sz["defio_text_bytes"],
            "max_instances": mcu["max_instances"],
            "max_pages": mcu["max_pages"],
            "page_size": mcu["page_size"],
        }
    return rows


def backends_table(rows):
    head = ("board", "backend", "fault insns", "every other page", "defio text",
            "instances", "pages")
    lines = [(f"{head[0]:<16}{head[1]:<12}{head[2]:>12}{head[3]:>18}{head[4]:>12}"
              f"{head[5]:>11}{head[6]:>7}")]
    for board, v in rows.items():
        lines.append(f"{board:<16}{v['backend']:<12}{v['fault_instructions']:>12.0f}"
                     f"{v['fault_instructions_every_other_page']:>18.0f}"
                     f"{v['defio_text_bytes']:>12}{v['max_instances']:>11}{v['max_pages']:>7}")
    return "\n".join(lines)


def table(r):
    rows = [
        ("dirty-page write loop / bytearray, firmware (instructions)",
         f"{r['dirty_write_ratio']:.4f}"),
        ("  same, against memoryview(bytearray)", f"{r['dirty_write_ratio_vs_memoryview']:.4f}"),
        ("dirty-page write loop / bytearray, host (time)", f"{r['host_dirty_write_ratio']:.3f}"),
        ("first-write fault, firmware (instructions, median)",
         f"{r['mcu_fault_instructions']:.0f}"),
        ("  by pages and instances", ", ".join(f"{k}: {v:.0f}" for k, v in
                                               r["mcu_fault_instructions_by_config"].items())),
        ("first write of a round, firmware (fault + timer wake-up, instructions)",
         f"{r['mcu_round_open_instructions']:.0f}"),
        ("first-write fault, host (us, p50 / p90 / p99)",
         (f"{r['host_fault_us']:.2f} / {r['host_fault_us_p90']:.2f} / "
          f"{r['host_fault_us_p99']:.2f}")),
        ("flush: instructions per page / fixed per round",
         f"{r['flush_instructions_per_page']:.0f} / {r['flush_round_fixed_instructions']:.0f}"),
        ("  fixed, without the clock reads around flush()",
         f"{r['flush_round_fixed_net_instructions']:.0f}"),
        ("round the timer delivers, one page (first write to callback's return)",
         f"{r['scheduled_round_instructions']:.0f}"),
        ("RAM per instance (bytes, + its pages)", f"{r['ram_per_instance_bytes']}"),
        ("  table entry + heap (object, view); a lambda made in the call",
         (f"{r['instance_table_bytes_per_instance']} + {r['heap_bytes_per_instance']}; "
          f"+{r['heap_bytes_per_instance_with_lambda'] - r['heap_bytes_per_instance']}")),
        ("firmware text / defio's share",
         "{} / {} ({:.1f} %)".format(r["firmware_text_bytes"], r["defio_text_bytes"],
                                     100 * r["defio_text_share"])),
    ]
    w = max(len(a) for a, _ in rows)
    lines = [f"{a:<{w}}  {b}" for a, b in rows]
    if r.get("backends"):
        lines += ["", backends_table(r["backends"])]
    if r.get("workloads"):
        lines += ["", epd_workloads.table(r)]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="MPS2_AN385")
    ap.add_argument("--skip-workloads", action="store_true")
    ap.add_argument("--backends", default="", help="comma-separated boards, one per backend")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)

    mcu = mcu_micro(args.board)
    flush = sorted((int(k), v) for k, v in mcu["flush_instructions"].items())
    slope, fixed = line_fit(flush)
    sz = sizes(args.board, mcu["max_instances"])
    r = {
        "board": args.board,
        "page_size": mcu["page_size"],
        "dirty_write_ratio": mcu["dirty_write_ratio"],
        "dirty_write_ratio_vs_memoryview": mcu["dirty_write_ratio_vs_memoryview"],
        "mcu_fault_instructions": statistics.median(mcu["fault_instructions"].values()),
        "mcu_fault_instructions_by_config": mcu["fault_instructions"],
        "mcu_round_open_instructions": mcu["round_open_instructions"],
        "flush_instructions": dict(flush),
        "flush_instructions_per_page": slope,
        "flush_round_fixed_instructions": fixed,
        "flush_timer_read_instructions": mcu["timer_read_instructions"],
        "scheduled_round_instructions": mcu["scheduled_round_instructions"][0],
        "scheduled_rounds_delivered": mcu["scheduled_round_instructions"][1],
        "flush_round_fixed_net_instructions": fixed - mcu["timer_read_instructions"],
        "heap_bytes_per_instance": mcu["heap_bytes_per_instance"],
        "heap_bytes_per_instance_with_lambda": mcu["heap_bytes_per_instance_with_lambda"],
        "ram_per_instance_bytes": (mcu["heap_bytes_per_instance"]
                                   + sz["instance_table_bytes_per_instance"]),
        **sz,
        **host_micro(),
    }
    if args.backends:
        r["backends"] = backends(args.backends.split(","), {args.board: (mcu, sz)})
    if not args.skip_workloads:
        wl = workloads("qemu" if args.board != "unix" else "unix")
        r["workloads"] = wl["workloads"]
        r["workloads_board"] = wl.get("board", args.board)
        r["workloads_time_unit"] = wl.get("time_unit", "ms")
    (OUT / "results.json").write_text(json.dumps(r, indent=2) + "\n")
    text = table(r)
    (OUT / "results.txt").write_text(text + "\n")
    print(text)
    if plot(r, OUT / "bench.png"):
        print(f"\nwrote {OUT / 'results.json'} and {OUT / 'bench.png'}")
    else:
        print(f"\nwrote {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
