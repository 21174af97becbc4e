/*
 * test_sched_taskdef.c - task definitions (scheduler/taskdef.c) on a real
 * store: what RegisterTaskDefinition accepts and refuses, the normalized
 * document, revisions, deregistration, lookups, the two lists and their
 * pages, and a restart.
 */
#include <pthread.h>

#include "tests/unit/check.h"
#include "tests/unit/test_sched_fixture.h"

#define TD_ARN(ref) "arn:aws:ecs:us-east-1:123456789012:task-definition/" ref

/* Registers the JSON text; returns the status, *out the definition. */
static int reg(struct sfx *f, const char *text, json_t **out)
{
	json_t *in = sfx_json(text);
	json_t *td = NULL;
	int rc = sched_taskdef_register(f->s, in, &td, &f->err);
	json_decref(in);
	if (out)
		*out = td;
	else
		json_decref(td);
	return rc;
}

#define WEB "\"containerDefinitions\":[{\"name\":\"web\",\"image\":\"nginx:1.25\",\"memory\":128}]"

static void test_register_fills_ecs_defaults(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *td = NULL;
	CHECK_INT(reg(&f, "{\"family\":\"web\"," WEB "}", &td), SCHED_OK);
	CHECK_STR(sfx_str(td, "taskDefinitionArn"), TD_ARN("web:1"));
	CHECK_STR(sfx_str(td, "family"), "web");
	CHECK_INT(json_integer_value(json_object_get(td, "revision")), 1);
	CHECK_STR(sfx_str(td, "status"), "ACTIVE");
	CHECK_STR(sfx_str(td, "networkMode"), "bridge");
	CHECK(json_is_number(json_object_get(td, "registeredAt")));
	CHECK(json_real_value(json_object_get(td, "registeredAt")) == 1700000000.0);
	json_t *compat = sfx_json("[\"EC2\",\"EXTERNAL\"]");
	CHECK(json_equal(json_object_get(td, "compatibilities"), compat));
	json_decref(compat);
	CHECK_INT(json_array_size(json_object_get(td, "volumes")), 0);
	CHECK(json_object_get(td, "cpu") == NULL);
	CHECK(json_object_get(td, "taskRoleArn") == NULL);
	json_t *c = json_array_get(json_object_get(td, "containerDefinitions"), 0);
	CHECK_STR(sfx_str(c, "name"), "web");
	CHECK_STR(sfx_str(c, "image"), "nginx:1.25");
	CHECK_INT(json_integer_value(json_object_get(c, "cpu")), 0);
	CHECK_INT(json_integer_value(json_object_get(c, "memory")), 128);
	CHECK(json_is_true(json_object_get(c, "essential")));
	CHECK_INT(json_array_size(json_object_get(c, "portMappings")), 0);
	CHECK_INT(json_array_size(json_object_get(c, "environment")), 0);
	CHECK(json_is_array(json_object_get(c, "mountPoints")));
	json_decref(td);
	sfx_done(&f);
}

