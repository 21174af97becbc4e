/*
 * test_sched_placement.c - placement (scheduler/placement.c, usage.c):
 * every strategy and constraint, the cluster query language, CPU, memory and
 * port accounting, dynamic host ports, over instances and tasks built by hand
 * (no store writes), with the fixture's counter as randomness.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_sched_fixture.h"

#include "scheduler/sched_int.h"

#define CL "arn:aws:ecs:us-east-1:123456789012:cluster/c"

struct world {
	struct sfx f;
	struct sched_objs insts;
	struct sched_objs tasks;
	struct sched_usage *u;
	size_t n_u;
	const char *reasons[16];
};

static char *inst_arn(int i)
{
	static char buf[8][128];
	static int k;
	char *b = buf[k++ % 8];
	snprintf(b, 128, "arn:aws:ecs:us-east-1:123456789012:container-instance/c/i%d", i);
	return b;
}

/* An instance: cpu, memory, az, instance type, reserved tcp ports. */
static void add_inst(struct world *w, int cpu, int mem, const char *az, const char *type,
                     const char *reserved)
{
	int i = (int)w->insts.n;
	char id[16], ec2[32];
	snprintf(id, sizeof(id), "i%d", i);
	snprintf(ec2, sizeof(ec2), "i-%08d", i);
	char text[2048];
	snprintf(
	    text, sizeof(text),
	    "{\"containerInstanceArn\":\"%s\",\"ec2InstanceId\":\"%s\",\"status\":\"ACTIVE\","
	    "\"registeredAt\":%d,\"versionInfo\":{\"agentVersion\":\"1.%d.0\"},"
	    "\"attributes\":[{\"name\":\"ecs.availability-zone\",\"value\":\"%s\"},"
	    "{\"name\":\"ecs.instance-type\",\"value\":\"%s\"},"
	    "{\"name\":\"ecs.capability.docker\"}%s],"
	    "\"registeredResources\":[{\"name\":\"CPU\",\"type\":\"INTEGER\","
	    "\"integerValue\":%d},{\"name\":\"MEMORY\",\"type\":\"INTEGER\",\"integerValue\":%d},"
	    "{\"name\":\"PORTS\",\"type\":\"STRINGSET\",\"stringSetValue\":[%s]}]}",
	    inst_arn(i), ec2, 1000 + i, i, az, type,
	    i == 1 ? ",{\"name\":\"stack\",\"value\":\"prod\"}" : "", cpu, mem,
	    reserved ? reserved : "");
	w->insts.v = realloc(w->insts.v, (w->insts.n + 1) * sizeof(*w->insts.v));
	struct sched_error err;
	CHECK_INT(sched_obj_init(&w->insts.v[w->insts.n], STORE_SCHED_CONTAINER_INSTANCE,
	                         inst_arn(i), CL, id, "ACTIVE", sfx_json(text), &err),
	          SCHED_OK);
	w->insts.n++;
}

/* A live task of group on instance i holding cpu/memory and a host port. */
static void add_task(struct world *w, int i, const char *group, int cpu, int mem, int port,
                     bool udp)
{
	char arn[128], id[16], text[1024];
	snprintf(id, sizeof(id), "t%zu", w->tasks.n);
	snprintf(arn, sizeof(arn), "arn:aws:ecs:us-east-1:123456789012:task/c/%s", id);
	snprintf(text, sizeof(text),
	         "{\"taskArn\":\"%s\",\"group\":\"%s\",\"cpu\":\"%d\",\"memory\":\"%d\","
	         "\"lastStatus\":\"RUNNING\",\"desiredStatus\":\"RUNNING\",\"containers\":[{"
	         "\"name\":\"web\",\"networkBindings\":[%s]}]}",
	         arn, group, cpu, mem, "");
	json_t *doc = sfx_json(text);
	if (port > 0)
		json_array_append_new(
		    json_object_get(json_array_get(json_object_get(doc, "containers"), 0),
		                    "networkBindings"),
		    json_pack("{s:s,s:i,s:i,s:s}", "bindIP", "0.0.0.0", "containerPort", 80,
		              "hostPort", port, "protocol", udp ? "udp" : "tcp"));
	w->tasks.v = realloc(w->tasks.v, (w->tasks.n + 1) * sizeof(*w->tasks.v));
	struct sched_obj *o = &w->tasks.v[w->tasks.n];
	struct sched_error err;
	CHECK_INT(sched_obj_init(o, STORE_SCHED_TASK, arn, CL, id, "RUNNING", doc, &err), SCHED_OK);
	sched_obj_set_str(o, &o->row.parent, inst_arn(i), &err);
	sched_obj_set_str(o, &o->row.grp, "RUNNING", &err);
	w->tasks.n++;
}

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	sfx_init(&w->f);
}

