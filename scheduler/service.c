/*
 * service.c - services: a task definition kept running at desiredCount,
 * deployments that roll it over to a new revision, and the events ECS shows.
 *
 * A service's tasks are the cluster's tasks of group "service:<name>" whose
 * startedBy is the id of one of its deployments ("ecs-svc/<19 digits>"): the
 * store is the only record, so a scheduler that starts again on the same
 * store counts the same tasks and never starts one twice.
 *
 * Deployments: deployments[0] is PRIMARY (the task definition the service
 * wants now); older ones are ACTIVE until they have no task left, then they
 * are dropped. Each reconcile pass, for one service with D = desiredCount
 * (0 once DRAINING), max = floor(D * maximumPercent / 100) and
 * min = ceil(D * minimumHealthyPercent / 100):
 *
 *   1. tasks that failed their health check are stopped (replaced below);
 *   2. PRIMARY tasks beyond D are stopped, pending ones first;
 *   3. tasks of older deployments are stopped: pending ones at once, RUNNING
 *      ones only while the RUNNING tasks left stay >= min;
 *   4. PRIMARY tasks are started up to D, while the service's tasks that are
 *      not STOPPED stay <= max.
 *
 * So every pass keeps at least min tasks RUNNING (once they were) and never
 * more than max tasks alive, which is the contract of ECS's rolling update.
 * A dead task is not special: it is no longer counted, and step 4 replaces it.
 *
 * Events are kept newest first, at most 100, in ECS's words: "(service web)
 * has started 2 tasks: (task 1f..) (task 9c..).", "(service web) has reached
 * a steady state.", "(service web) was unable to place a task because no
 * container instance met all of its requirements. ...".
 */
#include "scheduler/sched_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_MAX   100
#define DESCRIBE_MAX 10
#define NAME_MAX_LEN 255
#define RUN_BATCH    10

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int jint(const json_t *o, const char *key, int dflt)
{
	const json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static double now_epoch(struct sched *s)
{
	return sched_epoch(sched_now_ms(s));
}

static void uuid(struct sched *s, char out[37])
{
	char hex[33];
	sched_random_hex(s, hex, 32);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* Newest first, at most EVENTS_MAX. */
static void add_event(struct sched *s, json_t *doc, const char *message)
{
	json_t *events = json_object_get(doc, "events");
	if (!json_is_array(events)) {
		events = json_array();
		json_object_set_new(doc, "events", events);
	}
	char id[37];
	uuid(s, id);
	json_array_insert_new(
	    events, 0,
	    json_pack("{s:s,s:f,s:s}", "id", id, "createdAt", now_epoch(s), "message", message));
	while (json_array_size(events) > EVENTS_MAX)
		json_array_remove(events, json_array_size(events) - 1);
}

static const char *newest_event(const json_t *doc)
{
	return jstr(json_array_get(json_object_get(doc, "events"), 0), "message");
}

static bool valid_name(const char *n)
{
	size_t len = n ? strlen(n) : 0;
	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)n[i]) && n[i] != '-' && n[i] != '_')
			return false;
	return true;
}

static json_t *new_deployment(struct sched *s, const char *taskdef_arn, int desired)
{
	unsigned char b[8];
	s->random(s->random_ctx, b, sizeof(b));
	unsigned long long v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	char id[40];
	snprintf(id, sizeof(id), "ecs-svc/%019llu", v % 10000000000000000000ULL);
	double now = now_epoch(s);
	return json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:f,s:f,s:s,s:s,s:s}", "id", id, "status",
	                 "PRIMARY", "taskDefinition", taskdef_arn, "desiredCount", desired,
	                 "pendingCount", 0, "runningCount", 0, "failedTasks", 0, "createdAt", now,
	                 "updatedAt", now, "launchType", "EC2", "rolloutState", "IN_PROGRESS",
	                 "rolloutStateReason", "ECS deployment in progress.");
}

