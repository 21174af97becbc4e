/*
 * test_sched_service.c - services (scheduler/service.c): create, update,
 * delete, list, describe; desiredCount held when tasks die or fail their
 * health check; rolling updates that keep minimumHealthyPercent and
 * maximumPercent at every pass; events; a restart that neither loses nor
 * duplicates tasks.
 */
#include "tests/unit/test_sched_world.h"

#define TD(fam, cmd)                                                                               \
	"{\"family\":\"" fam                                                                       \
	"\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"busybox\","                    \
	"\"cpu\":100,\"memory\":100,\"command\":[\"" cmd                                           \
	"\"],\"portMappings\":[{\"containerPort\":"                                                \
	"80,\"hostPort\":0}]}]}"

struct counts {
	int alive;   /* not STOPPED */
	int running; /* RUNNING, desired RUNNING */
	int on_new;  /* of those running, on taskdef "new" */
};

static struct counts count_service(struct sfx *f, const char *svc, const char *new_td)
{
	struct counts c = {0};
	struct sched_objs l;
	char group[128];
	snprintf(group, sizeof(group), "service:%s", svc);
	CHECK_INT(sched_live_tasks(f->s, W_ARN_PREFIX "cluster/c", &l, &f->err), SCHED_OK);
	for (size_t i = 0; i < l.n; i++) {
		const json_t *d = l.v[i].doc;
		if (strcmp(sfx_str(d, "group"), group) != 0)
			continue;
		c.alive++;
		if (strcmp(sfx_str(d, "lastStatus"), "RUNNING") == 0 &&
		    strcmp(sfx_str(d, "desiredStatus"), "RUNNING") == 0) {
			c.running++;
			if (new_td && strcmp(sfx_str(d, "taskDefinitionArn"), new_td) == 0)
				c.on_new++;
		}
	}
	sched_objs_free(&l);
	return c;
}

static json_t *describe(struct sfx *f, const char *svc)
{
	json_t *names = json_pack("[s]", svc), *out = NULL, *fails = NULL;
	CHECK_INT(sched_service_describe(f->s, "c", names, &out, &fails, &f->err), SCHED_OK);
	json_t *d = json_incref(json_array_get(out, 0));
	json_decref(names);
	json_decref(out);
	json_decref(fails);
	return d;
}

static void step(struct sfx *f)
{
	f->now_ms += 1000;
	CHECK_INT(sched_tick(f->s, NULL, &f->err), SCHED_OK);
	int rc = sched_reconcile(f->s, &f->err);
	if (rc != SCHED_OK)
		fprintf(stdout, "    reconcile: %s\n", f->err.message);
	CHECK_INT(rc, SCHED_OK);
}

static void world(struct sfx *f, int instances)
{
	sfx_init(f);
	w_cluster(f, "c");
	for (int i = 0; i < instances; i++)
		w_instance(f, "c", i, 4096, 4096, i % 2 ? "us-east-1b" : "us-east-1a", NULL);
}

static json_t *create(struct sfx *f, const char *name, const char *td, int desired, int minp,
                      int maxp)
{
	struct sched_service_spec spec = {.cluster = "c",
	                                  .name = name,
	                                  .task_definition = td,
	                                  .desired_count = desired,
	                                  .minimum_healthy_percent = minp,
	                                  .maximum_percent = maxp};
	json_t *svc = NULL;
	int rc = sched_service_create(f->s, &spec, &svc, &f->err);
	if (rc != SCHED_OK)
		fprintf(stdout, "    create: %s\n", f->err.message);
	CHECK_INT(rc, SCHED_OK);
	return svc;
}

static bool has_event(const json_t *svc, const char *needle)
{
	size_t i;
	const json_t *e;
	json_array_foreach(json_object_get(svc, "events"), i, e)
	{
		if (strstr(sfx_str(e, "message"), needle))
			return true;
	}
	return false;
}

