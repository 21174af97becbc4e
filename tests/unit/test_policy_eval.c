/*
 * test_policy_eval.c - the decision: action and resource matching, how the
 * policy types combine (deny, guardrail levels, resource-based grants by how
 * they name the caller, identity, boundary, session, cross-account,
 * NotPrincipal), the explanation and AccessDenied wording, that evaluation
 * never allocates, and the shared conformance vectors.
 *
 * Allocation is counted by interposing malloc, calloc and realloc in this
 * binary (glibc's __libc_* functions do the work); counting is switched on
 * only around policy_evaluate, so the test fails if the evaluator or anything
 * it calls ever touches the heap.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>

#include "tests/unit/check.h"
#include "tests/unit/test_policy_util.h"

/* ---- allocation counter ---- */

/* AddressSanitizer owns malloc itself; under it the count is skipped (the
 * plain build checks it). */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_COUNTS_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_COUNTS_ALLOCATIONS 0
#endif
#endif
#ifndef TEST_COUNTS_ALLOCATIONS
#define TEST_COUNTS_ALLOCATIONS 1
#endif

static int counting;
static unsigned long allocations;

#if TEST_COUNTS_ALLOCATIONS
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

void *malloc(size_t n)
{
	if (counting)
		allocations++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (counting)
		allocations++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (counting)
		allocations++;
	return __libc_realloc(p, n);
}
#endif

#define V12       "\"Version\":\"2012-10-17\","
#define ID(stmts) "{" V12 "\"Statement\":[" stmts "]}"
#define RES_ARN   "arn:aws:ecs:us-east-1:111122223333:cluster/prod"

static struct policy *pid(const char *doc)
{
	return tcompile(POLICY_IDENTITY, doc);
}

/* ---- matching ---- */

static enum policy_decision allow_one(const char *action_pat, const char *resource_pat,
                                      const char *action, const char *resource)
{
	char doc[1024];
	int w = snprintf(doc, sizeof(doc),
	                 ID("{\"Effect\":\"Allow\",\"Action\":\"%s\",\"Resource\":\"%s\"}"),
	                 action_pat, resource_pat);
	if (w < 0 || (size_t)w >= sizeof(doc))
		return (enum policy_decision) - 1;
	struct policy *p = pid(doc);
	struct policy_request req = treq(action, resource, NULL);
	enum policy_decision d = tdecide(&req, NULL, p, TEND);
	policy_unref(p);
	return d;
}

static void test_action_matching(void)
{
	CHECK(allow_one("ecs:RunTask", "*", "ecs:RunTask", RES_ARN) == POLICY_ALLOW);
	CHECK(allow_one("ECS:runtask", "*", "ecs:RunTask", RES_ARN) == POLICY_ALLOW);
	CHECK(allow_one("ecs:RunTask", "*", "ECS:RUNTASK", RES_ARN) == POLICY_ALLOW);
	CHECK(allow_one("ecs:RunTask", "*", "ecs:RunTasks", RES_ARN) == POLICY_IMPLICIT_DENY);
	CHECK(allow_one("ecs:Describe*", "*", "ecs:DescribeTasks", RES_ARN) == POLICY_ALLOW);
	CHECK(allow_one("ecs:Describe*", "*", "ecs:ListTasks", RES_ARN) == POLICY_IMPLICIT_DENY);
	CHECK(allow_one("ecs:*Task", "*", "ecs:StopTask", RES_ARN) == POLICY_ALLOW);
	CHECK(allow_one("ecs:*Task", "*", "ecs:StopTasks", RES_ARN) == POLICY_IMPLICIT_DENY);
	CHECK(allow_one("ecs:?topTask", "*", "ecs:StopTask", RES_ARN) == POLICY_ALLOW);
	CHECK(allow_one("ecs:?topTask", "*", "ecs:opTask", RES_ARN) == POLICY_IMPLICIT_DENY);
	CHECK(allow_one("ecs:*", "*", "iam:PassRole", RES_ARN) == POLICY_IMPLICIT_DENY);
	CHECK(allow_one("e*:RunTask", "*", "ecs:RunTask", RES_ARN) == POLICY_ALLOW);
	CHECK(allow_one("e*:RunTask", "*", "iam:RunTask", RES_ARN) == POLICY_IMPLICIT_DENY);
	CHECK(allow_one("*:Run*", "*", "ecs:RunTask", RES_ARN) == POLICY_ALLOW);
	CHECK(allow_one("*", "*", "iam:PassRole", RES_ARN) == POLICY_ALLOW);
}