static void usages(struct world *w)
{
	for (size_t i = 0; w->u && i < w->n_u; i++)
		sched_usage_free(&w->u[i]);
	free(w->u);
	w->n_u = w->insts.n;
	w->u = calloc(w->insts.n + 1, sizeof(*w->u));
	for (size_t i = 0; i < w->insts.n; i++)
		CHECK_INT(sched_usage_of(w->f.s, &w->insts.v[i], &w->tasks, &w->u[i], &w->f.err),
		          SCHED_OK);
}

static void world_done(struct world *w)
{
	for (size_t i = 0; w->u && i < w->n_u; i++)
		sched_usage_free(&w->u[i]);
	free(w->u);
	sched_objs_free(&w->insts);
	sched_objs_free(&w->tasks);
	sfx_done(&w->f);
}

/* Places one task of group with need cpu/memory (and one port mapping when
 * port >= 0: 0 dynamic), strategy and constraints as JSON text (or NULL). */
static int place(struct world *w, const char *group, int cpu, int mem, int port,
                 const char *strategy, const char *constraints)
{
	usages(w);
	struct sched_port pt = {.container_port = 80, .host_port = port, .container = "web"};
	struct sched_need need = {.cpu = cpu,
	                          .memory = mem,
	                          .ports = port >= 0 ? &pt : NULL,
	                          .n_ports = port >= 0 ? 1 : 0};
	json_t *st = strategy ? sfx_json(strategy) : NULL;
	json_t *co = constraints ? sfx_json(constraints) : NULL;
	CHECK_INT(sched_placement_check(st, co, &w->f.err), SCHED_OK);
	int chosen = -2;
	CHECK_INT(sched_place(w->f.s, &w->insts, w->u, &w->tasks, group, &need, st, co, &chosen,
	                      w->reasons, &w->f.err),
	          SCHED_OK);
	json_decref(st);
	json_decref(co);
	return chosen;
}

static void test_binpack_memory_and_cpu(void)
{
	struct world w;
	world_init(&w);
	add_inst(&w, 2048, 4096, "a", "t3.large", NULL);
	add_inst(&w, 4096, 2048, "a", "t3.large", NULL);
	add_inst(&w, 1024, 8192, "b", "t3.large", NULL);
	/* memory: instance 1 has the least memory left that still fits */
	CHECK_INT(
	    place(&w, "g", 100, 1024, -1, "[{\"type\":\"binpack\",\"field\":\"memory\"}]", NULL),
	    1);
	/* cpu: instance 2 has the least CPU */
	CHECK_INT(place(&w, "g", 100, 1024, -1, "[{\"type\":\"binpack\",\"field\":\"cpu\"}]", NULL),
	          2);
	/* tasks already there count: fill instance 2's CPU, then 0 is tightest */
	add_task(&w, 2, "x", 1000, 100, 0, false);
	CHECK_INT(place(&w, "g", 100, 1024, -1, "[{\"type\":\"binpack\",\"field\":\"CPU\"}]", NULL),
	          0);
	CHECK(w.reasons[2] != NULL && strcmp(w.reasons[2], "RESOURCE:CPU") == 0);
	world_done(&w);
}