static void test_create_runs_desired_count(void)
{
	struct sfx f;
	world(&f, 2);
	char *td = w_taskdef(&f, TD("web", "a"));
	json_t *svc = create(&f, "web", "web", 3, -1, -1);
	CHECK_STR(sfx_str(svc, "serviceArn"), W_ARN_PREFIX "service/c/web");
	CHECK_STR(sfx_str(svc, "status"), "ACTIVE");
	CHECK_STR(sfx_str(svc, "taskDefinition"), td);
	CHECK_INT(json_integer_value(json_object_get(svc, "desiredCount")), 3);
	CHECK_INT(json_integer_value(json_object_get(
	              json_object_get(svc, "deploymentConfiguration"), "maximumPercent")),
	          200);
	CHECK_INT(json_integer_value(json_object_get(
	              json_object_get(svc, "deploymentConfiguration"), "minimumHealthyPercent")),
	          100);
	const json_t *dep = json_array_get(json_object_get(svc, "deployments"), 0);
	CHECK_STR(sfx_str(dep, "status"), "PRIMARY");
	CHECK(strncmp(sfx_str(dep, "id"), "ecs-svc/", 8) == 0);
	CHECK_STR(sfx_str(dep, "rolloutState"), "IN_PROGRESS");
	CHECK_INT(json_integer_value(json_object_get(dep, "pendingCount")), 3);
	CHECK(has_event(svc, "(service web) has started 3 tasks: (task "));
	json_decref(svc);
	CHECK_INT(sched_fake_starts(f.fake), 3);
	/* default placement spreads over zones and instances */
	struct sched_task_filter flt = {.cluster = "c", .container_instance = "i0"};
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 2);
	json_decref(arns);
	flt.container_instance = NULL;
	flt.service_name = "web";
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 3);
	json_decref(arns);
	step(&f);
	svc = describe(&f, "web");
	CHECK_INT(json_integer_value(json_object_get(svc, "runningCount")), 3);
	CHECK_INT(json_integer_value(json_object_get(svc, "pendingCount")), 0);
	dep = json_array_get(json_object_get(svc, "deployments"), 0);
	CHECK_STR(sfx_str(dep, "rolloutState"), "COMPLETED");
	CHECK_STR(sfx_str(json_array_get(json_object_get(svc, "events"), 0), "message"),
	          "(service web) has reached a steady state.");
	size_t n_events = json_array_size(json_object_get(svc, "events"));
	json_decref(svc);
	/* a steady service adds no event per pass */
	step(&f);
	step(&f);
	svc = describe(&f, "web");
	CHECK_INT(json_array_size(json_object_get(svc, "events")), n_events);
	json_decref(svc);
	CHECK_INT(sched_fake_starts(f.fake), 3);
	free(td);
	sfx_done(&f);
}

static void test_dead_task_replaced(void)
{
	struct sfx f;
	world(&f, 2);
	char *td = w_taskdef(&f, TD("web", "a"));
	json_decref(create(&f, "web", "web", 2, -1, -1));
	step(&f);
	struct sched_task_filter flt = {.cluster = "c", .service_name = "web"};
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	const char *victim = json_string_value(json_array_get(arns, 0));
	CHECK_INT(sched_fake_kill(f.fake, victim, 137), 0);
	step(&f);
	struct counts c = count_service(&f, "web", NULL);
	CHECK_INT(c.alive, 2);
	CHECK_INT(sched_fake_starts(f.fake), 3);
	json_t *t = w_task(&f, "c", victim);
	CHECK_STR(sfx_str(t, "stopCode"), "EssentialContainerExited");
	json_decref(t);
	step(&f);
	c = count_service(&f, "web", NULL);
	CHECK_INT(c.running, 2);
	json_t *svc = describe(&f, "web");
	CHECK(has_event(svc, "has started 1 tasks"));
	CHECK_STR(sfx_str(json_array_get(json_object_get(svc, "events"), 0), "message"),
	          "(service web) has reached a steady state.");
	json_decref(svc);
	json_decref(arns);
	free(td);
	sfx_done(&f);
}

