"""A simulated e-paper panel for defio: frames in (lib/panel_link.py), controller RAM, PNGs out.

    python -m panel_sim --listen 127.0.0.1:0 --out DIR [--time-scale 0.01] [--wiring ...]
"""

from .controller_ssd1680 import SSD1680
from .controller_uc8151d import UC8151D
from .server import PanelServer

__all__ = ["SSD1680", "UC8151D", "PanelServer"]
