/*
 * test_policy_compile.c - validation: what each policy type accepts and
 * refuses, the JSON path and rule named by each error, the warnings, the size
 * limits, and the accessors of a compiled policy.
 */
#include "tests/unit/check.h"
#include "tests/unit/test_policy_util.h"

#define V12 "\"Version\":\"2012-10-17\","

/* Expects the document to be refused for type t with an error at path whose
 * message holds text. */
static void refused(enum policy_type t, const char *doc, const char *path, const char *text,
                    int line)
{
	struct policy_diags d;
	policy_diags_init(&d);
	int rc = tcompile_rc(t, false, doc, &d);
	if (rc != POLICY_ERR_MALFORMED || !tdiag_has(&d, POLICY_SEV_ERROR, path, text)) {
		check_fail(__FILE__, line, "document refused with the expected error");
		printf("      want %s: ...%s...; got rc %d:\n", path, text, rc);
		tdiag_dump(&d);
	}
	policy_diags_free(&d);
}
#define REFUSED(t, doc, path, text) refused(t, doc, path, text, __LINE__)

static void accepted(enum policy_type t, const char *doc, int line)
{
	struct policy_diags d;
	policy_diags_init(&d);
	int rc = tcompile_rc(t, false, doc, &d);
	if (rc != POLICY_OK) {
		check_fail(__FILE__, line, "document accepted");
		tdiag_dump(&d);
	}
	policy_diags_free(&d);
}
#define ACCEPTED(t, doc) accepted(t, doc, __LINE__)

static void warned(enum policy_type t, const char *doc, const char *path, const char *text,
                   int line)
{
	struct policy_diags d;
	policy_diags_init(&d);
	int rc = tcompile_rc(t, false, doc, &d);
	if (rc != POLICY_OK || !tdiag_has(&d, POLICY_SEV_WARNING, path, text)) {
		check_fail(__FILE__, line, "document accepted with the expected warning");
		printf("      want warning %s: ...%s...; got rc %d:\n", path, text, rc);
		tdiag_dump(&d);
	}
	policy_diags_free(&d);
}
#define WARNED(t, doc, path, text) warned(t, doc, path, text, __LINE__)

static size_t warning_count(enum policy_type t, const char *doc)
{
	struct policy_diags d;
	policy_diags_init(&d);
	int rc = tcompile_rc(t, false, doc, &d);
	size_t n = rc == POLICY_OK ? d.warnings : 999;
	if (n != 0 && n != 999)
		tdiag_dump(&d);
	policy_diags_free(&d);
	return n;
}

#define ALLOW_ALL "{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\"}"

static void test_document_shape(void)
{
	REFUSED(POLICY_IDENTITY, "[\"Version\"]", "", "not a JSON object");
	REFUSED(POLICY_IDENTITY, "{\"Version\":", "", "JSON syntax error");
	REFUSED(POLICY_IDENTITY, "{" V12 "\"Version\":\"2012-10-17\",\"Statement\":[]}", "",
	        "duplicate");
	REFUSED(POLICY_IDENTITY, "{" V12 "\"Statement\":[" ALLOW_ALL "],\"Statment\":[]}",
	        "Statment", "unknown element");
	REFUSED(POLICY_IDENTITY, "{" V12 "\"statement\":[" ALLOW_ALL "]}", "statement",
	        "case-sensitive");
	REFUSED(POLICY_IDENTITY, "{\"Version\":\"2012-10-17\"}", "Statement", "missing Statement");
	REFUSED(POLICY_IDENTITY, "{" V12 "\"Statement\":\"allow all\"}", "Statement",
	        "invalid Statement");
	REFUSED(POLICY_IDENTITY, "{" V12 "\"Statement\":[42]}", "Statement[0]", "JSON object");
	REFUSED(POLICY_IDENTITY, "{" V12 "\"Id\":7,\"Statement\":[]}", "Id", "must be a string");
	ACCEPTED(POLICY_IDENTITY, "{" V12 "\"Statement\":[]}");
	ACCEPTED(POLICY_IDENTITY, "{" V12 "\"Id\":\"x\",\"Statement\":" ALLOW_ALL "}");
}