static void test_spread_instance_and_attribute(void)
{
	struct world w;
	world_init(&w);
	add_inst(&w, 4096, 4096, "us-east-1a", "t3.large", NULL);
	add_inst(&w, 4096, 4096, "us-east-1a", "t3.large", NULL);
	add_inst(&w, 4096, 4096, "us-east-1b", "t3.large", NULL);
	add_task(&w, 0, "service:web", 10, 10, 0, false);
	add_task(&w, 2, "service:web", 10, 10, 0, false);
	add_task(&w, 1, "other", 10, 10, 0, false);
	add_task(&w, 1, "other", 10, 10, 0, false);
	/* instanceId: only instance 1 has no task of the group (other groups
	 * do not count) */
	CHECK_INT(place(&w, "service:web", 10, 10, -1,
	                "[{\"type\":\"spread\",\"field\":\"instanceId\"}]", NULL),
	          1);
	/* by zone: a has 1 task of the group and b 1: a tie, first registered */
	CHECK_INT(place(&w, "service:web", 10, 10, -1,
	                "[{\"type\":\"spread\",\"field\":\"attribute:ecs.availability-zone\"}]",
	                NULL),
	          0);
	add_task(&w, 1, "service:web", 10, 10, 0, false);
	/* now a has 2, b has 1 */
	CHECK_INT(place(&w, "service:web", 10, 10, -1,
	                "[{\"type\":\"spread\",\"field\":\"attribute:ecs.availability-zone\"}]",
	                NULL),
	          2);
	/* zone first, then instance: in zone a both have one; the tie goes
	 * to binpack on memory next */
	add_task(&w, 2, "service:web", 10, 10, 0, false);
	add_task(&w, 1, "x", 10, 1000, 0, false);
	CHECK_INT(place(&w, "service:web", 10, 10, -1,
	                "[{\"type\":\"spread\",\"field\":\"attribute:ecs.availability-zone\"},"
	                "{\"type\":\"spread\",\"field\":\"instanceId\"},"
	                "{\"type\":\"binpack\",\"field\":\"memory\"}]",
	                NULL),
	          1);
	world_done(&w);
}

static void test_random_uses_injected_randomness(void)
{
	struct world w;
	world_init(&w);
	for (int i = 0; i < 4; i++)
		add_inst(&w, 1024, 1024, "a", "t3.large", NULL);
	int seen[4] = {0};
	uint64_t start = w.f.counter;
	for (int k = 0; k < 40; k++) {
		int c = place(&w, "g", 1, 1, -1, "[{\"type\":\"random\"}]", NULL);
		CHECK(c >= 0 && c < 4);
		if (c >= 0 && c < 4)
			seen[c]++;
	}
	CHECK(w.f.counter > start); /* the scheduler's randomness was drawn */
	for (int i = 0; i < 4; i++)
		CHECK(seen[i] > 0);
	/* the same counter gives the same choices */
	uint64_t keep = w.f.counter;
	int a = place(&w, "g", 1, 1, -1, "[{\"type\":\"random\"}]", NULL);
	w.f.counter = keep;
	int b = place(&w, "g", 1, 1, -1, "[{\"type\":\"random\"}]", NULL);
	CHECK_INT(a, b);
	/* random only picks among instances that fit */
	add_task(&w, 0, "x", 1024, 1, 0, false);
	add_task(&w, 1, "x", 1024, 1, 0, false);
	add_task(&w, 2, "x", 1024, 1, 0, false);
	for (int k = 0; k < 10; k++)
		CHECK_INT(place(&w, "g", 1, 1, -1, "[{\"type\":\"random\"}]", NULL), 3);
	world_done(&w);
}

static void test_distinct_instance(void)
{
	struct world w;
	world_init(&w);
	add_inst(&w, 1024, 1024, "a", "t3.large", NULL);
	add_inst(&w, 1024, 1024, "a", "t3.large", NULL);
	add_task(&w, 0, "g", 1, 1, 0, false);
	const char *c = "[{\"type\":\"distinctInstance\"}]";
	CHECK_INT(place(&w, "g", 1, 1, -1, NULL, c), 1);
	CHECK_STR(w.reasons[0], "DistinctInstance placement constraint unsatisfied");
	add_task(&w, 1, "g", 1, 1, 0, false);
	CHECK_INT(place(&w, "g", 1, 1, -1, NULL, c), -1);
	CHECK_STR(w.reasons[1], "DistinctInstance placement constraint unsatisfied");
	/* another group is free to go anywhere */
	CHECK_INT(place(&w, "h", 1, 1, -1, NULL, c), 0);
	world_done(&w);
}

