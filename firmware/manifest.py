# The frozen Python every defio firmware carries (MicroPython manifest, see
# docs/reference/manifest.rst): asyncio, our on-device library and Adafruit's packages.
# A port's own manifest includes this file and adds its board.py (and port modules).
#   $(DEFIO_DIR)    the repository
#   $(DEFIO_PYLIB)  the folder tools/build_pylib.py --font-module makes from the venv
# (the QEMU port: firmware/port/manifest.py; the rp2 port: firmware/rp2/manifest.py).
# Not in lib/: lib/package.json installs exactly the on-device files there.

# MicroPython's own asyncio (Python part; the C core is MICROPY_PY_ASYNCIO).
include("$(MPY_DIR)/extmod/asyncio")

# The e-paper integration, the CircuitPython shims and the panel link (used only where the
# board's pins are the link's; rp2 boards drive machine.Pin directly).
package("defio_epd", base_path="$(DEFIO_DIR)/lib")
module("busio.py", base_path="$(DEFIO_DIR)/lib")
module("digitalio.py", base_path="$(DEFIO_DIR)/lib")
module("analogio.py", base_path="$(DEFIO_DIR)/lib")
module("panel_link.py", base_path="$(DEFIO_DIR)/lib")
# CircuitPython's time.monotonic(): the built-in time, extended from Python (lib/time.py).
module("time.py", base_path="$(DEFIO_DIR)/lib")

# Adafruit's packages from PyPI (the venv), unmodified, compiled by mpy-cross at build time.
package("adafruit_epd", base_path="$(DEFIO_PYLIB)")
package("adafruit_bus_device", base_path="$(DEFIO_PYLIB)")
module("adafruit_framebuf.py", base_path="$(DEFIO_PYLIB)")
# font5x8.bin as a module: the port writes the file where adafruit_framebuf looks for it.
module("defio_font5x8.py", base_path="$(DEFIO_PYLIB)")