static void test_a_full_definition_keeps_every_field(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *td = NULL;
	CHECK_INT(
	    reg(&f,
	        "{\"family\":\"api\",\"networkMode\":\"bridge\","
	        "\"taskRoleArn\":\"arn:aws:iam::123456789012:role/app/api-task\","
	        "\"executionRoleArn\":\"arn:aws:iam::123456789012:role/exec\","
	        "\"cpu\":\"1 vCPU\",\"memory\":\"1 GB\","
	        "\"requiresCompatibilities\":[\"EC2\"],"
	        "\"tags\":[{\"key\":\"team\",\"value\":\"api\"}],"
	        "\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"ghcr.io/x/api@sha256:ab\","
	        "\"cpu\":512,\"memoryReservation\":256,\"memory\":512,"
	        "\"portMappings\":[{\"containerPort\":8080},"
	        "{\"containerPort\":53,\"hostPort\":5353,\"protocol\":\"udp\"}],"
	        "\"environment\":[{\"name\":\"MODE\",\"value\":\"prod\"},{\"name\":\"EMPTY\"}],"
	        "\"command\":[\"serve\",\"--port\",\"8080\"],\"entryPoint\":[\"/bin/api\"],"
	        "\"workingDirectory\":\"/srv\",\"user\":\"1000\",\"stopTimeout\":30,"
	        "\"dockerLabels\":{\"tier\":\"web\"},"
	        "\"healthCheck\":{\"command\":[\"CMD-SHELL\",\"true\"]}},"
	        "{\"name\":\"sidecar\",\"image\":\"busybox\",\"essential\":false}]}",
	        &td),
	    SCHED_OK);
	CHECK_STR(sfx_str(td, "cpu"), "1024");
	CHECK_STR(sfx_str(td, "memory"), "1024");
	CHECK_STR(sfx_str(td, "taskRoleArn"), "arn:aws:iam::123456789012:role/app/api-task");
	CHECK_STR(sfx_str(td, "executionRoleArn"), "arn:aws:iam::123456789012:role/exec");
	CHECK_STR(sfx_str(json_array_get(json_object_get(td, "tags"), 0), "key"), "team");
	json_t *req = sfx_json("[\"EC2\"]");
	CHECK(json_equal(json_object_get(td, "requiresCompatibilities"), req));
	json_decref(req);
	json_t *defs = json_object_get(td, "containerDefinitions");
	json_t *app = json_array_get(defs, 0);
	json_t *pm = json_object_get(app, "portMappings");
	CHECK_INT(json_integer_value(json_object_get(json_array_get(pm, 0), "hostPort")), 0);
	CHECK_STR(sfx_str(json_array_get(pm, 0), "protocol"), "tcp");
	CHECK_INT(json_integer_value(json_object_get(json_array_get(pm, 1), "hostPort")), 5353);
	CHECK_STR(sfx_str(json_array_get(pm, 1), "protocol"), "udp");
	json_t *env = json_object_get(app, "environment");
	CHECK_STR(sfx_str(json_array_get(env, 1), "name"), "EMPTY");
	CHECK_STR(sfx_str(json_array_get(env, 1), "value"), "");
	CHECK_STR(json_string_value(json_array_get(json_object_get(app, "command"), 2)), "8080");
	CHECK_STR(json_string_value(json_array_get(json_object_get(app, "entryPoint"), 0)),
	          "/bin/api");
	CHECK_STR(sfx_str(app, "workingDirectory"), "/srv");
	CHECK_STR(sfx_str(json_object_get(app, "dockerLabels"), "tier"), "web");
	json_t *hc = json_object_get(app, "healthCheck");
	CHECK_INT(json_integer_value(json_object_get(hc, "interval")), 30);
	CHECK_INT(json_integer_value(json_object_get(hc, "timeout")), 5);
	CHECK_INT(json_integer_value(json_object_get(hc, "retries")), 3);
	CHECK(json_is_false(json_object_get(json_array_get(defs, 1), "essential")));
	json_decref(td);
	sfx_done(&f);
}

static void test_revisions_count_per_family_across_restarts(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *td = NULL;
	CHECK_INT(reg(&f, "{\"family\":\"web\"," WEB "}", NULL), SCHED_OK);
	CHECK_INT(reg(&f, "{\"family\":\"web\"," WEB "}", NULL), SCHED_OK);
	CHECK_INT(reg(&f, "{\"family\":\"db\"," WEB "}", &td), SCHED_OK);
	CHECK_STR(sfx_str(td, "taskDefinitionArn"), TD_ARN("db:1"));
	json_decref(td);
	sfx_restart(&f);
	CHECK_INT(reg(&f, "{\"family\":\"web\"," WEB "}", &td), SCHED_OK);
	CHECK_STR(sfx_str(td, "taskDefinitionArn"), TD_ARN("web:3"));
	json_decref(td);
	/* a deregistered revision's number is not given again */
	CHECK_INT(sched_taskdef_deregister(f.s, "web:3", &td, &f.err), SCHED_OK);
	json_decref(td);
	CHECK_INT(reg(&f, "{\"family\":\"web\"," WEB "}", &td), SCHED_OK);
	CHECK_INT(json_integer_value(json_object_get(td, "revision")), 4);
	json_decref(td);
	sfx_done(&f);
}