static void test_unhealthy_task_replaced(void)
{
	struct sfx f;
	world(&f, 1);
	char *td = w_taskdef(&f, TD("web", "a"));
	json_decref(create(&f, "web", "web", 1, -1, -1));
	step(&f);
	struct sched_task_filter flt = {.cluster = "c", .service_name = "web"};
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	const char *sick = json_string_value(json_array_get(arns, 0));
	CHECK_INT(sched_fake_set_health(f.fake, sick, SCHED_HEALTH_UNHEALTHY), 0);
	step(&f);
	json_t *t = w_task(&f, "c", sick);
	CHECK_STR(sfx_str(t, "lastStatus"), "STOPPED");
	CHECK_STR(sfx_str(t, "stopCode"), "ServiceSchedulerInitiated");
	CHECK_STR(sfx_str(t, "stoppedReason"), "Task failed container health checks");
	CHECK_STR(sfx_str(t, "healthStatus"), "UNHEALTHY");
	CHECK_STR(sfx_str(json_array_get(json_object_get(t, "containers"), 0), "healthStatus"),
	          "UNHEALTHY");
	json_decref(t);
	struct counts c = count_service(&f, "web", NULL);
	CHECK_INT(c.alive, 1);
	json_t *svc = describe(&f, "web");
	CHECK(has_event(svc, "failed container health checks"));
	json_decref(svc);
	json_decref(arns);
	free(td);
	sfx_done(&f);
}

/* A rolling update from web:1 to web:2 with desired d; checks both limits
 * after the update and after every pass; returns the passes it took. */
static int rolling(int d, int minp, int maxp, bool pending_first)
{
	struct sfx f;
	world(&f, 4);
	char *v1 = w_taskdef(&f, TD("web", "v1"));
	char *v2 = w_taskdef(&f, TD("web", "v2"));
	sched_fake_start_pending(f.fake, pending_first);
	json_decref(create(&f, "web", v1, d, minp, maxp));
	for (int i = 0; i < 3; i++)
		step(&f);
	CHECK_INT(count_service(&f, "web", v1).running, d);
	int max_total = d * maxp / 100, min_healthy = (d * minp + 99) / 100;
	struct sched_service_update u = {.cluster = "c",
	                                 .service = "web",
	                                 .task_definition = v2,
	                                 .desired_count = -1,
	                                 .minimum_healthy_percent = -1,
	                                 .maximum_percent = -1};
	json_t *svc = NULL;
	CHECK_INT(sched_service_update(f.s, &u, &svc, &f.err), SCHED_OK);
	/* the old deployment stays ACTIVE while it has tasks (with
	 * minimumHealthyPercent 0 they may all be gone at once) */
	size_t nd = json_array_size(json_object_get(svc, "deployments"));
	CHECK(nd == 2 || (nd == 1 && minp == 0));
	CHECK_STR(sfx_str(json_array_get(json_object_get(svc, "deployments"), 0), "status"),
	          "PRIMARY");
	if (nd == 2)
		CHECK_STR(sfx_str(json_array_get(json_object_get(svc, "deployments"), 1), "status"),
		          "ACTIVE");
	CHECK_STR(sfx_str(json_array_get(json_object_get(svc, "deployments"), 0), "taskDefinition"),
	          v2);
	json_decref(svc);
	int passes = 0;
	bool done = false;
	for (; passes < 30 && !done; passes++) {
		struct counts c = count_service(&f, "web", v2);
		if (c.alive > max_total || c.running < min_healthy)
			fprintf(stdout, "    pass %d: alive %d (max %d), running %d (min %d)\n",
			        passes, c.alive, max_total, c.running, min_healthy);
		CHECK(c.alive <= max_total);
		CHECK(c.running >= min_healthy);
		svc = describe(&f, "web");
		done = c.on_new == d && c.alive == d &&
		       json_array_size(json_object_get(svc, "deployments")) == 1;
		json_decref(svc);
		if (!done)
			step(&f);
	}
	CHECK(done);
	svc = describe(&f, "web");
	const json_t *dep = json_array_get(json_object_get(svc, "deployments"), 0);
	CHECK_STR(sfx_str(dep, "taskDefinition"), v2);
	CHECK_STR(sfx_str(dep, "rolloutState"), "COMPLETED");
	json_decref(svc);
	free(v1);
	free(v2);
	sfx_done(&f);
	return passes;
}

static void test_rolling_update_limits(void)
{
	CHECK(rolling(4, 50, 200, false) > 0);
	CHECK(rolling(4, 100, 200, false) > 0);
	CHECK(rolling(4, 100, 150, true) > 0);
	CHECK(rolling(4, 50, 100, true) > 0);
	CHECK(rolling(3, 0, 100, false) > 0);
	CHECK(rolling(5, 60, 120, true) > 0);
}

