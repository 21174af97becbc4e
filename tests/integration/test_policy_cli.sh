#!/usr/bin/env bash
# tests/integration/test_policy_cli.sh - `taskgate policy validate | simulate |
# test` end to end, through the real binary.
#
# Runs the shared conformance vectors and ours (tests/policy/*.json), then
# checks validate and simulate from the outside: exit codes, messages that
# carry the file and the JSON path, and JSON output that a real parser
# (/usr/bin/python3) accepts. Each check prints "ok - <sentence>" or
# "FAIL - <sentence>"; details of a failure follow, indented by four spaces.
# Run from the repository root (tests/run.sh does), with $TASKGATE set.
set -u
TG=${TASKGATE:-$PWD/build/taskgate}
PY=/usr/bin/python3
SHARED=../shared/conformance/iam-vectors.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out="$tmp/out"
err="$tmp/err"
rc=0

# run CMD...: runs it, keeps stdout in $out, stderr in $err, status in $rc.
run() {
	"$@" >"$out" 2>"$err"
	rc=$?
}

# check SENTENCE CONDITION...: prints ok/FAIL; on FAIL shows the last run.
check() {
	local sentence=$1
	shift
	if "$@"; then
		echo "ok - $sentence"
	else
		echo "FAIL - $sentence"
		echo "    status $rc; stdout:"
		head -20 "$out" | sed 's/^/      /'
		echo "    stderr:"
		head -10 "$err" | sed 's/^/      /'
	fi
}

has() { grep -qF -- "$1" "$out"; }
has_err() { grep -qF -- "$1" "$err"; }
status_is() { [ "$rc" -eq "$1" ]; }
json_ok() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$out"; }

if [ ! -x "$TG" ]; then
	echo "FAIL - the taskgate binary exists at $TG"
	exit 1
fi

# ---- conformance vectors ----
if [ -f "$SHARED" ]; then
	run "$TG" policy test "$SHARED"
	check "the shared IAM conformance vectors all pass" \
		eval 'status_is 0 && tail -1 "$out" | grep -Eq "^[1-9][0-9]* passed, 0 failed$"'
else
	echo "FAIL - the shared IAM conformance vectors exist at $SHARED"
