/*
 * task.c - the task API: RunTask and StartTask (placing, saving and starting
 * tasks), StopTask, ListTasks and DescribeTasks.
 *
 * RunTask reads the cluster's ACTIVE instances and its live tasks once, works
 * out each instance's usage, then places the tasks one by one (placement.c),
 * each placed task counting for the next: its host ports are taken in the
 * usage, and it joins the live tasks so that spread and distinctInstance see
 * it. Each task is saved PROVISIONING with its instance's refreshed resources
 * in one transaction, then started (lifecycle.c). Tasks that fit nowhere are
 * failures, one per (instance, reason), which is not an error.
 *
 * A task document is ECS's Task shape as botocore names it (taskArn,
 * lastStatus, containers[].networkBindings, overrides...), with its cpu and
 * memory the amounts it holds on its instance; the store row copies
 * lastStatus (status), desiredStatus (grp) and the instance ARN (parent), so
 * lists are index lookups.
 */
#include "scheduler/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_COUNT_MAX  10
#define STARTED_BY_MAX 128
#define GROUP_MAX      255
#define DESCRIBE_MAX   100
#define REASON_MAX     255

/* --- running tasks --------------------------------------------------------- */

static int check_overrides(const json_t *ov, const json_t *taskdef, struct sched_error *err)
{
	if (!ov || json_is_null(ov))
		return SCHED_OK;
	if (!json_is_object(ov))
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "overrides must be an object");
	const json_t *co = json_object_get(ov, "containerOverrides");
	if (co && !json_is_array(co))
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "overrides.containerOverrides must be a list");
	size_t i;
	const json_t *c;
	json_array_foreach(co, i, c)
	{
		const char *name = sched_jstr(c, "name");
		bool known = false;
		size_t j;
		const json_t *d;
		json_array_foreach(json_object_get(taskdef, "containerDefinitions"), j, d)
		{
			if (name && sched_jstr(d, "name") &&
			    strcmp(name, sched_jstr(d, "name")) == 0)
				known = true;
		}
		if (!known)
			return sched_fail(
			    err, SCHED_ERR_INVALID_PARAMETER,
			    "Override for container named %s is not a container in the "
			    "TaskDefinition.",
			    name ? name : "(no name)");
		const json_t *cmd = json_object_get(c, "command");
		if (cmd && !json_is_array(cmd))
			return sched_fail(
			    err, SCHED_ERR_INVALID_PARAMETER,
			    "overrides.containerOverrides[%zu].command must be a list "
			    "of strings",
			    i);
		size_t k;
		const json_t *e;
		json_array_foreach(cmd, k, e)
		{
			if (!json_is_string(e))
				return sched_fail(
				    err, SCHED_ERR_INVALID_PARAMETER,
				    "overrides.containerOverrides[%zu].command must be "
				    "a list of strings",
				    i);
		}
		const json_t *env = json_object_get(c, "environment");
		if (env && !json_is_array(env))
			return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
			                  "overrides.containerOverrides[%zu].environment must be a "
			                  "list of name/value pairs",
			                  i);
		json_array_foreach(env, k, e)
		{
			if (!sched_jstr(e, "name") || !sched_jstr(e, "name")[0] ||
			    (json_object_get(e, "value") && !sched_jstr(e, "value")))
				return sched_fail(
				    err, SCHED_ERR_INVALID_PARAMETER,
				    "overrides.containerOverrides[%zu].environment[%zu] "
				    "needs a name and a string value",
				    i, k);
		}
	}
	return SCHED_OK;
}

