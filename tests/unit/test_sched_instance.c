/*
 * test_sched_instance.c - container instances (scheduler/instance.c) on a
 * real store with the fake driver: registration (resources, attributes and
 * their defaults, the identity document, re-registration of the same host),
 * what it refuses, describe with MISSING failures, remainingResources as
 * tasks come and go, DRAINING, deregistration with and without force, lists
 * with status and filter, pages, and a restart.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_sched_fixture.h"

#define CL_ARN(name) "arn:aws:ecs:us-east-1:123456789012:cluster/" name
#define CI_PREFIX    "arn:aws:ecs:us-east-1:123456789012:container-instance/"

static json_t *reg(struct sfx *f, const struct sched_instance_spec *spec)
{
	json_t *ci = NULL;
	if (sched_instance_register(f->s, spec, &ci, &f->err) != SCHED_OK) {
		printf("    register: %s\n", f->err.message);
		return NULL;
	}
	return ci;
}

static void make_cluster(struct sfx *f, const char *name)
{
	json_t *c = NULL;
	if (sched_cluster_create(f->s, name, NULL, &c, &f->err) != SCHED_OK)
		printf("    create %s: %s\n", name, f->err.message);
	json_decref(c);
}

static const json_t *res_named(const json_t *ci, const char *list, const char *name)
{
	size_t i;
	const json_t *r;
	json_array_foreach(json_object_get(ci, list), i, r)
	{
		if (strcmp(sfx_str(r, "name"), name) == 0)
			return r;
	}
	return NULL;
}

static long long res_int(const json_t *ci, const char *list, const char *name)
{
	return json_integer_value(json_object_get(res_named(ci, list, name), "integerValue"));
}

static bool res_has_port(const json_t *ci, const char *list, const char *port)
{
	size_t i;
	const json_t *p;
	json_array_foreach(json_object_get(res_named(ci, list, "PORTS"), "stringSetValue"), i, p)
	{
		if (strcmp(json_string_value(p), port) == 0)
			return true;
	}
	return false;
}

static const char *attr(const json_t *ci, const char *name)
{
	size_t i;
	const json_t *a;
	json_array_foreach(json_object_get(ci, "attributes"), i, a)
	{
		if (strcmp(sfx_str(a, "name"), name) == 0) {
			const char *v = sfx_str(a, "value");
			return v ? v : "";
		}
	}
	return NULL;
}

static json_t *describe_one(struct sfx *f, const char *cluster, const char *ref)
{
	json_t *refs = json_pack("[s]", ref), *out = NULL, *fail = NULL;
	int rc = sched_instance_describe(f->s, cluster, refs, &out, &fail, &f->err);
	json_decref(refs);
	json_t *one = rc == SCHED_OK ? json_incref(json_array_get(out, 0)) : NULL;
	json_decref(out);
	json_decref(fail);
	return one;
}

static int64_t cluster_count(struct sfx *f, const char *name, const char *key)
{
	json_t *names = json_pack("[s]", name), *out = NULL, *fail = NULL;
	int64_t n = -1;
	if (sched_cluster_describe(f->s, names, &out, &fail, &f->err) == SCHED_OK &&
	    json_array_size(out) == 1)
		n = json_integer_value(json_object_get(json_array_get(out, 0), key));
	json_decref(names);
	json_decref(out);
	json_decref(fail);
	return n;
}

static void test_register_gives_the_ecs_shape(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	json_t *attrs = sfx_json("[{\"name\":\"stack\",\"value\":\"blue\"},"
	                         "{\"name\":\"ecs.availability-zone\",\"value\":\"us-east-1b\"},"
	                         "{\"name\":\"gpu\"}]");
	json_t *tags = sfx_json("[{\"key\":\"rack\",\"value\":\"r7\"}]");
	json_t *vinfo = sfx_json("{\"agentVersion\":\"1.80.0\",\"dockerVersion\":\"24.0.5\"}");
	struct sched_instance_spec spec = {.cluster = "prod",
	                                   .cpu = 2048,
	                                   .memory = 3900,
	                                   .attributes = attrs,
	                                   .tags = tags,
	                                   .version_info = vinfo};
	json_t *ci = reg(&f, &spec);
	CHECK(ci != NULL);
	const char *arn = sfx_str(ci, "containerInstanceArn");
	CHECK(arn && strncmp(arn, CI_PREFIX "prod/", strlen(CI_PREFIX "prod/")) == 0);
	CHECK(arn && strlen(arn) == strlen(CI_PREFIX "prod/") + 32);
	const char *ec2 = sfx_str(ci, "ec2InstanceId");
	CHECK(ec2 && strncmp(ec2, "i-", 2) == 0 && strlen(ec2) == 19);
	CHECK_STR(sfx_str(ci, "status"), "ACTIVE");
	CHECK(json_is_true(json_object_get(ci, "agentConnected")));
	CHECK_INT(json_integer_value(json_object_get(ci, "runningTasksCount")), 0);
	CHECK_INT(json_integer_value(json_object_get(ci, "version")), 1);
	CHECK(json_real_value(json_object_get(ci, "registeredAt")) == 1700000000.0);
	CHECK_INT(res_int(ci, "registeredResources", "CPU"), 2048);
	CHECK_INT(res_int(ci, "registeredResources", "MEMORY"), 3900);
	CHECK_INT(res_int(ci, "remainingResources", "CPU"), 2048);
	CHECK_INT(res_int(ci, "remainingResources", "MEMORY"), 3900);
	CHECK_STR(sfx_str(res_named(ci, "registeredResources", "CPU"), "type"), "INTEGER");
	CHECK_STR(sfx_str(res_named(ci, "registeredResources", "PORTS"), "type"), "STRINGSET");
	const char *agent_ports[] = {"22", "2375", "2376", "51678", "51679"};
	for (size_t i = 0; i < 5; i++) {
		CHECK(res_has_port(ci, "registeredResources", agent_ports[i]));
		CHECK(res_has_port(ci, "remainingResources", agent_ports[i]));
	}
	CHECK(res_named(ci, "registeredResources", "PORTS_UDP") != NULL);
	CHECK_STR(attr(ci, "stack"), "blue");
	CHECK_STR(attr(ci, "gpu"), "");
	CHECK_STR(attr(ci, "ecs.availability-zone"), "us-east-1b");
	CHECK_STR(attr(ci, "ecs.os-type"), "linux");
	CHECK_STR(attr(ci, "ecs.instance-type"), "taskgate.host");
	CHECK(attr(ci, "ecs.cpu-architecture") != NULL);
	CHECK_STR(sfx_str(json_object_get(ci, "versionInfo"), "agentVersion"), "1.80.0");
	CHECK_STR(sfx_str(json_object_get(ci, "versionInfo"), "dockerVersion"), "24.0.5");
	CHECK(json_equal(json_object_get(ci, "tags"), tags));
	CHECK_INT(cluster_count(&f, "prod", "registeredContainerInstancesCount"), 1);
	json_decref(ci);
	json_decref(attrs);
	json_decref(tags);
	json_decref(vinfo);
	sfx_done(&f);
}

static void test_the_default_cluster_is_made_others_must_exist(void)
{
	struct sfx f;
	sfx_init(&f);
	struct sched_instance_spec spec = {.cpu = 1024, .memory = 1024};
	json_t *ci = reg(&f, &spec);
	CHECK(ci && strstr(sfx_str(ci, "containerInstanceArn"), "/default/") != NULL);
	json_decref(ci);
	CHECK_INT(cluster_count(&f, "default", "registeredContainerInstancesCount"), 1);
	spec.cluster = "nope";
	ci = NULL;
	CHECK_INT(sched_instance_register(f.s, &spec, &ci, &f.err), SCHED_ERR_CLUSTER_NOT_FOUND);
	CHECK(ci == NULL);
	make_cluster(&f, "gone");
	json_t *c = NULL;
	CHECK_INT(sched_cluster_delete(f.s, "gone", &c, &f.err), SCHED_OK);
	json_decref(c);
	spec.cluster = "gone";
	CHECK_INT(sched_instance_register(f.s, &spec, &ci, &f.err), SCHED_ERR_CLUSTER_NOT_FOUND);
	sfx_done(&f);
}

static void test_register_refuses_bad_input_and_makes_nothing(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	struct {
		int cpu, memory;
		const char *ports, *attrs, *tags, *identity, *vinfo, *ec2;
	} bad[] = {
	    {0, 1024, NULL, NULL, NULL, NULL, NULL, NULL},
	    {-5, 1024, NULL, NULL, NULL, NULL, NULL, NULL},
	    {1024, 0, NULL, NULL, NULL, NULL, NULL, NULL},
	    {1024, 1024, "[0]", NULL, NULL, NULL, NULL, NULL},
	    {1024, 1024, "[65536]", NULL, NULL, NULL, NULL, NULL},
	    {1024, 1024, "[\"http\"]", NULL, NULL, NULL, NULL, NULL},
	    {1024, 1024, "{\"p\":1}", NULL, NULL, NULL, NULL, NULL},
	    {1024, 1024, NULL, "[{\"name\":\"has space\",\"value\":\"v\"}]", NULL, NULL, NULL,
	     NULL},
	    {1024, 1024, NULL, "[{\"value\":\"v\"}]", NULL, NULL, NULL, NULL},
	    {1024, 1024, NULL, "[{\"name\":\"a\",\"value\":\"semi;colon\"}]", NULL, NULL, NULL,
	     NULL},
	    {1024, 1024, NULL, "[{\"name\":\"a\",\"value\":\"v\",\"targetType\":\"task\"}]", NULL,
	     NULL, NULL, NULL},
	    {1024, 1024, NULL, "{\"name\":\"a\"}", NULL, NULL, NULL, NULL},
	    {1024, 1024, NULL, NULL, "[{\"key\":\"aws:x\",\"value\":\"v\"}]", NULL, NULL, NULL},
	    {1024, 1024, NULL, NULL, NULL, "not json", NULL, NULL},
	    {1024, 1024, NULL, NULL, NULL, "[1,2]", NULL, NULL},
	    {1024, 1024, NULL, NULL, NULL, "{\"instanceId\":\"i-1 2\"}", NULL, NULL},
	    {1024, 1024, NULL, NULL, NULL, NULL, "{\"agentVersion\":3}", NULL},
	    {1024, 1024, NULL, NULL, NULL, NULL, NULL, "i-has space"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *ports = bad[i].ports ? sfx_json(bad[i].ports) : NULL;
		json_t *attrs = bad[i].attrs ? sfx_json(bad[i].attrs) : NULL;
		json_t *tags = bad[i].tags ? sfx_json(bad[i].tags) : NULL;
		json_t *vinfo = bad[i].vinfo ? sfx_json(bad[i].vinfo) : NULL;
		struct sched_instance_spec spec = {.cluster = "prod",
		                                   .cpu = bad[i].cpu,
		                                   .memory = bad[i].memory,
		                                   .reserved_ports = ports,
		                                   .attributes = attrs,
		                                   .tags = tags,
		                                   .identity_document = bad[i].identity,
		                                   .version_info = vinfo,
		                                   .ec2_instance_id = bad[i].ec2};
		json_t *ci = NULL;
		int rc = sched_instance_register(f.s, &spec, &ci, &f.err);
		if (rc != SCHED_ERR_INVALID_PARAMETER)
			printf("    case %zu: rc %d\n", i, rc);
		CHECK_INT(rc, SCHED_ERR_INVALID_PARAMETER);
		CHECK(ci == NULL);
		json_decref(ports);
		json_decref(attrs);
		json_decref(tags);
		json_decref(vinfo);
	}
	/* ten custom attributes are allowed, eleven are not (ecs.* do not count) */
	json_t *attrs = json_array();
	char name[16];
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		json_array_append_new(attrs, json_pack("{s:s,s:s}", "name", name, "value", "v"));
	}
	json_array_append_new(
	    attrs, json_pack("{s:s,s:s}", "name", "ecs.instance-type", "value", "m5.large"));
	json_array_append_new(attrs, json_pack("{s:s,s:s}", "name", "a10", "value", "v"));
	struct sched_instance_spec spec = {
	    .cluster = "prod", .cpu = 1024, .memory = 1024, .attributes = attrs};
	json_t *ci = NULL;
	CHECK_INT(sched_instance_register(f.s, &spec, &ci, &f.err), SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(cluster_count(&f, "prod", "registeredContainerInstancesCount"), 0);
	json_array_remove(attrs, 11);
	ci = reg(&f, &spec);
	CHECK(ci != NULL);
	CHECK_STR(attr(ci, "ecs.instance-type"), "m5.large");
	json_decref(ci);
	json_decref(attrs);
	/* reserved ports: deduplicated, and the caller's list replaces the agent's */
	json_t *ports = sfx_json("[8080, \"8080\", 9000]");
	struct sched_instance_spec p2 = {
	    .cluster = "prod", .cpu = 1024, .memory = 1024, .reserved_ports = ports};
	ci = reg(&f, &p2);
	json_t *want = sfx_json("[\"8080\",\"9000\"]");
	CHECK(json_equal(
	    json_object_get(res_named(ci, "registeredResources", "PORTS"), "stringSetValue"),
	    want));
	json_decref(want);
	json_decref(ci);
	json_decref(ports);
	sfx_done(&f);
}

