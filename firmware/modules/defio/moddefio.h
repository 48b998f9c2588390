// defio hooks for ports.
#ifndef DEFIO_MODDEFIO_H
#define DEFIO_MODDEFIO_H

// Program exit and soft reset, while the VM still runs: every live instance delivers its
// pending pages once (a raising callback is printed, not retried), then stops. No callback
// and no fault can follow.
void defio_deinit_all(void);

#endif // DEFIO_MODDEFIO_H