fi
for f in tests/policy/*.json; do
	run "$TG" policy test "$f"
	check "our conformance vectors in $(basename "$f") all pass" \
		eval 'status_is 0 && tail -1 "$out" | grep -Eq "^[1-9][0-9]* passed, 0 failed$"'
done

# ---- policy test reports failures ----
cat >"$tmp/wrong.json" <<'JSON'
{ "format": 1, "account": "111122223333", "cases": [
  { "name": "allow all really allows", "rests_on": "",
    "policies": [ { "type": "identity", "id": "all",
      "document": { "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": "*", "Resource": "*" } ] } } ],
    "request": { "principal": "arn:aws:iam::111122223333:user/alice", "action": "ecs:RunTask",
                 "resource": "*", "context": {} },
    "expect": "Allow" },
  { "name": "a wrong expectation is reported", "rests_on": "",
    "policies": [],
    "request": { "principal": "arn:aws:iam::111122223333:user/alice", "action": "ecs:RunTask",
                 "resource": "*", "context": {} },
    "expect": "Allow" },
  { "name": "a valid document expected to be invalid", "policy_type": "identity",
    "document": { "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": "ecs:*", "Resource": "*" } ] },
    "expect_error": "none really" }
] }
JSON
run "$TG" policy test "$tmp/wrong.json"
check "policy test exits 1 when a case fails" status_is 1
check "policy test names the failing case with expected and actual decisions" \
	has "a wrong expectation is reported: expected Allow, got ImplicitDeny"
check "policy test says when a document expected to be invalid compiled" \
	eval 'grep -F "a valid document expected to be invalid" "$out" | grep -qF "compiled"'
check "policy test does not report a passing case by default" eval '! has "allow all really allows"'
check "policy test ends with the count of passed and failed cases" \
	eval 'tail -1 "$out" | grep -qx "1 passed, 2 failed"'
run "$TG" policy test -v "$tmp/wrong.json"
check "policy test -v also lists passing cases" has "ok: allow all really allows"

run "$TG" policy test
check "policy test without a file is a usage error (exit 2)" status_is 2
run "$TG" policy test "$tmp/missing.json"
check "policy test on an unreadable file exits 1 and says why" \
	eval 'status_is 1 && has "missing.json: error: cannot open"'
echo '{"format": 2, "cases": []}' >"$tmp/format2.json"
run "$TG" policy test "$tmp/format2.json"
check "policy test refuses a vector file of an unknown format" \
	eval 'status_is 1 && has "format 1"'

# ---- validate ----
cat >"$tmp/good.json" <<'JSON'
{
  "Version": "2012-10-17",
  "Statement": [
    { "Sid": "RunWeb", "Effect": "Allow", "Action": "ecs:RunTask",
      "Resource": "arn:aws:ecs:us-east-1:111122223333:task-definition/web:*" }
  ]
}
JSON
cat >"$tmp/typo.json" <<'JSON'
{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*" },
    { "Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*",
      "Condition": { "StringLikee": { "ecs:cluster": "prod-*" } } }
  ]
}
JSON
cat >"$tmp/warn.json" <<'JSON'
{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*",
      "Condition": { "ForAnyValue:StringEquals": { "aws:PrincipalTag/team": "payments" } } }
  ]
}
JSON
cat >"$tmp/old.json" <<'JSON'
{ "Version": "2008-10-17", "Statement": { "Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*" } }
JSON

run "$TG" policy validate "$tmp/good.json"
check "validate accepts a valid identity policy (exit 0)" eval 'status_is 0 && has "good.json: ok"'
run "$TG" policy validate "$tmp/typo.json"
check "validate rejects an unknown condition operator (exit 1)" status_is 1
check "validate names the file and the JSON path of the unknown operator" \
	has "typo.json: error: Statement[1].Condition.StringLikee:"
run "$TG" policy validate "$tmp/warn.json"
check "validate passes a policy with warnings only (exit 0) and prints the warning" \
	eval 'status_is 0 && has "warn.json: warning: Statement[0].Condition"'
run "$TG" policy validate "$tmp/good.json" "$tmp/typo.json"
check "validate with one bad file among several exits 1 and reports each file" \
	eval 'status_is 1 && has "good.json: ok" && has "typo.json: error:"'
run "$TG" policy validate --type resource "$tmp/good.json"
check "validate --type resource requires a Principal" eval 'status_is 1 && has "good.json: error:"'
run "$TG" policy validate --type=identity "$tmp/old.json"
check "validate accepts Version 2008-10-17 in an inline policy" status_is 0
run "$TG" policy validate --managed "$tmp/old.json"
check "validate --managed rejects Version 2008-10-17" eval 'status_is 1 && has "old.json: error:"'
run "$TG" policy validate --size-limit 50 "$tmp/good.json"
check "validate --size-limit refuses a document over the limit" eval 'status_is 1 && has "good.json: error:"'
run "$TG" policy validate "$tmp/nope.json"
check "validate on an unreadable file exits 1 with a clear message" \
	eval 'status_is 1 && has "nope.json: error: cannot open"'
run "$TG" policy validate --bogus "$tmp/good.json"
check "validate with an unknown option is a usage error (exit 2)" \
	eval 'status_is 2 && has_err "unknown option"'
run "$TG" policy validate
check "validate without a file is a usage error (exit 2)" eval 'status_is 2 && has_err "no policy file"'
run "$TG" policy validate --type banana "$tmp/good.json"
check "validate with an unknown policy type is a usage error (exit 2)" status_is 2
run "$TG" policy validate - <"$tmp/good.json"
check "validate reads standard input for -" status_is 0
run "$TG" policy validate --json "$tmp/good.json" "$tmp/typo.json" "$tmp/nope.json" "$tmp/warn.json"
check "validate --json exits 1 when a file has an error" status_is 1
check "validate --json prints one parseable result per file" json_ok 'assert len(d) == 4, d'
check "validate --json marks valid and invalid files" \
	json_ok 'assert [r["valid"] for r in d] == [True, False, False, True], d'
check "validate --json gives the path and message of each error" \
	json_ok 'e = d[1]["errors"][0]; assert e["path"].startswith("Statement[1].Condition.StringLikee"), e; assert e["message"], e'
check "validate --json reports an unreadable file as such" json_ok 'assert d[2]["status"] == "unreadable", d[2]'
check "validate --json lists warnings apart from errors" \
	json_ok 'assert d[3]["warnings"] and not d[3]["errors"], d[3]'

# ---- simulate ----
cat >"$tmp/id.json" <<'JSON'
{
  "Version": "2012-10-17",
  "Statement": [
    { "Sid": "RunAnywhere", "Effect": "Allow", "Action": "ecs:*", "Resource": "*" },
    { "Sid": "NeverProd", "Effect": "Deny", "Action": "ecs:*",
      "Resource": "arn:aws:ecs:us-east-1:111122223333:cluster/prod" }
  ]
}
JSON
cat >"$tmp/boundary.json" <<'JSON'
{ "Version": "2012-10-17",
  "Statement": [ { "Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*" } ] }
JSON
cat >"$tmp/bucket.json" <<'JSON'
{ "Version": "2012-10-17",
  "Statement": [ { "Sid": "RoleMayDescribe", "Effect": "Allow",
    "Principal": { "AWS": "arn:aws:iam::111122223333:role/orders-task" },
    "Action": "ecs:DescribeClusters", "Resource": "arn:aws:ecs:us-east-1:111122223333:cluster/dev" } ] }
JSON
cat >"$tmp/tags.json" <<'JSON'
{ "Version": "2012-10-17",
  "Statement": [ { "Effect": "Allow", "Action": "ecs:TagResource", "Resource": "*",
    "Condition": { "ForAllValues:StringEquals": { "aws:TagKeys": ["env", "owner"] } } },
    { "Effect": "Allow", "Action": "ecs:UntagResource", "Resource": "*",
    "Condition": { "ForAnyValue:StringEquals": { "aws:TagKeys": ["env"] } } } ] }
JSON
cat >"$tmp/scp-root.json" <<'JSON'
{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": "*", "Resource": "*" } ] }
JSON
cat >"$tmp/scp-ou.json" <<'JSON'
{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*" } ] }
JSON
cat >"$tmp/trust.json" <<'JSON'
{ "Version": "2012-10-17",
  "Statement": [ { "Effect": "Allow", "Principal": { "Service": "ecs-tasks.amazonaws.com" },
    "Action": "sts:AssumeRole" } ] }
JSON
USER=arn:aws:iam::111122223333:user/alice
SESSION=arn:aws:sts::111122223333:assumed-role/orders-task/task-7f3c
DEV=arn:aws:ecs:us-east-1:111122223333:cluster/dev
PROD=arn:aws:ecs:us-east-1:111122223333:cluster/prod

run "$TG" policy simulate --identity "$tmp/id.json" --principal "$USER" --action ecs:DescribeClusters --resource "$DEV"
check "simulate exits 0 for an allowed request" status_is 0
check "simulate prints the decision and the policy type that decided" \
	eval 'has "decision:   Allow" && has "decided by: identity policy"'
check "simulate lists the matching statement with its policy, index and Sid" \
	has "Allow identity policy '$tmp/id.json' Statement[0] (Sid RunAnywhere)"
check "simulate prints an explanation" has "explanation: "

run "$TG" policy simulate --identity "$tmp/id.json" --principal "$USER" --action ecs:DescribeClusters --resource "$PROD"
check "simulate exits 4 for an explicit deny" status_is 4
check "simulate lists both the allowing and the denying statement" \
	eval 'has "Statement[0] (Sid RunAnywhere)" && has "Deny  identity policy" && has "(Sid NeverProd)"'
check "simulate gives AWS's words for the kind of deny" has "deny reason: "
check "simulate names the deciding statement" \
	has "deciding statement: Deny  identity policy '$tmp/id.json' Statement[1] (Sid NeverProd)"
check "simulate prints the AccessDenied message as AWS words it" \
	has "message:     User: $USER is not authorized to perform: ecs:DescribeClusters on resource: $PROD"
run "$TG" policy simulate --json --identity "$tmp/id.json" --principal "$USER" --action ecs:DescribeClusters --resource "$PROD"
check "simulate --json gives the deciding statement and the AccessDenied message" \
	json_ok 'assert d["decider"]["sid"] == "NeverProd" and d["decider"]["effect"] == "Deny" and "is not authorized" in d["message"], d'

run "$TG" policy simulate --identity "$tmp/id.json" --boundary "$tmp/boundary.json" --principal "$USER" --action ecs:RunTask
check "simulate exits 3 for an implicit deny by the permissions boundary" \
	eval 'status_is 3 && has "decision:   ImplicitDeny" && has "decided by: boundary policy"'
run "$TG" policy simulate --identity "$tmp/id.json" --boundary "$tmp/boundary.json" --principal "$USER" --action ecs:DescribeServices
check "simulate allows what both identity policy and boundary allow" status_is 0

run "$TG" policy simulate --resource-policy "$tmp/bucket.json" --principal "$SESSION" --action ecs:DescribeClusters --resource "$DEV"
check "simulate derives the role ARN from an assumed-role principal (resource policy naming the role allows)" status_is 0
run "$TG" policy simulate --resource-policy "$tmp/bucket.json" --principal "$SESSION" \
	--principal-role-arn arn:aws:iam::111122223333:role/other --action ecs:DescribeClusters --resource "$DEV"
check "simulate --principal-role-arn overrides the derived role ARN (then the policy does not allow)" status_is 3
run "$TG" policy simulate --json --resource-policy "$tmp/bucket.json" --principal "$SESSION" --action ecs:DescribeClusters --resource "$DEV"
check "simulate --json prints a parseable result with the decision and who decided" \
	json_ok 'assert d["decision"] == "Allow" and d["decided_by"] == "resource", d'
check "simulate --json shows the derived role ARN and account" \
	json_ok 'p = d["request"]["principal"]; assert p["role_arn"] == "arn:aws:iam::111122223333:role/orders-task" and p["account"] == "111122223333", p'
check "simulate --json lists matches with policy, type, index, Sid and effect" \
	json_ok 'm = d["matches"][0]; assert (m["type"], m["statement"], m["sid"], m["effect"]) == ("resource", 0, "RoleMayDescribe", "Allow"), m'
check "simulate fills aws:PrincipalArn with the role ARN for a role session" \
	json_ok 'assert d["request"]["context"]["aws:PrincipalArn"] == ["arn:aws:iam::111122223333:role/orders-task"], d["request"]'

run "$TG" policy simulate --identity "$tmp/tags.json" --principal "$USER" --action ecs:TagResource \
	--context aws:TagKeys=env --context aws:TagKeys=owner
check "simulate --context repeated makes a multi-valued key (every value in the set: allowed)" status_is 0
run "$TG" policy simulate --identity "$tmp/tags.json" --principal "$USER" --action ecs:TagResource \
	--context aws:TagKeys=env --context aws:TagKeys=secret
check "simulate --context multi-valued key with a value outside the set is denied" status_is 3
run "$TG" policy simulate --json --identity "$tmp/tags.json" --principal "$USER" --action ecs:UntagResource --context-empty aws:TagKeys
check "simulate --context-empty gives a present but empty key (ForAnyValue fails)" \
	eval 'status_is 3 && json_ok "assert d[\"request\"][\"context\"][\"aws:TagKeys\"] == []"'
run "$TG" policy simulate --identity "$tmp/tags.json" --principal "$USER" --action ecs:TagResource --context-empty aws:TagKeys
check "simulate --context-empty key passes ForAllValues" status_is 0
run "$TG" policy simulate --identity "$tmp/tags.json" --principal "$USER" --action ecs:TagResource \
	--context-empty aws:TagKeys --context aws:TagKeys=env
check "simulate refuses a key given both empty and with values (exit 2)" status_is 2

run "$TG" policy simulate --identity "$tmp/id.json" --scp "$tmp/scp-root.json:0" --scp "$tmp/scp-ou.json:1" \
	--principal "$USER" --action ecs:RunTask
check "simulate --scp FILE:LEVEL denies when a lower level allows nothing" \
	eval 'status_is 3 && has "decided by: scp policy (level 1)"'
run "$TG" policy simulate --identity "$tmp/id.json" --scp "$tmp/scp-root.json:0" --scp "$tmp/scp-ou.json:1" \
	--principal "$USER" --action ecs:DescribeClusters --resource "$DEV"
check "simulate --scp at two levels allows what every level allows" status_is 0

run "$TG" policy simulate --trust "$tmp/trust.json" --principal ecs-tasks.amazonaws.com \
	--action sts:AssumeRole --resource arn:aws:iam::111122223333:role/orders-task
check "simulate takes a service principal against a trust policy" status_is 0
run "$TG" policy simulate --trust "$tmp/trust.json" --principal lambda.amazonaws.com \
	--action sts:AssumeRole --resource arn:aws:iam::111122223333:role/orders-task
check "simulate denies a service the trust policy does not name" status_is 3

run "$TG" policy simulate --identity "$tmp/id.json" --principal "$USER"
check "simulate without --action is a usage error (exit 2)" eval 'status_is 2 && has_err "--action is required"'
run "$TG" policy simulate --identity "$tmp/id.json" --principal "$USER" --action ecs:RunTask --frobnicate
check "simulate with an unknown option is a usage error (exit 2)" status_is 2
run "$TG" policy simulate --identity "$tmp/id.json" --principal "not an arn" --action ecs:RunTask
check "simulate with an unreadable principal is a usage error (exit 2)" status_is 2
run "$TG" policy simulate --identity "$tmp/typo.json" --principal "$USER" --action ecs:RunTask
check "simulate with an invalid policy exits 1 and shows its error with the path" \
	eval 'status_is 1 && has_err "typo.json: error: Statement[1].Condition.StringLikee"'
run "$TG" policy simulate --identity "$tmp/absent.json" --principal "$USER" --action ecs:RunTask
check "simulate with an unreadable policy file exits 1" eval 'status_is 1 && has_err "absent.json: error: cannot open"'

run "$TG" policy frobnicate
check "an unknown policy subcommand is a usage error (exit 2)" status_is 2
run "$TG" policy --help
check "policy --help lists the subcommands" eval 'status_is 0 && has "validate" && has "simulate" && has "test"'
