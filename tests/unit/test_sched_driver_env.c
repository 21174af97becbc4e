/*
 * test_sched_driver_env.c - one container's share of the hooks' environment.
 */
#include <jansson.h>

#include "scheduler/driver.h"
#include "tests/unit/check.h"

static void test_strings_and_per_container(void)
{
	json_t *env = json_pack("{s:s, s:{s:s, s:s}, s:{s:s}}", "AWS_REGION", "us-east-1",
	                        "ECS_CONTAINER_METADATA_URI_V4", "web", "http://x/v4/aaa", "log",
	                        "http://x/v4/bbb", "ONLY_LOG", "log", "1");
	json_t *web = sched_driver_env_for(env, "web");
	json_t *log = sched_driver_env_for(env, "log");
	CHECK(web && log);
	CHECK_INT(json_object_size(web), 2);
	CHECK_STR(json_string_value(json_object_get(web, "AWS_REGION")), "us-east-1");
	CHECK_STR(json_string_value(json_object_get(web, "ECS_CONTAINER_METADATA_URI_V4")),
	          "http://x/v4/aaa");
	CHECK(json_object_get(web, "ONLY_LOG") == NULL);
	CHECK_INT(json_object_size(log), 3);
	CHECK_STR(json_string_value(json_object_get(log, "ECS_CONTAINER_METADATA_URI_V4")),
	          "http://x/v4/bbb");
	json_decref(web);
	json_decref(log);
	json_decref(env);
}

static void test_other_values_and_no_env(void)
{
	json_t *env = json_pack("{s:i, s:{s:i}, s:s}", "N", 1, "O", "web", 2, "S", "v");
	json_t *web = sched_driver_env_for(env, "web");
	CHECK_INT(json_object_size(web), 1);
	json_decref(web);
	json_t *none = sched_driver_env_for(NULL, "web");
	CHECK(none && json_object_size(none) == 0);
	json_decref(none);
	json_t *anon = sched_driver_env_for(env, NULL);
	CHECK_INT(json_object_size(anon), 1);
	json_decref(anon);
	json_decref(env);
}

static const struct check_case cases[] = {
    {"a container gets every string variable and its own entry of per-container ones",
     test_strings_and_per_container},
    {"values that are not strings are skipped; no env gives an empty object",
     test_other_values_and_no_env},
};

CHECK_MAIN(cases)
