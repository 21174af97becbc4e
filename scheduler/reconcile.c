/*
 * reconcile.c - one pass over a service: desiredCount held, dead and
 * unhealthy tasks replaced, rolling updates within the deployment limits, and
 * the events ECS shows.
 *
 * A service's tasks are the cluster's tasks of group "service:<name>" whose
 * startedBy is the id of one of its deployments ("ecs-svc/<19 digits>"): the
 * store is the only record, so a scheduler that starts again on the same
 * store counts the same tasks and never starts one twice.
 *
 * Each pass, with D = desiredCount (0 once DRAINING),
 * max = floor(D * maximumPercent / 100), min = ceil(D * minimumHealthyPercent
 * / 100):
 *
 *   1. tasks that failed their health check are stopped (replaced in 4);
 *   2. PRIMARY tasks beyond D are stopped, pending ones first;
 *   3. tasks of older deployments, and tasks on DRAINING instances, are
 *      stopped: pending ones at once, RUNNING ones only while the RUNNING
 *      tasks left stay >= min;
 *   4. PRIMARY tasks are started up to D, while the service's tasks that are
 *      not STOPPED stay <= max.
 *
 * So every pass keeps at least min tasks RUNNING (once they were) and never
 * more than max alive, which is the contract of ECS's rolling update. A dead
 * task is not special: it is no longer counted, and step 4 replaces it.
 * Older deployments with no task left are dropped; the PRIMARY's rolloutState
 * turns COMPLETED when it alone runs D tasks.
 *
 * Events are kept newest first, at most 100, in ECS's words: "(service web)
 * has started 2 tasks: (task 1f..) (task 9c..).", "(service web) has reached
 * a steady state.", "(service web) was unable to place a task because no
 * container instance met all of its requirements. ...". A placement failure
 * or steady-state event is not repeated while it is the newest one.
 */
#include "scheduler/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_MAX 100
#define RUN_BATCH  10

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
	json_array_insert_new(events, 0,
	                      json_pack("{s:s,s:f,s:s}", "id", id, "createdAt", sched_now_epoch(s),
	                                "message", message));
	while (json_array_size(events) > EVENTS_MAX)
		json_array_remove(events, json_array_size(events) - 1);
}

static const char *newest_event(const json_t *doc)
{
	return sched_jstr(json_array_get(json_object_get(doc, "events"), 0), "message");
}

/* --- the start throttle --------------------------------------------------
 * A service whose tasks stop before they ever run (a bad image, a command
 * that exits at once, credentials the gateway refuses) would otherwise start
 * a new task on every pass forever. After THROTTLE_FREE such tasks in a row,
 * the next start waits THROTTLE_BASE_MS, doubling per failure up to
 * THROTTLE_MAX_MS; a task of the service reaching RUNNING clears it. */
#define THROTTLE_FREE    3
#define THROTTLE_BASE_MS 5000
#define THROTTLE_MAX_MS  300000

static struct sched_throttle *throttle_find(struct sched *s, const char *arn)
{
	for (size_t i = 0; i < s->n_throttle; i++)
		if (strcmp(s->throttle[i].service_arn, arn) == 0)
			return &s->throttle[i];
	return NULL;
}

void sched_throttle_note(struct sched *s, const json_t *task, bool ok)
{
	const char *group = sched_jstr(task, "group");
	const char *by = sched_jstr(task, "startedBy");
	const char *cl = sched_jstr(task, "clusterArn");
	if (!group || strncmp(group, "service:", 8) != 0 || !by ||
	    strncmp(by, "ecs-svc/", 8) != 0 || !cl)
		return;
	char rest[1200];
	int n = snprintf(rest, sizeof(rest), "%s/%s", sched_arn_tail(cl, "cluster"), group + 8);
	if (n < 0 || (size_t)n >= sizeof(rest))
		return;
	char *arn = sched_arn(s, "service", rest);
	if (!arn)
		return;
	struct sched_throttle *t = throttle_find(s, arn);
	if (ok) {
		if (t) {
			free(t->service_arn);
			*t = s->throttle[--s->n_throttle];
		}
		free(arn);
		return;
	}
	if (!t) {
		struct sched_throttle *v = realloc(s->throttle, (s->n_throttle + 1) * sizeof(*v));
		if (!v) {
			free(arn); /* no memory: no throttle, starts go on as before */
			return;
		}
		s->throttle = v;
		t = &s->throttle[s->n_throttle++];
		memset(t, 0, sizeof(*t));
		t->service_arn = arn;
		arn = NULL;
	}
	free(arn);
	t->failures++;
	if (t->failures >= THROTTLE_FREE) {
		int shift = t->failures - THROTTLE_FREE;
		int64_t delay = THROTTLE_BASE_MS << (shift > 10 ? 10 : shift);
		t->next_ms = sched_now_ms(s) + (delay > THROTTLE_MAX_MS ? THROTTLE_MAX_MS : delay);
	}
}

