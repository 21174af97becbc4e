/*
 * test_gw_ecs_authz.c - the ECS operation table, input checks, the audit copy
 * without secrets, and the authorization table: which IAM action, resource
 * and condition keys each operation asks, and how real policies (applied to a
 * real store, compiled into an IAM snapshot) decide those questions.
 */
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/authz.h"
#include "gateway/ecs.h"
#include "gateway/iam.h"
#include "gateway/principal.h"
#include "store/store.h"
#include "tests/unit/check.h"

#define REGION "us-east-1"
#define ACCT   "111122223333"
#define ARN(x) "arn:aws:ecs:" REGION ":" ACCT ":" x

/* ---- fixtures ---- */

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v) {
		printf("    bad test JSON: %s\n", e.text);
		abort();
	}
	return v;
}

static const struct gw_ecs_op *OPN(const char *name)
{
	const struct gw_ecs_op *op = gw_ecs_op_find(name, strlen(name));
	if (!op) {
		printf("    no op %s\n", name);
		abort();
	}
	return op;
}

/* Tags of existing resources for the tests: the cluster "prod" is tagged
 * env=prod, the service "web" in it team=web; the task "t-bad" cannot be
 * read. */
static int fake_tags(void *ctx, const char *arn, json_t **tags)
{
	(void)ctx;
	if (strcmp(arn, ARN("cluster/prod")) == 0)
		*tags = J("[{\"key\":\"env\",\"value\":\"prod\"}]");
	else if (strcmp(arn, ARN("task-definition/web:7")) == 0)
		*tags = J("[{\"key\":\"app\",\"value\":\"web\"}]");
	else if (strcmp(arn, ARN("service/prod/web")) == 0)
		*tags = J("[{\"key\":\"team\",\"value\":\"web\"}]");
	else if (strstr(arn, "t-bad")) {
		*tags = NULL;
		return -1;
	} else
		*tags = json_array();
	return 0;
}

static int fake_resolve(void *ctx, const char *family, char *arn, size_t cap)
{
	(void)ctx;
	if (strcmp(family, "web") != 0)
		return 1;
	snprintf(arn, cap, "%s", ARN("task-definition/web:7"));
	return 0;
}

static const struct gw_ecs_env ENV = {
    .region = REGION,
    .account_id = ACCT,
    .tags = fake_tags,
    .resolve = fake_resolve,
    .ctx = NULL,
};

struct qs {
	struct gw_ecs_question q[GW_ECS_QUESTIONS_MAX];
	size_t n;
	char msg[256];
	int rc;
};

static void questions(struct qs *s, const char *op, const char *input)
{
	json_t *in = J(input);
	memset(s, 0, sizeof(*s));
	s->rc = gw_ecs_questions(OPN(op), in, &ENV, s->q, GW_ECS_QUESTIONS_MAX, &s->n, s->msg,
	                         sizeof(s->msg));
	json_decref(in);
}

static void qs_free(struct qs *s)
{
	gw_ecs_questions_free(s->q, s->n);
}

/* The values of key in question q joined by ',' ("" when present but empty;
 * NULL when absent). */
static const char *keyval(const struct gw_ecs_question *q, const char *key)
{
	static char buf[1024];
	json_t *arr = json_object_get(q->keys, key);
	if (!arr)
		return NULL;
	buf[0] = '\0';
	size_t i, used = 0;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		int n = snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? "," : "",
		                 json_string_value(v));
		if (n > 0)
			used += (size_t)n;
	}
	return buf;
}

/* ---- the table and input checks ---- */

