# defio user C module. DEFIO_BACKEND selects the protection backend:
#   mprotect (host, default) or mpu (Cortex-M PMSAv7).
DEFIO_MOD_DIR := $(USERMOD_DIR)
DEFIO_BACKEND ?= mprotect

SRC_USERMOD_C += $(DEFIO_MOD_DIR)/defio_core.c
SRC_USERMOD_C += $(DEFIO_MOD_DIR)/moddefio.c
SRC_USERMOD_C += $(DEFIO_MOD_DIR)/backend_$(DEFIO_BACKEND).c

CFLAGS_USERMOD += -I$(DEFIO_MOD_DIR)

ifeq ($(DEFIO_BACKEND),mprotect)
# Kernel writes (read() into d.buffer) and delivery at exit: see host_read_wrap.c.
SRC_USERMOD_C += $(DEFIO_MOD_DIR)/host_read_wrap.c
LDFLAGS_USERMOD += -Wl,--wrap=read -Wl,--wrap=mp_deinit
endif
