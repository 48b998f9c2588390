// MPS2_AN505: ARM MPS2+ with the AN505 FPGA image (Cortex-M33 with TrustZone and PMSAv8, 16
// MPU regions), as QEMU 7.2 models it (mps2-an505). The firmware runs in Secure state (where
// the core resets; SAU off, so all memory is Secure) through the Secure aliases.
#define MICROPY_HW_BOARD_NAME "MPS2-AN505 (QEMU)"
#define MICROPY_HW_MCU_NAME "Cortex-M33"

// Core clock (MAINCLK): SysTick counts it (with -icount shift=0, one count = 50 instructions).
#define MICROPY_HW_SYSCLK_HZ (20000000)

// CMSDK APB UARTs on the expansion APB (Secure alias of 0x40200000). The IoTKit has 32
// interrupts of its own; the board's start at 32: UARTn RX = 32 + 2n.
#define MICROPY_HW_NUM_IRQS (64)
#define MICROPY_HW_UART0_BASE (0x50200000)
#define MICROPY_HW_UART0_RX_IRQ (32)
#define MICROPY_HW_UART1_BASE (0x50201000)
#define MICROPY_HW_UART1_RX_IRQ (34)

// Root filesystem: littlefs on a RAM block device (lost on reset and on QEMU restart).
#define MICROPY_HW_RAMDISK_BLOCK_SIZE (1024)
#define MICROPY_HW_RAMDISK_BLOCKS (512)