static void every_operation_of_the_issue_is_served_with_its_iam_action(void)
{
	static const char *const names[] = {"CreateCluster",
	                                    "DeleteCluster",
	                                    "ListClusters",
	                                    "DescribeClusters",
	                                    "RegisterTaskDefinition",
	                                    "DeregisterTaskDefinition",
	                                    "DescribeTaskDefinition",
	                                    "ListTaskDefinitions",
	                                    "ListTaskDefinitionFamilies",
	                                    "RunTask",
	                                    "StartTask",
	                                    "StopTask",
	                                    "DescribeTasks",
	                                    "ListTasks",
	                                    "CreateService",
	                                    "UpdateService",
	                                    "DeleteService",
	                                    "DescribeServices",
	                                    "ListServices",
	                                    "RegisterContainerInstance",
	                                    "DeregisterContainerInstance",
	                                    "ListContainerInstances",
	                                    "DescribeContainerInstances",
	                                    "TagResource",
	                                    "UntagResource",
	                                    "ListTagsForResource"};
	size_t n;
	gw_ecs_ops(&n);
	CHECK_INT(n, sizeof(names) / sizeof(names[0]));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct gw_ecs_op *op = gw_ecs_op_find(names[i], strlen(names[i]));
		CHECK(op != NULL);
		if (!op)
			continue;
		char want[64];
		snprintf(want, sizeof(want), "ecs:%s", names[i]);
		CHECK_STR(op->iam_action, want);
	}
	CHECK(gw_ecs_op_find("RunTas", 6) == NULL);
	CHECK(gw_ecs_op_find("RunTaskX", 8) == NULL);
	CHECK(gw_ecs_op_find("runtask", 7) == NULL);
}

static int check(const char *op, const char *input, const char **code, char *msg)
{
	json_t *in = J(input);
	int rc = gw_ecs_check_input(OPN(op), in, code, msg, 256);
	json_decref(in);
	return rc;
}

static void input_checks_follow_the_model_types(void)
{
	const char *code;
	char msg[256];
	CHECK_INT(check("RunTask", "{\"taskDefinition\":\"web\"}", &code, msg), 0);
	CHECK_INT(check("RunTask", "{\"taskDefinition\":\"web\",\"count\":2,\"cluster\":\"a\"}",
	                &code, msg),
	          0);
	/* a number where the model says string, and the reverse */
	CHECK_INT(check("RunTask", "{\"taskDefinition\":5}", &code, msg), -1);
	CHECK_STR(code, "SerializationException");
	CHECK(strstr(msg, "taskDefinition") != NULL);
	CHECK_INT(check("RunTask", "{\"taskDefinition\":\"w\",\"count\":\"2\"}", &code, msg), -1);
	CHECK_STR(code, "SerializationException");
	CHECK_INT(check("RunTask", "{\"taskDefinition\":\"w\",\"count\":1.5}", &code, msg), -1);
	CHECK_INT(check("DescribeTasks", "{\"tasks\":[\"a\",3]}", &code, msg), -1);
	CHECK_STR(code, "SerializationException");
	CHECK_INT(check("TagResource", "{\"resourceArn\":\"x\",\"tags\":[{\"key\":\"a\",\"v\":1}]}",
	                &code, msg),
	          -1);
	CHECK_INT(check("DeleteService", "{\"service\":\"s\",\"force\":\"yes\"}", &code, msg), -1);
	CHECK_INT(check("ListClusters", "[]", &code, msg), -1);
	CHECK_STR(code, "SerializationException");
}

static void required_members_are_required(void)
{
	const char *code;
	char msg[256];
	CHECK_INT(check("RunTask", "{}", &code, msg), -1);
	CHECK_STR(code, "InvalidParameterException");
	CHECK(strstr(msg, "taskDefinition is required") != NULL);
	CHECK_INT(check("RegisterTaskDefinition", "{\"family\":\"f\"}", &code, msg), -1);
	CHECK(strstr(msg, "containerDefinitions") != NULL);
	CHECK_INT(check("StartTask", "{\"taskDefinition\":\"f\"}", &code, msg), -1);
	CHECK_INT(check("UntagResource", "{\"resourceArn\":\"a\"}", &code, msg), -1);
	/* a required name or ARN may not be empty */
	CHECK_INT(check("TagResource", "{\"resourceArn\":\"\",\"tags\":[]}", &code, msg), -1);
	CHECK_STR(code, "InvalidParameterException");
	CHECK(strstr(msg, "resourceArn must not be empty") != NULL);
	CHECK_INT(check("DeleteCluster", "{\"cluster\":\"\"}", &code, msg), -1);
	CHECK_INT(check("ListClusters", "{}", &code, msg), 0);
	CHECK_INT(check("CreateCluster", "{}", &code, msg), 0);
	/* null is absent, as AWS reads it */
	CHECK_INT(check("RunTask", "{\"taskDefinition\":null}", &code, msg), -1);
}

