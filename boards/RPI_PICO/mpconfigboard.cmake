# Raspberry Pi Pico (RP2040, Cortex-M0+, defio backend mpu-pmsav6): upstream's board, plus
# defio. Build: make firmware BOARD=RPI_PICO -> build/RPI_PICO/firmware.uf2
include(${MICROPY_PORT_DIR}/boards/RPI_PICO/mpconfigboard.cmake)

# 264 KiB of SRAM: a 32 KiB pool, aligned to 8 KiB so that it costs at most 8 KiB of padding
# in .bss (a region of 8 pages of 1 KiB fits anywhere; larger pages find fewer places).
# 256-byte pages, the smallest PMSAv6 region with subregions (8 x 32 B is not allowed).
set(DEFIO_RP2_POOL_SIZE 32768)
set(DEFIO_RP2_POOL_ALIGN 8192)
set(DEFIO_RP2_PAGE_SIZE 256)
set(DEFIO_RP2_REGIONS 8)
include(${CMAKE_CURRENT_LIST_DIR}/../../firmware/rp2/defio_rp2.cmake)