static void test_scale_in_and_out(void)
{
	struct sfx f;
	world(&f, 2);
	char *td = w_taskdef(&f, TD("web", "a"));
	json_decref(create(&f, "web", "web", 4, -1, -1));
	step(&f);
	struct sched_service_update u = {.cluster = "c",
	                                 .service = "web",
	                                 .desired_count = 1,
	                                 .minimum_healthy_percent = -1,
	                                 .maximum_percent = -1};
	json_t *svc = NULL;
	CHECK_INT(sched_service_update(f.s, &u, &svc, &f.err), SCHED_OK);
	CHECK(has_event(svc, "has stopped 3 running tasks"));
	json_decref(svc);
	CHECK_INT(count_service(&f, "web", NULL).alive, 1);
	CHECK_INT(w_count(&f, "c", "STOPPED"), 3);
	struct sched_task_filter flt = {.cluster = "c", .desired_status = "STOPPED"};
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	json_t *t = w_task(&f, "c", json_string_value(json_array_get(arns, 0)));
	CHECK_STR(sfx_str(t, "stopCode"), "ServiceSchedulerInitiated");
	CHECK(strncmp(sfx_str(t, "stoppedReason"),
	              "Scaling activity initiated by (deployment ecs-svc/", 50) == 0);
	json_decref(t);
	json_decref(arns);
	u.desired_count = 3;
	CHECK_INT(sched_service_update(f.s, &u, &svc, &f.err), SCHED_OK);
	json_decref(svc);
	CHECK_INT(count_service(&f, "web", NULL).alive, 3);
	free(td);
	sfx_done(&f);
}

