// MPS2_AN385: ARM MPS2 with the AN385 FPGA image (Cortex-M3, 25 MHz), as QEMU 7.2 models it.
#ifndef MICROPY_HW_BOARD_NAME
#define MICROPY_HW_BOARD_NAME "MPS2-AN385 (QEMU)"
#define MICROPY_HW_MCU_NAME "Cortex-M3"
#endif

// Core clock: SysTick counts it (with QEMU's -icount shift=0, one count = 40 instructions).
#define MICROPY_HW_SYSCLK_HZ (25000000)

// CMSDK APB UARTs: UART0 carries the REPL, UART1 (the second QEMU -serial) the panel link.
// NVIC numbers: RX interrupt of UARTn, TX is one more.
#define MICROPY_HW_NUM_IRQS (32)
#define MICROPY_HW_UART0_BASE (0x40004000)
#define MICROPY_HW_UART0_RX_IRQ (0)
#define MICROPY_HW_UART1_BASE (0x40005000)
#define MICROPY_HW_UART1_RX_IRQ (2)

// Root filesystem: littlefs on a RAM block device (lost on reset and on QEMU restart).
#define MICROPY_HW_RAMDISK_BLOCK_SIZE (1024)
#define MICROPY_HW_RAMDISK_BLOCKS (512)