/* The document of a new task placed on inst, with its host ports. */
static json_t *new_task_doc(struct sched *s, const char *task_arn, const char *id,
                            const struct sched_obj *cl, const struct sched_obj *td,
                            const struct sched_obj *inst, const struct sched_run_request *req,
                            const char *group, const struct sched_need *need, const int *host_ports)
{
	json_t *doc = json_object();
	json_t *containers = json_array();
	if (!doc || !containers) {
		json_decref(doc);
		json_decref(containers);
		return NULL;
	}
	char buf[32];
	json_object_set_new(doc, "taskArn", json_string(task_arn));
	json_object_set_new(doc, "clusterArn", json_string(cl->row.arn));
	json_object_set_new(doc, "taskDefinitionArn", json_string(td->row.arn));
	json_object_set_new(doc, "containerInstanceArn", json_string(inst->row.arn));
	json_object_set_new(doc, "lastStatus", json_string("PROVISIONING"));
	json_object_set_new(doc, "desiredStatus", json_string("RUNNING"));
	json_object_set_new(doc, "launchType", json_string("EC2"));
	json_object_set_new(doc, "group", json_string(group));
	if (req->started_by && req->started_by[0])
		json_object_set_new(doc, "startedBy", json_string(req->started_by));
	snprintf(buf, sizeof(buf), "%d", need->cpu);
	json_object_set_new(doc, "cpu", json_string(buf));
	snprintf(buf, sizeof(buf), "%d", need->memory);
	json_object_set_new(doc, "memory", json_string(buf));
	json_object_set_new(doc, "version", json_integer(1));
	json_object_set_new(doc, "healthStatus", json_string("UNKNOWN"));
	json_object_set_new(doc, "enableExecuteCommand", json_false());
	json_object_set_new(doc, "attachments", json_array());
	json_object_set_new(doc, "attributes", json_array());
	json_object_set_new(doc, "createdAt", json_real(sched_epoch(sched_now_ms(s))));
	size_t ai;
	const json_t *a;
	json_array_foreach(json_object_get(inst->doc, "attributes"), ai, a)
	{
		if (sched_jstr(a, "name") &&
		    strcmp(sched_jstr(a, "name"), "ecs.availability-zone") == 0 &&
		    sched_jstr(a, "value"))
			json_object_set_new(doc, "availabilityZone",
			                    json_string(sched_jstr(a, "value")));
	}
	json_t *ov = req->overrides && json_is_object(req->overrides)
	                 ? json_deep_copy(req->overrides)
	                 : json_object();
	if (ov && !json_object_get(ov, "containerOverrides"))
		json_object_set_new(ov, "containerOverrides", json_array());
	if (ov && !json_object_get(ov, "inferenceAcceleratorOverrides"))
		json_object_set_new(ov, "inferenceAcceleratorOverrides", json_array());
	json_object_set_new(doc, "overrides", ov ? ov : json_object());
	json_t *tags = NULL;
	if (sched_tags_copy(req->tags, &tags, NULL) != SCHED_OK || !tags)
		tags = json_array();
	json_object_set_new(doc, "tags", tags);
	size_t i;
	const json_t *d;
	json_array_foreach(json_object_get(td->doc, "containerDefinitions"), i, d)
	{
		const char *name = sched_jstr(d, "name");
		char uuid[37], hex[33];
		sched_random_hex(s, hex, 32);
		snprintf(uuid, sizeof(uuid), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
		         hex + 16, hex + 20);
		char rest[512];
		snprintf(rest, sizeof(rest), "%s/%s/%s", cl->row.name, id, uuid);
		char *carn = sched_arn(s, "container", rest);
		json_t *c = json_object();
		json_t *nb = json_array();
		if (!carn || !c || !nb) {
			free(carn);
			json_decref(c);
			json_decref(nb);
			json_decref(doc);
			json_decref(containers);
			return NULL;
		}
		json_object_set_new(c, "containerArn", json_string(carn));
		free(carn);
		json_object_set_new(c, "taskArn", json_string(task_arn));
		json_object_set_new(c, "name", json_string(name ? name : ""));
		if (sched_jstr(d, "image"))
			json_object_set_new(c, "image", json_string(sched_jstr(d, "image")));
		json_object_set_new(c, "lastStatus", json_string("PENDING"));
		json_object_set_new(c, "healthStatus", json_string("UNKNOWN"));
		json_object_set_new(c, "essential",
		                    json_boolean(!json_is_false(json_object_get(d, "essential"))));
		const json_t *ccpu = json_object_get(d, "cpu");
		if (json_is_integer(ccpu)) {
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(ccpu));
			json_object_set_new(c, "cpu", json_string(buf));
		}
		const json_t *cmem = json_object_get(d, "memory");
		if (json_is_integer(cmem)) {
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(cmem));
			json_object_set_new(c, "memory", json_string(buf));
		}
		const json_t *cres = json_object_get(d, "memoryReservation");
		if (json_is_integer(cres)) {
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(cres));
			json_object_set_new(c, "memoryReservation", json_string(buf));
		}
		for (size_t p = 0; p < need->n_ports; p++) {
			const struct sched_port *pt = &need->ports[p];
			if (!pt->container || !name || strcmp(pt->container, name) != 0)
				continue;
			json_array_append_new(
			    nb, json_pack("{s:s,s:i,s:i,s:s}", "bindIP", s->bind_ip, "containerPort",
			                  pt->container_port, "hostPort", host_ports[p], "protocol",
			                  pt->udp ? "udp" : "tcp"));
		}
		json_object_set_new(c, "networkBindings", nb);
		json_object_set_new(c, "networkInterfaces", json_array());
		json_array_append_new(containers, c);
	}
	json_object_set_new(doc, "containers", containers);
	return doc;
}

