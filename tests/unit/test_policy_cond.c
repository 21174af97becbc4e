/*
 * test_policy_cond.c - every condition operator, the IfExists forms, the set
 * qualifiers and policy variables, each from both sides: what must match and
 * what must not.
 *
 * Each check compiles an identity policy that allows ecs:RunTask under one
 * Condition block and asks whether a request with a given context is allowed
 * (tcond in test_policy_util.h).
 */
#include "tests/unit/check.h"
#include "tests/unit/test_policy_util.h"

static void test_string_equals(void)
{
	CHECK(tcond("{\"StringEquals\":{\"ecs:cluster\":\"prod\"}}", "ecs:cluster=prod"));
	CHECK(!tcond("{\"StringEquals\":{\"ecs:cluster\":\"prod\"}}", "ecs:cluster=Prod"));
	CHECK(!tcond("{\"StringEquals\":{\"ecs:cluster\":\"prod\"}}", "ecs:cluster=prod2"));
	CHECK(!tcond("{\"StringEquals\":{\"ecs:cluster\":\"prod\"}}", ""));
	CHECK(tcond("{\"StringEquals\":{\"ecs:cluster\":[\"dev\",\"prod\"]}}", "ecs:cluster=prod"));
	/* a star is an ordinary character for StringEquals */
	CHECK(!tcond("{\"StringEquals\":{\"ecs:cluster\":\"pr*\"}}", "ecs:cluster=prod"));
	CHECK(tcond("{\"StringEquals\":{\"ecs:cluster\":\"pr*\"}}", "ecs:cluster=pr*"));
	/* numbers and booleans as policy values compare as their text */
	CHECK(tcond("{\"StringEquals\":{\"ecs:n\":5}}", "ecs:n=5"));
	CHECK(tcond("{\"StringEquals\":{\"ecs:b\":true}}", "ecs:b=true"));
	CHECK(tcond("{\"StringEquals\":{\"ecs:n\":2.5}}", "ecs:n=2.5"));
}

static void test_key_names_ignore_case(void)
{
	CHECK(tcond("{\"StringEquals\":{\"AWS:PrincipalTag/Team\":\"orders\"}}",
	            "aws:principaltag/team=orders"));
	CHECK(!tcond("{\"StringEquals\":{\"AWS:PrincipalTag/Team\":\"orders\"}}",
	             "aws:principaltag/team=Orders"));
}

static void test_string_not_equals(void)
{
	CHECK(tcond("{\"StringNotEquals\":{\"ecs:cluster\":\"prod\"}}", "ecs:cluster=dev"));
	CHECK(!tcond("{\"StringNotEquals\":{\"ecs:cluster\":\"prod\"}}", "ecs:cluster=prod"));
	CHECK(tcond("{\"StringNotEquals\":{\"ecs:cluster\":\"prod\"}}", ""));
	/* several values: holds only when the request value is none of them */
	CHECK(!tcond("{\"StringNotEquals\":{\"ecs:cluster\":[\"dev\",\"prod\"]}}",
	             "ecs:cluster=dev"));
	CHECK(
	    tcond("{\"StringNotEquals\":{\"ecs:cluster\":[\"dev\",\"prod\"]}}", "ecs:cluster=qa"));
}

static void test_ignore_case(void)
{
	CHECK(tcond("{\"StringEqualsIgnoreCase\":{\"ecs:c\":\"PROD\"}}", "ecs:c=prod"));
	CHECK(!tcond("{\"StringEqualsIgnoreCase\":{\"ecs:c\":\"PROD\"}}", "ecs:c=prods"));
	CHECK(!tcond("{\"StringNotEqualsIgnoreCase\":{\"ecs:c\":\"PROD\"}}", "ecs:c=Prod"));
	CHECK(tcond("{\"StringNotEqualsIgnoreCase\":{\"ecs:c\":\"PROD\"}}", "ecs:c=dev"));
}

