// MPS2_AN385: ARM MPS2 with the AN385 FPGA image (Cortex-M3, 25 MHz), as QEMU 7.2 models it.
#define MICROPY_HW_BOARD_NAME "MPS2-AN385 (QEMU)"
#define MICROPY_HW_MCU_NAME "Cortex-M3"

// Core clock: SysTick counts it (with QEMU's -icount shift=0, one count = one instruction).
#define MICROPY_HW_SYSCLK_HZ (25000000)

// CMSDK APB UARTs: UART0 carries the REPL, UART1 (the second QEMU -serial) the panel link.
// NVIC numbers: RX interrupt of UARTn, TX is one more.
#define MICROPY_HW_UART0_BASE (0x40004000)
#define MICROPY_HW_UART0_RX_IRQ (0)
#define MICROPY_HW_UART1_BASE (0x40005000)
#define MICROPY_HW_UART1_RX_IRQ (2)

// defio MPU backend. QEMU's MPU emulation tracks protection in 1 KiB pages (TARGET_PAGE
// size), so a smaller subregion silently misses writes: 1024 is the smallest page here.
// Real Cortex-M3/M4 silicon allows 32-byte subregions (256-byte regions).
#define DEFIO_MPU_PAGE_SIZE_MIN (1024)
#define DEFIO_MPU_PAGE_SIZE_DEFAULT (1024)
// MPU regions the port keeps for itself (region 0: null-pointer guard); defio uses the rest.
#define DEFIO_MPU_FIRST_REGION (1)
// Pool pages the allocator tracks: the 128 KiB pool of mps2_an385.ld in 1 KiB pages.
#define DEFIO_MPU_POOL_MAX_GRANULES (128)

// Root filesystem: littlefs on a RAM block device (lost on reset and on QEMU restart).
#define MICROPY_HW_RAMDISK_BLOCK_SIZE (1024)
#define MICROPY_HW_RAMDISK_BLOCKS (512)