static void test_identity_document_and_reregistration(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	struct sched_instance_spec spec = {
	    .cluster = "prod",
	    .cpu = 1024,
	    .memory = 2048,
	    .identity_document = "{\"instanceId\":\"i-0abc\",\"availabilityZone\":\"us-east-1c\","
	                         "\"instanceType\":\"t3.micro\",\"imageId\":\"ami-1\","
	                         "\"region\":\"us-east-1\"}",
	};
	json_t *first = reg(&f, &spec);
	CHECK_STR(sfx_str(first, "ec2InstanceId"), "i-0abc");
	CHECK_STR(attr(first, "ecs.availability-zone"), "us-east-1c");
	CHECK_STR(attr(first, "ecs.instance-type"), "t3.micro");
	CHECK_STR(attr(first, "ecs.ami-id"), "ami-1");
	/* the same host again: the same container instance, new resources */
	spec.cpu = 4096;
	spec.identity_document = NULL;
	spec.ec2_instance_id = "i-0abc";
	json_t *again = reg(&f, &spec);
	CHECK_STR(sfx_str(again, "containerInstanceArn"), sfx_str(first, "containerInstanceArn"));
	CHECK_INT(res_int(again, "registeredResources", "CPU"), 4096);
	CHECK_INT(res_int(again, "remainingResources", "CPU"), 4096);
	CHECK_INT(json_integer_value(json_object_get(again, "version")), 2);
	CHECK_INT(cluster_count(&f, "prod", "registeredContainerInstancesCount"), 1);
	/* another host is another instance */
	spec.ec2_instance_id = "i-0def";
	json_t *other = reg(&f, &spec);
	CHECK(strcmp(sfx_str(other, "containerInstanceArn"),
	             sfx_str(first, "containerInstanceArn")) != 0);
	CHECK_INT(cluster_count(&f, "prod", "registeredContainerInstancesCount"), 2);
	json_decref(first);
	json_decref(again);
	json_decref(other);
	sfx_done(&f);
}