static void test_string_like(void)
{
	CHECK(tcond("{\"StringLike\":{\"ecs:c\":\"pr*\"}}", "ecs:c=prod"));
	CHECK(tcond("{\"StringLike\":{\"ecs:c\":\"pr*\"}}", "ecs:c=pr"));
	CHECK(!tcond("{\"StringLike\":{\"ecs:c\":\"pr*\"}}", "ecs:c=Prod"));
	CHECK(tcond("{\"StringLike\":{\"ecs:c\":\"p?od\"}}", "ecs:c=prod"));
	CHECK(!tcond("{\"StringLike\":{\"ecs:c\":\"p?od\"}}", "ecs:c=pod"));
	CHECK(!tcond("{\"StringLike\":{\"ecs:c\":\"p?od\"}}", "ecs:c=prrod"));
	CHECK(tcond("{\"StringLike\":{\"ecs:c\":\"*a*b*c*\"}}", "ecs:c=xxaxxbxxcxx"));
	CHECK(!tcond("{\"StringLike\":{\"ecs:c\":\"*a*b*c*\"}}", "ecs:c=xxcxxbxxaxx"));
	CHECK(!tcond("{\"StringLike\":{\"ecs:c\":\"pr*\"}}", ""));
	CHECK(!tcond("{\"StringNotLike\":{\"ecs:c\":[\"pr*\",\"dev\"]}}", "ecs:c=dev"));
	CHECK(tcond("{\"StringNotLike\":{\"ecs:c\":[\"pr*\",\"dev\"]}}", "ecs:c=qa"));
	CHECK(tcond("{\"StringNotLike\":{\"ecs:c\":\"pr*\"}}", ""));
}

static void test_if_exists(void)
{
	CHECK(tcond("{\"StringEqualsIfExists\":{\"ecs:c\":\"prod\"}}", ""));
	CHECK(tcond("{\"StringEqualsIfExists\":{\"ecs:c\":\"prod\"}}", "ecs:c=prod"));
	CHECK(!tcond("{\"StringEqualsIfExists\":{\"ecs:c\":\"prod\"}}", "ecs:c=dev"));
	CHECK(tcond("{\"NumericLessThanIfExists\":{\"ecs:n\":\"5\"}}", ""));
	CHECK(!tcond("{\"NumericLessThanIfExists\":{\"ecs:n\":\"5\"}}", "ecs:n=7"));
	CHECK(tcond("{\"BoolIfExists\":{\"aws:SecureTransport\":\"true\"}}", ""));
	CHECK(!tcond("{\"BoolIfExists\":{\"aws:SecureTransport\":\"true\"}}",
	             "aws:SecureTransport=false"));
	CHECK(tcond("{\"IpAddressIfExists\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}", ""));
	CHECK(tcond("{\"ArnLikeIfExists\":{\"aws:SourceArn\":\"arn:aws:ecs:*:*:cluster/*\"}}", ""));
	CHECK(tcond("{\"StringNotEqualsIfExists\":{\"ecs:c\":\"prod\"}}", ""));
	CHECK(!tcond("{\"StringNotEqualsIfExists\":{\"ecs:c\":\"prod\"}}", "ecs:c=prod"));
}

