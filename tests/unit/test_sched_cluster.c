/*
 * test_sched_cluster.c - ECS clusters (scheduler/cluster.c) on a real store:
 * create (idempotent, names, ARNs, shapes), describe with MISSING failures,
 * the counts, delete and what refuses it, list pages, and a restart.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_sched_fixture.h"

#define CL_ARN(name) "arn:aws:ecs:us-east-1:123456789012:cluster/" name

static void test_create_gives_the_ecs_shape(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *tags = sfx_json("[{\"key\":\"team\",\"value\":\"payments\"}]");
	json_t *c = NULL;
	CHECK_INT(sched_cluster_create(f.s, "prod", tags, &c, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(c, "clusterArn"), CL_ARN("prod"));
	CHECK_STR(sfx_str(c, "clusterName"), "prod");
	CHECK_STR(sfx_str(c, "status"), "ACTIVE");
	CHECK_INT(json_integer_value(json_object_get(c, "registeredContainerInstancesCount")), 0);
	CHECK_INT(json_integer_value(json_object_get(c, "runningTasksCount")), 0);
	CHECK_INT(json_integer_value(json_object_get(c, "pendingTasksCount")), 0);
	CHECK_INT(json_integer_value(json_object_get(c, "activeServicesCount")), 0);
	json_t *settings = json_object_get(c, "settings");
	CHECK_INT(json_array_size(settings), 1);
	CHECK_STR(sfx_str(json_array_get(settings, 0), "name"), "containerInsights");
	CHECK_STR(sfx_str(json_array_get(settings, 0), "value"), "disabled");
	json_t *stats = json_object_get(c, "statistics");
	CHECK(json_is_array(stats) && json_array_size(stats) > 0);
	CHECK_STR(sfx_str(json_array_get(stats, 0), "name"), "runningEC2TasksCount");
	CHECK_STR(sfx_str(json_array_get(stats, 0), "value"), "0");
	CHECK(json_equal(json_object_get(c, "tags"), tags));
	CHECK(json_is_array(json_object_get(c, "capacityProviders")));
	json_decref(c);
	json_decref(tags);
	sfx_done(&f);
}

static void test_create_is_idempotent_on_the_name(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *t1 = sfx_json("[{\"key\":\"a\",\"value\":\"1\"}]");
	json_t *t2 = sfx_json("[{\"key\":\"b\",\"value\":\"2\"}]");
	json_t *c1 = NULL, *c2 = NULL;
	CHECK_INT(sched_cluster_create(f.s, "prod", t1, &c1, &f.err), SCHED_OK);
	f.now_ms += 5000;
	CHECK_INT(sched_cluster_create(f.s, "prod", t2, &c2, &f.err), SCHED_OK);
	CHECK(json_equal(c1, c2)); /* the existing cluster, tags unchanged */
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_cluster_list(f.s, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 1);
	CHECK(next == NULL);
	json_decref(arns);
	json_decref(c1);
	json_decref(c2);
	json_decref(t1);
	json_decref(t2);
	sfx_done(&f);
}

