/*
 * fuzz_policy.c - libFuzzer harness over the whole policy pipeline: parse,
 * validate, compile, evaluate, explain.
 *
 * Each input is compiled as every policy type (and as a managed identity
 * policy). Whatever compiles is then evaluated against a fixed set of
 * requests, alone and beside fixed companion policies, and the harness checks
 * the promises policy.h makes rather than only waiting for a crash:
 *
 *   - a failed compile leaves *out NULL and at least one error diagnostic;
 *   - diagnostics are NUL-terminated within their arrays;
 *   - a guardrail, a boundary or a session policy never grants on its own;
 *   - an explicit Deny of everything beside it always wins (ExplicitDeny);
 *   - nmatches never exceeds POLICY_MAX_MATCHES or total_matches;
 *   - policy_explain() honours its buffer size and says what it needs.
 *
 * A broken promise aborts, which libFuzzer reports like a crash. The harness
 * holds no state between inputs: the companion policies are compiled once and
 * never change, as compiled policies never do.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S(lit)                                                                                     \
	{                                                                                          \
		lit, sizeof(lit) - 1                                                               \
	}

static const struct policy_str tag_keys[] = {S("env"), S("owner")};
static const struct policy_str source_ip[] = {S("10.0.0.1")};
static const struct policy_str username[] = {S("alice")};
static const struct policy_str team[] = {S("payments")};
static const struct policy_str when[] = {S("2024-01-01T00:00:00Z")};
static const struct policy_str mfa[] = {S("true")};
static const struct policy_str count[] = {S("3")};
static const struct policy_str principal_arn[] = {S("arn:aws:iam::111122223333:role/orders-task")};

static const struct policy_ctx_entry full_ctx[] = {
    {S("aws:TagKeys"), tag_keys, 2},  {S("aws:SourceIp"), source_ip, 1},
    {S("aws:username"), username, 1}, {S("aws:PrincipalTag/team"), team, 1},
    {S("aws:CurrentTime"), when, 1},  {S("aws:MultiFactorAuthPresent"), mfa, 1},
    {S("ecs:count"), count, 1},       {S("aws:PrincipalArn"), principal_arn, 1},
    {S("aws:CalledVia"), NULL, 0}, /* present but empty */
};

static const struct policy_request requests[] = {
    {
        .principal = {POLICY_PRINCIPAL_AWS,
                      S("arn:aws:sts::111122223333:assumed-role/orders-task/s1"),
                      S("arn:aws:iam::111122223333:role/orders-task"), S("111122223333"), false},
        .action = S("ecs:RunTask"),
        .resource = S("arn:aws:ecs:us-east-1:111122223333:task-definition/web:3"),
        .context = full_ctx,
        .ncontext = sizeof(full_ctx) / sizeof(full_ctx[0]),
    },
    {
        .principal = {POLICY_PRINCIPAL_AWS,
                      S("arn:aws:iam::111122223333:user/alice"),
                      {"", 0},
                      S("111122223333"),
                      true},
        .action = S("ecs:DescribeClusters"),
        .resource = S("arn:aws:ecs:us-east-1:111122223333:cluster/prod"),
        .context = NULL,
        .ncontext = 0,
    },
    {
        .principal = {POLICY_PRINCIPAL_AWS,
                      S("arn:aws:iam::444455556666:user/bob"),
                      {"", 0},
                      S("444455556666"),
                      false},
        .action = S("s3:GetObject"),
        .resource = S("*"),
        .context = full_ctx,
        .ncontext = 3,
    },
    {
        .principal =
            {POLICY_PRINCIPAL_SERVICE, S("ecs-tasks.amazonaws.com"), {"", 0}, {"", 0}, false},
        .action = S("sts:AssumeRole"),
        .resource = S("arn:aws:iam::111122223333:role/orders-task"),
        .context = NULL,
        .ncontext = 0,
    },
};

static struct policy *deny_all;
static struct policy *allow_all;

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_policy: broken promise: %s\n", what);
		abort();
	}
}

static struct policy *compile_fixed(const char *json, enum policy_type type)
{
	struct policy_options o = {.type = type, .id = "fixed"};
	struct policy *p = NULL;
	if (policy_compile(json, strlen(json), &o, &p, NULL) != POLICY_OK) {
		fprintf(stderr, "fuzz_policy: fixed policy does not compile\n");
		abort();
	}
	return p;
}

