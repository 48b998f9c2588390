// Raspberry Pi Pico 2 (RP2350): upstream's board configuration, then defio's hooks.
#include "boards/RPI_PICO2/mpconfigboard.h"
#include "../../firmware/rp2/defio_rp2_board.h"