static void test_versions(void)
{
	REFUSED(POLICY_IDENTITY, "{\"Version\":\"2012-10-18\",\"Statement\":[]}", "Version",
	        "invalid Version");
	REFUSED(POLICY_IDENTITY, "{\"Version\":20121017,\"Statement\":[]}", "Version",
	        "invalid Version");
	ACCEPTED(POLICY_IDENTITY, "{\"Version\":\"2008-10-17\",\"Statement\":[" ALLOW_ALL "]}");
	ACCEPTED(POLICY_IDENTITY, "{\"Statement\":[" ALLOW_ALL "]}");

	struct policy_diags d;
	policy_diags_init(&d);
	CHECK_INT(tcompile_rc(POLICY_IDENTITY, true, "{\"Statement\":[" ALLOW_ALL "]}", &d),
	          POLICY_ERR_MALFORMED);
	CHECK(tdiag_has(&d, POLICY_SEV_ERROR, "Version", "managed policy"));
	policy_diags_free(&d);
	policy_diags_init(&d);
	CHECK_INT(tcompile_rc(POLICY_IDENTITY, true,
	                      "{\"Version\":\"2008-10-17\",\"Statement\":[" ALLOW_ALL "]}", &d),
	          POLICY_ERR_MALFORMED);
	CHECK(tdiag_has(&d, POLICY_SEV_ERROR, "Version", "2012-10-17"));
	policy_diags_free(&d);
	policy_diags_init(&d);
	CHECK_INT(tcompile_rc(POLICY_IDENTITY, true, "{" V12 "\"Statement\":[" ALLOW_ALL "]}", &d),
	          POLICY_OK);
	policy_diags_free(&d);

	struct policy *p = tcompile(POLICY_IDENTITY, "{\"Statement\":[]}");
	CHECK_STR(policy_version(p), "2008-10-17");
	policy_unref(p);
	p = tcompile(POLICY_IDENTITY, "{" V12 "\"Statement\":[]}");
	CHECK_STR(policy_version(p), "2012-10-17");
	policy_unref(p);
}