static void test_numeric(void)
{
	CHECK(tcond("{\"NumericEquals\":{\"ecs:n\":\"10\"}}", "ecs:n=10"));
	CHECK(tcond("{\"NumericEquals\":{\"ecs:n\":10}}", "ecs:n=10.0"));
	CHECK(tcond("{\"NumericEquals\":{\"ecs:n\":\"0.1\"}}", "ecs:n=0.10"));
	/* exact decimals: no rounding through doubles */
	CHECK(!tcond("{\"NumericEquals\":{\"ecs:n\":\"0.1\"}}", "ecs:n=0.1000000000000000055511"));
	CHECK(!tcond("{\"NumericEquals\":{\"ecs:n\":\"9007199254740993\"}}",
	             "ecs:n=9007199254740992"));
	CHECK(tcond("{\"NumericEquals\":{\"ecs:n\":\"-0\"}}", "ecs:n=0"));
	CHECK(!tcond("{\"NumericEquals\":{\"ecs:n\":\"1\"}}", "ecs:n=one"));
	CHECK(!tcond("{\"NumericEquals\":{\"ecs:n\":\"1\"}}", ""));
	CHECK(tcond("{\"NumericNotEquals\":{\"ecs:n\":[1,2]}}", "ecs:n=3"));
	CHECK(!tcond("{\"NumericNotEquals\":{\"ecs:n\":[1,2]}}", "ecs:n=2"));
	CHECK(tcond("{\"NumericNotEquals\":{\"ecs:n\":[1,2]}}", ""));
	/* an unreadable value does not make a negated operator true */
	CHECK(!tcond("{\"NumericNotEquals\":{\"ecs:n\":1}}", "ecs:n=abc"));
	CHECK(tcond("{\"NumericLessThan\":{\"ecs:n\":5}}", "ecs:n=4.999"));
	CHECK(!tcond("{\"NumericLessThan\":{\"ecs:n\":5}}", "ecs:n=5"));
	CHECK(tcond("{\"NumericLessThanEquals\":{\"ecs:n\":5}}", "ecs:n=5"));
	CHECK(!tcond("{\"NumericLessThanEquals\":{\"ecs:n\":5}}", "ecs:n=5.0001"));
	CHECK(tcond("{\"NumericGreaterThan\":{\"ecs:n\":\"-3\"}}", "ecs:n=-2"));
	CHECK(!tcond("{\"NumericGreaterThan\":{\"ecs:n\":\"-3\"}}", "ecs:n=-4"));
	CHECK(tcond("{\"NumericGreaterThan\":{\"ecs:n\":\"9\"}}", "ecs:n=10"));
	CHECK(tcond("{\"NumericGreaterThanEquals\":{\"ecs:n\":\"2.5\"}}", "ecs:n=2.50"));
	CHECK(!tcond("{\"NumericGreaterThanEquals\":{\"ecs:n\":\"2.5\"}}", "ecs:n=2.49"));
	CHECK(tcond("{\"NumericEquals\":{\"ecs:n\":\"1e3\"}}", "ecs:n=1000"));
}

static void test_dates(void)
{
	CHECK(tcond("{\"DateLessThan\":{\"aws:CurrentTime\":\"2030-01-01T00:00:00Z\"}}",
	            "aws:CurrentTime=2026-11-25T00:00:00Z"));
	CHECK(!tcond("{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2030-01-01T00:00:00Z\"}}",
	             "aws:CurrentTime=2026-11-25T00:00:00Z"));
	/* offsets: 01:00+01:00 is 00:00Z */
	CHECK(tcond("{\"DateEquals\":{\"aws:CurrentTime\":\"2026-01-01T00:00:00Z\"}}",
	            "aws:CurrentTime=2026-01-01T01:00:00+01:00"));
	CHECK(tcond("{\"DateEquals\":{\"aws:CurrentTime\":\"2026-01-01T00:00:00Z\"}}",
	            "aws:CurrentTime=2025-12-31T19:00:00-0500"));
	/* epoch seconds on either side */
	CHECK(tcond("{\"DateEquals\":{\"aws:EpochTime\":\"2023-11-14T22:13:20Z\"}}",
	            "aws:EpochTime=1700000000"));
	CHECK(tcond("{\"DateGreaterThan\":{\"aws:CurrentTime\":1700000000}}",
	            "aws:CurrentTime=2026-11-25T00:00:00Z"));
	/* fractional seconds count */
	CHECK(tcond("{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2026-01-01T00:00:00Z\"}}",
	            "aws:CurrentTime=2026-01-01T00:00:00.5Z"));
	CHECK(!tcond("{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2026-01-01T00:00:00Z\"}}",
	             "aws:CurrentTime=2026-01-01T00:00:00.000Z"));
	/* a date alone is its midnight UTC */
	CHECK(tcond("{\"DateLessThanEquals\":{\"aws:CurrentTime\":\"2026-11-25\"}}",
	            "aws:CurrentTime=2026-11-24T23:00:00Z"));
	CHECK(!tcond("{\"DateLessThan\":{\"aws:CurrentTime\":\"2026-11-25\"}}",
	             "aws:CurrentTime=2026-11-25T00:00:01Z"));
	CHECK(tcond("{\"DateGreaterThanEquals\":{\"aws:CurrentTime\":\"2026-11-25\"}}",
	            "aws:CurrentTime=2026-11-25T00:00:00Z"));
	CHECK(tcond("{\"DateNotEquals\":{\"aws:CurrentTime\":\"2026-11-25\"}}", ""));
	CHECK(!tcond("{\"DateEquals\":{\"aws:CurrentTime\":\"2026-11-25\"}}",
	             "aws:CurrentTime=yesterday"));
	CHECK(!tcond("{\"DateEquals\":{\"aws:CurrentTime\":\"2026-11-25\"}}",
	             "aws:CurrentTime=2026-02-30"));
	CHECK(!tcond("{\"DateNotEquals\":{\"aws:CurrentTime\":\"2026-11-25\"}}",
	             "aws:CurrentTime=soon"));
}

