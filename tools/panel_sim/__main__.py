"""CLI: python -m panel_sim --listen 127.0.0.1:0 --out DIR [--time-scale S] [--wiring ...]
       python -m panel_sim --connect 127.0.0.1:PORT ...   (the board's UART socket, QEMU)

Prints `panel_sim listening on HOST:PORT` and serves until SIGINT/SIGTERM or stdin closes
(with --stdin-stop), then writes DIR/panel.png and DIR/panel.json.
"""

import argparse
import signal
import sys
import threading

from .buttons import parse_buttons
from .server import CONTROLLERS, PanelServer, parse_wiring
from .sram_23k640 import CHIPS


def main(argv=None):
    ap = argparse.ArgumentParser(prog="panel_sim", description=__doc__)
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--connect", default=None,
                    help="HOST:PORT of the board's UART socket (QEMU -serial tcp:...,server=on)")
    ap.add_argument("--out", default="build/run")
    ap.add_argument("--time-scale", type=float, default=1.0,
                    help="multiplies the chip's modelled times (a row per chip: full and "
                    "partial refresh, power on/off; e.g. ssd1680 2.5 s / 0.4 s, uc8151d 17.81 s;"
                    " panel.json `times`)")
    ap.add_argument("--wiring", default="",
                    help="e.g. cs=9,dc=10,rst=5,busy=7,sram=6 (default; sram: the 23K640's CS)")
    ap.add_argument("--rotation", type=int, default=0, choices=range(4),
                    help="the app's display.rotation: panel.png is drawn in that orientation")
    ap.add_argument("--controller", default="ssd1680", choices=sorted(CONTROLLERS))
    ap.add_argument("--size", default=None, help="WIDTHxHEIGHT (default: the size of Adafruit's "
                    "examples for that panel, e.g. 122x250 SSD1680, 128x296 UC8151D)")
    ap.add_argument("--buttons", default="",
                    help="the shield's buttons on A3: BUTTON@START+SECONDS,... from the device's "
                    "first frame, e.g. 1@0.5+1,2@2+1; or 1,2,3,4: each held until the app's next "
                    "refresh starts")
    ap.add_argument("--sram", default="23k640", choices=sorted(CHIPS),
                    help="the SPI SRAM chip: 23k640 (8 KiB, default) or 23k256 (32 KiB)")
    ap.add_argument("--png-each", action="store_true", help="also write refresh-NNNN.png")
    ap.add_argument("--stdin-stop", action="store_true", help="stop when stdin closes")
    args = ap.parse_args(argv)
    try:
        buttons, presses = parse_buttons(args.buttons)
    except ValueError as e:
        ap.exit(2, f"panel_sim: {e}\n")
    try:
        server = PanelServer(args.listen, out=args.out, time_scale=args.time_scale,
                             wiring=parse_wiring(args.wiring), png_each=args.png_each,
                             controller=args.controller, connect=args.connect,
                             rotation=args.rotation, buttons=buttons, sram=args.sram,
                             presses=presses,
                             size=tuple(map(int, args.size.split("x"))) if args.size else None)
    except OSError as e:
        # A busy or unusable address: one line, not a traceback.
        ap.exit(2, f"panel_sim: cannot listen on {args.listen}: {e.strerror or e}\n")
    server.start()
    verb = "connecting to" if args.connect else "listening on"
    print(f"panel_sim {verb} {server.address}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    if args.stdin_stop:
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    while not done.wait(0.2):
        pass
    server.wait_idle()
    server.stop()
    print(f"panel_sim: wrote {args.out}/panel.png and panel.json", flush=True)


if __name__ == "__main__":
    main()