/* The service named by ref (name or ARN) in cluster cl. */
static int service_load(struct sched *s, const struct sched_obj *cl, const char *ref,
                        struct sched_obj *o, struct sched_error *err)
{
	memset(o, 0, sizeof(*o));
	if (!ref || !ref[0] || strlen(ref) > 1600)
		return sched_fail(err, SCHED_ERR_SERVICE_NOT_FOUND, "Service not found.");
	const char *tail = sched_arn_tail(ref, "service");
	const char *name = strrchr(tail, '/') ? strrchr(tail, '/') + 1 : tail;
	char rest[2048];
	snprintf(rest, sizeof(rest), "%s/%s", cl->row.name, name);
	char *arn = sched_arn(s, "service", rest);
	if (!arn)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	int rc = sched_obj_load(s, arn, o, SCHED_ERR_SERVICE_NOT_FOUND, err);
	free(arn);
	if (rc == SCHED_ERR_SERVICE_NOT_FOUND)
		return sched_fail(err, SCHED_ERR_SERVICE_NOT_FOUND, "Service not found.");
	if (rc == SCHED_OK && o->row.kind != STORE_SCHED_SERVICE) {
		sched_obj_free(o);
		return sched_fail(err, SCHED_ERR_SERVICE_NOT_FOUND, "Service not found.");
	}
	return rc;
}

/* --- reconcile one service ---------------------------------------------- */

struct svc_task {
	struct sched_obj *t;
	int dep;       /* index in deployments, -1: none of them */
	bool running;  /* lastStatus RUNNING */
	bool stopping; /* desiredStatus STOPPED already */
	bool unhealthy;
	bool moving; /* on a DRAINING instance: replaced like an old deployment's */
};

struct svc_state {
	struct sched_objs live; /* the cluster's live tasks */
	struct svc_task *v;
	size_t n;
};

static void svc_state_free(struct svc_state *st)
{
	sched_objs_free(&st->live);
	free(st->v);
	memset(st, 0, sizeof(*st));
}

static int dep_index(const json_t *deps, const char *started_by)
{
	size_t i;
	const json_t *d;
	json_array_foreach(deps, i, d)
	{
		if (started_by && jstr(d, "id") && strcmp(jstr(d, "id"), started_by) == 0)
			return (int)i;
	}
	return -1;
}

