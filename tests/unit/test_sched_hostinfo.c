/*
 * test_sched_hostinfo.c - sched_task_host: the driver's optional containers
 * and stats calls reached through the scheduler; the DockerIds of the
 * containers call becoming the task's containers[].runtimeId at RUNNING.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_sched_world.h"

static int calls;

static int fake_containers(void *h, const char *task_arn, json_t **out, char *reason, size_t cap)
{
	(void)h;
	calls++;
	if (strcmp(task_arn, "arn:known") != 0) {
		snprintf(reason, cap, "no task %s here", task_arn);
		return -1;
	}
	*out = json_pack("{s:{s:s}}", "web", "DockerId", "d0c");
	return 0;
}

static int fake_stats(void *h, const char *task_arn, json_t **out, char *reason, size_t cap)
{
	(void)h;
	(void)task_arn;
	(void)reason;
	(void)cap;
	calls++;
	*out = json_pack("{s:{s:i}}", "d0c", "num_procs", 1);
	return 0;
}

static void test_without_host_calls(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *c = (json_t *)1, *s = (json_t *)1;
	CHECK_INT(sched_task_host(f.s, "arn:known", &c, &s, &f.err), SCHED_OK);
	CHECK(c == NULL && s == NULL);
	CHECK_INT(sched_task_host(f.s, NULL, &c, &s, &f.err), SCHED_ERR_INVALID_PARAMETER);
	sfx_done(&f);
}

static void test_with_host_calls(void)
{
	struct sfx f;
	sfx_init(&f);
	sched_close(f.s);
	struct sched_config cfg = {
	    .store = f.store,
	    .region = SFX_REGION,
	    .account_id = SFX_ACCOUNT,
	    .driver = sched_fake_driver(f.fake),
	    .clock = sfx_clock,
	    .clock_ctx = &f,
	};
	cfg.driver.containers = fake_containers;
	cfg.driver.stats = fake_stats;
	CHECK_INT(sched_open(&cfg, &f.s, &f.err), SCHED_OK);
	json_t *c = NULL, *s = NULL;
	calls = 0;
	CHECK_INT(sched_task_host(f.s, "arn:known", &c, &s, &f.err), SCHED_OK);
	CHECK_STR(json_string_value(json_object_get(json_object_get(c, "web"), "DockerId")), "d0c");
	CHECK(json_object_get(s, "d0c") != NULL);
	CHECK_INT(calls, 2);
	json_decref(c);
	json_decref(s);
	CHECK_INT(sched_task_host(f.s, "arn:known", &c, NULL, &f.err), SCHED_OK);
	json_decref(c);
	CHECK_INT(sched_task_host(f.s, "arn:other", &c, &s, &f.err), SCHED_ERR_RESOURCE_NOT_FOUND);
	CHECK(c == NULL && s == NULL);
	CHECK(strstr(f.err.message, "arn:other") != NULL);
	sfx_done(&f);
}

/* The driver names "web" only, and refuses while refuse is set. */
static bool refuse;
static int named_containers(void *h, const char *task_arn, json_t **out, char *reason, size_t cap)
{
	(void)h;
	calls++;
	if (refuse) {
		snprintf(reason, cap, "the engine cannot be reached");
		return -1;
	}
	char id[200];
	snprintf(id, sizeof(id), "rt-%s-web", strrchr(task_arn, '/') + 1);
	*out = json_pack("{s:{s:s}, s:{s:s}}", "web", "DockerId", id, "side", "Name", "side");
	return 0;
}

static json_t *run_one(struct sfx *f)
{
	struct sched_run_request req = {.cluster = "c", .task_definition = "web"};
	json_t *tasks = NULL, *fails = NULL;
	CHECK_INT(sched_run_task(f->s, &req, &tasks, &fails, &f->err), SCHED_OK);
	json_decref(fails);
	return tasks;
}

static void test_runtime_id_at_running(void)
{
	struct sfx f;
	sfx_init(&f);
	sched_close(f.s);
	struct sched_config cfg = {
	    .store = f.store,
	    .region = SFX_REGION,
	    .account_id = SFX_ACCOUNT,
	    .driver = sched_fake_driver(f.fake),
	    .clock = sfx_clock,
	    .clock_ctx = &f,
	};
	cfg.driver.containers = named_containers;
	CHECK_INT(sched_open(&cfg, &f.s, &f.err), SCHED_OK);
	w_cluster(&f, "c");
	struct sched_instance_spec is = {.cluster = "c", .cpu = 4096, .memory = 4096};
	json_t *inst = NULL;
	CHECK_INT(sched_instance_register(f.s, &is, &inst, &f.err), SCHED_OK);
	json_decref(inst);
	free(w_taskdef(&f, "{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"web\","
	                   "\"image\":\"busybox\",\"memory\":64,\"essential\":true},"
	                   "{\"name\":\"side\",\"image\":\"busybox\",\"memory\":64,"
	                   "\"essential\":false}]}"));
	refuse = false;
	calls = 0;
	json_t *tasks = run_one(&f);
	const char *arn = sfx_str(json_array_get(tasks, 0), "taskArn");
	/* PENDING: not asked yet */
	CHECK(json_object_get(
	          json_array_get(json_object_get(json_array_get(tasks, 0), "containers"), 0),
	          "runtimeId") == NULL);
	CHECK_INT(calls, 0);
	int changed = 0;
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	CHECK_INT(calls, 1);
	json_t *t = w_task(&f, "c", arn);
	CHECK_STR(sfx_str(t, "lastStatus"), "RUNNING");
	char want[200];
	snprintf(want, sizeof(want), "rt-%s-web", strrchr(arn, '/') + 1);
	const json_t *cs = json_object_get(t, "containers");
	CHECK_STR(sfx_str(json_array_get(cs, 0), "runtimeId"), want);
	/* a container the driver gives no id has none */
	CHECK(json_object_get(json_array_get(cs, 1), "runtimeId") == NULL);
	json_decref(t);
	/* asked once: a RUNNING task's ticks do not ask again */
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	CHECK_INT(calls, 1);
	json_decref(tasks);

	/* A driver that cannot say leaves runtimeId out; the task runs. */
	refuse = true;
	tasks = run_one(&f);
	arn = sfx_str(json_array_get(tasks, 0), "taskArn");
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	t = w_task(&f, "c", arn);
	CHECK_STR(sfx_str(t, "lastStatus"), "RUNNING");
	CHECK(json_object_get(json_array_get(json_object_get(t, "containers"), 0), "runtimeId") ==
	      NULL);
	json_decref(t);
	json_decref(tasks);
	sfx_done(&f);
}

static const struct check_case cases[] = {
    {"a driver without containers or stats calls gives nothing, not an error",
     test_without_host_calls},
    {"the driver's containers and stats answers reach the caller; its refusal is an error",
     test_with_host_calls},
    {"a task reaching RUNNING gets each container's runtimeId from the driver's DockerId, "
     "asked once; none when the driver cannot say",
     test_runtime_id_at_running},
};

CHECK_MAIN(cases)
