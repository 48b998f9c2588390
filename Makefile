# defio: deferred IO for MicroPython microcontrollers.
#   make run     set up, build, run the demo          make test    set up, build, run all tests
#   make unix    the Unix port with defio             make clean   remove build outputs
# Set-up (tools/setup) runs on demand: Debian packages, MicroPython source, the venv.

TOP := $(abspath .)
MPY_DIR := $(TOP)/deps/micropython-1.25.0
VENV := $(TOP)/.venv
PYTHON := $(VENV)/bin/python
BUILD := $(TOP)/build
JOBS ?= $(shell nproc)
SETUP_STAMP := $(TOP)/deps/.stamp-venv

# The Unix port: upstream source, our user C module, an out-of-tree build folder. Features
# whose sources the Debian +ds tarball strips (mbedtls, axtls, berkeley-db, micropython-lib)
# are off.
UNIX_FLAGS := BUILD=$(BUILD)/unix USER_C_MODULES=$(TOP)/firmware/modules \
	FROZEN_MANIFEST= MICROPY_PY_BTREE=0 MICROPY_PY_SSL=0 MICROPY_SSL_AXTLS=0 \
	MICROPY_SSL_MBEDTLS=0 MPY_CROSS=$(BUILD)/mpy-cross/mpy-cross
UNIX_FW := $(BUILD)/unix/micropython
DEFIO_SRC := $(wildcard $(TOP)/firmware/modules/defio/*)

.PHONY: all setup unix unix-stock pylib run test test-defio test-upstream clean distclean

all: unix

setup: $(SETUP_STAMP)
$(SETUP_STAMP): tools/setup requirements.txt
	@tools/setup

$(BUILD)/mpy-cross/mpy-cross: $(SETUP_STAMP)
	@mkdir -p $(BUILD)
	@echo "building mpy-cross"
	@$(MAKE) -C $(MPY_DIR)/mpy-cross BUILD=$(BUILD)/mpy-cross -j$(JOBS) >$(BUILD)/mpy-cross.log 2>&1 \
		|| (tail -30 $(BUILD)/mpy-cross.log; exit 1)

unix: $(UNIX_FW)
$(UNIX_FW): $(SETUP_STAMP) $(BUILD)/mpy-cross/mpy-cross $(DEFIO_SRC)
	@echo "building the Unix port with defio -> $@"
	@$(MAKE) -C $(MPY_DIR)/ports/unix $(UNIX_FLAGS) -j$(JOBS) >$(BUILD)/unix.log 2>&1 \
		|| (tail -40 $(BUILD)/unix.log; exit 1)
	@touch $@

# The same Unix port without defio, to check that upstream test exclusions fail there too.
unix-stock: $(SETUP_STAMP) $(BUILD)/mpy-cross/mpy-cross
	@$(MAKE) -C $(MPY_DIR)/ports/unix $(filter-out BUILD=% USER_C_MODULES=%,$(UNIX_FLAGS)) \
		BUILD=$(BUILD)/unix-stock -j$(JOBS) >$(BUILD)/unix-stock.log 2>&1 \
		|| (tail -40 $(BUILD)/unix-stock.log; exit 1)

# On-device Python from the venv (Adafruit packages) plus the generated font: build/pylib.
PYLIB := $(BUILD)/pylib/.stamp
pylib: $(PYLIB)
$(PYLIB): $(SETUP_STAMP) tools/build_pylib.py
	@$(PYTHON) tools/build_pylib.py --out $(BUILD)/pylib
	@touch $@

run: $(UNIX_FW)
	$(UNIX_FW) examples/host_demo.py

# Upstream's suite first, our pytest suite last (its summary closes the output).
test: test-upstream test-defio

test-defio: $(UNIX_FW) $(PYLIB)
	$(PYTHON) -m pytest -q host_tests

test-upstream: $(UNIX_FW)
	tools/run-upstream-tests unix $(UNIX_FW)

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf deps .venv

# --- firmware: our Cortex-M port in QEMU (owner: port) -----------------------------------
#   make firmware [BOARD=MPS2_AN385]   -> build/$(BOARD)/firmware.elf
#   make repl                          boot it in QEMU, REPL on this terminal (Ctrl-A X quits)
#   make test-firmware                 contract + firmware tests against it in QEMU
BOARD ?= MPS2_AN385
FIRMWARE := $(BUILD)/$(BOARD)/firmware.elf
PORT_SRC := $(wildcard $(TOP)/firmware/port/*) $(wildcard $(TOP)/boards/$(BOARD)/*)

.PHONY: firmware repl
firmware: $(FIRMWARE)
$(FIRMWARE): $(SETUP_STAMP) $(BUILD)/mpy-cross/mpy-cross $(DEFIO_SRC) $(PORT_SRC)
	@echo "building the $(BOARD) firmware with defio -> $@"
	@mkdir -p $(BUILD)/$(BOARD)
	@$(MAKE) -C $(TOP)/firmware/port BOARD=$(BOARD) BUILD=$(BUILD)/$(BOARD) -j$(JOBS) \
		>$(BUILD)/$(BOARD).log 2>&1 || (tail -40 $(BUILD)/$(BOARD).log; exit 1)
	@arm-none-eabi-size $@

repl: $(FIRMWARE)
	$(PYTHON) tools/qemu_launch.py --board $(BOARD) --repl stdio

# The defio contract and the firmware-only tests against the firmware in QEMU.
.PHONY: test-firmware
test-firmware: $(FIRMWARE)
	$(PYTHON) -m pytest -q --target qemu host_tests/test_contract_api.py \
		host_tests/test_contract_pages.py host_tests/test_contract_rounds.py \
		host_tests/test_firmware.py
# --- end firmware ------------------------------------------------------------------------