/* With host_ports_shared: the host ports bound by every live task of every
 * cluster (all) are taken on the one machine. */
static void take_host_ports(const struct sched_objs *all, struct sched_host_ports *h)
{
	for (size_t t = 0; t < all->n; t++) {
		size_t c, b;
		const json_t *cont, *nb;
		json_array_foreach(json_object_get(all->v[t].doc, "containers"), c, cont)
		{
			json_array_foreach(json_object_get(cont, "networkBindings"), b, nb)
			{
				const json_t *hp = json_object_get(nb, "hostPort");
				const char *proto = json_string_value(json_object_get(nb, "protocol"));
				if (json_is_integer(hp))
					sched_host_ports_take(h, (int)json_integer_value(hp),
					                      proto && strcmp(proto, "udp") == 0);
			}
		}
	}
}

static void add_failure(json_t *failures, const char *arn, const char *reason)
{
	size_t i;
	const json_t *f;
	json_array_foreach(failures, i, f)
	{
		if (strcmp(sched_jstr(f, "arn"), arn) == 0 &&
		    strcmp(sched_jstr(f, "reason"), reason) == 0)
			return;
	}
	json_array_append_new(failures, json_pack("{s:s,s:s}", "arn", arn, "reason", reason));
}

int sched_run_locked(struct sched *s, const struct sched_run_request *req, struct sched_obj *cl,
                     struct sched_obj *td, json_t *started, json_t *failures,
                     struct sched_error *err)
{
	return sched_run_on(s, req, cl, td, NULL, started, failures, err);
}