static void test_delete_drains_then_inactive(void)
{
	struct sfx f;
	world(&f, 1);
	char *td = w_taskdef(&f, TD("web", "a"));
	json_decref(create(&f, "web", "web", 2, -1, -1));
	json_decref(create(&f, "api", "web", 0, -1, -1));
	step(&f);
	json_t *svc = NULL;
	CHECK_INT(sched_service_delete(f.s, "c", "web", false, &svc, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	CHECK_STR(f.err.message, "The service cannot be stopped while it is scaled above 0.");
	CHECK_INT(sched_service_delete(f.s, "c", "web", true, &svc, &f.err), SCHED_OK);
	/* the fake stops at once, so it is INACTIVE straight away */
	CHECK_STR(sfx_str(svc, "status"), "INACTIVE");
	CHECK_INT(json_integer_value(json_object_get(svc, "desiredCount")), 0);
	json_decref(svc);
	CHECK_INT(count_service(&f, "web", NULL).alive, 0);
	CHECK_INT(sched_service_delete(f.s, "c", "web", true, &svc, &f.err),
	          SCHED_ERR_SERVICE_NOT_ACTIVE);
	struct sched_service_update u = {.cluster = "c",
	                                 .service = "web",
	                                 .desired_count = 1,
	                                 .minimum_healthy_percent = -1,
	                                 .maximum_percent = -1};
	CHECK_INT(sched_service_update(f.s, &u, &svc, &f.err), SCHED_ERR_SERVICE_NOT_ACTIVE);
	/* lists leave it out; describe still shows it */
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_service_list(f.s, "c", NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 1);
	CHECK_STR(json_string_value(json_array_get(arns, 0)), W_ARN_PREFIX "service/c/api");
	json_decref(arns);
	svc = describe(&f, "web");
	CHECK_STR(sfx_str(svc, "status"), "INACTIVE");
	json_decref(svc);
	/* the name can be used again */
	svc = create(&f, "web", "web", 1, -1, -1);
	CHECK_STR(sfx_str(svc, "status"), "ACTIVE");
	json_decref(svc);
	CHECK_INT(count_service(&f, "web", NULL).alive, 1);
	/* a DRAINING service waits for its tasks: a driver that does not stop
	 * at once */
	free(td);
	sfx_done(&f);
}

static void test_restart_mid_service(void)
{
	struct sfx f;
	world(&f, 2);
	char *td = w_taskdef(&f, TD("web", "a"));
	json_decref(create(&f, "web", "web", 3, -1, -1));
	step(&f);
	CHECK_INT(sched_fake_starts(f.fake), 3);
	/* a new scheduler on the same store and host: nothing new starts */
	sfx_restart(&f);
	step(&f);
	step(&f);
	CHECK_INT(sched_fake_starts(f.fake), 3);
	CHECK_INT(count_service(&f, "web", NULL).running, 3);
	/* a task died while the gateway was down: replaced once */
	struct sched_task_filter flt = {.cluster = "c", .service_name = "web"};
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	sfx_restart(&f);
	sched_fake_kill(f.fake, json_string_value(json_array_get(arns, 1)), 1);
	json_decref(arns);
	step(&f);
	step(&f);
	CHECK_INT(sched_fake_starts(f.fake), 4);
	CHECK_INT(count_service(&f, "web", NULL).alive, 3);
	/* the host lost everything: all replaced, still three */
	sched_fake_forget_all(f.fake);
	sfx_restart(&f);
	step(&f);
	step(&f);
	CHECK_INT(sched_fake_starts(f.fake), 7);
	CHECK_INT(count_service(&f, "web", NULL).running, 3);
	CHECK_INT(sched_fake_live(f.fake), 3);
	free(td);
	sfx_done(&f);
}

static void test_events_capped(void)
{
	struct sfx f;
	world(&f, 1);
	char *td = w_taskdef(&f, TD("web", "a"));
	json_decref(create(&f, "web", "web", 1, -1, -1));
	struct sched_task_filter flt = {.cluster = "c", .service_name = "web"};
	for (int i = 0; i < 60; i++) {
		step(&f); /* a replacement starts */
		step(&f); /* it runs: the kill below is not a failed start */
		json_t *arns = NULL;
		char *next = NULL;
		CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
		sched_fake_kill(f.fake, json_string_value(json_array_get(arns, 0)), 1);
		json_decref(arns);
	}
	json_t *svc = describe(&f, "web");
	json_t *ev = json_object_get(svc, "events");
	CHECK_INT(json_array_size(ev), 100);
	/* newest first */
	CHECK(json_real_value(json_object_get(json_array_get(ev, 0), "createdAt")) >=
	      json_real_value(json_object_get(json_array_get(ev, 99), "createdAt")));
	json_decref(svc);
	free(td);
	sfx_done(&f);
}

static void test_failing_starts_throttled(void)
{
	struct sfx f;
	world(&f, 1);
	char *td = w_taskdef(&f, TD("web", "a"));
	sched_fake_fail_starts(f.fake, 1000, "CannotPullContainerError: no such image");
	json_decref(create(&f, "web", "web", 1, -1, -1));
	for (int i = 0; i < 5; i++)
		step(&f);
	/* three failed starts, then the service waits */
	CHECK_INT(w_count(&f, "c", "STOPPED"), 3);
	json_t *svc = describe(&f, "web");
	CHECK_STR(sfx_str(json_array_get(json_object_get(svc, "events"), 0), "message"),
	          "(service web) is unable to consistently start tasks successfully. For more "
	          "information, see the Troubleshooting section.");
	CHECK_INT(json_integer_value(json_object_get(
	              json_array_get(json_object_get(svc, "deployments"), 0), "failedTasks")),
	          3);
	json_decref(svc);
	/* after the wait (5 s) one more try; then 10 s */
	f.now_ms += 5000;
	step(&f);
	CHECK_INT(w_count(&f, "c", "STOPPED"), 4);
	step(&f);
	f.now_ms += 5000;
	step(&f);
	CHECK_INT(w_count(&f, "c", "STOPPED"), 4);
	/* the image is fixed: the next try runs, and the throttle is gone */
	sched_fake_fail_starts(f.fake, 0, NULL);
	f.now_ms += 10000;
	step(&f);
	step(&f);
	CHECK_INT(count_service(&f, "web", NULL).running, 1);
	/* a later death is replaced at once */
	struct sched_task_filter flt = {.cluster = "c", .service_name = "web"};
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	sched_fake_kill(f.fake, json_string_value(json_array_get(arns, 0)), 1);
	json_decref(arns);
	step(&f);
	step(&f);
	CHECK_INT(count_service(&f, "web", NULL).running, 1);
	free(td);
	sfx_done(&f);
}

/* The same back-off when the driver accepts starts and fails them later
 * (docker pulling in the background). */
static void test_late_failing_starts_throttled(void)
{
	struct sfx f;
	world(&f, 1);
	char *td = w_taskdef(&f, TD("web", "a"));
	sched_fake_fail_starts_later(f.fake, 1000, "CannotPullContainerError: no such image");
	json_decref(create(&f, "web", "web", 1, -1, -1));
	for (int i = 0; i < 6; i++)
		step(&f);
	CHECK_INT(w_count(&f, "c", "STOPPED"), 3);
	json_t *svc = describe(&f, "web");
	CHECK_STR(sfx_str(json_array_get(json_object_get(svc, "events"), 0), "message"),
	          "(service web) is unable to consistently start tasks successfully. For more "
	          "information, see the Troubleshooting section.");
	json_decref(svc);
	sched_fake_fail_starts_later(f.fake, 0, NULL);
	f.now_ms += 5000;
	step(&f);
	step(&f);
	CHECK_INT(count_service(&f, "web", NULL).running, 1);
	free(td);
	sfx_done(&f);
}

static void test_placement_failure_event(void)
{
	struct sfx f;
	sfx_init(&f);
	w_cluster(&f, "c");
	w_instance(&f, "c", 0, 4096, 150, "a", NULL);
	char *td = w_taskdef(&f, TD("web", "a"));
	json_t *svc = create(&f, "web", "web", 2, -1, -1);
	CHECK(has_event(svc, "has started 1 tasks"));
	CHECK(has_event(svc, "was unable to place a task because no container instance met all "
	                     "of its requirements. The closest matching (container-instance i0) "
	                     "has insufficient memory available."));
	json_decref(svc);
	/* the same message is not repeated on every pass */
	step(&f);
	step(&f);
	svc = describe(&f, "web");
	int n = 0;
	size_t i;
	const json_t *e;
	json_array_foreach(json_object_get(svc, "events"), i, e)
	{
		if (strstr(sfx_str(e, "message"), "unable to place"))
			n++;
	}
	CHECK(n <= 2);
	json_decref(svc);
	free(td);
	sfx_done(&f);
}

static void test_draining_instance_tasks_move(void)
{
	struct sfx f;
	world(&f, 2);
	char *td = w_taskdef(&f, TD("web", "a"));
	json_decref(create(&f, "web", "web", 2, 50, 200));
	step(&f);
	struct sched_obj o;
	CHECK_INT(sched_obj_load(f.s, W_ARN_PREFIX "container-instance/c/i0", &o, SCHED_ERR_SERVER,
	                         &f.err),
	          SCHED_OK);
	json_object_set_new(o.doc, "status", json_string("DRAINING"));
	sched_obj_set_str(&o, &o.row.status, "DRAINING", &f.err);
	CHECK_INT(sched_obj_save(f.s, &o, &f.err), SCHED_OK);
	sched_obj_free(&o);
	for (int i = 0; i < 4; i++) {
		step(&f);
		struct counts c = count_service(&f, "web", NULL);
		CHECK(c.running >= 1);
		CHECK(c.alive <= 4);
	}
	struct sched_task_filter flt = {.cluster = "c", .container_instance = "i0"};
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 0);
	json_decref(arns);
	flt.container_instance = "i1";
	CHECK_INT(sched_task_list(f.s, &flt, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 2);
	json_decref(arns);
	CHECK_INT(count_service(&f, "web", NULL).running, 2);
	free(td);
	sfx_done(&f);
}

static void test_refusals(void)
{
	struct sfx f;
	world(&f, 1);
	char *td = w_taskdef(&f, TD("web", "a"));
	struct sched_service_spec spec = {.cluster = "c",
	                                  .name = "bad name!",
	                                  .task_definition = "web",
	                                  .desired_count = 1,
	                                  .minimum_healthy_percent = -1,
	                                  .maximum_percent = -1};
	json_t *svc = NULL;
	CHECK_INT(sched_service_create(f.s, &spec, &svc, &f.err), SCHED_ERR_INVALID_PARAMETER);
	spec.name = "web";
	spec.maximum_percent = 50;
	CHECK_INT(sched_service_create(f.s, &spec, &svc, &f.err), SCHED_ERR_INVALID_PARAMETER);
	spec.maximum_percent = -1;
	spec.minimum_healthy_percent = 101;
	CHECK_INT(sched_service_create(f.s, &spec, &svc, &f.err), SCHED_ERR_INVALID_PARAMETER);
	spec.minimum_healthy_percent = -1;
	spec.desired_count = -2;
	CHECK_INT(sched_service_create(f.s, &spec, &svc, &f.err), SCHED_ERR_INVALID_PARAMETER);
	spec.desired_count = 1;
	spec.cluster = "nosuch";
	CHECK_INT(sched_service_create(f.s, &spec, &svc, &f.err), SCHED_ERR_CLUSTER_NOT_FOUND);
	spec.cluster = "c";
	CHECK_INT(sched_service_create(f.s, &spec, &svc, &f.err), SCHED_OK);
	json_decref(svc);
	CHECK_INT(sched_service_create(f.s, &spec, &svc, &f.err), SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(sched_fake_starts(f.fake), 1);
	struct sched_service_update u = {.cluster = "c",
	                                 .service = "nosuch",
	                                 .desired_count = 1,
	                                 .minimum_healthy_percent = -1,
	                                 .maximum_percent = -1};
	CHECK_INT(sched_service_update(f.s, &u, &svc, &f.err), SCHED_ERR_SERVICE_NOT_FOUND);
	u.service = W_ARN_PREFIX "service/c/web";
	u.maximum_percent = 20;
	CHECK_INT(sched_service_update(f.s, &u, &svc, &f.err), SCHED_ERR_INVALID_PARAMETER);
	u.maximum_percent = -1;
	u.task_definition = "nosuch";
	CHECK(sched_service_update(f.s, &u, &svc, &f.err) != SCHED_OK);
	json_t *names = json_pack("[s,s]", "web", "ghost"), *out = NULL, *fails = NULL;
	CHECK_INT(sched_service_describe(f.s, "c", names, &out, &fails, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(out), 1);
	CHECK_STR(sfx_str(json_array_get(fails, 0), "arn"), W_ARN_PREFIX "service/c/ghost");
	CHECK_STR(sfx_str(json_array_get(fails, 0), "reason"), "MISSING");
	json_decref(names);
	json_decref(out);
	json_decref(fails);
	free(td);
	sfx_done(&f);
}

static void test_list_pages(void)
{
	struct sfx f;
	world(&f, 1);
	char *td = w_taskdef(&f, TD("web", "a"));
	char name[16];
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		json_decref(create(&f, name, "web", 0, -1, -1));
	}
	struct sched_page pg = {.max_results = 2};
	json_t *arns = NULL;
	char *next = NULL;
	size_t total = 0;
	int pages = 0;
	do {
		CHECK_INT(sched_service_list(f.s, "c", &pg, &arns, &next, &f.err), SCHED_OK);
		total += json_array_size(arns);
		json_decref(arns);
		free((char *)pg.next_token);
		pg.next_token = next;
		pages++;
	} while (next && pages < 10);
	CHECK_INT(total, 5);
	CHECK_INT(pages, 3);
	free(td);
	sfx_done(&f);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"CreateService starts desiredCount tasks, spread, and reaches a steady state",
	     test_create_runs_desired_count},
	    {"a task that dies is replaced and the service kept at its count",
	     test_dead_task_replaced},
	    {"a task that fails its health check is stopped and replaced",
	     test_unhealthy_task_replaced},
	    {"a rolling update keeps minimumHealthyPercent and maximumPercent at every pass",
	     test_rolling_update_limits},
	    {"scaling in stops surplus tasks with ServiceSchedulerInitiated; scaling out starts",
	     test_scale_in_and_out},
	    {"DeleteService needs force above 0, drains, turns INACTIVE, frees the name",
	     test_delete_drains_then_inactive},
	    {"a restart mid-service neither loses nor duplicates tasks", test_restart_mid_service},
	    {"service events are capped at the 100 newest", test_events_capped},
	    {"a service whose tasks keep failing to start waits longer between tries",
	     test_failing_starts_throttled},
	    {"starts that the driver fails after accepting them are throttled the same way",
	     test_late_failing_starts_throttled},
	    {"a task that fits nowhere is a service event, not repeated each pass",
	     test_placement_failure_event},
	    {"a service's tasks on a DRAINING instance move to ACTIVE ones within the limits",
	     test_draining_instance_tasks_move},
	    {"services refuse bad names, percentages, counts, duplicates and unknowns",
	     test_refusals},
	    {"ListServices pages", test_list_pages},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