static void test_bool(void)
{
	CHECK(tcond("{\"Bool\":{\"aws:SecureTransport\":\"true\"}}", "aws:SecureTransport=true"));
	CHECK(tcond("{\"Bool\":{\"aws:SecureTransport\":true}}", "aws:SecureTransport=TRUE"));
	CHECK(!tcond("{\"Bool\":{\"aws:SecureTransport\":\"true\"}}", "aws:SecureTransport=false"));
	CHECK(!tcond("{\"Bool\":{\"aws:SecureTransport\":\"true\"}}", ""));
	CHECK(!tcond("{\"Bool\":{\"aws:SecureTransport\":\"false\"}}", "aws:SecureTransport=yes"));
}

static void test_binary(void)
{
	CHECK(tcond("{\"BinaryEquals\":{\"ecs:blob\":\"QmluYXJ5VmFsdWU=\"}}",
	            "ecs:blob=QmluYXJ5VmFsdWU="));
	CHECK(!tcond("{\"BinaryEquals\":{\"ecs:blob\":\"QmluYXJ5VmFsdWU=\"}}",
	             "ecs:blob=QmluYXJ5VmFsdWF="));
	CHECK(!tcond("{\"BinaryEquals\":{\"ecs:blob\":\"QmluYXJ5VmFsdWU=\"}}",
	             "ecs:blob=not base64"));
	CHECK(!tcond("{\"BinaryEquals\":{\"ecs:blob\":\"QQ==\"}}", "ecs:blob=QUI="));
	CHECK(tcond("{\"BinaryEquals\":{\"ecs:blob\":\"QUI=\"}}", "ecs:blob=QUI="));
	CHECK(!tcond("{\"BinaryEquals\":{\"ecs:blob\":\"QUI=\"}}", ""));
}