static void test_resource_matching(void)
{
	const char *task = "arn:aws:ecs:us-east-1:111122223333:task/prod/0a1b";
	CHECK(allow_one("ecs:*", RES_ARN, "ecs:DescribeClusters", RES_ARN) == POLICY_ALLOW);
	CHECK(allow_one("ecs:*", "arn:aws:ecs:us-east-1:111122223333:cluster/Prod", "ecs:X",
	                RES_ARN) == POLICY_IMPLICIT_DENY);
	CHECK(allow_one("ecs:*", "arn:aws:ecs:us-east-1:111122223333:task/*", "ecs:X", task) ==
	      POLICY_ALLOW);
	CHECK(allow_one("ecs:*", "arn:aws:ecs:*:111122223333:task/prod/*", "ecs:X", task) ==
	      POLICY_ALLOW);
	CHECK(allow_one("ecs:*", "arn:aws:ecs:us-east-1:111122223333:*", "ecs:X", task) ==
	      POLICY_ALLOW);
	CHECK(allow_one("ecs:*", "arn:aws:ecs:*", "ecs:X", task) == POLICY_ALLOW);
	CHECK(allow_one("ecs:*", "arn:aws:*", "ecs:X", task) == POLICY_ALLOW);
	CHECK(allow_one("ecs:*", "arn:aws:ecs:us-east-1:999999999999:task/*", "ecs:X", task) ==
	      POLICY_IMPLICIT_DENY);
	/* a region wildcard stays in the region */
	CHECK(allow_one("ecs:*", "arn:aws:ecs:us-*:task/*", "ecs:X", task) == POLICY_IMPLICIT_DENY);
	CHECK(allow_one("ecs:*", "arn:aws:ecs:us-*:111122223333:task/*", "ecs:X", task) ==
	      POLICY_ALLOW);
	CHECK(allow_one("ecs:*", "arn:aws:ecs:us-east-1:111122223333:cluster/pro?", "ecs:X",
	                RES_ARN) == POLICY_ALLOW);
	CHECK(allow_one("ecs:*", "arn:aws:ecs:us-east-1:111122223333:task-definition/web:*",
	                "ecs:X", "arn:aws:ecs:us-east-1:111122223333:task-definition/web:3") ==
	      POLICY_ALLOW);
	CHECK(allow_one("ecs:*", "arn:aws:ecs:us-east-1:111122223333:task-definition/web:*",
	                "ecs:X", "arn:aws:ecs:us-east-1:111122223333:task-definition/webx:3") ==
	      POLICY_IMPLICIT_DENY);
	/* a request on "*" matches only Resource "*" */
	CHECK(allow_one("ecs:*", "*", "ecs:ListClusters", "*") == POLICY_ALLOW);
	CHECK(allow_one("ecs:*", "arn:aws:ecs:*", "ecs:ListClusters", "*") == POLICY_IMPLICIT_DENY);
}

static void test_not_action_not_resource(void)
{
	struct policy *p =
	    pid(ID("{\"Effect\":\"Allow\",\"NotAction\":\"iam:*\",\"Resource\":\"*\"}"));
	struct policy_request a = treq("ecs:RunTask", RES_ARN, NULL);
	struct policy_request b = treq("iam:PassRole", RES_ARN, NULL);
	CHECK(tdecide(&a, NULL, p, TEND) == POLICY_ALLOW);
	CHECK(tdecide(&b, NULL, p, TEND) == POLICY_IMPLICIT_DENY);
	policy_unref(p);
	p = pid(ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\"},"
	           "{\"Effect\":\"Deny\",\"Action\":\"ecs:*\",\"NotResource\":\"" RES_ARN "\"}"));
	struct policy_request c = treq("ecs:X", RES_ARN, NULL);
	struct policy_request d =
	    treq("ecs:X", "arn:aws:ecs:us-east-1:111122223333:cluster/dev", NULL);
	CHECK(tdecide(&c, NULL, p, TEND) == POLICY_ALLOW);
	CHECK(tdecide(&d, NULL, p, TEND) == POLICY_EXPLICIT_DENY);
	policy_unref(p);
}

static void test_variables_in_resources(void)
{
	struct policy *p = pid(
	    ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":["
	       "\"arn:aws:ecs:*:111122223333:cluster/${aws:username}\","
	       "\"arn:aws:ecs:*:111122223333:cluster/team-${aws:PrincipalTag/team, 'shared'}\"]}"));
	struct tctx alice, none;
	tctx_parse(&alice, "aws:username=alice");
	tctx_parse(&none, "");
	struct policy_request r1 =
	    treq("ecs:X", "arn:aws:ecs:us-east-1:111122223333:cluster/alice", &alice);
	struct policy_request r2 =
	    treq("ecs:X", "arn:aws:ecs:us-east-1:111122223333:cluster/bob", &alice);
	struct policy_request r3 =
	    treq("ecs:X", "arn:aws:ecs:us-east-1:111122223333:cluster/", &none);
	struct policy_request r4 =
	    treq("ecs:X", "arn:aws:ecs:us-east-1:111122223333:cluster/team-shared", &none);
	struct policy_request r5 =
	    treq("ecs:X", "arn:aws:ecs:us-east-1:111122223333:cluster/${aws:username}", &none);
	CHECK(tdecide(&r1, NULL, p, TEND) == POLICY_ALLOW);
	CHECK(tdecide(&r2, NULL, p, TEND) == POLICY_IMPLICIT_DENY);
	CHECK(tdecide(&r3, NULL, p, TEND) == POLICY_IMPLICIT_DENY);
	CHECK(tdecide(&r4, NULL, p, TEND) == POLICY_ALLOW);
	CHECK(tdecide(&r5, NULL, p, TEND) == POLICY_IMPLICIT_DENY);
	policy_unref(p);
	/* an unresolved variable in NotResource: the Deny does not apply */
	p = pid(ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\"},"
	           "{\"Effect\":\"Deny\",\"Action\":\"ecs:*\",\"NotResource\":"
	           "\"arn:aws:ecs:*:111122223333:cluster/${aws:username}\"}"));
	struct policy_request r6 = treq("ecs:X", RES_ARN, &none);
	struct policy_request r7 = treq("ecs:X", RES_ARN, &alice);
	CHECK(tdecide(&r6, NULL, p, TEND) == POLICY_ALLOW);
	CHECK(tdecide(&r7, NULL, p, TEND) == POLICY_EXPLICIT_DENY);
	policy_unref(p);
}

/* ---- how types combine ---- */

#define ALLOW_ECS "{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\"}"

