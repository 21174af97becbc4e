/*
 * test_gw_ecs_api.c - the ECS handlers and the authorize step over a real
 * store and scheduler (fake driver), without a connection: output shapes as
 * botocore's model has them, ECS's errors with their HTTP status, paging,
 * include=TAGS, refusals of features taskgate does not run, and a denied
 * call that changes nothing. The wire (headers, TLS, the AWS CLI) is
 * tests/integration/test_ecs.sh's.
 */
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/config.h"
#include "gateway/ecs.h"
#include "gateway/iam.h"
#include "gateway/log.h"
#include "gateway/principal.h"
#include "gateway/request.h"
#include "gateway/server.h"
#include "scheduler/scheduler.h"
#include "store/store.h"
#include "tests/unit/check.h"

#define ACCT   "111122223333"
#define ARN(x) "arn:aws:ecs:us-east-1:" ACCT ":" x

struct fx {
	char dir[64];
	struct gw_config cfg;
	struct gw_log log;
	int logfd;
	struct gw_server srv;
	struct sched_fake *fake;
	struct gw_iam *iam;
};

static const char *const IAM_FILE =
    "{\"account_id\":\"" ACCT "\",\"users\":["
    "{\"name\":\"admin\",\"inline_policies\":{\"p\":{\"Version\":\"2012-10-17\",\"Statement\":["
    "{\"Effect\":\"Allow\",\"Action\":[\"ecs:*\",\"iam:PassRole\"],\"Resource\":\"*\"}]}}},"
    "{\"name\":\"runner\",\"inline_policies\":{\"p\":{\"Version\":\"2012-10-17\",\"Statement\":["
    "{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\",\"Condition\":"
    "{\"ArnEquals\":{\"ecs:cluster\":\"" ARN("cluster/dev") "\"}}}]}}}]}";

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static bool fx_open(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-ecsapi-XXXXXX");
	if (!mkdtemp(f->dir))
		return false;
	char db[128];
	snprintf(db, sizeof(db), "%s/t.db", f->dir);
	gw_config_defaults(&f->cfg);
	f->logfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (gw_log_init(&f->log, f->logfd, GW_LOG_ERROR, GW_LOG_FORMAT_JSON) != 0)
		return false;
	struct store_error se;
	if (store_open(db, NULL, &f->srv.store, &se) != STORE_OK)
		return false;
	f->srv.cfg = &f->cfg;
	f->srv.log = &f->log;
	f->fake = sched_fake_new();
	struct sched_config sc = {
	    .store = f->srv.store,
	    .region = f->cfg.region,
	    .account_id = f->cfg.account_id,
	    .driver = sched_fake_driver(f->fake),
	};
	struct sched_error e;
	if (sched_open(&sc, &f->srv.sched, &e) != SCHED_OK) {
		printf("    sched_open: %s\n", e.message);
		return false;
	}
	struct gw_iam_spec spec;
	struct gw_iam_diags d;
	int rc = gw_iam_file_parse(IAM_FILE, strlen(IAM_FILE), NULL, &spec, &d);
	gw_iam_diags_free(&d);
	if (rc != GW_IAM_OK)
		return false;
	struct gw_iam_changes ch;
	memset(&ch, 0, sizeof(ch));
	struct gw_iam_error ie = {0};
	rc = gw_iam_apply(f->srv.store, &spec, NULL, &ch, &ie);
	gw_iam_spec_free(&spec);
	gw_iam_changes_free(&ch);
	return rc == GW_IAM_OK && gw_iam_load(f->srv.store, &f->iam, &ie) == GW_IAM_OK;
}

