"""A simulated e-paper panel for defio: frames in (lib/panel_link.py), controller RAM, PNGs out;
the FeatherWing's SPI SRAM (sram_23k640.py) on the same bus.

    python -m panel_sim --listen 127.0.0.1:0 --out DIR [--time-scale 0.01] [--wiring ...]
                        [--controller KEY] [--size WxH] [--rotation N]
"""

from .controller_ssd1680 import SSD1680
from .controller_uc8151d import UC8151D
from .server import PanelServer

__all__ = ["SSD1680", "UC8151D", "PanelServer"]