static void test_port_mappings_follow_the_network_mode(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *td = NULL;
	CHECK_INT(reg(&f,
	              "{\"family\":\"h\",\"networkMode\":\"host\",\"containerDefinitions\":[{"
	              "\"name\":\"a\",\"image\":\"x\",\"memory\":64,"
	              "\"portMappings\":[{\"containerPort\":8080}]}]}",
	              &td),
	          SCHED_OK);
	json_t *pm = json_array_get(
	    json_object_get(json_array_get(json_object_get(td, "containerDefinitions"), 0),
	                    "portMappings"),
	    0);
	CHECK_INT(json_integer_value(json_object_get(pm, "hostPort")), 8080);
	json_decref(td);
	CHECK_INT(reg(&f,
	              "{\"family\":\"h\",\"networkMode\":\"host\",\"containerDefinitions\":[{"
	              "\"name\":\"a\",\"image\":\"x\",\"memory\":64,"
	              "\"portMappings\":[{\"containerPort\":8080,\"hostPort\":8081}]}]}",
	              NULL),
	          SCHED_ERR_CLIENT);
	CHECK(strstr(f.err.message, "hostPort") != NULL);
	CHECK_INT(reg(&f,
	              "{\"family\":\"v\",\"networkMode\":\"awsvpc\",\"containerDefinitions\":[{"
	              "\"name\":\"a\",\"image\":\"x\",\"memory\":64,"
	              "\"portMappings\":[{\"containerPort\":80,\"hostPort\":80}]}]}",
	              NULL),
	          SCHED_OK);
	CHECK_INT(reg(&f,
	              "{\"family\":\"n\",\"networkMode\":\"none\",\"containerDefinitions\":[{"
	              "\"name\":\"a\",\"image\":\"x\",\"memory\":64,"
	              "\"portMappings\":[{\"containerPort\":80}]}]}",
	              NULL),
	          SCHED_ERR_CLIENT);
	CHECK_INT(reg(&f,
	              "{\"family\":\"n\",\"networkMode\":\"none\",\"containerDefinitions\":[{"
	              "\"name\":\"a\",\"image\":\"x\",\"memory\":64}]}",
	              NULL),
	          SCHED_OK);
	/* one static host port twice in a definition could never be placed */
	CHECK_INT(reg(&f,
	              "{\"family\":\"d\",\"containerDefinitions\":["
	              "{\"name\":\"a\",\"image\":\"x\",\"memory\":64,"
	              "\"portMappings\":[{\"containerPort\":80,\"hostPort\":8000}]},"
	              "{\"name\":\"b\",\"image\":\"x\",\"memory\":64,"
	              "\"portMappings\":[{\"containerPort\":81,\"hostPort\":8000}]}]}",
	              NULL),
	          SCHED_ERR_CLIENT);
	CHECK(strstr(f.err.message, "8000/tcp") != NULL);
	/* ...but the same number over tcp and udp, and many dynamic ports, are fine */
	CHECK_INT(reg(&f,
	              "{\"family\":\"d\",\"containerDefinitions\":["
	              "{\"name\":\"a\",\"image\":\"x\",\"memory\":64,"
	              "\"portMappings\":[{\"containerPort\":53,\"hostPort\":53},"
	              "{\"containerPort\":53,\"hostPort\":53,\"protocol\":\"udp\"},"
	              "{\"containerPort\":80},{\"containerPort\":81,\"hostPort\":0}]}]}",
	              NULL),
	          SCHED_OK);
	const char *bad[] = {
	    "[{\"containerPort\":0}]",
	    "[{\"containerPort\":65536}]",
	    "[{\"hostPort\":80}]",
	    "[{\"containerPort\":80,\"hostPort\":-1}]",
	    "[{\"containerPort\":80,\"protocol\":\"sctp\"}]",
	    "[{\"containerPort\":\"80\"}]",
	    "[{\"containerPort\":80,\"containerPortRange\":\"1-2\"}]",
	    "{\"containerPort\":80}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];
		snprintf(
		    text, sizeof(text),
		    "{\"family\":\"p\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
		    "\"memory\":64,\"portMappings\":%s}]}",
		    bad[i]);
		CHECK_INT(reg(&f, text, NULL), SCHED_ERR_CLIENT);
		CHECK(strstr(f.err.message, "portMappings") != NULL);
	}
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_taskdef_list(f.s, "p", NULL, false, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 0); /* nothing half-registered */
	json_decref(arns);
	sfx_done(&f);
}

