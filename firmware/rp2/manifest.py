# Frozen into every defio rp2 board; boards/<BOARD>/manifest.py includes this file, then adds
# its own board.py. What every defio firmware carries comes from firmware/manifest.py.

# Upstream's port modules: _boot.py (littlefs on flash, formatted on first boot), rp2.py.
freeze("$(PORT_DIR)/modules")
# asyncio, our lib/ (lib/board.py is the emulated board's: each rp2 board has its own),
# Adafruit's packages from the venv and the font module.
include("$(DEFIO_DIR)/firmware/manifest.py")
