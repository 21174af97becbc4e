/*
 * test_sched_driver_docker.c - the docker driver.
 *
 * Always: how a container definition becomes an Engine API create body
 * (labels, environment precedence, limits, ports, network modes), and that
 * open refuses an address where no engine answers.
 *
 * With TASKGATE_TEST_DOCKER_SOCK (a dockerd's socket) and
 * TASKGATE_TEST_DOCKER_IMAGE (a local image with /bin/sh), as
 * tests/integration/test_docker.sh runs it: real containers, host
 * networking, their exits noticed through the event stream, stop, a
 * reopened driver finding its tasks by label, metadata and stats, health
 * checks, and starts that run in the background (a pull that fails, a stop
 * that cancels a start).
 */
#include "scheduler/docker_http.h"
#include "scheduler/docker_int.h"
#include "scheduler/driver.h"
#include "tests/unit/check.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *sock, *image;
static atomic_int notified;

static void on_event(void *ctx)
{
	(void)ctx;
	atomic_fetch_add(&notified, 1);
}

static json_t *env_of(const json_t *body)
{
	json_t *o = json_object();
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(body, "Env"), i, e)
	{
		const char *s = json_string_value(e);
		const char *eq = strchr(s, '=');
		char k[128];
		snprintf(k, sizeof(k), "%.*s", (int)(eq - s), s);
		json_object_set_new(o, k, json_string(eq + 1));
	}
	return o;
}