static void test_register_refuses_what_ecs_refuses(void)
{
	struct sfx f;
	sfx_init(&f);
	char long_family[300];
	memset(long_family, 'f', 256);
	long_family[256] = '\0';
	char text[1024];
	struct {
		const char *json;
		const char *says;
	} bad[] = {
	    {"{" WEB "}", "family"},
	    {"{\"family\":\"has space\"," WEB "}", "family"},
	    {"{\"family\":\"web\"}", "containerDefinitions"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[]}", "containerDefinitions"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"image\":\"x\",\"memory\":64}]}",
	     "name"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"memory\":64}]}",
	     "image"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"bad "
	     "image\","
	     "\"memory\":64}]}",
	     "image"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
	     "\"memory\":64},{\"name\":\"a\",\"image\":\"y\",\"memory\":64}]}",
	     "used twice"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
	     "\"memory\":64,\"essential\":false}]}",
	     "essential"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
	     "\"memory\":64},{\"name\":\"b\",\"image\":\"x\"}]}",
	     "container 'b'"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
	     "\"memory\":64,\"memoryReservation\":128}]}",
	     "soft limit"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
	     "\"memory\":4}]}",
	     "memory"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
	     "\"memory\":64,\"cpu\":-1}]}",
	     "cpu"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
	     "\"memory\":64,\"logConfiguration\":{\"logDriver\":\"awslogs\"}}]}",
	     "logConfiguration is not supported"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
	     "\"memory\":64,\"privileged\":true}]}",
	     "privileged is not supported"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
	     "\"memory\":64,\"environment\":[{\"value\":\"v\"}]}]}",
	     "environment[0].name"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
	     "\"memory\":64,\"command\":[\"ok\", 3]}]}",
	     "command[1]"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
	     "\"memory\":64,\"dockerLabels\":{\"com.amazonaws.ecs.task-arn\":\"x\"}}]}",
	     "dockerLabels"},
	    {"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\","
	     "\"memory\":64,\"healthCheck\":{\"command\":[\"curl\"]}}]}",
	     "healthCheck.command"},
	    {"{\"family\":\"web\",\"volumes\":[{\"name\":\"v\"}]," WEB "}", "volumes"},
	    {"{\"family\":\"web\",\"pidMode\":\"host\"," WEB "}", "pidMode is not supported"},
	    {"{\"family\":\"web\",\"networkMode\":\"nat\"," WEB "}", "networkMode"},
	    {"{\"family\":\"web\",\"taskRoleArn\":\"my-role\"," WEB "}", "taskRoleArn"},
	    {"{\"family\":\"web\",\"taskRoleArn\":\"arn:aws:iam::123:role/x\"," WEB "}",
	     "taskRoleArn"},
	    {"{\"family\":\"web\",\"executionRoleArn\":\"arn:aws:iam::123456789012:user/x\"," WEB
	     "}",
	     "executionRoleArn"},
	    {"{\"family\":\"web\",\"cpu\":\"lots\"," WEB "}", "cpu"},
	    {"{\"family\":\"web\",\"cpu\":\"64\"," WEB "}", "cpu"},
	    {"{\"family\":\"web\",\"cpu\":256," WEB "}", "cpu"},
	    {"{\"family\":\"web\",\"memory\":\"1 TB\"," WEB "}", "memory"},
	    {"{\"family\":\"web\",\"cpu\":\"256\",\"containerDefinitions\":[{\"name\":\"a\","
	     "\"image\":\"x\",\"memory\":64,\"cpu\":512}]}",
	     "CPU units"},
	    {"{\"family\":\"web\",\"memory\":\"128\",\"containerDefinitions\":[{\"name\":\"a\","
	     "\"image\":\"x\",\"memory\":256}]}",
	     "memory"},
	    {"{\"family\":\"web\",\"requiresCompatibilities\":[\"FARGATE\"]," WEB "}", "awsvpc"},
	    {"{\"family\":\"web\",\"networkMode\":\"awsvpc\",\"requiresCompatibilities\":"
	     "[\"FARGATE\"]," WEB "}",
	     "task level"},
	    {"{\"family\":\"web\",\"networkMode\":\"awsvpc\",\"cpu\":\"256\",\"memory\":\"4096\","
	     "\"requiresCompatibilities\":[\"FARGATE\"]," WEB "}",
	     "No Fargate configuration"},
	    {"{\"family\":\"web\",\"requiresCompatibilities\":[\"LAMBDA\"]," WEB "}",
	     "requiresCompatibilities"},
	    {"{\"family\":\"web\",\"placementConstraints\":[{\"type\":\"distinctInstance\"}]," WEB
	     "}",
	     "memberOf"},
	    {"{\"family\":\"web\",\"runtimePlatform\":{\"operatingSystemFamily\":\"WINDOWS_"
	     "SERVER_2022_CORE\"}," WEB "}",
	     "LINUX"},
	    {"{\"family\":\"web\",\"tags\":[{\"key\":\"aws:x\",\"value\":\"1\"}]," WEB "}", "aws:"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f.err.message[0] = 0;
		json_t *td = NULL;
		int rc = reg(&f, bad[i].json, &td);
		if (rc == SCHED_OK || !strstr(f.err.message, bad[i].says))
			printf("    case %zu: rc %d, message \"%s\"\n", i, rc, f.err.message);
		CHECK(rc == SCHED_ERR_CLIENT || rc == SCHED_ERR_INVALID_PARAMETER);
		CHECK(strstr(f.err.message, bad[i].says) != NULL);
		CHECK(td == NULL);
	}
	snprintf(text, sizeof(text), "{\"family\":\"%s\"," WEB "}", long_family);
	CHECK_INT(reg(&f, text, NULL), SCHED_ERR_CLIENT);
	long_family[255] = '\0';
	snprintf(text, sizeof(text), "{\"family\":\"%s\"," WEB "}", long_family);
	CHECK_INT(reg(&f, text, NULL), SCHED_OK);
	/* nothing above took a revision of web */
	json_t *td = NULL;
	CHECK_INT(reg(&f, "{\"family\":\"web\"," WEB "}", &td), SCHED_OK);
	CHECK_INT(json_integer_value(json_object_get(td, "revision")), 1);
	json_decref(td);
	sfx_done(&f);
}

