/*
 * driver_int.h - what the host drivers (driver_docker.c, driver_process.c,
 * fake_driver.c and their helpers) do the same way, so that one piece of
 * code serves them all: the table of tasks a driver knows, keyed by ARN;
 * the queue of events it keeps until the scheduler takes them; the rule
 * that turns its containers' health into the task's (driver.h); and the
 * formatter of the reason a failed call hands back.
 *
 * Not a driver interface (that is driver.h) and nothing the rest of the
 * scheduler uses. None of this locks: each driver calls it under its own
 * lock.
 */
#ifndef TASKGATE_SCHED_DRIVER_INT_H
#define TASKGATE_SCHED_DRIVER_INT_H

#include "scheduler/driver.h"

#include <stdbool.h>
#include <stddef.h>

/* The tasks a driver knows. Each driver has its own task struct; the table
 * holds pointers to them (owned by the driver, which frees them) and finds
 * one by the `char *arn` member at arn_offset (offsetof(struct x, arn)). */
struct drv_tasks {
	void **v;
	size_t n, cap;
	size_t arn_offset;
};

/* The task whose ARN is arn, or NULL. */
void *drv_tasks_find(const struct drv_tasks *ts, const char *arn);
/* Appends task (its ARN already set); 0, or -1 when out of memory. */
int drv_tasks_add(struct drv_tasks *ts, void *task);
/* Frees the table itself, not the tasks. */
void drv_tasks_free(struct drv_tasks *ts);

/* Events noticed and not yet taken by the scheduler's events() call. */
struct drv_event_queue {
	struct sched_driver_event *v; /* NULL until the first event */
	size_t n, cap;
};

/* A new event at the end of the queue, zeroed but for its task ARN, for the
 * caller to fill in its status; NULL when out of memory or when the ARN does
 * not fit (the event is lost: inspect still tells the scheduler). */
struct sched_driver_event *drv_events_add(struct drv_event_queue *q, const char *task_arn);
/* Moves up to cap of the oldest events to out; returns how many. */
size_t drv_events_take(struct drv_event_queue *q, struct sched_driver_event *out, size_t cap);
void drv_events_free(struct drv_event_queue *q);

/* What a driver knows of one container's health check. */
struct drv_container_health {
	bool checked;   /* the container has a healthCheck */
	bool essential; /* its verdict can make the task UNHEALTHY */
	enum sched_driver_health verdict;
};

/* Fills out->health, container_health and n_health from the n containers
 * of a task, container i described by at(task, i): UNHEALTHY when an
 * essential container with a check fails it, HEALTHY when every container
 * with a check passes, UNKNOWN otherwise (no check, or no verdict yet). */
void drv_task_health(const void *task, size_t n,
                     struct drv_container_health (*at)(const void *task, size_t i),
                     struct sched_driver_status *out);

/* Formats a reason for a person into dst (when dst and cap) and returns -1,
 * so that a failing call reads `return drv_fail(reason, cap, ...)`. */
__attribute__((format(printf, 3, 4))) int drv_fail(char *dst, size_t cap, const char *fmt, ...);

/* Wall-clock milliseconds since the epoch (when a task stopped). */
long long drv_now_ms(void);

#endif
