# Raspberry Pi Pico 2 (RP2350 in ARM mode, Cortex-M33, defio backend mpu-pmsav8): upstream's
# board, plus defio. Build: make firmware BOARD=RPI_PICO2 -> build/RPI_PICO2/firmware.uf2
include(${MICROPY_PORT_DIR}/boards/RPI_PICO2/mpconfigboard.cmake)
include(${MICROPY_PORT_DIR}/boards/RPI_PICO2/mpconfigvariant.cmake)

# 520 KiB of SRAM: a 64 KiB pool; PMSAv8 regions are base/limit with 32-byte granularity, so
# 32-byte alignment is all it needs. 8 MPU regions per security state (MicroPython runs
# secure). Default page 256 B (page_size= down to 32 B).
set(DEFIO_RP2_POOL_SIZE 65536)
set(DEFIO_RP2_POOL_ALIGN 32)
set(DEFIO_RP2_PAGE_SIZE 256)
set(DEFIO_RP2_REGIONS 8)
include(${CMAKE_CURRENT_LIST_DIR}/../../firmware/rp2/defio_rp2.cmake)
