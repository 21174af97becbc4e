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

/* The health of a RUNNING task, from its essential containers' healthCheck
 * (Docker's HEALTHCHECK): UNHEALTHY as soon as one of them is unhealthy,
 * HEALTHY when all that have a check pass, UNKNOWN without any check or
 * before the first verdict. A service replaces an UNHEALTHY task. */
enum sched_driver_health {
	SCHED_HEALTH_UNKNOWN = 0,
	SCHED_HEALTH_HEALTHY = 1,
	SCHED_HEALTH_UNHEALTHY = 2,
};

/* A task definition holds at most this many containers (taskdef.c). */
#define SCHED_DRIVER_MAX_CONTAINERS 10

struct sched_driver_status {
	enum sched_driver_state state;
	enum sched_driver_health health;
	/* Each container's own verdict, in definition order, for the task's
	 * containers[].healthStatus: n_health 0 when the driver does not say
	 * (the scheduler then leaves the containers' health alone). */
	enum sched_driver_health container_health[SCHED_DRIVER_MAX_CONTAINERS];
	size_t n_health;
	bool failed_to_start; /* STOPPED because starting failed (image, resources...) */
	int exit_code;        /* of the essential container that stopped the task */
	char reason[256];     /* for a person: "Essential container in task exited" */
};

/* An event the driver noticed by itself: a container died, a start that ran
 * in the background ended (RUNNING, or STOPPED with failed_to_start), or a
 * RUNNING task's health changed. */
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
	 * least PENDING), else -1 with reason filled. A driver may start in the
	 * background (docker: pulling an image can take minutes): it then
	 * answers 0 at once, inspect says PENDING meanwhile, and a start that
	 * fails later is STOPPED with failed_to_start, through inspect and an
	 * event, as if start had returned -1. */
	int (*start)(void *handle, const json_t *task, const json_t *taskdef, const json_t *env,
	             char *reason, size_t reason_cap);
	/* Asks the task's containers to stop; 0 when asked (or already gone). */
	int (*stop)(void *handle, const char *task_arn, char *reason, size_t reason_cap);
	/* The task's state now. 0 on success (UNKNOWN included), -1 when the
	 * driver could not ask its host (the scheduler then changes nothing). */
	int (*inspect)(void *handle, const char *task_arn, struct sched_driver_status *out);
	/* Up to cap events noticed since the last call; returns how many, or -1. */
	int (*events)(void *handle, struct sched_driver_event *out, size_t cap);
	/* Optional (NULL when the host cannot say; the fake has neither). What
	 * the host knows of each container of the task, for the task metadata
	 * endpoint: *out (owned by the caller) is an object container name ->
	 * object with task metadata v4 field names where the host has them
	 * ("DockerId", "DockerName", "Image", "ImageID", "Labels", "KnownStatus",
	 * "CreatedAt", "StartedAt", "FinishedAt" (RFC 3339), "ExitCode") and
	 * "Pid" for the process driver. "DockerId" is the container's runtime
	 * id on that host (docker: the container id; process: "<task
	 * id>-<container name>"), which the scheduler copies into the task's
	 * containers[].runtimeId. 0, or -1 with reason (unknown task). */
	int (*containers)(void *handle, const char *task_arn, json_t **out, char *reason,
	                  size_t reason_cap);
	/* Optional: Docker's stats JSON of each running container of the
	 * task, as an object id -> stats object (*out owned by the caller),
	 * the id being the DockerId that containers reports. docker: the
	 * engine's one-shot GET /containers/<id>/stats?stream=false; process:
	 * the container's process group read from /proc in that shape
	 * (process_stats.c). 0, or -1 with reason (unknown task, engine
	 * unreachable). */
	int (*stats)(void *handle, const char *task_arn, json_t **out, char *reason,
	             size_t reason_cap);
};

/* The variables of env (as given to start) that apply to the container
 * named container: every string value, and the container's entry of every
 * object value. Returns a new object name -> string (the caller owns it), or
 * NULL when out of memory. */
json_t *sched_driver_env_for(const json_t *env, const char *container);