static void test_ip(void)
{
	CHECK(tcond("{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}",
	            "aws:SourceIp=10.255.255.255"));
	CHECK(!tcond("{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}", "aws:SourceIp=11.0.0.0"));
	CHECK(tcond("{\"IpAddress\":{\"aws:SourceIp\":\"203.0.113.7\"}}",
	            "aws:SourceIp=203.0.113.7"));
	CHECK(!tcond("{\"IpAddress\":{\"aws:SourceIp\":\"203.0.113.7\"}}",
	             "aws:SourceIp=203.0.113.8"));
	CHECK(tcond("{\"IpAddress\":{\"aws:SourceIp\":\"2001:db8::/32\"}}",
	            "aws:SourceIp=2001:DB8:0:0::5"));
	CHECK(!tcond("{\"IpAddress\":{\"aws:SourceIp\":\"2001:db8::/32\"}}",
	             "aws:SourceIp=2001:db9::1"));
	CHECK(!tcond("{\"IpAddress\":{\"aws:SourceIp\":\"2001:db8::/32\"}}",
	             "aws:SourceIp=10.0.0.1"));
	/* an IPv4-mapped IPv6 address is the IPv4 address */
	CHECK(tcond("{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}",
	            "aws:SourceIp=::ffff:10.1.2.3"));
	CHECK(tcond("{\"IpAddress\":{\"aws:SourceIp\":\"192.168.1.0/25\"}}",
	            "aws:SourceIp=192.168.1.127"));
	CHECK(!tcond("{\"IpAddress\":{\"aws:SourceIp\":\"192.168.1.0/25\"}}",
	             "aws:SourceIp=192.168.1.128"));
	CHECK(tcond("{\"IpAddress\":{\"aws:SourceIp\":\"0.0.0.0/0\"}}", "aws:SourceIp=8.8.8.8"));
	CHECK(!tcond("{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}", "aws:SourceIp=10.0.0"));
	CHECK(!tcond("{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}",
	             "aws:SourceIp=10.0.0.1/32"));
	CHECK(tcond("{\"NotIpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"192.168.0.0/16\"]}}",
	            "aws:SourceIp=172.16.0.1"));
	CHECK(!tcond("{\"NotIpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"192.168.0.0/16\"]}}",
	             "aws:SourceIp=192.168.3.3"));
	CHECK(tcond("{\"NotIpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}", ""));
	CHECK(
	    !tcond("{\"NotIpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}", "aws:SourceIp=garbage"));
}

static void test_arn_ops(void)
{
	const char *ctx = "aws:PrincipalArn=arn:aws:iam::111122223333:role/orders-task";
	CHECK(tcond(
	    "{\"ArnLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::111122223333:role/orders-*\"}}",
	    ctx));
	CHECK(tcond("{\"ArnEquals\":{\"aws:PrincipalArn\":\"arn:aws:iam::111122223333:role/*\"}}",
	            ctx));
	CHECK(tcond(
	    "{\"ArnEquals\":{\"aws:PrincipalArn\":\"arn:aws:iam::111122223333:role/orders-task\"}}",
	    ctx));
	CHECK(!tcond(
	    "{\"ArnEquals\":{\"aws:PrincipalArn\":\"arn:aws:iam::111122223333:role/Orders-task\"}}",
	    ctx));
	CHECK(tcond("{\"ArnLike\":{\"aws:PrincipalArn\":\"arn:*:iam::*:role/orders-task\"}}", ctx));
	CHECK(!tcond("{\"ArnLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::444455556666:role/*\"}}",
	             ctx));
	/* a wildcard in one component does not absorb the next */
	CHECK(!tcond("{\"ArnLike\":{\"ecs:src\":\"arn:aws:ecs:us-*:cluster/prod\"}}",
	             "ecs:src=arn:aws:ecs:us-east-1:111122223333:cluster/prod"));
	CHECK(tcond("{\"ArnLike\":{\"ecs:src\":\"arn:aws:ecs:us-*:111122223333:cluster/prod\"}}",
	            "ecs:src=arn:aws:ecs:us-east-1:111122223333:cluster/prod"));
	CHECK(!tcond("{\"ArnLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::*:role/*\"}}",
	             "aws:PrincipalArn=not-an-arn"));
	CHECK(
	    tcond("{\"ArnNotEquals\":{\"aws:PrincipalArn\":\"arn:aws:iam::*:role/admin\"}}", ctx));
	CHECK(!tcond("{\"ArnNotLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::*:role/orders-*\"}}",
	             ctx));
	CHECK(
	    tcond("{\"ArnNotLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::*:role/orders-*\"}}", ""));
	CHECK(!tcond("{\"ArnNotLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::*:role/orders-*\"}}",
	             "aws:PrincipalArn=garbage"));
}

static void test_null(void)
{
	CHECK(tcond("{\"Null\":{\"aws:TokenIssueTime\":\"true\"}}", ""));
	CHECK(!tcond("{\"Null\":{\"aws:TokenIssueTime\":\"true\"}}", "aws:TokenIssueTime=x"));
	CHECK(tcond("{\"Null\":{\"aws:TokenIssueTime\":false}}", "aws:TokenIssueTime=x"));
	CHECK(!tcond("{\"Null\":{\"aws:TokenIssueTime\":\"false\"}}", ""));
	CHECK(tcond("{\"Null\":{\"aws:TagKeys\":\"true\"}}", "aws:TagKeys=[]"));
}

