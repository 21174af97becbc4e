/*
 * fuzz_ecs_input.c - libFuzzer harness for what the gateway does with an ECS
 * request body before anything runs (gateway/ecs_ops.c, ecs_authz.c): the
 * check against the operation's members, the audit copy of the input, and
 * the authorization questions.
 *
 * The first input byte picks the operation; the rest is the JSON body. For a
 * body that parses as an object, the promises checked are:
 *   - the check either passes or names SerializationException or
 *     InvalidParameterException with a message;
 *   - the audit copy keeps no environment variable's value: in every
 *     container definition and container override, no environment entry has
 *     a "value" member (names stay), whatever else the input holds;
 *   - for an input that passed the check, the questions are built or refused
 *     with a message; each built question has an action and a resource, and
 *     the first asks the operation's own IAM action.
 * A broken promise aborts, which libFuzzer reports like a crash.
 */
#include "gateway/ecs.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *promise)
{
	fprintf(stderr, "broken promise: %s\n", promise);
	abort();
}

/* Resources here have no tags. */
static int no_tags(void *ctx, const char *arn, json_t **tags)
{
	(void)ctx;
	(void)arn;
	*tags = json_array();
	return *tags ? 0 : -1;
}

static void check_no_values(const json_t *containers)
{
	size_t i, k;
	const json_t *c, *e;
	json_array_foreach(containers, i, c)
	{
		json_array_foreach(json_object_get(c, "environment"), k, e)
		{
			if (json_is_object(e) && json_object_get(e, "value"))
				broken("the audit copy keeps no environment value");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n_ops;
	const struct gw_ecs_op *ops = gw_ecs_ops(&n_ops);
	const struct gw_ecs_op *op = &ops[data[0] % n_ops];
	json_t *in = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(in)) {
		json_decref(in);
		return 0;
	}

	const char *code = NULL;
	char msg[512] = "";
	int rc = gw_ecs_check_input(op, in, &code, msg, sizeof(msg));
	if (rc != 0 && (!code || !msg[0] ||
	                (strcmp(code, "SerializationException") != 0 &&
	                 strcmp(code, "InvalidParameterException") != 0)))
		broken("a refused input names its exception and why");

	json_t *audit = gw_ecs_audit_params(in);
	if (audit) {
		check_no_values(json_object_get(audit, "containerDefinitions"));
		check_no_values(json_object_get(json_object_get(audit, "overrides"), "containerOverrides"));
		json_decref(audit);
	}

	if (rc == 0) {
		struct gw_ecs_env env = {.region = "us-east-1",
		                         .account_id = "111122223333",
		                         .tags = no_tags,
		                         .resolve = NULL,
		                         .ctx = NULL};
		static struct gw_ecs_question q[GW_ECS_QUESTIONS_MAX];
		size_t n = 0;
		char why[512] = "";
		if (gw_ecs_questions(op, in, &env, q, GW_ECS_QUESTIONS_MAX, &n, why, sizeof(why)) !=
		    0) {
			if (!why[0])
				broken("questions that cannot be built say why");
		} else {
			if (n == 0)
				broken("every call asks at least one question");
			if (strcmp(q[0].action, op->iam_action) != 0)
				broken("the first question is the operation's own action");
			for (size_t i = 0; i < n; i++)
				if (!q[i].action[0] || !q[i].resource[0])
					broken("each question has an action and a resource");
			gw_ecs_questions_free(q, n);
		}
	}
	json_decref(in);
	return 0;
}
