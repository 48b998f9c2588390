# MPS2_AN385: ARM's MPS2 FPGA board with the AN385 image (Cortex-M3), as QEMU models it.
# defio: mpu-pmsav7 (MemManage + MMFAR); settings and limits in firmware/port/Makefile and
# defio_mcu_limits.h (8 MPU regions, region 0 the port's: 7 instances, 56 pages each).
QEMU_MACHINE = mps2-an385

CFLAGS_MCU = -mthumb -mcpu=cortex-m3 -mfloat-abi=soft
LDSCRIPT = $(BOARD_DIR)/mps2_an385.ld
MPY_CROSS_FLAGS += -march=armv7m

# The GC heap takes the RAM the linker script leaves after the stack (about 3.3 MiB).