int sched_run_on(struct sched *s, const struct sched_run_request *req, struct sched_obj *cl,
                 struct sched_obj *td, const json_t *only_instances, json_t *started,
                 json_t *failures, struct sched_error *err)
{
	struct sched_need need;
	int rc = sched_need_of(td->doc, req->overrides, &need, err);
	if (rc != SCHED_OK)
		return rc;
	char group_buf[300];
	const char *group = req->group;
	if (!group || !group[0]) {
		snprintf(group_buf, sizeof(group_buf), "family:%s", td->row.name);
		group = group_buf;
	}
	struct store_sched_filter f = {
	    .kind = STORE_SCHED_CONTAINER_INSTANCE, .cluster = cl->row.arn, .status = "ACTIVE"};
	struct sched_objs all = {0}, insts = {0}, tasks = {0};
	struct sched_usage *usages = NULL;
	struct sched_host_ports *host = NULL; /* host_ports_shared: the machine's ports */
	const char **reasons = NULL;
	int *ports = NULL;
	rc = sched_objs_query(s, &f, &all, err);
	if (rc != SCHED_OK)
		goto out;
	/* StartTask: only the instances named, in their order */
	if (only_instances) {
		size_t i;
		const json_t *ref;
		json_array_foreach(only_instances, i, ref)
		{
			const char *r = json_string_value(ref);
			const char *id = sched_arn_tail(r, "container-instance");
			const char *slash = id ? strrchr(id, '/') : NULL;
			if (slash)
				id = slash + 1;
			for (size_t k = 0; k < all.n && rc == SCHED_OK; k++)
				if (id && strcmp(all.v[k].row.name, id) == 0)
					rc = sched_objs_put(&insts, &all.v[k], err);
		}
	} else {
		insts = all;
		memset(&all, 0, sizeof(all));
	}
	/* On one machine every cluster's live tasks hold its ports; the rest of
	 * placement looks at tasks per instance, so the other clusters' tasks
	 * change nothing else. */
	if (rc == SCHED_OK)
		rc = sched_live_tasks(s, s->host_ports_shared ? NULL : cl->row.arn, &tasks, err);
	if (rc != SCHED_OK)
		goto out;
	usages = calloc(insts.n ? insts.n : 1, sizeof(*usages));
	reasons = calloc(insts.n ? insts.n : 1, sizeof(*reasons));
	ports = calloc(need.n_ports ? need.n_ports : 1, sizeof(*ports));
	if (!usages || !reasons || !ports) {
		rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		goto out;
	}
	size_t n_usages = 0;
	for (size_t i = 0; i < insts.n; i++) {
		rc = sched_usage_of(s, &insts.v[i], &tasks, &usages[i], err);
		if (rc != SCHED_OK)
			goto out_usage;
		n_usages++;
	}
	if (s->host_ports_shared) {
		host = calloc(1, sizeof(*host));
		if (!host) {
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
			goto out_usage;
		}
		take_host_ports(&tasks, host);
		for (size_t i = 0; i < n_usages; i++)
			usages[i].host = host;
	}
	int count = req->count > 0 ? req->count : 1;
	for (int k = 0; k < count; k++) {
		int chosen = -1;
		rc = sched_place(s, &insts, usages, &tasks, group, &need, req->placement_strategy,
		                 req->placement_constraints, &chosen, reasons, err);
		if (rc != SCHED_OK)
			goto out_usage;
		if (chosen < 0) {
			for (size_t i = 0; i < insts.n; i++)
				if (reasons[i])
					add_failure(failures, insts.v[i].row.arn, reasons[i]);
			break;
		}
		struct sched_obj *inst = &insts.v[chosen];
		struct sched_usage *u = &usages[chosen];
		if (sched_ports_fit(s, u, &need, ports) != 0) {
			rc = sched_fail(err, SCHED_ERR_SERVER,
			                "placement chose an instance "
			                "without the ports");
			goto out_usage;
		}
		for (size_t p = 0; p < need.n_ports; p++) {
			if (sched_usage_take_port(u, ports[p], need.ports[p].udp) != 0) {
				rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
				goto out_usage;
			}
			if (host)
				sched_host_ports_take(host, ports[p], need.ports[p].udp);
		}
		u->cpu_used += need.cpu;
		u->mem_used += need.memory;
		char id[33];
		sched_random_hex(s, id, 32);
		char rest[400];
		snprintf(rest, sizeof(rest), "%s/%s", cl->row.name, id);
		char *arn = sched_arn(s, "task", rest);
		json_t *doc =
		    arn ? new_task_doc(s, arn, id, cl, td, inst, req, group, &need, ports) : NULL;
		struct sched_obj task;
		rc = sched_obj_init(&task, STORE_SCHED_TASK, arn ? arn : "", cl->row.arn, id,
		                    "PROVISIONING", doc, err);
		free(arn);
		if (rc == SCHED_OK)
			rc = sched_obj_set_str(&task, &task.row.parent, inst->row.arn, err);
		if (rc == SCHED_OK)
			rc = sched_obj_set_str(&task, &task.row.grp, "RUNNING", err);
		if (rc == SCHED_OK)
			rc = sched_task_commit(s, &task, err);
		if (rc == SCHED_OK)
			rc = sched_task_start(s, &task, td, err);
		if (rc == SCHED_OK) {
			/* the next task of this request sees this one */
			rc = sched_objs_put(&tasks, &task, err);
			json_array_append(started, task.doc);
		}
		if (rc == SCHED_OK && strcmp(task.row.status, "STOPPED") == 0) {
			/* a failed start gave its resources back */
			u->cpu_used -= need.cpu;
			u->mem_used -= need.memory;
		}
		sched_obj_free(&task);
		if (rc != SCHED_OK)
			goto out_usage;
	}
out_usage:
	for (size_t i = 0; i < n_usages; i++)
		sched_usage_free(&usages[i]);
out:
	free(host);
	free(usages);
	free(reasons);
	free(ports);
	sched_objs_free(&all);
	sched_objs_free(&insts);
	sched_objs_free(&tasks);
	sched_need_free(&need);
	return rc;
}

