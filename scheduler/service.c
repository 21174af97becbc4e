/*
 * service.c - the service API: CreateService, UpdateService, DeleteService,
 * ListServices, DescribeServices.
 *
 * A service document is ECS's Service shape (serviceArn, deployments,
 * deploymentConfiguration, events...). deployments[0] is PRIMARY, the task
 * definition the service wants now; UpdateService with another task
 * definition puts a new PRIMARY in front and turns the old one ACTIVE. Every
 * call that changes a service runs one reconcile pass on it at once
 * (reconcile.c), so CreateService answers with its first tasks started.
 * DeleteService turns the service DRAINING (desiredCount 0); the pass that
 * finds no task of it left makes it INACTIVE, which frees its name.
 */
#include "scheduler/sched_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESCRIBE_MAX 10
#define NAME_MAX_LEN 255

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
	double now = sched_now_epoch(s);
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
	const char *st = sched_jstr(td->doc, "status");
	if (st && strcmp(st, "ACTIVE") != 0) {
		sched_obj_free(td);
		return sched_fail(err, SCHED_ERR_CLIENT, "TaskDefinition is inactive");
	}
	return SCHED_OK;
}

/* Saves svc, starts or stops its tasks to match it, and hands out its
 * document (a new reference) in *out. */
static int service_commit(struct sched *s, struct sched_obj *svc, json_t **out,
                          struct sched_error *err)
{
	int rc = sched_obj_save(s, svc, err);
	if (rc == SCHED_OK)
		rc = sched_service_reconcile(s, svc, err);
	if (rc == SCHED_OK)
		*out = json_incref(svc->doc);
	return rc;
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
	double now = sched_now_epoch(s);
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
		rc = service_commit(s, &svc, service_out, err);
	}
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
	                                           : sched_jint(dc, "minimumHealthyPercent", 100);
	int maxp =
	    u->maximum_percent >= 0 ? u->maximum_percent : sched_jint(dc, "maximumPercent", 200);
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
	int desired = sched_jint(doc, "desiredCount", 0);
	json_t *deps = json_object_get(doc, "deployments");
	const char *cur = sched_jstr(doc, "taskDefinition");
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
		    strcmp(sched_jstr(prim, "rolloutState") ? sched_jstr(prim, "rolloutState") : "",
		           "COMPLETED") == 0;
		if (steady_before && u->desired_count >= 0 &&
		    sched_jint(prim, "runningCount", 0) != desired) {
			json_object_set_new(prim, "rolloutState", json_string("IN_PROGRESS"));
			json_object_set_new(prim, "rolloutStateReason",
			                    json_string("ECS deployment in progress."));
		}
		json_object_set_new(prim, "updatedAt", json_real(sched_now_epoch(s)));
	}
	rc = service_commit(s, &svc, service_out, err);
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
		if (sched_jint(svc.doc, "desiredCount", 0) > 0 && !force) {
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
		rc = sched_service_reconcile(s, &svc, err);
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
	/* A bad page is refused before the cluster is looked up. */
	int64_t after = 0;
	size_t limit = 0;
	int rc = sched_page_start(page, &after, &limit, err);
	if (rc != SCHED_OK)
		return rc;
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl;
	rc = sched_cluster_load(s, cluster, true, &cl, err);
	if (rc == SCHED_OK) {
		struct store_sched_filter f = {
		    .kind = STORE_SCHED_SERVICE, .cluster = cl.row.arn, .not_status = "INACTIVE"};
		rc = sched_list_page(s, &f, page, arns_out, next_out, err);
		sched_obj_free(&cl);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sched_service_describe(struct sched *s, const char *cluster, const json_t *services,
                           json_t **services_out, json_t **failures_out, struct sched_error *err)
{
	static const struct sched_describe_kind kind = {
	    .kind = "service",
	    .field = "services",
	    .what = "service names or ARNs",
	    .max = DESCRIBE_MAX,
	    .find = service_load,
	    .not_found = SCHED_ERR_SERVICE_NOT_FOUND,
	};
	return sched_describe_in_cluster(s, &kind, cluster, services, services_out, failures_out,
	                                 err);
}
