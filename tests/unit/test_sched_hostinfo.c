/*
 * test_sched_hostinfo.c - sched_task_host: the driver's optional containers
 * and stats calls reached through the scheduler.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_sched_fixture.h"

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

static const struct check_case cases[] = {
    {"a driver without containers or stats calls gives nothing, not an error",
     test_without_host_calls},
    {"the driver's containers and stats answers reach the caller; its refusal is an error",
     test_with_host_calls},
};

CHECK_MAIN(cases)