/* --- the process driver (scheduler/driver_process.c) ----------------------
 *
 * Each container of a task runs as a local process (see docs/hosts.md): argv
 * is entryPoint + command (the image is not pulled or run), the environment
 * is a base (PATH, HOME, HOSTNAME), the definition's, the overrides', the
 * host ports (TASKGATE_HOST_PORT_<containerPort>, PORT), then the hooks'.
 * Each container gets its own process group and a small supervisor process
 * that records its exit status under run_dir, so that a driver opened again
 * on the same run_dir (a restarted gateway) finds the running tasks, their
 * exit codes and their logs, checking each pid's start time. */
struct sched_process_opts {
	const char *run_dir; /* required; made 0700 if missing */
	int stop_timeout;    /* seconds from SIGTERM to SIGKILL when a container
	                      * definition has no stopTimeout; 0: 30 */
	int retain_seconds;  /* a STOPPED task's folder and logs are removed
	                      * this long after it stopped; 0: 10800 (3 h) */
	/* Called from the driver's own thread right after it queued an event
	 * (NULL: nobody is told; events() still returns them). It must not call
	 * back into the driver. */
	void (*notify)(void *ctx);
	void *notify_ctx;
};
/* Fills *out (name "process"); 0, or -1 with err. */
int sched_process_driver_open(const struct sched_process_opts *opts, struct sched_driver *out,
                              char *err, size_t err_cap);
/* Frees the driver (NULL-safe on out->handle); the tasks' processes keep
 * running, to be found again by the next open on the same run_dir. */
void sched_process_driver_close(struct sched_driver *d);

/* --- the docker driver (scheduler/driver_docker.c) ------------------------
 *
 * Speaks the Docker Engine API (HTTP/1.1) over its Unix socket, or over TCP
 * with TLS. One container per container definition, labelled as the ECS
 * agent labels them (com.amazonaws.ecs.task-arn, ...container-name,
 * ...task-definition-family, ...task-definition-version, ...cluster), so a
 * driver opened again finds them by label. A thread follows the engine's
 * /events for those labels, so a container that dies is noticed at once. */
struct sched_docker_opts {
	const char *socket_path; /* NULL and no tcp_address: /var/run/docker.sock */
	const char *tcp_address; /* "host:port": TCP with TLS instead of the socket */
	const char *tls_ca;      /* PEM files for TCP (ca required; cert+key: mutual TLS) */
	const char *tls_cert;
	const char *tls_key;
	const char *port_bind_ip;  /* HostIp of published ports; NULL: "127.0.0.1" */
	const char *network_mode;  /* when the task definition has none; NULL: "bridge" */
	int stop_timeout;          /* seconds, as for the process driver; 0: 30 */
	int retain_seconds;        /* a STOPPED task's containers are removed this
	                            * long after it stopped; 0: 10800 (3 h) */
	int timeout_ms;            /* per engine request; 0: 30000 */
	/* Registry credentials in the docker CLI's config.json form, sent
	 * with a pull from a registry the file names; NULL: none. Checked at
	 * open (private, well formed), read again for every such pull. */
	const char *registry_auth_file;
	void (*notify)(void *ctx); /* as for the process driver */
	void *notify_ctx;
};
/* Connects once (GET /_ping and /version) so that a wrong address fails here;
 * fills *out (name "docker"); 0, or -1 with err. */
int sched_docker_driver_open(const struct sched_docker_opts *opts, struct sched_driver *out,
                             char *err, size_t err_cap);
/* Frees the driver; the containers keep running. */
void sched_docker_driver_close(struct sched_driver *d);
/* The engine's version as GET /version answered at open ("24.0.5"), for the
 * local container instance's versionInfo.dockerVersion: borrowed, valid
 * until close; NULL when the engine did not say or d is not a docker
 * driver. */
const char *sched_docker_driver_engine_version(const struct sched_driver *d);

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
/* The next n starts are accepted (start returns 0), then fail as a driver
 * that starts in the background reports it: STOPPED with failed_to_start
 * and reason, an event and inspect. */
void sched_fake_fail_starts_later(struct sched_fake *f, int n, const char *reason);
/* The task's essential container exits with code: an event, then STOPPED. */
int sched_fake_kill(struct sched_fake *f, const char *task_arn, int exit_code);
/* The task's health from now on, and each of its containers' (an event,
 * and what inspect reports). */
int sched_fake_set_health(struct sched_fake *f, const char *task_arn,
                          enum sched_driver_health health);
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
