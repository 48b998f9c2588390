# MPS2_AN505: QEMU mps2-an505, Cortex-M33; defio: mpu-pmsav8 (MemManage + MMFAR, base/limit
# regions kept as intervals per instance). Set DEFIO_MPU_REGIONS=8 to use 8 of the 16
# regions (as on an RP2350): build/MPS2_AN505_R8.
QEMU_MACHINE = mps2-an505

CFLAGS_MCU = -mthumb -mcpu=cortex-m33 -mfloat-abi=soft
LDSCRIPT = $(BOARD_DIR)/mps2_an505.ld
MPY_CROSS_FLAGS += -march=armv7m
ifneq ($(DEFIO_MPU_REGIONS),)
DEFIO_SETTINGS += -DDEFIO_MCU_MPU_REGIONS_MAX=$(DEFIO_MPU_REGIONS)
endif