static void init_once(void)
{
	if (deny_all != NULL)
		return;
	deny_all = compile_fixed("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\","
	                         "\"Action\":\"*\",\"Resource\":\"*\"}]}",
	                         POLICY_IDENTITY);
	allow_all =
	    compile_fixed("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
	                  "\"Action\":\"*\",\"Resource\":\"*\"}]}",
	                  POLICY_IDENTITY);
}

static void check_result(const struct policy_result *r, const struct policy_request *req)
{
	require(r->decision == POLICY_ALLOW || r->decision == POLICY_EXPLICIT_DENY ||
	            r->decision == POLICY_IMPLICIT_DENY,
	        "decision is one of the three");
	require(r->nmatches <= POLICY_MAX_MATCHES, "nmatches <= POLICY_MAX_MATCHES");
	require(r->nmatches <= r->total_matches, "nmatches <= total_matches");
	char small[16];
	size_t need = policy_explain(r, req, small, sizeof(small));
	require(strnlen(small, sizeof(small)) < sizeof(small), "explain NUL-terminates");
	char *big = malloc(need + 1);
	if (big != NULL) {
		size_t again = policy_explain(r, req, big, need + 1);
		require(again == need, "explain needs the same length twice");
		require(strlen(big) == need, "explain writes what it said it needs");
		free(big);
	}
	if (r->decision != POLICY_ALLOW)
		require(policy_deny_reason(r) != NULL, "a deny has a reason");
}

static void exercise(struct policy *p)
{
	enum policy_type t = policy_type_of(p);
	for (size_t i = 0; i < policy_statement_count(p); i++)
		require(policy_statement_sid(p, i) != NULL, "every statement has a Sid string");
	require(policy_version(p) != NULL, "a compiled policy has a version");

	for (size_t q = 0; q < sizeof(requests) / sizeof(requests[0]); q++) {
		const struct policy_request *req = &requests[q];
		struct policy_result r;

		struct policy_input alone[1] = {{p, 0}};
		memset(&r, 0xa5, sizeof(r));
		if (policy_evaluate(alone, 1, req, &r) == POLICY_OK) {
			check_result(&r, req);
			if (t == POLICY_SCP || t == POLICY_BOUNDARY || t == POLICY_SESSION)
				require(r.decision != POLICY_ALLOW,
				        "a guardrail, boundary or session policy "
				        "never grants alone");
		} else {
			require(r.decision == POLICY_IMPLICIT_DENY,
			        "an evaluation error answers a deny");
		}

		struct policy_input with_allow[2] = {{allow_all, 0}, {p, 1}};
		if (policy_evaluate(with_allow, 2, req, &r) == POLICY_OK)
			check_result(&r, req);

		struct policy_input with_deny[3] = {{allow_all, 0}, {p, 2}, {deny_all, 0}};
		if (policy_evaluate(with_deny, 3, req, &r) == POLICY_OK) {
			check_result(&r, req);
			require(r.decision == POLICY_EXPLICIT_DENY,
			        "a Deny of everything always wins");
		} else {
			require(r.decision == POLICY_IMPLICIT_DENY,
			        "an evaluation error answers a deny");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	for (int t = 0; t <= POLICY_TYPE_COUNT; t++) {
		/* The extra round compiles as a managed identity policy. */
		bool managed = t == POLICY_TYPE_COUNT;
		struct policy_options o = {
		    .type = managed ? POLICY_IDENTITY : (enum policy_type)t,
		    .managed = managed,
		    .id = "fuzz",
		};
		struct policy_diags d;
		policy_diags_init(&d);
		struct policy *p = (struct policy *)(uintptr_t)1;
		int rc = policy_compile((const char *)data, size, &o, &p, &d);
		for (size_t i = 0; i < d.count; i++) {
			require(memchr(d.items[i].path, '\0', sizeof(d.items[i].path)) != NULL,
			        "diagnostic path is NUL-terminated");
			require(memchr(d.items[i].message, '\0', sizeof(d.items[i].message)) !=
			            NULL,
			        "diagnostic message is NUL-terminated");
		}
		if (rc == POLICY_OK) {
			require(p != NULL, "success gives a policy");
			require(policy_type_of(p) == o.type, "the policy keeps its type");
			exercise(p);
			policy_unref(p);
		} else {
			require(p == NULL, "failure leaves *out NULL");
			require(rc == POLICY_ERR_NOMEM || d.errors >= 1,
			        "failure carries an error");
		}
		policy_diags_free(&d);
	}
	return 0;
}