static void test_explicit_deny_wins(void)
{
	struct policy *a = pid(ID(ALLOW_ECS));
	struct policy *d = pid(ID("{\"Sid\":\"NoDelete\",\"Effect\":\"Deny\",\"Action\":\"ecs:"
	                          "Delete*\",\"Resource\":\"*\"}"));
	struct policy_request req = treq("ecs:DeleteCluster", RES_ARN, NULL);
	struct policy_result r;
	CHECK(tdecide(&req, &r, a, d, TEND) == POLICY_EXPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_IDENTITY);
	CHECK(r.has_decider && r.decider.policy == d && r.decider.statement == 0);
	CHECK_INT(r.nmatches, 2);
	CHECK(r.matches[0].policy == a && r.matches[0].allow);
	CHECK(r.matches[1].policy == d && !r.matches[1].allow);
	struct policy_request other = treq("ecs:RunTask", RES_ARN, NULL);
	CHECK(tdecide(&other, &r, a, d, TEND) == POLICY_ALLOW);
	CHECK_INT(r.nmatches, 1);
	policy_unref(a);
	policy_unref(d);
}

static void test_scp_levels(void)
{
	struct policy *id = pid(ID(ALLOW_ECS));
	struct policy *all =
	    tcompile(POLICY_SCP, ID("{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}"));
	struct policy *desc =
	    tcompile(POLICY_SCP,
	             ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:Describe*\",\"Resource\":\"*\"}"));
	struct policy *run = tcompile(
	    POLICY_SCP, ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\"}"));
	struct policy_request req = treq("ecs:RunTask", RES_ARN, NULL);
	struct policy_result r;
	struct policy_input in[4] = {{id, 0}, {all, 0}, {desc, 1}, {run, 2}};
	CHECK_INT(policy_evaluate(in, 4, &req, &r), POLICY_OK);
	CHECK_INT(r.decision, POLICY_IMPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_SCP);
	CHECK_INT(r.scp_level, 1);
	/* one allowing policy at a level is enough */
	struct policy_input in2[4] = {{id, 0}, {all, 0}, {desc, 1}, {run, 1}};
	CHECK_INT(policy_evaluate(in2, 4, &req, &r), POLICY_OK);
	CHECK_INT(r.decision, POLICY_ALLOW);
	CHECK_INT(r.decided_by, POLICY_IDENTITY);
	/* guardrails never grant alone */
	struct policy_input in3[1] = {{all, 0}};
	CHECK_INT(policy_evaluate(in3, 1, &req, &r), POLICY_OK);
	CHECK_INT(r.decision, POLICY_IMPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_IDENTITY);
	policy_unref(id);
	policy_unref(all);
	policy_unref(desc);
	policy_unref(run);
}

static struct policy *resource_naming(const char *principal_json)
{
	char doc[1024];
	int w = snprintf(
	    doc, sizeof(doc),
	    ID("{\"Effect\":\"Allow\",\"Principal\":%s,\"Action\":\"ecs:DescribeClusters\","
	       "\"Resource\":\"" RES_ARN "\"}"),
	    principal_json);
	if (w < 0 || (size_t)w >= sizeof(doc))
		return NULL;
	return tcompile(POLICY_RESOURCE, doc);
}

static void test_resource_policy_strengths(void)
{
	struct policy *user = resource_naming("{\"AWS\":\"" T_USER "\"}");
	struct policy *acct = resource_naming("{\"AWS\":\"111122223333\"}");
	struct policy *root = resource_naming("{\"AWS\":\"arn:aws:iam::111122223333:root\"}");
	struct policy *star = resource_naming("\"*\"");
	struct policy *role = resource_naming("{\"AWS\":\"" T_ROLE "\"}");
	struct policy *sess = resource_naming("{\"AWS\":\"" T_SESSION "\"}");
	struct policy *bnd =
	    tcompile(POLICY_BOUNDARY,
	             ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:List*\",\"Resource\":\"*\"}"));
	struct policy *ses =
	    tcompile(POLICY_SESSION,
	             ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:List*\",\"Resource\":\"*\"}"));
	struct policy *id = pid(ID(ALLOW_ECS));
	struct policy_request ureq = treq("ecs:DescribeClusters", RES_ARN, NULL);
	tuser(&ureq, T_USER, T_ACCT);
	struct policy_request sreq = treq("ecs:DescribeClusters", RES_ARN, NULL);
	struct policy_result r;

	/* naming the user grants alone, and the user's boundary does not limit it */
	CHECK(tdecide(&ureq, &r, user, TEND) == POLICY_ALLOW);
	CHECK_INT(r.decided_by, POLICY_RESOURCE);
	CHECK(tdecide(&ureq, &r, user, bnd, TEND) == POLICY_ALLOW);
	/* naming another principal does not */
	struct policy_request bob = ureq;
	tuser(&bob, "arn:aws:iam::111122223333:user/bob", T_ACCT);
	CHECK(tdecide(&bob, &r, user, TEND) == POLICY_IMPLICIT_DENY);
	/* naming the account delegates: an identity Allow is still needed */
	CHECK(tdecide(&ureq, &r, acct, TEND) == POLICY_IMPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_IDENTITY);
	CHECK(tdecide(&ureq, &r, root, TEND) == POLICY_IMPLICIT_DENY);
	CHECK(tdecide(&ureq, &r, acct, id, TEND) == POLICY_ALLOW);
	/* "*" names everyone */
	CHECK(tdecide(&sreq, &r, star, TEND) == POLICY_ALLOW);
	/* the session ARN: not limited by boundary or session policy */
	CHECK(tdecide(&sreq, &r, sess, bnd, ses, TEND) == POLICY_ALLOW);
	/* the role ARN: the boundary and the session policy still limit */
	CHECK(tdecide(&sreq, &r, role, TEND) == POLICY_ALLOW);
	CHECK_INT(r.decided_by, POLICY_RESOURCE);
	CHECK(tdecide(&sreq, &r, role, bnd, TEND) == POLICY_IMPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_BOUNDARY);
	CHECK(tdecide(&sreq, &r, role, ses, TEND) == POLICY_IMPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_SESSION);
	/* a role ARN is not the user */
	CHECK(tdecide(&ureq, &r, role, TEND) == POLICY_IMPLICIT_DENY);

	policy_unref(user);
	policy_unref(acct);
	policy_unref(root);
	policy_unref(star);
	policy_unref(role);
	policy_unref(sess);
	policy_unref(bnd);
	policy_unref(ses);
	policy_unref(id);
}

