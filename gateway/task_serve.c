/*
 * task_serve.c - the task endpoint and task credentials inside a running
 * gateway: started by gw_server_start before the scheduler opens (so its
 * hooks can issue), stopped by gw_server_stop.
 *
 * The endpoint reads the scheduler for what it serves: the task and its
 * definition (sched_task_describe, sched_taskdef_describe) for metadata and
 * the task's known addresses, and what the host knows of its containers
 * (sched_task_host) for Docker ids and stats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/server.h"
#include "gateway/task_endpoint.h"
#include "gateway/taskcreds.h"
#include "scheduler/scheduler.h"

static int describe(void *ctx, const char *cluster_arn, const char *task_arn, json_t **task,
                    json_t **taskdef)
{
	struct gw_server *srv = ctx;
	*task = NULL;
	*taskdef = NULL;
	if (!srv->sched)
		return -1;
	json_t *want = json_pack("[s]", task_arn);
	json_t *tasks = NULL, *failures = NULL;
	struct sched_error e;
	int rc = want ? sched_task_describe(srv->sched, cluster_arn, want, &tasks, &failures, &e)
	              : SCHED_ERR_SERVER;
	json_decref(want);
	json_decref(failures);
	json_t *t = rc == SCHED_OK ? json_array_get(tasks, 0) : NULL;
	if (!t) {
		json_decref(tasks);
		return -1;
	}
	*task = json_incref(t);
	json_decref(tasks);
	const char *tdarn = json_string_value(json_object_get(*task, "taskDefinitionArn"));
	if (!tdarn || sched_taskdef_describe(srv->sched, tdarn, taskdef, &e) != SCHED_OK) {
		json_decref(*task);
		*task = NULL;
		*taskdef = NULL;
		return -1;
	}
	return 0;
}

static int host_containers(void *ctx, const char *task_arn, json_t **out)
{
	struct gw_server *srv = ctx;
	struct sched_error e;
	*out = NULL;
	if (!srv->sched)
		return -1;
	return sched_task_host(srv->sched, task_arn, out, NULL, &e) == SCHED_OK ? 0 : -1;
}

static int host_stats(void *ctx, const char *task_arn, json_t **out)
{
	struct gw_server *srv = ctx;
	struct sched_error e;
	*out = NULL;
	if (!srv->sched)
		return -1;
	return sched_task_host(srv->sched, task_arn, NULL, out, &e) == SCHED_OK ? 0 : -1;
}

int gw_task_serve_start(struct gw_server *srv, struct gw_server_error *err)
{
	struct gw_task_endpoint *ep = calloc(1, sizeof(*ep));
	char why[256];
	if (!ep) {
		err->code = GW_SERVER_ERR_NOMEM;
		snprintf(err->message, sizeof(err->message), "out of memory");
		return err->code;
	}
	if (gw_task_endpoint_start(ep, srv->cfg, srv->log, why, sizeof(why)) != 0) {
		free(ep);
		err->code = GW_SERVER_ERR_LISTEN;
		snprintf(err->message, sizeof(err->message), "%s", why);
		return err->code;
	}
	ep->containers = host_containers;
	ep->stats = host_stats;
	ep->host_ctx = srv;
	char base[128];
	gw_task_endpoint_base(ep, base, sizeof(base));
	struct gw_taskcreds_options o = {
	    .srv = srv,
	    .cfg = srv->cfg,
	    .endpoint_base = base,
	    .describe = describe,
	    .describe_ctx = srv,
	};
	if (gw_taskcreds_new(&o, &srv->taskcreds, why, sizeof(why)) != 0) {
		gw_task_endpoint_stop(ep);
		free(ep);
		err->code = GW_SERVER_ERR_LISTEN;
		snprintf(err->message, sizeof(err->message), "task credentials: %s", why);
		return err->code;
	}
	gw_task_endpoint_set_taskcreds(ep, srv->taskcreds);
	srv->task_endpoint = ep;
	struct gw_log_line l;
	gw_log_begin(&l, srv->log, GW_LOG_INFO, "task endpoint listening");
	gw_log_str(&l, "addr", srv->cfg->task_endpoint.listen.address);
	gw_log_uint(&l, "port", ep->port);
	gw_log_str(&l, "credentials_uri",
	           srv->cfg->task_credentials.full_uri ? "full" : "relative");
	gw_log_end(&l);
	return GW_SERVER_OK;
}

void gw_task_serve_stop_endpoint(struct gw_server *srv)
{
	if (srv->task_endpoint) {
		gw_task_endpoint_stop(srv->task_endpoint);
		free(srv->task_endpoint);
		srv->task_endpoint = NULL;
	}
}

void gw_task_serve_free(struct gw_server *srv)
{
	gw_task_serve_stop_endpoint(srv);
	gw_taskcreds_free(srv->taskcreds);
	srv->taskcreds = NULL;
}

void gw_task_serve_hooks(struct gw_server *srv, struct sched_task_hooks *out)
{
	if (srv->taskcreds)
		*out = gw_taskcreds_hooks(srv->taskcreds);
}
