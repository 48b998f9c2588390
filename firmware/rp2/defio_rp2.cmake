# What a defio board adds to MicroPython's own rp2 port. Included by the board folders
# boards/<BOARD>/mpconfigboard.cmake (upstream's BOARD_DIR mechanism) after upstream's own
# board file. Nothing of upstream's tree is edited: everything here is a board setting.
#
# Set before including this file:
#   DEFIO_RP2_POOL_SIZE   protected pool in bytes (a power of two)
#   DEFIO_RP2_POOL_ALIGN  its alignment (see README.md "Flash to a board", limits per chip)
#   DEFIO_RP2_PAGE_SIZE   default page size (page_size=0)
#   DEFIO_RP2_REGIONS     MPU regions defio may use

get_filename_component(DEFIO_TOP ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

# Frozen Python: the board's manifest (it includes firmware/rp2/manifest.py). DEFIO_DIR and
# DEFIO_PYLIB reach the manifest as $(DEFIO_DIR) and $(DEFIO_PYLIB).
set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)
set(MICROPY_MANIFEST_DEFIO_DIR ${DEFIO_TOP})
if(NOT DEFIO_PYLIB)
    set(DEFIO_PYLIB ${DEFIO_TOP}/build/pylib)
endif()
set(MICROPY_MANIFEST_DEFIO_PYLIB ${DEFIO_PYLIB})

# Debian's source tarball leaves micropython-lib out, and our manifest require()s nothing
# from it. Upstream's build only checks that MPY_LIB_DIR holds a README.md: point it here.
set(MICROPY_LIB_DIR ${CMAKE_CURRENT_LIST_DIR})

# defio (unless DEFIO_RP2_WITHOUT_DEFIO, a comparison build: same board, same frozen
# modules, no defio). The user C module comes in through USER_C_MODULES (the Makefile passes
# firmware/modules/defio/micropython.cmake); these are its settings (defio_mcu.h).
if(DEFIO_RP2_WITHOUT_DEFIO)
    add_compile_definitions(DEFIO_RP2_WITHOUT_DEFIO=1)
    return()
endif()
set(DEFIO_BACKEND mpu)
set(DEFIO_MCU_POOL_SIZE ${DEFIO_RP2_POOL_SIZE})
set(DEFIO_MCU_POOL_ALIGN ${DEFIO_RP2_POOL_ALIGN})
set(DEFIO_MCU_PAGE_SIZE_DEFAULT ${DEFIO_RP2_PAGE_SIZE})
set(DEFIO_MCU_MPU_REGIONS_MAX ${DEFIO_RP2_REGIONS})
# The fault path runs from RAM (pico-sdk's memmap puts .time_critical.* in .data).
set(DEFIO_MCU_RAMFUNC "__attribute__((section(\".time_critical.defio\")))")

# The port side of the seam (defio_rp2.c) comes in as a second USER_C_MODULES entry,
# firmware/rp2/micropython.cmake, so it can link the SDK's hardware_exception.
# _thread and defio take turns (see defio_rp2.c): mp_thread_create (core 0 starts a thread),
# mp_thread_finish (core 1, the thread ends) and defio's backend attach/detach (an instance
# gets or drops its MPU regions) are wrapped. Each is called from another object file than
# the one that defines it (py/modthread.c; the module's binding), so --wrap reaches the calls.
add_link_options(-Wl,--wrap=mp_thread_create -Wl,--wrap=mp_thread_finish
    -Wl,--wrap=defio_backend_attach -Wl,--wrap=defio_backend_detach)
