/*
 * sched_run.h - the scheduler of a running gateway (private to gateway/):
 * opened on the gateway's store with the configured driver, ticked by its
 * own thread, closed at stop. See sched_run.c.
 */
#ifndef TASKGATE_GATEWAY_SCHED_RUN_H
#define TASKGATE_GATEWAY_SCHED_RUN_H

struct gw_server;
struct gw_server_error;

/* Opens the driver (scheduler.driver) and the scheduler (srv->sched) and
 * starts the ticker; GW_SERVER_OK, or an error with nothing left open. */
int gw_sched_start(struct gw_server *srv, struct gw_server_error *err);
/* Stops the ticker, closes the scheduler and the driver; the tasks' containers
 * keep running. NULL-safe in effect: does nothing when not started. */
void gw_sched_stop(struct gw_server *srv);
/* Asks the ticker for a pass now (after a call that changed tasks or
 * services), instead of at the next tick. */
void gw_sched_poke(struct gw_server *srv);

#endif