static int svc_state_load(struct sched *s, const struct sched_obj *svc, struct svc_state *st,
                          struct sched_error *err)
{
	memset(st, 0, sizeof(*st));
	int rc = sched_live_tasks(s, svc->row.cluster, &st->live, err);
	if (rc != SCHED_OK)
		return rc;
	st->v = calloc(st->live.n ? st->live.n : 1, sizeof(*st->v));
	if (!st->v) {
		svc_state_free(st);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	struct store_sched_filter fd = {.kind = STORE_SCHED_CONTAINER_INSTANCE,
	                                .cluster = svc->row.cluster,
	                                .status = "DRAINING"};
	struct sched_objs draining;
	rc = sched_objs_query(s, &fd, &draining, err);
	if (rc != SCHED_OK) {
		svc_state_free(st);
		return rc;
	}
	char group[300];
	snprintf(group, sizeof(group), "service:%s", svc->row.name);
	const json_t *deps = json_object_get(svc->doc, "deployments");
	for (size_t i = 0; i < st->live.n; i++) {
		struct sched_obj *t = &st->live.v[i];
		const char *g = jstr(t->doc, "group");
		const char *by = jstr(t->doc, "startedBy");
		if (!g || strcmp(g, group) != 0 || !by || strncmp(by, "ecs-svc/", 8) != 0)
			continue;
		struct svc_task *x = &st->v[st->n++];
		x->t = t;
		x->dep = dep_index(deps, by);
		x->running = strcmp(t->row.status, "RUNNING") == 0;
		x->stopping = t->row.grp && strcmp(t->row.grp, "STOPPED") == 0;
		const char *h = jstr(t->doc, "healthStatus");
		x->unhealthy = h && strcmp(h, "UNHEALTHY") == 0;
		for (size_t k = 0; k < draining.n && !x->moving; k++)
			x->moving =
			    t->row.parent && strcmp(t->row.parent, draining.v[k].row.arn) == 0;
	}
	sched_objs_free(&draining);
	return SCHED_OK;
}

static const char *task_id(const struct sched_obj *t)
{
	return t->row.name;
}

/* Stops x, notes "(task id)" in list. */
static int svc_stop(struct sched *s, struct svc_task *x, const char *reason, char *list, size_t cap,
                    int *n, struct sched_error *err)
{
	int rc = sched_stop_locked(s, x->t, "ServiceSchedulerInitiated", reason, err);
	if (rc != SCHED_OK)
		return rc;
	x->stopping = true;
	size_t len = strlen(list);
	if (len + 64 < cap)
		snprintf(list + len, cap - len, "%s(task %s)", len ? " " : "", task_id(x->t));
	(*n)++;
	return SCHED_OK;
}

static void stopped_event(struct sched *s, json_t *doc, const char *name, int n, const char *list)
{
	if (n == 0)
		return;
	char msg[4096];
	snprintf(msg, sizeof(msg), "(service %s) has stopped %d running tasks: %s.", name, n, list);
	add_event(s, doc, msg);
}

static int reconcile_one(struct sched *s, struct sched_obj *svc, struct sched_error *err)
{
	json_t *doc = svc->doc;
	const char *name = svc->row.name;
	bool draining = strcmp(svc->row.status, "DRAINING") == 0;
	int D = draining ? 0 : jint(doc, "desiredCount", 0);
	const json_t *dc = json_object_get(doc, "deploymentConfiguration");
	int maxp = jint(dc, "maximumPercent", 200), minp = jint(dc, "minimumHealthyPercent", 100);
	int max_total = (int)(((long long)D * maxp) / 100);
	int min_healthy = (int)(((long long)D * minp + 99) / 100);
	if (max_total < D)
		max_total = D;
	json_t *deps = json_object_get(doc, "deployments");
	const char *primary_id = jstr(json_array_get(deps, 0), "id");
	char reason[300];
	snprintf(reason, sizeof(reason), "Scaling activity initiated by (deployment %s)",
	         primary_id ? primary_id : "none");

	struct svc_state st;
	int rc = svc_state_load(s, svc, &st, err);
	if (rc != SCHED_OK)
		return rc;
	char list[2048] = "";
	int n_stopped = 0;

	/* 1. failed health checks */
	for (size_t i = 0; i < st.n && rc == SCHED_OK; i++) {
		struct svc_task *x = &st.v[i];
		if (x->stopping || !x->unhealthy)
			continue;
		char msg[512];
		snprintf(msg, sizeof(msg), "(service %s) (task %s) failed container health checks.",
		         name, task_id(x->t));
		add_event(s, doc, msg);
		rc = svc_stop(s, x, "Task failed container health checks", list, sizeof(list),
		              &n_stopped, err);
	}
	/* 2. surplus primary tasks: pending first, then the newest */
	int primary = 0;
	for (size_t i = 0; i < st.n; i++)
		if (!st.v[i].stopping && st.v[i].dep == 0 && !st.v[i].moving)
			primary++;
	for (int pass = 0; pass < 2 && rc == SCHED_OK; pass++) {
		for (size_t k = st.n; k-- > 0 && primary > D && rc == SCHED_OK;) {
			struct svc_task *x = &st.v[k];
			if (x->stopping || x->dep != 0 || x->moving || (pass == 0 && x->running))
				continue;
			rc = svc_stop(s, x, reason, list, sizeof(list), &n_stopped, err);
			primary--;
		}
	}
	/* 3. older deployments: pending at once, RUNNING down to min */
	int healthy = 0;
	for (size_t i = 0; i < st.n; i++)
		if (!st.v[i].stopping && st.v[i].running)
			healthy++;
	for (int pass = 0; pass < 2 && rc == SCHED_OK; pass++) {
		for (size_t i = 0; i < st.n && rc == SCHED_OK; i++) {
			struct svc_task *x = &st.v[i];
			if (x->stopping || (x->dep == 0 && !x->moving) || (pass == 0) == x->running)
				continue;
			if (x->running && healthy - 1 < min_healthy)
				break;
			rc = svc_stop(s, x, reason, list, sizeof(list), &n_stopped, err);
			if (x->running)
				healthy--;
		}
	}
	if (rc == SCHED_OK)
		stopped_event(s, doc, name, n_stopped, list);

	/* 4. start primary tasks up to D within max */
	int alive = 0;
	for (size_t i = 0; i < st.n; i++) {
		const char *last = st.v[i].t->row.status;
		if (strcmp(last, "STOPPED") != 0)
			alive++;
	}
	int want = D - primary, room = max_total - alive;
	int to_start = want < room ? want : room;
	int requested = to_start;
	json_t *started = json_array(), *failures = json_array();
	if (!started || !failures)
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc == SCHED_OK && to_start > 0 && primary_id) {
		struct sched_obj cl, td;
		rc = sched_obj_load(s, svc->row.cluster, &cl, SCHED_ERR_CLUSTER_NOT_FOUND, err);
		if (rc == SCHED_OK) {
			const char *tdarn = jstr(json_array_get(deps, 0), "taskDefinition");
			rc = sched_obj_load(s, tdarn ? tdarn : "", &td, SCHED_ERR_CLIENT, err);
			if (rc == SCHED_OK) {
				char group[300];
				snprintf(group, sizeof(group), "service:%s", name);
				struct sched_run_request req = {
				    .group = group,
				    .started_by = primary_id,
				    .placement_strategy = json_object_get(doc, "placementStrategy"),
				    .placement_constraints =
				        json_object_get(doc, "placementConstraints"),
				    .tags = NULL,
				};
				json_t *dflt = NULL;
				if (json_array_size(req.placement_strategy) == 0) {
					dflt = json_pack("[{s:s,s:s},{s:s,s:s}]", "type", "spread",
					                 "field", "attribute:ecs.availability-zone",
					                 "type", "spread", "field", "instanceId");
					req.placement_strategy = dflt;
				}
				while (rc == SCHED_OK && to_start > 0) {
					req.count = to_start < RUN_BATCH ? to_start : RUN_BATCH;
					size_t before = json_array_size(started);
					rc = sched_run_locked(s, &req, &cl, &td, started, failures,
					                      err);
					size_t got = json_array_size(started) - before;
					if (got < (size_t)req.count)
						break;
					to_start -= req.count;
				}
				json_decref(dflt);
				sched_obj_free(&td);
			}
			sched_obj_free(&cl);
		}
	}
	if (rc == SCHED_OK && json_array_size(started) > 0) {
		char msg[4096];
		int len = snprintf(msg, sizeof(msg), "(service %s) has started %zu tasks:", name,
		                   json_array_size(started));
		size_t i;
		const json_t *t;
		json_array_foreach(started, i, t)
		{
			const char *arn = jstr(t, "taskArn");
			const char *id = arn ? strrchr(arn, '/') + 1 : "";
			if (len > 0 && (size_t)len + 64 < sizeof(msg))
				len += snprintf(msg + len, sizeof(msg) - (size_t)len, " (task %s)",
				                id);
		}
		if (len > 0 && (size_t)len + 2 < sizeof(msg))
			snprintf(msg + len, sizeof(msg) - (size_t)len, ".");
		add_event(s, doc, msg);
	}
	if (rc == SCHED_OK && requested > 0 && json_array_size(failures) == 0 &&
	    json_array_size(started) < (size_t)requested) {
		char msg[400];
		snprintf(msg, sizeof(msg),
		         "(service %s) was unable to place a task because no container instance "
		         "met all of its requirements. Reason: No Container Instances were found "
		         "in your cluster.",
		         name);
		const char *last = newest_event(doc);
		if (!last || strcmp(last, msg) != 0)
			add_event(s, doc, msg);
	}
	if (rc == SCHED_OK && json_array_size(failures) > 0) {
		const json_t *f0 = json_array_get(failures, 0);
		const char *why = jstr(f0, "reason");
		const char *arn = jstr(f0, "arn");
		const char *iid = arn && strrchr(arn, '/') ? strrchr(arn, '/') + 1 : "";
		char msg[1024];
		snprintf(msg, sizeof(msg),
		         "(service %s) was unable to place a task because no container instance "
		         "met all of its requirements. The closest matching (container-instance "
		         "%s) has %s. For more information, see the Troubleshooting section.",
		         name, iid,
		         strcmp(why, "RESOURCE:MEMORY") == 0 ? "insufficient memory available"
		         : strcmp(why, "RESOURCE:CPU") == 0  ? "insufficient CPU units available"
		         : strcmp(why, "RESOURCE:PORTS") == 0
		             ? "no ports available (the task's host ports are taken)"
		             : "a placement constraint unsatisfied");
		const char *last = newest_event(doc);
		if (!last || strcmp(last, msg) != 0)
			add_event(s, doc, msg);
	}
	size_t new_tasks = json_array_size(started);
	json_decref(failures);
	if (rc != SCHED_OK) {
		json_decref(started);
		svc_state_free(&st);
		return rc;
	}