static void test_for_any_value(void)
{
	CHECK(tcond("{\"ForAnyValue:StringEquals\":{\"aws:TagKeys\":[\"owner\"]}}",
	            "aws:TagKeys=[env,owner]"));
	CHECK(!tcond("{\"ForAnyValue:StringEquals\":{\"aws:TagKeys\":[\"owner\"]}}",
	             "aws:TagKeys=[env,cost]"));
	CHECK(!tcond("{\"ForAnyValue:StringEquals\":{\"aws:TagKeys\":[\"owner\"]}}", ""));
	CHECK(!tcond("{\"ForAnyValue:StringEquals\":{\"aws:TagKeys\":[\"owner\"]}}",
	             "aws:TagKeys=[]"));
	CHECK(tcond("{\"ForAnyValue:StringEqualsIfExists\":{\"aws:TagKeys\":[\"owner\"]}}", ""));
	CHECK(tcond("{\"ForAnyValue:StringLike\":{\"aws:TagKeys\":\"aws:*\"}}",
	            "aws:TagKeys=[team,aws:x]"));
	/* negated: some request value equals none of the policy values */
	CHECK(tcond("{\"ForAnyValue:StringNotEquals\":{\"aws:TagKeys\":[\"env\",\"owner\"]}}",
	            "aws:TagKeys=[env,cost]"));
	CHECK(!tcond("{\"ForAnyValue:StringNotEquals\":{\"aws:TagKeys\":[\"env\",\"owner\"]}}",
	             "aws:TagKeys=[env,owner]"));
	CHECK(tcond("{\"ForAnyValue:StringEqualsIgnoreCase\":{\"aws:TagKeys\":\"OWNER\"}}",
	            "aws:TagKeys=[Env,Owner]"));
}

static void test_for_all_values(void)
{
	CHECK(tcond("{\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"owner\",\"env\"]}}",
	            "aws:TagKeys=[env]"));
	CHECK(!tcond("{\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"owner\",\"env\"]}}",
	             "aws:TagKeys=[env,cost]"));
	CHECK(tcond("{\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"owner\"]}}", ""));
	CHECK(tcond("{\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"owner\"]}}",
	            "aws:TagKeys=[]"));
	/* Null guards an Allow against the vacuous truth */
	CHECK(!tcond("{\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"owner\"]},"
	             "\"Null\":{\"aws:TagKeys\":\"false\"}}",
	             ""));
	CHECK(tcond("{\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"owner\"]},"
	            "\"Null\":{\"aws:TagKeys\":\"false\"}}",
	            "aws:TagKeys=[owner]"));
	/* negated: no request value equals any policy value */
	CHECK(tcond("{\"ForAllValues:StringNotEquals\":{\"aws:TagKeys\":[\"env\",\"owner\"]}}",
	            "aws:TagKeys=[cost,team]"));
	CHECK(!tcond("{\"ForAllValues:StringNotEquals\":{\"aws:TagKeys\":[\"env\",\"owner\"]}}",
	             "aws:TagKeys=[cost,env]"));
	CHECK(tcond("{\"ForAllValues:StringLike\":{\"aws:TagKeys\":[\"team-*\",\"env\"]}}",
	            "aws:TagKeys=[team-a,env]"));
	CHECK(!tcond("{\"ForAllValues:NumericLessThan\":{\"ecs:ns\":10}}", "ecs:ns=[1,x]"));
	CHECK(tcond("{\"ForAllValues:NumericLessThan\":{\"ecs:ns\":10}}", "ecs:ns=[1,9.99]"));
}

