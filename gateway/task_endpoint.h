/*
 * task_endpoint.h - the endpoint tasks talk to: credentials and task
 * metadata over plain HTTP on its own listener (private to gateway/).
 *
 * The ECS agent serves these on 127.0.0.1:51679, and each host maps
 * 169.254.170.2:80 onto it; taskgate does the same (docs/task-credentials.md).
 * Routes, all GET:
 *
 *   /v2/credentials/<id>, /v1/credentials?id=<id>   the task's credentials
 *   /v4/<metadata id>[/task|/taskWithTags|/stats|/task/stats]  metadata v4
 *   /v3/<metadata id>[...]                          the same documents for v3
 *
 * Every client address gets a token bucket (task_endpoint.rate_per_s and
 * burst); a request over it is answered 429. Credentials responses are built
 * in wiped memory and never logged; the log line of a credentials request
 * shows the first 8 hex digits of the SHA-256 of its id, never the id.
 */
#ifndef TASKGATE_GATEWAY_TASK_ENDPOINT_H
#define TASKGATE_GATEWAY_TASK_ENDPOINT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/taskcreds.h"

struct MHD_Daemon;
struct gw_task_endpoint_limiter;

/* What the container host knows of a task's containers (driver.h's
 * containers and stats); *out is a new reference. 0, or -1. */
typedef int (*gw_task_endpoint_host_fn)(void *ctx, const char *task_arn, json_t **out);

struct gw_task_endpoint {
	const struct gw_config *cfg;
	struct gw_log *log;
	struct MHD_Daemon *daemon;
	uint16_t port;                       /* the bound port */
	struct gw_taskcreds *_Atomic tc;     /* set once issuance is ready; 503 before */
	gw_task_endpoint_host_fn containers; /* NULL: none */
	gw_task_endpoint_host_fn stats;      /* NULL: none */
	void *host_ctx;
	struct gw_task_endpoint_limiter *limiter;
	atomic_ulong served;
	/* Benchmarks only: GET /__empty answers an empty 200 through the same
	 * daemon, limiter and logging (the ceiling credentials are compared
	 * with). Never set by `taskgate serve`. */
	bool empty_route;
};

/* Starts the listener on cfg->task_endpoint.listen (port 0: any free port;
 * ep->port is the bound one). 0, or -1 with err filled. */
int gw_task_endpoint_start(struct gw_task_endpoint *ep, const struct gw_config *cfg,
                           struct gw_log *log, char *err, size_t err_cap);
/* "http://127.0.0.1:51679": the base tasks on this host reach it at. */
void gw_task_endpoint_base(const struct gw_task_endpoint *ep, char *out, size_t cap);
void gw_task_endpoint_set_taskcreds(struct gw_task_endpoint *ep, struct gw_taskcreds *tc);
/* Stops the daemon; NULL-safe, idempotent. */
void gw_task_endpoint_stop(struct gw_task_endpoint *ep);

/* ---- the documents, for tests ---- */

/* Task metadata v4 for one container (container NULL: the task document,
 * with_tags: taskWithTags) from the scheduler's task and task definition and
 * what the host says (host may be NULL). A new object, or NULL (no memory). */
json_t *gw_task_metadata(const json_t *task, const json_t *taskdef, const json_t *host,
                         const char *container, bool with_tags);

#endif