	/* counts per deployment, from what is alive now */
	size_t nd = json_array_size(deps);
	int *run = calloc(nd + 1, sizeof(int)), *pend = calloc(nd + 1, sizeof(int));
	if (!run || !pend) {
		free(run);
		free(pend);
		json_decref(started);
		svc_state_free(&st);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	int run_total = 0, pend_total = 0;
	for (size_t i = 0; i < st.n; i++) {
		struct svc_task *x = &st.v[i];
		const char *last = x->t->row.status;
		if (x->stopping || strcmp(last, "STOPPED") == 0 || x->dep < 0)
			continue;
		if (strcmp(last, "RUNNING") == 0)
			run[x->dep]++;
		else
			pend[x->dep]++;
	}
	size_t i;
	const json_t *t;
	json_array_foreach(started, i, t)
	{
		const char *last = jstr(t, "lastStatus");
		if (last && strcmp(last, "RUNNING") == 0)
			run[0]++;
		else if (last && strcmp(last, "STOPPED") != 0)
			pend[0]++;
		else if (nd > 0)
			json_object_set_new(
			    json_array_get(deps, 0), "failedTasks",
			    json_integer(jint(json_array_get(deps, 0), "failedTasks", 0) + 1));
	}
	json_decref(started);
	(void)new_tasks;
	/* drop older deployments that have no task left */
	for (size_t k = nd; k-- > 1;) {
		bool any = run[k] + pend[k] > 0;
		for (size_t j = 0; !any && j < st.n; j++)
			if (st.v[j].dep == (int)k && strcmp(st.v[j].t->row.status, "STOPPED") != 0)
				any = true;
		if (!any) {
			json_array_remove(deps, k);
			for (size_t j = k; j < nd; j++) {
				run[j] = run[j + 1];
				pend[j] = pend[j + 1];
			}
			nd--;
		}
	}
	json_t *d;
	double now = now_epoch(s);
	json_array_foreach(deps, i, d)
	{
		if (jint(d, "runningCount", -1) != run[i] || jint(d, "pendingCount", -1) != pend[i])
			json_object_set_new(d, "updatedAt", json_real(now));
		json_object_set_new(d, "runningCount", json_integer(run[i]));
		json_object_set_new(d, "pendingCount", json_integer(pend[i]));
		run_total += run[i];
		pend_total += pend[i];
	}
	free(run);
	free(pend);
	json_t *prim = json_array_get(deps, 0);
	bool steady =
	    nd == 1 && jint(prim, "runningCount", 0) == D && jint(prim, "pendingCount", 0) == 0;
	if (prim) {
		json_object_set_new(prim, "desiredCount", json_integer(D));
		const char *rs = jstr(prim, "rolloutState");
		if (steady && rs && strcmp(rs, "COMPLETED") != 0) {
			char why[200];
			snprintf(why, sizeof(why), "ECS deployment %s completed.",
			         jstr(prim, "id"));
			json_object_set_new(prim, "rolloutState", json_string("COMPLETED"));
			json_object_set_new(prim, "rolloutStateReason", json_string(why));
			json_object_set_new(prim, "updatedAt", json_real(now));
		}
	}
	json_object_set_new(doc, "runningCount", json_integer(run_total));
	json_object_set_new(doc, "pendingCount", json_integer(pend_total));
	if (draining && run_total + pend_total == 0) {
		bool any = false;
		for (size_t j = 0; j < st.n; j++)
			if (strcmp(st.v[j].t->row.status, "STOPPED") != 0)
				any = true;
		if (!any) {
			json_object_set_new(doc, "status", json_string("INACTIVE"));
			rc = sched_obj_set_str(svc, &svc->row.status, "INACTIVE", err);
		}
	} else if (steady && !draining) {
		char msg[400];
		snprintf(msg, sizeof(msg), "(service %s) has reached a steady state.", name);
		const char *last = newest_event(doc);
		if (!last || strcmp(last, msg) != 0)
			add_event(s, doc, msg);
	}
	svc_state_free(&st);
	if (rc == SCHED_OK)
		rc = sched_obj_save(s, svc, err);
	return rc;
}

int sched_reconcile(struct sched *s, struct sched_error *err)
{
	sched_clear_error(err);
	pthread_mutex_lock(&s->lock);
	struct store_sched_filter f = {.kind = STORE_SCHED_SERVICE, .not_status = "INACTIVE"};
	struct sched_objs l;
	int rc = sched_objs_query(s, &f, &l, err);
	int first = SCHED_OK;
	struct sched_error first_err = {0};
	for (size_t i = 0; rc == SCHED_OK && i < l.n; i++) {
		/* one service failing (its task definition gone, a full cluster)
		 * does not keep the others from being reconciled */
		struct sched_error e1;
		int r1 = reconcile_one(s, &l.v[i], &e1);
		if (r1 != SCHED_OK && first == SCHED_OK) {
			first = r1;
			first_err = e1;
		}
	}
	sched_objs_free(&l);
	pthread_mutex_unlock(&s->lock);
	if (rc == SCHED_OK && first != SCHED_OK) {
		if (err)
			*err = first_err;
		rc = first;
	}
	return rc;
}

/* --- the API ---------------------------------------------------------------- */

static int check_percents(int minp, int maxp, struct sched_error *err)
{
	if (minp < 0 || minp > 100)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "minimumHealthyPercent must be between 0 and 100");
	if (maxp < 100 || maxp > 2000)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "maximumPercent must be between 100 and 2000");
	return SCHED_OK;
}