static void test_boundary_and_session(void)
{
	struct policy *id = pid(ID(ALLOW_ECS));
	struct policy *bnd_run =
	    tcompile(POLICY_BOUNDARY,
	             ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\"}"));
	struct policy *bnd_desc =
	    tcompile(POLICY_BOUNDARY,
	             ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:Describe*\",\"Resource\":\"*\"}"));
	struct policy *ses_run =
	    tcompile(POLICY_SESSION,
	             ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\"}"));
	struct policy *ses_desc =
	    tcompile(POLICY_SESSION,
	             ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:Describe*\",\"Resource\":\"*\"}"));
	struct policy *ses_deny =
	    tcompile(POLICY_SESSION,
	             ID("{\"Effect\":\"Deny\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\"}"));
	struct policy_request req = treq("ecs:RunTask", RES_ARN, NULL);
	struct policy_result r;
	CHECK(tdecide(&req, &r, id, bnd_run, ses_run, TEND) == POLICY_ALLOW);
	CHECK(tdecide(&req, &r, id, bnd_desc, ses_run, TEND) == POLICY_IMPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_BOUNDARY);
	CHECK(tdecide(&req, &r, id, bnd_run, ses_desc, TEND) == POLICY_IMPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_SESSION);
	CHECK(tdecide(&req, &r, bnd_run, ses_run, TEND) == POLICY_IMPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_IDENTITY);
	CHECK(tdecide(&req, &r, id, ses_deny, TEND) == POLICY_EXPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_SESSION);
	/* a principal flagged as having a boundary needs one to allow */
	req.principal.has_boundary = true;
	CHECK(tdecide(&req, &r, id, TEND) == POLICY_IMPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_BOUNDARY);
	policy_unref(id);
	policy_unref(bnd_run);
	policy_unref(bnd_desc);
	policy_unref(ses_run);
	policy_unref(ses_desc);
	policy_unref(ses_deny);
}

static void test_cross_account(void)
{
	struct policy *id = pid(ID(ALLOW_ECS));
	struct policy *res_bob =
	    resource_naming("{\"AWS\":\"arn:aws:iam::444455556666:user/bob\"}");
	struct policy *res_acct = resource_naming("{\"AWS\":\"444455556666\"}");
	struct policy *res_other = resource_naming("{\"AWS\":\"777788889999\"}");
	struct policy_request req = treq("ecs:DescribeClusters", RES_ARN, NULL);
	tuser(&req, "arn:aws:iam::444455556666:user/bob", "444455556666");
	struct policy_result r;
	CHECK(tdecide(&req, &r, res_bob, TEND) == POLICY_IMPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_IDENTITY);
	CHECK(tdecide(&req, &r, id, TEND) == POLICY_IMPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_RESOURCE);
	CHECK(tdecide(&req, &r, id, res_bob, TEND) == POLICY_ALLOW);
	CHECK(tdecide(&req, &r, id, res_acct, TEND) == POLICY_ALLOW);
	CHECK(tdecide(&req, &r, id, res_other, TEND) == POLICY_IMPLICIT_DENY);
	policy_unref(id);
	policy_unref(res_bob);
	policy_unref(res_acct);
	policy_unref(res_other);
}

static struct policy *not_principal(const char *list)
{
	char doc[1024];
	int w =
	    snprintf(doc, sizeof(doc),
	             ID("{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":%s},\"Action\":\"ecs:*\","
	                "\"Resource\":\"" RES_ARN "\"}"),
	             list);
	if (w < 0 || (size_t)w >= sizeof(doc))
		return NULL;
	return tcompile(POLICY_RESOURCE, doc);
}