static void test_create_body(void)
{
	json_t *task = json_pack(
	    "{s:s, s:s, s:[{s:s, s:[{s:i, s:i, s:s}]}], s:{s:[{s:s, s:[s], s:[{s:s, s:s}], s:i}]}}",
	    "taskArn", "arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef",
	    "clusterArn", "arn:aws:ecs:us-east-1:123456789012:cluster/prod", "containers", "name",
	    "web", "networkBindings", "containerPort", 80, "hostPort", 49153, "protocol", "tcp",
	    "overrides", "containerOverrides", "name", "web", "command", "serve", "environment",
	    "name", "MODE", "value", "override", "memory", 256);
	json_t *def =
	    json_pack("{s:s, s:i, s:[{s:s, s:s, s:[s], s:[s,s], s:[{s:s,s:s},{s:s,s:s}], "
	              "s:i, s:i, s:i, s:b, s:s, s:s, s:i}, {s:s, s:s, s:b}]}",
	              "family", "shop", "revision", 3, "containerDefinitions", "name", "web",
	              "image", "nginx:1.25", "entryPoint", "/entry", "command", "a", "b",
	              "environment", "name", "MODE", "value", "def", "name", "AWS_REGION", "value",
	              "eu-west-1", "memory", 512, "memoryReservation", 128, "cpu", 0,
	              "readonlyRootFilesystem", 1, "workingDirectory", "/srv", "user", "1000:1000",
	              "stopTimeout", 7, "name", "log", "image", "busybox", "essential", 0);
	json_t *env = json_pack("{s:s, s:{s:s, s:s}}", "AWS_REGION", "us-east-1",
	                        "ECS_CONTAINER_METADATA_URI_V4", "web", "http://x/v4/w", "log",
	                        "http://x/v4/l");
	struct dk_create_opts o = {
	    .bind_ip = "127.0.0.1", .network_mode = "bridge", .stop_timeout = 30};
	struct dk_create *v = NULL;
	size_t n = 0;
	char reason[256] = "";
	CHECK_INT(dk_create_build(task, def, env, &o, &v, &n, reason, sizeof(reason)), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		const json_t *b = v[0].body;
		CHECK_STR(v[0].docker_name, "ecs-shop-3-web-0123456789abcdef");
		CHECK_STR(json_string_value(json_object_get(b, "Image")), "nginx:1.25");
		CHECK_STR(json_string_value(json_array_get(json_object_get(b, "Entrypoint"), 0)),
		          "/entry");
		/* The override's command replaces the definition's. */
		CHECK_INT(json_array_size(json_object_get(b, "Cmd")), 1);
		CHECK_STR(json_string_value(json_array_get(json_object_get(b, "Cmd"), 0)), "serve");
		json_t *e = env_of(b);
		CHECK_STR(json_string_value(json_object_get(e, "MODE")), "override");
		CHECK_STR(json_string_value(json_object_get(e, "AWS_REGION")), "us-east-1");
		CHECK_STR(json_string_value(json_object_get(e, "ECS_CONTAINER_METADATA_URI_V4")),
		          "http://x/v4/w");
		json_decref(e);
		const json_t *l = json_object_get(b, "Labels");
		CHECK_STR(json_string_value(json_object_get(l, DK_LABEL_TASK)),
		          "arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef");
		CHECK_STR(json_string_value(json_object_get(l, DK_LABEL_CONTAINER)), "web");
		CHECK_STR(json_string_value(json_object_get(l, DK_LABEL_FAMILY)), "shop");
		CHECK_STR(json_string_value(json_object_get(l, DK_LABEL_VERSION)), "3");
		CHECK_STR(json_string_value(json_object_get(l, DK_LABEL_CLUSTER)),
		          "arn:aws:ecs:us-east-1:123456789012:cluster/prod");
		CHECK_STR(json_string_value(json_object_get(l, DK_LABEL_ESSENTIAL)), "true");
		CHECK_STR(json_string_value(json_object_get(b, "WorkingDir")), "/srv");
		CHECK_STR(json_string_value(json_object_get(b, "User")), "1000:1000");
		CHECK_INT(json_integer_value(json_object_get(b, "StopTimeout")), 7);
		const json_t *hc = json_object_get(b, "HostConfig");
		CHECK_STR(json_string_value(json_object_get(hc, "NetworkMode")), "bridge");
		CHECK_INT(json_integer_value(json_object_get(hc, "Memory")), 256LL << 20);
		CHECK_INT(json_integer_value(json_object_get(hc, "MemoryReservation")),
		          128LL << 20);
		CHECK_INT(json_integer_value(json_object_get(hc, "CpuShares")), 2);
		CHECK(json_is_true(json_object_get(hc, "ReadonlyRootfs")));
		CHECK(json_object_get(hc, "Privileged") == NULL);
		const json_t *pb = json_object_get(json_object_get(hc, "PortBindings"), "80/tcp");
		CHECK_STR(json_string_value(json_object_get(json_array_get(pb, 0), "HostIp")),
		          "127.0.0.1");
		CHECK_STR(json_string_value(json_object_get(json_array_get(pb, 0), "HostPort")),
		          "49153");
		CHECK(json_object_get(json_object_get(b, "ExposedPorts"), "80/tcp") != NULL);
		CHECK(!v[1].essential);
		CHECK_INT(v[1].stop_timeout, 30);
		json_t *e2 = env_of(v[1].body);
		CHECK_STR(json_string_value(json_object_get(e2, "ECS_CONTAINER_METADATA_URI_V4")),
		          "http://x/v4/l");
		json_decref(e2);
	}
	dk_create_free(v, n);

	/* A healthCheck becomes Healthcheck in nanoseconds, as the agent passes
	 * it; a container without one has none (and no health label). */
	json_object_set_new(json_array_get(json_object_get(def, "containerDefinitions"), 0),
	                    "healthCheck",
	                    json_pack("{s:[s,s], s:i, s:i, s:i, s:i}", "command", "CMD-SHELL",
	                              "curl -f http://localhost/ || exit 1", "interval", 10,
	                              "timeout", 3, "retries", 4, "startPeriod", 20));
	CHECK_INT(dk_create_build(task, def, env, &o, &v, &n, reason, sizeof(reason)), 0);
	if (n == 2) {
		const json_t *h = json_object_get(v[0].body, "Healthcheck");
		CHECK_STR(json_string_value(json_array_get(json_object_get(h, "Test"), 0)),
		          "CMD-SHELL");
		CHECK_STR(json_string_value(json_array_get(json_object_get(h, "Test"), 1)),
		          "curl -f http://localhost/ || exit 1");
		CHECK_INT(json_integer_value(json_object_get(h, "Interval")), 10000000000LL);
		CHECK_INT(json_integer_value(json_object_get(h, "Timeout")), 3000000000LL);
		CHECK_INT(json_integer_value(json_object_get(h, "Retries")), 4);
		CHECK_INT(json_integer_value(json_object_get(h, "StartPeriod")), 20000000000LL);
		CHECK(v[0].has_check);
		CHECK_STR(json_string_value(json_object_get(json_object_get(v[0].body, "Labels"),
		                                            DK_LABEL_HEALTH)),
		          "true");
		CHECK(json_object_get(v[1].body, "Healthcheck") == NULL);
		CHECK(!v[1].has_check);
	}
	dk_create_free(v, n);
	/* NONE turns the image's own HEALTHCHECK off and is no check. */
	json_object_set_new(json_array_get(json_object_get(def, "containerDefinitions"), 0),
	                    "healthCheck", json_pack("{s:[s]}", "command", "NONE"));
	CHECK_INT(dk_create_build(task, def, env, &o, &v, &n, reason, sizeof(reason)), 0);
	if (n == 2) {
		CHECK_STR(
		    json_string_value(json_array_get(
		        json_object_get(json_object_get(v[0].body, "Healthcheck"), "Test"), 0)),
		    "NONE");
		CHECK(!v[0].has_check);
	}
	dk_create_free(v, n);

	/* Host networking publishes nothing; awsvpc is refused. */
	json_object_set_new(def, "networkMode", json_string("host"));
	CHECK_INT(dk_create_build(task, def, env, &o, &v, &n, reason, sizeof(reason)), 0);
	if (n)
		CHECK(json_object_get(json_object_get(v[0].body, "HostConfig"), "PortBindings") ==
		      NULL);
	dk_create_free(v, n);
	json_object_set_new(def, "networkMode", json_string("awsvpc"));
	CHECK_INT(dk_create_build(task, def, env, &o, &v, &n, reason, sizeof(reason)), -1);
	CHECK(strstr(reason, "awsvpc is not supported") != NULL);
	json_object_del(def, "networkMode");
	json_object_del(json_array_get(json_object_get(def, "containerDefinitions"), 1), "image");
	CHECK_INT(dk_create_build(task, def, env, &o, &v, &n, reason, sizeof(reason)), -1);
	CHECK(strstr(reason, "container log has no image") != NULL);
	json_decref(task);
	json_decref(def);
	json_decref(env);
}

