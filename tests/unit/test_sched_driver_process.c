/*
 * test_sched_driver_process.c - the process driver with real processes
 * (/bin/sh): environment, exit codes and events, stop with SIGTERM then
 * SIGKILL, limits, failures to start, a reopened driver (a restarted
 * gateway) finding its tasks again without trusting a reused pid, and
 * health checks (verdicts, retries, timeouts, startPeriod, restart).
 *
 * Waiting is polling a condition (the driver's inspect, a file appearing)
 * under a generous deadline that only turns a hang into a failure.
 */
#include "scheduler/driver.h"
#include "scheduler/process_int.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char run_dir[256];
static atomic_int notified;

static void on_event(void *ctx)
{
	(void)ctx;
	atomic_fetch_add(&notified, 1);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void fresh_dir(void)
{
	if (run_dir[0])
		nftw(run_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(run_dir, sizeof(run_dir), "/tmp/taskgate-proc-XXXXXX");
	if (!mkdtemp(run_dir))
		abort();
}

static struct sched_driver open_driver(void)
{
	struct sched_process_opts o = {.run_dir = run_dir, .notify = on_event};
	struct sched_driver d;
	char err[256];
	if (sched_process_driver_open(&o, &d, err, sizeof(err)) != 0) {
		printf("    open: %s\n", err);
		abort();
	}
	return d;
}

static char arn_buf[8][160];
static const char *task_arn(int i)
{
	snprintf(arn_buf[i], sizeof(arn_buf[i]),
	         "arn:aws:ecs:us-east-1:123456789012:task/default/%08x%024d", (unsigned)getpid(),
	         i);
	return arn_buf[i];
}

/* A task with one container running script under /bin/sh -c. */
static json_t *task_json(const char *arn)
{
	return json_pack("{s:s, s:[{s:s}]}", "taskArn", arn, "containers", "name", "app");
}

static json_t *def_json(const char *script)
{
	return json_pack("{s:[{s:s, s:[s,s,s], s:b}]}", "containerDefinitions", "name", "app",
	                 "command", "/bin/sh", "-c", script, "essential", 1);
}

static int start(struct sched_driver *d, json_t *task, json_t *def, json_t *env, char *reason)
{
	json_t *e = env ? env : json_object();
	int rc = d->start(d->handle, task, def, e, reason, 256);
	if (!env)
		json_decref(e);
	return rc;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(void)
{
	struct timespec t = {.tv_sec = 0, .tv_nsec = 10 * 1000000};
	nanosleep(&t, NULL);
}

/* Polls inspect until the task reaches want (or 15 s pass). */
static bool wait_state(struct sched_driver *d, const char *arn, enum sched_driver_state want,
                       struct sched_driver_status *st)
{
	long long end = mono_ms() + 15000;
	while (mono_ms() < end) {
		if (d->inspect(d->handle, arn, st) == 0 && st->state == want)
			return true;
		nap();
	}
	return false;
}

/* The watcher thread tells after it released its lock, so a caller may see
 * the new state a moment before the notification. */
static bool wait_notified(int before)
{
	long long end = mono_ms() + 15000;
	while (mono_ms() < end) {
		if (atomic_load(&notified) > before)
			return true;
		nap();
	}
	return false;
}

/* No child left, not even a zombie (polls: reaping follows the exit). */
static bool wait_no_children(void)
{
	long long end = mono_ms() + 15000;
	while (mono_ms() < end) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD)
			return true;
		nap();
	}
	return false;
}

static bool wait_file(const char *path)
{
	long long end = mono_ms() + 15000;
	struct stat st;
	while (mono_ms() < end) {
		if (stat(path, &st) == 0 && st.st_size > 0)
			return true;
		nap();
	}
	return false;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void out_path(char *buf, size_t cap, const char *arn, const char *c, const char *file)
{
	snprintf(buf, cap, "%s/tasks/%s/%s/%s", run_dir, strrchr(arn, '/') + 1, c, file);
}

static void test_env_layers(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	const char *arn = task_arn(0);
	json_t *task = json_pack(
	    "{s:s, s:[{s:s, s:[{s:i, s:i, s:s}, {s:i, s:i, s:s}]}], s:{s:[{s:s, s:[{s:s, s:s}]}]}}",
	    "taskArn", arn, "containers", "name", "app", "networkBindings", "containerPort", 80,
	    "hostPort", 49200, "protocol", "tcp", "containerPort", 53, "hostPort", 49201,
	    "protocol", "udp", "overrides", "containerOverrides", "name", "app", "environment",
	    "name", "FROM_OVERRIDE", "value", "override");
	json_t *def = json_pack("{s:[{s:s, s:[s,s,s], s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}]}",
	                        "containerDefinitions", "name", "app", "command", "/bin/sh", "-c",
	                        "env | sort; pwd", "environment", "name", "FROM_DEF", "value",
	                        "def", "name", "FROM_OVERRIDE", "value", "def", "name",
	                        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value", "http://evil/");
	json_t *env =
	    json_pack("{s:s, s:s, s:{s:s, s:s}}", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	              "http://127.0.0.1:51679/v2/credentials/abc", "AWS_REGION", "us-east-1",
	              "ECS_CONTAINER_METADATA_URI_V4", "app", "http://127.0.0.1:51679/v4/app-id",
	              "other", "http://127.0.0.1:51679/v4/other-id");
	char reason[256] = "";
	CHECK_INT(start(&d, task, def, env, reason), 0);
	if (reason[0])
		printf("      reason: %s\n", reason);
	struct sched_driver_status st;
	CHECK(wait_state(&d, arn, SCHED_DRIVER_STOPPED, &st));
	CHECK_INT(st.exit_code, 0);
	char p[512];
	out_path(p, sizeof(p), arn, "app", "stdout");
	char *out = slurp(p);
	CHECK(out != NULL);
	if (out) {
		CHECK(strstr(out, "FROM_DEF=def\n") != NULL);
		CHECK(strstr(out, "FROM_OVERRIDE=override\n") != NULL);
		CHECK(strstr(out, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:51679/v2/"
		                  "credentials/abc\n") != NULL);
		CHECK(strstr(out, "http://evil/") == NULL);
		CHECK(strstr(out, "AWS_REGION=us-east-1\n") != NULL);
		CHECK(strstr(out,
		             "ECS_CONTAINER_METADATA_URI_V4=http://127.0.0.1:51679/v4/app-id\n") !=
		      NULL);
		CHECK(strstr(out, "other-id") == NULL);
		CHECK(strstr(out, "TASKGATE_HOST_PORT_80=49200\n") != NULL);
		CHECK(strstr(out, "TASKGATE_HOST_PORT_53_UDP=49201\n") != NULL);
		CHECK(strstr(out, "PORT=49200\n") != NULL);
		CHECK(strstr(out, "PATH=/usr/local/sbin:") != NULL);
		/* Nothing of the gateway's own environment leaks in. */
		CHECK(strstr(out, "TASKGATE_TEST_SECRET") == NULL);
		char dir[512];
		snprintf(dir, sizeof(dir), "%s/tasks/%s/app\n", run_dir, strrchr(arn, '/') + 1);
		CHECK(strstr(out, dir) != NULL); /* the default working directory */
	}
	free(out);
	json_decref(task);
	json_decref(def);
	json_decref(env);
	sched_process_driver_close(&d);
}

static void test_exit_event(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	const char *arn = task_arn(1);
	json_t *task = task_json(arn);
	json_t *def = def_json("echo bye >&2; exit 7");
	char reason[256] = "";
	int before = atomic_load(&notified);
	CHECK_INT(start(&d, task, def, NULL, reason), 0);
	struct sched_driver_status st;
	CHECK(wait_state(&d, arn, SCHED_DRIVER_STOPPED, &st));
	CHECK_INT(st.exit_code, 7);
	CHECK(!st.failed_to_start);
	CHECK_STR(st.reason, "Essential container in task exited");
	struct sched_driver_event ev[4];
	int n = d.events(d.handle, ev, 4);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_STR(ev[0].task_arn, arn);
		CHECK_INT(ev[0].status.state, SCHED_DRIVER_STOPPED);
		CHECK_INT(ev[0].status.exit_code, 7);
	}
	CHECK_INT(d.events(d.handle, ev, 4), 0);
	CHECK(wait_notified(before));
	char p[512];
	out_path(p, sizeof(p), arn, "app", "stderr");
	char *err = slurp(p);
	CHECK(err && strcmp(err, "bye\n") == 0);
	free(err);
	json_t *cs = NULL;
	CHECK_INT(d.containers(d.handle, arn, &cs, reason, sizeof(reason)), 0);
	json_t *app = json_object_get(cs, "app");
	CHECK_STR(json_string_value(json_object_get(app, "KnownStatus")), "STOPPED");
	CHECK_INT(json_integer_value(json_object_get(app, "ExitCode")), 7);
	CHECK(json_string_value(json_object_get(app, "StartedAt")) != NULL);
	json_decref(cs);
	/* An unknown task is UNKNOWN, and stopping it is not an error. */
	CHECK_INT(d.inspect(d.handle, "arn:aws:ecs:us-east-1:1:task/default/nope", &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_UNKNOWN);
	CHECK_INT(d.stop(d.handle, "arn:aws:ecs:us-east-1:1:task/default/nope", reason, 256), 0);
	json_decref(task);
	json_decref(def);
	sched_process_driver_close(&d);
}

static void test_stop_term_then_kill(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	/* One container ends on SIGTERM (143); one ignores it and is killed
	 * after its stopTimeout (137). */
	const char *a = task_arn(2), *b = task_arn(3);
	json_t *ta = task_json(a), *tb = task_json(b);
	json_t *da = def_json("echo up; while :; do sleep 0.05; done");
	json_t *db =
	    json_pack("{s:[{s:s, s:[s,s,s], s:i}]}", "containerDefinitions", "name", "app",
	              "command", "/bin/sh", "-c",
	              "trap '' TERM; echo up; while :; do sleep 0.05; done", "stopTimeout", 1);
	char reason[256] = "";
	CHECK_INT(start(&d, ta, da, NULL, reason), 0);
	CHECK_INT(start(&d, tb, db, NULL, reason), 0);
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, a, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_RUNNING);
	char p[512];
	out_path(p, sizeof(p), a, "app", "stdout");
	CHECK(wait_file(p));
	out_path(p, sizeof(p), b, "app", "stdout");
	CHECK(wait_file(p));
	CHECK_INT(d.stop(d.handle, a, reason, sizeof(reason)), 0);
	CHECK_INT(d.stop(d.handle, b, reason, sizeof(reason)), 0);
	CHECK(wait_state(&d, a, SCHED_DRIVER_STOPPED, &st));
	CHECK_INT(st.exit_code, 143);
	CHECK(wait_state(&d, b, SCHED_DRIVER_STOPPED, &st));
	CHECK_INT(st.exit_code, 137);
	json_decref(ta);
	json_decref(tb);
	json_decref(da);
	json_decref(db);
	sched_process_driver_close(&d);
}

static void test_essential_stops_others(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	const char *arn = task_arn(4);
	json_t *task = json_pack("{s:s}", "taskArn", arn);
	/* side ends first (not essential): the task keeps running; then main
	 * (essential) ends and the long-running "other" is stopped with it. */
	json_t *def = json_pack(
	    "{s:[{s:s, s:[s,s,s], s:b}, {s:s, s:[s,s,s], s:b}, {s:s, s:[s,s,s], s:b}]}",
	    "containerDefinitions", "name", "side", "command", "/bin/sh", "-c", "exit 3",
	    "essential", 0, "name", "main", "command", "/bin/sh", "-c",
	    "while [ ! -e go ]; do sleep 0.02; done; exit 5", "essential", 1, "name", "other",
	    "command", "/bin/sh", "-c", "while :; do sleep 0.05; done", "essential", 0);
	char reason[256] = "";
	CHECK_INT(start(&d, task, def, NULL, reason), 0);
	char p[512];
	out_path(p, sizeof(p), arn, "side", "exit");
	CHECK(wait_file(p));
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, arn, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_RUNNING);
	out_path(p, sizeof(p), arn, "main", "go");
	FILE *f = fopen(p, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	CHECK(wait_state(&d, arn, SCHED_DRIVER_STOPPED, &st));
	CHECK_INT(st.exit_code, 5);
	json_t *cs = NULL;
	CHECK_INT(d.containers(d.handle, arn, &cs, reason, sizeof(reason)), 0);
	CHECK_INT(json_integer_value(json_object_get(json_object_get(cs, "other"), "ExitCode")),
	          143);
	CHECK_INT(json_integer_value(json_object_get(json_object_get(cs, "side"), "ExitCode")), 3);
	json_decref(cs);
	json_decref(task);
	json_decref(def);
	sched_process_driver_close(&d);
}

static void test_limits(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	const char *arn = task_arn(5);
	json_t *task = task_json(arn);
	json_t *def =
	    json_pack("{s:[{s:s, s:[s,s,s], s:i, s:i}]}", "containerDefinitions", "name", "app",
	              "command", "/bin/sh", "-c", "ulimit -v; nice", "memory", 256, "cpu", 256);
	char reason[256] = "";
	CHECK_INT(start(&d, task, def, NULL, reason), 0);
	struct sched_driver_status st;
	CHECK(wait_state(&d, arn, SCHED_DRIVER_STOPPED, &st));
	char p[512];
	out_path(p, sizeof(p), arn, "app", "stdout");
	char *out = slurp(p);
	CHECK(out && strcmp(out, "262144\n6\n") == 0);
	if (out && strcmp(out, "262144\n6\n") != 0)
		printf("      got %s", out);
	free(out);
	CHECK_INT(pcspec_nice_for_cpu(0), 0);
	CHECK_INT(pcspec_nice_for_cpu(1024), 0);
	CHECK_INT(pcspec_nice_for_cpu(4096), 0);
	CHECK_INT(pcspec_nice_for_cpu(512), 3);
	CHECK_INT(pcspec_nice_for_cpu(128), 9);
	CHECK_INT(pcspec_nice_for_cpu(2), 19);
	json_decref(task);
	json_decref(def);
	sched_process_driver_close(&d);
}

static void test_start_failures(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	char reason[256] = "";
	struct sched_driver_status st;
	json_t *task = task_json(task_arn(6));
	json_t *def = json_pack("{s:[{s:s, s:s}]}", "containerDefinitions", "name", "app", "image",
	                        "busybox");
	CHECK_INT(start(&d, task, def, NULL, reason), -1);
	CHECK(strstr(reason, "has no entryPoint or command") != NULL);
	CHECK_INT(d.inspect(d.handle, task_arn(6), &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_UNKNOWN);
	json_decref(def);

	def = json_pack("{s:[{s:s, s:[s]}]}", "containerDefinitions", "name", "app", "entryPoint",
	                "no-such-program-anywhere");
	CHECK_INT(start(&d, task, def, NULL, reason), -1);
	CHECK(strstr(reason, "executable file not found in $PATH") != NULL);
	json_decref(def);

	/* Exec itself fails (not executable): reported by the supervisor. */
	def = json_pack("{s:[{s:s, s:[s]}]}", "containerDefinitions", "name", "app", "entryPoint",
	                "/etc/hostname");
	CHECK_INT(start(&d, task, def, NULL, reason), -1);
	CHECK(strstr(reason, "CannotStartContainerError") != NULL);
	json_decref(def);

	def = json_pack("{s:[{s:s, s:[s], s:s}]}", "containerDefinitions", "name", "app",
	                "entryPoint", "/bin/true", "workingDirectory", "/no/such/dir");
	json_t *t3 = task_json(task_arn(3));
	CHECK_INT(start(&d, t3, def, NULL, reason), -1);
	CHECK(strstr(reason, "chdir") != NULL);
	json_decref(t3);
	CHECK_INT(d.inspect(d.handle, task_arn(6), &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_STOPPED);
	CHECK(st.failed_to_start);
	json_decref(def);

	def = json_pack("{s:[{s:s, s:[s]}]}", "containerDefinitions", "name", "../x", "entryPoint",
	                "/bin/true");
	json_t *t2 = task_json(task_arn(7));
	CHECK_INT(start(&d, t2, def, NULL, reason), -1);
	CHECK(strstr(reason, "is not valid") != NULL);
	json_decref(def);
	json_decref(t2);

	json_t *bad = json_pack("{s:s}", "taskArn", "arn:aws:ecs:us-east-1:1:task/default/..");
	def = def_json("true");
	CHECK_INT(start(&d, bad, def, NULL, reason), -1);
	CHECK(strstr(reason, "taskArn") != NULL);
	json_decref(bad);
	json_decref(def);
	json_decref(task);
	sched_process_driver_close(&d);
}

static void test_restart_finds_tasks(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	const char *live = task_arn(0), *dies = task_arn(1);
	json_t *tl = task_json(live), *td = task_json(dies);
	json_t *dl = def_json("echo up; while :; do sleep 0.05; done");
	json_t *dd = def_json("echo up; while [ ! -e go ]; do sleep 0.02; done; exit 9");
	char reason[256] = "";
	CHECK_INT(start(&d, tl, dl, NULL, reason), 0);
	CHECK_INT(start(&d, td, dd, NULL, reason), 0);
	char p[512];
	out_path(p, sizeof(p), dies, "app", "stdout");
	CHECK(wait_file(p));
	sched_process_driver_close(&d);

	/* While no driver runs, one container ends: its supervisor records it. */
	out_path(p, sizeof(p), dies, "app", "go");
	FILE *f = fopen(p, "w");
	if (f)
		fclose(f);
	out_path(p, sizeof(p), dies, "app", "exit");
	CHECK(wait_file(p));

	d = open_driver();
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, live, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_RUNNING);
	CHECK_INT(d.inspect(d.handle, dies, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_STOPPED);
	CHECK_INT(st.exit_code, 9);
	/* Starting a task the host already runs does not start it twice. */
	CHECK_INT(start(&d, tl, dl, NULL, reason), 0);
	json_t *cs = NULL;
	CHECK_INT(d.containers(d.handle, live, &cs, reason, sizeof(reason)), 0);
	int pid = (int)json_integer_value(json_object_get(json_object_get(cs, "app"), "Pid"));
	CHECK(pid > 0 && kill(pid, 0) == 0);
	json_decref(cs);
	/* The reopened driver can stop what the earlier one started, and
	 * notices the end through the adopted supervisor. */
	int before = atomic_load(&notified);
	CHECK_INT(d.stop(d.handle, live, reason, sizeof(reason)), 0);
	CHECK(wait_state(&d, live, SCHED_DRIVER_STOPPED, &st));
	CHECK_INT(st.exit_code, 143);
	CHECK(wait_notified(before));
	CHECK(kill(pid, 0) < 0 && errno == ESRCH);
	/* Every supervisor this process forked was reaped, also those the
	 * first driver started and the second one adopted. */
	CHECK(wait_no_children());
	json_decref(tl);
	json_decref(td);
	json_decref(dl);
	json_decref(dd);
	sched_process_driver_close(&d);
}

static void test_restart_ignores_reused_pids(void)
{
	fresh_dir();
	/* A state file that names live processes (this test and its parent)
	 * with start times that are not theirs: pids that were reused. */
	const char *arn = task_arn(2);
	char dir[512], p[600];
	snprintf(dir, sizeof(dir), "%s/tasks", run_dir);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/tasks/%s", run_dir, strrchr(arn, '/') + 1);
	mkdir(dir, 0700);
	unsigned long long mine = 0;
	CHECK_INT(proc_start_time(getpid(), &mine), 0);
	json_t *state = json_pack("{s:s, s:b, s:b, s:[{s:s, s:b, s:i, s:i, s:I, s:i, s:I, s:I}]}",
	                          "taskArn", arn, "stopping", 0, "failed", 0, "containers", "name",
	                          "app", "essential", 1, "stopTimeout", 1, "shimPid",
	                          (int)getppid(), "shimStart", (json_int_t)1, "pid", (int)getpid(),
	                          "pidStart", (json_int_t)(mine + 1), "startedAt", (json_int_t)1);
	snprintf(p, sizeof(p), "%s/state.json", dir);
	CHECK_INT(json_dump_file(state, p, 0), 0);
	json_decref(state);
	struct sched_driver d = open_driver();
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, arn, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_STOPPED);
	CHECK_INT(st.exit_code, -1);
	CHECK(strstr(st.reason, "without an exit status") != NULL);
	/* Still alive, so nothing was signalled. */
	CHECK_INT(kill(getppid(), 0), 0);
	CHECK_INT(d.stop(d.handle, arn, st.reason, sizeof(st.reason)), 0);
	sched_process_driver_close(&d);
}

static void test_open_refuses_bad_run_dir(void)
{
	struct sched_process_opts o = {.run_dir = "relative/dir"};
	struct sched_driver d;
	char err[256] = "";
	CHECK_INT(sched_process_driver_open(&o, &d, err, sizeof(err)), -1);
	CHECK(strstr(err, "absolute") != NULL);
	o.run_dir = "/proc/self/no-such-place";
	CHECK_INT(sched_process_driver_open(&o, &d, err, sizeof(err)), -1);
	CHECK(strstr(err, "run folder") != NULL);
	CHECK_INT(sched_process_driver_open(NULL, &d, err, sizeof(err)), -1);
}

/* --- health checks ------------------------------------------------------------ */

/* One container running script, with a healthCheck (seconds). */
static json_t *def_health(const char *script, json_t *cmd, int interval, int timeout, int retries,
                          int start_period)
{
	return json_pack("{s:[{s:s, s:[s,s,s], s:b, s:[{s:s, s:s}], s:{s:o, s:i, s:i, s:i, "
	                 "s:i}}]}",
	                 "containerDefinitions", "name", "app", "command", "/bin/sh", "-c", script,
	                 "essential", 1, "environment", "name", "FOO", "value", "bar",
	                 "healthCheck", "command", cmd, "interval", interval, "timeout", timeout,
	                 "retries", retries, "startPeriod", start_period);
}

/* Waits for an event that says RUNNING with health (other events skipped). */
static bool wait_health_event(struct sched_driver *d, const char *arn,
                              enum sched_driver_health health, struct sched_driver_status *st)
{
	long long end = mono_ms() + 15000;
	while (mono_ms() < end) {
		struct sched_driver_event ev[8];
		int n = d->events(d->handle, ev, 8);
		for (int i = 0; i < n; i++)
			if (strcmp(ev[i].task_arn, arn) == 0 &&
			    ev[i].status.state == SCHED_DRIVER_RUNNING &&
			    ev[i].status.health == health) {
				*st = ev[i].status;
				return true;
			}
		nap();
	}
	return false;
}

static void test_health_healthy(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	const char *shell = task_arn(0), *cmd = task_arn(1);
	json_t *ts = task_json(shell), *tc = task_json(cmd);
	/* CMD-SHELL sees the container's environment; CMD's bare name is
	 * found on the container's PATH. */
	json_t *ds = def_health("while :; do sleep 1; done",
	                        json_pack("[s,s]", "CMD-SHELL", "[ \"$FOO\" = bar ] && echo fine"),
	                        1, 2, 3, 0);
	json_t *dc = def_health("while :; do sleep 1; done",
	                        json_pack("[s,s,s,s]", "CMD", "sh", "-c", "exit 0"), 1, 2, 3, 0);
	char reason[256] = "";
	int before = atomic_load(&notified);
	CHECK_INT(start(&d, ts, ds, NULL, reason), 0);
	CHECK_INT(start(&d, tc, dc, NULL, reason), 0);
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, shell, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_RUNNING);
	CHECK_INT(st.health, SCHED_HEALTH_UNKNOWN); /* no verdict before the first run */
	CHECK(wait_health_event(&d, shell, SCHED_HEALTH_HEALTHY, &st));
	CHECK_INT(st.n_health, 1);
	CHECK_INT(st.container_health[0], SCHED_HEALTH_HEALTHY);
	CHECK(wait_notified(before));
	CHECK(wait_health_event(&d, cmd, SCHED_HEALTH_HEALTHY, &st));
	CHECK_INT(d.inspect(d.handle, shell, &st), 0);
	CHECK_INT(st.health, SCHED_HEALTH_HEALTHY);
	/* The last check's output is kept beside the container's logs. */
	char p[512];
	out_path(p, sizeof(p), shell, "app", "health");
	char *out = slurp(p);
	CHECK(out && strcmp(out, "fine\n") == 0);
	free(out);
	CHECK_INT(d.stop(d.handle, shell, reason, sizeof(reason)), 0);
	CHECK_INT(d.stop(d.handle, cmd, reason, sizeof(reason)), 0);
	CHECK(wait_state(&d, shell, SCHED_DRIVER_STOPPED, &st));
	CHECK(wait_state(&d, cmd, SCHED_DRIVER_STOPPED, &st));
	sched_process_driver_close(&d);
	CHECK(wait_no_children());
	json_decref(ts);
	json_decref(tc);
	json_decref(ds);
	json_decref(dc);
}

static void test_health_unhealthy_after_retries(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	const char *arn = task_arn(0);
	json_t *t = task_json(arn);
	/* Fails from the start: unhealthy after the third failure in a row,
	 * that is about three intervals after the start. */
	json_t *def = def_health("while :; do sleep 1; done",
	                         json_pack("[s,s]", "CMD-SHELL", "echo probe; exit 1"), 1, 2, 3, 0);
	char reason[256] = "";
	long long t0 = mono_ms();
	CHECK_INT(start(&d, t, def, NULL, reason), 0);
	char p[512];
	out_path(p, sizeof(p), arn, "app", "health");
	CHECK(wait_file(p)); /* a first check ran and failed... */
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, arn, &st), 0);
	CHECK_INT(st.health, SCHED_HEALTH_UNKNOWN); /* ...which is not enough */
	CHECK(wait_health_event(&d, arn, SCHED_HEALTH_UNHEALTHY, &st));
	CHECK(mono_ms() - t0 >= 2500);
	CHECK_INT(st.container_health[0], SCHED_HEALTH_UNHEALTHY);
	CHECK_INT(d.inspect(d.handle, arn, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_RUNNING); /* the service replaces it, not the driver */
	CHECK_INT(st.health, SCHED_HEALTH_UNHEALTHY);
	CHECK_INT(d.stop(d.handle, arn, reason, sizeof(reason)), 0);
	CHECK(wait_state(&d, arn, SCHED_DRIVER_STOPPED, &st));
	sched_process_driver_close(&d);
	json_decref(t);
	json_decref(def);
}

static void test_health_timeout(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	const char *arn = task_arn(0);
	json_t *t = task_json(arn);
	char pidfile[512];
	out_path(pidfile, sizeof(pidfile), arn, "app", "probe-pid");
	char cmdline[700];
	snprintf(cmdline, sizeof(cmdline), "sleep 30 & echo $! > %s; wait", pidfile);
	json_t *def = def_health("while :; do sleep 1; done",
	                         json_pack("[s,s]", "CMD-SHELL", cmdline), 1, 2, 1, 0);
	char reason[256] = "";
	CHECK_INT(start(&d, t, def, NULL, reason), 0);
	CHECK(wait_file(pidfile));
	/* The scheduler's calls do not wait for a running check. */
	struct sched_driver_status st;
	long long t0 = mono_ms();
	CHECK_INT(d.inspect(d.handle, arn, &st), 0);
	CHECK(mono_ms() - t0 < 500);
	CHECK(wait_health_event(&d, arn, SCHED_HEALTH_UNHEALTHY, &st));
	/* The overrunning check's whole process group was killed. */
	char *pid_s = slurp(pidfile);
	int pid = pid_s ? atoi(pid_s) : 0;
	free(pid_s);
	CHECK(pid > 0);
	long long end = mono_ms() + 5000;
	while (pid > 0 && kill(pid, 0) == 0 && mono_ms() < end)
		nap();
	CHECK(pid > 0 && kill(pid, 0) < 0);
	CHECK_INT(d.stop(d.handle, arn, reason, sizeof(reason)), 0);
	CHECK(wait_state(&d, arn, SCHED_DRIVER_STOPPED, &st));
	sched_process_driver_close(&d);
	json_decref(t);
	json_decref(def);
}

static void test_health_start_period(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	const char *arn = task_arn(0);
	json_t *t = task_json(arn);
	/* retries 1: any failure that counts makes it unhealthy, so only the
	 * start period keeps it UNKNOWN. */
	json_t *def = def_health("while :; do sleep 1; done",
	                         json_pack("[s,s]", "CMD-SHELL", "echo probe; exit 1"), 1, 2, 1, 4);
	char reason[256] = "";
	long long t0 = mono_ms();
	CHECK_INT(start(&d, t, def, NULL, reason), 0);
	char p[512];
	out_path(p, sizeof(p), arn, "app", "health");
	CHECK(wait_file(p)); /* failed at least once, inside the start period */
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, arn, &st), 0);
	if (mono_ms() - t0 < 3500)
		CHECK_INT(st.health, SCHED_HEALTH_UNKNOWN);
	CHECK(wait_health_event(&d, arn, SCHED_HEALTH_UNHEALTHY, &st));
	CHECK(mono_ms() - t0 >= 3900);
	CHECK_INT(d.stop(d.handle, arn, reason, sizeof(reason)), 0);
	CHECK(wait_state(&d, arn, SCHED_DRIVER_STOPPED, &st));
	sched_process_driver_close(&d);
	json_decref(t);
	json_decref(def);
}

