/*
 * lifecycle.c - a task's walk from PROVISIONING to STOPPED, and following
 * the driver (sched_tick).
 *
 *   PROVISIONING  placed on an instance, its resources and host ports held
 *   PENDING       the driver has it; not every essential container runs yet
 *   RUNNING       every essential container runs
 *   DEPROVISIONING asked to stop, containers not gone yet
 *   STOPPED       with stopCode and stoppedReason; resources given back
 *
 * Every change of a task is written by sched_task_commit together with its
 * instance's refreshed document (remainingResources, task counts) in one
 * store transaction: an instance's usage is worked out from the tasks on it
 * that are not STOPPED (usage.c), so a task reaching STOPPED gives its CPU,
 * memory and ports back by that same write, and a crash never leaves one
 * without the other.
 *
 * A start is: saved PROVISIONING (by the caller), the gateway's starting
 * hook fills the environment, the driver starts it, PENDING is saved. The
 * hook refusing or the driver failing stops the task at once with
 * TaskFailedToStart (fail closed). Reaching STOPPED by any road calls the
 * stopped hook once, after the write.
 *
 * sched_tick drains the driver's events (a container that died), then
 * inspects every live task: PENDING -> RUNNING, health changes, exits, and
 * tasks the driver does not know. A task left PROVISIONING (the gateway died
 * between the save and the start) and unknown to the driver is stopped with
 * TaskFailedToStart rather than started blind; one the driver knows is
 * adopted as it is. Either way no task is started twice.
 */
#include "scheduler/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REASON_MAX 255

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* --- writing a task with its instance ------------------------------------ */

static int obj_clone(const struct sched_obj *src, struct sched_obj *dst, struct sched_error *err)
{
	memset(dst, 0, sizeof(*dst));
	dst->row.seq = src->row.seq;
	dst->row.kind = src->row.kind;
	dst->row.revision = src->row.revision;
	dst->row.version = src->row.version;
	dst->doc = json_incref(src->doc);
	int rc = sched_obj_set_str(dst, &dst->row.arn, src->row.arn, err);
	if (rc == SCHED_OK)
		rc = sched_obj_set_str(dst, &dst->row.cluster, src->row.cluster, err);
	if (rc == SCHED_OK)
		rc = sched_obj_set_str(dst, &dst->row.name, src->row.name, err);
	if (rc == SCHED_OK)
		rc = sched_obj_set_str(dst, &dst->row.status, src->row.status, err);
	if (rc == SCHED_OK)
		rc = sched_obj_set_str(dst, &dst->row.grp, src->row.grp, err);
	if (rc == SCHED_OK)
		rc = sched_obj_set_str(dst, &dst->row.parent, src->row.parent, err);
	if (rc != SCHED_OK)
		sched_obj_free(dst);
	return rc;
}

int sched_objs_put(struct sched_objs *l, const struct sched_obj *o, struct sched_error *err)
{
	struct sched_obj *v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	l->v = v;
	int rc = obj_clone(o, &l->v[l->n], err);
	if (rc == SCHED_OK)
		l->n++;
	return rc;
}

/* The copied lookup fields follow the document. */
static int sync_row(struct sched_obj *t, struct sched_error *err)
{
	int rc = sched_obj_set_str(t, &t->row.status, jstr(t->doc, "lastStatus"), err);
	if (rc == SCHED_OK)
		rc = sched_obj_set_str(t, &t->row.grp, jstr(t->doc, "desiredStatus"), err);
	return rc;
}

/* Saves the task and its instance (remainingResources and task counts
 * refreshed with the task as it is now) in one transaction. */