static void fx_close(struct fx *f)
{
	sched_close(f->srv.sched);
	sched_fake_free(f->fake);
	gw_iam_unref(f->iam);
	store_close(f->srv.store);
	gw_log_destroy(&f->log);
	close(f->logfd);
	nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

struct answer {
	unsigned status;
	char code[64];
	json_t *body;
	size_t decisions;
	char first_resource[1024];
};

static void answer_free(struct answer *a)
{
	json_decref(a->body);
	a->body = NULL;
}

/* Runs op with input as user (NULL: no authorization step) through
 * authorize and execute, as the road does after decode. */
static struct answer call_as(struct fx *f, const char *user, const char *op, const char *input)
{
	struct answer a;
	memset(&a, 0, sizeof(a));
	struct gw_request *r = gw_request_alloc("/");
	if (!r)
		abort();
	r->srv = &f->srv;
	snprintf(r->method, sizeof(r->method), "POST");
	struct gw_ecs_call *c = calloc(1, sizeof(*c));
	json_error_t je;
	c->op = gw_ecs_op_find(op, strlen(op));
	c->in = json_loads(input, 0, &je);
	if (!c->op || !c->in) {
		printf("    bad test call %s %s\n", op, input);
		abort();
	}
	r->ecs = c;
	r->route = GW_ROUTE_ECS;
	int st = GW_STEP_OK;
	if (user) {
		const struct gw_iam_entity *e = gw_iam_user(f->iam, user, strlen(user));
		if (!e || gw_principal_new_user(f->iam, e, NULL, &r->principal) != 0)
			abort();
		st = gw_ecs_authorize(r);
	}
	if (st == GW_STEP_OK) {
		const char *code;
		char msg[256];
		if (gw_ecs_check_input(c->op, c->in, &code, msg, sizeof(msg)) != 0)
			st = gw_ecs_fail(r, code, msg);
		else
			st = gw_ecs_execute(r);
	}
	a.status = r->status;
	if (r->error_code)
		snprintf(a.code, sizeof(a.code), "%s", r->error_code);
	a.body = r->resp_body ? json_loadb(r->resp_body, r->resp_len, 0, &je) : NULL;
	a.decisions = r->n_decisions;
	if (r->n_decisions)
		snprintf(a.first_resource, sizeof(a.first_resource), "%s",
		         r->decisions[0].resource);
	CHECK_STR(r->content_type, "application/x-amz-json-1.1");
	gw_request_free(r);
	return a;
}

static struct answer call(struct fx *f, const char *op, const char *input)
{
	return call_as(f, NULL, op, input);
}

static const char *s_at(json_t *v, const char *path)
{
	/* path: "a.b.0.c" */
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *cur = v;
	for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
		if (json_is_array(cur))
			cur = json_array_get(cur, (size_t)atoi(tok));
		else
			cur = json_object_get(cur, tok);
	}
	return json_is_string(cur) ? json_string_value(cur) : NULL;
}

static json_t *at(json_t *v, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *cur = v;
	for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
		if (json_is_array(cur))
			cur = json_array_get(cur, (size_t)atoi(tok));
		else
			cur = json_object_get(cur, tok);
	}
	return cur;
}

#define TD                                                                                         \
	"{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"c\",\"image\":\"busybox\","     \
	"\"memory\":64,\"cpu\":128,\"essential\":true,\"portMappings\":[{\"containerPort\":80,"    \
	"\"hostPort\":0}]}]}"
#define INSTANCE                                                                                   \
	"\"totalResources\":[{\"name\":\"CPU\",\"type\":\"INTEGER\",\"integerValue\":1024},"       \
	"{\"name\":\"MEMORY\",\"type\":\"INTEGER\",\"integerValue\":512}]"

static void clusters_have_ecs_shapes_and_missing_failures(void)
{
	struct fx f;
	CHECK(fx_open(&f));
	struct answer a =
	    call(&f, "CreateCluster",
	         "{\"clusterName\":\"dev\",\"tags\":[{\"key\":\"k\",\"value\":\"v\"}]}");
	CHECK_INT(a.status, 200);
	CHECK_STR(s_at(a.body, "cluster.clusterArn"), ARN("cluster/dev"));
	CHECK_STR(s_at(a.body, "cluster.status"), "ACTIVE");
	answer_free(&a);
	a = call(&f, "DescribeClusters", "{\"clusters\":[\"dev\",\"nope\"]}");
	CHECK_INT(json_array_size(at(a.body, "clusters")), 1);
	CHECK(at(a.body, "clusters.0.tags") == NULL);
	CHECK_STR(s_at(a.body, "failures.0.reason"), "MISSING");
	CHECK_STR(s_at(a.body, "failures.0.arn"), ARN("cluster/nope"));
	answer_free(&a);
	a = call(&f, "DescribeClusters", "{\"clusters\":[\"dev\"],\"include\":[\"TAGS\"]}");
	CHECK_STR(s_at(a.body, "clusters.0.tags.0.key"), "k");
	answer_free(&a);
	a = call(&f, "DeleteCluster", "{\"cluster\":\"nope\"}");
	CHECK_INT(a.status, 400);
	CHECK_STR(a.code, "ClusterNotFoundException");
	CHECK(s_at(a.body, "message") != NULL);
	CHECK_STR(s_at(a.body, "__type"), "ClusterNotFoundException");
	answer_free(&a);
	fx_close(&f);
}