static void test_health_after_restart(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	const char *arn = task_arn(0);
	json_t *t = task_json(arn);
	/* FOO=bar: three letters, checked without naming the value. */
	json_t *def = def_health("while :; do sleep 1; done",
	                         json_pack("[s,s]", "CMD-SHELL", "[ ${#FOO} -eq 3 ]"), 1, 2, 3, 0);
	char reason[256] = "";
	CHECK_INT(start(&d, t, def, NULL, reason), 0);
	struct sched_driver_status st;
	CHECK(wait_health_event(&d, arn, SCHED_HEALTH_HEALTHY, &st));
	sched_process_driver_close(&d);
	/* The check's definition came back from state.json, its environment
	 * from the running container; nothing secret was written. */
	char p[512];
	snprintf(p, sizeof(p), "%s/tasks/%s/state.json", run_dir, strrchr(arn, '/') + 1);
	char *state = slurp(p);
	CHECK(state && strstr(state, "healthCheck") && !strstr(state, "bar"));
	free(state);
	d = open_driver();
	CHECK(wait_health_event(&d, arn, SCHED_HEALTH_HEALTHY, &st));
	CHECK_INT(d.stop(d.handle, arn, reason, sizeof(reason)), 0);
	CHECK(wait_state(&d, arn, SCHED_DRIVER_STOPPED, &st));
	sched_process_driver_close(&d);
	CHECK(wait_no_children());
	json_decref(t);
	json_decref(def);
}