/* The common checks of RunTask and StartTask; loads the cluster and the
 * task definition. */
static int run_prepare(struct sched *s, const struct sched_run_request *req, struct sched_obj *cl,
                       struct sched_obj *td, struct sched_error *err)
{
	memset(cl, 0, sizeof(*cl));
	memset(td, 0, sizeof(*td));
	if (req->count < 0 || req->count > RUN_COUNT_MAX)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "count must be between 1 and %d", RUN_COUNT_MAX);
	if (req->started_by && strlen(req->started_by) > STARTED_BY_MAX)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "startedBy is limited to %d characters", STARTED_BY_MAX);
	if (req->group && strlen(req->group) > GROUP_MAX)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "group is limited to %d characters", GROUP_MAX);
	if (!req->task_definition || !req->task_definition[0])
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER, "taskDefinition is required");
	int rc = sched_placement_check(req->placement_strategy, req->placement_constraints, err);
	if (rc != SCHED_OK)
		return rc;
	json_t *tags = NULL;
	rc = sched_tags_copy(req->tags, &tags, err);
	json_decref(tags);
	if (rc != SCHED_OK)
		return rc;
	rc = sched_cluster_load(s, req->cluster, false, cl, err);
	if (rc != SCHED_OK)
		return rc;
	rc = sched_taskdef_load(s, req->task_definition, td, err);
	if (rc != SCHED_OK) {
		sched_obj_free(cl);
		return rc;
	}
	const char *tds = sched_jstr(td->doc, "status");
	if (tds && strcmp(tds, "ACTIVE") != 0)
		rc = sched_fail(err, SCHED_ERR_CLIENT, "TaskDefinition is inactive");
	if (rc == SCHED_OK)
		rc = check_overrides(req->overrides, td->doc, err);
	if (rc != SCHED_OK) {
		sched_obj_free(cl);
		sched_obj_free(td);
	}
	return rc;
}

static int run_common(struct sched *s, const struct sched_run_request *req, const json_t *instances,
                      json_t **tasks_out, json_t **failures_out, struct sched_error *err)
{
	sched_clear_error(err);
	*tasks_out = NULL;
	*failures_out = NULL;
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl, td;
	json_t *started = json_array(), *failures = json_array();
	int rc = (!started || !failures) ? sched_fail(err, SCHED_ERR_SERVER, "out of memory")
	                                 : run_prepare(s, req, &cl, &td, err);
	if (rc != SCHED_OK)
		goto done;
	struct store_sched_filter f = {
	    .kind = STORE_SCHED_CONTAINER_INSTANCE, .cluster = cl.row.arn, .limit = 1};
	struct sched_objs any;
	rc = sched_objs_query(s, &f, &any, err);
	if (rc == SCHED_OK && any.n == 0 && !instances)
		rc = sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                "No Container Instances were found in your cluster.");
	sched_objs_free(&any);
	if (rc == SCHED_OK && instances) {
		/* StartTask: every named instance must be in the cluster */
		size_t i;
		const json_t *ref;
		json_array_foreach(instances, i, ref)
		{
			const char *r = json_string_value(ref);
			const char *id = sched_arn_tail(r, "container-instance");
			const char *slash = id ? strrchr(id, '/') : NULL;
			if (slash)
				id = slash + 1;
			struct store_sched_filter g = {.kind = STORE_SCHED_CONTAINER_INSTANCE,
			                               .cluster = cl.row.arn,
			                               .name = id ? id : ""};
			struct sched_objs one;
			rc = sched_objs_query(s, &g, &one, err);
			if (rc != SCHED_OK)
				break;
			bool found = one.n > 0;
			sched_objs_free(&one);
			if (!found) {
				rc = sched_fail(
				    err, SCHED_ERR_INVALID_PARAMETER,
				    "Container instance %s was not found in the cluster.",
				    r ? r : "(not a string)");
				break;
			}
		}
	}
	if (rc == SCHED_OK && !instances)
		rc = sched_run_on(s, req, &cl, &td, NULL, started, failures, err);
	/* StartTask: one task on each instance named */
	for (size_t i = 0; rc == SCHED_OK && instances && i < json_array_size(instances); i++) {
		json_t *one = json_pack("[O]", json_array_get(instances, i));
		struct sched_run_request r1 = *req;
		r1.count = 1;
		rc = one ? sched_run_on(s, &r1, &cl, &td, one, started, failures, err)
		         : sched_fail(err, SCHED_ERR_SERVER, "out of memory");
		json_decref(one);
	}
	sched_obj_free(&cl);
	sched_obj_free(&td);
