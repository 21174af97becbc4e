/*
 * test_sched_fake.c - the in-memory fake driver (scheduler/fake_driver.c)
 * that the scheduler's other tests stand on: starts, refused starts, pending
 * tasks, stops, deaths with their events, a host that forgets, and a fake
 * shared by two schedulers in turn.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_sched_fixture.h"

static json_t *task_json(const char *arn)
{
	return json_pack("{s:s,s:[{s:s}]}", "taskArn", arn, "containers", "name", "web");
}

static int start(struct sched_driver *d, const char *arn, const json_t *env, char *reason,
                 size_t cap)
{
	json_t *t = task_json(arn);
	json_t *td = json_pack("{s:s}", "family", "web");
	int rc = d->start(d->handle, t, td, env, reason, cap);
	json_decref(t);
	json_decref(td);
	return rc;
}

static void test_start_runs_at_once_and_keeps_what_it_got(void)
{
	struct sched_fake *f = sched_fake_new();
	struct sched_driver d = sched_fake_driver(f);
	CHECK_STR(d.name, "fake");
	char reason[128] = "";
	json_t *env = json_pack("{s:s}", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds/x");
	CHECK_INT(start(&d, "arn:t/1", env, reason, sizeof(reason)), 0);
	json_decref(env);
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, "arn:t/1", &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_RUNNING);
	CHECK_INT(sched_fake_live(f), 1);
	CHECK_INT(sched_fake_starts(f), 1);
	const json_t *got = sched_fake_task(f, "arn:t/1");
	CHECK(got != NULL);
	CHECK_STR(sfx_str(got, "taskArn"), "arn:t/1");
	CHECK_STR(sfx_str(sched_fake_env(f, "arn:t/1"), "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
	          "/v2/creds/x");
	CHECK(sched_fake_task(f, "arn:t/none") == NULL);
	CHECK_INT(d.inspect(d.handle, "arn:t/none", &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_UNKNOWN);
	sched_fake_free(f);
}

static void test_start_without_task_arn_is_refused(void)
{
	struct sched_fake *f = sched_fake_new();
	struct sched_driver d = sched_fake_driver(f);
	char reason[128] = "";
	json_t *t = json_object();
	CHECK_INT(d.start(d.handle, t, NULL, NULL, reason, sizeof(reason)), -1);
	CHECK(strstr(reason, "taskArn") != NULL);
	CHECK_INT(sched_fake_starts(f), 0);
	json_decref(t);
	sched_fake_free(f);
}

static void test_pending_tasks_run_on_the_next_inspect(void)
{
	struct sched_fake *f = sched_fake_new();
	struct sched_driver d = sched_fake_driver(f);
	sched_fake_start_pending(f, true);
	char reason[128];
	CHECK_INT(start(&d, "arn:t/1", NULL, reason, sizeof(reason)), 0);
	CHECK_INT(sched_fake_live(f), 1);
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, "arn:t/1", &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_RUNNING);
	sched_fake_start_pending(f, false);
	CHECK_INT(start(&d, "arn:t/2", NULL, reason, sizeof(reason)), 0);
	CHECK_INT(d.inspect(d.handle, "arn:t/2", &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_RUNNING);
	sched_fake_free(f);
}

static void test_failed_starts_count_down_and_give_the_reason(void)
{
	struct sched_fake *f = sched_fake_new();
	struct sched_driver d = sched_fake_driver(f);
	sched_fake_fail_starts(f, 2, "CannotPullContainerError: no such image");
	char reason[128] = "";
	CHECK_INT(start(&d, "arn:t/1", NULL, reason, sizeof(reason)), -1);
	CHECK_STR(reason, "CannotPullContainerError: no such image");
	CHECK_INT(start(&d, "arn:t/2", NULL, reason, sizeof(reason)), -1);
	CHECK_INT(start(&d, "arn:t/3", NULL, reason, sizeof(reason)), 0);
	CHECK_INT(sched_fake_starts(f), 1);
	CHECK_INT(sched_fake_live(f), 1);
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, "arn:t/1", &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_UNKNOWN);
	/* a reason cut to a tiny buffer stays a terminated string */
	sched_fake_fail_starts(f, 1, "CannotPullContainerError");
	char tiny[5];
	CHECK_INT(start(&d, "arn:t/4", NULL, tiny, sizeof(tiny)), -1);
	CHECK_STR(tiny, "Cann");
	sched_fake_free(f);
}

static void test_stop_is_immediate_and_idempotent(void)
{
	struct sched_fake *f = sched_fake_new();
	struct sched_driver d = sched_fake_driver(f);
	char reason[128];
	CHECK_INT(start(&d, "arn:t/1", NULL, reason, sizeof(reason)), 0);
	CHECK_INT(d.stop(d.handle, "arn:t/1", reason, sizeof(reason)), 0);
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, "arn:t/1", &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_STOPPED);
	CHECK(!st.failed_to_start);
	CHECK_INT(sched_fake_live(f), 0);
	CHECK_INT(d.stop(d.handle, "arn:t/1", reason, sizeof(reason)), 0);
	CHECK_INT(d.stop(d.handle, "arn:t/never", reason, sizeof(reason)), 0);
	/* a stop is asked for, not noticed: no event */
	struct sched_driver_event ev[4];
	CHECK_INT(d.events(d.handle, ev, 4), 0);
	sched_fake_free(f);
}