int sched_task_commit(struct sched *s, struct sched_obj *task, struct sched_error *err)
{
	int rc = sync_row(task, err);
	if (rc != SCHED_OK)
		return rc;
	/* ECS's task version: the writes so far, as the store counts them */
	json_object_set_new(task->doc, "version", json_integer(task->row.version + 1));
	const char *parent = task->row.parent;
	if (!parent || !parent[0]) {
		struct sched_obj *one[1] = {task};
		return sched_objs_save(s, one, 1, err);
	}
	struct sched_obj inst;
	rc = sched_obj_load(s, parent, &inst, SCHED_ERR_RESOURCE_NOT_FOUND, err);
	if (rc == SCHED_ERR_RESOURCE_NOT_FOUND) {
		/* the instance is gone (deregistered): the task alone */
		sched_clear_error(err);
		struct sched_obj *one[1] = {task};
		return sched_objs_save(s, one, 1, err);
	}
	if (rc != SCHED_OK)
		return rc;
	struct store_sched_filter f = {
	    .kind = STORE_SCHED_TASK, .parent = parent, .not_status = "STOPPED"};
	struct sched_objs live;
	rc = sched_objs_query(s, &f, &live, err);
	if (rc != SCHED_OK) {
		sched_obj_free(&inst);
		return rc;
	}
	bool found = false;
	for (size_t i = 0; i < live.n && rc == SCHED_OK; i++) {
		struct sched_obj *o = &live.v[i];
		if (strcmp(o->row.arn, task->row.arn) != 0)
			continue;
		found = true;
		json_decref(o->doc);
		o->doc = json_incref(task->doc);
		rc = sync_row(o, err);
	}
	if (rc == SCHED_OK && !found)
		rc = sched_objs_put(&live, task, err);
	if (rc == SCHED_OK)
		rc = sched_instance_refresh(s, &inst, &live, err);
	if (rc == SCHED_OK) {
		struct sched_obj *two[2] = {task, &inst};
		rc = sched_objs_save(s, two, 2, err);
	}
	sched_objs_free(&live);
	sched_obj_free(&inst);
	return rc;
}

/* --- lifecycle steps ----------------------------------------------------- */

static void set_time(struct sched *s, json_t *doc, const char *key, bool keep)
{
	if (keep && json_object_get(doc, key))
		return;
	json_object_set_new(doc, key, json_real(sched_epoch(sched_now_ms(s))));
}

static void containers_status(json_t *doc, const char *status)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "containers"), i, c)
	{
		const char *st = jstr(c, "lastStatus");
		if (st && strcmp(st, "STOPPED") == 0)
			continue;
		json_object_set_new(c, "lastStatus", json_string(status));
	}
}

static void mark_running(struct sched *s, json_t *doc)
{
	json_object_set_new(doc, "lastStatus", json_string("RUNNING"));
	set_time(s, doc, "pullStoppedAt", true);
	set_time(s, doc, "startedAt", true);
	set_time(s, doc, "connectivityAt", true);
	json_object_set_new(doc, "connectivity", json_string("CONNECTED"));
	containers_status(doc, "RUNNING");
}

/* Each container's runtimeId (ECS: the Docker container id) from the
 * DockerId the driver reports of the task's containers (driver.h), asked
 * once, as the task reaches RUNNING: every container has been created by
 * then, and the id does not change while it lives. The call is the one the
 * task metadata endpoint makes (docker: one inspect per container on the
 * engine's local socket; process: from memory), so it holds the scheduler's
 * lock no longer than a metadata request does. A driver that cannot say
 * (none, an error) leaves runtimeId out, as does a container it does not
 * name. */
static void containers_runtime_ids(struct sched *s, json_t *doc, const char *arn)
{
	if (!s->driver.containers)
		return;
	json_t *host = NULL;
	char why[256];
	if (s->driver.containers(s->driver.handle, arn, &host, why, sizeof(why)) != 0) {
		json_decref(host);
		return;
	}
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "containers"), i, c)
	{
		const char *name = jstr(c, "name");
		const char *id = name ? jstr(json_object_get(host, name), "DockerId") : NULL;
		if (id && id[0])
			json_object_set_new(c, "runtimeId", json_string(id));
	}
	json_decref(host);
}

void sched_clip_reason(char *buf, size_t cap, const char *r)
{
	snprintf(buf, cap, "%s", r ? r : "");
	if (strlen(buf) > REASON_MAX)
		buf[REASON_MAX] = '\0';
}

/* The task is STOPPED now: record why, give its resources back (the commit),
 * then tell the gateway. stop_code/reason apply unless a stop request set
 * them first. st (may be NULL) carries the exit code. */