static int active_taskdef(struct sched *s, const char *ref, struct sched_obj *td,
                          struct sched_error *err)
{
	if (!ref || !ref[0])
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "taskDefinition is required");
	int rc = sched_taskdef_load(s, ref, td, err);
	if (rc != SCHED_OK)
		return rc;
	const char *st = jstr(td->doc, "status");
	if (st && strcmp(st, "ACTIVE") != 0) {
		sched_obj_free(td);
		return sched_fail(err, SCHED_ERR_CLIENT, "TaskDefinition is inactive");
	}
	return SCHED_OK;
}

int sched_service_create(struct sched *s, const struct sched_service_spec *spec,
                         json_t **service_out, struct sched_error *err)
{
	sched_clear_error(err);
	*service_out = NULL;
	if (!valid_name(spec->name))
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "serviceName must be 1-255 letters, numbers, hyphens and "
		                  "underscores");
	int minp = spec->minimum_healthy_percent < 0 ? 100 : spec->minimum_healthy_percent;
	int maxp = spec->maximum_percent < 0 ? 200 : spec->maximum_percent;
	int rc = check_percents(minp, maxp, err);
	if (rc != SCHED_OK)
		return rc;
	if (spec->desired_count < 0)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "desiredCount must be >= 0");
	rc = sched_placement_check(spec->placement_strategy, spec->placement_constraints, err);
	if (rc != SCHED_OK)
		return rc;
	json_t *tags = NULL;
	rc = sched_tags_copy(spec->tags, &tags, err);
	if (rc != SCHED_OK)
		return rc;
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl, td, svc, old;
	memset(&svc, 0, sizeof(svc));
	rc = sched_cluster_load(s, spec->cluster, false, &cl, err);
	if (rc != SCHED_OK)
		goto out_tags;
	rc = active_taskdef(s, spec->task_definition, &td, err);
	if (rc != SCHED_OK)
		goto out_cl;
	int64_t old_version = 0;
	rc = service_load(s, &cl, spec->name, &old, err);
	if (rc == SCHED_OK) {
		bool inactive = strcmp(old.row.status, "INACTIVE") == 0;
		old_version = old.row.version;
		sched_obj_free(&old);
		if (!inactive) {
			rc = sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			                "Creation of service was not idempotent.");
			goto out_td;
		}
	} else if (rc == SCHED_ERR_SERVICE_NOT_FOUND) {
		sched_clear_error(err);
		rc = SCHED_OK;
	} else {
		goto out_td;
	}
	char rest[600];
	snprintf(rest, sizeof(rest), "%s/%s", cl.row.name, spec->name);
	char *arn = sched_arn(s, "service", rest);
	json_t *dep = new_deployment(s, td.row.arn, spec->desired_count);
	double now = now_epoch(s);
	json_t *pc = spec->placement_constraints && json_is_array(spec->placement_constraints)
	                 ? json_deep_copy(spec->placement_constraints)
	                 : json_array();
	json_t *ps = spec->placement_strategy && json_is_array(spec->placement_strategy)
	                 ? json_deep_copy(spec->placement_strategy)
	                 : json_array();
	json_t *doc =
	    json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:s,s:s,s:{s:i,s:i,s:{s:b,s:b}},s:[o],s:[],s:f,"
	              "s:o,s:o,s:s,s:[],s:[],s:b,s:s,s:b,s:o}",
	              "serviceArn", arn ? arn : "", "serviceName", spec->name, "clusterArn",
	              cl.row.arn, "status", "ACTIVE", "desiredCount", spec->desired_count,
	              "runningCount", 0, "pendingCount", 0, "launchType", "EC2", "taskDefinition",
	              td.row.arn, "deploymentConfiguration", "maximumPercent", maxp,
	              "minimumHealthyPercent", minp, "deploymentCircuitBreaker", "enable", 0,
	              "rollback", 0, "deployments", dep, "events", "createdAt", now,
	              "placementConstraints", pc, "placementStrategy", ps, "schedulingStrategy",
	              "REPLICA", "loadBalancers", "serviceRegistries", "enableECSManagedTags", 0,
	              "propagateTags", "NONE", "enableExecuteCommand", 0, "tags", tags);
	tags = NULL;
	rc = sched_obj_init(&svc, STORE_SCHED_SERVICE, arn ? arn : "", cl.row.arn, spec->name,
	                    "ACTIVE", doc, err);
	free(arn);
	if (rc == SCHED_OK) {
		svc.row.version = old_version; /* replaces an INACTIVE one of that name */
		rc = sched_obj_save(s, &svc, err);
	}
	if (rc == SCHED_OK)
		rc = reconcile_one(s, &svc, err);
	if (rc == SCHED_OK)
		*service_out = json_incref(svc.doc);
	sched_obj_free(&svc);