static void features_taskgate_does_not_run_are_refused_not_ignored(void)
{
	const char *code;
	char msg[256];
	CHECK_INT(
	    check("RunTask",
	          "{\"taskDefinition\":\"w\",\"networkConfiguration\":{\"awsvpcConfiguration\":"
	          "{\"subnets\":[\"s\"]}}}",
	          &code, msg),
	    -1);
	CHECK_STR(code, "InvalidParameterException");
	CHECK(strstr(msg, "networkConfiguration is not supported") != NULL);
	CHECK_INT(check("CreateService",
	                "{\"serviceName\":\"s\",\"loadBalancers\":[{\"targetGroupArn\":\"x\"}]}",
	                &code, msg),
	          -1);
	CHECK(strstr(msg, "loadBalancers") != NULL);
	CHECK_INT(check("CreateCluster", "{\"capacityProviders\":[\"FARGATE\"]}", &code, msg), -1);
	/* members outside the model are ignored, as AWS JSON services do */
	CHECK_INT(check("ListClusters", "{\"somethingNew\":1}", &code, msg), 0);
}

static void audit_copy_keeps_environment_names_and_drops_values(void)
{
	json_t *in =
	    J("{\"family\":\"f\",\"containerDefinitions\":[{\"name\":\"c\",\"image\":\"i\","
	      "\"environment\":[{\"name\":\"DB_PASSWORD\",\"value\":\"hunter2\"}]}],"
	      "\"taskRoleArn\":\"arn:aws:iam::111122223333:role/r\"}");
	json_t *a = gw_ecs_audit_params(in);
	char *s = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK(s && strstr(s, "DB_PASSWORD") != NULL);
	CHECK(s && strstr(s, "hunter2") == NULL);
	CHECK(s && strstr(s, "role/r") != NULL);
	free(s);
	json_decref(a);
	/* the input itself is untouched */
	s = json_dumps(in, JSON_COMPACT);
	CHECK(s && strstr(s, "hunter2") != NULL);
	free(s);
	json_decref(in);

	in = J("{\"taskDefinition\":\"f\",\"overrides\":{\"containerOverrides\":[{\"name\":\"c\","
	       "\"environment\":[{\"name\":\"TOKEN\",\"value\":\"s3cr3t\"}]}]}}");
	a = gw_ecs_audit_params(in);
	s = json_dumps(a, JSON_COMPACT);
	CHECK(s && strstr(s, "TOKEN") != NULL);
	CHECK(s && strstr(s, "s3cr3t") == NULL);
	free(s);
	json_decref(a);
	json_decref(in);
}

/* ---- the authorization table ---- */

static void run_task_asks_on_the_task_definition_with_the_cluster_key(void)
{
	struct qs s;
	questions(&s, "RunTask", "{\"cluster\":\"prod\",\"taskDefinition\":\"web:3\"}");
	CHECK_INT(s.rc, 0);
	CHECK_INT(s.n, 1);
	CHECK_STR(s.q[0].action, "ecs:RunTask");
	CHECK_STR(s.q[0].resource, ARN("task-definition/web:3"));
	CHECK_STR(keyval(&s.q[0], "ecs:cluster"), ARN("cluster/prod"));
	/* the task definition is the resource, not a key; no tags asked */
	CHECK(keyval(&s.q[0], "ecs:task-definition") == NULL);
	CHECK(keyval(&s.q[0], "aws:TagKeys") == NULL);
	qs_free(&s);

	/* a family alone is its latest ACTIVE revision; the default cluster */
	questions(&s, "RunTask", "{\"taskDefinition\":\"web\"}");
	CHECK_STR(s.q[0].resource, ARN("task-definition/web:7"));
	CHECK_STR(keyval(&s.q[0], "aws:ResourceTag/app"), "web");
	CHECK_STR(keyval(&s.q[0], "ecs:cluster"), ARN("cluster/default"));
	qs_free(&s);
	/* an unknown family: every revision of it */
	questions(&s, "RunTask", "{\"taskDefinition\":\"nope\"}");
	CHECK_STR(s.q[0].resource, ARN("task-definition/nope:*"));
	qs_free(&s);
	/* ARNs are kept as given */
	questions(&s, "RunTask",
	          "{\"cluster\":\"" ARN("cluster/prod") "\",\"taskDefinition\":\"" ARN(
	              "task-definition/web:2") "\"}");
	CHECK_STR(s.q[0].resource, ARN("task-definition/web:2"));
	CHECK_STR(keyval(&s.q[0], "ecs:cluster"), ARN("cluster/prod"));
	qs_free(&s);
}