static int finish_stopped(struct sched *s, struct sched_obj *task, const char *stop_code,
                          const char *reason, const struct sched_driver_status *st,
                          struct sched_error *err)
{
	json_t *doc = task->doc;
	if (!jstr(doc, "stopCode"))
		json_object_set_new(doc, "stopCode", json_string(stop_code));
	if (!jstr(doc, "stoppedReason")) {
		char buf[REASON_MAX + 1];
		sched_clip_reason(buf, sizeof(buf), reason);
		json_object_set_new(doc, "stoppedReason", json_string(buf));
	}
	json_object_set_new(doc, "desiredStatus", json_string("STOPPED"));
	json_object_set_new(doc, "lastStatus", json_string("STOPPED"));
	set_time(s, doc, "stoppingAt", true);
	set_time(s, doc, "executionStoppedAt", true);
	set_time(s, doc, "stoppedAt", true);
	if (json_object_get(doc, "connectivity"))
		json_object_set_new(doc, "connectivity", json_string("DISCONNECTED"));
	bool exit_set = false;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "containers"), i, c)
	{
		json_object_set_new(c, "lastStatus", json_string("STOPPED"));
		/* the driver reports the exit code of the essential container
		 * that stopped the task: the first essential one here */
		if (st && !st->failed_to_start && st->state == SCHED_DRIVER_STOPPED && !exit_set &&
		    !json_is_false(json_object_get(c, "essential")) &&
		    !json_object_get(c, "exitCode")) {
			json_object_set_new(c, "exitCode", json_integer(st->exit_code));
			exit_set = true;
		}
		if (st && st->failed_to_start && !json_object_get(c, "reason") && st->reason[0])
			json_object_set_new(c, "reason", json_string(st->reason));
	}
	int rc = sched_task_commit(s, task, err);
	const char *code = jstr(doc, "stopCode");
	if (rc == SCHED_OK && !json_object_get(doc, "startedAt") && code &&
	    strcmp(code, "UserInitiated") != 0 && strcmp(code, "ServiceSchedulerInitiated") != 0)
		sched_throttle_note(s, doc, false);
	if (rc == SCHED_OK && s->hooks.stopped)
		s->hooks.stopped(s->hooks.ctx, task->doc);
	return rc;
}

/* Hook, then driver. The task is saved (PROVISIONING) before. */
int sched_task_start(struct sched *s, struct sched_obj *task, const struct sched_obj *td,
                     struct sched_error *err)
{
	char reason[512] = "";
	json_t *env = json_object();
	if (!env)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (s->hooks.starting &&
	    s->hooks.starting(s->hooks.ctx, task->doc, td->doc, env, reason, sizeof(reason)) != 0) {
		json_decref(env);
		if (!reason[0])
			snprintf(reason, sizeof(reason), "The gateway refused to start the task");
		return finish_stopped(s, task, "TaskFailedToStart", reason, NULL, err);
	}
	json_object_set_new(task->doc, "lastStatus", json_string("PENDING"));
	set_time(s, task->doc, "pullStartedAt", true);
	int drc =
	    s->driver.start(s->driver.handle, task->doc, td->doc, env, reason, sizeof(reason));
	json_decref(env);
	if (drc != 0) {
		if (!reason[0])
			snprintf(reason, sizeof(reason),
			         "The container host could not start the task");
		struct sched_driver_status st = {.state = SCHED_DRIVER_STOPPED,
		                                 .failed_to_start = true};
		sched_clip_reason(st.reason, sizeof(st.reason), reason);
		return finish_stopped(s, task, "TaskFailedToStart", reason, &st, err);
	}
	/* PENDING until sched_tick hears from the driver that every essential
	 * container runs, as ECS answers RunTask before the containers run */
	return sched_task_commit(s, task, err);
}

static const char *health_word(enum sched_driver_health h)
{
	return h == SCHED_HEALTH_HEALTHY     ? "HEALTHY"
	       : h == SCHED_HEALTH_UNHEALTHY ? "UNHEALTHY"
	                                     : "UNKNOWN";
}

/* Each container's healthStatus from the driver's verdicts (definition order,
 * which is the order of the task's containers[]). Returns whether any
 * differs; writes them when set is true. */
static bool containers_health(json_t *doc, const struct sched_driver_status *st, bool set)
{
	bool differs = false;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "containers"), i, c)
	{
		if (i >= st->n_health || i >= SCHED_DRIVER_MAX_CONTAINERS)
			break;
		const char *h = health_word(st->container_health[i]);
		const char *had = jstr(c, "healthStatus");
		if (had && strcmp(had, h) == 0)
			continue;
		differs = true;
		if (set)
			json_object_set_new(c, "healthStatus", json_string(h));
	}
	return differs;
}

/* Moves one live task along from what the driver says; *changed set when its
 * state changed. */