static void list_calls_page_with_max_results_and_next_token(void)
{
	struct fx f;
	CHECK(fx_open(&f));
	const char *names[] = {"a", "b", "c"};
	for (size_t i = 0; i < 3; i++) {
		char in[64];
		snprintf(in, sizeof(in), "{\"clusterName\":\"%s\"}", names[i]);
		struct answer a = call(&f, "CreateCluster", in);
		answer_free(&a);
	}
	struct answer a = call(&f, "ListClusters", "{\"maxResults\":2}");
	CHECK_INT(json_array_size(at(a.body, "clusterArns")), 2);
	const char *tok = s_at(a.body, "nextToken");
	CHECK(tok != NULL);
	char in[512];
	snprintf(in, sizeof(in), "{\"maxResults\":2,\"nextToken\":\"%s\"}", tok ? tok : "");
	answer_free(&a);
	a = call(&f, "ListClusters", in);
	CHECK_INT(json_array_size(at(a.body, "clusterArns")), 1);
	CHECK(at(a.body, "nextToken") == NULL);
	answer_free(&a);
	a = call(&f, "ListClusters", "{\"maxResults\":0}");
	CHECK_STR(a.code, "InvalidParameterException");
	answer_free(&a);
	a = call(&f, "ListClusters", "{\"maxResults\":101}");
	CHECK_STR(a.code, "InvalidParameterException");
	answer_free(&a);
	fx_close(&f);
}

static void tasks_run_on_registered_instances(void)
{
	struct fx f;
	CHECK(fx_open(&f));
	struct answer a = call(&f, "CreateCluster", "{\"clusterName\":\"dev\"}");
	answer_free(&a);
	a = call(&f, "RegisterTaskDefinition", TD);
	CHECK_INT(a.status, 200);
	CHECK_STR(s_at(a.body, "taskDefinition.taskDefinitionArn"), ARN("task-definition/web:1"));
	CHECK(json_is_array(at(a.body, "tags")));
	answer_free(&a);
	a = call(&f, "RegisterContainerInstance", "{\"cluster\":\"dev\"," INSTANCE "}");
	CHECK_INT(a.status, 200);
	CHECK_STR(s_at(a.body, "containerInstance.status"), "ACTIVE");
	answer_free(&a);
	/* without totalResources the host's own are offered */
	a = call(&f, "RegisterContainerInstance", "{\"cluster\":\"dev\"}");
	CHECK_INT(a.status, 200);
	answer_free(&a);
	a = call(&f, "RunTask", "{\"cluster\":\"dev\",\"taskDefinition\":\"web\",\"count\":2}");
	CHECK_INT(a.status, 200);
	CHECK_INT(json_array_size(at(a.body, "tasks")), 2);
	CHECK(json_is_array(at(a.body, "failures")));
	CHECK(json_is_number(at(a.body, "tasks.0.createdAt")));
	const char *arn = s_at(a.body, "tasks.0.taskArn");
	char stop[512];
	snprintf(stop, sizeof(stop), "{\"cluster\":\"dev\",\"task\":\"%s\",\"reason\":\"done\"}",
	         arn ? arn : "");
	answer_free(&a);
	a = call(&f, "StopTask", stop);
	CHECK_INT(a.status, 200);
	CHECK_STR(s_at(a.body, "task.desiredStatus"), "STOPPED");
	answer_free(&a);
	a = call(&f, "ListTasks", "{\"cluster\":\"dev\"}");
	CHECK_INT(json_array_size(at(a.body, "taskArns")), 1);
	answer_free(&a);
	a = call(&f, "DescribeTasks", "{\"cluster\":\"dev\",\"tasks\":[\"no-such-task\"]}");
	CHECK_INT(json_array_size(at(a.body, "tasks")), 0);
	CHECK_STR(s_at(a.body, "failures.0.reason"), "MISSING");
	answer_free(&a);
	fx_close(&f);
}

static void what_taskgate_does_not_run_is_refused(void)
{
	struct fx f;
	CHECK(fx_open(&f));
	struct answer a = call(&f, "RunTask", "{\"taskDefinition\":\"web\",\"count\":11}");
	CHECK_INT(a.status, 400);
	CHECK_STR(a.code, "InvalidParameterException");
	answer_free(&a);
	a = call(&f, "RunTask", "{\"taskDefinition\":\"web\",\"launchType\":\"FARGATE\"}");
	CHECK_STR(a.code, "InvalidParameterException");
	answer_free(&a);
	a = call(&f, "RunTask", "{\"taskDefinition\":\"web\",\"enableExecuteCommand\":true}");
	CHECK_STR(a.code, "InvalidParameterException");
	answer_free(&a);
	a = call(&f, "CreateService", "{\"serviceName\":\"s\",\"taskDefinition\":\"web\"}");
	CHECK_STR(a.code, "InvalidParameterException");
	CHECK(strstr(s_at(a.body, "message"), "desiredCount") != NULL);
	answer_free(&a);
	a = call(&f, "CreateService",
	         "{\"serviceName\":\"s\",\"taskDefinition\":\"web\","
	         "\"desiredCount\":1,\"schedulingStrategy\":\"DAEMON\"}");
	CHECK_STR(a.code, "InvalidParameterException");
	answer_free(&a);
	a = call(&f, "UpdateService", "{\"service\":\"s\",\"forceNewDeployment\":true}");
	CHECK_STR(a.code, "InvalidParameterException");
	answer_free(&a);
	fx_close(&f);
}

