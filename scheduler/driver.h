/*
 * driver.h - what the scheduler asks of a container host, and nothing more.
 *
 * A driver runs the containers of a task somewhere (a Docker engine, local
 * processes, or the in-memory fake the tests use) and reports what became of
 * them. The scheduler owns the task's ECS state; the driver owns the
 * containers. Calls name a task by its ARN, so that a driver reopened after a
 * gateway restart can find the containers it labelled with that ARN before,
 * and the scheduler never learns a host-specific identifier.
 *
 * All calls come from the scheduler's lock, one at a time per scheduler; a
 * driver shared by several schedulers must lock itself.
 */
#ifndef TASKGATE_SCHED_DRIVER_H
#define TASKGATE_SCHED_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* What a driver reports for one task. */
enum sched_driver_state {
	SCHED_DRIVER_UNKNOWN = 0, /* the driver has no such task (lost, or never started) */
	SCHED_DRIVER_PENDING = 1, /* created, not every essential container running yet */
	SCHED_DRIVER_RUNNING = 2, /* every essential container running */
	SCHED_DRIVER_STOPPED = 3, /* all containers gone or exited */
};

struct sched_driver_status {
	enum sched_driver_state state;
	bool failed_to_start; /* STOPPED because starting failed (image, resources...) */
	int exit_code;        /* of the essential container that stopped the task */
	char reason[256];     /* for a person: "Essential container in task exited" */
};

/* An event the driver noticed by itself (a container died). */
struct sched_driver_event {
	char task_arn[512];
	struct sched_driver_status status;
};

struct sched_driver {
	const char *name; /* "fake", "docker", "process" */
	void *handle;     /* opaque; owned by whoever made the driver */
	/* Starts the task. task is the ECS task object (arn, containers with
	 * their networkBindings, overrides); taskdef the task definition; env
	 * (a JSON object, never NULL) is set in the containers on top of the
	 * definition's and the overrides' environment (the hooks' credentials
	 * and metadata variables win). A value is either a string, set in every
	 * container, or an object container name -> string, set in the named
	 * containers only (ECS_CONTAINER_METADATA_URI_V4 differs per container);
	 * sched_driver_env_for() picks one container's variables. 0 on success (the task is at
	 * least PENDING), else -1 with reason filled. */
	int (*start)(void *handle, const json_t *task, const json_t *taskdef, const json_t *env,
	             char *reason, size_t reason_cap);
	/* Asks the task's containers to stop; 0 when asked (or already gone). */
	int (*stop)(void *handle, const char *task_arn, char *reason, size_t reason_cap);
	/* The task's state now. 0 on success (UNKNOWN included), -1 when the
	 * driver could not ask its host (the scheduler then changes nothing). */
	int (*inspect)(void *handle, const char *task_arn, struct sched_driver_status *out);
	/* Up to cap events noticed since the last call; returns how many, or -1. */
	int (*events)(void *handle, struct sched_driver_event *out, size_t cap);
};

/* The variables of env (as given to start) that apply to the container
 * named container: every string value, and the container's entry of every
 * object value. Returns a new object name -> string (the caller owns it), or
 * NULL when out of memory. */
json_t *sched_driver_env_for(const json_t *env, const char *container);

/* --- the in-memory fake driver (scheduler/fake_driver.c) -------------------
 *
 * Tasks start RUNNING at once (or, with start_pending, PENDING: the first
 * inspect then moves them to RUNNING and reports RUNNING), stop at once, and
 * can be made to fail or to die. It
 * outlives a scheduler, which is how tests play a gateway restart with
 * containers still running. */
struct sched_fake;
struct sched_fake *sched_fake_new(void);
void sched_fake_free(struct sched_fake *f); /* NULL-safe */
/* A driver that calls into f (f must outlive it). */
struct sched_driver sched_fake_driver(struct sched_fake *f);
void sched_fake_start_pending(struct sched_fake *f, bool on);
/* The next n starts fail with reason. */
void sched_fake_fail_starts(struct sched_fake *f, int n, const char *reason);
/* The task's essential container exits with code: an event, then STOPPED. */
int sched_fake_kill(struct sched_fake *f, const char *task_arn, int exit_code);
/* Forgets every task, as a host that lost its containers. */
void sched_fake_forget_all(struct sched_fake *f);
/* Tasks the fake holds RUNNING or PENDING, and how many starts succeeded. */
size_t sched_fake_live(const struct sched_fake *f);
size_t sched_fake_starts(const struct sched_fake *f);
/* The started task's JSON as the driver got it (borrowed), or NULL. */
const json_t *sched_fake_task(const struct sched_fake *f, const char *task_arn);
/* The environment the started task got (borrowed), or NULL. */
const json_t *sched_fake_env(const struct sched_fake *f, const char *task_arn);

#endif