done:
	pthread_mutex_unlock(&s->lock);
	return sched_hand_over(rc, started, failures, tasks_out, failures_out);
}

int sched_run_task(struct sched *s, const struct sched_run_request *req, json_t **tasks_out,
                   json_t **failures_out, struct sched_error *err)
{
	return run_common(s, req, NULL, tasks_out, failures_out, err);
}

int sched_start_task(struct sched *s, const struct sched_run_request *req,
                     const json_t *container_instances, json_t **tasks_out, json_t **failures_out,
                     struct sched_error *err)
{
	if (!container_instances || !json_is_array(container_instances) ||
	    json_array_size(container_instances) == 0 ||
	    json_array_size(container_instances) > 10) {
		sched_clear_error(err);
		*tasks_out = NULL;
		*failures_out = NULL;
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "containerInstances must list 1 to 10 container instances");
	}
	/* one task per instance named: placement only checks that it fits */
	struct sched_run_request r = *req;
	r.count = (int)json_array_size(container_instances);
	r.placement_strategy = NULL;
	r.placement_constraints = NULL;
	return run_common(s, &r, container_instances, tasks_out, failures_out, err);
}

/* --- finding, stopping, listing and describing tasks --------------------- */

/* The task named by ref (id or ARN) in the cluster cl. */
static int task_find(struct sched *s, const struct sched_obj *cl, const char *ref,
                     struct sched_obj *task, struct sched_error *err)
{
	memset(task, 0, sizeof(*task));
	if (!ref || !ref[0] || strlen(ref) > 1024)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "The referenced task was not found.");
	const char *tail = sched_arn_tail(ref, "task");
	const char *id = strrchr(tail, '/') ? strrchr(tail, '/') + 1 : tail;
	char rest[1200];
	snprintf(rest, sizeof(rest), "%s/%s", cl->row.name, id);
	char *arn = sched_arn(s, "task", rest);
	if (!arn)
		return sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	int rc = sched_obj_load(s, arn, task, SCHED_ERR_INVALID_PARAMETER, err);
	free(arn);
	if (rc == SCHED_ERR_INVALID_PARAMETER)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "The referenced task was not found.");
	if (rc == SCHED_OK &&
	    (task->row.kind != STORE_SCHED_TASK || strcmp(task->row.cluster, cl->row.arn) != 0)) {
		sched_obj_free(task);
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "The referenced task was not found.");
	}
	return rc;
}

int sched_stop_task(struct sched *s, const char *cluster, const char *task, const char *reason,
                    json_t **task_out, struct sched_error *err)
{
	sched_clear_error(err);
	*task_out = NULL;
	if (reason && strlen(reason) > REASON_MAX)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "reason is limited to %d characters", REASON_MAX);
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl, t;
	int rc = sched_cluster_load(s, cluster, true, &cl, err);
	if (rc != SCHED_OK)
		goto done;
	rc = task_find(s, &cl, task, &t, err);
	if (rc == SCHED_OK) {
		rc = sched_stop_locked(s, &t, "UserInitiated",
		                       reason && reason[0] ? reason : "Task stopped by user", err);
		if (rc == SCHED_OK)
			*task_out = json_incref(t.doc);
		sched_obj_free(&t);
	}
	sched_obj_free(&cl);
done:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static bool family_of(const json_t *doc, const char *family)
{
	const char *tda = sched_jstr(doc, "taskDefinitionArn");
	const char *tail = tda ? sched_arn_tail(tda, "task-definition") : NULL;
	if (!tail)
		return false;
	size_t n = strlen(family);
	return strncmp(tail, family, n) == 0 && tail[n] == ':';
}