static void test_multivalued_without_qualifier(void)
{
	/* positive: some value matches; negated: no value matches */
	CHECK(tcond("{\"StringEquals\":{\"aws:TagKeys\":\"env\"}}", "aws:TagKeys=[cost,env]"));
	CHECK(!tcond("{\"StringNotEquals\":{\"aws:TagKeys\":\"env\"}}", "aws:TagKeys=[cost,env]"));
	CHECK(tcond("{\"StringNotEquals\":{\"aws:TagKeys\":\"env\"}}", "aws:TagKeys=[cost,team]"));
}

static void test_several_blocks_and_keys_are_anded(void)
{
	const char *c = "{\"StringEquals\":{\"ecs:c\":\"prod\",\"ecs:d\":\"x\"},"
	                "\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}";
	CHECK(tcond(c, "ecs:c=prod;ecs:d=x;aws:SourceIp=10.1.1.1"));
	CHECK(!tcond(c, "ecs:c=prod;ecs:d=y;aws:SourceIp=10.1.1.1"));
	CHECK(!tcond(c, "ecs:c=prod;ecs:d=x;aws:SourceIp=11.1.1.1"));
	CHECK(!tcond(c, "ecs:c=prod;aws:SourceIp=10.1.1.1"));
}

static void test_variables_in_conditions(void)
{
	CHECK(tcond("{\"StringEquals\":{\"aws:ResourceTag/team\":\"${aws:PrincipalTag/team}\"}}",
	            "aws:ResourceTag/team=orders;aws:PrincipalTag/team=orders"));
	CHECK(!tcond("{\"StringEquals\":{\"aws:ResourceTag/team\":\"${aws:PrincipalTag/team}\"}}",
	             "aws:ResourceTag/team=orders;aws:PrincipalTag/team=billing"));
	/* the variable's key name ignores case */
	CHECK(tcond("{\"StringEquals\":{\"aws:ResourceTag/team\":\"${AWS:principaltag/TEAM}\"}}",
	            "aws:ResourceTag/team=orders;aws:PrincipalTag/team=orders"));
	/* unresolved: the statement does not apply, even under a negated operator */
	CHECK(
	    !tcond("{\"StringNotEquals\":{\"ecs:c\":\"${aws:PrincipalTag/home}\"}}", "ecs:c=prod"));
	CHECK(!tcond("{\"StringNotEqualsIfExists\":{\"ecs:c\":\"${aws:PrincipalTag/home}\"}}", ""));
	/* a multi-valued key cannot be a variable */
	CHECK(!tcond("{\"StringEquals\":{\"ecs:c\":\"${aws:TagKeys}\"}}",
	             "ecs:c=a;aws:TagKeys=[a,b]"));
	CHECK(
	    tcond("{\"StringEquals\":{\"ecs:c\":\"${aws:TagKeys}\"}}", "ecs:c=a;aws:TagKeys=[a]"));
	/* defaults */
	CHECK(tcond("{\"StringEquals\":{\"ecs:c\":\"team-${aws:PrincipalTag/team, 'shared'}\"}}",
	            "ecs:c=team-shared"));
	CHECK(!tcond("{\"StringEquals\":{\"ecs:c\":\"team-${aws:PrincipalTag/team, 'shared'}\"}}",
	             "ecs:c=team-shared;aws:PrincipalTag/team=orders"));
	CHECK(tcond("{\"StringEquals\":{\"ecs:c\":\"${aws:username,'it''s'}\"}}", "ecs:c=it's"));
	/* a value brought in by a variable is literal, even in StringLike */
	CHECK(tcond("{\"StringLike\":{\"ecs:c\":\"*/${aws:PrincipalTag/team}\"}}",
	            "ecs:c=cluster/orders;aws:PrincipalTag/team=orders"));
	CHECK(!tcond("{\"StringLike\":{\"ecs:c\":\"${aws:PrincipalTag/team}\"}}",
	             "ecs:c=anything;aws:PrincipalTag/team=*"));
	CHECK(tcond("{\"StringLike\":{\"ecs:c\":\"${aws:PrincipalTag/team}\"}}",
	            "ecs:c=*;aws:PrincipalTag/team=*"));
	/* escapes */
	CHECK(tcond("{\"StringLike\":{\"ecs:c\":\"a${*}b\"}}", "ecs:c=a*b"));
	CHECK(!tcond("{\"StringLike\":{\"ecs:c\":\"a${*}b\"}}", "ecs:c=axxb"));
	CHECK(tcond("{\"StringLike\":{\"ecs:c\":\"a${?}b\"}}", "ecs:c=a?b"));
	CHECK(!tcond("{\"StringLike\":{\"ecs:c\":\"a${?}b\"}}", "ecs:c=axb"));
	CHECK(tcond("{\"StringEquals\":{\"ecs:c\":\"cost${$}\"}}", "ecs:c=cost$"));
	/* in ArnLike, anywhere in the ARN */
	CHECK(tcond(
	    "{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:ecs:*:${aws:PrincipalAccount}:cluster/*\"}}",
	    "aws:SourceArn=arn:aws:ecs:eu-west-1:111122223333:cluster/a;"
	    "aws:PrincipalAccount=111122223333"));
	CHECK(!tcond(
	    "{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:ecs:*:${aws:PrincipalAccount}:cluster/*\"}}",
	    "aws:SourceArn=arn:aws:ecs:eu-west-1:444455556666:cluster/a;"
	    "aws:PrincipalAccount=111122223333"));
}

