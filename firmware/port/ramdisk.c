// A RAM block device with MicroPython's extended block protocol (readblocks/writeblocks
// with offset, ioctl), used for the littlefs root filesystem. Its storage is .bss: zeroed
// at power-on, so files do not survive a reset or a QEMU restart (they survive soft reset).
#include <string.h>

#include "py/mperrno.h"
#include "py/runtime.h"
#include "extmod/vfs.h"

#include "ramdisk.h"

#define BLOCK_SIZE (MICROPY_HW_RAMDISK_BLOCK_SIZE)
#define BLOCKS (MICROPY_HW_RAMDISK_BLOCKS)

// Thread only.
static uint8_t ramdisk_data[BLOCK_SIZE * BLOCKS] __attribute__((aligned(4)));

// Validate block/offset/len against the disk; returns the byte offset.
static size_t locate(mp_obj_t block_in, size_t offset, size_t len) {
    mp_int_t block = mp_obj_get_int(block_in);
    size_t start = (size_t)block * BLOCK_SIZE + offset;
    if (block < 0 || block >= BLOCKS || start + len > sizeof(ramdisk_data)) {
        mp_raise_OSError(MP_EIO);
    }
    return start;
}

static mp_obj_t ramdisk_readblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[2], &buf, MP_BUFFER_WRITE);
    size_t offset = n_args == 4 ? mp_obj_get_int(args[3]) : 0;
    memcpy(buf.buf, ramdisk_data + locate(args[1], offset, buf.len), buf.len);
    return MP_OBJ_NEW_SMALL_INT(0);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ramdisk_readblocks_obj, 3, 4, ramdisk_readblocks);

static mp_obj_t ramdisk_writeblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[2], &buf, MP_BUFFER_READ);
    size_t offset = n_args == 4 ? mp_obj_get_int(args[3]) : 0;
    memcpy(ramdisk_data + locate(args[1], offset, buf.len), buf.buf, buf.len);
    return MP_OBJ_NEW_SMALL_INT(0);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ramdisk_writeblocks_obj, 3, 4, ramdisk_writeblocks);

static mp_obj_t ramdisk_ioctl(mp_obj_t self_in, mp_obj_t op_in, mp_obj_t arg_in) {
    (void)self_in;
    switch (mp_obj_get_int(op_in)) {
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(BLOCKS);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(BLOCK_SIZE);
        case MP_BLOCKDEV_IOCTL_BLOCK_ERASE:
            locate(arg_in, 0, BLOCK_SIZE);
            return MP_OBJ_NEW_SMALL_INT(0); // RAM needs no erase
        default:
            return MP_OBJ_NEW_SMALL_INT(0); // init, deinit, sync
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(ramdisk_ioctl_obj, ramdisk_ioctl);

static const mp_rom_map_elem_t ramdisk_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&ramdisk_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&ramdisk_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&ramdisk_ioctl_obj) },
};
static MP_DEFINE_CONST_DICT(ramdisk_locals_dict, ramdisk_locals_dict_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    port_ramdisk_type,
    MP_QSTR_RAMDisk,
    MP_TYPE_FLAG_NONE,
    locals_dict, &ramdisk_locals_dict
    );

const mp_obj_base_t port_ramdisk_obj = { &port_ramdisk_type };