static void test_effect_and_sid(void)
{
	REFUSED(POLICY_IDENTITY,
	        "{" V12 "\"Statement\":[{\"Action\":\"ecs:*\",\"Resource\":\"*\"}]}",
	        "Statement[0]", "missing Effect");
	REFUSED(POLICY_IDENTITY,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\"}]}",
	        "Statement[0].Effect", "invalid Effect");
	REFUSED(POLICY_IDENTITY,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow \",\"Action\":\"ecs:*\",\"Resource\":\"*\"}]}",
	        "Statement[0].Effect", "invalid Effect");
	REFUSED(POLICY_IDENTITY,
	        "{" V12
	        "\"Statement\":[{\"Effect\":[\"Allow\"],\"Action\":\"ecs:*\",\"Resource\":\"*\"}]}",
	        "Statement[0].Effect", "invalid Effect");
	REFUSED(
	    POLICY_IDENTITY,
	    "{" V12 "\"Statement\":[" ALLOW_ALL ",{\"Sid\":\"A\",\"Effect\":\"Allow\",\"Action\":"
	    "\"ecs:*\",\"Resource\":\"*\"},{\"Sid\":\"A\",\"Effect\":\"Deny\",\"Action\":\"iam:*\","
	    "\"Resource\":\"*\"}]}",
	    "Statement[2].Sid", "duplicate Sid");
	REFUSED(POLICY_IDENTITY,
	        "{" V12 "\"Statement\":[{\"Sid\":\"run-tasks\",\"Effect\":\"Allow\",\"Action\":"
	        "\"ecs:*\",\"Resource\":\"*\"}]}",
	        "Statement[0].Sid", "letters and digits");
	/* resource-based policies of other services allow more in a Sid */
	ACCEPTED(POLICY_RESOURCE,
	         "{" V12
	         "\"Statement\":[{\"Sid\":\"run tasks-1\",\"Effect\":\"Allow\",\"Principal\":"
	         "\"*\",\"Action\":\"ecs:*\",\"Resource\":\"*\"}]}");
	REFUSED(POLICY_IDENTITY,
	        "{" V12 "\"Statement\":[{\"Sid\":5,\"Effect\":\"Allow\",\"Action\":\"ecs:*\","
	                "\"Resource\":\"*\"}]}",
	        "Statement[0].Sid", "must be a string");
	REFUSED(POLICY_IDENTITY,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"effect\":\"Allow\",\"Action\":\"ecs:*\","
	        "\"Resource\":\"*\"}]}",
	        "Statement[0].effect", "case-sensitive");
	REFUSED(POLICY_IDENTITY,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"Efect\":\"Allow\",\"Action\":\"ecs:*\","
	        "\"Resource\":\"*\"}]}",
	        "Statement[0].Efect", "unknown element");

	struct policy *p = tcompile(POLICY_IDENTITY,
	                            "{" V12 "\"Statement\":[{\"Sid\":\"One\",\"Effect\":\"Allow\","
	                            "\"Action\":\"ecs:*\",\"Resource\":\"*\"}," ALLOW_ALL "]}");
	CHECK_INT(policy_statement_count(p), 2);
	CHECK_STR(policy_statement_sid(p, 0), "One");
	CHECK_STR(policy_statement_sid(p, 1), "");
	CHECK_STR(policy_statement_sid(p, 7), "");
	CHECK_STR(policy_id(p), "identity");
	CHECK_INT(policy_type_of(p), POLICY_IDENTITY);
	policy_unref(p);
}

static void test_actions(void)
{
	REFUSED(POLICY_IDENTITY,
	        "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"NotAction\":"
	        "\"iam:*\",\"Resource\":\"*\"}]}",
	        "Statement[0]", "both Action and NotAction");
	REFUSED(POLICY_IDENTITY,
	        "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Resource\":\"*\"}]}",
	        "Statement[0]", "missing Action");
	REFUSED(POLICY_IDENTITY,
	        "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":42,\"Resource\":\"*\"}]}",
	        "Statement[0].Action", "invalid Action");
	REFUSED(POLICY_IDENTITY,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"RunTask\",\"Resource\":\"*\"}]}",
	        "Statement[0].Action", "prefaced by a vendor");
	REFUSED(POLICY_IDENTITY,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ecs:RunTask\",\":RunTask\"],"
	        "\"Resource\":\"*\"}]}",
	        "Statement[0].Action[1]", "invalid Action");
	REFUSED(POLICY_IDENTITY,
	        "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[],\"Resource\":\"*\"}]}",
	        "Statement[0].Action", "empty");
	REFUSED(POLICY_IDENTITY,
	        "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ecs:RunTask\",7],"
	        "\"Resource\":\"*\"}]}",
	        "Statement[0].Action[1]", "must be a string");
	ACCEPTED(POLICY_IDENTITY,
	         "{" V12
	         "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"*\",\"*:Get*\",\"ec?:Run*\"],"
	         "\"Resource\":\"*\"}]}");
}

