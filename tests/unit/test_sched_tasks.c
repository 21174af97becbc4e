/*
 * test_sched_tasks.c - tasks (scheduler/task.c): RunTask and StartTask with
 * placement and host ports, the lifecycle from the fake driver, StopTask,
 * ListTasks filters and pages, DescribeTasks failures, the gateway's hooks,
 * and a restart that finds the same tasks without starting any twice.
 */
#include "tests/unit/test_sched_world.h"

#define TD_WEB                                                                                     \
	"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"web\",\"image\":\"busybox\","   \
	"\"cpu\":256,\"memory\":256,\"essential\":true,\"portMappings\":[{\"containerPort\":80,"   \
	"\"hostPort\":0}]},{\"name\":\"side\",\"image\":\"busybox\",\"cpu\":0,\"memory\":64,"      \
	"\"essential\":false}]}"
#define TD_STATIC                                                                                  \
	"{\"family\":\"fixed\",\"containerDefinitions\":[{\"name\":\"web\",\"image\":\"busybox\"," \
	"\"cpu\":10,\"memory\":10,\"portMappings\":[{\"containerPort\":80,\"hostPort\":8080}]}]}"

struct hook_log {
	int starting, stopped;
	bool refuse;
	char last_stopped[256];
};

static int hook_starting(void *ctx, const json_t *task, const json_t *taskdef, json_t *env,
                         char *reason, size_t cap)
{
	struct hook_log *h = ctx;
	(void)taskdef;
	h->starting++;
	if (h->refuse) {
		snprintf(reason, cap, "no credentials for the task role");
		return -1;
	}
	json_object_set_new(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	                    json_string("/v2/credentials/abc"));
	json_object_set_new(env, "TASK_ARN_SEEN", json_string(sfx_str(task, "taskArn")));
	return 0;
}

static void hook_stopped(void *ctx, const json_t *task)
{
	struct hook_log *h = ctx;
	h->stopped++;
	snprintf(h->last_stopped, sizeof(h->last_stopped), "%s", sfx_str(task, "lastStatus"));
}

static void with_hooks(struct sfx *f, struct hook_log *h)
{
	memset(h, 0, sizeof(*h));
	f->hooks.starting = hook_starting;
	f->hooks.stopped = hook_stopped;
	f->hooks.ctx = h;
	sfx_restart(f);
}

static const char *arn_at(const json_t *tasks, size_t i)
{
	return sfx_str(json_array_get(tasks, i), "taskArn");
}