static void test_member_of_constraint(void)
{
	struct world w;
	world_init(&w);
	add_inst(&w, 1024, 1024, "us-east-1a", "t2.micro", NULL);
	add_inst(&w, 1024, 1024, "us-east-1b", "m5.large", NULL);
	const char *c = "[{\"type\":\"memberOf\",\"expression\":"
	                "\"attribute:ecs.instance-type =~ m5.*\"}]";
	CHECK_INT(place(&w, "g", 1, 1, -1, NULL, c), 1);
	CHECK_STR(w.reasons[0], "MemberOf placement constraint unsatisfied");
	c = "[{\"type\":\"memberOf\",\"expression\":\"attribute:stack == dev\"}]";
	CHECK_INT(place(&w, "g", 1, 1, -1, NULL, c), -1);
	CHECK_STR(w.reasons[0], "MemberOf placement constraint unsatisfied");
	CHECK_STR(w.reasons[1], "MemberOf placement constraint unsatisfied");
	/* two constraints: both must hold */
	c = "[{\"type\":\"memberOf\",\"expression\":\"attribute:ecs.availability-zone in "
	    "[us-east-1a, us-east-1b]\"},{\"type\":\"memberOf\",\"expression\":"
	    "\"not attribute:stack exists\"}]";
	CHECK_INT(place(&w, "g", 1, 1, -1, NULL, c), 0);
	world_done(&w);
}

static bool eval(struct world *w, int i, const char *expr)
{
	bool r = false;
	int rc = sched_expr_eval(expr, &w->insts.v[i], &w->tasks, &r, &w->f.err);
	if (rc != SCHED_OK) {
		fprintf(stdout, "    %s: %s\n", expr, w->f.err.message);
		CHECK_INT(rc, SCHED_OK);
	}
	return r;
}

static void test_query_language(void)
{
	struct world w;
	world_init(&w);
	add_inst(&w, 1024, 1024, "us-east-1a", "t2.micro", NULL);
	add_inst(&w, 1024, 1024, "us-east-1b", "m5.large", NULL);
	add_task(&w, 1, "service:db", 1, 1, 0, false);
	CHECK(eval(&w, 0, "attribute:ecs.instance-type == t2.micro"));
	CHECK(!eval(&w, 1, "attribute:ecs.instance-type == t2.micro"));
	CHECK(eval(&w, 1, "attribute:ecs.instance-type != t2.micro"));
	CHECK(eval(&w, 0, "attribute:ecs.instance-type equals t2.micro"));
	CHECK(eval(&w, 0, "attribute:ecs.instance-type =~ t2.*"));
	CHECK(eval(&w, 0, "attribute:ecs.instance-type matches t?.micro"));
	CHECK(!eval(&w, 1, "attribute:ecs.instance-type =~ t2.*"));
	CHECK(eval(&w, 1, "attribute:ecs.instance-type !~ t2.*"));
	CHECK(eval(&w, 0, "attribute:ecs.availability-zone in [us-east-1a, us-east-1c]"));
	CHECK(!eval(&w, 1, "attribute:ecs.availability-zone in [us-east-1a, us-east-1c]"));
	CHECK(eval(&w, 1, "attribute:ecs.availability-zone not_in [us-east-1a]"));
	CHECK(eval(&w, 1, "attribute:stack exists"));
	CHECK(!eval(&w, 0, "attribute:stack exists"));
	CHECK(eval(&w, 0, "attribute:stack !exists"));
	CHECK(eval(&w, 0, "attribute:ecs.capability.docker exists")); /* no value */
	CHECK(!eval(&w, 0, "attribute:stack == prod"));
	CHECK(eval(&w, 0, "attribute:stack != prod")); /* absent: not equal */
	CHECK(eval(&w, 1, "attribute:stack == prod and attribute:ecs.instance-type =~ m5.*"));
	CHECK(!eval(&w, 0, "attribute:stack == prod and attribute:ecs.instance-type =~ t2.*"));
	CHECK(eval(&w, 0, "attribute:stack == prod or attribute:ecs.instance-type =~ t2.*"));
	CHECK(eval(&w, 0,
	           "(attribute:stack == prod or attribute:ecs.availability-zone == "
	           "us-east-1a) and not attribute:ecs.instance-type == m5.large"));
	/* and binds tighter than or */
	CHECK(eval(&w, 0,
	           "attribute:stack == x and attribute:stack == y or ec2InstanceId == "
	           "i-00000000"));
	CHECK(eval(&w, 0, "ec2InstanceId == i-00000000"));
	CHECK(eval(&w, 1, "instanceId in [i-00000001, i-00000009]"));
	CHECK(eval(&w, 1, "task:group == service:db"));
	CHECK(!eval(&w, 0, "task:group == service:db"));
	CHECK(eval(&w, 0, "not task:group == service:db"));
	CHECK(eval(&w, 1, "registeredAt > 1000"));
	CHECK(!eval(&w, 0, "registeredAt > 1000"));
	CHECK(eval(&w, 0, "registeredAt <= 1000"));
	CHECK(eval(&w, 1, "agentVersion >= 1.1.0"));
	CHECK(eval(&w, 1, "runningTasksCount < 5"));
	CHECK(eval(&w, 0, "agentConnected == true"));
	CHECK(eval(&w, 0, "attribute:ecs.instance-type == 't2.micro'"));
	world_done(&w);
}