static void test_resources(void)
{
	REFUSED(POLICY_IDENTITY,
	        "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\"}]}",
	        "Statement[0]", "missing Resource");
	REFUSED(POLICY_IDENTITY,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\","
	        "\"NotResource\":\"*\"}]}",
	        "Statement[0]", "both Resource and NotResource");
	REFUSED(POLICY_IDENTITY,
	        "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":"
	        "[\"*\",\"cluster/prod\"]}]}",
	        "Statement[0].Resource[1]", "ARN format");
	REFUSED(POLICY_IDENTITY,
	        "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":"
	        "\"arn:aws:ecs:us-east-1\"}]}",
	        "Statement[0].Resource", "ARN format");
	REFUSED(POLICY_SCP, "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\"}]}",
	        "Statement[0]", "missing Resource");
	ACCEPTED(POLICY_IDENTITY,
	         "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":"
	         "[\"arn:aws:ecs:*\",\"arn:aws:s3:::bucket/*\",\"arn:aws:ecs:us-east-1:1:cluster/"
	         "a:b\"]}]}");
	/* trust policies have no Resource: the role is the resource */
	ACCEPTED(POLICY_TRUST,
	         "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":"
	         "\"ecs-tasks.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}");
	REFUSED(POLICY_TRUST,
	        "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":"
	        "\"ecs-tasks.amazonaws.com\"},\"Action\":\"sts:AssumeRole\",\"Resource\":\"*\"}]}",
	        "Statement[0].Resource", "not allowed in a trust policy");
}

static void test_principals(void)
{
	REFUSED(POLICY_IDENTITY,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\","
	        "\"Principal\":\"*\"}]}",
	        "Statement[0].Principal", "should not specify a principal");
	REFUSED(POLICY_SCP,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\","
	        "\"Principal\":\"*\"}]}",
	        "Statement[0].Principal", "Principal not allowed");
	REFUSED(POLICY_IDENTITY,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"ecs:*\",\"Resource\":\"*\","
	        "\"NotPrincipal\":{\"AWS\":\"111122223333\"}}]}",
	        "Statement[0].NotPrincipal", "NotPrincipal not allowed");
	REFUSED(POLICY_TRUST,
	        "{" V12 "\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"sts:AssumeRole\","
	        "\"NotPrincipal\":{\"AWS\":\"111122223333\"}}]}",
	        "Statement[0].NotPrincipal", "NotPrincipal not allowed");
	REFUSED(POLICY_RESOURCE,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\","
	        "\"NotPrincipal\":{\"AWS\":\"111122223333\"}}]}",
	        "Statement[0].NotPrincipal", "needs Deny");
	REFUSED(POLICY_RESOURCE,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\"}]}",
	        "Statement[0]", "missing Principal");
	REFUSED(POLICY_RESOURCE,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\","
	        "\"Principal\":{\"Aws\":\"*\"}}]}",
	        "Statement[0].Principal.Aws", "unknown principal type");
	REFUSED(POLICY_RESOURCE,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\","
	        "\"Principal\":\"alice\"}]}",
	        "Statement[0].Principal", "must be \"*\"");
	REFUSED(
	    POLICY_RESOURCE,
	    "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\","
	    "\"Principal\":{\"AWS\":[\"111122223333\",\"arn:aws:iam::111122223333:role/*\"]}}]}",
	    "Statement[0].Principal.AWS[1]", "wildcards are not allowed");
	REFUSED(POLICY_RESOURCE,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\","
	        "\"Principal\":{\"AWS\":\"12345\"}}]}",
	        "Statement[0].Principal.AWS", "12-digit");
	REFUSED(POLICY_RESOURCE,
	        "{" V12
	        "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\","
	        "\"Principal\":{\"CanonicalUser\":\"xyz\"}}]}",
	        "Statement[0].Principal.CanonicalUser", "hexadecimal");
	ACCEPTED(
	    POLICY_RESOURCE,
	    "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\","
	    "\"Principal\":{\"AWS\":[\"*\",\"111122223333\",\"arn:aws:iam::111122223333:root\","
	    "\"arn:aws:iam::111122223333:user/a/b\",\"arn:aws:iam::111122223333:role/r\","
	    "\"arn:aws:sts::111122223333:assumed-role/r/s\"],\"Service\":\"ecs.amazonaws.com\","
	    "\"Federated\":[\"accounts.google.com\",\"arn:aws:iam::111122223333:oidc-provider/"
	    "token.actions.githubusercontent.com\"]}}]}");
	REFUSED(POLICY_TRUST,
	        "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\"}]}",
	        "Statement[0]", "missing Principal");
}