void sched_throttle_free(struct sched *s)
{
	for (size_t i = 0; i < s->n_throttle; i++)
		free(s->throttle[i].service_arn);
	free(s->throttle);
	s->throttle = NULL;
	s->n_throttle = 0;
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
		if (started_by && sched_jstr(d, "id") &&
		    strcmp(sched_jstr(d, "id"), started_by) == 0)
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
		const char *g = sched_jstr(t->doc, "group");
		const char *by = sched_jstr(t->doc, "startedBy");
		if (!g || strcmp(g, group) != 0 || !by || strncmp(by, "ecs-svc/", 8) != 0)
			continue;
		struct svc_task *x = &st->v[st->n++];
		x->t = t;
		x->dep = dep_index(deps, by);
		x->running = strcmp(t->row.status, "RUNNING") == 0;
		x->stopping = t->row.grp && strcmp(t->row.grp, "STOPPED") == 0;
		const char *h = sched_jstr(t->doc, "healthStatus");
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

int sched_service_reconcile(struct sched *s, struct sched_obj *svc, struct sched_error *err)
{
	json_t *doc = svc->doc;
	const char *name = svc->row.name;
	bool draining = strcmp(svc->row.status, "DRAINING") == 0;
	int D = draining ? 0 : sched_jint(doc, "desiredCount", 0);
	const json_t *dc = json_object_get(doc, "deploymentConfiguration");
	int maxp = sched_jint(dc, "maximumPercent", 200),
	    minp = sched_jint(dc, "minimumHealthyPercent", 100);
	int max_total = (int)(((long long)D * maxp) / 100);
	int min_healthy = (int)(((long long)D * minp + 99) / 100);
	if (max_total < D)
		max_total = D;
	json_t *deps = json_object_get(doc, "deployments");
	const char *primary_id = sched_jstr(json_array_get(deps, 0), "id");
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
	const struct sched_throttle *th = throttle_find(s, svc->row.arn);
	if (to_start > 0 && th && th->next_ms > sched_now_ms(s)) {
		to_start = 0;
		char msg[400];
		snprintf(msg, sizeof(msg),
		         "(service %s) is unable to consistently start tasks successfully. For "
		         "more information, see the Troubleshooting section.",
		         name);
		const char *last = newest_event(doc);
		if (!last || strcmp(last, msg) != 0)
			add_event(s, doc, msg);
	}
	int requested = to_start;
	json_t *started = json_array(), *failures = json_array();
	if (!started || !failures)
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc == SCHED_OK && to_start > 0 && primary_id) {
		struct sched_obj cl, td;
		rc = sched_obj_load(s, svc->row.cluster, &cl, SCHED_ERR_CLUSTER_NOT_FOUND, err);
		if (rc == SCHED_OK) {
			const char *tdarn = sched_jstr(json_array_get(deps, 0), "taskDefinition");
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
			const char *arn = sched_jstr(t, "taskArn");
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
		const char *why = sched_jstr(f0, "reason");
		const char *arn = sched_jstr(f0, "arn");
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
		const char *last = sched_jstr(t, "lastStatus");
		if (last && strcmp(last, "RUNNING") == 0)
			run[0]++;
		else if (last && strcmp(last, "STOPPED") != 0)
			pend[0]++;
		else if (nd > 0)
			json_object_set_new(
			    json_array_get(deps, 0), "failedTasks",
			    json_integer(sched_jint(json_array_get(deps, 0), "failedTasks", 0) +
			                 1));
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
	double now = sched_now_epoch(s);
	json_array_foreach(deps, i, d)
	{
		if (sched_jint(d, "runningCount", -1) != run[i] ||
		    sched_jint(d, "pendingCount", -1) != pend[i])
			json_object_set_new(d, "updatedAt", json_real(now));
		json_object_set_new(d, "runningCount", json_integer(run[i]));
		json_object_set_new(d, "pendingCount", json_integer(pend[i]));
		run_total += run[i];
		pend_total += pend[i];
	}
	free(run);
	free(pend);
	json_t *prim = json_array_get(deps, 0);
	bool steady = nd == 1 && sched_jint(prim, "runningCount", 0) == D &&
	              sched_jint(prim, "pendingCount", 0) == 0;
	if (prim) {
		json_object_set_new(prim, "desiredCount", json_integer(D));
		const char *rs = sched_jstr(prim, "rolloutState");
		if (steady && rs && strcmp(rs, "COMPLETED") != 0) {
			char why[200];
			snprintf(why, sizeof(why), "ECS deployment %s completed.",
			         sched_jstr(prim, "id"));
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
		int r1 = sched_service_reconcile(s, &l.v[i], &e1);
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