out_td:
	sched_obj_free(&td);
out_cl:
	sched_obj_free(&cl);
out_tags:
	json_decref(tags);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_service_update(struct sched *s, const struct sched_service_update *u,
                         json_t **service_out, struct sched_error *err)
{
	sched_clear_error(err);
	*service_out = NULL;
	if (u->desired_count < -1)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "desiredCount must be >= 0");
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl, svc, td;
	memset(&td, 0, sizeof(td));
	int rc = sched_cluster_load(s, u->cluster, false, &cl, err);
	if (rc != SCHED_OK)
		goto out;
	rc = service_load(s, &cl, u->service, &svc, err);
	if (rc != SCHED_OK)
		goto out_cl;
	if (strcmp(svc.row.status, "ACTIVE") != 0) {
		rc = sched_fail(err, SCHED_ERR_SERVICE_NOT_ACTIVE, "Service was not ACTIVE.");
		goto out_svc;
	}
	json_t *doc = svc.doc;
	json_t *dc = json_object_get(doc, "deploymentConfiguration");
	int minp = u->minimum_healthy_percent >= 0 ? u->minimum_healthy_percent
	                                           : jint(dc, "minimumHealthyPercent", 100);
	int maxp = u->maximum_percent >= 0 ? u->maximum_percent : jint(dc, "maximumPercent", 200);
	rc = check_percents(minp, maxp, err);
	if (rc != SCHED_OK)
		goto out_svc;
	if (u->task_definition && u->task_definition[0]) {
		rc = active_taskdef(s, u->task_definition, &td, err);
		if (rc != SCHED_OK)
			goto out_svc;
	}
	json_object_set_new(dc, "minimumHealthyPercent", json_integer(minp));
	json_object_set_new(dc, "maximumPercent", json_integer(maxp));
	if (u->desired_count >= 0)
		json_object_set_new(doc, "desiredCount", json_integer(u->desired_count));
	int desired = jint(doc, "desiredCount", 0);
	json_t *deps = json_object_get(doc, "deployments");
	const char *cur = jstr(doc, "taskDefinition");
	if (td.doc && (!cur || strcmp(cur, td.row.arn) != 0)) {
		json_t *prim = json_array_get(deps, 0);
		if (prim)
			json_object_set_new(prim, "status", json_string("ACTIVE"));
		json_array_insert_new(deps, 0, new_deployment(s, td.row.arn, desired));
		json_object_set_new(doc, "taskDefinition", json_string(td.row.arn));
	}
	json_t *prim = json_array_get(deps, 0);
	if (prim) {
		json_object_set_new(prim, "desiredCount", json_integer(desired));
		bool steady_before =
		    strcmp(jstr(prim, "rolloutState") ? jstr(prim, "rolloutState") : "",
		           "COMPLETED") == 0;
		if (steady_before && u->desired_count >= 0 &&
		    jint(prim, "runningCount", 0) != desired) {
			json_object_set_new(prim, "rolloutState", json_string("IN_PROGRESS"));
			json_object_set_new(prim, "rolloutStateReason",
			                    json_string("ECS deployment in progress."));
		}
		json_object_set_new(prim, "updatedAt", json_real(now_epoch(s)));
	}
	rc = sched_obj_save(s, &svc, err);
	if (rc == SCHED_OK)
		rc = reconcile_one(s, &svc, err);
	if (rc == SCHED_OK)
		*service_out = json_incref(svc.doc);
	sched_obj_free(&td);