static void test_image_ref(void)
{
	char *f, *t;
	CHECK_INT(dk_image_ref("busybox", &f, &t), 0);
	CHECK_STR(f, "busybox");
	CHECK_STR(t, "latest");
	free(f), free(t);
	CHECK_INT(dk_image_ref("localhost:5000/team/app:1.2", &f, &t), 0);
	CHECK_STR(f, "localhost:5000/team/app");
	CHECK_STR(t, "1.2");
	free(f), free(t);
	CHECK_INT(dk_image_ref("localhost:5000/app", &f, &t), 0);
	CHECK_STR(f, "localhost:5000/app");
	CHECK_STR(t, "latest");
	free(f), free(t);
	CHECK_INT(dk_image_ref("app@sha256:abcd", &f, &t), 0);
	CHECK_STR(f, "app@sha256:abcd");
	CHECK_STR(t, "");
	free(f), free(t);
}

static void test_open_without_engine(void)
{
	struct sched_docker_opts o = {.socket_path = "/tmp/tg-no-engine-here.sock",
	                              .timeout_ms = 500};
	struct sched_driver d;
	char err[256] = "";
	CHECK_INT(sched_docker_driver_open(&o, &d, err, sizeof(err)), -1);
	CHECK(strstr(err, "cannot connect") != NULL);
	o.socket_path = NULL;
	o.tcp_address = "127.0.0.1:1";
	CHECK_INT(sched_docker_driver_open(&o, &d, err, sizeof(err)), -1);
	CHECK(strstr(err, "CA") != NULL);
	o.tcp_address = "no-port";
	CHECK_INT(sched_docker_driver_open(&o, &d, err, sizeof(err)), -1);
	CHECK(strstr(err, "host:port") != NULL);
	/* only a docker driver has an engine version */
	CHECK(sched_docker_driver_engine_version(&d) == NULL);
	struct sched_fake *fk = sched_fake_new();
	struct sched_driver fd = sched_fake_driver(fk);
	CHECK(sched_docker_driver_engine_version(&fd) == NULL);
	sched_fake_free(fk);
}

/* --- against a real engine --------------------------------------------------- */

static struct sched_driver open_engine(void)
{
	struct sched_docker_opts o = {
	    .socket_path = sock, .network_mode = "host", .stop_timeout = 2, .notify = on_event};
	struct sched_driver d;
	char err[256] = "";
	if (sched_docker_driver_open(&o, &d, err, sizeof(err)) != 0) {
		printf("    open: %s\n", err);
		memset(&d, 0, sizeof(d));
	}
	return d;
}

static char arns[16][128];
static const char *arn_of(int i)
{
	snprintf(arns[i], sizeof(arns[i]),
	         "arn:aws:ecs:us-east-1:123456789012:task/default/%08x%04d",
	         (unsigned)getpid() ^ (unsigned)time(NULL), i);
	return arns[i];
}

static json_t *task_of(const char *arn)
{
	return json_pack("{s:s, s:s}", "taskArn", arn, "clusterArn",
	                 "arn:aws:ecs:us-east-1:123456789012:cluster/default");
}

