# Frozen into every defio rp2 board; boards/<BOARD>/manifest.py includes this file, then adds
# its own board.py. $(DEFIO_DIR) is the repository, $(DEFIO_PYLIB) the folder that
# tools/build_pylib.py --font-module makes from the venv (make firmware does it first).

# Upstream's port modules: _boot.py (littlefs on flash, formatted on first boot), rp2.py.
freeze("$(PORT_DIR)/modules")
include("$(MPY_DIR)/extmod/asyncio")

# Our on-device library: the e-paper integration and the CircuitPython shims. Their
# transport follows from the board's pins (machine.Pin here), so the panel link is frozen
# too but never opened. lib/board.py is the emulated board's: each board brings its own.
package("defio_epd", base_path="$(DEFIO_DIR)/lib")
module("busio.py", base_path="$(DEFIO_DIR)/lib")
module("digitalio.py", base_path="$(DEFIO_DIR)/lib")
module("panel_link.py", base_path="$(DEFIO_DIR)/lib")

# Adafruit's packages from PyPI (the venv), unmodified, compiled by mpy-cross here.
package("adafruit_epd", base_path="$(DEFIO_PYLIB)")
package("adafruit_bus_device", base_path="$(DEFIO_PYLIB)")
module("adafruit_framebuf.py", base_path="$(DEFIO_PYLIB)")
# font5x8.bin as a module: board.py writes the file to the filesystem when it is missing.
module("defio_font5x8.py", base_path="$(DEFIO_PYLIB)")
