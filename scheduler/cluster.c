/*
 * cluster.c - ECS clusters: create (idempotent on the name), delete (only an
 * empty cluster; it stays as INACTIVE), list and describe.
 *
 * A cluster's document keeps what does not change by itself (ARN, name,
 * status, settings, tags); the counts ECS shows (registered instances,
 * running and pending tasks, active services) and the statistics are worked
 * out from the store each time a cluster is shown, so they can never drift
 * from the tasks and instances they count.
 *
 * Like ECS, creating a cluster whose name exists gives back the existing
 * ACTIVE cluster unchanged, and creating one whose name was deleted makes it
 * ACTIVE again (with the tags of the new request). "default" is an ordinary
 * cluster that ECS makes on first use; here registering a container
 * instance without a cluster makes it (instance.c).
 */
#include "scheduler/sched_int.h"

#include <stdlib.h>
#include <string.h>

#define CLUSTER_NAME_MAX 255
#define DESCRIBE_MAX     100

bool sched_name_ok(const char *name, size_t max)
{
	if (!name)
		return false;
	size_t n = 0;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return n >= 1 && n <= max;
}

/* The cluster name a reference means, or NULL when it cannot name one of
 * ours (an ARN of another kind, region or account; a bad name). */
static const char *cluster_name_of(struct sched *s, const char *ref, char *buf, size_t cap)
{
	if (!ref || !ref[0])
		return "default";
	const char *name = ref;
	if (strncmp(ref, "arn:", 4) == 0) {
		int n = snprintf(buf, cap, "arn:aws:ecs:%s:%s:cluster/", s->region, s->account);
		if (n < 0 || (size_t)n >= cap || strncmp(ref, buf, (size_t)n) != 0)
			return NULL;
		name = ref + n;
	}
	return sched_name_ok(name, CLUSTER_NAME_MAX) ? name : NULL;
}

int sched_cluster_load(struct sched *s, const char *ref, bool any_status, struct sched_obj *o,
                       struct sched_error *err)
{
	memset(o, 0, sizeof(*o));
	char buf[128];
	const char *name = cluster_name_of(s, ref, buf, sizeof(buf));
	if (!name)
		return sched_fail(err, SCHED_ERR_CLUSTER_NOT_FOUND, "Cluster not found.");
	char *arn = sched_arn(s, "cluster", name);
	if (!arn)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	struct sched_error lerr;
	int rc = sched_obj_load(s, arn, o, SCHED_ERR_CLUSTER_NOT_FOUND, &lerr);
	free(arn);
	if (rc == SCHED_OK && (o->row.kind != STORE_SCHED_CLUSTER ||
	                       (!any_status && strcmp(o->row.status, "ACTIVE") != 0))) {
		sched_obj_free(o);
		rc = SCHED_ERR_CLUSTER_NOT_FOUND;
	}
	if (rc == SCHED_ERR_CLUSTER_NOT_FOUND)
		return sched_fail(err, rc, "Cluster not found.");
	if (rc != SCHED_OK && err)
		*err = lerr;
	return rc;
}

static int count(struct sched *s, enum store_sched_kind kind, const char *cluster,
                 const char *status, const char *not_status, int64_t *out, struct sched_error *err)
{
	struct store_sched_filter f = {
	    .kind = kind, .cluster = cluster, .status = status, .not_status = not_status};
	return sched_count(s, &f, out, err);
}

static int add_stat(json_t *stats, const char *name, int64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return json_array_append_new(stats, json_pack("{s:s,s:s}", "name", name, "value", buf));
}