static void test_task_level_sizes_and_compatibilities(void)
{
	struct sfx f;
	sfx_init(&f);
	struct {
		const char *cpu, *mem, *want_cpu, *want_mem;
	} ok[] = {
	    {"256", "512", "256", "512"},
	    {"0.25 vcpu", "0.5GB", "256", "512"},
	    {"2 vCPU", "4 GB", "2048", "4096"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text),
		         "{\"family\":\"s\",\"cpu\":\"%s\",\"memory\":\"%s\","
		         "\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"x\"}]}",
		         ok[i].cpu, ok[i].mem);
		json_t *td = NULL;
		CHECK_INT(reg(&f, text, &td), SCHED_OK);
		CHECK_STR(sfx_str(td, "cpu"), ok[i].want_cpu);
		CHECK_STR(sfx_str(td, "memory"), ok[i].want_mem);
		json_decref(td);
	}
	json_t *td = NULL;
	CHECK_INT(reg(&f,
	              "{\"family\":\"fg\",\"networkMode\":\"awsvpc\",\"cpu\":\"256\",\"memory\":"
	              "\"512\",\"requiresCompatibilities\":[\"FARGATE\"]," WEB "}",
	              &td),
	          SCHED_OK);
	json_t *want = sfx_json("[\"EC2\",\"FARGATE\"]");
	CHECK(json_equal(json_object_get(td, "compatibilities"), want));
	json_decref(want);
	json_decref(td);
	sfx_done(&f);
}

