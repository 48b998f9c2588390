# The rp2 side of defio's seam (defio_rp2.c), built into the firmware the way a user C module
# is: the Makefile passes it in USER_C_MODULES after firmware/modules/defio/micropython.cmake.
# It needs the SDK's hardware_exception (the run-time vector install), which upstream's rp2
# build does not link by itself.
add_library(usermod_defio_rp2 INTERFACE)
target_sources(usermod_defio_rp2 INTERFACE ${CMAKE_CURRENT_LIST_DIR}/defio_rp2.c)
target_link_libraries(usermod_defio_rp2 INTERFACE hardware_exception)
target_link_libraries(usermod INTERFACE usermod_defio_rp2)