static void test_bad_expressions_and_strategies_refused(void)
{
	struct sfx f;
	sfx_init(&f);
	const char *bad_exprs[] = {
	    "",
	    "attribute:x",
	    "attribute:x ==",
	    "nosuch == 1",
	    "attribute:x in a, b",
	    "attribute:x in [a, b",
	    "(attribute:x == 1",
	    "attribute:x == 1 and",
	    "attribute:x == 1 attribute:y == 2",
	    "attribute:x <> 1",
	};
	for (size_t i = 0; i < sizeof(bad_exprs) / sizeof(bad_exprs[0]); i++) {
		json_t *c =
		    json_pack("[{s:s,s:s}]", "type", "memberOf", "expression", bad_exprs[i]);
		int rc = sched_placement_check(NULL, c, &f.err);
		if (rc != SCHED_ERR_INVALID_PARAMETER)
			fprintf(stdout, "    accepted: \"%s\"\n", bad_exprs[i]);
		CHECK_INT(rc, SCHED_ERR_INVALID_PARAMETER);
		json_decref(c);
	}
	char deep[300];
	memset(deep, '(', 100);
	snprintf(deep + 100, sizeof(deep) - 100, "attribute:x == 1");
	json_t *c = json_pack("[{s:s,s:s}]", "type", "memberOf", "expression", deep);
	CHECK_INT(sched_placement_check(NULL, c, &f.err), SCHED_ERR_INVALID_PARAMETER);
	json_decref(c);
	const char *bad_strategies[] = {
	    "[{\"type\":\"binpack\"}]",
	    "[{\"type\":\"binpack\",\"field\":\"disk\"}]",
	    "[{\"type\":\"spread\"}]",
	    "[{\"type\":\"spread\",\"field\":\"zone\"}]",
	    "[{\"type\":\"random\",\"field\":\"cpu\"}]",
	    "[{\"type\":\"pack\"}]",
	    "[{}]",
	    "{\"type\":\"random\"}",
	    "[{\"type\":\"random\"},{\"type\":\"random\"},{\"type\":\"random\"},"
	    "{\"type\":\"random\"},{\"type\":\"random\"},{\"type\":\"random\"}]",
	};
	for (size_t i = 0; i < sizeof(bad_strategies) / sizeof(bad_strategies[0]); i++) {
		json_t *st = sfx_json(bad_strategies[i]);
		CHECK_INT(sched_placement_check(st, NULL, &f.err), SCHED_ERR_INVALID_PARAMETER);
		json_decref(st);
	}
	json_t *dc = sfx_json("[{\"type\":\"distinctInstance\",\"expression\":\"a == b\"}]");
	CHECK_INT(sched_placement_check(NULL, dc, &f.err), SCHED_ERR_INVALID_PARAMETER);
	json_decref(dc);
	dc = sfx_json("[{\"type\":\"sameInstance\"}]");
	CHECK_INT(sched_placement_check(NULL, dc, &f.err), SCHED_ERR_INVALID_PARAMETER);
	json_decref(dc);
	json_t *ok = sfx_json("[{\"type\":\"spread\",\"field\":\"host\"},"
	                      "{\"type\":\"binpack\",\"field\":\"memory\"},{\"type\":\"random\"}]");
	CHECK_INT(sched_placement_check(ok, NULL, &f.err), SCHED_OK);
	json_decref(ok);
	sfx_done(&f);
}

static void test_cpu_memory_reasons(void)
{
	struct world w;
	world_init(&w);
	add_inst(&w, 512, 4096, "a", "t3", NULL);
	add_inst(&w, 4096, 512, "a", "t3", NULL);
	CHECK_INT(place(&w, "g", 1024, 1024, -1, NULL, NULL), -1);
	CHECK_STR(w.reasons[0], "RESOURCE:CPU");
	CHECK_STR(w.reasons[1], "RESOURCE:MEMORY");
	/* exactly what is left fits */
	CHECK_INT(place(&w, "g", 512, 4096, -1, NULL, NULL), 0);
	add_task(&w, 0, "x", 256, 0, 0, false);
	CHECK_INT(place(&w, "g", 512, 1, -1, NULL, NULL), 1);
	CHECK_STR(w.reasons[0], "RESOURCE:CPU");
	world_done(&w);
}

