// A RAM block device for the root filesystem.
#ifndef DEFIO_PORT_RAMDISK_H
#define DEFIO_PORT_RAMDISK_H

#include "py/obj.h"

extern const mp_obj_base_t port_ramdisk_obj;

#endif // DEFIO_PORT_RAMDISK_H
