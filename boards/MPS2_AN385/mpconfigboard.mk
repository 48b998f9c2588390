# MPS2_AN385: ARM's MPS2 FPGA board with the AN385 image (Cortex-M3), as QEMU models it.
QEMU_MACHINE = mps2-an385

CFLAGS_MCU = -mthumb -mcpu=cortex-m3 -mfloat-abi=soft
LDSCRIPT = $(BOARD_DIR)/mps2_an385.ld
MPY_CROSS_FLAGS += -march=armv7m

# defio limits: the MPU has 8 regions, the port keeps region 0 (null guard), so at most 7
# regions of 8 pages each are free for defio: 7 instances, 56 pages in one instance.
CFLAGS += -DDEFIO_MAX_INSTANCES=7 -DDEFIO_MAX_PAGES=56

# The GC heap takes the RAM the linker script leaves after the stack (about 3.3 MiB).
