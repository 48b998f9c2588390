# MPS2_AN385_V6M: QEMU mps2-an385 running ARMv6-M code; defio: mpu-pmsav6 (HardFault + the
# Thumb store decoder), checked against the Cortex-M3's MMFAR on every fault.
QEMU_MACHINE = mps2-an385

CFLAGS_MCU = -mthumb -mcpu=cortex-m0 -mfloat-abi=soft
LDSCRIPT = $(BOARD_DIR)/../MPS2_AN385/mps2_an385.ld
MPY_CROSS_FLAGS += -march=armv6m
GCHELPER = thumb1
# ARMv6-M has no LDREX/STREX: the __atomic builtins become library calls (atomic_v6m.c).
SRC_C_BOARD += atomic_v6m.c
DEFIO_SETTINGS += -DDEFIO_MCU_CHECK_DECODER=1