static json_t *def_of(const char *script, int stop_timeout)
{
	return json_pack("{s:s, s:i, s:[{s:s, s:s, s:[s,s,s], s:[{s:s, s:s}], s:i}]}", "family",
	                 "drvtest", "revision", 1, "containerDefinitions", "name", "app", "image",
	                 image, "command", "/bin/sh", "-c", script, "environment", "name", "FOO",
	                 "value", "bar", "stopTimeout", stop_timeout);
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Events read while waiting for another task's, kept for the next wait. */
static struct sched_driver_event backlog[64];
static size_t n_backlog;

static bool event_wanted(const struct sched_driver_event *e, const char *arn, int health)
{
	if (strcmp(e->task_arn, arn) != 0)
		return false;
	return health < 0
	           ? e->status.state == SCHED_DRIVER_STOPPED
	           : e->status.state == SCHED_DRIVER_RUNNING && (int)e->status.health == health;
}

/* Waits for the driver's event for arn that says STOPPED, or RUNNING with
 * the given health when health >= 0 (not inspect: the event stream is what
 * must notice a death or a verdict by itself). Earlier events of arn are
 * skipped; later ones and other tasks' are kept for their own wait. */
static bool wait_event_for(struct sched_driver *d, const char *arn, int health,
                           struct sched_driver_status *st)
{
	long long end = mono_ms() + 30000;
	for (;;) {
		size_t w = 0;
		bool found = false;
		for (size_t i = 0; i < n_backlog; i++) {
			if (!found && event_wanted(&backlog[i], arn, health)) {
				*st = backlog[i].status;
				found = true;
			} else if (found || strcmp(backlog[i].task_arn, arn) != 0) {
				backlog[w++] = backlog[i];
			}
		}
		n_backlog = w;
		if (found)
			return true;
		if (mono_ms() >= end)
			return false;
		struct sched_driver_event ev[8];
		int n = d->events(d->handle, ev, 8);
		for (int i = 0; i < n; i++)
			if (n_backlog < sizeof(backlog) / sizeof(backlog[0]))
				backlog[n_backlog++] = ev[i];
		if (n <= 0) {
			struct timespec t = {0, 20 * 1000000};
			nanosleep(&t, NULL);
		}
	}
}

static bool wait_event(struct sched_driver *d, const char *arn, struct sched_driver_status *st)
{
	return wait_event_for(d, arn, -1, st);
}

/* Starts run in the background: waits until inspect says state. */
static bool wait_state(struct sched_driver *d, const char *arn, enum sched_driver_state state,
                       struct sched_driver_status *st)
{
	long long end = mono_ms() + 30000;
	while (mono_ms() < end) {
		if (d->inspect(d->handle, arn, st) == 0 && st->state == state)
			return true;
		struct timespec t = {0, 20 * 1000000};
		nanosleep(&t, NULL);
	}
	return false;
}

/* How many containers the engine holds for the task (-1: no answer). */
static int engine_count(const char *arn)
{
	struct dhttp_target t = {.unix_path = sock, .timeout_ms = 10000};
	char f[512], path[1024], err[256];
	snprintf(f, sizeof(f), "{\"label\":[\"%s=%s\"]}", DK_LABEL_TASK, arn);
	char *q = dhttp_query_escape(f);
	snprintf(path, sizeof(path), "/v1.41/containers/json?all=1&filters=%s", q ? q : "");
	free(q);
	int status;
	json_t *j = NULL;
	if (dhttp_request_json(&t, "GET", path, NULL, &status, &j, err, sizeof(err)) < 0 ||
	    status != 200) {
		json_decref(j);
		return -1;
	}
	int n = (int)json_array_size(j);
	json_decref(j);
	return n;
}

/* Told after the driver's lock is released: may come just after the event. */
static bool wait_notified(int before)
{
	long long end = mono_ms() + 30000;
	while (mono_ms() < end) {
		if (atomic_load(&notified) > before)
			return true;
		struct timespec t = {0, 10 * 1000000};
		nanosleep(&t, NULL);
	}
	return false;
}

static void test_engine_exit_event(void)
{
	struct sched_driver d = open_engine();
	CHECK(d.handle != NULL);
	if (!d.handle)
		return;
	const char *arn = arn_of(0);
	json_t *task = task_of(arn);
	json_t *def = def_of("[ \"$FOO\" = bar ] && [ \"$AWS_REGION\" = us-east-1 ] && exit 3; "
	                     "exit 1",
	                     2);
	json_t *env = json_pack("{s:s}", "AWS_REGION", "us-east-1");
	char reason[256] = "";
	int before = atomic_load(&notified);
	CHECK_INT(d.start(d.handle, task, def, env, reason, sizeof(reason)), 0);
	if (reason[0])
		printf("    reason: %s\n", reason);
	struct sched_driver_status st;
	CHECK(wait_event(&d, arn, &st));
	CHECK_INT(st.state, SCHED_DRIVER_STOPPED);
	CHECK_INT(st.exit_code, 3); /* 3: the environment was as given */
	CHECK_STR(st.reason, "Essential container in task exited");
	CHECK(wait_notified(before));
	CHECK_INT(d.inspect(d.handle, arn, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_STOPPED);
	json_t *cs = NULL;
	CHECK_INT(d.containers(d.handle, arn, &cs, reason, sizeof(reason)), 0);
	json_t *app = json_object_get(cs, "app");
	CHECK(json_string_length(json_object_get(app, "DockerId")) == 64);
	CHECK(strncmp(json_string_value(json_object_get(app, "DockerName")), "ecs-drvtest-1-app-",
	              18) == 0);
	CHECK_INT(json_integer_value(json_object_get(app, "ExitCode")), 3);
	CHECK_STR(json_string_value(json_object_get(app, "KnownStatus")), "STOPPED");
	CHECK_STR(json_string_value(json_object_get(json_object_get(app, "Labels"),
	                                            "com.amazonaws.ecs.task-arn")),
	          arn);
	json_decref(cs);
	/* A second start of the same task does not run it again. */
	CHECK_INT(d.start(d.handle, task, def, env, reason, sizeof(reason)), -1);
	CHECK(strstr(reason, "already ran") != NULL);
	json_decref(task);
	json_decref(def);
	json_decref(env);
	sched_docker_driver_close(&d);
}

static void test_engine_stop_and_restart(void)
{
	struct sched_driver d = open_engine();
	CHECK(d.handle != NULL);
	if (!d.handle)
		return;
	/* PID 1 in a container ignores SIGTERM unless it handles it: stop must
	 * fall back to SIGKILL after the stop timeout (137). */
	const char *a = arn_of(1), *b = arn_of(2);
	json_t *ta = task_of(a), *tb = task_of(b);
	json_t *da = def_of("while :; do sleep 1; done", 1);
	json_t *db = def_of("trap 'exit 0' TERM; while :; do sleep 0.1; done", 5);
	json_t *env = json_object();
	char reason[256] = "";
	CHECK_INT(d.start(d.handle, ta, da, env, reason, sizeof(reason)), 0);
	CHECK_INT(d.start(d.handle, tb, db, env, reason, sizeof(reason)), 0);
	struct sched_driver_status st;
	CHECK(wait_state(&d, a, SCHED_DRIVER_RUNNING, &st));
	CHECK(wait_state(&d, b, SCHED_DRIVER_RUNNING, &st));
	CHECK_INT(st.health, SCHED_HEALTH_UNKNOWN); /* no health check */
	CHECK_INT(d.stop(d.handle, a, reason, sizeof(reason)), 0);
	CHECK(wait_event(&d, a, &st));
	CHECK_INT(st.exit_code, 137);

	/* The gateway restarts: a new driver finds b by its labels, and its
	 * event stream notices b's end. */
	sched_docker_driver_close(&d);
	d = open_engine();
	CHECK(d.handle != NULL);
	if (!d.handle)
		goto out;
	CHECK_INT(d.inspect(d.handle, b, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_RUNNING);
	/* the engine's version, for the local instance's dockerVersion */
	const char *ver = sched_docker_driver_engine_version(&d);
	CHECK(ver && ver[0] >= '1' && ver[0] <= '9' && strchr(ver, '.'));
	CHECK_INT(d.inspect(d.handle, a, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_STOPPED);
	CHECK_INT(st.exit_code, 137);
	json_t *stats = NULL;
	CHECK_INT(d.stats(d.handle, b, &stats, reason, sizeof(reason)), 0);
	const char *k;
	json_t *v;
	int n = 0;
	json_t *cs = NULL;
	CHECK_INT(d.containers(d.handle, b, &cs, reason, sizeof(reason)), 0);
	const char *did =
	    json_string_value(json_object_get(json_object_get(cs, "app"), "DockerId"));
	json_object_foreach(stats, k, v)
	{
		n++;
		CHECK(json_object_get(v, "memory_stats") != NULL);
		CHECK(json_object_get(v, "cpu_stats") != NULL);
		/* keyed by the DockerId that containers reports */
		CHECK(did && strcmp(k, did) == 0);
	}
	CHECK_INT(n, 1);
	json_decref(cs);
	json_decref(stats);
	CHECK_INT(d.stop(d.handle, b, reason, sizeof(reason)), 0);
	CHECK(wait_event(&d, b, &st));
	CHECK_INT(st.exit_code, 0);
	CHECK_INT(d.inspect(d.handle, arn_of(7), &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_UNKNOWN);
	sched_docker_driver_close(&d);
out:
	json_decref(ta);
	json_decref(tb);
	json_decref(da);
	json_decref(db);
	json_decref(env);
}

static void test_engine_start_failures(void)
{
	struct sched_driver d = open_engine();
	CHECK(d.handle != NULL);
	if (!d.handle)
		return;
	/* No registry answers here: the pull fails, in the background. */
	const char *arn = arn_of(3);
	json_t *task = task_of(arn);
	json_t *def = json_pack("{s:s, s:i, s:[{s:s, s:s}]}", "family", "drvtest", "revision", 1,
	                        "containerDefinitions", "name", "app", "image",
	                        "127.0.0.1:1/taskgate/none:1");
	json_t *env = json_object();
	char reason[256] = "";
	int before = atomic_load(&notified);
	long long t0 = mono_ms();
	CHECK_INT(d.start(d.handle, task, def, env, reason, sizeof(reason)), 0);
	CHECK(mono_ms() - t0 < 2000);
	struct sched_driver_status st;
	CHECK(wait_event(&d, arn, &st));
	CHECK_INT(st.state, SCHED_DRIVER_STOPPED);
	CHECK(st.failed_to_start);
	CHECK(strstr(st.reason, "CannotPullContainerError") != NULL);
	CHECK(wait_notified(before));
	CHECK_INT(d.inspect(d.handle, arn, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_STOPPED);
	CHECK(st.failed_to_start);
	CHECK(strstr(st.reason, "CannotPullContainerError") != NULL);
	json_decref(def);
	json_decref(task);
	/* An executable the image does not have: created, then fails to
	 * start; nothing is left behind. */
	const char *arn2 = arn_of(12);
	task = task_of(arn2);
	def = json_pack("{s:s, s:i, s:[{s:s, s:s, s:[s]}]}", "family", "drvtest", "revision", 1,
	                "containerDefinitions", "name", "app", "image", image, "entryPoint",
	                "/no/such/program");
	CHECK_INT(d.start(d.handle, task, def, env, reason, sizeof(reason)), 0);
	CHECK(wait_event(&d, arn2, &st));
	CHECK(st.failed_to_start);
	CHECK(strstr(st.reason, "CannotStartContainerError") != NULL);
	CHECK_INT(engine_count(arn2), 0);
	/* A task that failed to start does not start again. */
	CHECK_INT(d.start(d.handle, task, def, env, reason, sizeof(reason)), -1);
	CHECK(strstr(reason, "already ran") != NULL);
	json_decref(task);
	json_decref(def);
	json_decref(env);
	sched_docker_driver_close(&d);
}

/* A registry that accepts connections and never answers: the pull hangs
 * until the start is cancelled. */
static int hanging_registry(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &n) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void test_engine_stop_cancels_start(void)
{
	int port = 0;
	int lfd = hanging_registry(&port);
	CHECK(lfd >= 0);
	if (lfd < 0)
		return;
	struct sched_driver d = open_engine();
	CHECK(d.handle != NULL);
	if (!d.handle) {
		close(lfd);
		return;
	}
	char img[128];
	snprintf(img, sizeof(img), "127.0.0.1:%d/taskgate/slow:1", port);
	const char *arn = arn_of(10);
	json_t *task = task_of(arn);
	json_t *def = json_pack("{s:s, s:i, s:[{s:s, s:s}]}", "family", "drvtest", "revision", 1,
	                        "containerDefinitions", "name", "app", "image", img);
	json_t *env = json_object();
	char reason[256] = "";
	long long t0 = mono_ms();
	CHECK_INT(d.start(d.handle, task, def, env, reason, sizeof(reason)), 0);
	CHECK(mono_ms() - t0 < 2000);
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, arn, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_PENDING);
	/* The driver's other calls are not held up by the pull. */
	struct timespec pause = {0, 300 * 1000000};
	nanosleep(&pause, NULL);
	t0 = mono_ms();
	CHECK_INT(d.inspect(d.handle, arn, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_PENDING);
	CHECK_INT(d.inspect(d.handle, arn_of(11), &st), 0);
	CHECK(mono_ms() - t0 < 2000);
	t0 = mono_ms();
	CHECK_INT(d.stop(d.handle, arn, reason, sizeof(reason)), 0);
	CHECK(wait_event(&d, arn, &st));
	CHECK(mono_ms() - t0 < 5000);
	CHECK_INT(st.state, SCHED_DRIVER_STOPPED);
	CHECK(!st.failed_to_start);
	CHECK_STR(st.reason, "Task stopped on request");
	CHECK_INT(engine_count(arn), 0);
	/* close cancels a start in progress too, and waits for it. */
	const char *arn2 = arn_of(11);
	json_t *task2 = task_of(arn2);
	CHECK_INT(d.start(d.handle, task2, def, env, reason, sizeof(reason)), 0);
	t0 = mono_ms();
	sched_docker_driver_close(&d);
	CHECK(mono_ms() - t0 < 5000);
	CHECK_INT(engine_count(arn2), 0);
	close(lfd);
	json_decref(task);
	json_decref(task2);
	json_decref(def);
	json_decref(env);
}

/* A gateway killed between creating a task's containers and starting them
 * leaves one in the engine's "created" state: the next driver removes the
 * task's containers and reports it failed to start. */
static void test_engine_interrupted_start(void)
{
	const char *arn = arn_of(13);
	struct dhttp_target t = {.unix_path = sock, .timeout_ms = 10000};
	json_t *body =
	    json_pack("{s:s, s:[s,s,s], s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s}}", "Image", image,
	              "Cmd", "/bin/sh", "-c", "sleep 60", "Labels", DK_LABEL_TASK, arn,
	              DK_LABEL_CONTAINER, "app", DK_LABEL_MANAGED, "true", DK_LABEL_ESSENTIAL,
	              "true", DK_LABEL_INDEX, "0", "HostConfig", "NetworkMode", "host");
	int status = 0;
	json_t *r = NULL;
	char err[256] = "";
	CHECK_INT(dhttp_request_json(&t, "POST", "/v1.41/containers/create", body, &status, &r, err,
	                             sizeof(err)),
	          0);
	CHECK_INT(status, 201);
	json_decref(r);
	json_decref(body);
	CHECK_INT(engine_count(arn), 1);
	struct sched_driver d = open_engine();
	CHECK(d.handle != NULL);
	if (!d.handle)
		return;
	struct sched_driver_status st;
	CHECK_INT(d.inspect(d.handle, arn, &st), 0);
	CHECK_INT(st.state, SCHED_DRIVER_STOPPED);
	CHECK(st.failed_to_start);
	CHECK(strstr(st.reason, "while the task was starting") != NULL);
	CHECK_INT(engine_count(arn), 0);
	sched_docker_driver_close(&d);
}

static json_t *def_health(const char *script, json_t *cmd, int retries)
{
	return json_pack("{s:s, s:i, s:[{s:s, s:s, s:[s,s,s], s:i, s:{s:o, s:i, s:i, s:i}}]}",
	                 "family", "drvtest", "revision", 1, "containerDefinitions", "name", "app",
	                 "image", image, "command", "/bin/sh", "-c", script, "stopTimeout", 1,
	                 "healthCheck", "command", cmd, "interval", 1, "timeout", 2, "retries",
	                 retries);
}

static void test_engine_health(void)
{
	struct sched_driver d = open_engine();
	CHECK(d.handle != NULL);
	if (!d.handle)
		return;
	const char *good = arn_of(8), *bad = arn_of(9);
	json_t *tg = task_of(good), *tb = task_of(bad);
	json_t *dg = def_health("touch /tmp/ok; while :; do sleep 1; done",
	                        json_pack("[s,s,s]", "CMD", "/bin/cat", "/tmp/ok"), 3);
	json_t *db =
	    def_health("while :; do sleep 1; done", json_pack("[s,s]", "CMD-SHELL", "exit 1"), 2);
	json_t *env = json_object();
	char reason[256] = "";
	CHECK_INT(d.start(d.handle, tg, dg, env, reason, sizeof(reason)), 0);
	CHECK_INT(d.start(d.handle, tb, db, env, reason, sizeof(reason)), 0);
	struct sched_driver_status st;
	/* The engine says so through health_status events. */
	CHECK(wait_event_for(&d, good, SCHED_HEALTH_HEALTHY, &st));
	CHECK_INT(st.n_health, 1);
	CHECK_INT(st.container_health[0], SCHED_HEALTH_HEALTHY);
	CHECK(wait_event_for(&d, bad, SCHED_HEALTH_UNHEALTHY, &st));
	CHECK_INT(st.container_health[0], SCHED_HEALTH_UNHEALTHY);
	/* Inspect reads State.Health, also after a gateway restart. */
	sched_docker_driver_close(&d);
	d = open_engine();
	CHECK(d.handle != NULL);
	if (d.handle) {
		CHECK_INT(d.inspect(d.handle, good, &st), 0);
		CHECK_INT(st.state, SCHED_DRIVER_RUNNING);
		CHECK_INT(st.health, SCHED_HEALTH_HEALTHY);
		CHECK_INT(d.inspect(d.handle, bad, &st), 0);
		CHECK_INT(st.health, SCHED_HEALTH_UNHEALTHY);
		CHECK_INT(d.stop(d.handle, good, reason, sizeof(reason)), 0);
		CHECK_INT(d.stop(d.handle, bad, reason, sizeof(reason)), 0);
		/* (inspect: one wait for an event would drop the other's) */
		CHECK(wait_state(&d, good, SCHED_DRIVER_STOPPED, &st));
		CHECK(wait_state(&d, bad, SCHED_DRIVER_STOPPED, &st));
		sched_docker_driver_close(&d);
	}
	json_decref(tg);
	json_decref(tb);
	json_decref(dg);
	json_decref(db);
	json_decref(env);
}

static void test_engine_essential_stops_others(void)
{
	struct sched_driver d = open_engine();
	CHECK(d.handle != NULL);
	if (!d.handle)
		return;
	const char *arn = arn_of(4);
	json_t *task = task_of(arn);
	json_t *def = json_pack(
	    "{s:s, s:i, s:[{s:s, s:s, s:[s,s,s], s:b}, {s:s, s:s, s:[s,s,s], "
	    "s:b, s:i}]}",
	    "family", "drvtest", "revision", 1, "containerDefinitions", "name", "main", "image",
	    image, "command", "/bin/sh", "-c", "sleep 1; exit 4", "essential", 1, "name", "side",
	    "image", image, "command", "/bin/sh", "-c",
	    "trap 'exit 0' TERM; while :; do sleep 0.1; done", "essential", 0, "stopTimeout", 10);
	json_t *env = json_object();
	char reason[256] = "";
	CHECK_INT(d.start(d.handle, task, def, env, reason, sizeof(reason)), 0);
	struct sched_driver_status st;
	CHECK(wait_event(&d, arn, &st));
	CHECK_INT(st.exit_code, 4);
	json_t *cs = NULL;
	CHECK_INT(d.containers(d.handle, arn, &cs, reason, sizeof(reason)), 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(cs, "side"), "KnownStatus")),
	          "STOPPED");
	json_decref(cs);
	json_decref(task);
	json_decref(def);
	json_decref(env);
	sched_docker_driver_close(&d);
}

static void test_engine_tcp_tls(void)
{
	const char *addr = getenv("TASKGATE_TEST_DOCKER_TCP");
	const char *certs = getenv("TASKGATE_TEST_DOCKER_CERTS");
	CHECK(addr && certs);
	if (!addr || !certs)
		return;
	char ca[512], cert[512], key[512], wrong[512];
	snprintf(ca, sizeof(ca), "%s/ca.crt", certs);
	snprintf(cert, sizeof(cert), "%s/host-1.crt", certs);
	snprintf(key, sizeof(key), "%s/host-1.key", certs);
	snprintf(wrong, sizeof(wrong), "%s/wrong-ca.crt", certs);
	struct sched_docker_opts o = {.tcp_address = addr,
	                              .tls_ca = ca,
	                              .tls_cert = cert,
	                              .tls_key = key,
	                              .network_mode = "host",
	                              .notify = on_event};
	struct sched_driver d;
	char err[256] = "";
	CHECK_INT(sched_docker_driver_open(&o, &d, err, sizeof(err)), 0);
	if (err[0])
		printf("    open: %s\n", err);
	if (d.handle) {
		const char *arn = arn_of(5);
		json_t *task = task_of(arn);
		json_t *def = def_of("exit 6", 1);
		json_t *env = json_object();
		char reason[256] = "";
		CHECK_INT(d.start(d.handle, task, def, env, reason, sizeof(reason)), 0);
		struct sched_driver_status st;
		CHECK(wait_event(&d, arn, &st));
		CHECK_INT(st.exit_code, 6);
		json_decref(task);
		json_decref(def);
		json_decref(env);
		sched_docker_driver_close(&d);
	}
	/* An engine whose certificate another CA signed is refused... */
	o.tls_ca = wrong;
	CHECK_INT(sched_docker_driver_open(&o, &d, err, sizeof(err)), -1);
	CHECK(strstr(err, "certificate") != NULL);
	/* ...and so is a client without a certificate, by the engine. */
	o.tls_ca = ca;
	o.tls_cert = o.tls_key = NULL;
	CHECK_INT(sched_docker_driver_open(&o, &d, err, sizeof(err)), -1);
}

int main(int argc, char **argv)
{
	sock = getenv("TASKGATE_TEST_DOCKER_SOCK");
	image = getenv("TASKGATE_TEST_DOCKER_IMAGE");
	static const struct check_case always[] = {
	    {"a container definition becomes a create body as the ECS agent maps it, health "
	     "check included",
	     test_create_body},
	    {"an image without a tag is pulled as :latest, never every tag", test_image_ref},
	    {"open refuses an address where no engine answers, and TCP without a CA",
	     test_open_without_engine},
	};
	static const struct check_case engine[] = {
	    {"a container's exit reaches the scheduler as an event with its exit code",
	     test_engine_exit_event},
	    {"stop ends a task (SIGKILL after the timeout), and a reopened driver finds tasks by "
	     "label",
	     test_engine_stop_and_restart},
	    {"start returns at once; a pull or start that fails later stops the task as failed "
	     "to start, leaving nothing behind",
	     test_engine_start_failures},
	    {"a stop or close while a start is pulling cancels it and leaves nothing behind",
	     test_engine_stop_cancels_start},
	    {"a start cut short by a killed gateway is found, cleaned up and failed to start",
	     test_engine_interrupted_start},
	    {"a passing health check makes the task HEALTHY, a failing one UNHEALTHY, with an "
	     "event",
	     test_engine_health},
	    {"an essential container's exit stops the task's other containers",
	     test_engine_essential_stops_others},
	    {"the engine is reached over TCP with mutual TLS; a wrong CA or no client "
	     "certificate is refused",
	     test_engine_tcp_tls},
	};
	if (sock && image)
		return check_run(engine, sizeof(engine) / sizeof(engine[0]), argc, argv);
	return check_run(always, sizeof(always) / sizeof(always[0]), argc, argv);
}