static void run_task_with_tags_and_roles_asks_tag_resource_and_pass_role(void)
{
	struct qs s;
	questions(
	    &s, "RunTask",
	    "{\"cluster\":\"prod\",\"taskDefinition\":\"web:3\",\"tags\":[{\"key\":\"a\","
	    "\"value\":\"1\"},{\"key\":\"b\",\"value\":\"2\"}],\"overrides\":{\"taskRoleArn\":"
	    "\"arn:aws:iam::111122223333:role/x\",\"executionRoleArn\":\"arn:aws:iam::"
	    "111122223333:role/x\"}}");
	CHECK_INT(s.rc, 0);
	CHECK_INT(s.n, 3);
	CHECK_STR(keyval(&s.q[0], "aws:TagKeys"), "a,b");
	CHECK_STR(keyval(&s.q[0], "aws:RequestTag/b"), "2");
	CHECK_STR(s.q[1].action, "ecs:TagResource");
	CHECK_STR(s.q[1].resource, ARN("task/prod/*"));
	CHECK_STR(keyval(&s.q[1], "ecs:CreateAction"), "RunTask");
	CHECK_STR(keyval(&s.q[1], "aws:RequestTag/a"), "1");
	/* one role named twice is asked once */
	CHECK_STR(s.q[2].action, "iam:PassRole");
	CHECK_STR(s.q[2].resource, "arn:aws:iam::111122223333:role/x");
	CHECK_STR(keyval(&s.q[2], "iam:PassedToService"), "ecs-tasks.amazonaws.com");
	qs_free(&s);
}

static void register_task_definition_asks_pass_role_for_each_role(void)
{
	struct qs s;
	questions(
	    &s, "RegisterTaskDefinition",
	    "{\"family\":\"web\",\"containerDefinitions\":[],\"taskRoleArn\":\"arn:aws:iam::"
	    "111122223333:role/t\",\"executionRoleArn\":\"arn:aws:iam::111122223333:role/e\"}");
	CHECK_INT(s.rc, 0);
	CHECK_INT(s.n, 3);
	CHECK_STR(s.q[0].action, "ecs:RegisterTaskDefinition");
	CHECK_STR(s.q[0].resource, ARN("task-definition/web:*"));
	CHECK_STR(s.q[1].action, "iam:PassRole");
	CHECK_STR(s.q[1].resource, "arn:aws:iam::111122223333:role/t");
	CHECK_STR(s.q[2].resource, "arn:aws:iam::111122223333:role/e");
	qs_free(&s);
	questions(&s, "RegisterTaskDefinition", "{\"family\":\"web\",\"containerDefinitions\":[]}");
	CHECK_INT(s.n, 1);
	qs_free(&s);
}

static void start_task_carries_the_container_instances_key(void)
{
	struct qs s;
	questions(
	    &s, "StartTask",
	    "{\"cluster\":\"prod\",\"taskDefinition\":\"web:1\",\"containerInstances\":[\"i1\","
	    "\"" ARN("container-instance/prod/i2") "\"]}");
	CHECK_INT(s.rc, 0);
	CHECK_STR(s.q[0].resource, ARN("task-definition/web:1"));
	CHECK_STR(keyval(&s.q[0], "ecs:container-instances"),
	          ARN("container-instance/prod/i1") "," ARN("container-instance/prod/i2"));
	qs_free(&s);
	/* and RunTask does not */
	questions(&s, "RunTask", "{\"taskDefinition\":\"web:1\"}");
	CHECK(keyval(&s.q[0], "ecs:container-instances") == NULL);
	qs_free(&s);
}