static void test_describe_by_id_and_arn_with_missing_failures(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	make_cluster(&f, "other");
	struct sched_instance_spec spec = {.cluster = "prod", .cpu = 1024, .memory = 1024};
	json_t *ci = reg(&f, &spec);
	spec.cluster = "other";
	json_t *elsewhere = reg(&f, &spec);
	const char *arn = sfx_str(ci, "containerInstanceArn");
	const char *id = strrchr(arn, '/') + 1;
	char old_style[256];
	snprintf(old_style, sizeof(old_style), CI_PREFIX "%s", id);
	json_t *refs = json_pack("[s,s,s,s,s,s]", id, arn, old_style, "0123456789abcdef",
	                         sfx_str(elsewhere, "containerInstanceArn"), "not/an id");
	json_t *out = NULL, *fail = NULL;
	CHECK_INT(sched_instance_describe(f.s, "prod", refs, &out, &fail, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(out), 3);
	CHECK_STR(sfx_str(json_array_get(out, 1), "containerInstanceArn"), arn);
	CHECK_INT(json_array_size(fail), 3);
	CHECK_STR(sfx_str(json_array_get(fail, 0), "arn"), CI_PREFIX "prod/0123456789abcdef");
	CHECK_STR(sfx_str(json_array_get(fail, 0), "reason"), "MISSING");
	CHECK_STR(sfx_str(json_array_get(fail, 1), "arn"),
	          sfx_str(elsewhere, "containerInstanceArn"));
	json_decref(out);
	json_decref(fail);
	json_decref(refs);
	refs = json_array();
	CHECK_INT(sched_instance_describe(f.s, "prod", refs, &out, &fail, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	for (int i = 0; i < 101; i++)
		json_array_append_new(refs, json_string(id));
	CHECK_INT(sched_instance_describe(f.s, "prod", refs, &out, &fail, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	json_decref(refs);
	refs = sfx_json("[7]");
	CHECK_INT(sched_instance_describe(f.s, "prod", refs, &out, &fail, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	json_decref(refs);
	refs = json_pack("[s]", id);
	CHECK_INT(sched_instance_describe(f.s, "nope", refs, &out, &fail, &f.err),
	          SCHED_ERR_CLUSTER_NOT_FOUND);
	json_decref(refs);
	json_decref(ci);
	json_decref(elsewhere);
	sfx_done(&f);
}

static json_t *run(struct sfx *f, const char *cluster, const char *td, int count)
{
	struct sched_run_request req = {.cluster = cluster, .task_definition = td, .count = count};
	json_t *tasks = NULL, *fails = NULL;
	if (sched_run_task(f->s, &req, &tasks, &fails, &f->err) != SCHED_OK)
		printf("    run_task: %s\n", f->err.message);
	json_decref(fails);
	return tasks;
}

static void register_web(struct sfx *f)
{
	json_t *in =
	    sfx_json("{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"web\","
	             "\"image\":\"nginx\",\"cpu\":256,\"memory\":512,\"portMappings\":"
	             "[{\"containerPort\":80,\"hostPort\":8080},{\"containerPort\":81}]}]}");
	json_t *td = NULL;
	if (sched_taskdef_register(f->s, in, &td, &f->err) != SCHED_OK)
		printf("    register web: %s\n", f->err.message);
	json_decref(td);
	json_decref(in);
}

static void test_remaining_resources_follow_the_tasks(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	register_web(&f);
	struct sched_instance_spec spec = {.cluster = "prod", .cpu = 1024, .memory = 2048};
	json_t *ci = reg(&f, &spec);
	const char *arn = sfx_str(ci, "containerInstanceArn");
	json_t *tasks = run(&f, "prod", "web", 1);
	CHECK_INT(json_array_size(tasks), 1);
	json_t *now = describe_one(&f, "prod", arn);
	CHECK_INT(res_int(now, "remainingResources", "CPU"), 1024 - 256);
	CHECK_INT(res_int(now, "remainingResources", "MEMORY"), 2048 - 512);
	CHECK(res_has_port(now, "remainingResources", "8080"));
	CHECK(!res_has_port(now, "registeredResources", "8080"));
	CHECK_INT(json_integer_value(json_object_get(now, "runningTasksCount")) +
	              json_integer_value(json_object_get(now, "pendingTasksCount")),
	          1);
	json_decref(now);
	/* a second task cannot have host port 8080 on the only instance */
	json_t *more = run(&f, "prod", "web", 1);
	CHECK_INT(json_array_size(more), 0);
	json_decref(more);

	/* stopped: everything comes back */
	json_t *task = NULL;
	CHECK_INT(sched_stop_task(f.s, "prod", sfx_str(json_array_get(tasks, 0), "taskArn"), "done",
	                          &task, &f.err),
	          SCHED_OK);
	json_decref(task);
	int changed = 0;
	CHECK_INT(sched_tick(f.s, &changed, &f.err), SCHED_OK);
	now = describe_one(&f, "prod", arn);
	CHECK_INT(res_int(now, "remainingResources", "CPU"), 1024);
	CHECK_INT(res_int(now, "remainingResources", "MEMORY"), 2048);
	CHECK(!res_has_port(now, "remainingResources", "8080"));
	CHECK_INT(json_integer_value(json_object_get(now, "runningTasksCount")), 0);
	json_decref(now);
	json_decref(tasks);
	json_decref(ci);
	sfx_done(&f);
}

static void test_draining_takes_an_instance_out_of_placement(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	register_web(&f);
	struct sched_instance_spec spec = {.cluster = "prod", .cpu = 1024, .memory = 2048};
	json_t *ci = reg(&f, &spec);
	const char *arn = sfx_str(ci, "containerInstanceArn");
	json_t *out = NULL;
	CHECK_INT(sched_instance_set_status(f.s, "prod", arn, "DRAINING", &out, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(out, "status"), "DRAINING");
	json_decref(out);
	json_t *tasks = run(&f, "prod", "web", 1);
	CHECK_INT(json_array_size(tasks), 0);
	json_decref(tasks);
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_instance_list(f.s, "prod", "ACTIVE", NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 0);
	json_decref(arns);
	CHECK_INT(sched_instance_list(f.s, "prod", "DRAINING", NULL, &arns, &next, &f.err),
	          SCHED_OK);
	CHECK_INT(json_array_size(arns), 1);
	json_decref(arns);
	CHECK_INT(sched_instance_set_status(f.s, "prod", arn, "ACTIVE", &out, &f.err), SCHED_OK);
	json_decref(out);
	tasks = run(&f, "prod", "web", 1);
	CHECK_INT(json_array_size(tasks), 1);
	json_decref(tasks);
	const char *bad[] = {"INACTIVE", "REGISTERING", "active", ""};
	for (size_t i = 0; i < 4; i++)
		CHECK_INT(sched_instance_set_status(f.s, "prod", arn, bad[i], &out, &f.err),
		          SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(sched_instance_set_status(f.s, "prod", "feedface", "DRAINING", &out, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	json_decref(ci);
	sfx_done(&f);
}

static void test_deregister_needs_force_while_tasks_run(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	register_web(&f);
	struct sched_instance_spec spec = {.cluster = "prod", .cpu = 1024, .memory = 2048};
	json_t *ci = reg(&f, &spec);
	const char *arn = sfx_str(ci, "containerInstanceArn");
	json_t *tasks = run(&f, "prod", "web", 1);
	CHECK_INT(json_array_size(tasks), 1);
	CHECK_INT(sched_fake_live(f.fake), 1);
	json_t *out = NULL;
	CHECK_INT(sched_instance_deregister(f.s, "prod", arn, false, &out, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	CHECK(strstr(f.err.message, "force") != NULL);
	CHECK(out == NULL);
	json_t *still = describe_one(&f, "prod", arn);
	CHECK_STR(sfx_str(still, "status"), "ACTIVE");
	json_decref(still);
	CHECK_INT(sched_fake_live(f.fake), 1);

	CHECK_INT(sched_instance_deregister(f.s, "prod", arn, true, &out, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(out, "status"), "INACTIVE");
	json_decref(out);
	CHECK_INT(sched_fake_live(f.fake), 0);
	json_t *task = NULL, *refs = json_pack("[s]", sfx_str(json_array_get(tasks, 0), "taskArn"));
	json_t *fails = NULL;
	CHECK_INT(sched_task_describe(f.s, "prod", refs, &task, &fails, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(json_array_get(task, 0), "desiredStatus"), "STOPPED");
	json_decref(task);
	json_decref(fails);
	json_decref(refs);
	CHECK_INT(cluster_count(&f, "prod", "registeredContainerInstancesCount"), 0);
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_instance_list(f.s, "prod", NULL, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 0);
	json_decref(arns);
	still = describe_one(&f, "prod", arn);
	CHECK_STR(sfx_str(still, "status"), "INACTIVE");
	json_decref(still);
	CHECK_INT(sched_instance_deregister(f.s, "prod", arn, true, &out, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(sched_instance_deregister(f.s, "prod", "0000", false, &out, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(sched_instance_deregister(f.s, "nope", arn, false, &out, &f.err),
	          SCHED_ERR_CLUSTER_NOT_FOUND);
	/* an empty instance needs no force */
	json_t *ci2 = reg(&f, &spec);
	CHECK_INT(sched_instance_deregister(f.s, "prod", sfx_str(ci2, "containerInstanceArn"),
	                                    false, &out, &f.err),
	          SCHED_OK);
	json_decref(out);
	json_decref(ci2);
	json_decref(tasks);
	json_decref(ci);
	sfx_done(&f);
}

struct list_args {
	const char *status, *filter;
};
static struct list_args g_list;

static int list_instances(struct sfx *f, const struct sched_page *p, json_t **arns, char **next)
{
	return sched_instance_list_filtered(f->s, "prod", g_list.status, g_list.filter, p, arns,
	                                    next, &f->err);
}

static void test_lists_by_status_and_filter_in_pages(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	const char *types[] = {"t3.micro", "m5.large", "t3.micro", "t3.small", "t3.micro"};
	json_t *made = json_array();
	for (int i = 0; i < 5; i++) {
		json_t *attrs =
		    json_pack("[{s:s,s:s}]", "name", "ecs.instance-type", "value", types[i]);
		struct sched_instance_spec spec = {
		    .cluster = "prod", .cpu = 1024, .memory = 1024, .attributes = attrs};
		json_t *ci = reg(&f, &spec);
		json_array_append_new(made, json_string(sfx_str(ci, "containerInstanceArn")));
		json_decref(ci);
		json_decref(attrs);
	}
	json_t *out = NULL;
	CHECK_INT(sched_instance_set_status(f.s, "prod", json_string_value(json_array_get(made, 1)),
	                                    "DRAINING", &out, &f.err),
	          SCHED_OK);
	json_decref(out);
	CHECK_INT(sched_instance_deregister(f.s, "prod", json_string_value(json_array_get(made, 3)),
	                                    false, &out, &f.err),
	          SCHED_OK);
	json_decref(out);

	int pages;
	g_list = (struct list_args){0};
	json_t *all = sfx_list_all(&f, 2, list_instances, &pages);
	CHECK_INT(json_array_size(all), 4); /* not the INACTIVE one */
	CHECK_INT(pages, 2);
	CHECK_STR(json_string_value(json_array_get(all, 0)),
	          json_string_value(json_array_get(made, 0)));
	json_decref(all);
	g_list.status = "ACTIVE";
	all = sfx_list_all(&f, 100, list_instances, &pages);
	CHECK_INT(json_array_size(all), 3);
	json_decref(all);
	g_list = (struct list_args){.filter = "attribute:ecs.instance-type == t3.micro"};
	all = sfx_list_all(&f, 1, list_instances, &pages);
	CHECK_INT(json_array_size(all), 3);
	CHECK_INT(pages, 3);
	CHECK_STR(json_string_value(json_array_get(all, 2)),
	          json_string_value(json_array_get(made, 4)));
	json_decref(all);
	g_list = (struct list_args){.filter = "attribute:ecs.instance-type != t3.micro",
	                            .status = "ACTIVE"};
	all = sfx_list_all(&f, 100, list_instances, &pages);
	CHECK_INT(json_array_size(all), 0); /* m5.large drains, t3.small is gone */
	json_decref(all);

	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_instance_list_filtered(f.s, "prod", NULL, "attribute:ecs.instance-type ==",
	                                       NULL, &arns, &next, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(sched_instance_list_filtered(f.s, "empty-or-not", NULL, NULL, NULL, &arns, &next,
	                                       &f.err),
	          SCHED_ERR_CLUSTER_NOT_FOUND);
	make_cluster(&f, "empty");
	CHECK_INT(
	    sched_instance_list_filtered(f.s, "empty", NULL, "((", NULL, &arns, &next, &f.err),
	    SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(sched_instance_list(f.s, "prod", "INACTIVE", NULL, &arns, &next, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	json_decref(made);
	sfx_done(&f);
}

static void test_a_restart_sees_every_instance_and_places_on_them(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	register_web(&f);
	struct sched_instance_spec spec = {.cluster = "prod", .cpu = 1024, .memory = 2048};
	json_t *ci = reg(&f, &spec);
	json_t *tasks = run(&f, "prod", "web", 1);
	CHECK_INT(json_array_size(tasks), 1);
	json_t *before = describe_one(&f, "prod", sfx_str(ci, "containerInstanceArn"));
	sfx_restart(&f);
	json_t *after = describe_one(&f, "prod", sfx_str(ci, "containerInstanceArn"));
	CHECK(json_equal(before, after));
	/* the port held before the restart is still held */
	json_t *more = run(&f, "prod", "web", 1);
	CHECK_INT(json_array_size(more), 0);
	json_decref(more);
	json_decref(before);
	json_decref(after);
	json_decref(tasks);
	json_decref(ci);
	sfx_done(&f);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"register gives ECS's container instance shape with defaults",
	     test_register_gives_the_ecs_shape},
	    {"the default cluster is made on registration; other clusters must exist",
	     test_the_default_cluster_is_made_others_must_exist},
	    {"register refuses bad input and makes nothing",
	     test_register_refuses_bad_input_and_makes_nothing},
	    {"the identity document gives defaults; the same host registers once",
	     test_identity_document_and_reregistration},
	    {"describe by id and ARN, with MISSING failures",
	     test_describe_by_id_and_arn_with_missing_failures},
	    {"remainingResources follow the tasks as they come and go",
	     test_remaining_resources_follow_the_tasks},
	    {"DRAINING takes an instance out of placement and ACTIVE brings it back",
	     test_draining_takes_an_instance_out_of_placement},
	    {"deregister needs force while tasks run, and force stops them",
	     test_deregister_needs_force_while_tasks_run},
	    {"lists by status and filter, in pages", test_lists_by_status_and_filter_in_pages},
	    {"a restart sees every instance and what its tasks hold",
	     test_a_restart_sees_every_instance_and_places_on_them},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
