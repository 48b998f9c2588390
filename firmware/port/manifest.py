# Frozen into the QEMU MPS2 firmware: what every defio firmware carries (firmware/manifest.py,
# shared with the rp2 port), the emulated board's pin names wired to the panel link, and
# this port's _boot.py (puts font5x8.bin on the filesystem).
include("$(DEFIO_DIR)/firmware/manifest.py")
module("board.py", base_path="$(DEFIO_DIR)/lib")
module("_boot.py", base_path="$(PORT_DIR)/modules")