out_svc:
	sched_obj_free(&svc);
out_cl:
	sched_obj_free(&cl);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_service_delete(struct sched *s, const char *cluster, const char *service, bool force,
                         json_t **service_out, struct sched_error *err)
{
	sched_clear_error(err);
	*service_out = NULL;
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl, svc;
	int rc = sched_cluster_load(s, cluster, true, &cl, err);
	if (rc != SCHED_OK)
		goto out;
	rc = service_load(s, &cl, service, &svc, err);
	if (rc != SCHED_OK)
		goto out_cl;
	if (strcmp(svc.row.status, "INACTIVE") == 0) {
		rc = sched_fail(err, SCHED_ERR_SERVICE_NOT_ACTIVE, "Service was not ACTIVE.");
		goto out_svc;
	}
	if (strcmp(svc.row.status, "ACTIVE") == 0) {
		if (jint(svc.doc, "desiredCount", 0) > 0 && !force) {
			rc =
			    sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			               "The service cannot be stopped while it is scaled above 0.");
			goto out_svc;
		}
		json_object_set_new(svc.doc, "status", json_string("DRAINING"));
		json_object_set_new(svc.doc, "desiredCount", json_integer(0));
		rc = sched_obj_set_str(&svc, &svc.row.status, "DRAINING", err);
		if (rc == SCHED_OK)
			rc = sched_obj_save(s, &svc, err);
	}
	if (rc == SCHED_OK)
		rc = reconcile_one(s, &svc, err);
	if (rc == SCHED_OK)
		*service_out = json_incref(svc.doc);
