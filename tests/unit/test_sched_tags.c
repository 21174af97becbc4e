/*
 * test_sched_tags.c - TagResource / UntagResource / ListTagsForResource
 * (scheduler/tags.c): ECS's limits and reserved prefix from both sides, each
 * kind of ARN, unknown and foreign resources, and that a refusal changes
 * nothing.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_sched_fixture.h"

#define CL_ARN(name) "arn:aws:ecs:us-east-1:123456789012:cluster/" name
#define TD_ARN(ref)  "arn:aws:ecs:us-east-1:123456789012:task-definition/" ref

static json_t *tags_of(struct sfx *f, const char *arn)
{
	json_t *t = NULL;
	if (sched_list_tags(f->s, arn, &t, &f->err) != SCHED_OK)
		return NULL;
	return t;
}

static bool tags_are(struct sfx *f, const char *arn, const char *want_text)
{
	json_t *got = tags_of(f, arn);
	json_t *want = sfx_json(want_text);
	bool same = got && json_equal(got, want);
	if (!same) {
		char *g = got ? json_dumps(got, JSON_COMPACT) : NULL;
		printf("      got %s\n      want %s\n", g ? g : "(null)", want_text);
		free(g);
	}
	json_decref(got);
	json_decref(want);
	return same;
}

static int tag(struct sfx *f, const char *arn, const char *text)
{
	json_t *t = sfx_json(text);
	int rc = sched_tag_resource(f->s, arn, t, &f->err);
	json_decref(t);
	return rc;
}

static int untag(struct sfx *f, const char *arn, const char *text)
{
	json_t *t = sfx_json(text);
	int rc = sched_untag_resource(f->s, arn, t, &f->err);
	json_decref(t);
	return rc;
}

static void make_cluster(struct sfx *f, const char *name)
{
	json_t *c = NULL;
	if (sched_cluster_create(f->s, name, NULL, &c, &f->err) != SCHED_OK)
		printf("    create %s: %s\n", name, f->err.message);
	json_decref(c);
}

static void test_tag_list_untag_on_a_cluster(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	CHECK(tags_are(&f, CL_ARN("prod"), "[]"));
	CHECK_INT(tag(&f, CL_ARN("prod"),
	              "[{\"key\":\"team\",\"value\":\"a\"},{\"key\":\"env\","
	              "\"value\":\"prod\"}]"),
	          SCHED_OK);
	CHECK_INT(tag(&f, CL_ARN("prod"), "[{\"key\":\"team\",\"value\":\"b\"},{\"key\":\"x\"}]"),
	          SCHED_OK);
	CHECK(tags_are(&f, CL_ARN("prod"),
	               "[{\"key\":\"team\",\"value\":\"b\"},{\"key\":\"env\",\"value\":\"prod\"},"
	               "{\"key\":\"x\",\"value\":\"\"}]"));
	CHECK_INT(untag(&f, CL_ARN("prod"), "[\"team\", \"not-there\"]"), SCHED_OK);
	CHECK(tags_are(&f, CL_ARN("prod"),
	               "[{\"key\":\"env\",\"value\":\"prod\"},{\"key\":\"x\",\"value\":\"\"}]"));
	/* what DescribeClusters shows is the same list */
	json_t *names = sfx_json("[\"prod\"]"), *cl = NULL, *fail = NULL;
	CHECK_INT(sched_cluster_describe(f.s, names, &cl, &fail, &f.err), SCHED_OK);
	json_t *want = tags_of(&f, CL_ARN("prod"));
	CHECK(json_equal(json_object_get(json_array_get(cl, 0), "tags"), want));
	json_decref(want);
	json_decref(cl);
	json_decref(fail);
	json_decref(names);
	/* and a restart keeps it */
	sfx_restart(&f);
	CHECK(tags_are(&f, CL_ARN("prod"),
	               "[{\"key\":\"env\",\"value\":\"prod\"},{\"key\":\"x\",\"value\":\"\"}]"));
	sfx_done(&f);
}

