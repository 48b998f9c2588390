// MPS2_AN385_V6M: the AN385 board (QEMU mps2-an385) with firmware built for ARMv6-M
// (-mcpu=cortex-m0: only Cortex-M0/M0+ instructions), MemManage left disabled, so every MPU
// fault escalates to HardFault and defio can only work through its store decoder
// (mpu-pmsav6), as on an RP2040. The core underneath is still QEMU's Cortex-M3, which reports
// MMFAR: the build checks every decoded store against it (DEFIO_MCU_CHECK_DECODER).
#define MICROPY_HW_BOARD_NAME "MPS2-AN385 ARMv6-M (QEMU)"
#define MICROPY_HW_MCU_NAME "Cortex-M3 running ARMv6-M code"

#include "../MPS2_AN385/mpconfigboard.h"
