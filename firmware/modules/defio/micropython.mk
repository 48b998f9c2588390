# defio user C module (make ports). DEFIO_BACKEND selects the protection backend:
#   mprotect  the Unix port (mmap + mprotect + SIGSEGV), the default;
#   mpu       a Cortex-M port: the MCU glue and the MPU backend of the architecture the
#             port compiles for (PMSAv6, v7 or v8); the port plugs in defio_mcu.h.
DEFIO_MOD_DIR := $(USERMOD_DIR)
DEFIO_BACKEND ?= mprotect

SRC_USERMOD_C += $(DEFIO_MOD_DIR)/defio_core.c
SRC_USERMOD_C += $(DEFIO_MOD_DIR)/moddefio.c

CFLAGS_USERMOD += -I$(DEFIO_MOD_DIR)

ifeq ($(DEFIO_BACKEND),mprotect)
SRC_USERMOD_C += $(DEFIO_MOD_DIR)/backend_mprotect.c
# Kernel writes (read() into d.buffer) and delivery at exit: see host_read_wrap.c.
SRC_USERMOD_C += $(DEFIO_MOD_DIR)/host_read_wrap.c
LDFLAGS_USERMOD += -Wl,--wrap=read -Wl,--wrap=mp_deinit
else ifeq ($(DEFIO_BACKEND),mpu)
SRC_USERMOD_C += $(DEFIO_MOD_DIR)/defio_mcu.c
SRC_USERMOD_C += $(DEFIO_MOD_DIR)/backend_pmsav6.c
SRC_USERMOD_C += $(DEFIO_MOD_DIR)/backend_pmsav7.c
SRC_USERMOD_C += $(DEFIO_MOD_DIR)/backend_pmsav8.c
CFLAGS_USERMOD += -DDEFIO_MCU=1
else
$(error defio: DEFIO_BACKEND must be mprotect or mpu, not $(DEFIO_BACKEND))
endif