static void a_denied_run_task_changes_nothing(void)
{
	struct fx f;
	CHECK(fx_open(&f));
	const char *setup[][2] = {
	    {"CreateCluster", "{\"clusterName\":\"dev\"}"},
	    {"CreateCluster", "{\"clusterName\":\"prod\"}"},
	    {"RegisterTaskDefinition", TD},
	    {"RegisterContainerInstance", "{\"cluster\":\"dev\"," INSTANCE "}"},
	    {"RegisterContainerInstance", "{\"cluster\":\"prod\"," INSTANCE "}"},
	};
	for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++) {
		struct answer a = call_as(&f, "admin", setup[i][0], setup[i][1]);
		CHECK_INT(a.status, 200);
		answer_free(&a);
	}
	size_t starts = sched_fake_starts(f.fake);
	struct answer a =
	    call_as(&f, "runner", "RunTask", "{\"cluster\":\"prod\",\"taskDefinition\":\"web:1\"}");
	CHECK_INT(a.status, 400);
	CHECK_STR(a.code, "AccessDeniedException");
	CHECK_STR(s_at(a.body, "message"),
	          "User: arn:aws:iam::" ACCT
	          ":user/runner is not authorized to perform: ecs:RunTask "
	          "on resource: " ARN("task-definition/web:1") " because no identity-based policy "
	                                                       "allows the ecs:RunTask action");
	CHECK_INT(a.decisions, 1);
	answer_free(&a);
	CHECK_INT(sched_fake_starts(f.fake), starts);
	a = call(&f, "ListTasks", "{\"cluster\":\"prod\"}");
	CHECK_INT(json_array_size(at(a.body, "taskArns")), 0);
	answer_free(&a);
	a = call_as(&f, "runner", "RunTask", "{\"cluster\":\"dev\",\"taskDefinition\":\"web:1\"}");
	CHECK_INT(a.status, 200);
	CHECK_INT(a.decisions, 1);
	CHECK_STR(a.first_resource, ARN("task-definition/web:1"));
	answer_free(&a);
	CHECK_INT(sched_fake_starts(f.fake), starts + 1);
	fx_close(&f);
}

static void tags_are_set_listed_and_removed(void)
{
	struct fx f;
	CHECK(fx_open(&f));
	struct answer a = call(&f, "CreateCluster", "{\"clusterName\":\"dev\"}");
	answer_free(&a);
	a = call(&f, "TagResource",
	         "{\"resourceArn\":\"" ARN("cluster/dev") "\",\"tags\":[{\"key\":"
	                                                  "\"a\",\"value\":\"1\"}]}");
	CHECK_INT(a.status, 200);
	CHECK_INT(json_object_size(a.body), 0);
	answer_free(&a);
	a = call(&f, "ListTagsForResource", "{\"resourceArn\":\"" ARN("cluster/dev") "\"}");
	CHECK_STR(s_at(a.body, "tags.0.value"), "1");
	answer_free(&a);
	a = call(&f, "UntagResource",
	         "{\"resourceArn\":\"" ARN("cluster/dev") "\",\"tagKeys\":[\"a\"]}");
	CHECK_INT(a.status, 200);
	answer_free(&a);
	a = call(&f, "ListTagsForResource", "{\"resourceArn\":\"" ARN("cluster/dev") "\"}");
	CHECK_INT(json_array_size(at(a.body, "tags")), 0);
	answer_free(&a);
	fx_close(&f);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"clusters have ECS's shapes and MISSING failures",
	     clusters_have_ecs_shapes_and_missing_failures},
	    {"list calls page with maxResults and nextToken",
	     list_calls_page_with_max_results_and_next_token},
	    {"tasks run on registered instances", tasks_run_on_registered_instances},
	    {"what taskgate does not run is refused", what_taskgate_does_not_run_is_refused},
	    {"a denied RunTask changes nothing", a_denied_run_task_changes_nothing},
	    {"tags are set, listed and removed", tags_are_set_listed_and_removed},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