static void test_run_places_and_starts(void)
{
	struct sfx f;
	sfx_init(&f);
	struct hook_log h;
	with_hooks(&f, &h);
	w_cluster(&f, "c");
	const char *i0 = w_instance(&f, "c", 0, 2048, 2048, "us-east-1a", NULL);
	char *td = w_taskdef(&f, TD_WEB);
	json_t *tags = sfx_json("[{\"key\":\"team\",\"value\":\"blue\"}]");
	json_t *ov = sfx_json("{\"containerOverrides\":[{\"name\":\"web\",\"command\":[\"sh\"],"
	                      "\"environment\":[{\"name\":\"MODE\",\"value\":\"x\"}]}]}");
	struct sched_run_request req = {.cluster = "c",
	                                .task_definition = "web",
	                                .count = 3,
	                                .started_by = "ci",
	                                .overrides = ov,
	                                .tags = tags};
	json_t *tasks = NULL, *fails = NULL;
	CHECK_INT(sched_run_task(f.s, &req, &tasks, &fails, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(tasks), 3);
	CHECK_INT(json_array_size(fails), 0);
	CHECK_INT(sched_fake_starts(f.fake), 3);
	CHECK_INT(h.starting, 3);
	const json_t *t = json_array_get(tasks, 0);
	CHECK_STR(sfx_str(t, "lastStatus"), "PENDING"); /* until the driver says RUNNING */
	CHECK_STR(sfx_str(t, "desiredStatus"), "RUNNING");
	CHECK_STR(sfx_str(t, "group"), "family:web");
	CHECK_STR(sfx_str(t, "startedBy"), "ci");
	CHECK_STR(sfx_str(t, "taskDefinitionArn"), td);
	CHECK_STR(sfx_str(t, "containerInstanceArn"), i0);
	CHECK_STR(sfx_str(t, "clusterArn"), W_ARN_PREFIX "cluster/c");
	CHECK_STR(sfx_str(t, "cpu"), "256");
	CHECK_STR(sfx_str(t, "memory"), "320");
	CHECK_STR(sfx_str(t, "launchType"), "EC2");
	CHECK_STR(sfx_str(t, "availabilityZone"), "us-east-1a");
	CHECK(strncmp(sfx_str(t, "taskArn"), W_ARN_PREFIX "task/c/", strlen(W_ARN_PREFIX) + 7) ==
	      0);
	CHECK(json_is_number(json_object_get(t, "createdAt")));
	CHECK(json_object_get(t, "startedAt") == NULL);
	CHECK_STR(sfx_str(json_array_get(json_object_get(t, "tags"), 0), "value"), "blue");
	CHECK_STR(
	    sfx_str(json_array_get(
	                json_object_get(json_object_get(t, "overrides"), "containerOverrides"), 0),
	            "name"),
	    "web");
	const json_t *c0 = json_array_get(json_object_get(t, "containers"), 0);
	CHECK_STR(sfx_str(c0, "name"), "web");
	CHECK_STR(sfx_str(c0, "lastStatus"), "PENDING");
	const json_t *nb = json_array_get(json_object_get(c0, "networkBindings"), 0);
	CHECK_INT(json_integer_value(json_object_get(nb, "containerPort")), 80);
	CHECK_INT(json_integer_value(json_object_get(nb, "hostPort")), 49153);
	CHECK_STR(sfx_str(nb, "protocol"), "tcp");
	/* each task got its own dynamic port */
	const json_t *nb2 = json_array_get(
	    json_object_get(
	        json_array_get(json_object_get(json_array_get(tasks, 2), "containers"), 0),
	        "networkBindings"),
	    0);
	CHECK_INT(json_integer_value(json_object_get(nb2, "hostPort")), 49155);
	/* the driver got the hooks' environment and the task with its ports */
	const json_t *env = sched_fake_env(f.fake, arn_at(tasks, 0));
	CHECK_STR(sfx_str(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), "/v2/credentials/abc");
	CHECK_STR(sfx_str(env, "TASK_ARN_SEEN"), arn_at(tasks, 0));
	CHECK(sched_fake_task(f.fake, arn_at(tasks, 0)) != NULL);
	/* the instance's remaining resources and counts were written with them */
	CHECK_INT(w_remaining(&f, i0, "CPU"), 2048 - 3 * 256);
	CHECK_INT(w_remaining(&f, i0, "MEMORY"), 2048 - 3 * 320);
	json_t *idoc = w_instance_doc(&f, i0);
	CHECK_INT(json_integer_value(json_object_get(idoc, "pendingTasksCount")), 3);
	json_decref(idoc);
	/* the next tick hears from the driver: RUNNING, with startedAt */
	int changed = 0;
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	CHECK_INT(changed, 3);
	json_t *tr = w_task(&f, "c", arn_at(tasks, 0));
	CHECK_STR(sfx_str(tr, "lastStatus"), "RUNNING");
	CHECK(json_is_number(json_object_get(tr, "startedAt")));
	CHECK_STR(sfx_str(json_array_get(json_object_get(tr, "containers"), 0), "lastStatus"),
	          "RUNNING");
	json_decref(tr);
	idoc = w_instance_doc(&f, i0);
	CHECK_INT(json_integer_value(json_object_get(idoc, "runningTasksCount")), 3);
	CHECK_INT(json_integer_value(json_object_get(idoc, "pendingTasksCount")), 0);
	json_decref(idoc);
	json_decref(tasks);
	json_decref(fails);
	json_decref(tags);
	json_decref(ov);
	free(td);
	sfx_done(&f);
}

static void test_run_refuses_bad_requests(void)
{
	struct sfx f;
	sfx_init(&f);
	w_cluster(&f, "c");
	w_cluster(&f, "empty");
	w_instance(&f, "c", 0, 1024, 1024, "a", NULL);
	char *td = w_taskdef(&f, TD_WEB);
	json_t *tasks = NULL, *fails = NULL;
	struct sched_run_request req = {.cluster = "c", .task_definition = "web", .count = 11};
	CHECK_INT(sched_run_task(f.s, &req, &tasks, &fails, &f.err), SCHED_ERR_INVALID_PARAMETER);
	req.count = 1;
	char long_by[200];
	memset(long_by, 'x', 199);
	long_by[199] = '\0';
	req.started_by = long_by;
	CHECK_INT(sched_run_task(f.s, &req, &tasks, &fails, &f.err), SCHED_ERR_INVALID_PARAMETER);
	req.started_by = NULL;
	json_t *ov = sfx_json("{\"containerOverrides\":[{\"name\":\"nosuch\"}]}");
	req.overrides = ov;
	CHECK_INT(sched_run_task(f.s, &req, &tasks, &fails, &f.err), SCHED_ERR_INVALID_PARAMETER);
	CHECK(strstr(f.err.message, "nosuch") != NULL);
	req.overrides = NULL;
	json_t *st = sfx_json("[{\"type\":\"binpack\",\"field\":\"disk\"}]");
	req.placement_strategy = st;
	CHECK_INT(sched_run_task(f.s, &req, &tasks, &fails, &f.err), SCHED_ERR_INVALID_PARAMETER);
	req.placement_strategy = NULL;
	req.cluster = "nosuch";
	CHECK_INT(sched_run_task(f.s, &req, &tasks, &fails, &f.err), SCHED_ERR_CLUSTER_NOT_FOUND);
	req.cluster = "empty";
	CHECK_INT(sched_run_task(f.s, &req, &tasks, &fails, &f.err), SCHED_ERR_INVALID_PARAMETER);
	CHECK_STR(f.err.message, "No Container Instances were found in your cluster.");
	req.cluster = "c";
	req.task_definition = "nosuch";
	CHECK(sched_run_task(f.s, &req, &tasks, &fails, &f.err) != SCHED_OK);
	/* nothing was started or written by any of them */
	CHECK_INT(sched_fake_starts(f.fake), 0);
	CHECK_INT(w_count(&f, "c", NULL), 0);
	CHECK_INT(w_count(&f, "c", "STOPPED"), 0);
	json_decref(ov);
	json_decref(st);
	free(td);
	sfx_done(&f);
}

static void test_run_reports_failures_per_instance(void)
{
	struct sfx f;
	sfx_init(&f);
	w_cluster(&f, "c");
	const char *i0 = w_instance(&f, "c", 0, 300, 4096, "a", NULL);
	const char *i1 = w_instance(&f, "c", 1, 4096, 300, "a", NULL);
	char i0s[160], i1s[160];
	snprintf(i0s, sizeof(i0s), "%s", i0);
	snprintf(i1s, sizeof(i1s), "%s", i1);
	char *td = w_taskdef(&f, "{\"family\":\"big\",\"containerDefinitions\":[{\"name\":\"a\","
	                         "\"image\":\"x\",\"cpu\":200,\"memory\":200}]}");
	json_t *fails = NULL;
	/* room for one on each: the third fails on both, for each reason */
	json_t *tasks = w_run(&f, "c", "big", 3, &fails);
	CHECK_INT(json_array_size(tasks), 2);
	CHECK_INT(json_array_size(fails), 2);
	CHECK_STR(sfx_str(json_array_get(fails, 0), "arn"), i0s);
	CHECK_STR(sfx_str(json_array_get(fails, 0), "reason"), "RESOURCE:CPU");
	CHECK_STR(sfx_str(json_array_get(fails, 1), "arn"), i1s);
	CHECK_STR(sfx_str(json_array_get(fails, 1), "reason"), "RESOURCE:MEMORY");
	json_decref(tasks);
	json_decref(fails);
	free(td);
	sfx_done(&f);
}

static void test_static_port_conflict(void)
{
	struct sfx f;
	sfx_init(&f);
	w_cluster(&f, "c");
	w_instance(&f, "c", 0, 4096, 4096, "a", "\"22\"");
	char *td = w_taskdef(&f, TD_STATIC);
	json_t *fails = NULL;
	json_t *tasks = w_run(&f, "c", "fixed", 2, &fails);
	CHECK_INT(json_array_size(tasks), 1);
	CHECK_STR(sfx_str(json_array_get(fails, 0), "reason"), "RESOURCE:PORTS");
	json_decref(fails);
	/* once that task is STOPPED the port is free again */
	json_t *stopped = NULL;
	CHECK_INT(sched_stop_task(f.s, "c", arn_at(tasks, 0), NULL, &stopped, &f.err), SCHED_OK);
	json_decref(stopped);
	json_t *again = w_run(&f, "c", "fixed", 1, &fails);
	CHECK_INT(json_array_size(again), 1);
	CHECK_INT(json_array_size(fails), 0);
	json_decref(again);
	json_decref(fails);
	json_decref(tasks);
	free(td);
	sfx_done(&f);
}

static void test_dynamic_ports_never_shared(void)
{
	struct sfx f;
	sfx_init(&f);
	f.port_min = 40000;
	f.port_max = 40002;
	sfx_restart(&f);
	w_cluster(&f, "c");
	w_instance(&f, "c", 0, 4096, 4096, "a", "\"40001\"");
	char *td = w_taskdef(&f, TD_WEB);
	json_t *fails = NULL;
	json_t *tasks = w_run(&f, "c", "web", 3, &fails);
	/* 40000 and 40002 are free; 40001 is the instance's */
	CHECK_INT(json_array_size(tasks), 2);
	CHECK_STR(sfx_str(json_array_get(fails, 0), "reason"), "RESOURCE:PORTS");
	int p[2];
	for (size_t i = 0; i < 2; i++) {
		const json_t *nb = json_array_get(
		    json_object_get(
		        json_array_get(json_object_get(json_array_get(tasks, i), "containers"), 0),
		        "networkBindings"),
		    0);
		p[i] = (int)json_integer_value(json_object_get(nb, "hostPort"));
	}
	CHECK_INT(p[0], 40000);
	CHECK_INT(p[1], 40002);
	json_decref(tasks);
	json_decref(fails);
	free(td);
	sfx_done(&f);
}

static int host_port_of(const json_t *task)
{
	const json_t *nb = json_array_get(
	    json_object_get(json_array_get(json_object_get(task, "containers"), 0), "networkBindings"),
	    0);
	return (int)json_integer_value(json_object_get(nb, "hostPort"));
}

/* Instances that are one machine (the gateway's drivers): a host port taken
 * through one instance, in any cluster, is taken through all of them. */
static void test_shared_host_ports(void)
{
	struct sfx f;
	sfx_init(&f);
	f.host_ports_shared = true;
	f.bind_ip = "127.0.0.1";
	sfx_restart(&f);
	w_cluster(&f, "c");
	w_cluster(&f, "d");
	w_instance(&f, "c", 0, 4096, 4096, "a", "\"22\"");
	w_instance(&f, "c", 1, 4096, 4096, "b", "\"22\"");
	w_instance(&f, "d", 2, 4096, 4096, "a", "\"22\"");
	char *td = w_taskdef(&f, TD_STATIC);
	json_t *fails = NULL;
	/* two instances, one machine: port 8080 can be bound only once */
	json_t *tasks = w_run(&f, "c", "fixed", 2, &fails);
	CHECK_INT(json_array_size(tasks), 1);
	CHECK_STR(sfx_str(json_array_get(fails, 0), "reason"), "RESOURCE:PORTS");
	json_decref(fails);
	json_t *other = w_run(&f, "d", "fixed", 1, &fails);
	CHECK_INT(json_array_size(other), 0);
	json_decref(other);
	json_decref(fails);
	char *web = w_taskdef(&f, TD_WEB);
	json_t *a = w_run(&f, "c", "web", 2, &fails);
	json_decref(fails);
	json_t *b = w_run(&f, "d", "web", 1, &fails);
	CHECK_INT(json_array_size(a), 2);
	CHECK_INT(json_array_size(b), 1);
	int p0 = host_port_of(json_array_get(a, 0)), p1 = host_port_of(json_array_get(a, 1)),
	    p2 = host_port_of(json_array_get(b, 0));
	CHECK(p0 != p1 && p0 != p2 && p1 != p2);
	const json_t *nb = json_array_get(
	    json_object_get(json_array_get(json_object_get(json_array_get(b, 0), "containers"), 0),
	                    "networkBindings"),
	    0);
	CHECK_STR(sfx_str(nb, "bindIP"), "127.0.0.1");
	json_decref(a);
	json_decref(b);
	json_decref(fails);
	json_decref(tasks);
	free(td);
	free(web);
	sfx_done(&f);
}

static void test_lifecycle_pending_running_stopped(void)
{
	struct sfx f;
	sfx_init(&f);
	struct hook_log h;
	with_hooks(&f, &h);
	w_cluster(&f, "c");
	const char *i0 = w_instance(&f, "c", 0, 1024, 1024, "a", NULL);
	char inst[160];
	snprintf(inst, sizeof(inst), "%s", i0);
	char *td = w_taskdef(&f, TD_WEB);
	sched_fake_start_pending(f.fake, true);
	json_t *tasks = w_run(&f, "c", "web", 1, NULL);
	const char *arn = arn_at(tasks, 0);
	CHECK_STR(sfx_str(json_array_get(tasks, 0), "lastStatus"), "PENDING");
	CHECK(json_object_get(json_array_get(tasks, 0), "startedAt") == NULL);
	f.now_ms += 5000;
	int changed = -1;
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	CHECK_INT(changed, 1);
	json_t *t = w_task(&f, "c", arn);
	CHECK_STR(sfx_str(t, "lastStatus"), "RUNNING");
	CHECK(json_real_value(json_object_get(t, "startedAt")) == 1700000005.0);
	json_decref(t);
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	CHECK_INT(changed, 0);
	f.now_ms += 1000;
	json_t *stopped = NULL;
	CHECK_INT(sched_stop_task(f.s, "c", arn, "maintenance", &stopped, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(stopped, "lastStatus"), "STOPPED");
	CHECK_STR(sfx_str(stopped, "desiredStatus"), "STOPPED");
	CHECK_STR(sfx_str(stopped, "stopCode"), "UserInitiated");
	CHECK_STR(sfx_str(stopped, "stoppedReason"), "maintenance");
	CHECK(json_real_value(json_object_get(stopped, "stoppingAt")) == 1700000006.0);
	CHECK(json_is_number(json_object_get(stopped, "stoppedAt")));
	CHECK_STR(sfx_str(json_array_get(json_object_get(stopped, "containers"), 0), "lastStatus"),
	          "STOPPED");
	json_decref(stopped);
	CHECK_INT(h.stopped, 1);
	CHECK_STR(h.last_stopped, "STOPPED");
	/* resources are back, and stopping again changes nothing */
	CHECK_INT(w_remaining(&f, inst, "CPU"), 1024);
	CHECK_INT(sched_stop_task(f.s, "c", arn, NULL, &stopped, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(stopped, "stoppedReason"), "maintenance");
	json_decref(stopped);
	CHECK_INT(h.stopped, 1);
	CHECK_INT(sched_stop_task(f.s, "c", "0123456789abcdef", NULL, &stopped, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	json_decref(tasks);
	free(td);
	sfx_done(&f);
}

static void test_hook_refusal_fails_closed(void)
{
	struct sfx f;
	sfx_init(&f);
	struct hook_log h;
	with_hooks(&f, &h);
	h.refuse = true;
	w_cluster(&f, "c");
	const char *i0 = w_instance(&f, "c", 0, 1024, 1024, "a", NULL);
	char inst[160];
	snprintf(inst, sizeof(inst), "%s", i0);
	char *td = w_taskdef(&f, TD_WEB);
	json_t *tasks = w_run(&f, "c", "web", 1, NULL);
	const json_t *t = json_array_get(tasks, 0);
	CHECK_STR(sfx_str(t, "lastStatus"), "STOPPED");
	CHECK_STR(sfx_str(t, "stopCode"), "TaskFailedToStart");
	CHECK_STR(sfx_str(t, "stoppedReason"), "no credentials for the task role");
	CHECK_INT(sched_fake_starts(f.fake), 0); /* the driver never saw it */
	CHECK_INT(h.stopped, 1);
	CHECK_INT(w_remaining(&f, inst, "MEMORY"), 1024);
	json_decref(tasks);
	free(td);
	sfx_done(&f);
}

static void test_driver_start_failure(void)
{
	struct sfx f;
	sfx_init(&f);
	struct hook_log h;
	with_hooks(&f, &h);
	w_cluster(&f, "c");
	w_instance(&f, "c", 0, 1024, 1024, "a", NULL);
	char *td = w_taskdef(&f, TD_WEB);
	sched_fake_fail_starts(f.fake, 1, "CannotPullContainerError: no such image");
	json_t *tasks = w_run(&f, "c", "web", 2, NULL);
	CHECK_INT(json_array_size(tasks), 2);
	const json_t *t = json_array_get(tasks, 0);
	CHECK_STR(sfx_str(t, "lastStatus"), "STOPPED");
	CHECK_STR(sfx_str(t, "stopCode"), "TaskFailedToStart");
	CHECK_STR(sfx_str(t, "stoppedReason"), "CannotPullContainerError: no such image");
	CHECK_STR(sfx_str(json_array_get(json_object_get(t, "containers"), 0), "reason"),
	          "CannotPullContainerError: no such image");
	CHECK_STR(sfx_str(json_array_get(tasks, 1), "lastStatus"), "PENDING");
	CHECK_INT(h.starting, 2);
	CHECK_INT(h.stopped, 1);
	json_decref(tasks);
	free(td);
	sfx_done(&f);
}

/* A driver that starts in the background (docker pulling an image) accepts
 * the start, then reports the failure: the same TaskFailedToStart. */
static void test_driver_late_start_failure(void)
{
	struct sfx f;
	sfx_init(&f);
	struct hook_log h;
	with_hooks(&f, &h);
	w_cluster(&f, "c");
	w_instance(&f, "c", 0, 1024, 1024, "a", NULL);
	char *td = w_taskdef(&f, TD_WEB);
	sched_fake_fail_starts_later(f.fake, 1, "CannotPullContainerError: pull access denied");
	json_t *tasks = w_run(&f, "c", "web", 1, NULL);
	CHECK_INT(json_array_size(tasks), 1);
	const char *arn = sfx_str(json_array_get(tasks, 0), "taskArn");
	CHECK_STR(sfx_str(json_array_get(tasks, 0), "lastStatus"), "PENDING");
	CHECK_INT(h.stopped, 0);
	int changed = 0;
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	CHECK_INT(changed, 1);
	json_t *t = w_task(&f, "c", arn);
	CHECK_STR(sfx_str(t, "lastStatus"), "STOPPED");
	CHECK_STR(sfx_str(t, "stopCode"), "TaskFailedToStart");
	CHECK_STR(sfx_str(t, "stoppedReason"), "CannotPullContainerError: pull access denied");
	CHECK_STR(sfx_str(json_array_get(json_object_get(t, "containers"), 0), "reason"),
	          "CannotPullContainerError: pull access denied");
	CHECK(json_object_get(t, "startedAt") == NULL);
	CHECK(json_object_get(json_array_get(json_object_get(t, "containers"), 0), "exitCode") ==
	      NULL);
	CHECK_INT(h.stopped, 1);
	json_decref(t);
	/* its resources are given back */
	json_decref(tasks);
	tasks = w_run(&f, "c", "web", 1, NULL);
	CHECK_STR(sfx_str(json_array_get(tasks, 0), "lastStatus"), "PENDING");
	json_decref(tasks);
	free(td);
	sfx_done(&f);
}

static void test_dead_container_noticed(void)
{
	struct sfx f;
	sfx_init(&f);
	struct hook_log h;
	with_hooks(&f, &h);
	w_cluster(&f, "c");
	w_instance(&f, "c", 0, 1024, 1024, "a", NULL);
	char *td = w_taskdef(&f, TD_WEB);
	json_t *tasks = w_run(&f, "c", "web", 2, NULL);
	int changed = 0;
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	CHECK_INT(sched_fake_kill(f.fake, arn_at(tasks, 1), 137), 0);
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	CHECK_INT(changed, 1);
	json_t *t = w_task(&f, "c", arn_at(tasks, 1));
	CHECK_STR(sfx_str(t, "lastStatus"), "STOPPED");
	CHECK_STR(sfx_str(t, "stopCode"), "EssentialContainerExited");
	CHECK_STR(sfx_str(t, "stoppedReason"), "Essential container in task exited");
	const json_t *c0 = json_array_get(json_object_get(t, "containers"), 0);
	CHECK_INT(json_integer_value(json_object_get(c0, "exitCode")), 137);
	/* the non-essential container has no exit code of its own */
	CHECK(json_object_get(json_array_get(json_object_get(t, "containers"), 1), "exitCode") ==
	      NULL);
	json_decref(t);
	CHECK_INT(h.stopped, 1);
	CHECK_INT(w_count(&f, "c", NULL), 1);
	CHECK_INT(w_count(&f, "c", "STOPPED"), 1);
	json_decref(tasks);
	free(td);
	sfx_done(&f);
}

static void test_list_filters_and_pages(void)
{
	struct sfx f;
	sfx_init(&f);
	w_cluster(&f, "c");
	const char *i0 = w_instance(&f, "c", 0, 8192, 8192, "a", NULL);
	char inst0[160];
	snprintf(inst0, sizeof(inst0), "%s", i0);
	w_instance(&f, "c", 1, 8192, 8192, "a", NULL);
	char *td1 = w_taskdef(&f, TD_WEB);
	char *td2 = w_taskdef(&f, "{\"family\":\"worker\",\"containerDefinitions\":[{\"name\":"
	                          "\"w\",\"image\":\"x\",\"cpu\":1,\"memory\":8}]}");
	json_t *st = sfx_json("[{\"type\":\"spread\",\"field\":\"instanceId\"}]");
	struct sched_run_request req = {.cluster = "c",
	                                .task_definition = "web",
	                                .count = 4,
	                                .started_by = "deployer",
	                                .placement_strategy = st};
	json_t *web = NULL, *fails = NULL;
	CHECK_INT(sched_run_task(f.s, &req, &web, &fails, &f.err), SCHED_OK);
	json_decref(fails);
	json_t *wk = w_run(&f, "c", "worker", 3, NULL);
	json_t *stopped = NULL;
	CHECK_INT(sched_stop_task(f.s, "c", arn_at(wk, 0), NULL, &stopped, &f.err), SCHED_OK);
	json_decref(stopped);
	struct sched_task_filter flt = {.cluster = "c"};
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 6);
	CHECK(next == NULL);
	json_decref(arns);
	flt.family = "web";
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 4);
	json_decref(arns);
	flt.family = "we"; /* a family, not a prefix */
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 0);
	json_decref(arns);
	flt.family = NULL;
	flt.started_by = "deployer";
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 4);
	json_decref(arns);
	flt.started_by = NULL;
	flt.container_instance = inst0;
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	size_t on0 = json_array_size(arns);
	json_decref(arns);
	flt.container_instance = "i1"; /* an id works too */
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(on0 + json_array_size(arns), 6);
	CHECK_INT(on0, 4); /* web spread 2 + 2; workers fill the first instance */
	json_decref(arns);
	flt.container_instance = NULL;
	flt.desired_status = "STOPPED";
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 1);
	CHECK_STR(json_string_value(json_array_get(arns, 0)), arn_at(wk, 0));
	json_decref(arns);
	flt.desired_status = "NOPE";
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	/* pages of 4 then 2, the token resumes after the first page */
	flt.desired_status = NULL;
	struct sched_page pg = {.max_results = 4};
	CHECK_INT(sched_task_list(f.s, &flt, &pg, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 4);
	CHECK(next != NULL);
	json_t *page1 = arns;
	pg.next_token = next;
	CHECK_INT(sched_task_list(f.s, &flt, &pg, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 2);
	CHECK(next == NULL);
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 4; j++)
			CHECK(strcmp(json_string_value(json_array_get(arns, i)),
			             json_string_value(json_array_get(page1, j))) != 0);
	free((char *)pg.next_token);
	json_decref(page1);
	json_decref(arns);
	json_decref(st);
	json_decref(web);
	json_decref(wk);
	free(td1);
	free(td2);
	sfx_done(&f);
}

static void test_describe_missing(void)
{
	struct sfx f;
	sfx_init(&f);
	w_cluster(&f, "c");
	w_cluster(&f, "other");
	w_instance(&f, "c", 0, 1024, 1024, "a", NULL);
	char *td = w_taskdef(&f, TD_WEB);
	json_t *tasks = w_run(&f, "c", "web", 1, NULL);
	const char *arn = arn_at(tasks, 0);
	const char *id = strrchr(arn, '/') + 1;
	json_t *ids = json_pack("[s,s,s]", id, arn, "feedfacefeedfacefeedfacefeedface");
	json_t *out = NULL, *fails = NULL;
	CHECK_INT(sched_task_describe(f.s, "c", ids, &out, &fails, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(out), 2);
	CHECK_INT(json_array_size(fails), 1);
	CHECK_STR(sfx_str(json_array_get(fails, 0), "reason"), "MISSING");
	CHECK_STR(sfx_str(json_array_get(fails, 0), "arn"),
	          W_ARN_PREFIX "task/c/feedfacefeedfacefeedfacefeedface");
	json_decref(out);
	json_decref(fails);
	/* a task of another cluster is missing there */
	CHECK_INT(sched_task_describe(f.s, "other", ids, &out, &fails, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(out), 0);
	CHECK_INT(json_array_size(fails), 3);
	json_decref(out);
	json_decref(fails);
	json_t *none = json_array();
	CHECK_INT(sched_task_describe(f.s, "c", none, &out, &fails, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	json_decref(none);
	json_decref(ids);
	json_decref(tasks);
	free(td);
	sfx_done(&f);
}

static void test_start_task_on_named_instances(void)
{
	struct sfx f;
	sfx_init(&f);
	w_cluster(&f, "c");
	w_instance(&f, "c", 0, 1024, 1024, "a", NULL);
	const char *i1 = w_instance(&f, "c", 1, 1024, 1024, "a", NULL);
	char inst1[160];
	snprintf(inst1, sizeof(inst1), "%s", i1);
	w_instance(&f, "c", 2, 100, 100, "a", NULL);
	char *td = w_taskdef(&f, TD_WEB);
	struct sched_run_request req = {.cluster = "c", .task_definition = "web"};
	json_t *insts = json_pack("[s,s]", inst1, "i2"), *tasks = NULL, *fails = NULL;
	CHECK_INT(sched_start_task(f.s, &req, insts, &tasks, &fails, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(tasks), 1);
	CHECK_STR(sfx_str(json_array_get(tasks, 0), "containerInstanceArn"), inst1);
	CHECK_INT(json_array_size(fails), 1);
	CHECK_STR(sfx_str(json_array_get(fails, 0), "reason"), "RESOURCE:CPU");
	json_decref(tasks);
	json_decref(fails);
	json_decref(insts);
	insts = json_pack("[s]", "i9");
	CHECK_INT(sched_start_task(f.s, &req, insts, &tasks, &fails, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	json_decref(insts);
	free(td);
	sfx_done(&f);
}

static void test_restart_finds_tasks_without_duplicates(void)
{
	struct sfx f;
	sfx_init(&f);
	w_cluster(&f, "c");
	const char *i0 = w_instance(&f, "c", 0, 4096, 4096, "a", NULL);
	char inst[160];
	snprintf(inst, sizeof(inst), "%s", i0);
	char *td = w_taskdef(&f, TD_WEB);
	json_t *tasks = w_run(&f, "c", "web", 3, NULL);
	int changed = -1;
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	CHECK_INT(changed, 3);
	sfx_restart(&f);
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	CHECK_INT(changed, 0);
	CHECK_INT(sched_fake_starts(f.fake), 3);
	CHECK_INT(w_count(&f, "c", NULL), 3);
	/* a task killed while the gateway was down is seen on the next tick */
	sfx_restart(&f);
	sched_fake_kill(f.fake, arn_at(tasks, 0), 1);
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	CHECK_INT(changed, 1);
	CHECK_INT(w_count(&f, "c", NULL), 2);
	/* the host lost everything: tasks are STOPPED with a reason, and the
	 * ports and memory are free again */
	sched_fake_forget_all(f.fake);
	sfx_restart(&f);
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	CHECK_INT(changed, 2);
	json_t *t = w_task(&f, "c", arn_at(tasks, 2));
	CHECK_STR(sfx_str(t, "lastStatus"), "STOPPED");
	CHECK(strstr(sfx_str(t, "stoppedReason"), "lost") != NULL);
	json_decref(t);
	CHECK_INT(w_remaining(&f, inst, "MEMORY"), 4096);
	CHECK_INT(sched_fake_starts(f.fake), 3);
	json_decref(tasks);
	free(td);
	sfx_done(&f);
}

static void test_provisioning_leftover_is_stopped(void)
{
	/* a gateway that died between saving a task and starting it */
	struct sfx f;
	sfx_init(&f);
	w_cluster(&f, "c");
	w_instance(&f, "c", 0, 4096, 4096, "a", NULL);
	char *td = w_taskdef(&f, TD_WEB);
	json_t *tasks = w_run(&f, "c", "web", 1, NULL);
	sched_fake_forget_all(f.fake);
	/* put the task back to PROVISIONING as a crash would have left it */
	struct sched_obj o;
	CHECK_INT(sched_obj_load(f.s, arn_at(tasks, 0), &o, SCHED_ERR_SERVER, &f.err), SCHED_OK);
	json_object_set_new(o.doc, "lastStatus", json_string("PROVISIONING"));
	sched_obj_set_str(&o, &o.row.status, "PROVISIONING", &f.err);
	CHECK_INT(sched_obj_save(f.s, &o, &f.err), SCHED_OK);
	sched_obj_free(&o);
	sfx_restart(&f);
	int changed = 0;
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	json_t *t = w_task(&f, "c", arn_at(tasks, 0));
	CHECK_STR(sfx_str(t, "lastStatus"), "STOPPED");
	CHECK_STR(sfx_str(t, "stopCode"), "TaskFailedToStart");
	json_decref(t);
	CHECK_INT(sched_fake_starts(f.fake), 1);
	json_decref(tasks);
	free(td);
	sfx_done(&f);
}

static void test_stopped_tasks_kept_an_hour(void)
{
	struct sfx f;
	sfx_init(&f);
	w_cluster(&f, "c");
	w_instance(&f, "c", 0, 4096, 4096, "a", NULL);
	char *td = w_taskdef(&f, TD_WEB);
	json_t *tasks = w_run(&f, "c", "web", 2, NULL);
	int64_t v0 = json_integer_value(json_object_get(json_array_get(tasks, 0), "version"));
	CHECK_INT(sched_tick(f.s, NULL, &f.err), SCHED_OK);
	json_t *t = w_task(&f, "c", arn_at(tasks, 0));
	CHECK(json_integer_value(json_object_get(t, "version")) > v0); /* each change counts */
	json_decref(t);
	json_t *stopped = NULL;
	CHECK_INT(sched_stop_task(f.s, "c", arn_at(tasks, 0), NULL, &stopped, &f.err), SCHED_OK);
	json_decref(stopped);
	f.now_ms += 1800 * 1000;
	CHECK_INT(sched_stop_task(f.s, "c", arn_at(tasks, 1), NULL, &stopped, &f.err), SCHED_OK);
	json_decref(stopped);
	/* half an hour later both are still there */
	CHECK_INT(sched_tick(f.s, NULL, &f.err), SCHED_OK);
	CHECK_INT(w_count(&f, "c", "STOPPED"), 2);
	/* past the hour the first is gone (MISSING), the second not yet */
	f.now_ms += 1801 * 1000;
	CHECK_INT(sched_tick(f.s, NULL, &f.err), SCHED_OK);
	CHECK_INT(w_count(&f, "c", "STOPPED"), 1);
	t = w_task(&f, "c", arn_at(tasks, 0));
	CHECK(t == NULL);
	t = w_task(&f, "c", arn_at(tasks, 1));
	CHECK(t != NULL);
	json_decref(t);
	/* and the second once its hour is up */
	f.now_ms += 1800 * 1000;
	CHECK_INT(sched_tick(f.s, NULL, &f.err), SCHED_OK);
	CHECK_INT(w_count(&f, "c", "STOPPED"), 0);
	json_decref(tasks);
	free(td);
	sfx_done(&f);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"RunTask places, saves and starts count tasks with the hooks' environment",
	     test_run_places_and_starts},
	    {"RunTask refuses bad counts, overrides, strategies, clusters and empty clusters, "
	     "writing nothing",
	     test_run_refuses_bad_requests},
	    {"tasks that fit nowhere are failures naming each instance and its reason",
	     test_run_reports_failures_per_instance},
	    {"a static host port taken on the instance is RESOURCE:PORTS until its task stops",
	     test_static_port_conflict},
	    {"dynamic host ports come from the configured range, never a taken one",
	     test_dynamic_ports_never_shared},
	    {"instances on one machine share its host ports across clusters; bindIP as "
	     "configured",
	     test_shared_host_ports},
	    {"lifecycle PENDING -> RUNNING -> STOPPED with times, stopCode and resources back",
	     test_lifecycle_pending_running_stopped},
	    {"a starting hook that refuses stops the task with TaskFailedToStart (fail closed)",
	     test_hook_refusal_fails_closed},
	    {"a driver that cannot start a task: TaskFailedToStart with its reason",
	     test_driver_start_failure},
	    {"a start the driver accepted and failed later: TaskFailedToStart with its reason, "
	     "resources given back",
	     test_driver_late_start_failure},
	    {"a dead essential container stops the task with its exit code",
	     test_dead_container_noticed},
	    {"ListTasks filters by family, startedBy, instance and desired status, in pages",
	     test_list_filters_and_pages},
	    {"DescribeTasks reports unknown and other clusters' tasks as MISSING",
	     test_describe_missing},
	    {"StartTask runs on the named instances only", test_start_task_on_named_instances},
	    {"after a restart the scheduler finds its tasks and starts none twice",
	     test_restart_finds_tasks_without_duplicates},
	    {"STOPPED tasks are kept an hour, then DescribeTasks says MISSING; version counts "
	     "changes",
	     test_stopped_tasks_kept_an_hour},
	    {"a task left PROVISIONING by a crash is stopped, not started blind",
	     test_provisioning_leftover_is_stopped},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