static void test_conditions(void)
{
#define C(cond)                                                                                    \
	"{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\","    \
	        "\"Condition\":" cond "}]}"
	REFUSED(POLICY_IDENTITY, C("{\"StringEqualz\":{\"ecs:cluster\":\"a\"}}"),
	        "Statement[0].Condition.StringEqualz", "unknown condition operator");
	REFUSED(POLICY_IDENTITY, C("{\"NullIfExists\":{\"ecs:cluster\":\"true\"}}"),
	        "Statement[0].Condition.NullIfExists", "IfExists is not defined for Null");
	REFUSED(POLICY_IDENTITY, C("{\"ForSomeValues:StringEquals\":{\"aws:TagKeys\":\"a\"}}"),
	        "Statement[0].Condition.ForSomeValues:StringEquals", "unknown condition operator");
	REFUSED(POLICY_IDENTITY, C("{\"stringequals\":{\"ecs:cluster\":\"a\"}}"),
	        "Statement[0].Condition.stringequals", "unknown condition operator");
	REFUSED(POLICY_IDENTITY, C("{\"StringEquals\":\"ecs:cluster\"}"),
	        "Statement[0].Condition.StringEquals", "must be an object");
	REFUSED(POLICY_IDENTITY, C("[1]"), "Statement[0].Condition", "invalid Condition");
	REFUSED(POLICY_IDENTITY, C("{\"StringEquals\":{\"ecs:cluster\":{\"a\":1}}}"),
	        "Statement[0].Condition.StringEquals.ecs:cluster", "invalid condition value");
	REFUSED(POLICY_IDENTITY, C("{\"StringEquals\":{\"ecs:cluster\":[\"a\",null]}}"),
	        "Statement[0].Condition.StringEquals.ecs:cluster[1]", "invalid condition value");
	REFUSED(POLICY_IDENTITY, C("{\"StringEquals\":{\"ecs:cluster\":[]}}"),
	        "Statement[0].Condition.StringEquals.ecs:cluster", "empty");
	REFUSED(POLICY_IDENTITY, C("{\"StringEquals\":{\"cluster\":\"a\"}}"),
	        "Statement[0].Condition.StringEquals.cluster", "prefaced by a vendor");
	REFUSED(POLICY_IDENTITY, C("{\"NumericLessThan\":{\"ecs:n\":\"ten\"}}"),
	        "Statement[0].Condition.NumericLessThan.ecs:n", "not a number");
	REFUSED(POLICY_IDENTITY, C("{\"DateLessThan\":{\"aws:CurrentTime\":\"2026-13-01\"}}"),
	        "Statement[0].Condition.DateLessThan.aws:CurrentTime", "not a date");
	REFUSED(POLICY_IDENTITY, C("{\"Bool\":{\"aws:SecureTransport\":\"yes\"}}"),
	        "Statement[0].Condition.Bool.aws:SecureTransport", "\"true\" or \"false\"");
	REFUSED(POLICY_IDENTITY, C("{\"Null\":{\"aws:TokenIssueTime\":\"maybe\"}}"),
	        "Statement[0].Condition.Null.aws:TokenIssueTime", "\"true\" or \"false\"");
	REFUSED(POLICY_IDENTITY,
	        C("{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"10.0.0.0/33\"]}}"),
	        "Statement[0].Condition.IpAddress.aws:SourceIp[1]", "CIDR");
	REFUSED(POLICY_IDENTITY, C("{\"IpAddress\":{\"aws:SourceIp\":\"2001:db8::/129\"}}"),
	        "Statement[0].Condition.IpAddress.aws:SourceIp", "CIDR");
	REFUSED(POLICY_IDENTITY, C("{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/\"}}"),
	        "Statement[0].Condition.IpAddress.aws:SourceIp", "CIDR");
	REFUSED(POLICY_IDENTITY, C("{\"BinaryEquals\":{\"ecs:b\":\"abc\"}}"),
	        "Statement[0].Condition.BinaryEquals.ecs:b", "not base64");
	ACCEPTED(POLICY_IDENTITY, C("{\"StringLikeIfExists\":{\"ecs:cluster\":\"a*\"},"
	                            "\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"a\",\"b\"]},"
	                            "\"ForAnyValue:NumericLessThanIfExists\":{\"ecs:n\":[1,2.5]},"
	                            "\"DateGreaterThan\":{\"aws:CurrentTime\":1700000000}}"));
	/* one run reports every fault */
	struct policy_diags d;
	policy_diags_init(&d);
	CHECK_INT(tcompile_rc(POLICY_IDENTITY, false,
	                      "{\"Version\":\"1\",\"Statement\":[{\"Effect\":\"Maybe\",\"Action\":"
	                      "\"x\",\"Resource\":\"y\"}]}",
	                      &d),
	          POLICY_ERR_MALFORMED);
	CHECK(d.errors >= 4);
	policy_diags_free(&d);
#undef C
}