static void test_variables_literal_in_2008(void)
{
	const char *doc = "{\"Version\":\"2008-10-17\",\"Statement\":{\"Effect\":\"Allow\","
	                  "\"Action\":\"ecs:RunTask\",\"Resource\":\"*\",\"Condition\":"
	                  "{\"StringEquals\":{\"ecs:c\":\"${aws:username}\"}}}}";
	struct policy *p = tcompile(POLICY_IDENTITY, doc);
	struct tctx a, b;
	tctx_parse(&a, "ecs:c=alice;aws:username=alice");
	tctx_parse(&b, "ecs:c=${aws:username};aws:username=alice");
	struct policy_request ra = treq("ecs:RunTask", "*", &a);
	struct policy_request rb = treq("ecs:RunTask", "*", &b);
	CHECK(tdecide(&ra, NULL, p, TEND) == POLICY_IMPLICIT_DENY);
	CHECK(tdecide(&rb, NULL, p, TEND) == POLICY_ALLOW);
	policy_unref(p);
}

static const struct check_case cases[] = {
    {"StringEquals matches exactly and case-sensitively, never a missing key", test_string_equals},
    {"condition key names ignore case while values keep it", test_key_names_ignore_case},
    {"StringNotEquals holds on other values and a missing key, not on any listed value",
     test_string_not_equals},
    {"IgnoreCase operators fold case and still compare every character", test_ignore_case},
    {"StringLike wildcards: star runs, question mark is one character", test_string_like},
    {"IfExists holds on a missing key and compares a present one", test_if_exists},
    {"Numeric operators compare exact decimals and never match a non-number", test_numeric},
    {"Date operators read ISO 8601 with offsets and fractions, and epoch seconds", test_dates},
    {"Bool compares true and false and never matches other text", test_bool},
    {"BinaryEquals compares decoded base64 bytes", test_binary},
    {"IpAddress and NotIpAddress test IPv4 and IPv6 blocks, mapped addresses included", test_ip},
    {"Arn operators compare component by component with wildcards", test_arn_ops},
    {"Null tests whether a key is absent", test_null},
    {"ForAnyValue needs one passing request value and fails on missing or empty keys",
     test_for_any_value},
    {"ForAllValues needs every request value to pass and holds on missing or empty keys",
     test_for_all_values},
    {"an unqualified operator on a multi-valued key matches any value, negated none",
     test_multivalued_without_qualifier},
    {"several operators and several keys in one Condition are AND-ed",
     test_several_blocks_and_keys_are_anded},
    {"policy variables in conditions resolve, default, escape and stay literal",
     test_variables_in_conditions},
    {"Version 2008-10-17 treats ${...} as literal text", test_variables_literal_in_2008},
};

CHECK_MAIN(cases)