static int apply_status(struct sched *s, struct sched_obj *task,
                        const struct sched_driver_status *st, bool *changed,
                        struct sched_error *err)
{
	*changed = false;
	const char *last = jstr(task->doc, "lastStatus");
	const char *desired = jstr(task->doc, "desiredStatus");
	if (!last || strcmp(last, "STOPPED") == 0)
		return SCHED_OK;
	bool want_stop = desired && strcmp(desired, "STOPPED") == 0;
	switch (st->state) {
	case SCHED_DRIVER_RUNNING:
		if (want_stop) {
			/* asked before and still running: ask again */
			char reason[256];
			s->driver.stop(s->driver.handle, task->row.arn, reason, sizeof(reason));
			return SCHED_OK;
		}
		{
			const char *h = health_word(st->health);
			const char *had = jstr(task->doc, "healthStatus");
			bool health_changed = !had || strcmp(had, h) != 0;
			health_changed |= containers_health(task->doc, st, false);
			if (strcmp(last, "RUNNING") == 0 && !health_changed)
				return SCHED_OK;
			if (strcmp(last, "RUNNING") != 0) {
				mark_running(s, task->doc);
				containers_runtime_ids(s, task->doc, task->row.arn);
				sched_throttle_note(s, task->doc, true);
			}
			json_object_set_new(task->doc, "healthStatus", json_string(h));
			containers_health(task->doc, st, true);
		}
		*changed = true;
		return sched_task_commit(s, task, err);
	case SCHED_DRIVER_PENDING:
		if (strcmp(last, "PROVISIONING") == 0) {
			json_object_set_new(task->doc, "lastStatus", json_string("PENDING"));
			*changed = true;
			return sched_task_commit(s, task, err);
		}
		return SCHED_OK;
	case SCHED_DRIVER_STOPPED:
		*changed = true;
		if (st->failed_to_start)
			return finish_stopped(
			    s, task, "TaskFailedToStart",
			    st->reason[0] ? st->reason : "The task failed to start", st, err);
		return finish_stopped(
		    s, task, "EssentialContainerExited",
		    st->reason[0] ? st->reason : "Essential container in task exited", st, err);
	case SCHED_DRIVER_UNKNOWN:
	default:
		*changed = true;
		if (strcmp(last, "PROVISIONING") == 0)
			return finish_stopped(s, task, "TaskFailedToStart",
			                      "The scheduler stopped before the task was started",
			                      st, err);
		return finish_stopped(s, task, "EssentialContainerExited",
		                      "The container host no longer has the task's containers "
		                      "(lost)",
		                      st, err);
	}
}

int sched_stop_locked(struct sched *s, struct sched_obj *task, const char *stop_code,
                      const char *reason, struct sched_error *err)
{
	const char *last = jstr(task->doc, "lastStatus");
	const char *desired = jstr(task->doc, "desiredStatus");
	if (!last || strcmp(last, "STOPPED") == 0)
		return SCHED_OK;
	if (!desired || strcmp(desired, "STOPPED") != 0) {
		char buf[REASON_MAX + 1];
		sched_clip_reason(buf, sizeof(buf), reason);
		json_object_set_new(task->doc, "desiredStatus", json_string("STOPPED"));
		json_object_set_new(task->doc, "stopCode", json_string(stop_code));
		json_object_set_new(task->doc, "stoppedReason", json_string(buf));
		set_time(s, task->doc, "stoppingAt", true);
	}
	if (strcmp(last, "PROVISIONING") == 0)
		return finish_stopped(s, task, stop_code, reason, NULL, err);
	char why[256] = "";
	if (s->driver.stop(s->driver.handle, task->row.arn, why, sizeof(why)) != 0) {
		/* remember the wish; sched_tick asks again */
		json_object_set_new(task->doc, "lastStatus", json_string("DEPROVISIONING"));
		return sched_task_commit(s, task, err);
	}
	struct sched_driver_status st;
	memset(&st, 0, sizeof(st));
	if (s->driver.inspect(s->driver.handle, task->row.arn, &st) == 0 &&
	    (st.state == SCHED_DRIVER_STOPPED || st.state == SCHED_DRIVER_UNKNOWN))
		return finish_stopped(s, task, stop_code, reason, &st, err);
	json_object_set_new(task->doc, "lastStatus", json_string("DEPROVISIONING"));
	containers_status(task->doc, "RUNNING");
	return sched_task_commit(s, task, err);
}