out_svc:
	sched_obj_free(&svc);
out_cl:
	sched_obj_free(&cl);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_service_list(struct sched *s, const char *cluster, const struct sched_page *page,
                       json_t **arns_out, char **next_out, struct sched_error *err)
{
	sched_clear_error(err);
	*arns_out = NULL;
	*next_out = NULL;
	int64_t after = 0;
	size_t limit = 0;
	int rc = sched_page_start(page, &after, &limit, err);
	if (rc != SCHED_OK)
		return rc;
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl;
	json_t *arns = json_array();
	rc = arns ? sched_cluster_load(s, cluster, true, &cl, err)
	          : sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc != SCHED_OK)
		goto out;
	struct store_sched_filter f = {.kind = STORE_SCHED_SERVICE,
	                               .cluster = cl.row.arn,
	                               .not_status = "INACTIVE",
	                               .after_seq = after,
	                               .limit = limit + 1};
	struct sched_objs l;
	rc = sched_objs_query(s, &f, &l, err);
	for (size_t i = 0; rc == SCHED_OK && i < l.n && i < limit; i++)
		json_array_append_new(arns, json_string(l.v[i].row.arn));
	if (rc == SCHED_OK && l.n > limit)
		rc = sched_page_token(l.v[limit - 1].row.seq, next_out, err);
	sched_objs_free(&l);
	sched_obj_free(&cl);
out:
	pthread_mutex_unlock(&s->lock);
	if (rc != SCHED_OK) {
		json_decref(arns);
		return rc;
	}
	*arns_out = arns;
	return SCHED_OK;
}

int sched_service_describe(struct sched *s, const char *cluster, const json_t *services,
                           json_t **services_out, json_t **failures_out, struct sched_error *err)
{
	sched_clear_error(err);
	*services_out = NULL;
	*failures_out = NULL;
	if (!services || !json_is_array(services) || json_array_size(services) == 0 ||
	    json_array_size(services) > DESCRIBE_MAX)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "services must list 1 to %d service names or ARNs", DESCRIBE_MAX);
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl;
	json_t *out = json_array(), *failures = json_array();
	int rc = out && failures ? sched_cluster_load(s, cluster, true, &cl, err)
	                         : sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc != SCHED_OK)
		goto done;
	size_t i;
	const json_t *ref;
	json_array_foreach(services, i, ref)
	{
		const char *r = json_string_value(ref);
		struct sched_obj svc;
		struct sched_error e1;
		int r1 = service_load(s, &cl, r, &svc, &e1);
		if (r1 == SCHED_ERR_SERVICE_NOT_FOUND) {
			const char *arn = r ? r : "";
			char *made = NULL;
			if (r && strncmp(r, "arn:", 4) != 0) {
				char rest[1100];
				snprintf(rest, sizeof(rest), "%s/%s", cl.row.name, r);
				made = sched_arn(s, "service", rest);
				if (made)
					arn = made;
			}
			json_array_append_new(
			    failures, json_pack("{s:s,s:s}", "arn", arn, "reason", "MISSING"));
			free(made);
			continue;
		}
		if (r1 != SCHED_OK) {
			rc = r1;
			if (err)
				*err = e1;
			break;
		}
		json_array_append(out, svc.doc);
		sched_obj_free(&svc);
	}
	sched_obj_free(&cl);
done:
	pthread_mutex_unlock(&s->lock);
	if (rc != SCHED_OK) {
		json_decref(out);
		json_decref(failures);
		return rc;
	}
	*services_out = out;
	*failures_out = failures;
	return SCHED_OK;
}