static void test_warnings(void)
{
#define S(stmt) "{" V12 "\"Statement\":[" stmt "]}"
	CHECK_INT(
	    warning_count(POLICY_IDENTITY,
	                  S("{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\","
	                    "\"Condition\":{\"StringEquals\":{\"ecs:cluster\":\"a\"}}}")),
	    0);
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"Action\":\"ecz:RunTask\",\"Resource\":\"*\"}"),
	       "Statement[0].Action", "not a known AWS service prefix");
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"NotAction\":\"iam:*\",\"Resource\":\"*\"}"),
	       "Statement[0].NotAction", "NotAction with Allow");
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"NotResource\":\"arn:aws:ecs:*:*:"
	         "cluster/x\"}"),
	       "Statement[0].NotResource", "NotResource with Allow");
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"Action\":\"ecs:ListClusters\",\"Resource\":\"*\","
	         "\"Condition\":{\"StringEquals\":{\"ecs:cluster\":\"a\"}}}"),
	       "Statement[0].Condition.StringEquals.ecs:cluster", "carries");
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\","
	         "\"Condition\":{\"StringEquals\":{\"ecs:cluster\":\"a\"}}}"),
	       "Statement[0].Condition.StringEquals.ecs:cluster", "never present");
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\","
	         "\"Condition\":{\"StringEquals\":{\"ecs:clustre\":\"a\"}}}"),
	       "Statement[0].Condition.StringEquals.ecs:clustre", "not a condition key");
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\","
	         "\"Condition\":{\"StringEquals\":{\"iam:PolicyARN\":\"a\"}}}"),
	       "Statement[0].Condition.StringEquals.iam:PolicyARN", "carries");
	CHECK_INT(
	    warning_count(POLICY_IDENTITY,
	                  S("{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\","
	                    "\"Condition\":{\"StringEquals\":{\"iam:PassedToService\":"
	                    "\"ecs-tasks.amazonaws.com\",\"aws:ResourceTag/x\":\"y\"}}}")),
	    0);
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\","
	         "\"Condition\":{\"ForAnyValue:StringEquals\":{\"aws:PrincipalTag/team\":\"a\"}}}"),
	       "Statement[0].Condition.ForAnyValue:StringEquals.aws:PrincipalTag/team",
	       "one value");
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"Action\":\"ecs:TagResource\",\"Resource\":\"*\","
	         "\"Condition\":{\"StringEquals\":{\"aws:TagKeys\":\"a\"}}}"),
	       "Statement[0].Condition.StringEquals.aws:TagKeys", "several values");
	struct policy_diags d;
	policy_diags_init(&d);
	CHECK_INT(
	    tcompile_rc(
	        POLICY_IDENTITY, false,
	        S("{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\","
	          "\"Condition\":{\"NumericEquals\":{\"ecs:task-cpu\":\"${aws:username}\"}}}"),
	        &d),
	    POLICY_ERR_MALFORMED);
	CHECK(tdiag_has(&d, POLICY_SEV_WARNING, "Statement[0].Condition.NumericEquals.ecs:task-cpu",
	                "literal text"));
	CHECK(tdiag_has(&d, POLICY_SEV_ERROR, "Statement[0].Condition.NumericEquals.ecs:task-cpu",
	                "not a number"));
	policy_diags_free(&d);
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"Action\":\"ecs:Run${x}\",\"Resource\":\"*\"}"),
	       "Statement[0].Action", "literal text");
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\","
	         "\"Condition\":{\"StringEquals\":{\"aws:PrincipalTag/${x}\":\"a\"}}}"),
	       "Statement[0].Condition.StringEquals.aws:PrincipalTag/${x}", "literal text");
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":"
	         "\"arn:aws:ecs:${aws:RequestedRegion}:1:cluster/a\"}"),
	       "Statement[0].Resource", "literal text");
	WARNED(POLICY_IDENTITY,
	       "{\"Version\":\"2008-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
	       "\"ecs:RunTask\",\"Resource\":\"arn:aws:ecs:*:1:cluster/${aws:username}\"}]}",
	       "Statement[0].Resource", "Version 2012-10-17");
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Deny\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\","
	         "\"Condition\":{\"StringNotEquals\":{\"ecs:cluster\":\"${aws:PrincipalTag/"
	         "home}\"}}}"),
	       "Statement[0].Condition.StringNotEquals.ecs:cluster", "without a default");
	CHECK_INT(
	    warning_count(POLICY_IDENTITY,
	                  S("{\"Effect\":\"Deny\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\","
	                    "\"Condition\":{\"StringNotEquals\":{\"ecs:cluster\":"
	                    "\"${aws:PrincipalTag/home, 'none'}\"}}}")),
	    0);
	WARNED(POLICY_IDENTITY,
	       S("{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":"
	         "\"arn:aws:ecs:*:1:cluster/${aws:username\"}"),
	       "Statement[0].Resource", "malformed policy variable");
