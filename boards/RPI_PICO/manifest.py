# Frozen modules of this board: what every defio rp2 board has, and this board's pin names.
include("$(DEFIO_DIR)/firmware/rp2/manifest.py")
module("board.py", base_path="$(BOARD_DIR)")
