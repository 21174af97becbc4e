/*
 * test_sched_world.h - a cluster with container instances and task
 * definitions for the task and service tests (test_sched_tasks.c,
 * test_sched_service.c), on top of test_sched_fixture.h.
 *
 * Instances are written to the store as the scheduler keeps them (ECS's
 * ContainerInstance shape: registeredResources CPU, MEMORY, PORTS; attributes
 * with ecs.availability-zone), so these tests do not depend on how
 * RegisterContainerInstance fills in the rest.
 */
#ifndef TASKGATE_TESTS_SCHED_WORLD_H
#define TASKGATE_TESTS_SCHED_WORLD_H

#include "tests/unit/check.h"
#include "tests/unit/test_sched_fixture.h"

#include "scheduler/sched_int.h"

#define W_ARN_PREFIX "arn:aws:ecs:us-east-1:123456789012:"

/* The cluster, created through the API. */
static inline void w_cluster(struct sfx *f, const char *name)
{
	json_t *c = NULL;
	CHECK_INT(sched_cluster_create(f->s, name, NULL, &c, &f->err), SCHED_OK);
	json_decref(c);
}

/* An ACTIVE instance "i<n>" of cluster with cpu/memory, a zone and reserved
 * tcp ports (JSON strings, e.g. "\"22\""); returns its ARN (static). */
static inline const char *w_instance(struct sfx *f, const char *cluster, int n, int cpu, int mem,
                                     const char *az, const char *reserved)
{
	static char arns[16][160];
	char *arn = arns[n % 16];
	snprintf(arn, 160, W_ARN_PREFIX "container-instance/%s/i%d", cluster, n);
	char cl[160], id[16], text[2048];
	snprintf(cl, sizeof(cl), W_ARN_PREFIX "cluster/%s", cluster);
	snprintf(id, sizeof(id), "i%d", n);
	snprintf(text, sizeof(text),
	         "{\"containerInstanceArn\":\"%s\",\"ec2InstanceId\":\"i-%08d\","
	         "\"status\":\"ACTIVE\",\"agentConnected\":true,\"registeredAt\":1700000000,"
	         "\"runningTasksCount\":0,\"pendingTasksCount\":0,"
	         "\"attributes\":[{\"name\":\"ecs.availability-zone\",\"value\":\"%s\"},"
	         "{\"name\":\"ecs.instance-type\",\"value\":\"t3.large\"}],"
	         "\"registeredResources\":[{\"name\":\"CPU\",\"type\":\"INTEGER\","
	         "\"integerValue\":%d},{\"name\":\"MEMORY\",\"type\":\"INTEGER\","
	         "\"integerValue\":%d},{\"name\":\"PORTS\",\"type\":\"STRINGSET\","
	         "\"stringSetValue\":[%s]},{\"name\":\"PORTS_UDP\",\"type\":\"STRINGSET\","
	         "\"stringSetValue\":[]}],\"remainingResources\":[],\"tags\":[]}",
	         arn, n, az, cpu, mem, reserved ? reserved : "");
	struct sched_obj o;
	CHECK_INT(sched_obj_init(&o, STORE_SCHED_CONTAINER_INSTANCE, arn, cl, id, "ACTIVE",
	                         sfx_json(text), &f->err),
	          SCHED_OK);
	CHECK_INT(sched_obj_save(f->s, &o, &f->err), SCHED_OK);
	sched_obj_free(&o);
	return arn;
}

/* Registers a task definition from JSON text; returns its ARN (owned). */
static inline char *w_taskdef(struct sfx *f, const char *text)
{
	json_t *in = sfx_json(text), *td = NULL;
	int rc = sched_taskdef_register(f->s, in, &td, &f->err);
	if (rc != SCHED_OK)
		fprintf(stdout, "    register: %s\n", f->err.message);
	CHECK_INT(rc, SCHED_OK);
	json_decref(in);
	char *arn = strdup(td ? sfx_str(td, "taskDefinitionArn") : "");
	json_decref(td);
	return arn;
}

/* An instance's document as stored now (new reference). */
static inline json_t *w_instance_doc(struct sfx *f, const char *arn)
{
	struct store_sched_obj row;
	struct store_error se;
	if (store_sched_get(f->store, arn, &row, &se) != STORE_OK)
		return NULL;
	json_t *j = sfx_json(row.doc);
	store_sched_obj_free(&row);
	return j;
}

/* remainingResources' integerValue of name ("CPU", "MEMORY"). */
static inline long w_remaining(struct sfx *f, const char *inst_arn, const char *name)
{
	json_t *d = w_instance_doc(f, inst_arn);
	long v = -1;
	size_t i;
	const json_t *r;
	json_array_foreach(json_object_get(d, "remainingResources"), i, r)
	{
		if (strcmp(sfx_str(r, "name"), name) == 0)
			v = (long)json_integer_value(json_object_get(r, "integerValue"));
	}
	json_decref(d);
	return v;
}

/* A task as DescribeTasks shows it (new reference), or NULL. */
static inline json_t *w_task(struct sfx *f, const char *cluster, const char *arn)
{
	json_t *ids = json_pack("[s]", arn), *tasks = NULL, *fails = NULL;
	int rc = sched_task_describe(f->s, cluster, ids, &tasks, &fails, &f->err);
	json_decref(ids);
	json_t *t = rc == SCHED_OK ? json_incref(json_array_get(tasks, 0)) : NULL;
	json_decref(tasks);
	json_decref(fails);
	return t;
}

/* Runs count tasks of taskdef in cluster; *failures_out (may be NULL). */
static inline json_t *w_run(struct sfx *f, const char *cluster, const char *taskdef, int count,
                            json_t **failures_out)
{
	struct sched_run_request req = {
	    .cluster = cluster, .task_definition = taskdef, .count = count};
	json_t *tasks = NULL, *fails = NULL;
	int rc = sched_run_task(f->s, &req, &tasks, &fails, &f->err);
	if (rc != SCHED_OK)
		fprintf(stdout, "    run: %s\n", f->err.message);
	CHECK_INT(rc, SCHED_OK);
	if (failures_out)
		*failures_out = fails;
	else
		json_decref(fails);
	return tasks;
}

/* ListTasks of cluster with desired status (NULL: RUNNING): how many. */
static inline size_t w_count(struct sfx *f, const char *cluster, const char *desired)
{
	struct sched_task_filter flt = {.cluster = cluster, .desired_status = desired};
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_task_list(f->s, &flt, NULL, &arns, &next, &f->err), SCHED_OK);
	size_t n = json_array_size(arns);
	json_decref(arns);
	free(next);
	return n;
}

#endif