static void test_not_principal(void)
{
	struct policy *id = pid(ID(ALLOW_ECS));
	struct policy *user_acct = not_principal("[\"" T_USER "\",\"111122223333\"]");
	struct policy *user_only = not_principal("[\"" T_USER "\"]");
	struct policy *root_only = not_principal("\"arn:aws:iam::111122223333:root\"");
	struct policy *session_all =
	    not_principal("[\"" T_SESSION "\",\"" T_ROLE "\",\"111122223333\"]");
	struct policy *session_no_role = not_principal("[\"" T_SESSION "\",\"111122223333\"]");
	struct policy_request u = treq("ecs:DescribeClusters", RES_ARN, NULL);
	tuser(&u, T_USER, T_ACCT);
	struct policy_request s = treq("ecs:DescribeClusters", RES_ARN, NULL);
	struct policy_result r;
	CHECK(tdecide(&u, &r, id, user_acct, TEND) == POLICY_ALLOW);
	CHECK(tdecide(&u, &r, id, user_only, TEND) == POLICY_EXPLICIT_DENY);
	CHECK_INT(r.decided_by, POLICY_RESOURCE);
	CHECK(tdecide(&u, &r, id, root_only, TEND) == POLICY_EXPLICIT_DENY);
	CHECK(tdecide(&s, &r, id, session_all, TEND) == POLICY_ALLOW);
	CHECK(tdecide(&s, &r, id, session_no_role, TEND) == POLICY_EXPLICIT_DENY);
	CHECK(tdecide(&s, &r, id, user_acct, TEND) == POLICY_EXPLICIT_DENY);
	/* a principal with a permissions boundary is always denied */
	u.principal.has_boundary = true;
	struct policy *bnd = tcompile(POLICY_BOUNDARY, ID(ALLOW_ECS));
	CHECK(tdecide(&u, &r, id, bnd, user_acct, TEND) == POLICY_EXPLICIT_DENY);
	u.principal.has_boundary = false;
	CHECK(tdecide(&u, &r, id, bnd, user_acct, TEND) == POLICY_EXPLICIT_DENY);
	policy_unref(bnd);
	policy_unref(id);
	policy_unref(user_acct);
	policy_unref(user_only);
	policy_unref(root_only);
	policy_unref(session_all);
	policy_unref(session_no_role);
}

static void test_trust_policy(void)
{
	struct policy *trust = tcompile(
	    POLICY_TRUST, ID("{\"Effect\":\"Allow\",\"Principal\":{\"Service\":"
	                     "\"ecs-tasks.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}"));
	struct policy_request req = treq("sts:AssumeRole", T_ROLE, NULL);
	req.principal.kind = POLICY_PRINCIPAL_SERVICE;
	req.principal.arn = (struct policy_str){"ECS-tasks.amazonaws.com", 23};
	req.principal.role_arn = (struct policy_str){"", 0};
	req.principal.account = (struct policy_str){"", 0};
	struct policy_result r;
	CHECK(tdecide(&req, &r, trust, TEND) == POLICY_ALLOW);
	CHECK_INT(r.decided_by, POLICY_TRUST);
	req.principal.arn = (struct policy_str){"lambda.amazonaws.com", 20};
	CHECK(tdecide(&req, &r, trust, TEND) == POLICY_IMPLICIT_DENY);
	struct policy_request other = treq("sts:AssumeRole", T_ROLE, NULL);
	CHECK(tdecide(&other, &r, trust, TEND) == POLICY_IMPLICIT_DENY);
	policy_unref(trust);
}

static void test_bad_requests_are_denied(void)
{
	struct policy *id = pid(ID("{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}"));
	struct policy_input in = {id, 0};
	struct policy_result r;
	struct policy_request req = treq("ecs:RunTask", RES_ARN, NULL);
	CHECK_INT(policy_evaluate(&in, 1, &req, &r), POLICY_OK);
	CHECK_INT(r.decision, POLICY_ALLOW);
	CHECK_INT(policy_evaluate(&in, 1, NULL, &r), POLICY_ERR_INVALID_ARG);
	CHECK_INT(r.decision, POLICY_IMPLICIT_DENY);
	CHECK_INT(policy_evaluate(NULL, 1, &req, &r), POLICY_ERR_INVALID_ARG);
	CHECK_INT(policy_evaluate(&in, 1, &req, NULL), POLICY_ERR_INVALID_ARG);
	struct policy_request bad = req;
	bad.action = (struct policy_str){NULL, 3};
	CHECK_INT(policy_evaluate(&in, 1, &bad, &r), POLICY_ERR_INVALID_ARG);
	CHECK_INT(r.decision, POLICY_IMPLICIT_DENY);
	bad = req;
	bad.action = (struct policy_str){"", 0};
	CHECK_INT(policy_evaluate(&in, 1, &bad, &r), POLICY_ERR_INVALID_ARG);
	char longact[POLICY_MAX_ACTION + 2];
	memset(longact, 'a', sizeof(longact));
	bad = req;
	bad.action = (struct policy_str){longact, sizeof(longact)};
	CHECK_INT(policy_evaluate(&in, 1, &bad, &r), POLICY_ERR_INVALID_ARG);
	bad = req;
	bad.ncontext = 2;
	CHECK_INT(policy_evaluate(&in, 1, &bad, &r), POLICY_ERR_INVALID_ARG);
	struct policy_input nul = {NULL, 0};
	CHECK_INT(policy_evaluate(&nul, 1, &req, &r), POLICY_ERR_INVALID_ARG);
	CHECK_INT(r.decision, POLICY_IMPLICIT_DENY);
	policy_unref(id);
}

static void test_many_context_keys(void)
{
	/* past the linear search: the sorted index must find every key */
	static char keys[200][32];
	static struct policy_str vals[200];
	static struct policy_ctx_entry ents[200];
	for (int i = 0; i < 200; i++) {
		int w = snprintf(keys[i], sizeof(keys[i]), "aws:PrincipalTag/K%03d", (i * 7) % 200);
		CHECK(w > 0);
		vals[i] = (struct policy_str){keys[i] + 17, 4};
		ents[i] = (struct policy_ctx_entry){{keys[i], strlen(keys[i])}, &vals[i], 1};
	}
	struct policy *p =
	    pid(ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\","
	           "\"Condition\":{\"StringEquals\":{\"aws:principaltag/k000\":\"K000\","
	           "\"aws:principaltag/k199\":\"K199\",\"aws:principaltag/k100\":\"K100\"}}}"));
	struct policy_request req = treq("ecs:RunTask", RES_ARN, NULL);
	req.context = ents;
	req.ncontext = 200;
	CHECK(tdecide(&req, NULL, p, TEND) == POLICY_ALLOW);
	vals[0] = (struct policy_str){"nope", 4};
	CHECK(tdecide(&req, NULL, p, TEND) == POLICY_IMPLICIT_DENY);
	policy_unref(p);
}