int sched_task_list(struct sched *s, const struct sched_task_filter *f,
                    const struct sched_page *page, json_t **arns_out, char **next_out,
                    struct sched_error *err)
{
	sched_clear_error(err);
	*arns_out = NULL;
	*next_out = NULL;
	int64_t after = 0;
	size_t limit = 0;
	int rc = sched_page_start(page, &after, &limit, err);
	if (rc != SCHED_OK)
		return rc;
	const char *desired = f && f->desired_status ? f->desired_status : "RUNNING";
	if (strcmp(desired, "RUNNING") != 0 && strcmp(desired, "PENDING") != 0 &&
	    strcmp(desired, "STOPPED") != 0)
		return sched_fail(err, SCHED_ERR_INVALID_PARAMETER,
		                  "desiredStatus must be RUNNING, PENDING or STOPPED");
	pthread_mutex_lock(&s->lock);
	struct sched_obj cl;
	char *inst_arn = NULL;
	json_t *arns = json_array();
	rc = arns ? sched_cluster_load(s, f ? f->cluster : NULL, true, &cl, err)
	          : sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	if (rc != SCHED_OK)
		goto done;
	if (f && f->container_instance && f->container_instance[0]) {
		const char *id = sched_arn_tail(f->container_instance, "container-instance");
		const char *slash = strrchr(id, '/');
		char rest[1200];
		snprintf(rest, sizeof(rest), "%s/%s", cl.row.name, slash ? slash + 1 : id);
		inst_arn = sched_arn(s, "container-instance", rest);
		if (!inst_arn)
			rc = sched_fail(err, SCHED_ERR_SERVER, "out of memory");
	}
	struct store_sched_filter q = {.kind = STORE_SCHED_TASK,
	                               .cluster = cl.row.arn,
	                               .grp = desired,
	                               .parent = inst_arn,
	                               .after_seq = after};
	struct sched_objs l = {0};
	if (rc == SCHED_OK)
		rc = sched_objs_query(s, &q, &l, err);
	char svc_group[600] = "";
	if (f && f->service_name && f->service_name[0])
		snprintf(svc_group, sizeof(svc_group), "service:%s",
		         sched_arn_tail(f->service_name, "service"));
	/* a service ARN's tail is "<cluster>/<name>" */
	if (svc_group[0] && strchr(svc_group + 8, '/')) {
		char tmp[600];
		snprintf(tmp, sizeof(tmp), "service:%s", strrchr(svc_group + 8, '/') + 1);
		memcpy(svc_group, tmp, sizeof(svc_group));
	}
	size_t taken = 0;
	int64_t last_seq = 0;
	bool more = false;
	for (size_t i = 0; rc == SCHED_OK && i < l.n; i++) {
		const json_t *d = l.v[i].doc;
		if (f && f->family && f->family[0] && !family_of(d, f->family))
			continue;
		if (f && f->started_by && f->started_by[0] &&
		    (!sched_jstr(d, "startedBy") ||
		     strcmp(sched_jstr(d, "startedBy"), f->started_by) != 0))
			continue;
		if (svc_group[0] &&
		    (!sched_jstr(d, "group") || strcmp(sched_jstr(d, "group"), svc_group) != 0 ||
		     !sched_jstr(d, "startedBy") ||
		     strncmp(sched_jstr(d, "startedBy"), "ecs-svc/", 8) != 0))
			continue;
		if (taken == limit) {
			more = true;
			break;
		}
		json_array_append_new(arns, json_string(l.v[i].row.arn));
		last_seq = l.v[i].row.seq;
		taken++;
	}
	if (rc == SCHED_OK && more)
		rc = sched_page_token(last_seq, next_out, err);
	sched_objs_free(&l);
	sched_obj_free(&cl);
done:
	free(inst_arn);
	pthread_mutex_unlock(&s->lock);
	if (rc != SCHED_OK) {
		json_decref(arns);
		return rc;
	}
	*arns_out = arns;
	return SCHED_OK;
}

int sched_task_describe(struct sched *s, const char *cluster, const json_t *tasks,
                        json_t **tasks_out, json_t **failures_out, struct sched_error *err)
{
	static const struct sched_describe_kind kind = {
	    .kind = "task",
	    .field = "tasks",
	    .what = "task ids or ARNs",
	    .max = DESCRIBE_MAX,
	    .find = task_find,
	    .not_found = SCHED_ERR_INVALID_PARAMETER,
	};
	return sched_describe_in_cluster(s, &kind, cluster, tasks, tasks_out, failures_out, err);
}