static void describe_tasks_asks_once_per_task_with_its_tags(void)
{
	struct qs s;
	questions(
	    &s, "DescribeTasks",
	    "{\"cluster\":\"prod\",\"tasks\":[\"t1\",\"t2\",\"t1\",\"" ARN("task/prod/t3") "\"]}");
	CHECK_INT(s.rc, 0);
	CHECK_INT(s.n, 3);
	CHECK_STR(s.q[0].resource, ARN("task/prod/t1"));
	CHECK_STR(s.q[1].resource, ARN("task/prod/t2"));
	CHECK_STR(s.q[2].resource, ARN("task/prod/t3"));
	CHECK_STR(keyval(&s.q[2], "ecs:cluster"), ARN("cluster/prod"));
	qs_free(&s);
	/* tags that cannot be read fail the call closed */
	questions(&s, "StopTask", "{\"cluster\":\"prod\",\"task\":\"t-bad\"}");
	CHECK_INT(s.rc, -1);
	CHECK(strstr(s.msg, "tags") != NULL);
	qs_free(&s);
}

static void cluster_calls_ask_on_the_cluster_without_the_cluster_key(void)
{
	struct qs s;
	questions(&s, "DeleteCluster", "{\"cluster\":\"prod\"}");
	CHECK_STR(s.q[0].resource, ARN("cluster/prod"));
	CHECK(keyval(&s.q[0], "ecs:cluster") == NULL);
	CHECK_STR(keyval(&s.q[0], "aws:ResourceTag/env"), "prod");
	CHECK_STR(keyval(&s.q[0], "ecs:ResourceTag/env"), "prod");
	qs_free(&s);
	questions(&s, "DescribeClusters", "{}");
	CHECK_INT(s.n, 1);
	CHECK_STR(s.q[0].resource, ARN("cluster/default"));
	qs_free(&s);
	questions(&s, "DescribeClusters", "{\"clusters\":[\"a\",\"prod\"]}");
	CHECK_INT(s.n, 2);
	CHECK_STR(s.q[1].resource, ARN("cluster/prod"));
	qs_free(&s);
	questions(&s, "ListContainerInstances", "{\"cluster\":\"prod\"}");
	CHECK_STR(s.q[0].resource, ARN("cluster/prod"));
	CHECK(keyval(&s.q[0], "ecs:cluster") == NULL);
	qs_free(&s);
	questions(&s, "CreateCluster",
	          "{\"clusterName\":\"new\",\"tags\":[{\"key\":\"k\","
	          "\"value\":\"v\"}]}");
	CHECK_INT(s.n, 2);
	CHECK_STR(s.q[0].resource, ARN("cluster/new"));
	CHECK_STR(keyval(&s.q[0], "aws:RequestTag/k"), "v");
	CHECK(keyval(&s.q[0], "aws:ResourceTag/k") == NULL);
	CHECK_STR(s.q[1].action, "ecs:TagResource");
	CHECK_STR(keyval(&s.q[1], "ecs:CreateAction"), "CreateCluster");
	qs_free(&s);
	questions(&s, "ListClusters", "{}");
	CHECK_STR(s.q[0].resource, "*");
	CHECK_INT(json_object_size(s.q[0].keys), 0);
	qs_free(&s);
}

static void service_calls_carry_cluster_and_task_definition_keys(void)
{
	struct qs s;
	questions(&s, "CreateService",
	          "{\"cluster\":\"prod\",\"serviceName\":\"web\",\"taskDefinition\":\"web\","
	          "\"desiredCount\":1}");
	CHECK_STR(s.q[0].resource, ARN("service/prod/web"));
	CHECK_STR(keyval(&s.q[0], "ecs:cluster"), ARN("cluster/prod"));
	CHECK_STR(keyval(&s.q[0], "ecs:task-definition"), ARN("task-definition/web:7"));
	CHECK(keyval(&s.q[0], "aws:ResourceTag/team") == NULL);
	qs_free(&s);
	questions(&s, "UpdateService", "{\"cluster\":\"prod\",\"service\":\"web\"}");
	CHECK(keyval(&s.q[0], "ecs:task-definition") == NULL);
	CHECK_STR(keyval(&s.q[0], "aws:ResourceTag/team"), "web");
	qs_free(&s);
	questions(&s, "ListServices", "{\"cluster\":\"prod\"}");
	CHECK_STR(s.q[0].resource, "*");
	CHECK_STR(keyval(&s.q[0], "ecs:cluster"), ARN("cluster/prod"));
	qs_free(&s);
	questions(&s, "ListTasks", "{\"cluster\":\"prod\",\"containerInstance\":\"i9\"}");
	CHECK_STR(s.q[0].resource, ARN("container-instance/prod/i9"));
	qs_free(&s);
}

