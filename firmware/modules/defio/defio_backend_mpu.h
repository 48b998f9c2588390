// MPU (PMSAv7) backend: what the port provides and calls.
#ifndef DEFIO_BACKEND_MPU_H
#define DEFIO_BACKEND_MPU_H

// Provided by the port: look at the open rounds soon (any context, constant time; the
// port runs defio_core_poll from its soft timer, which calls mp_sched_schedule).
void port_soft_timer_kick(void);

// Called by the port on soft reset, after defio_deinit_all() and gc_sweep_all(): every
// defio MPU region is disabled and the whole pool is free again.
void defio_backend_reset(void);

#endif // DEFIO_BACKEND_MPU_H