static void test_static_ports_exclusive(void)
{
	struct world w;
	world_init(&w);
	add_inst(&w, 4096, 4096, "a", "t3", "\"22\",\"8080\"");
	add_inst(&w, 4096, 4096, "a", "t3", "\"22\"");
	/* reserved by the instance */
	CHECK_INT(place(&w, "g", 1, 1, 8080, NULL, NULL), 1);
	CHECK_STR(w.reasons[0], "RESOURCE:PORTS");
	/* taken by a task */
	add_task(&w, 1, "x", 1, 1, 8080, false);
	CHECK_INT(place(&w, "g", 1, 1, 8080, NULL, NULL), -1);
	CHECK_STR(w.reasons[0], "RESOURCE:PORTS");
	CHECK_STR(w.reasons[1], "RESOURCE:PORTS");
	/* udp is another space: a udp binding does not take tcp 9090 */
	add_task(&w, 0, "x", 1, 1, 9090, true);
	CHECK_INT(place(&w, "g", 1, 1, 9090, NULL, NULL), 0);
	/* a stopped task gives its port back */
	sched_obj_set_str(&w.tasks.v[0], &w.tasks.v[0].row.status, "STOPPED", &w.f.err);
	CHECK_INT(place(&w, "g", 1, 1, 8080, NULL, NULL), 1);
	world_done(&w);
}

static void test_dynamic_ports(void)
{
	struct world w;
	memset(&w, 0, sizeof(w));
	sfx_init(&w.f);
	w.f.port_min = 50000;
	w.f.port_max = 50003;
	sfx_restart(&w.f);
	add_inst(&w, 4096, 4096, "a", "t3", "\"50001\"");
	add_task(&w, 0, "x", 1, 1, 50000, false);
	usages(&w);
	struct sched_port pts[3] = {
	    {.container_port = 80, .host_port = 0, .container = "web"},
	    {.container_port = 81, .host_port = 50003, .container = "web"},
	    {.container_port = 82, .host_port = 0, .container = "web"},
	};
	struct sched_need need = {.cpu = 1, .memory = 1, .ports = pts, .n_ports = 2};
	int got[3] = {0};
	/* lowest free: 50000 and 50001 are taken, 50002 is free */
	CHECK_INT(sched_ports_fit(w.f.s, &w.u[0], &need, got), 0);
	CHECK_INT(got[0], 50002);
	CHECK_INT(got[1], 50003);
	/* a second dynamic port cannot take 50003, the task's own static one */
	need.n_ports = 3;
	CHECK_INT(sched_ports_fit(w.f.s, &w.u[0], &need, got), -1);
	CHECK_INT(place(&w, "g", 1, 1, 0, NULL, NULL), 0);
	/* range used up: RESOURCE:PORTS */
	add_task(&w, 0, "x", 1, 1, 50002, false);
	add_task(&w, 0, "x", 1, 1, 50003, false);
	CHECK_INT(place(&w, "g", 1, 1, 0, NULL, NULL), -1);
	CHECK_STR(w.reasons[0], "RESOURCE:PORTS");
	/* the same port over udp is free */
	world_done(&w);
}