static void test_fifty_tags_fit_and_fifty_one_do_not(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	json_t *t = json_array();
	char k[16];
	for (int i = 0; i < 49; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		json_array_append_new(t, json_pack("{s:s,s:s}", "key", k, "value", "v"));
	}
	CHECK_INT(sched_tag_resource(f.s, CL_ARN("prod"), t, &f.err), SCHED_OK);
	json_t *one =
	    sfx_json("[{\"key\":\"k49\",\"value\":\"v\"},{\"key\":\"k50\",\"value\":\"v\"}]");
	CHECK_INT(sched_tag_resource(f.s, CL_ARN("prod"), one, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	json_t *now = tags_of(&f, CL_ARN("prod"));
	CHECK_INT(json_array_size(now), 49); /* nothing of the refused call */
	json_decref(now);
	json_array_remove(one, 1);
	CHECK_INT(sched_tag_resource(f.s, CL_ARN("prod"), one, &f.err), SCHED_OK);
	/* overwriting a key at the limit is fine */
	CHECK_INT(tag(&f, CL_ARN("prod"), "[{\"key\":\"k0\",\"value\":\"new\"}]"), SCHED_OK);
	now = tags_of(&f, CL_ARN("prod"));
	CHECK_INT(json_array_size(now), 50);
	json_decref(now);
	/* 51 on create is refused as well */
	json_array_append_new(t, json_pack("{s:s,s:s}", "key", "k49", "value", "v"));
	json_array_append_new(t, json_pack("{s:s,s:s}", "key", "k50", "value", "v"));
	json_t *c = NULL;
	CHECK_INT(sched_cluster_create(f.s, "other", t, &c, &f.err), SCHED_ERR_INVALID_PARAMETER);
	json_array_remove(t, 50);
	CHECK_INT(sched_cluster_create(f.s, "other", t, &c, &f.err), SCHED_OK);
	json_decref(c);
	json_decref(t);
	json_decref(one);
	sfx_done(&f);
}

static void test_key_and_value_rules_from_both_sides(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	char key128[129], key129[130], val256[257], val257[258], text[1024];
	memset(key128, 'k', 128);
	key128[128] = '\0';
	memset(key129, 'k', 129);
	key129[129] = '\0';
	memset(val256, 'v', 256);
	val256[256] = '\0';
	memset(val257, 'v', 257);
	val257[257] = '\0';
	snprintf(text, sizeof(text), "[{\"key\":\"%s\",\"value\":\"%s\"}]", key128, val256);
	CHECK_INT(tag(&f, CL_ARN("prod"), text), SCHED_OK);
	snprintf(text, sizeof(text), "[{\"key\":\"%s\",\"value\":\"v\"}]", key129);
	CHECK_INT(tag(&f, CL_ARN("prod"), text), SCHED_ERR_INVALID_PARAMETER);
	snprintf(text, sizeof(text), "[{\"key\":\"k\",\"value\":\"%s\"}]", val257);
	CHECK_INT(tag(&f, CL_ARN("prod"), text), SCHED_ERR_INVALID_PARAMETER);
	/* lengths count characters: 128 two-byte letters are a valid key */
	char uni[600] = "";
	for (int i = 0; i < 129; i++) /* 129 letters: the 129th is only used below */
		memcpy(uni + 2 * i, "\xc3\xa9", 2);
	uni[2 * 128] = '\0';
	snprintf(text, sizeof(text), "[{\"key\":\"%s\",\"value\":\"caf\xc3\xa9\"}]", uni);
	CHECK_INT(tag(&f, CL_ARN("prod"), text), SCHED_OK);
	uni[2 * 128] = '\xc3'; /* the 129th letter */
	uni[2 * 129] = '\0';
	snprintf(text, sizeof(text), "[{\"key\":\"%s\",\"value\":\"x\"}]", uni);
	CHECK_INT(tag(&f, CL_ARN("prod"), text), SCHED_ERR_INVALID_PARAMETER);
	/* every allowed punctuation mark, and some that are not */
	CHECK_INT(
	    tag(&f, CL_ARN("prod"), "[{\"key\":\"a b+c-d=e.f_g:h/i@j\",\"value\":\"+-=._:/@ \"}]"),
	    SCHED_OK);
	const char *bad[] = {
	    "[{\"key\":\"a#b\",\"value\":\"v\"}]",
	    "[{\"key\":\"k\",\"value\":\"v*\"}]",
	    "[{\"key\":\"\",\"value\":\"v\"}]",
	    "[{\"key\":\"k\\n\",\"value\":\"v\"}]",
	    "[{\"value\":\"v\"}]",
	    "[{\"key\":\"k\",\"value\":3}]",
	    "[{\"key\":\"aws:x\",\"value\":\"v\"}]",
	    "[{\"key\":\"AWS:x\",\"value\":\"v\"}]",
	    "[{\"key\":\"Aws:x\",\"value\":\"v\"}]",
	    "[{\"key\":\"k\",\"value\":\"aws:v\"}]",
	    "[{\"key\":\"d\",\"value\":\"1\"},{\"key\":\"d\",\"value\":\"2\"}]",
	    "[]",
	    "{\"key\":\"k\"}",
	    "[\"k\"]",
	};
	json_t *before = tags_of(&f, CL_ARN("prod"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = tag(&f, CL_ARN("prod"), bad[i]);
		if (rc != SCHED_ERR_INVALID_PARAMETER)
			printf("    case %zu accepted\n", i);
		CHECK_INT(rc, SCHED_ERR_INVALID_PARAMETER);
	}
	json_t *after = tags_of(&f, CL_ARN("prod"));
	CHECK(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	/* "awsome" and "x:aws:" are not the reserved prefix */
	CHECK_INT(tag(&f, CL_ARN("prod"), "[{\"key\":\"awsome\",\"value\":\"x:aws:\"}]"), SCHED_OK);
	/* untag: keys are checked too, and aws: keys cannot be removed */
	CHECK_INT(untag(&f, CL_ARN("prod"), "[\"aws:cloudformation:stack-name\"]"),
	          SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(untag(&f, CL_ARN("prod"), "[]"), SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(untag(&f, CL_ARN("prod"), "[\"\"]"), SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(untag(&f, CL_ARN("prod"), "[1]"), SCHED_ERR_INVALID_PARAMETER);
	CHECK_INT(untag(&f, CL_ARN("prod"), "[\"awsome\"]"), SCHED_OK);
	sfx_done(&f);
}

static void test_every_kind_of_resource_and_unknown_ones(void)
{
	struct sfx f;
	sfx_init(&f);
	make_cluster(&f, "prod");
	json_t *in = sfx_json("{\"family\":\"web\",\"tags\":[{\"key\":\"a\",\"value\":\"1\"}],"
	                      "\"containerDefinitions\":[{\"name\":\"w\",\"image\":\"x\","
	                      "\"memory\":64}]}");
	json_t *td = NULL;
	CHECK_INT(sched_taskdef_register(f.s, in, &td, &f.err), SCHED_OK);
	json_decref(td);
	json_decref(in);
	CHECK(tags_are(&f, TD_ARN("web:1"), "[{\"key\":\"a\",\"value\":\"1\"}]"));
	CHECK_INT(tag(&f, TD_ARN("web:1"), "[{\"key\":\"b\",\"value\":\"2\"}]"), SCHED_OK);
	CHECK_INT(sched_taskdef_describe(f.s, "web:1", &td, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(json_object_get(td, "tags")), 2);
	json_decref(td);

	/* tasks, services and instances written by the rest of the scheduler */
	const char *task = "arn:aws:ecs:us-east-1:123456789012:task/prod/0123abcd";
	const char *svc = "arn:aws:ecs:us-east-1:123456789012:service/prod/web";
	const char *inst = "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/77aa";
	CHECK_INT(sfx_put_raw(&f, STORE_SCHED_TASK, task, CL_ARN("prod"), "0123abcd", "RUNNING",
	                      NULL, "{\"taskArn\":\"x\",\"tags\":[]}"),
	          STORE_OK);
	CHECK_INT(
	    sfx_put_raw(&f, STORE_SCHED_SERVICE, svc, CL_ARN("prod"), "web", "ACTIVE", NULL, "{}"),
	    STORE_OK);
	CHECK_INT(sfx_put_raw(&f, STORE_SCHED_CONTAINER_INSTANCE, inst, CL_ARN("prod"), "77aa",
	                      "ACTIVE", NULL, "{}"),
	          STORE_OK);
	const char *arns[] = {task, svc, inst};
	for (size_t i = 0; i < 3; i++) {
		CHECK(tags_are(&f, arns[i], "[]"));
		CHECK_INT(tag(&f, arns[i], "[{\"key\":\"k\",\"value\":\"v\"}]"), SCHED_OK);
		CHECK(tags_are(&f, arns[i], "[{\"key\":\"k\",\"value\":\"v\"}]"));
		CHECK_INT(untag(&f, arns[i], "[\"k\"]"), SCHED_OK);
		CHECK(tags_are(&f, arns[i], "[]"));
	}

	json_t *t = NULL;
	CHECK_INT(sched_list_tags(f.s, CL_ARN("nope"), &t, &f.err), SCHED_ERR_CLUSTER_NOT_FOUND);
	CHECK(t == NULL);
	CHECK_INT(tag(&f, CL_ARN("nope"), "[{\"key\":\"k\",\"value\":\"v\"}]"),
	          SCHED_ERR_CLUSTER_NOT_FOUND);
	CHECK_INT(sched_list_tags(f.s, TD_ARN("web:9"), &t, &f.err), SCHED_ERR_RESOURCE_NOT_FOUND);
	CHECK_STR(sched_exception_name(f.err.code), "ResourceNotFoundException");
	CHECK_INT(sched_list_tags(f.s, "arn:aws:ecs:us-east-1:123456789012:task/prod/ffffffff", &t,
	                          &f.err),
	          SCHED_ERR_RESOURCE_NOT_FOUND);
	/* an ARN of one kind does not reach an object of another */
	CHECK_INT(sched_list_tags(f.s, "arn:aws:ecs:us-east-1:123456789012:service/prod/0123abcd",
	                          &t, &f.err),
	          SCHED_ERR_RESOURCE_NOT_FOUND);
	const char *invalid[] = {"",
	                         "prod",
	                         "arn:aws:ecs:us-east-1:999999999999:cluster/prod",
	                         "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
	                         "arn:aws:ecs:us-east-1:123456789012:capacity-provider/x",
	                         "arn:aws:ecs:us-east-1:123456789012:cluster/",
	                         "arn:aws:iam::123456789012:role/x"};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		CHECK_INT(sched_list_tags(f.s, invalid[i], &t, &f.err),
		          SCHED_ERR_INVALID_PARAMETER);
		CHECK_INT(tag(&f, invalid[i], "[{\"key\":\"k\",\"value\":\"v\"}]"),
		          SCHED_ERR_INVALID_PARAMETER);
	}
	CHECK_INT(sched_list_tags(f.s, NULL, &t, &f.err), SCHED_ERR_INVALID_PARAMETER);

	/* a deleted cluster cannot be tagged */
	json_t *c = NULL;
	CHECK_INT(sched_cluster_delete(f.s, "prod", &c, &f.err), SCHED_ERR_CLUSTER_HAS_INSTANCES);
	make_cluster(&f, "empty");
	CHECK_INT(sched_cluster_delete(f.s, "empty", &c, &f.err), SCHED_OK);
	json_decref(c);
	CHECK_INT(tag(&f, CL_ARN("empty"), "[{\"key\":\"k\",\"value\":\"v\"}]"),
	          SCHED_ERR_CLUSTER_NOT_FOUND);
	sfx_done(&f);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"tag, list and untag a cluster; describe and a restart show the same tags",
	     test_tag_list_untag_on_a_cluster},
	    {"fifty tags fit on a resource and fifty-one do not",
	     test_fifty_tags_fit_and_fifty_one_do_not},
	    {"key and value rules from both sides; a refusal changes nothing",
	     test_key_and_value_rules_from_both_sides},
	    {"every kind of resource is taggable; unknown and foreign ARNs are refused",
	     test_every_kind_of_resource_and_unknown_ones},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