static void test_deregister_and_describe_by_every_kind_of_name(void)
{
	struct sfx f;
	sfx_init(&f);
	CHECK_INT(reg(&f, "{\"family\":\"web\"," WEB "}", NULL), SCHED_OK);
	CHECK_INT(reg(&f, "{\"family\":\"web\"," WEB "}", NULL), SCHED_OK);
	json_t *td = NULL;
	CHECK_INT(sched_taskdef_describe(f.s, "web", &td, &f.err), SCHED_OK);
	CHECK_INT(json_integer_value(json_object_get(td, "revision")), 2);
	json_decref(td);
	CHECK_INT(sched_taskdef_describe(f.s, "web:1", &td, &f.err), SCHED_OK);
	CHECK_INT(json_integer_value(json_object_get(td, "revision")), 1);
	json_decref(td);
	CHECK_INT(sched_taskdef_describe(f.s, TD_ARN("web:2"), &td, &f.err), SCHED_OK);
	CHECK_INT(json_integer_value(json_object_get(td, "revision")), 2);
	json_decref(td);

	/* deregistering needs a revision */
	td = NULL;
	CHECK_INT(sched_taskdef_deregister(f.s, "web", &td, &f.err), SCHED_ERR_CLIENT);
	CHECK(td == NULL);
	f.now_ms += 60000;
	CHECK_INT(sched_taskdef_deregister(f.s, TD_ARN("web:2"), &td, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(td, "status"), "INACTIVE");
	CHECK(json_real_value(json_object_get(td, "deregisteredAt")) == 1700000060.0);
	json_decref(td);
	/* again: the same INACTIVE definition */
	f.now_ms += 60000;
	CHECK_INT(sched_taskdef_deregister(f.s, "web:2", &td, &f.err), SCHED_OK);
	CHECK(json_real_value(json_object_get(td, "deregisteredAt")) == 1700000060.0);
	json_decref(td);
	/* the family now means its latest ACTIVE revision; web:2 stays describable */
	CHECK_INT(sched_taskdef_describe(f.s, "web", &td, &f.err), SCHED_OK);
	CHECK_INT(json_integer_value(json_object_get(td, "revision")), 1);
	json_decref(td);
	CHECK_INT(sched_taskdef_describe(f.s, "web:2", &td, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(td, "status"), "INACTIVE");
	json_decref(td);
	CHECK_INT(sched_taskdef_deregister(f.s, "web:1", &td, &f.err), SCHED_OK);
	json_decref(td);
	td = NULL;
	CHECK_INT(sched_taskdef_describe(f.s, "web", &td, &f.err), SCHED_ERR_CLIENT);
	CHECK_STR(sched_exception_name(f.err.code), "ClientException");
	CHECK(td == NULL);

	const char *unknown[] = {
	    "web:3",       "nope",   "nope:1",
	    "web:0",       "web:01", "web:x",
	    "web:",        ":1",     "arn:aws:ecs:us-east-1:999999999999:task-definition/web:1",
	    TD_ARN("web"), "",       "bad name:1"};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		CHECK_INT(sched_taskdef_describe(f.s, unknown[i], &td, &f.err), SCHED_ERR_CLIENT);
		CHECK_INT(sched_taskdef_deregister(f.s, unknown[i], &td, &f.err), SCHED_ERR_CLIENT);
	}
	CHECK_INT(sched_taskdef_describe(f.s, NULL, &td, &f.err), SCHED_ERR_CLIENT);
	sfx_done(&f);
}

struct list_args {
	const char *prefix, *status;
	bool desc;
};
static struct list_args g_list;

static int list_defs(struct sfx *f, const struct sched_page *p, json_t **arns, char **next)
{
	return sched_taskdef_list(f->s, g_list.prefix, g_list.status, g_list.desc, p, arns, next,
	                          &f->err);
}

static int list_families(struct sfx *f, const struct sched_page *p, json_t **arns, char **next)
{
	return sched_taskdef_families(f->s, g_list.prefix, g_list.status, p, arns, next, &f->err);
}

static bool arns_are(json_t *got, const char *want_text)
{
	json_t *want = sfx_json(want_text);
	bool same = got && json_equal(got, want);
	if (!same) {
		char *g = got ? json_dumps(got, JSON_COMPACT) : NULL;
		printf("      got %s\n      want %s\n", g ? g : "(null)", want_text);
		free(g);
	}
	json_decref(want);
	return same;
}

static void test_list_sorts_by_family_then_revision_in_pages(void)
{
	struct sfx f;
	sfx_init(&f);
	/* registered out of order on purpose */
	CHECK_INT(reg(&f, "{\"family\":\"b\"," WEB "}", NULL), SCHED_OK);
	CHECK_INT(reg(&f, "{\"family\":\"ab\"," WEB "}", NULL), SCHED_OK);
	CHECK_INT(reg(&f, "{\"family\":\"a\"," WEB "}", NULL), SCHED_OK);
	CHECK_INT(reg(&f, "{\"family\":\"b\"," WEB "}", NULL), SCHED_OK);
	CHECK_INT(reg(&f, "{\"family\":\"a\"," WEB "}", NULL), SCHED_OK);
	json_t *td = NULL;
	CHECK_INT(sched_taskdef_deregister(f.s, "b:1", &td, &f.err), SCHED_OK);
	json_decref(td);

	int pages;
	g_list = (struct list_args){0};
	json_t *all = sfx_list_all(&f, 1, list_defs, &pages);
	CHECK(arns_are(all, "[\"" TD_ARN("a:1") "\",\"" TD_ARN("a:2") "\",\"" TD_ARN(
	                        "ab:1") "\",\"" TD_ARN("b:2") "\"]"));
	CHECK_INT(pages, 4);
	json_decref(all);
	g_list.desc = true;
	all = sfx_list_all(&f, 3, list_defs, &pages);
	CHECK(arns_are(all, "[\"" TD_ARN("b:2") "\",\"" TD_ARN("ab:1") "\",\"" TD_ARN(
	                        "a:2") "\",\"" TD_ARN("a:1") "\"]"));
	json_decref(all);
	g_list = (struct list_args){.prefix = "a"}; /* the whole family name, not a prefix */
	all = sfx_list_all(&f, 100, list_defs, &pages);
	CHECK(arns_are(all, "[\"" TD_ARN("a:1") "\",\"" TD_ARN("a:2") "\"]"));
	json_decref(all);
	g_list = (struct list_args){.status = "INACTIVE"};
	all = sfx_list_all(&f, 100, list_defs, &pages);
	CHECK(arns_are(all, "[\"" TD_ARN("b:1") "\"]"));
	json_decref(all);

	/* a definition deregistered between two pages does not lose the place */
	struct sched_page p = {.max_results = 2};
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_taskdef_list(f.s, NULL, NULL, false, &p, &arns, &next, &f.err), SCHED_OK);
	CHECK(arns_are(arns, "[\"" TD_ARN("a:1") "\",\"" TD_ARN("a:2") "\"]"));
	json_decref(arns);
	CHECK_INT(sched_taskdef_deregister(f.s, "a:2", &td, &f.err), SCHED_OK);
	json_decref(td);
	p.next_token = next;
	char *next2 = NULL;
	CHECK_INT(sched_taskdef_list(f.s, NULL, NULL, false, &p, &arns, &next2, &f.err), SCHED_OK);
	CHECK(arns_are(arns, "[\"" TD_ARN("ab:1") "\",\"" TD_ARN("b:2") "\"]"));
	CHECK(next2 == NULL);
	json_decref(arns);
	free(next);

	/* a well-formed token of another list (a cluster's) is not a position here */
	json_t *c = NULL;
	CHECK_INT(sched_cluster_create(f.s, "c", NULL, &c, &f.err), SCHED_OK);
	json_decref(c);
	CHECK_INT(sched_cluster_create(f.s, "d", NULL, &c, &f.err), SCHED_OK);
	json_decref(c);
	struct sched_page cp = {.max_results = 1};
	char *ctoken = NULL;
	CHECK_INT(sched_cluster_list(f.s, &cp, &arns, &ctoken, &f.err), SCHED_OK);
	json_decref(arns);
	CHECK(ctoken != NULL);
	cp.next_token = ctoken;
	CHECK_INT(sched_taskdef_list(f.s, NULL, NULL, false, &cp, &arns, &next, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(sched_taskdef_families(f.s, NULL, NULL, &cp, &arns, &next, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	free(ctoken);
	struct sched_page bad = {.next_token = "tg1zzzz"};
	CHECK_INT(sched_taskdef_list(f.s, NULL, NULL, false, &bad, &arns, &next, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(sched_taskdef_list(f.s, NULL, "DELETED", false, NULL, &arns, &next, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(sched_taskdef_list(f.s, "a*", NULL, false, NULL, &arns, &next, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	sfx_done(&f);
}

static void test_families_by_status_and_prefix(void)
{
	struct sfx f;
	sfx_init(&f);
	CHECK_INT(reg(&f, "{\"family\":\"web\"," WEB "}", NULL), SCHED_OK);
	CHECK_INT(reg(&f, "{\"family\":\"worker\"," WEB "}", NULL), SCHED_OK);
	CHECK_INT(reg(&f, "{\"family\":\"api\"," WEB "}", NULL), SCHED_OK);
	CHECK_INT(reg(&f, "{\"family\":\"web\"," WEB "}", NULL), SCHED_OK);
	json_t *td = NULL;
	CHECK_INT(sched_taskdef_deregister(f.s, "worker:1", &td, &f.err), SCHED_OK);
	json_decref(td);
	CHECK_INT(sched_taskdef_deregister(f.s, "web:1", &td, &f.err), SCHED_OK);
	json_decref(td);

	int pages;
	g_list = (struct list_args){0}; /* ECS's default: every family */
	json_t *all = sfx_list_all(&f, 1, list_families, &pages);
	CHECK(arns_are(all, "[\"api\",\"web\",\"worker\"]"));
	CHECK_INT(pages, 3);
	json_decref(all);
	g_list.status = "ACTIVE";
	all = sfx_list_all(&f, 100, list_families, &pages);
	CHECK(arns_are(all, "[\"api\",\"web\"]"));
	json_decref(all);
	g_list.status = "INACTIVE";
	all = sfx_list_all(&f, 100, list_families, &pages);
	CHECK(arns_are(all, "[\"worker\"]"));
	json_decref(all);
	g_list = (struct list_args){.prefix = "w", .status = "ALL"};
	all = sfx_list_all(&f, 1, list_families, &pages);
	CHECK(arns_are(all, "[\"web\",\"worker\"]"));
	json_decref(all);
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_taskdef_families(f.s, NULL, "GONE", NULL, &arns, &next, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	sfx_done(&f);
}

static void test_a_restart_sees_every_definition(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *before = NULL;
	CHECK_INT(reg(&f,
	              "{\"family\":\"web\",\"tags\":[{\"key\":\"a\",\"value\":\"b\"}],"
	              "\"containerDefinitions\":[{\"name\":\"web\",\"image\":\"nginx\","
	              "\"memory\":128,\"portMappings\":[{\"containerPort\":80}]}]}",
	              &before),
	          SCHED_OK);
	sfx_restart(&f);
	json_t *after = NULL;
	CHECK_INT(sched_taskdef_describe(f.s, "web:1", &after, &f.err), SCHED_OK);
	CHECK(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	sfx_done(&f);
}

/* Two schedulers on one store file (two gateways on one database), each
 * registering revisions of one family from its own thread. */
struct racer {
	const char *db;
	struct store *store;
	struct sched *s;
	struct sched_fake *fake;
	int ok;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	for (int i = 0; i < 25; i++) {
		json_t *in = sfx_json("{\"family\":\"web\"," WEB "}");
		json_t *td = NULL;
		struct sched_error e;
		if (sched_taskdef_register(r->s, in, &td, &e) == SCHED_OK)
			r->ok++;
		else
			printf("    racer: %s\n", e.message);
		json_decref(td);
		json_decref(in);
	}
	return NULL;
}

static void test_two_schedulers_never_share_a_revision(void)
{
	struct sfx f;
	sfx_init(&f);
	struct racer r[2];
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 2; i++) {
		struct store_error se;
		CHECK_INT(store_open(f.db, NULL, &r[i].store, &se), STORE_OK);
		r[i].fake = f.fake;
		struct sched_config cfg = {.store = r[i].store,
		                           .region = SFX_REGION,
		                           .account_id = SFX_ACCOUNT,
		                           .driver = sched_fake_driver(f.fake)};
		CHECK_INT(sched_open(&cfg, &r[i].s, &f.err), SCHED_OK);
	}
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, race, &r[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(r[0].ok + r[1].ok, 50);
	g_list = (struct list_args){0};
	int pages;
	json_t *all = sfx_list_all(&f, 100, list_defs, &pages);
	CHECK_INT(json_array_size(all), 50);
	for (int rev = 1; rev <= 50; rev++) {
		char want[128];
		snprintf(want, sizeof(want), TD_ARN("web:%d"), rev);
		CHECK_STR(json_string_value(json_array_get(all, (size_t)rev - 1)), want);
	}
	json_decref(all);
	for (int i = 0; i < 2; i++) {
		sched_close(r[i].s);
		store_close(r[i].store);
	}
	sfx_done(&f);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"register fills ECS's defaults", test_register_fills_ecs_defaults},
	    {"a full definition keeps every field, normalized",
	     test_a_full_definition_keeps_every_field},
	    {"revisions count per family, across restarts and deregistrations",
	     test_revisions_count_per_family_across_restarts},
	    {"port mappings follow the network mode; a static host port is used once",
	     test_port_mappings_follow_the_network_mode},
	    {"register refuses what ECS refuses (and what taskgate cannot run), naming the field",
	     test_register_refuses_what_ecs_refuses},
	    {"task-level cpu and memory in units or vCPU/GB; Fargate compatibility",
	     test_task_level_sizes_and_compatibilities},
	    {"deregister and describe by family, family:revision and ARN",
	     test_deregister_and_describe_by_every_kind_of_name},
	    {"list sorts by family then revision, in stable pages",
	     test_list_sorts_by_family_then_revision_in_pages},
	    {"families by status and prefix", test_families_by_status_and_prefix},
	    {"a restart sees every definition as it was", test_a_restart_sees_every_definition},
	    {"two schedulers on one store never give the same revision twice",
	     test_two_schedulers_never_share_a_revision},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
