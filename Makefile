# defio: deferred IO for MicroPython microcontrollers.
#   make run [BOARD=unix] [APP=app.py]   set up, build, run the e-paper demo in QEMU
#   make test                            set up, build, run all tests
#   make examples                        Adafruit's examples, unmodified, on both targets
#   make soak                            the long no-lost-update soak (host and firmware)
#   make unix | firmware | repl | bench | clean
#   make firmware BOARD=RPI_PICO | RPI_PICO2   firmware.uf2 from MicroPython's own rp2 port
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

# The board `make run`, `make firmware` and `make bench` use: a folder of boards/, a build
# variant below, or unix.
BOARD ?= MPS2_AN385
FW_BOARD := $(if $(filter unix qemu,$(BOARD)),MPS2_AN385,$(BOARD))
# Boards of upstream's rp2 port (a folder with mpconfigboard.cmake) build a uf2 instead.
RP2_BOARDS := $(patsubst boards/%/mpconfigboard.cmake,%,$(wildcard boards/*/mpconfigboard.cmake))
# DEFIO=0 with an rp2 board: the same image without defio (build/<BOARD>-nodefio), to compare.
FIRMWARE := $(BUILD)/$(FW_BOARD)$(if $(filter 0,$(DEFIO)),-nodefio)/firmware.$(if \
	$(filter $(FW_BOARD),$(RP2_BOARDS)),uf2,elf)

# The QEMU boards `make test` builds and tests (each one's suites: QEMU_TESTS_<name>).
# MPS2_AN505_R8 is a build variant: the AN505 with defio held to 8 MPU regions (the count
# of an RP2350), to test the PMSAv8 backend when regions run out.
QEMU_BOARDS := MPS2_AN385 MPS2_AN385_V6M MPS2_AN505 MPS2_AN505_R8
FW_VARIANT_MPS2_AN505_R8 := BOARD=MPS2_AN505 DEFIO_MPU_REGIONS=8
fw_args = $(or $(FW_VARIANT_$(1)),BOARD=$(1))
fw_board = $(patsubst BOARD=%,%,$(firstword $(call fw_args,$(1))))
PORT_SRC := $(wildcard $(TOP)/firmware/port/* $(TOP)/firmware/port/modules/*)
# Frozen into the QEMU firmware (firmware/port/manifest.py): lib/ and build/pylib.
LIB_SRC := $(shell find $(TOP)/lib -name '*.py')

.PHONY: all setup unix unix-stock pylib run bench lint test test-host test-firmware test-upstream clean \
	examples \
	distclean soak

all: unix

setup: $(SETUP_STAMP)
$(SETUP_STAMP): tools/setup requirements.txt
	@tools/setup
	@touch $@

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

# On-device Python from the venv (Adafruit packages) plus the generated font (as a file, and
# as a module to freeze): build/pylib.
PYLIB := $(BUILD)/pylib/.stamp
pylib: $(PYLIB)
$(PYLIB): $(SETUP_STAMP) tools/build_pylib.py
	@$(PYTHON) tools/build_pylib.py --out $(BUILD)/pylib --font-module
	@touch $@

# The demo (or APP=path/to/app.py) on the board with the simulated panel, its output live:
# build/runs/<time>-<pid>/, linked as build/run when good (panel.png, panel.json, output.txt).
# TIMEOUT=seconds stops the app (default 600). BOARD and APP are checked before any build.
# PANEL=key[:WIDTHxHEIGHT] picks the simulated panel; without it, the app's driver constructor.
RUN_BOARDS := unix qemu $(QEMU_BOARDS)
ifneq ($(filter run repl bench,$(MAKECMDGOALS)),)
ifeq ($(filter $(BOARD),$(RUN_BOARDS)),)
$(error unknown BOARD=$(BOARD): one of $(RUN_BOARDS))
endif
endif
# make firmware also builds the rp2 boards' uf2 (flashed, not run here).
ifneq ($(filter firmware,$(MAKECMDGOALS)),)
ifeq ($(filter $(BOARD),$(RUN_BOARDS) $(RP2_BOARDS)),)
$(error unknown BOARD=$(BOARD): one of $(RUN_BOARDS) $(RP2_BOARDS))
endif
endif
ifneq ($(filter run,$(MAKECMDGOALS)),)
ifneq ($(APP),)
ifeq ($(wildcard $(APP)),)
$(error APP=$(APP): no such file)
endif
endif
endif
RUN_DEPS := $(if $(filter unix,$(BOARD)),$(UNIX_FW),$(FIRMWARE)) $(PYLIB)
run: $(RUN_DEPS)
	@$(PYTHON) -m tools.run --board $(BOARD) $(if $(APP),--app $(abspath $(APP))) \
		$(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(PANEL),--panel $(PANEL))

# Everything: MicroPython's own suite on both builds, then ours on the firmware in QEMU and
# on the Unix port (one suite, two targets; each target leaves out the other's own file).
test: lint test-upstream test-firmware test-host test-rp2 examples

# Adafruit's own examples (the pinned sdist from PyPI, into build/examples/), unmodified, on
# the firmware in QEMU and on the Unix port, pixel-exact against a plain-buffer reference,
# with and without defio_epd.attach: a table (tools/examples/__main__.py).
examples: $(UNIX_FW) $(BUILD)/MPS2_AN385/firmware.elf $(PYLIB)
	$(PYTHON) -m tools.examples --boards MPS2_AN385,unix

lint: $(SETUP_STAMP)
	$(VENV)/bin/ruff check .

test-host: $(UNIX_FW) $(PYLIB)
	$(PYTHON) -m pytest -q -p no:cacheprovider host_tests \
		--ignore host_tests/test_firmware.py --ignore host_tests/test_epd_package.py \
		--ignore-glob 'host_tests/test_mcu_*.py' --ignore host_tests/test_rp2_image.py

# On the AN385 every test (the e-paper side too); on the other boards the defio suites: the
# contract, the firmware's own behaviour and the MCU backends (store decoder, PMSAv8).
QEMU_DEFIO_TESTS := host_tests/test_contract_*.py host_tests/test_firmware.py \
	host_tests/test_mcu_*.py
QEMU_TESTS_MPS2_AN385 := host_tests --ignore host_tests/test_unix_only.py \
	--ignore host_tests/test_unix_threads.py --ignore host_tests/test_rp2_image.py \
	--ignore host_tests/test_rp2_pins.py
test-firmware: $(foreach b,$(QEMU_BOARDS),$(BUILD)/$(b)/firmware.elf) $(PYLIB)
	@for b in $(QEMU_BOARDS); do \
		echo "test-firmware: $$b"; \
		tests="$(QEMU_TESTS_MPS2_AN385)"; [ $$b = MPS2_AN385 ] || tests="$(QEMU_DEFIO_TESTS)"; \
		$(PYTHON) -m pytest -q -p no:cacheprovider --target qemu --board $$b $$tests || exit 1; \
	done

# The long randomized soaks (make test runs short ones): no lost update in defio (seeded,
# SOAK_HOST_ROUNDS / SOAK_FW_ROUNDS), then the e-paper side (tools/soak/epd.py: panel
# restarts, dropped and corrupt frames, stuck BUSY). SOAK_SEED=n repeats a run.
SOAK_HOST_ROUNDS ?= 10000
SOAK_FW_ROUNDS ?= 2000
soak: $(UNIX_FW) $(FIRMWARE) $(PYLIB)
	SOAK_ROUNDS=$(SOAK_HOST_ROUNDS) $(PYTHON) -m pytest -q -s -p no:cacheprovider \
		host_tests/test_soak.py
	SOAK_ROUNDS=$(SOAK_FW_ROUNDS) $(PYTHON) -m pytest -q -s -p no:cacheprovider --target qemu \
		host_tests/test_soak.py
	$(PYTHON) -m tools.soak.epd --target unix $(if $(SOAK_SEED),--seed $(SOAK_SEED))
	$(PYTHON) -m tools.soak.epd --target qemu $(if $(SOAK_SEED),--seed $(SOAK_SEED))

# Figures (never timed assertions): the Unix build and the firmware in QEMU (-icount), side
# by side -> build/bench/results.json, results.txt, bench.png.
comma := ,
# Plus one row per MPU backend (fault cost, defio's text, limits): BENCH_BACKEND_BOARDS.
BENCH_BACKEND_BOARDS := MPS2_AN385 MPS2_AN385_V6M MPS2_AN505
bench: $(UNIX_FW) $(FIRMWARE) $(foreach b,$(BENCH_BACKEND_BOARDS),$(BUILD)/$(b)/firmware.elf) \
		$(PYLIB)
	@$(PYTHON) -m tools.bench.run --board $(FW_BOARD) \
		--backends $(subst $(eval) ,$(comma),$(BENCH_BACKEND_BOARDS))

# MicroPython's suite on the Unix build and on each QEMU board (not on build variants).
UPSTREAM_QEMU_BOARDS := MPS2_AN385 MPS2_AN385_V6M MPS2_AN505
test-upstream: $(UNIX_FW) $(foreach b,$(UPSTREAM_QEMU_BOARDS),$(BUILD)/$(b)/firmware.elf)
	tools/run-upstream-tests unix $(UNIX_FW)
	@for b in $(UPSTREAM_QEMU_BOARDS); do tools/run-upstream-tests qemu $$b || exit 1; done

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf deps .venv

# --- firmware: the QEMU MPS2 port, booted in QEMU --------------------------------------
#   make firmware [BOARD=MPS2_AN385]   -> build/$(BOARD)/firmware.elf (MPS2_AN385,
#                                         MPS2_AN385_V6M, MPS2_AN505, MPS2_AN505_R8)
#   make repl                          boot it in QEMU, REPL on this terminal (Ctrl-A X quits)
#   make test-firmware                 our whole suite against it in QEMU

.PHONY: firmware repl
firmware: $(FIRMWARE)
.SECONDEXPANSION:
$(foreach b,$(QEMU_BOARDS),$(BUILD)/$(b)/firmware.elf): $(BUILD)/%/firmware.elf: $(SETUP_STAMP) \
		$(BUILD)/mpy-cross/mpy-cross $(DEFIO_SRC) $(PORT_SRC) $(LIB_SRC) $(PYLIB) \
		$$(wildcard $(TOP)/boards/$$(call fw_board,$$*)/*)
	@echo "building the $* firmware with defio -> $@"
	@mkdir -p $(BUILD)/$*
	@$(MAKE) -C $(TOP)/firmware/port $(call fw_args,$*) BUILD=$(BUILD)/$* -j$(JOBS) \
		>$(BUILD)/$*.log 2>&1 || (tail -40 $(BUILD)/$*.log; exit 1)
	@arm-none-eabi-size $@

repl: $(FIRMWARE)
	@$(PYTHON) -m tools.qemu_launch --board $(FW_BOARD) --repl stdio --panel-sim $(BUILD)/repl
# --- end firmware ------------------------------------------------------------------------

# --- firmware for a real board: MicroPython's own rp2 port, unmodified ---------------------
#   make firmware BOARD=RPI_PICO | RPI_PICO2   -> build/$(BOARD)/firmware.uf2 (and .elf)
#   make firmware BOARD=RPI_PICO DEFIO=0       the same board without defio, for comparison
#                                              (build/RPI_PICO-nodefio/firmware.uf2)
# Set-up on demand (tools/setup rp2): pico-sdk, tinyusb, mbedtls, picotool from Debian and
# deps/rp2-tree, MicroPython's tree with those in its lib/ (symlinks; nothing edited).
# Our board folder wraps upstream's (BOARD_DIR), defio comes in through USER_C_MODULES, and
# the frozen Python (our lib/, Adafruit's packages, asyncio) through the board's manifest.
RP2_STAMP := $(TOP)/deps/.stamp-rp2
RP2_SRC := $(wildcard $(TOP)/firmware/rp2/*) $(wildcard $(TOP)/boards/*/*) \
	$(wildcard $(TOP)/lib/*.py) $(wildcard $(TOP)/lib/defio_epd/*.py)
rp2_board = $(patsubst %-nodefio,%,$(1))
rp2_defio = $(if $(filter %-nodefio,$(1)),-DDEFIO_RP2_WITHOUT_DEFIO=1,\
	"-DUSER_C_MODULES=$(TOP)/firmware/modules/defio/micropython.cmake;$(TOP)/firmware/rp2/micropython.cmake")

$(RP2_STAMP): tools/setup $(SETUP_STAMP)
	@tools/setup rp2
	@touch $@

# Both images build from this tree, then are checked on the host (no chip, no emulator):
# UF2 family IDs and layout, defio and its boot wiring, frozen modules (test_rp2_image.py).
.PHONY: test-rp2
test-rp2: $(BUILD)/RPI_PICO/firmware.uf2 $(BUILD)/RPI_PICO2/firmware.uf2
	$(PYTHON) -m pytest -q -p no:cacheprovider -s host_tests/test_rp2_image.py

$(BUILD)/%/firmware.uf2: $(RP2_STAMP) $(BUILD)/mpy-cross/mpy-cross $(PYLIB) $(DEFIO_SRC) $(RP2_SRC)
	@echo "building $* (MicroPython's rp2 port) -> $@"
	@mkdir -p $(BUILD)/$*
	@# GIT_CEILING_DIRECTORIES: the version string is MicroPython's (mpconfig.h), not our commit.
	@{ export MICROPY_MPYCROSS=$(BUILD)/mpy-cross/mpy-cross; \
	  export GIT_CEILING_DIRECTORIES=$(TOP)/deps:$(realpath $(TOP)/deps); \
	  { [ -f $(BUILD)/$*/Makefile ] || cmake -S $(TOP)/deps/rp2-tree/ports/rp2 -B $(BUILD)/$* \
		-DMICROPY_BOARD=$(call rp2_board,$*) -DMICROPY_BOARD_DIR=$(TOP)/boards/$(call rp2_board,$*) \
		$(call rp2_defio,$*) -DDEFIO_PYLIB=$(BUILD)/pylib \
		-Dpicotool_DIR=$(TOP)/deps/picotool/lib/cmake/picotool -DPICO_BUILD_DOCS=0; } \
	  && $(MAKE) -C $(BUILD)/$* -j$(JOBS); } >$(BUILD)/$*.log 2>&1 \
		|| (tail -40 $(BUILD)/$*.log; exit 1)
	@arm-none-eabi-size $(BUILD)/$*/firmware.elf
	@ls -l $@ | awk '{print $$5, $$9}'
	@touch $@
