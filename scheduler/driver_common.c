/*
 * driver_common.c - the bookkeeping every host driver does alike (see
 * driver_int.h): its task table, its event queue, the task-health rule and
 * the reason formatter. A driver keeps its own task and container structs
 * and its own lock; these functions only see what they are handed.
 */
#include "scheduler/driver_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *drv_tasks_find(const struct drv_tasks *ts, const char *arn)
{
	for (size_t i = 0; i < ts->n; i++) {
		/* The member at arn_offset is the task's `char *arn`. */
		const char *a = *(char *const *)((const char *)ts->v[i] + ts->arn_offset);
		if (strcmp(a, arn) == 0)
			return ts->v[i];
	}
	return NULL;
}

int drv_tasks_add(struct drv_tasks *ts, void *task)
{
	if (ts->n == ts->cap) {
		size_t nc = ts->cap ? ts->cap * 2 : 16;
		void **nv = realloc(ts->v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		ts->v = nv;
		ts->cap = nc;
	}
	ts->v[ts->n++] = task;
	return 0;
}

void drv_tasks_free(struct drv_tasks *ts)
{
	free(ts->v);
	ts->v = NULL;
	ts->n = ts->cap = 0;
}

struct sched_driver_event *drv_events_add(struct drv_event_queue *q, const char *task_arn)
{
	if (q->n == q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 16;
		struct sched_driver_event *nv = realloc(q->v, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		q->v = nv;
		q->cap = nc;
	}
	struct sched_driver_event *e = &q->v[q->n];
	memset(e, 0, sizeof(*e));
	/* A cut ARN would name no task the scheduler knows. */
	int w = snprintf(e->task_arn, sizeof(e->task_arn), "%s", task_arn);
	if (w < 0 || (size_t)w >= sizeof(e->task_arn))
		return NULL;
	q->n++;
	return e;
}

size_t drv_events_take(struct drv_event_queue *q, struct sched_driver_event *out, size_t cap)
{
	size_t n = q->n < cap ? q->n : cap;
	if (n > 0) { /* q->v is NULL until the first event */
		memcpy(out, q->v, n * sizeof(*out));
		memmove(q->v, q->v + n, (q->n - n) * sizeof(*out));
		q->n -= n;
	}
	return n;
}

void drv_events_free(struct drv_event_queue *q)
{
	free(q->v);
	q->v = NULL;
	q->n = q->cap = 0;
}

void drv_task_health(const void *task, size_t n,
                     struct drv_container_health (*at)(const void *task, size_t i),
                     struct sched_driver_status *out)
{
	bool any = false, all = true, bad = false;
	out->n_health = n < SCHED_DRIVER_MAX_CONTAINERS ? n : SCHED_DRIVER_MAX_CONTAINERS;
	for (size_t i = 0; i < n; i++) {
		struct drv_container_health c = at(task, i);
		enum sched_driver_health h = c.checked ? c.verdict : SCHED_HEALTH_UNKNOWN;
		if (i < out->n_health)
			out->container_health[i] = h;
		if (!c.checked)
			continue;
		any = true;
		bad |= c.essential && h == SCHED_HEALTH_UNHEALTHY;
		all &= h == SCHED_HEALTH_HEALTHY;
	}
	out->health = bad          ? SCHED_HEALTH_UNHEALTHY
	              : any && all ? SCHED_HEALTH_HEALTHY
	                           : SCHED_HEALTH_UNKNOWN;
}

int drv_fail(char *dst, size_t cap, const char *fmt, ...)
{
	if (dst && cap) {
		va_list ap;
		va_start(ap, fmt);
		if (vsnprintf(dst, cap, fmt, ap) < 0)
			dst[0] = '\0';
		va_end(ap);
	}
	return -1;
}

long long drv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