#undef S
}

static void test_size_limits(void)
{
	bool ws = true;
	CHECK_INT(policy_default_size_limit(POLICY_IDENTITY, true, &ws), 6144);
	CHECK(!ws);
	CHECK_INT(policy_default_size_limit(POLICY_IDENTITY, false, &ws), 10240);
	CHECK_INT(policy_default_size_limit(POLICY_TRUST, false, &ws), 2048);
	CHECK_INT(policy_default_size_limit(POLICY_SCP, false, &ws), 5120);
	CHECK(ws);

	/* white space does not count for IAM types, does for guardrails */
	char doc[12000];
	const char *head = "{" V12 "\"Statement\":[" ALLOW_ALL "]";
	size_t hl = strlen(head);
	memcpy(doc, head, hl);
	memset(doc + hl, ' ', 6000);
	memcpy(doc + hl + 6000, "}", 2);
	struct policy_diags d;
	policy_diags_init(&d);
	CHECK_INT(tcompile_rc(POLICY_IDENTITY, true, doc, &d), POLICY_OK);
	policy_diags_free(&d);
	policy_diags_init(&d);
	CHECK_INT(tcompile_rc(POLICY_SCP, false, doc, &d), POLICY_ERR_LIMIT);
	CHECK(d.errors == 1);
	policy_diags_free(&d);

	/* a long action list over 6,144 characters */
	size_t n = 0;
	n += (size_t)snprintf(
	    doc, sizeof(doc),
	    "{" V12 "\"Statement\":[{\"Effect\":\"Allow\",\"Resource\":\"*\",\"Action\":[");
	for (int i = 0; i < 400; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s\"ecs:Action%04d\"",
		                      i ? "," : "", i);
	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "]}]}");
	CHECK(n > 6144 && n < 10240);
	policy_diags_init(&d);
	CHECK_INT(tcompile_rc(POLICY_IDENTITY, true, doc, &d), POLICY_ERR_LIMIT);
	CHECK(tdiag_has(&d, POLICY_SEV_ERROR, "", "LimitExceeded"));
	policy_diags_free(&d);
	policy_diags_init(&d);
	CHECK_INT(tcompile_rc(POLICY_IDENTITY, false, doc, &d), POLICY_OK);
	policy_diags_free(&d);
	/* a configured limit replaces the default */
	struct policy_options o = {.type = POLICY_IDENTITY, .size_limit = 20};
	struct policy *p = NULL;
	CHECK_INT(policy_compile(doc, n, &o, &p, NULL), POLICY_ERR_LIMIT);
	CHECK(p == NULL);
}