/* The cluster as ECS shows it: the document plus counts and statistics. */
static int cluster_view(struct sched *s, const struct sched_obj *o, json_t **out,
                        struct sched_error *err)
{
	*out = NULL;
	const char *arn = o->row.arn;
	int64_t insts = 0, running = 0, pending = 0, active_svc = 0, draining_svc = 0;
	int rc = count(s, STORE_SCHED_CONTAINER_INSTANCE, arn, NULL, "INACTIVE", &insts, err);
	if (rc == SCHED_OK)
		rc = count(s, STORE_SCHED_TASK, arn, "RUNNING", NULL, &running, err);
	if (rc == SCHED_OK)
		rc = count(s, STORE_SCHED_TASK, arn, "PENDING", NULL, &pending, err);
	if (rc == SCHED_OK)
		rc = count(s, STORE_SCHED_SERVICE, arn, "ACTIVE", NULL, &active_svc, err);
	if (rc == SCHED_OK)
		rc = count(s, STORE_SCHED_SERVICE, arn, "DRAINING", NULL, &draining_svc, err);
	if (rc != SCHED_OK)
		return rc;
	json_t *v = json_deep_copy(o->doc);
	json_t *stats = json_array();
	int w = (!v || !stats) ? -1 : 0;
	if (w == 0)
		w = add_stat(stats, "runningEC2TasksCount", running) |
		    add_stat(stats, "runningFargateTasksCount", 0) |
		    add_stat(stats, "pendingEC2TasksCount", pending) |
		    add_stat(stats, "pendingFargateTasksCount", 0) |
		    add_stat(stats, "runningExternalTasksCount", 0) |
		    add_stat(stats, "pendingExternalTasksCount", 0) |
		    add_stat(stats, "activeEC2ServiceCount", active_svc) |
		    add_stat(stats, "activeFargateServiceCount", 0) |
		    add_stat(stats, "drainingEC2ServiceCount", draining_svc) |
		    add_stat(stats, "drainingFargateServiceCount", 0);
	if (w == 0)
		w = json_object_set_new(v, "registeredContainerInstancesCount",
		                        json_integer(insts)) |
		    json_object_set_new(v, "runningTasksCount", json_integer(running)) |
		    json_object_set_new(v, "pendingTasksCount", json_integer(pending)) |
		    json_object_set_new(v, "activeServicesCount", json_integer(active_svc)) |
		    json_object_set(v, "statistics", stats);
	json_decref(stats);
	if (w != 0) {
		json_decref(v);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	*out = v;
	return SCHED_OK;
}

static json_t *new_cluster_doc(const char *arn, const char *name, json_t *tags)
{
	return json_pack("{s:s,s:s,s:s,s:o,s:[{s:s,s:s}],s:[],s:[],s:[],s:i,s:i,s:i,s:i}",
	                 "clusterArn", arn, "clusterName", name, "status", "ACTIVE", "tags", tags,
	                 "settings", "name", "containerInsights", "value", "disabled",
	                 "capacityProviders", "defaultCapacityProviderStrategy", "statistics",
	                 "registeredContainerInstancesCount", 0, "runningTasksCount", 0,
	                 "pendingTasksCount", 0, "activeServicesCount", 0);
}

/* Under the lock: the ACTIVE cluster name, made when absent or INACTIVE. */
int sched_cluster_ensure(struct sched *s, const char *name, const json_t *tags, struct sched_obj *o,
                         struct sched_error *err)
{
	memset(o, 0, sizeof(*o));
	if (!name || !name[0])
		name = "default";
	if (!sched_name_ok(name, CLUSTER_NAME_MAX))
		return sched_fail(
		    err, SCHED_ERR_INVALID_PARAMETER,
		    "Invalid cluster name: up to %d letters (uppercase and lowercase), "
		    "numbers, hyphens and underscores are allowed",
		    CLUSTER_NAME_MAX);
	json_t *clean = NULL;
	int rc = sched_tags_copy(tags, &clean, err);
	if (rc != SCHED_OK)
		return rc;
	char *arn = sched_arn(s, "cluster", name);
	if (!arn) {
		json_decref(clean);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	struct sched_error lerr;
	rc = sched_obj_load(s, arn, o, SCHED_ERR_CLUSTER_NOT_FOUND, &lerr);
	if (rc == SCHED_OK && strcmp(o->row.status, "ACTIVE") == 0) {
		json_decref(clean); /* ECS: the existing cluster, as it is */
	} else if (rc == SCHED_OK) {
		/* deleted before: ACTIVE again, with this request's tags */
		json_t *doc = new_cluster_doc(arn, name, clean);
		if (!doc) {
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		} else {
			json_decref(o->doc);
			o->doc = doc;
			rc = sched_obj_set_str(o, &o->row.status, "ACTIVE", err);
			if (rc == SCHED_OK)
				rc = sched_obj_save(s, o, err);
		}
		if (rc != SCHED_OK)
			sched_obj_free(o);
	} else if (rc == SCHED_ERR_CLUSTER_NOT_FOUND) {
		rc = sched_obj_init(o, STORE_SCHED_CLUSTER, arn, "", name, "ACTIVE",
		                    new_cluster_doc(arn, name, clean), err);
		if (rc == SCHED_OK)
			rc = sched_obj_save(s, o, err);
		if (rc != SCHED_OK)
			sched_obj_free(o);
	} else {
		json_decref(clean);
		if (err)
			*err = lerr;
	}
	free(arn);
	return rc;
}

int sched_cluster_create(struct sched *s, const char *name, const json_t *tags,
                         json_t **cluster_out, struct sched_error *err)
{
	sched_clear_error(err);
	*cluster_out = NULL;
	pthread_mutex_lock(&s->lock);
	struct sched_obj o;
	int rc = sched_cluster_ensure(s, name, tags, &o, err);
	if (rc == SCHED_OK) {
		rc = cluster_view(s, &o, cluster_out, err);
		sched_obj_free(&o);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_cluster_delete(struct sched *s, const char *cluster, json_t **cluster_out,
                         struct sched_error *err)
{
	sched_clear_error(err);
	*cluster_out = NULL;
	pthread_mutex_lock(&s->lock);
	struct sched_obj o;
	int rc = sched_cluster_load(s, cluster, false, &o, err);
	if (rc != SCHED_OK)
		goto out;
	int64_t n = 0;
	rc = count(s, STORE_SCHED_CONTAINER_INSTANCE, o.row.arn, NULL, "INACTIVE", &n, err);
	if (rc == SCHED_OK && n > 0)
		rc = sched_fail(
		    err, SCHED_ERR_CLUSTER_HAS_INSTANCES,
		    "The Cluster cannot be deleted while Container Instances are active or "
		    "draining.");
	if (rc == SCHED_OK)
		rc = count(s, STORE_SCHED_SERVICE, o.row.arn, NULL, "INACTIVE", &n, err);
	if (rc == SCHED_OK && n > 0)
		rc = sched_fail(err, SCHED_ERR_CLUSTER_HAS_SERVICES,
		                "The Cluster cannot be deleted while Services are active.");
	if (rc == SCHED_OK)
		rc = count(s, STORE_SCHED_TASK, o.row.arn, NULL, "STOPPED", &n, err);
	if (rc == SCHED_OK && n > 0)
		rc = sched_fail(err, SCHED_ERR_CLUSTER_HAS_TASKS,
		                "The Cluster cannot be deleted while Tasks are active.");
	if (rc == SCHED_OK)
		rc = sched_obj_set_str(&o, &o.row.status, "INACTIVE", err);
	if (rc == SCHED_OK && json_object_set_new(o.doc, "status", json_string("INACTIVE")) != 0)
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc == SCHED_OK)
		rc = sched_obj_save(s, &o, err);
	if (rc == SCHED_OK)
		rc = cluster_view(s, &o, cluster_out, err);
	sched_obj_free(&o);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_cluster_list(struct sched *s, const struct sched_page *page, json_t **arns_out,
                       char **next_out, struct sched_error *err)
{
	sched_clear_error(err);
	pthread_mutex_lock(&s->lock);
	struct store_sched_filter f = {.kind = STORE_SCHED_CLUSTER, .status = "ACTIVE"};
	int rc = sched_list_page(s, &f, page, arns_out, next_out, err);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_cluster_describe(struct sched *s, const json_t *names, json_t **clusters_out,
                           json_t **failures_out, struct sched_error *err)
{
	sched_clear_error(err);
	*clusters_out = NULL;
	*failures_out = NULL;
	if (names && !json_is_null(names) &&
	    (!json_is_array(names) || json_array_size(names) > DESCRIBE_MAX))
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "clusters must be a list of at most %d names or ARNs",
		                  DESCRIBE_MAX);
	size_t i;
	const json_t *n;
	json_array_foreach(names, i, n)
	{
		if (!json_is_string(n))
			return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			                  "clusters[%zu] must be a cluster name or ARN", i);
	}
	json_t *clusters = json_array(), *failures = json_array();
	if (!clusters || !failures) {
		json_decref(clusters);
		json_decref(failures);
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	pthread_mutex_lock(&s->lock);
	int rc = SCHED_OK;
	size_t total = (names && json_is_array(names) && json_array_size(names) > 0)
	                   ? json_array_size(names)
	                   : 1;
	for (i = 0; rc == SCHED_OK && i < total; i++) {
		const char *ref = total == 1 && !(names && json_array_size(names) > 0)
		                      ? "default"
		                      : json_string_value(json_array_get(names, i));
		struct sched_obj o;
		struct sched_error lerr;
		int lr = sched_cluster_load(s, ref, true, &o, &lerr);
		if (lr == SCHED_OK) {
			json_t *v = NULL;
			rc = cluster_view(s, &o, &v, err);
			if (rc == SCHED_OK && json_array_append_new(clusters, v) != 0)
				rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
			sched_obj_free(&o);
		} else if (lr == SCHED_ERR_CLUSTER_NOT_FOUND) {
			rc = sched_missing_ref(s, failures, "cluster", NULL, ref, err);
		} else {
			rc = lr;
			if (err)
				*err = lerr;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return sched_hand_over(rc, clusters, failures, clusters_out, failures_out);
}
