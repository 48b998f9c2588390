// defio hooks for ports.
#ifndef DEFIO_MODDEFIO_H
#define DEFIO_MODDEFIO_H

// Soft reset: stop every instance (no callback, no fault can follow).
void defio_deinit_all(void);

#endif // DEFIO_MODDEFIO_H