static void test_bad_arguments(void)
{
	struct policy *p = (struct policy *)1;
	struct policy_options o = {.type = POLICY_IDENTITY};
	CHECK_INT(policy_compile(NULL, 5, &o, &p, NULL), POLICY_ERR_INVALID_ARG);
	CHECK(p == NULL);
	CHECK_INT(policy_compile("{}", 2, NULL, &p, NULL), POLICY_ERR_INVALID_ARG);
	o.type = POLICY_TYPE_COUNT;
	CHECK_INT(policy_compile("{}", 2, &o, &p, NULL), POLICY_ERR_INVALID_ARG);
	o.type = POLICY_IDENTITY;
	/* not NUL-terminated input: only len bytes are read */
	const char text[] = "{\"Statement\":[]}XXXX";
	CHECK_INT(policy_compile(text, sizeof(text) - 5, &o, &p, NULL), POLICY_OK);
	policy_unref(p);
	policy_unref(NULL);
}

static void test_refcount(void)
{
	struct policy *p = tcompile(POLICY_IDENTITY, "{" V12 "\"Statement\":" ALLOW_ALL "}");
	CHECK(policy_ref(p) == p);
	policy_unref(p);
	CHECK_INT(policy_statement_count(p), 1);
	policy_unref(p);
}

static void test_type_names(void)
{
	enum policy_type t;
	for (int i = 0; i < POLICY_TYPE_COUNT; i++) {
		CHECK_INT(policy_type_from_name(policy_type_name((enum policy_type)i), &t), 0);
		CHECK_INT(t, i);
	}
	CHECK_INT(policy_type_from_name("Identity", &t), -1);
	CHECK_STR(policy_type_name(POLICY_SCP), "scp");
	CHECK_STR(policy_decision_name(POLICY_EXPLICIT_DENY), "ExplicitDeny");
}

static const struct check_case cases[] = {
    {"a document is one JSON object with known elements and no repeated keys", test_document_shape},
    {"Version is 2012-10-17 or 2008-10-17, and managed policies need 2012-10-17", test_versions},
    {"Effect is exactly Allow or Deny and Sids are unique and alphanumeric in IAM types",
     test_effect_and_sid},
    {"a statement has exactly one of Action and NotAction, each with a service prefix",
     test_actions},
    {"Resource is * or an ARN, required except in trust policies", test_resources},
    {"Principal belongs to resource-based and trust policies, NotPrincipal to resource Denies",
     test_principals},
    {"condition operators, keys and values are checked with their JSON paths", test_conditions},
    {"validation warns about what AWS accepts but is almost surely a mistake", test_warnings},
    {"documents over the size limit are refused as LimitExceeded", test_size_limits},
    {"bad arguments are refused and input is read only up to its length", test_bad_arguments},
    {"a compiled policy is reference-counted", test_refcount},
    {"type and decision names round-trip", test_type_names},
};

CHECK_MAIN(cases)