static long long jint_at(const json_t *o, const char *a, const char *b, const char *c)
{
	const json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Burns CPU in the container until its stats show some, so that a second
 * sample has something to differ by. */
static void test_stats_from_proc(void)
{
	fresh_dir();
	struct sched_driver d = open_driver();
	CHECK(d.stats != NULL);
	const char *arn = task_arn(7);
	const char *tid = strrchr(arn, '/') + 1;
	json_t *task = json_pack("{s:s, s:[{s:s},{s:s}]}", "taskArn", arn, "containers", "name",
	                         "app", "name", "side");
	/* app: a shell with two children in its process group, one of them
	 * busy; side: no memory limit of its own */
	json_t *def =
	    json_pack("{s:[{s:s, s:[s,s,s], s:b, s:i}, {s:s, s:[s,s,s], s:b}]}",
	              "containerDefinitions", "name", "app", "command", "/bin/sh", "-c",
	              "sleep 60 & while :; do :; done & wait", "essential", 1, "memory", 256,
	              "name", "side", "command", "/bin/sh", "-c", "exec sleep 60", "essential", 0);
	char reason[256] = "";
	CHECK_INT(start(&d, task, def, NULL, reason), 0);
	char want_id[200], side_id[200];
	snprintf(want_id, sizeof(want_id), "%s-app", tid);
	snprintf(side_id, sizeof(side_id), "%s-side", tid);
	/* the shell forks its children just after exec */
	json_t *all = NULL;
	long long end = mono_ms() + 15000;
	while (mono_ms() < end) {
		json_decref(all);
		all = NULL;
		CHECK_INT(d.stats(d.handle, arn, &all, reason, sizeof(reason)), 0);
		if (jint_at(json_object_get(all, want_id), "pids_stats", "current", NULL) >= 3 &&
		    jint_at(json_object_get(all, want_id), "cpu_stats", "cpu_usage",
		            "total_usage") > 0)
			break;
		nap();
	}
	const json_t *a = json_object_get(all, want_id);
	CHECK(a != NULL);
	CHECK_STR(json_string_value(json_object_get(a, "id")), want_id);
	CHECK_STR(json_string_value(json_object_get(a, "name")), "/app");
	CHECK_INT(jint_at(a, "pids_stats", "current", NULL), 3);
	CHECK(jint_at(a, "cpu_stats", "cpu_usage", "total_usage") > 0);
	CHECK(jint_at(a, "cpu_stats", "system_cpu_usage", NULL) > 0);
	CHECK(jint_at(a, "cpu_stats", "online_cpus", NULL) >= 1);
	CHECK(jint_at(a, "memory_stats", "usage", NULL) > 0);
	CHECK_INT(jint_at(a, "memory_stats", "limit", NULL), 256LL * 1024 * 1024);
	const char *read1 = json_string_value(json_object_get(a, "read"));
	CHECK(read1 && strlen(read1) == 30 && read1[4] == '-' && read1[29] == 'Z');
	long long total1 = jint_at(a, "cpu_stats", "cpu_usage", "total_usage");
	long long sys1 = jint_at(a, "cpu_stats", "system_cpu_usage", NULL);
	/* side: one process, the host's memory as its limit */
	const json_t *b = json_object_get(all, side_id);
	CHECK_INT(jint_at(b, "pids_stats", "current", NULL), 1);
	CHECK_INT(jint_at(b, "memory_stats", "limit", NULL),
	          (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
	/* the ids are the DockerIds containers reports */
	json_t *cs = NULL;
	CHECK_INT(d.containers(d.handle, arn, &cs, reason, sizeof(reason)), 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(cs, "app"), "DockerId")),
	          want_id);
	CHECK_STR(json_string_value(json_object_get(json_object_get(cs, "side"), "DockerId")),
	          side_id);
	json_decref(cs);

	/* The second read hands the first back as precpu_stats; the first had
	 * none, as Docker's first read. */
	json_t *again = NULL;
	struct timespec t = {.tv_sec = 0, .tv_nsec = 200 * 1000000};
	nanosleep(&t, NULL);
	CHECK_INT(d.stats(d.handle, arn, &again, reason, sizeof(reason)), 0);
	const json_t *a2 = json_object_get(again, want_id);
	CHECK_STR(json_string_value(json_object_get(a2, "preread")), read1);
	CHECK_INT(jint_at(a2, "precpu_stats", "cpu_usage", "total_usage"), total1);
	CHECK_INT(jint_at(a2, "precpu_stats", "system_cpu_usage", NULL), sys1);
	CHECK(jint_at(a2, "cpu_stats", "cpu_usage", "total_usage") > total1);
	CHECK(jint_at(a2, "cpu_stats", "system_cpu_usage", NULL) > sys1);
	json_decref(again);
	json_decref(all);

	/* A fresh driver (a restarted gateway) starts over from a first read. */
	sched_process_driver_close(&d);
	d = open_driver();
	CHECK_INT(d.stats(d.handle, arn, &all, reason, sizeof(reason)), 0);
	a = json_object_get(all, want_id);
	CHECK_STR(json_string_value(json_object_get(a, "preread")), "0001-01-01T00:00:00Z");
	CHECK_INT(jint_at(a, "precpu_stats", "cpu_usage", "total_usage"), 0);
	CHECK(json_object_get(json_object_get(a, "precpu_stats"), "system_cpu_usage") == NULL);
	CHECK(json_object_get(json_object_get(a, "precpu_stats"), "online_cpus") == NULL);
	CHECK(json_object_get(a, "networks") == NULL);
	json_decref(all);

	/* Stopped containers have no stats; an unknown task is an error. */
	struct sched_driver_status st;
	CHECK_INT(d.stop(d.handle, arn, reason, sizeof(reason)), 0);
	CHECK(wait_state(&d, arn, SCHED_DRIVER_STOPPED, &st));
	CHECK_INT(d.stats(d.handle, arn, &all, reason, sizeof(reason)), 0);
	CHECK_INT(json_object_size(all), 0);
	json_decref(all);
	all = NULL;
	CHECK_INT(d.stats(d.handle, "arn:aws:ecs:us-east-1:1:task/default/nope", &all, reason,
	                  sizeof(reason)),
	          -1);
	CHECK(all == NULL);
	sched_process_driver_close(&d);
	CHECK(wait_no_children());
	json_decref(task);
	json_decref(def);
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char p[1100];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

/* /proc as files: a command name with spaces and parentheses, processes of
 * other groups, a zombie's times, an old kernel's short cpu line. */
static void test_stats_parse_proc_files(void)
{
	fresh_dir();
	char root[512];
	snprintf(root, sizeof(root), "%s/proc", run_dir);
	mkdir(root, 0700);
	static const char *const dirs[] = {"100", "101", "102", "103", "self", "abc"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char p[600];
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		mkdir(p, 0700);
	}
	/* pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime cutime cstime prio nice threads
	 * itreal starttime vsize rss */
	put_file(root, "100/stat",
	         "100 (sh) S 1 100 100 0 -1 0 0 0 0 0 10 5 3 2 20 0 1 0 999 1000 50\n");
	put_file(root, "101/stat",
	         "101 (a b) (c)) R 100 100 100 0 -1 0 0 0 0 0 7 1 0 0 20 0 4 0 1000 1000 30\n");
	put_file(root, "102/stat",
	         "102 (x) Z 101 100 100 0 -1 0 0 0 0 0 2 0 0 0 20 0 1 0 1001 0 0\n");
	put_file(root, "103/stat",
	         "103 (other) S 1 103 103 0 -1 0 0 0 0 0 99 99 0 0 20 0 1 0 1 1000 70\n");
	put_file(root, "stat", "cpu  100 1 50 800 10 2 3\ncpu0 1 1 1 1 1 1 1 1\n");
	put_file(root, "100/limits",
	         "Limit                     Soft Limit           Hard Limit           Units\n"
	         "Max address space         268435456            268435456            bytes\n");
	put_file(root, "103/limits",
	         "Limit                     Soft Limit           Hard Limit           Units\n"
	         "Max address space         unlimited            unlimited            bytes\n");
	struct pstats_group g[2] = {{.pgid = 100}, {.pgid = 555}};
	CHECK_INT(pstats_scan(root, g, 2), 0);
	CHECK_INT(g[0].procs, 3);
	CHECK_INT(g[0].threads, 6);
	CHECK_INT(g[0].user_ticks, 10 + 3 + 7 + 2);
	CHECK_INT(g[0].kernel_ticks, 5 + 2 + 1);
	CHECK_INT(g[0].rss_pages, 80);
	CHECK_INT(g[1].procs, 0);
	unsigned long long sys = 0, lim = 1;
	CHECK_INT(pstats_system_ticks(root, &sys), 0);
	CHECK_INT(sys, 100 + 1 + 50 + 800 + 10 + 2 + 3);
	CHECK_INT(pstats_as_limit(root, 100, &lim), 0);
	CHECK_INT(lim, 268435456);
	CHECK_INT(pstats_as_limit(root, 103, &lim), 0);
	CHECK_INT(lim, 0);
	CHECK_INT(pstats_as_limit(root, 104, &lim), -1);
	CHECK_INT(pstats_scan("/nonexistent-proc", g, 2), -1);

	struct pstats_sample now;
	long hz = sysconf(_SC_CLK_TCK);
	pstats_take(&g[0], sys, 1700000000123456789LL, &now);
	CHECK_INT(now.total_ns, 30ULL * (1000000000ULL / (unsigned long long)hz));
	json_t *doc = pstats_doc("t-app", "app", &g[0], &now, NULL, 0);
	CHECK_STR(json_string_value(json_object_get(doc, "read")),
	          "2023-11-14T22:13:20.123456789Z");
	CHECK_STR(json_string_value(json_object_get(doc, "preread")), "0001-01-01T00:00:00Z");
	CHECK_INT(jint_at(doc, "memory_stats", "usage", NULL), 80LL * sysconf(_SC_PAGESIZE));
	CHECK(json_object_get(json_object_get(doc, "memory_stats"), "limit") == NULL);
	json_decref(doc);
}

int main(int argc, char **argv)
{
	setenv("TASKGATE_TEST_SECRET", "x", 1);
	static const struct check_case cases[] = {
	    {"a container gets the definition's, the override's, its host ports and the task "
	     "environment, the task's winning",
	     test_env_layers},
	    {"an essential container's exit stops the task with its exit code, an event and a "
	     "notification",
	     test_exit_event},
	    {"stop sends SIGTERM, then SIGKILL after the container's stopTimeout",
	     test_stop_term_then_kill},
	    {"a non-essential container's exit keeps the task; an essential one's stops the others",
	     test_essential_stops_others},
	    {"memory becomes RLIMIT_AS and cpu units a nice value", test_limits},
	    {"a container that cannot start fails the task with a clear reason",
	     test_start_failures},
	    {"a reopened driver finds running tasks and exits that happened while it was closed",
	     test_restart_finds_tasks},
	    {"a reopened driver does not trust pids whose start time differs",
	     test_restart_ignores_reused_pids},
	    {"open refuses a relative or unusable run folder", test_open_refuses_bad_run_dir},
	    {"a passing health check (CMD-SHELL with the container's environment, or CMD on its "
	     "PATH) makes the task HEALTHY with an event",
	     test_health_healthy},
	    {"a failing health check makes the task UNHEALTHY only after retries failures in a "
	     "row",
	     test_health_unhealthy_after_retries},
	    {"a health check that overruns its timeout is a failure and its process group is "
	     "killed, without holding up inspect",
	     test_health_timeout},
	    {"failures during startPeriod do not count", test_health_start_period},
	    {"a reopened driver runs the checks again with the container's environment, which "
	     "is never written to the run folder",
	     test_health_after_restart},
	    {"stats read a running container's process group from /proc in Docker's shape, keyed "
	     "by the DockerId containers reports, the previous read as precpu_stats",
	     test_stats_from_proc},
	    {"stats parse /proc's stat, limits and cpu lines, counting only the container's group",
	     test_stats_parse_proc_files},
	};
	int rc = check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
	if (run_dir[0])
		nftw(run_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