static void tagging_calls_ask_on_the_tagged_resource(void)
{
	struct qs s;
	questions(&s, "TagResource",
	          "{\"resourceArn\":\"" ARN("service/prod/web") "\",\"tags\":[{\"key\":\"x\","
	                                                        "\"value\":\"y\"}]}");
	CHECK_INT(s.n, 1);
	CHECK_STR(s.q[0].resource, ARN("service/prod/web"));
	CHECK_STR(keyval(&s.q[0], "ecs:cluster"), ARN("cluster/prod"));
	CHECK_STR(keyval(&s.q[0], "aws:TagKeys"), "x");
	CHECK_STR(keyval(&s.q[0], "aws:ResourceTag/team"), "web");
	qs_free(&s);
	questions(&s, "UntagResource",
	          "{\"resourceArn\":\"" ARN("cluster/prod") "\",\"tagKeys\":[\"env\"]}");
	CHECK_STR(keyval(&s.q[0], "aws:TagKeys"), "env");
	CHECK(keyval(&s.q[0], "ecs:cluster") == NULL);
	qs_free(&s);
	questions(&s, "ListTagsForResource", "{\"resourceArn\":\"" ARN("service/prod/web") "\"}");
	CHECK(keyval(&s.q[0], "ecs:cluster") == NULL);
	qs_free(&s);
}

static void a_call_naming_too_many_resources_is_refused(void)
{
	char buf[8192];
	size_t used = (size_t)snprintf(buf, sizeof(buf), "{\"tasks\":[");
	for (int i = 0; i < 200; i++)
		used +=
		    (size_t)snprintf(buf + used, sizeof(buf) - used, "%s\"t%d\"", i ? "," : "", i);
	snprintf(buf + used, sizeof(buf) - used, "]}");
	json_t *in = J(buf);
	struct gw_ecs_question q[4];
	size_t n = 0;
	char msg[128];
	CHECK_INT(gw_ecs_questions(OPN("DescribeTasks"), in, &ENV, q, 4, &n, msg, sizeof(msg)), -1);
	gw_ecs_questions_free(q, n);
	json_decref(in);
}

/* ---- real policies deciding the questions ---- */