static void test_need_from_taskdef_and_overrides(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *td = sfx_json(
	    "{\"family\":\"web\",\"networkMode\":\"bridge\",\"containerDefinitions\":["
	    "{\"name\":\"a\",\"cpu\":256,\"memory\":512,\"portMappings\":[{\"containerPort\":80},"
	    "{\"containerPort\":53,\"hostPort\":5353,\"protocol\":\"udp\"}]},"
	    "{\"name\":\"b\",\"cpu\":128,\"memory\":512,\"memoryReservation\":128}]}");
	struct sched_need n;
	CHECK_INT(sched_need_of(td, NULL, &n, &f.err), SCHED_OK);
	CHECK_INT(n.cpu, 384);
	CHECK_INT(n.memory, 640);
	CHECK_INT(n.n_ports, 2);
	CHECK_INT(n.ports[0].host_port, 0);
	CHECK_INT(n.ports[1].host_port, 5353);
	CHECK(n.ports[1].udp);
	CHECK_STR(n.ports[0].container, "a");
	sched_need_free(&n);
	json_t *ov = sfx_json("{\"containerOverrides\":[{\"name\":\"a\",\"cpu\":512,"
	                      "\"memory\":1024}]}");
	CHECK_INT(sched_need_of(td, ov, &n, &f.err), SCHED_OK);
	CHECK_INT(n.cpu, 640);
	CHECK_INT(n.memory, 1152);
	sched_need_free(&n);
	json_decref(ov);
	ov = sfx_json("{\"cpu\":\"1 vCPU\",\"memory\":\"2 GB\"}");
	CHECK_INT(sched_need_of(td, ov, &n, &f.err), SCHED_OK);
	CHECK_INT(n.cpu, 1024);
	CHECK_INT(n.memory, 2048);
	sched_need_free(&n);
	json_decref(ov);
	/* host mode: the host port is the container port */
	json_object_set_new(td, "networkMode", json_string("host"));
	CHECK_INT(sched_need_of(td, NULL, &n, &f.err), SCHED_OK);
	CHECK_INT(n.ports[0].host_port, 80);
	sched_need_free(&n);
	json_object_set_new(td, "networkMode", json_string("none"));
	CHECK_INT(sched_need_of(td, NULL, &n, &f.err), SCHED_OK);
	CHECK_INT(n.n_ports, 0);
	sched_need_free(&n);
	json_object_set_new(td, "cpu", json_string("lots"));
	CHECK_INT(sched_need_of(td, NULL, &n, &f.err), SCHED_ERR_INVALID_PARAMETER);
	json_decref(td);
	sfx_done(&f);
}

static void test_instance_refresh_remaining(void)
{
	struct world w;
	world_init(&w);
	add_inst(&w, 2048, 4096, "a", "t3", "\"22\"");
	add_task(&w, 0, "x", 512, 1024, 49153, false);
	add_task(&w, 0, "x", 256, 256, 53, true);
	CHECK_INT(sched_instance_refresh(w.f.s, &w.insts.v[0], &w.tasks, &w.f.err), SCHED_OK);
	json_t *rem = json_object_get(w.insts.v[0].doc, "remainingResources");
	CHECK_INT(json_integer_value(json_object_get(json_array_get(rem, 0), "integerValue")),
	          2048 - 768);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(rem, 1), "integerValue")),
	          4096 - 1280);
	json_t *ports = json_object_get(json_array_get(rem, 2), "stringSetValue");
	CHECK_INT(json_array_size(ports), 2);
	CHECK_STR(json_string_value(json_array_get(ports, 1)), "49153");
	json_t *udp = json_object_get(json_array_get(rem, 3), "stringSetValue");
	CHECK_STR(json_string_value(json_array_get(udp, 0)), "53");
	CHECK_INT(json_integer_value(json_object_get(w.insts.v[0].doc, "runningTasksCount")), 2);
	world_done(&w);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"binpack keeps the instance with the least memory or CPU left",
	     test_binpack_memory_and_cpu},
	    {"spread by instanceId and by attribute counts only the group's tasks",
	     test_spread_instance_and_attribute},
	    {"random picks among fitting instances from the injected randomness",
	     test_random_uses_injected_randomness},
	    {"distinctInstance keeps a group's tasks on different instances",
	     test_distinct_instance},
	    {"memberOf constraints filter by expression with ECS's reason",
	     test_member_of_constraint},
	    {"the cluster query language: operators, lists, exists, and/or/not, subjects",
	     test_query_language},
	    {"malformed expressions, strategies and constraint types are refused",
	     test_bad_expressions_and_strategies_refused},
	    {"instances without CPU or memory left say RESOURCE:CPU / RESOURCE:MEMORY",
	     test_cpu_memory_reasons},
	    {"a static host port is exclusive per instance and protocol",
	     test_static_ports_exclusive},
	    {"dynamic host ports: lowest free of the range, never a taken one", test_dynamic_ports},
	    {"a task's need: containers, reservations, overrides, task-level sizes, network modes",
	     test_need_from_taskdef_and_overrides},
	    {"an instance's remainingResources and task counts follow its tasks",
	     test_instance_refresh_remaining},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
