// Raspberry Pi Pico (RP2040): upstream's board configuration, then defio's hooks.
#include "boards/RPI_PICO/mpconfigboard.h"
#include "../../firmware/rp2/defio_rp2_board.h"