struct fx {
	char dir[64];
	struct store *s;
	struct gw_iam *iam;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static const char *const IAM_FILE =
    "{\"account_id\":\"" ACCT "\",\"users\":["
    "{\"name\":\"runner\",\"inline_policies\":{\"p\":{\"Version\":\"2012-10-17\",\"Statement\":["
    "{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\",\"Condition\":"
    "{\"ArnEquals\":{\"ecs:cluster\":\"" ARN(
        "cluster/dev") "\"}}},"
                       "{\"Sid\":\"NoProdTags\",\"Effect\":\"Deny\",\"Action\":\"ecs:*\","
                       "\"Resource\":\"*\","
                       "\"Condition\":{\"StringEquals\":{\"aws:ResourceTag/env\":\"prod\"}}},"
                       "{\"Effect\":\"Allow\",\"Action\":[\"ecs:Describe*\",\"ecs:"
                       "RegisterTaskDefinition\"],"
                       "\"Resource\":\"*\"}]}}},"
                       "{\"name\":\"passer\",\"inline_policies\":{\"p\":{\"Version\":\"2012-10-"
                       "17\",\"Statement\":["
                       "{\"Effect\":\"Allow\",\"Action\":\"ecs:RegisterTaskDefinition\","
                       "\"Resource\":\"*\"},"
                       "{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"arn:aws:"
                       "iam::" ACCT
                       ":role/app\",\"Condition\":{\"StringEquals\":{\"iam:PassedToService\":"
                       "\"ecs-tasks.amazonaws.com\"}}}]}}}]}";

static bool fx_open(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-ecsauthz-XXXXXX");
	if (!mkdtemp(f->dir))
		return false;
	char db[128];
	snprintf(db, sizeof(db), "%s/t.db", f->dir);
	struct store_error se;
	if (store_open(db, NULL, &f->s, &se) != STORE_OK)
		return false;
	struct gw_iam_spec spec;
	struct gw_iam_diags d;
	int rc = gw_iam_file_parse(IAM_FILE, strlen(IAM_FILE), NULL, &spec, &d);
	for (size_t i = 0; i < d.count; i++)
		printf("    %s: %s\n", d.items[i].path, d.items[i].message);
	gw_iam_diags_free(&d);
	if (rc != GW_IAM_OK)
		return false;
	struct gw_iam_changes ch;
	memset(&ch, 0, sizeof(ch));
	struct gw_iam_error err = {0};
	rc = gw_iam_apply(f->s, &spec, NULL, &ch, &err);
	gw_iam_spec_free(&spec);
	gw_iam_changes_free(&ch);
	if (rc != GW_IAM_OK) {
		printf("    apply: %s\n", err.message);
		return false;
	}
	return gw_iam_load(f->s, &f->iam, &err) == GW_IAM_OK;
}

static void fx_close(struct fx *f)
{
	gw_iam_unref(f->iam);
	store_close(f->s);
	nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Asks every question of the call as user; returns the index of the first
 * denied one (its message in msg), or -1 when all were allowed. */
static int decide(struct fx *f, const char *user, const char *op, const char *input, char *msg,
                  size_t cap)
{
	struct gw_principal *p = NULL;
	const struct gw_iam_entity *e = gw_iam_user(f->iam, user, strlen(user));
	if (!e || gw_principal_new_user(f->iam, e, NULL, &p) != 0)
		return -2;
	struct qs s;
	questions(&s, op, input);
	int out = s.rc == 0 ? -1 : -3;
	for (size_t i = 0; s.rc == 0 && i < s.n; i++) {
		size_t nk = json_object_size(s.q[i].keys), nv = 0, ik = 0, iv = 0;
		const char *k;
		json_t *v;
		json_object_foreach(s.q[i].keys, k, v) nv += json_array_size(v);
		struct policy_ctx_entry ctx[32];
		struct policy_str vals[64];
		if (nk > 32 || nv > 64)
			return -4;
		json_object_foreach(s.q[i].keys, k, v)
		{
			ctx[ik].key.p = k;
			ctx[ik].key.n = strlen(k);
			ctx[ik].values = vals + iv;
			ctx[ik].nvalues = json_array_size(v);
			size_t j;
			json_t *x;
			json_array_foreach(v, j, x)
			{
				vals[iv].p = json_string_value(x);
				vals[iv].n = json_string_length(x);
				iv++;
			}
			ik++;
		}
		struct gw_authz_request req = {.action = s.q[i].action,
		                               .resource = s.q[i].resource,
		                               .extra = ctx,
		                               .n_extra = nk,
		                               .now = (int64_t)time(NULL),
		                               .region = REGION};
		struct gw_authz_result res;
		gw_authorize(p, &req, &res);
		if (!res.allowed) {
			snprintf(msg, cap, "%s", res.message);
			out = (int)i;
			break;
		}
	}
	qs_free(&s);
	gw_principal_free(p);
	return out;
}

static void denies_run_task_outside_the_allowed_cluster(void)
{
	struct fx f;
	CHECK(fx_open(&f));
	char msg[1536] = "";
	CHECK_INT(decide(&f, "runner", "RunTask",
	                 "{\"cluster\":\"dev\",\"taskDefinition\":\"web:3\"}", msg, sizeof(msg)),
	          -1);
	CHECK_INT(decide(&f, "runner", "RunTask",
	                 "{\"cluster\":\"other\",\"taskDefinition\":\"web:3\"}", msg, sizeof(msg)),
	          0);
	CHECK_STR(
	    msg,
	    "User: arn:aws:iam::" ACCT ":user/runner is not authorized to perform: "
	    "ecs:RunTask on resource: " ARN(
	        "task-definition/web:3") " because no "
	                                 "identity-based policy allows the ecs:RunTask action");
	/* the default cluster is not dev either */
	CHECK_INT(
	    decide(&f, "runner", "RunTask", "{\"taskDefinition\":\"web:3\"}", msg, sizeof(msg)), 0);
	fx_close(&f);
}

static void an_explicit_deny_on_resource_tags_is_worded_as_aws_does(void)
{
	struct fx f;
	CHECK(fx_open(&f));
	char msg[1536] = "";
	CHECK_INT(
	    decide(&f, "runner", "DescribeClusters", "{\"clusters\":[\"dev\"]}", msg, sizeof(msg)),
	    -1);
	CHECK_INT(decide(&f, "runner", "DescribeClusters", "{\"clusters\":[\"dev\",\"prod\"]}", msg,
	                 sizeof(msg)),
	          1);
	CHECK_STR(msg, "User: arn:aws:iam::" ACCT ":user/runner is not authorized to perform: "
	               "ecs:DescribeClusters on resource: " ARN(
	                   "cluster/prod") " with an explicit "
	                                   "deny in an identity-based policy");
	fx_close(&f);
}

static void passing_a_role_needs_pass_role_for_ecs_tasks(void)
{
	struct fx f;
	CHECK(fx_open(&f));
	char msg[1536] = "";
	const char *with_app = "{\"family\":\"w\",\"containerDefinitions\":[],\"taskRoleArn\":"
	                       "\"arn:aws:iam::" ACCT ":role/app\"}";
	const char *with_admin = "{\"family\":\"w\",\"containerDefinitions\":[],\"taskRoleArn\":"
	                         "\"arn:aws:iam::" ACCT ":role/admin\"}";
	CHECK_INT(decide(&f, "passer", "RegisterTaskDefinition", with_app, msg, sizeof(msg)), -1);
	CHECK_INT(decide(&f, "passer", "RegisterTaskDefinition", with_admin, msg, sizeof(msg)), 1);
	CHECK(strstr(msg, "iam:PassRole on resource: arn:aws:iam::" ACCT ":role/admin") != NULL);
	/* runner may register, but may pass no role */
	CHECK_INT(decide(&f, "runner", "RegisterTaskDefinition", with_app, msg, sizeof(msg)), 1);
	CHECK(strstr(msg, "perform: iam:PassRole") != NULL);
	CHECK_INT(decide(&f, "runner", "RegisterTaskDefinition",
	                 "{\"family\":\"w\",\"containerDefinitions\":[]}", msg, sizeof(msg)),
	          -1);
	fx_close(&f);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"every operation of the issue is served with its IAM action",
	     every_operation_of_the_issue_is_served_with_its_iam_action},
	    {"input checks follow the model's types", input_checks_follow_the_model_types},
	    {"required members are required", required_members_are_required},
	    {"features taskgate does not run are refused, not ignored",
	     features_taskgate_does_not_run_are_refused_not_ignored},
	    {"the audit copy keeps environment names and drops their values",
	     audit_copy_keeps_environment_names_and_drops_values},
	    {"RunTask asks on the task definition with the ecs:cluster key",
	     run_task_asks_on_the_task_definition_with_the_cluster_key},
	    {"RunTask with tags and roles asks ecs:TagResource and iam:PassRole",
	     run_task_with_tags_and_roles_asks_tag_resource_and_pass_role},
	    {"RegisterTaskDefinition asks iam:PassRole for each role",
	     register_task_definition_asks_pass_role_for_each_role},
	    {"StartTask carries ecs:container-instances",
	     start_task_carries_the_container_instances_key},
	    {"DescribeTasks asks once per task, with its tags; unreadable tags deny",
	     describe_tasks_asks_once_per_task_with_its_tags},
	    {"cluster calls ask on the cluster without ecs:cluster",
	     cluster_calls_ask_on_the_cluster_without_the_cluster_key},
	    {"service calls carry ecs:cluster and ecs:task-definition",
	     service_calls_carry_cluster_and_task_definition_keys},
	    {"tagging calls ask on the tagged resource", tagging_calls_ask_on_the_tagged_resource},
	    {"a call naming too many resources is refused",
	     a_call_naming_too_many_resources_is_refused},
	    {"denies RunTask outside the allowed cluster",
	     denies_run_task_outside_the_allowed_cluster},
	    {"an explicit deny on resource tags is worded as AWS does",
	     an_explicit_deny_on_resource_tags_is_worded_as_aws_does},
	    {"passing a role needs iam:PassRole for ecs-tasks",
	     passing_a_role_needs_pass_role_for_ecs_tasks},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