static void test_names_follow_ecs_rules(void)
{
	struct sfx f;
	sfx_init(&f);
	char longest[256], too_long[257];
	memset(longest, 'a', 255);
	longest[255] = '\0';
	memset(too_long, 'b', 256);
	too_long[256] = '\0';
	json_t *c = NULL;
	CHECK_INT(sched_cluster_create(f.s, longest, NULL, &c, &f.err), SCHED_OK);
	json_decref(c);
	CHECK_INT(sched_cluster_create(f.s, "A-b_9", NULL, &c, &f.err), SCHED_OK);
	json_decref(c);
	const char *bad[] = {too_long, "has space", "dot.ted", "sl/ash", "col:on", "ünï"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = NULL;
		CHECK_INT(sched_cluster_create(f.s, bad[i], NULL, &c, &f.err),
		          SCHED_ERR_INVALID_PARAMETER);
		CHECK(c == NULL);
	}
	CHECK_STR(sched_exception_name(f.err.code), "InvalidParameterException");
	/* no name is the default cluster */
	CHECK_INT(sched_cluster_create(f.s, NULL, NULL, &c, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(c, "clusterArn"), CL_ARN("default"));
	json_decref(c);
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_cluster_list(f.s, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 3);
	json_decref(arns);
	sfx_done(&f);
}

static void test_bad_tags_create_nothing(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *tags = sfx_json("[{\"key\":\"aws:owner\",\"value\":\"x\"}]");
	json_t *c = NULL;
	CHECK_INT(sched_cluster_create(f.s, "prod", tags, &c, &f.err), SCHED_ERR_INVALID_PARAMETER);
	CHECK(strstr(f.err.message, "aws:") != NULL);
	json_t *names = sfx_json("[\"prod\"]"), *cl = NULL, *fail = NULL;
	CHECK_INT(sched_cluster_describe(f.s, names, &cl, &fail, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(cl), 0);
	CHECK_INT(json_array_size(fail), 1);
	json_decref(cl);
	json_decref(fail);
	json_decref(names);
	json_decref(tags);
	sfx_done(&f);
}

static void test_describe_reports_missing_ones_as_failures(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *c = NULL;
	CHECK_INT(sched_cluster_create(f.s, "a", NULL, &c, &f.err), SCHED_OK);
	json_decref(c);
	CHECK_INT(sched_cluster_create(f.s, "b", NULL, &c, &f.err), SCHED_OK);
	json_decref(c);
	json_t *names = sfx_json("[\"a\", \"" CL_ARN(
	    "b") "\", \"nope\", "
	         "\"arn:aws:ecs:us-east-1:999999999999:cluster/a\", \"bad name\"]");
	json_t *cl = NULL, *fail = NULL;
	CHECK_INT(sched_cluster_describe(f.s, names, &cl, &fail, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(cl), 2);
	CHECK_STR(sfx_str(json_array_get(cl, 0), "clusterName"), "a");
	CHECK_STR(sfx_str(json_array_get(cl, 1), "clusterName"), "b");
	CHECK_INT(json_array_size(fail), 3);
	CHECK_STR(sfx_str(json_array_get(fail, 0), "arn"), CL_ARN("nope"));
	CHECK_STR(sfx_str(json_array_get(fail, 0), "reason"), "MISSING");
	CHECK_STR(sfx_str(json_array_get(fail, 1), "arn"),
	          "arn:aws:ecs:us-east-1:999999999999:cluster/a");
	json_decref(cl);
	json_decref(fail);
	json_decref(names);

	/* no names: the default cluster, missing until made */
	CHECK_INT(sched_cluster_describe(f.s, NULL, &cl, &fail, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(cl), 0);
	CHECK_STR(sfx_str(json_array_get(fail, 0), "arn"), CL_ARN("default"));
	json_decref(cl);
	json_decref(fail);
	CHECK_INT(sched_cluster_create(f.s, "default", NULL, &c, &f.err), SCHED_OK);
	json_decref(c);
	CHECK_INT(sched_cluster_describe(f.s, NULL, &cl, &fail, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(cl), 1);
	CHECK_INT(json_array_size(fail), 0);
	json_decref(cl);
	json_decref(fail);

	/* malformed requests */
	names = sfx_json("[\"a\", 7]");
	CHECK_INT(sched_cluster_describe(f.s, names, &cl, &fail, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	CHECK(cl == NULL && fail == NULL);
	json_decref(names);
	names = json_array();
	for (int i = 0; i < 101; i++)
		json_array_append_new(names, json_string("a"));
	CHECK_INT(sched_cluster_describe(f.s, names, &cl, &fail, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	json_array_remove(names, 0);
	CHECK_INT(sched_cluster_describe(f.s, names, &cl, &fail, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(cl), 100);
	json_decref(cl);
	json_decref(fail);
	json_decref(names);
	sfx_done(&f);
}

static void test_counts_come_from_tasks_instances_and_services(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *c = NULL;
	CHECK_INT(sched_cluster_create(f.s, "prod", NULL, &c, &f.err), SCHED_OK);
	json_decref(c);
	const char *cl = CL_ARN("prod");
	const char *other = CL_ARN("other");
	sfx_put_raw(&f, STORE_SCHED_TASK, "arn:t/1", cl, "1", "RUNNING", NULL, NULL);
	sfx_put_raw(&f, STORE_SCHED_TASK, "arn:t/2", cl, "2", "RUNNING", NULL, NULL);
	sfx_put_raw(&f, STORE_SCHED_TASK, "arn:t/3", cl, "3", "PENDING", NULL, NULL);
	sfx_put_raw(&f, STORE_SCHED_TASK, "arn:t/4", cl, "4", "STOPPED", NULL, NULL);
	sfx_put_raw(&f, STORE_SCHED_TASK, "arn:t/5", other, "5", "RUNNING", NULL, NULL);
	sfx_put_raw(&f, STORE_SCHED_SERVICE, "arn:s/1", cl, "web", "ACTIVE", NULL, NULL);
	sfx_put_raw(&f, STORE_SCHED_SERVICE, "arn:s/2", cl, "old", "DRAINING", NULL, NULL);
	sfx_put_raw(&f, STORE_SCHED_SERVICE, "arn:s/3", cl, "gone", "INACTIVE", NULL, NULL);
	sfx_put_raw(&f, STORE_SCHED_CONTAINER_INSTANCE, "arn:i/1", cl, "i1", "ACTIVE", NULL, NULL);
	sfx_put_raw(&f, STORE_SCHED_CONTAINER_INSTANCE, "arn:i/2", cl, "i2", "DRAINING", NULL,
	            NULL);
	sfx_put_raw(&f, STORE_SCHED_CONTAINER_INSTANCE, "arn:i/3", cl, "i3", "INACTIVE", NULL,
	            NULL);
	json_t *names = sfx_json("[\"prod\"]"), *out = NULL, *fail = NULL;
	CHECK_INT(sched_cluster_describe(f.s, names, &out, &fail, &f.err), SCHED_OK);
	json_t *p = json_array_get(out, 0);
	CHECK_INT(json_integer_value(json_object_get(p, "registeredContainerInstancesCount")), 2);
	CHECK_INT(json_integer_value(json_object_get(p, "runningTasksCount")), 2);
	CHECK_INT(json_integer_value(json_object_get(p, "pendingTasksCount")), 1);
	CHECK_INT(json_integer_value(json_object_get(p, "activeServicesCount")), 1);
	size_t i;
	json_t *st;
	int seen = 0;
	json_array_foreach(json_object_get(p, "statistics"), i, st)
	{
		if (strcmp(sfx_str(st, "name"), "runningEC2TasksCount") == 0) {
			CHECK_STR(sfx_str(st, "value"), "2");
			seen++;
		}
		if (strcmp(sfx_str(st, "name"), "pendingEC2TasksCount") == 0) {
			CHECK_STR(sfx_str(st, "value"), "1");
			seen++;
		}
		if (strcmp(sfx_str(st, "name"), "drainingEC2ServiceCount") == 0) {
			CHECK_STR(sfx_str(st, "value"), "1");
			seen++;
		}
	}
	CHECK_INT(seen, 3);
	json_decref(out);
	json_decref(fail);
	json_decref(names);
	sfx_done(&f);
}

static void test_delete_refuses_a_cluster_in_use_and_changes_nothing(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *c = NULL;
	const char *cl = CL_ARN("prod");
	CHECK_INT(sched_cluster_create(f.s, "prod", NULL, &c, &f.err), SCHED_OK);
	json_decref(c);

	sfx_put_raw(&f, STORE_SCHED_CONTAINER_INSTANCE, "arn:i/1", cl, "i1", "DRAINING", NULL,
	            NULL);
	c = NULL;
	CHECK_INT(sched_cluster_delete(f.s, "prod", &c, &f.err), SCHED_ERR_CLUSTER_HAS_INSTANCES);
	CHECK_STR(sched_exception_name(f.err.code), "ClusterContainsContainerInstancesException");
	CHECK(c == NULL);
	struct store_sched_obj row = {.kind = STORE_SCHED_CONTAINER_INSTANCE,
	                              .arn = (char *)"arn:i/1",
	                              .cluster = (char *)cl,
	                              .name = (char *)"i1",
	                              .status = (char *)"INACTIVE",
	                              .grp = (char *)"",
	                              .parent = (char *)"",
	                              .doc = (char *)"{}"};
	struct store_error se;
	CHECK_INT(store_sched_put(f.store, &row, 1, NULL, NULL, &se), STORE_OK);

	sfx_put_raw(&f, STORE_SCHED_SERVICE, "arn:s/1", cl, "web", "DRAINING", NULL, NULL);
	CHECK_INT(sched_cluster_delete(f.s, "prod", &c, &f.err), SCHED_ERR_CLUSTER_HAS_SERVICES);
	CHECK_STR(sched_exception_name(f.err.code), "ClusterContainsServicesException");
	row.kind = STORE_SCHED_SERVICE;
	row.arn = (char *)"arn:s/1";
	row.name = (char *)"web";
	CHECK_INT(store_sched_put(f.store, &row, 1, NULL, NULL, &se), STORE_OK);

	sfx_put_raw(&f, STORE_SCHED_TASK, "arn:t/1", cl, "1", "DEPROVISIONING", NULL, NULL);
	sfx_put_raw(&f, STORE_SCHED_TASK, "arn:t/2", cl, "2", "STOPPED", NULL, NULL);
	CHECK_INT(sched_cluster_delete(f.s, cl, &c, &f.err), SCHED_ERR_CLUSTER_HAS_TASKS);
	CHECK_STR(sched_exception_name(f.err.code), "ClusterContainsTasksException");

	json_t *names = sfx_json("[\"prod\"]"), *out = NULL, *fail = NULL;
	CHECK_INT(sched_cluster_describe(f.s, names, &out, &fail, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(json_array_get(out, 0), "status"), "ACTIVE");
	json_decref(out);
	json_decref(fail);

	row.kind = STORE_SCHED_TASK;
	row.arn = (char *)"arn:t/1";
	row.name = (char *)"1";
	row.status = (char *)"STOPPED";
	CHECK_INT(store_sched_put(f.store, &row, 1, NULL, NULL, &se), STORE_OK);
	CHECK_INT(sched_cluster_delete(f.s, cl, &c, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(c, "status"), "INACTIVE");
	json_decref(c);

	/* INACTIVE: not listed, described as INACTIVE, not deletable again */
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_cluster_list(f.s, NULL, &arns, &next, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 0);
	json_decref(arns);
	CHECK_INT(sched_cluster_describe(f.s, names, &out, &fail, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(json_array_get(out, 0), "status"), "INACTIVE");
	json_decref(out);
	json_decref(fail);
	CHECK_INT(sched_cluster_delete(f.s, "prod", &c, &f.err), SCHED_ERR_CLUSTER_NOT_FOUND);
	CHECK_STR(f.err.message, "Cluster not found.");
	CHECK_INT(sched_cluster_delete(f.s, "never", &c, &f.err), SCHED_ERR_CLUSTER_NOT_FOUND);

	/* made again: ACTIVE, with the new request's tags */
	json_t *tags = sfx_json("[{\"key\":\"v\",\"value\":\"2\"}]");
	CHECK_INT(sched_cluster_create(f.s, "prod", tags, &c, &f.err), SCHED_OK);
	CHECK_STR(sfx_str(c, "status"), "ACTIVE");
	CHECK(json_equal(json_object_get(c, "tags"), tags));
	json_decref(c);
	json_decref(tags);
	json_decref(names);
	sfx_done(&f);
}

static int list_clusters(struct sfx *f, const struct sched_page *p, json_t **arns, char **next)
{
	return sched_cluster_list(f->s, p, arns, next, &f->err);
}

static void test_list_pages_are_complete_and_stable(void)
{
	struct sfx f;
	sfx_init(&f);
	char name[16];
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		json_t *c = NULL;
		CHECK_INT(sched_cluster_create(f.s, name, NULL, &c, &f.err), SCHED_OK);
		json_decref(c);
	}
	int pages = 0;
	json_t *all = sfx_list_all(&f, 3, list_clusters, &pages);
	CHECK(all != NULL);
	CHECK_INT(json_array_size(all), 7);
	CHECK_INT(pages, 3);
	CHECK_STR(json_string_value(json_array_get(all, 0)), CL_ARN("c0"));
	CHECK_STR(json_string_value(json_array_get(all, 6)), CL_ARN("c6"));
	json_decref(all);

	/* a token resumes after the same cluster, whatever happens meanwhile */
	struct sched_page p = {.max_results = 2};
	json_t *arns = NULL;
	char *next = NULL;
	CHECK_INT(sched_cluster_list(f.s, &p, &arns, &next, &f.err), SCHED_OK);
	CHECK(next != NULL);
	json_decref(arns);
	json_t *c = NULL;
	CHECK_INT(sched_cluster_delete(f.s, "c1", &c, &f.err), SCHED_OK); /* on the first page */
	json_decref(c);
	CHECK_INT(sched_cluster_create(f.s, "late", NULL, &c, &f.err), SCHED_OK);
	json_decref(c);
	sfx_restart(&f);
	p.next_token = next;
	p.max_results = 100;
	char *next2 = NULL;
	CHECK_INT(sched_cluster_list(f.s, &p, &arns, &next2, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 6); /* c2..c6, late */
	CHECK_STR(json_string_value(json_array_get(arns, 0)), CL_ARN("c2"));
	CHECK_STR(json_string_value(json_array_get(arns, 5)), CL_ARN("late"));
	CHECK(next2 == NULL);
	json_decref(arns);

	/* an edited token, or a bad page size, is refused */
	next[10] = next[10] == '0' ? '1' : '0';
	CHECK_INT(sched_cluster_list(f.s, &p, &arns, &next2, &f.err), SCHED_ERR_INVALID_PARAMETER);
	free(next);
	struct sched_page bad = {.max_results = 101};
	CHECK_INT(sched_cluster_list(f.s, &bad, &arns, &next2, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	bad.max_results = -1;
	CHECK_INT(sched_cluster_list(f.s, &bad, &arns, &next2, &f.err),
	          SCHED_ERR_INVALID_PARAMETER);
	bad.max_results = 0; /* the default page */
	CHECK_INT(sched_cluster_list(f.s, &bad, &arns, &next2, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(arns), 7);
	json_decref(arns);
	sfx_done(&f);
}

static void test_a_restart_sees_every_cluster(void)
{
	struct sfx f;
	sfx_init(&f);
	json_t *tags = sfx_json("[{\"key\":\"k\",\"value\":\"v\"}]");
	json_t *c = NULL;
	CHECK_INT(sched_cluster_create(f.s, "a", tags, &c, &f.err), SCHED_OK);
	json_decref(c);
	CHECK_INT(sched_cluster_create(f.s, "b", NULL, &c, &f.err), SCHED_OK);
	json_decref(c);
	CHECK_INT(sched_cluster_delete(f.s, "b", &c, &f.err), SCHED_OK);
	json_decref(c);
	sfx_restart(&f);
	json_t *names = sfx_json("[\"a\", \"b\"]"), *out = NULL, *fail = NULL;
	CHECK_INT(sched_cluster_describe(f.s, names, &out, &fail, &f.err), SCHED_OK);
	CHECK_INT(json_array_size(out), 2);
	CHECK_STR(sfx_str(json_array_get(out, 0), "status"), "ACTIVE");
	CHECK(json_equal(json_object_get(json_array_get(out, 0), "tags"), tags));
	CHECK_STR(sfx_str(json_array_get(out, 1), "status"), "INACTIVE");
	json_decref(out);
	json_decref(fail);
	json_decref(names);
	json_decref(tags);
	sfx_done(&f);
}

int main(int argc, char **argv)
{
	static const struct check_case cases[] = {
	    {"create gives the ECS cluster shape with a long ARN", test_create_gives_the_ecs_shape},
	    {"create is idempotent on the name and keeps the first tags",
	     test_create_is_idempotent_on_the_name},
	    {"cluster names follow ECS's rules; no name is default", test_names_follow_ecs_rules},
	    {"bad tags create nothing", test_bad_tags_create_nothing},
	    {"describe reports unknown clusters as MISSING failures",
	     test_describe_reports_missing_ones_as_failures},
	    {"counts come from tasks, instances and services",
	     test_counts_come_from_tasks_instances_and_services},
	    {"delete refuses a cluster in use, changes nothing, then leaves it INACTIVE",
	     test_delete_refuses_a_cluster_in_use_and_changes_nothing},
	    {"list pages are complete and their tokens stable",
	     test_list_pages_are_complete_and_stable},
	    {"a restart sees every cluster", test_a_restart_sees_every_cluster},
	};
	return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
