/*
 * driver_int.h - what the host drivers (driver_docker.c, driver_process.c,
 * fake_driver.c and their helpers) do the same way, so that one piece of
 * code serves them all: the table of tasks a driver knows, keyed by ARN;
 * the queue of events it keeps until the scheduler takes them; the rule
 * that turns its containers' health into the task's (driver.h); reading
 * the parts of an ECS container definition that mean the same to every
 * host; and the formatter of the reason a failed call hands back.
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

#include <jansson.h>

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

/* Reading an ECS container definition (driver_cdef.c), as both real drivers
 * turn one into a container. */
/* A number ECS may send as an integer or as a string ("512"); 0 otherwise. */
long drv_num(const json_t *v);
/* The element of arr (an array of objects) whose "name" is name, or NULL. */
const json_t *drv_find_named(const json_t *arr, const char *name);
/* A JSON string without a NUL inside (it can go into argv or environ). */
bool drv_plain_string(const json_t *v);
/* The task's overrides.containerOverrides entry for container name, or NULL. */
const json_t *drv_container_override(const json_t *task, const char *name);
/* The command to run: the override's when it has one, else the definition's
 * (either may be NULL). */
const json_t *drv_command(const json_t *ovr, const json_t *cdef);
/* The definition's stopTimeout in seconds (at most a day), else dflt. */
int drv_stop_timeout(const json_t *cdef, int dflt);
/* Sets name=value in env (an object used as an ordered map), refusing a
 * name that is empty or holds '='; 0, or -1 with reason. */
int drv_env_set(json_t *env, const char *name, const char *value, char *reason, size_t cap);

/* Formats a reason for a person into dst (when dst and cap) and returns -1,
 * so that a failing call reads `return drv_fail(reason, cap, ...)`. */
__attribute__((format(printf, 3, 4))) int drv_fail(char *dst, size_t cap, const char *fmt, ...);

/* Wall-clock milliseconds since the epoch (when a task stopped). */
long long drv_now_ms(void);

#endif