/* ---- words ---- */

static void test_explain_and_deny_wording(void)
{
	struct policy_options o = {.type = POLICY_IDENTITY, .id = "orders"};
	struct policy *p = NULL;
	const char *doc =
	    ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\"},"
	       "{\"Sid\":\"DenyProd\",\"Effect\":\"Deny\",\"Action\":\"ecs:DeleteCluster\","
	       "\"Resource\":\"" RES_ARN "\"}");
	CHECK_INT(policy_compile(doc, strlen(doc), &o, &p, NULL), POLICY_OK);
	struct policy_request req = treq("ecs:DeleteCluster", RES_ARN, NULL);
	struct policy_result r;
	char buf[512];
	CHECK(tdecide(&req, &r, p, TEND) == POLICY_EXPLICIT_DENY);
	policy_explain(&r, &req, buf, sizeof(buf));
	CHECK_STR(buf, "ExplicitDeny: statement 'DenyProd' (Statement[1]) of identity-based policy "
	               "'orders' denies ecs:DeleteCluster on " RES_ARN ".");
	CHECK_STR(policy_deny_reason(&r), "an explicit deny in an identity-based policy");
	policy_deny_message(&r, &req, buf, sizeof(buf));
	CHECK_STR(buf, "User: " T_SESSION " is not authorized to perform: ecs:DeleteCluster on "
	               "resource: " RES_ARN " with an explicit deny in an identity-based policy");

	struct policy_request run = treq("iam:PassRole", RES_ARN, NULL);
	CHECK(tdecide(&run, &r, p, TEND) == POLICY_IMPLICIT_DENY);
	CHECK_STR(policy_deny_reason(&r), "no identity-based policy allows");
	policy_deny_message(&r, &run, buf, sizeof(buf));
	CHECK_STR(buf, "User: " T_SESSION
	               " is not authorized to perform: iam:PassRole on resource: " RES_ARN
	               " because no identity-based policy allows the iam:PassRole action");
	policy_explain(&r, &run, buf, sizeof(buf));
	CHECK_STR(buf,
	          "ImplicitDeny: no identity-based policy allows iam:PassRole on " RES_ARN ".");

	struct policy_request ok = treq("ecs:RunTask", RES_ARN, NULL);
	CHECK(tdecide(&ok, &r, p, TEND) == POLICY_ALLOW);
	policy_explain(&r, &ok, buf, sizeof(buf));
	CHECK_STR(buf, "Allow: statement (Statement[0]) of identity-based policy 'orders' allows "
	               "ecs:RunTask on " RES_ARN ".");
	CHECK_STR(policy_deny_reason(&r), "");
	CHECK_INT(policy_deny_message(&r, &ok, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");

	/* snprintf contract: truncates, terminates, reports the length needed */
	char small[10];
	size_t need = policy_explain(&r, &ok, small, sizeof(small));
	CHECK(need > sizeof(small));
	CHECK_INT(strlen(small), sizeof(small) - 1);
	CHECK_INT(policy_explain(&r, &ok, NULL, 0), need);

	/* request text is escaped */
	struct policy_request evil = treq("ecs:Run\nTask", "arn:aws:ecs:x:1:c/\x01", NULL);
	CHECK(tdecide(&evil, &r, p, TEND) == POLICY_IMPLICIT_DENY);
	policy_explain(&r, &evil, buf, sizeof(buf));
	CHECK(strchr(buf, '\n') == NULL && strchr(buf, '\x01') == NULL);
	CHECK(strstr(buf, "ecs:Run\\x0aTask") != NULL);
	policy_unref(p);

	struct policy_result fake;
	memset(&fake, 0, sizeof(fake));
	fake.decided_by = POLICY_BOUNDARY;
	CHECK_STR(policy_deny_reason(&fake), "no permissions boundary allows");
	fake.decided_by = POLICY_SCP;
	fake.scp_level = 2;
	CHECK_STR(policy_deny_reason(&fake), "no service control policy allows");
	policy_explain(&fake, &ok, buf, sizeof(buf));
	CHECK_STR(
	    buf, "ImplicitDeny: no service control policy allows at level 2 ecs:RunTask on " RES_ARN
	         ".");
	fake.decision = POLICY_EXPLICIT_DENY;
	CHECK_STR(policy_deny_reason(&fake), "an explicit deny in a service control policy");
	fake.decided_by = POLICY_SESSION;
	fake.decision = POLICY_IMPLICIT_DENY;
	CHECK_STR(policy_deny_reason(&fake), "no session policy allows");
}

/* ---- no allocation ---- */

static void test_evaluate_never_allocates(void)
{
	struct policy *id = pid(
	    ID("{\"Effect\":\"Allow\",\"Action\":[\"ecs:RunTask\",\"ecs:Describe*\"],"
	       "\"Resource\":\"arn:aws:ecs:*:111122223333:cluster/${aws:PrincipalTag/team}-*\","
	       "\"Condition\":{\"StringLike\":{\"ecs:cluster\":\"*/${aws:PrincipalTag/team}\"},"
	       "\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"2001:db8::/32\"]},"
	       "\"NumericLessThan\":{\"ecs:n\":\"10.5\"},"
	       "\"DateLessThan\":{\"aws:CurrentTime\":\"2030-01-01T00:00:00Z\"},"
	       "\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"env\",\"owner\"]},"
	       "\"ArnLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::*:role/orders-*\"},"
	       "\"BinaryEquals\":{\"ecs:b\":\"QUI=\"},\"Bool\":{\"aws:SecureTransport\":true}}},"
	       "{\"Effect\":\"Deny\",\"NotAction\":\"ecs:*\",\"Resource\":\"*\"}"));
	struct policy *res = resource_naming("{\"AWS\":[\"" T_ROLE "\",\"111122223333\"]}");
	struct policy *bnd = tcompile(POLICY_BOUNDARY, ID(ALLOW_ECS));
	struct policy *scp =
	    tcompile(POLICY_SCP, ID("{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}"));
	struct tctx ctx;
	tctx_parse(
	    &ctx,
	    "aws:PrincipalTag/team=orders;ecs:cluster=arn:aws:ecs:us-east-1:1:cluster/orders;"
	    "aws:SourceIp=10.1.2.3;ecs:n=3;aws:CurrentTime=2026-01-01T00:00:00Z;"
	    "aws:TagKeys=[env];aws:PrincipalArn=" T_ROLE ";ecs:b=QUI=;aws:SecureTransport=true;"
	    "k1=a;k2=b;k3=c;k4=d;k5=e;k6=f;k7=g;k8=h;k9=i;k10=j;k11=k;k12=l");
	struct policy_request req =
	    treq("ecs:RunTask", "arn:aws:ecs:us-east-1:111122223333:cluster/orders-1", &ctx);
	struct policy_input in[4] = {{id, 0}, {res, 0}, {bnd, 0}, {scp, 0}};
	struct policy_result r;
	char buf[512];
	allocations = 0;
	counting = 1;
	int rc = policy_evaluate(in, 4, &req, &r);
	size_t n = policy_explain(&r, &req, buf, sizeof(buf));
	counting = 0;
	CHECK_INT(rc, POLICY_OK);
	CHECK_INT(r.decision, POLICY_ALLOW);
	CHECK(n > 0);
	CHECK_INT(allocations, 0);
	/* and the interposer does count: compile allocates */
	counting = 1;
	struct policy *again = pid(ID(ALLOW_ECS));
	counting = 0;
	if (TEST_COUNTS_ALLOCATIONS)
		CHECK(allocations > 0);
	else
		printf("    (allocations are not counted under AddressSanitizer)\n");
	policy_unref(again);
	policy_unref(id);
	policy_unref(res);
	policy_unref(bnd);
	policy_unref(scp);
}

/* ---- threads ---- */

struct shared_eval {
	struct policy *p;
	int wrong;
};

static void *eval_thread(void *arg)
{
	struct shared_eval *se = arg;
	struct policy *mine = policy_ref(se->p);
	struct tctx ctx;
	tctx_parse(&ctx, "aws:SourceIp=10.1.2.3");
	struct policy_request yes = treq("ecs:RunTask", RES_ARN, &ctx);
	struct policy_request no = treq("ecs:DeleteCluster", RES_ARN, &ctx);
	for (int i = 0; i < 20000; i++) {
		struct policy_input in = {mine, 0};
		struct policy_result r;
		if (policy_evaluate(&in, 1, (i & 1) ? &yes : &no, &r) != POLICY_OK ||
		    r.decision != ((i & 1) ? POLICY_ALLOW : POLICY_IMPLICIT_DENY))
			__atomic_add_fetch(&se->wrong, 1, __ATOMIC_RELAXED);
	}
	policy_unref(mine);
	return NULL;
}

static void test_threads_share_a_policy(void)
{
	struct shared_eval se = {
	    pid(ID("{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\","
	           "\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}}")),
	    0};
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		CHECK_INT(pthread_create(&t[i], NULL, eval_thread, &se), 0);
	/* the creator may drop its reference while the threads still evaluate */
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	policy_unref(se.p);
	CHECK_INT(se.wrong, 0);
}

/* ---- the shared conformance vectors ---- */

struct vcase_ctx {
	struct policy_ctx_entry e[64];
	struct policy_str v[256];
	size_t n;
};

static int vector_context(json_t *jc, struct vcase_ctx *c)
{
	memset(c, 0, sizeof(*c));
	if (jc == NULL)
		return 0;
	const char *k;
	json_t *v;
	size_t nv = 0;
	json_object_foreach(jc, k, v)
	{
		if (c->n == 64)
			return -1;
		struct policy_ctx_entry *e = &c->e[c->n++];
		e->key = (struct policy_str){k, strlen(k)};
		e->values = &c->v[nv];
		if (json_is_array(v)) {
			for (size_t i = 0; i < json_array_size(v) && nv < 256; i++) {
				json_t *x = json_array_get(v, i);
				c->v[nv++] = (struct policy_str){json_string_value(x),
				                                 json_string_length(x)};
				e->nvalues++;
			}
		} else if (nv < 256) {
			c->v[nv++] =
			    (struct policy_str){json_string_value(v), json_string_length(v)};
			e->nvalues = 1;
		}
	}
	return 0;
}

/* Runs one case; returns true when it passes. */
static bool run_vector(json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	json_t *doc = json_object_get(c, "document");
	if (doc != NULL) {
		enum policy_type t;
		if (policy_type_from_name(json_string_value(json_object_get(c, "policy_type")),
		                          &t) != 0)
			return false;
		char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
		struct policy_options o = {.type = t};
		struct policy *p = NULL;
		int rc = policy_compile(text, strlen(text), &o, &p, NULL);
		free(text);
		policy_unref(p);
		if (rc == POLICY_OK)
			printf("    vector '%s': invalid document was accepted\n", name);
		return rc != POLICY_OK;
	}
	json_t *pols = json_object_get(c, "policies");
	struct policy_input in[16];
	size_t n = 0;
	bool ok = true, any_boundary = false;
	for (size_t i = 0; i < json_array_size(pols) && n < 16; i++) {
		json_t *jp = json_array_get(pols, i);
		enum policy_type t;
		if (policy_type_from_name(json_string_value(json_object_get(jp, "type")), &t) !=
		    0) {
			ok = false;
			break;
		}
		any_boundary |= t == POLICY_BOUNDARY;
		char *text =
		    json_dumps(json_object_get(jp, "document"), JSON_COMPACT | JSON_PRESERVE_ORDER);
		struct policy_options o = {.type = t,
		                           .id = json_string_value(json_object_get(jp, "id"))};
		struct policy *p = NULL;
		if (policy_compile(text, strlen(text), &o, &p, NULL) != POLICY_OK) {
			printf("    vector '%s': policy %zu did not compile\n", name, i);
			ok = false;
		}
		free(text);
		json_t *lvl = json_object_get(jp, "level");
		in[n].policy = p;
		in[n].level = lvl ? (unsigned)json_integer_value(lvl) : 0;
		n++;
	}
	json_t *jr = json_object_get(c, "request");
	struct vcase_ctx ctx;
	if (ok && vector_context(json_object_get(jr, "context"), &ctx) != 0)
		ok = false;
	if (ok) {
		const char *principal = json_string_value(json_object_get(jr, "principal"));
		const char *action = json_string_value(json_object_get(jr, "action"));
		const char *resource = json_string_value(json_object_get(jr, "resource"));
		struct policy_request req;
		memset(&req, 0, sizeof(req));
		req.principal.kind = POLICY_PRINCIPAL_AWS;
		req.principal.arn = (struct policy_str){principal, strlen(principal)};
		/* account: the fifth ARN field */
		const char *f = principal;
		for (int k = 0; k < 4 && f; k++) {
			f = strchr(f, ':');
			if (f)
				f++;
		}
		if (f != NULL)
			req.principal.account = (struct policy_str){f, 12};
		for (size_t i = 0; i < ctx.n; i++) {
			if (strcasecmp(ctx.e[i].key.p, "aws:PrincipalArn") == 0 &&
			    ctx.e[i].nvalues == 1 && strstr(principal, ":assumed-role/") != NULL)
				req.principal.role_arn = ctx.e[i].values[0];
		}
		req.principal.has_boundary = any_boundary;
		req.action = (struct policy_str){action, strlen(action)};
		req.resource =
		    (struct policy_str){resource ? resource : "*", resource ? strlen(resource) : 1};
		req.context = ctx.e;
		req.ncontext = ctx.n;
		struct policy_result r;
		if (policy_evaluate(in, n, &req, &r) != POLICY_OK) {
			ok = false;
		} else {
			const char *want = json_string_value(json_object_get(c, "expect"));
			ok = strcmp(policy_decision_name(r.decision), want) == 0;
			if (!ok) {
				char e[512];
				policy_explain(&r, &req, e, sizeof(e));
				printf("    vector '%s': want %s, got %s\n", name, want, e);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		policy_unref((struct policy *)in[i].policy);
	return ok;
}

static void test_conformance_vectors(void)
{
	json_error_t err;
	json_t *root = json_load_file("../shared/conformance/iam-vectors.json", 0, &err);
	if (root == NULL) {
		check_fail(__FILE__, __LINE__,
		           "../shared/conformance/iam-vectors.json readable "
		           "(run from the repository root)");
		return;
	}
	json_t *cases = json_object_get(root, "cases");
	size_t passed = 0;
	for (size_t i = 0; i < json_array_size(cases); i++) {
		if (run_vector(json_array_get(cases, i)))
			passed++;
		else
			check_fail(
			    __FILE__, __LINE__,
			    json_string_value(json_object_get(json_array_get(cases, i), "name")));
	}
	CHECK(json_array_size(cases) >= 114);
	CHECK_INT(passed, json_array_size(cases));
	json_decref(root);
}

static const struct check_case cases[] = {
    {"actions match without case, with * and ? wildcards, within their service",
     test_action_matching},
    {"resources match case-sensitively, component by component", test_resource_matching},
    {"NotAction and NotResource match everything they do not list", test_not_action_not_resource},
    {"variables in Resource resolve, default, and match nothing when unresolved",
     test_variables_in_resources},
    {"an explicit deny in any policy beats every allow and is named as decider",
     test_explicit_deny_wins},
    {"every guardrail level must allow and guardrails never grant", test_scp_levels},
    {"a resource-based policy grants by how it names the caller", test_resource_policy_strengths},
    {"boundary and session policies limit what the identity side grants",
     test_boundary_and_session},
    {"across accounts both the identity and the resource policy must allow", test_cross_account},
    {"NotPrincipal spares only a caller listed with its account and role", test_not_principal},
    {"a trust policy admits the service it names and no other", test_trust_policy},
    {"malformed requests are refused and denied", test_bad_requests_are_denied},
    {"requests with many context keys are searched correctly", test_many_context_keys},
    {"explanations and AccessDenied messages use AWS's words", test_explain_and_deny_wording},
    {"policy_evaluate and policy_explain never allocate", test_evaluate_never_allocates},
    {"threads evaluate one compiled policy at once and share its reference count",
     test_threads_share_a_policy},
    {"all shared conformance vectors pass", test_conformance_vectors},
};

CHECK_MAIN(cases)
