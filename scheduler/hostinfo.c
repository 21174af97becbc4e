/*
 * hostinfo.c - what the container host knows of a task's containers, for the
 * task metadata endpoint: the driver's optional containers and stats calls
 * (driver.h), made under the scheduler's lock as every driver call is.
 */
#include "scheduler/sched_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

int sched_task_host(struct sched *s, const char *task_arn, json_t **containers_out,
                    json_t **stats_out, struct sched_error *err)
{
	sched_clear_error(err);
	if (containers_out)
		*containers_out = NULL;
	if (stats_out)
		*stats_out = NULL;
	if (!s || !task_arn)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "a task ARN is required");
	char why[256] = "";
	int rc = SCHED_OK;
	pthread_mutex_lock(&s->lock);
	if (containers_out && s->driver.containers &&
	    s->driver.containers(s->driver.handle, task_arn, containers_out, why, sizeof(why)) != 0)
		rc = sched_fail(err, SCHED_ERR_RESOURCE_NOT_FOUND, "%s",
		                why[0] ? why : "the host does not know the task");
	if (rc == SCHED_OK && stats_out && s->driver.stats &&
	    s->driver.stats(s->driver.handle, task_arn, stats_out, why, sizeof(why)) != 0)
		rc = sched_fail(err, SCHED_ERR_RESOURCE_NOT_FOUND, "%s",
		                why[0] ? why : "the host has no stats for the task");
	pthread_mutex_unlock(&s->lock);
	if (rc != SCHED_OK) {
		if (containers_out) {
			json_decref(*containers_out);
			*containers_out = NULL;
		}
		if (stats_out) {
			json_decref(*stats_out);
			*stats_out = NULL;
		}
	}
	return rc;
}