int sched_live_tasks(struct sched *s, const char *cluster_arn, struct sched_objs *out,
                     struct sched_error *err)
{
	struct store_sched_filter f = {
	    .kind = STORE_SCHED_TASK, .cluster = cluster_arn, .not_status = "STOPPED"};
	return sched_objs_query(s, &f, out, err);
}

/* --- following the driver ------------------------------------------------ */

static int tick_one(struct sched *s, const char *arn, const struct sched_driver_status *given,
                    int *changed, struct sched_error *err)
{
	struct sched_obj t;
	int rc = sched_obj_load(s, arn, &t, SCHED_ERR_RESOURCE_NOT_FOUND, err);
	if (rc == SCHED_ERR_RESOURCE_NOT_FOUND) {
		sched_clear_error(err); /* a container of no task of ours */
		return SCHED_OK;
	}
	if (rc != SCHED_OK)
		return rc;
	if (t.row.kind != STORE_SCHED_TASK || strcmp(t.row.status, "STOPPED") == 0) {
		sched_obj_free(&t);
		return SCHED_OK;
	}
	struct sched_driver_status st;
	if (given) {
		st = *given;
	} else {
		memset(&st, 0, sizeof(st));
		if (s->driver.inspect(s->driver.handle, arn, &st) != 0) {
			sched_obj_free(&t);
			return SCHED_OK; /* the host did not answer: change nothing */
		}
	}
	bool ch = false;
	rc = apply_status(s, &t, &st, &ch, err);
	if (ch && changed)
		(*changed)++;
	sched_obj_free(&t);
	return rc;
}

/* STOPPED tasks are kept retention_ms after stoppedAt (ECS shows them for
 * about an hour), then deleted: DescribeTasks says MISSING. They hold no
 * resources, so their instances do not change. At most once a minute. */
static int purge_stopped(struct sched *s, struct sched_error *err)
{
	int64_t now = sched_now_ms(s);
	if (s->last_purge_ms && now - s->last_purge_ms < 60000)
		return SCHED_OK;
	s->last_purge_ms = now;
	struct store_sched_filter f = {.kind = STORE_SCHED_TASK, .status = "STOPPED"};
	struct sched_objs l;
	int rc = sched_objs_query(s, &f, &l, err);
	for (size_t i = 0; rc == SCHED_OK && i < l.n; i++) {
		const json_t *at = json_object_get(l.v[i].doc, "stoppedAt");
		if (!json_is_number(at) ||
		    json_number_value(at) * 1000.0 > (double)(now - s->retention_ms))
			continue;
		struct store_error se;
		int drc = store_sched_delete(s->store, l.v[i].row.arn, l.v[i].row.version, &se);
		if (drc != STORE_OK && drc != STORE_ERR_CONFLICT && drc != STORE_ERR_NOT_FOUND)
			rc = sched_fail_store(err, &se, "deleting a stopped task");
	}
	sched_objs_free(&l);
	return rc;
}

int sched_tick_locked(struct sched *s, int *changed, struct sched_error *err)
{
	int rc = SCHED_OK;
	if (s->driver.events) {
		struct sched_driver_event ev[32];
		for (int rounds = 0; rounds < 64; rounds++) {
			int n = s->driver.events(s->driver.handle, ev, 32);
			if (n <= 0)
				break;
			for (int i = 0; i < n && rc == SCHED_OK; i++)
				rc = tick_one(s, ev[i].task_arn, &ev[i].status, changed, err);
			if (rc != SCHED_OK || n < 32)
				break;
		}
	}
	if (rc != SCHED_OK)
		return rc;
	struct store_sched_filter f = {.kind = STORE_SCHED_TASK, .not_status = "STOPPED"};
	struct sched_objs live;
	rc = sched_objs_query(s, &f, &live, err);
	for (size_t i = 0; rc == SCHED_OK && i < live.n; i++)
		rc = tick_one(s, live.v[i].row.arn, NULL, changed, err);
	sched_objs_free(&live);
	if (rc == SCHED_OK)
		rc = purge_stopped(s, err);
	return rc;
}

int sched_tick(struct sched *s, int *changed_out, struct sched_error *err)
{
	sched_clear_error(err);
	int changed = 0;
	pthread_mutex_lock(&s->lock);
	int rc = sched_tick_locked(s, &changed, err);
	pthread_mutex_unlock(&s->lock);
	if (changed_out)
		*changed_out = changed;
	return rc;
}