static void test_a_killed_task_gives_one_event_then_reads_stopped(void)
{
	struct sched_fake *f = sched_fake_new();
	struct sched_driver d = sched_fake_driver(f);
	char reason[128];
	CHECK_INT(start(&d, "arn:t/1", NULL, reason, sizeof(reason)), 0);
	CHECK_INT(start(&d, "arn:t/2", NULL, reason, sizeof(reason)), 0);
	CHECK_INT(sched_fake_kill(f, "arn:t/2", 137), 0);
	CHECK_INT(sched_fake_kill(f, "arn:t/2", 1), -1); /* already dead */
	CHECK_INT(sched_fake_kill(f, "arn:t/none", 1), -1);
	struct sched_driver_event ev[4];
	CHECK_INT(d.events(d.handle, ev, 4), 1);
	CHECK_STR(ev[0].task_arn, "arn:t/2");
	CHECK_INT(ev[0].status.state, SCHED_DRIVER_STOPPED);
	CHECK_INT(ev[0].status.exit_code, 137);
	CHECK_STR(ev[0].status.reason, "Essential container in task exited");
	CHECK_INT(d.events(d.handle, ev, 4), 0);
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, "arn:t/2", &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_STOPPED);
	CHECK_INT(st.exit_code, 137);
	CHECK_INT(sched_fake_live(f), 1);
	sched_fake_free(f);
}

static void test_events_are_handed_out_in_order_within_cap(void)
{
	struct sched_fake *f = sched_fake_new();
	struct sched_driver d = sched_fake_driver(f);
	char reason[128], arn[32];
	for (int i = 0; i < 20; i++) {
		snprintf(arn, sizeof(arn), "arn:t/%d", i);
		CHECK_INT(start(&d, arn, NULL, reason, sizeof(reason)), 0);
		CHECK_INT(sched_fake_kill(f, arn, i), 0);
	}
	struct sched_driver_event ev[8];
	int seen = 0;
	for (int round = 0; round < 4; round++) {
		int n = d.events(d.handle, ev, 8);
		CHECK(n >= 0 && n <= 8);
		for (int i = 0; i < n; i++) {
			snprintf(arn, sizeof(arn), "arn:t/%d", seen);
			CHECK_STR(ev[i].task_arn, arn);
			CHECK_INT(ev[i].status.exit_code, seen);
			seen++;
		}
	}
	CHECK_INT(seen, 20);
	sched_fake_free(f);
}

static void test_forget_all_loses_every_container(void)
{
	struct sched_fake *f = sched_fake_new();
	struct sched_driver d = sched_fake_driver(f);
	char reason[128];
	CHECK_INT(start(&d, "arn:t/1", NULL, reason, sizeof(reason)), 0);
	CHECK_INT(start(&d, "arn:t/2", NULL, reason, sizeof(reason)), 0);
	CHECK_INT(sched_fake_kill(f, "arn:t/2", 1), 0);
	sched_fake_forget_all(f);
	CHECK_INT(sched_fake_live(f), 0);
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, "arn:t/1", &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_UNKNOWN);
	struct sched_driver_event ev[4];
	CHECK_INT(d.events(d.handle, ev, 4), 0);
	CHECK(sched_fake_task(f, "arn:t/1") == NULL);
	CHECK_INT(sched_fake_starts(f), 2); /* the count of starts survives */
	sched_fake_free(f);
}

static void test_the_fake_outlives_a_scheduler_restart(void)
{
	struct sfx f;
	sfx_init(&f);
	struct sched_driver d = sched_fake_driver(f.fake);
	char reason[128];
	CHECK_INT(start(&d, "arn:t/1", NULL, reason, sizeof(reason)), 0);
	sfx_restart(&f);
	CHECK(f.s != NULL);
	CHECK_INT(sched_fake_live(f.fake), 1);
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, "arn:t/1", &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_RUNNING);
	sfx_done(&f);
}

static void test_free_is_null_safe(void)
{
	sched_fake_free(NULL);
	CHECK(1);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"a started task runs at once and the fake keeps its task and environment",
	     test_start_runs_at_once_and_keeps_what_it_got},
	    {"a start without taskArn is refused", test_start_without_task_arn_is_refused},
	    {"pending tasks run on the next inspect", test_pending_tasks_run_on_the_next_inspect},
	    {"failed starts count down and give their reason",
	     test_failed_starts_count_down_and_give_the_reason},
	    {"stop is immediate, idempotent and makes no event",
	     test_stop_is_immediate_and_idempotent},
	    {"a killed task gives one event, then reads STOPPED with its exit code",
	     test_a_killed_task_gives_one_event_then_reads_stopped},
	    {"events come out in order, at most cap at a time",
	     test_events_are_handed_out_in_order_within_cap},
	    {"forget_all loses every container and pending event",
	     test_forget_all_loses_every_container},
	    {"the fake outlives a scheduler restart", test_the_fake_outlives_a_scheduler_restart},
	    {"sched_fake_free(NULL) is safe", test_free_is_null_safe},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
