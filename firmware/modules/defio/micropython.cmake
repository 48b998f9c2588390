# defio user C module (CMake ports: rp2, esp32, ...). Set DEFIO_BACKEND before including
# it (default mpu: every CMake port runs on a microcontroller), and the settings of
# defio_mcu.h as CMake variables of the same names, e.g. in a board's mpconfigboard.cmake:
#   set(DEFIO_MCU_POOL_SIZE 65536)
#   set(DEFIO_MCU_PAGE_SIZE_MIN 256)
add_library(usermod_defio INTERFACE)

if(NOT DEFINED DEFIO_BACKEND)
    set(DEFIO_BACKEND mpu)
endif()

target_sources(usermod_defio INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/defio_core.c
    ${CMAKE_CURRENT_LIST_DIR}/moddefio.c
)
target_include_directories(usermod_defio INTERFACE ${CMAKE_CURRENT_LIST_DIR})

if(DEFIO_BACKEND STREQUAL "mpu")
    target_sources(usermod_defio INTERFACE
        ${CMAKE_CURRENT_LIST_DIR}/defio_mcu.c
        ${CMAKE_CURRENT_LIST_DIR}/backend_pmsav6.c
        ${CMAKE_CURRENT_LIST_DIR}/backend_pmsav7.c
        ${CMAKE_CURRENT_LIST_DIR}/backend_pmsav8.c
    )
    target_compile_definitions(usermod_defio INTERFACE DEFIO_MCU=1)
    foreach(setting POOL_SIZE POOL_ALIGN POOL_SECTION PAGE_SIZE_MIN PAGE_SIZE_DEFAULT
            FIRST_REGION MPU_REGIONS_MAX RAMFUNC MAIR_INDEX)
        if(DEFINED DEFIO_MCU_${setting})
            target_compile_definitions(usermod_defio INTERFACE
                "DEFIO_MCU_${setting}=${DEFIO_MCU_${setting}}")
        endif()
    endforeach()
elseif(DEFIO_BACKEND STREQUAL "mprotect")
    target_sources(usermod_defio INTERFACE
        ${CMAKE_CURRENT_LIST_DIR}/backend_mprotect.c
        ${CMAKE_CURRENT_LIST_DIR}/host_read_wrap.c
    )
    target_link_options(usermod_defio INTERFACE -Wl,--wrap=read -Wl,--wrap=mp_deinit)
else()
    message(FATAL_ERROR "defio: DEFIO_BACKEND must be mpu or mprotect, not ${DEFIO_BACKEND}")
endif()

target_link_libraries(usermod INTERFACE usermod_defio)
