#!/usr/bin/env bash
# tests/integration/test_taskcreds.sh - task credentials end to end: tasks
# started through the ECS API by the process driver run the real
# /usr/bin/aws and boto3 (/usr/bin/python3) with the environment taskgate
# gave them; the CLI finds its credentials on the task endpoint by itself
# (AWS_CONTAINER_CREDENTIALS_FULL_URI on 127.0.0.1 with an authorization
# token), is its task's assumed role, may do what the role allows and no
# more, and loses access the moment StopTask stops the task. Also: ECS's
# answers on the endpoint, one task's id or token never yielding another's
# credentials, renewal ahead of expiry (polled), task metadata v4, a role
# that does not trust ecs-tasks failing the start, and no secret in the log.
. "$(dirname "$0")/lib.sh"

AWS=/usr/bin/aws
PY=/usr/bin/python3
ACCT=111122223333
REGION=us-east-1
W="$TG_TMP/w"
mkdir -p "$W/secrets" "$W/a" "$W/b"
out="$W/out"
err="$W/err"
rc=0

(umask 077 && { printf 'taskgate-master-key v1\n'; "$OPENSSL" rand -base64 32; } >"$W/master.key")
(umask 077 && "$OPENSSL" rand -base64 30 >"$W/secrets/admin")
TRUST_ECS='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
cat >"$W/iam.json" <<EOF
{
  "account_id": "$ACCT",
  "users": [
    {"name": "admin",
     "inline_policies": {"all": {"Version": "2012-10-17", "Statement": [
       {"Effect": "Allow", "Action": ["ecs:*", "iam:PassRole"], "Resource": "*"}]}},
     "access_keys": [{"id": "AKIATASKCREDADMIN001", "secret_file": "secrets/admin"}]}
  ],
  "roles": [
    {"name": "app", "trust_policy": $TRUST_ECS,
     "inline_policies": {"read": {"Version": "2012-10-17", "Statement": [
       {"Effect": "Allow", "Action": ["ecs:ListClusters", "ecs:DescribeClusters"], "Resource": "*"}]}}},
    {"name": "ec2-only", "trust_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
      "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}
  ]
}
EOF
"$TASKGATE" iam apply "$W/iam.json" --store "$TG_DB" --master-key "$W/master.key" >"$out" 2>"$err" ||
	tg_abort "the test's IAM file applies" "$(cat "$err")"

# lifetime 900 s, renewed when less than 890 s are left: a fetch 10 s after
# issuance gets new credentials
tg_config "\"account_id\": \"$ACCT\", \"region\": \"$REGION\", \"master_key\": \"$W/master.key\",
  \"iam\": {\"refresh_ms\": 200},
  \"scheduler\": {\"driver\": \"process\", \"tick_ms\": 200, \"run_dir\": \"$W/tasks\"},
  \"task_credentials\": {\"uri\": \"full\", \"authorization_token\": true,
                         \"lifetime_s\": 900, \"renew_before_s\": 890}" >"$W/config.json"
tg_start "$W/config.json" || tg_abort "the gateway starts with the process driver"
[ -n "$TG_TASK_PORT" ] || tg_abort "the log names the task endpoint's port"
TE="http://127.0.0.1:$TG_TASK_PORT"

as_admin() {
	env -i PATH=/usr/bin:/bin HOME="$W" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_ACCESS_KEY_ID=AKIATASKCREDADMIN001 AWS_SECRET_ACCESS_KEY="$(cat "$W/secrets/admin")" \
		AWS_DEFAULT_REGION="$REGION" AWS_CA_BUNDLE="$TG_CERTS/ca.crt" AWS_MAX_ATTEMPTS=1 AWS_PAGER="" \
		"$AWS" --endpoint-url "$TG_URL" --output json "$@" >"$out" 2>"$err"
	rc=$?
}
# wait_for FILE: polls (up to 60 s) until FILE exists
wait_for() {
	local i
	for i in $(seq 1 600); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- what runs inside the task: only the CLI, boto3 and curl ----
cat >"$W/task.sh" <<'EOF'
#!/bin/sh
# Runs in the task with the environment taskgate gave it (plus the definition's
# AWS_CA_BUNDLE, API and OUT); no credentials of its own.
cd "$OUT" || exit 1
env | sort >env.txt
aws() { /usr/bin/aws --endpoint-url "$API" --output json "$@"; }
aws sts get-caller-identity >whoami.json 2>whoami.err; echo $? >whoami.rc
aws ecs list-clusters >allowed.json 2>allowed.err; echo $? >allowed.rc; cp allowed.err /tmp/tc-allowed.err
aws ecs list-task-definitions >denied.json 2>denied.err; echo $? >denied.rc
/usr/bin/python3 - >boto3.json 2>boto3.err <<'PY'
import json, os, boto3
s = boto3.session.Session()
print(json.dumps(s.client("sts", endpoint_url=os.environ["API"]).get_caller_identity()["Arn"]))
PY
echo $? >boto3.rc
/usr/bin/curl -s -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" \
	"$AWS_CONTAINER_CREDENTIALS_FULL_URI" >creds.json
touch done
exec sleep 600
EOF
chmod 755 "$W/task.sh"

mk_taskdef() { # FAMILY ROLE OUTDIR
	cat >"$W/td-$1.json" <<EOF
{"family": "$1", "networkMode": "host", "taskRoleArn": "arn:aws:iam::$ACCT:role/$2",
 "containerDefinitions": [{"name": "main", "image": "local", "cpu": 64, "memory": 512,
   "essential": true, "command": ["/bin/sh", "$W/task.sh"],
   "environment": [{"name": "OUT", "value": "$3"}, {"name": "API", "value": "$TG_URL"},
                   {"name": "AWS_CA_BUNDLE", "value": "$TG_CERTS/ca.crt"},
                   {"name": "AWS_CONFIG_FILE", "value": "/dev/null"},
                   {"name": "AWS_SHARED_CREDENTIALS_FILE", "value": "/dev/null"}]}]}
EOF
	as_admin ecs register-task-definition --cli-input-json "file://$W/td-$1.json"
}

as_admin ecs create-cluster --cluster-name prod
as_admin ecs register-container-instance --cluster prod \
	--total-resources name=CPU,type=INTEGER,integerValue=1024 name=MEMORY,type=INTEGER,integerValue=4096
expect "a container instance is registered in prod" is "$rc" 0
mk_taskdef app-a app "$W/a"
mk_taskdef app-b app "$W/b"
mk_taskdef untrusted ec2-only "$W/none"

as_admin ecs run-task --cluster prod --task-definition app-a
ta=$(j 'j["tasks"][0]["taskArn"]')
ta_id=${ta##*/}
as_admin ecs run-task --cluster prod --task-definition app-b
tb=$(j 'j["tasks"][0]["taskArn"]')
wait_for "$W/a/done" && wait_for "$W/b/done"
expect "both tasks ran their script to the end" test -e "$W/a/done" -a -e "$W/b/done"

# ---- the environment ----
envv() { sed -n "s/^$2=//p" "$W/$1/env.txt"; }
full_a=$(envv a AWS_CONTAINER_CREDENTIALS_FULL_URI)
tok_a=$(envv a AWS_CONTAINER_AUTHORIZATION_TOKEN)
full_b=$(envv b AWS_CONTAINER_CREDENTIALS_FULL_URI)
tok_b=$(envv b AWS_CONTAINER_AUTHORIZATION_TOKEN)
check "the task got AWS_CONTAINER_CREDENTIALS_FULL_URI on the task endpoint" \
	sh -c "echo '$full_a' | grep -Eq '^$TE/v2/credentials/[0-9a-f]{32}\$'"
check "the task got a 43-character AWS_CONTAINER_AUTHORIZATION_TOKEN" test "${#tok_a}" = 43
check "ECS_CONTAINER_METADATA_URI_V4 and ECS_CONTAINER_METADATA_URI are set" \
	sh -c "grep -q '^ECS_CONTAINER_METADATA_URI_V4=$TE/v4/' '$W/a/env.txt' && grep -q '^ECS_CONTAINER_METADATA_URI=$TE/v3/' '$W/a/env.txt'"
check "AWS_REGION, AWS_DEFAULT_REGION and AWS_EXECUTION_ENV are set as the agent sets them" \
	sh -c "[ '$(envv a AWS_REGION)' = $REGION ] && [ '$(envv a AWS_DEFAULT_REGION)' = $REGION ] && [ '$(envv a AWS_EXECUTION_ENV)' = AWS_ECS_EC2 ]"
check "no access key is in the task's environment" sh -c "! grep -q '^AWS_ACCESS_KEY_ID=' '$W/a/env.txt'"

# ---- the CLI inside the task ----
check "aws sts get-caller-identity inside the task succeeds" grep -qx 0 "$W/a/whoami.rc"
check "... and names the task's assumed role session" \
	is "$(tg_json "$W/a/whoami.json" 'j["Arn"]')" "arn:aws:sts::$ACCT:assumed-role/app/$ta_id"
check "boto3 inside the task finds the same identity by itself" \
	is "$(tg_json "$W/a/boto3.json" 'j')" "arn:aws:sts::$ACCT:assumed-role/app/$ta_id"
check "an ECS call the role allows succeeds (list-clusters)" grep -qx 0 "$W/a/allowed.rc"
check "an ECS call the role does not allow is denied (list-task-definitions)" \
	sh -c "! grep -qx 0 '$W/a/denied.rc' && grep -q AccessDeniedException '$W/a/denied.err'"

# ---- the endpoint itself ----
curl_te() { "$CURL" -sS --max-time 10 "$@"; }
code=$(curl_te -o "$out" -w '%{http_code}' -H "Authorization: $tok_a" "$full_a")
expect "the endpoint serves the task's credentials with ECS's five keys" \
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if sys.argv[2]=="200" and sorted(d)==["AccessKeyId","Expiration","RoleArn","SecretAccessKey","Token"] and d["AccessKeyId"].startswith("ASIA") else 1)' "$out" "$code"
code=$(curl_te -o "$out" -w '%{http_code}' -H "Authorization: $tok_b" "$full_a")
expect "task B's token does not open task A's credentials (403 AccessDenied)" \
	sh -c "[ $code = 403 ] && grep -q AccessDenied '$out'"
code=$(curl_te -o "$out" -w '%{http_code}' "$full_a")
expect "without the token the endpoint refuses" is "$code" 403
code=$(curl_te -o "$out" -w '%{http_code}' -H "Authorization: $tok_a" "$TE/v2/credentials/0123456789abcdef0123456789abcdef")
expect "an unknown id is 400 InvalidIdInRequest with the agent's message" \
	sh -c "[ $code = 400 ] && grep -q '\"code\":\"InvalidIdInRequest\"' '$out' && grep -q 'CredentialsV2Request: Credentials not found' '$out'"
code=$(curl_te -o "$out" -w '%{http_code}' "$TE/v2/credentials/")
expect "no id is 400 NoIdInRequest" sh -c "[ $code = 400 ] && grep -q NoIdInRequest '$out'"
id_a=${full_a##*/}
code=$(curl_te -o "$out" -w '%{http_code}' -H "Authorization: $tok_a" "$TE/v1/credentials?id=$id_a")
expect "the v1 form serves the same credentials" sh -c "[ $code = 200 ] && grep -q AccessKeyId '$out'"

# ---- metadata v4 ----
meta=$(envv a ECS_CONTAINER_METADATA_URI_V4)
curl_te -o "$out" "$meta/task"
expect "task metadata names the cluster, task ARN, family and revision" \
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["TaskARN"]==sys.argv[2] and d["Cluster"].endswith(":cluster/prod") and d["Family"]=="app-a" and d["Revision"]=="1" and d["Containers"][0]["Name"]=="main" else 1)' "$out" "$ta"
curl_te -o "$out" "$meta"
expect "container metadata names the container and its status" \
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["Name"]=="main" and d["KnownStatus"] in ("RUNNING","PENDING") else 1)' "$out"

# ---- stats and runtime ids: the process driver reads /proc ----
rid_a="$ta_id-main"
expect "container metadata's DockerId is the process driver's runtime id <task id>-<container>" \
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["DockerId"]==sys.argv[2] else 1)' "$out" "$rid_a"
as_admin ecs describe-tasks --cluster prod --tasks "$ta"
expect "describe-tasks gives the container the same runtimeId" is "$(j 'j["tasks"][0]["containers"][0].get("runtimeId")')" "$rid_a"
curl_te -o "$out" "$meta/stats"
expect "the container's /stats has its processes, CPU and memory in Docker's shape" \
	"$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))
ok = (d["id"] == sys.argv[2] and d["name"] == "/main" and d["pids_stats"]["current"] >= 1
      and d["memory_stats"]["usage"] > 0 and d["memory_stats"]["limit"] == 512 * 1024 * 1024
      and d["cpu_stats"]["cpu_usage"]["total_usage"] > 0 and d["cpu_stats"]["system_cpu_usage"] > 0
      and d["cpu_stats"]["online_cpus"] >= 1 and d["read"].endswith("Z"))
sys.exit(0 if ok else 1)' "$out" "$rid_a"
read1=$(j 'j["read"]')
curl_te -o "$out" "$meta/task/stats"
expect "the task's /task/stats maps the runtime id to the stats, the last read as precpu_stats" \
	"$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))
s = d[sys.argv[2]]
sys.exit(0 if list(d) == [sys.argv[2]] and s["preread"] == sys.argv[3] and s["precpu_stats"]["cpu_usage"]["total_usage"] > 0 else 1)' "$out" "$rid_a" "$read1"

# ---- renewal: polled, not slept ----
first=$(tg_json "$W/a/creds.json" 'j["AccessKeyId"]')
renewed=""
for i in $(seq 1 300); do
	curl_te -o "$out" -H "Authorization: $tok_a" "$full_a"
	k=$(j 'j["AccessKeyId"]')
	if [ -n "$k" ] && [ "$k" != "$first" ]; then renewed=$k; break; fi
	sleep 0.1
done
check "credentials are renewed ahead of expiry (renew_before_s)" test -n "$renewed"
check "the renewed credentials still expire in the future" \
	"$PY" -c 'import json,sys,datetime; d=json.load(open(sys.argv[1])); e=datetime.datetime.strptime(d["Expiration"],"%Y-%m-%dT%H:%M:%SZ"); sys.exit(0 if e>datetime.datetime.utcnow() else 1)' "$out"

# ---- StopTask: revoked at once ----
cp "$out" "$W/a/creds-now.json"
with_creds() { # FILE aws ARGS...: the CLI with the credentials in FILE
	local f=$1
	shift
	env -i PATH=/usr/bin:/bin HOME="$W" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_ACCESS_KEY_ID="$(tg_json "$f" 'j["AccessKeyId"]')" \
		AWS_SECRET_ACCESS_KEY="$(tg_json "$f" 'j["SecretAccessKey"]')" \
		AWS_SESSION_TOKEN="$(tg_json "$f" 'j["Token"]')" \
		AWS_DEFAULT_REGION="$REGION" AWS_CA_BUNDLE="$TG_CERTS/ca.crt" AWS_MAX_ATTEMPTS=1 AWS_PAGER="" \
		"$AWS" --endpoint-url "$TG_URL" --output json "$@" >"$out" 2>"$err"
	rc=$?
}
with_creds "$W/a/creds-now.json" sts get-caller-identity
expect "before StopTask the task's credentials work from outside too" is "$rc" 0
as_admin ecs stop-task --cluster prod --task "$ta"
with_creds "$W/a/creds-now.json" sts get-caller-identity
expect "after StopTask the same credentials are refused at once" \
	sh -c "[ $rc != 0 ] && grep -Eq 'InvalidClientTokenId|ExpiredToken' '$err'"
with_creds "$W/a/creds.json" ecs list-clusters
expect "the first credentials of the task are refused too" \
	sh -c "[ $rc != 0 ] && grep -Eq 'InvalidClientTokenId|ExpiredToken|UnrecognizedClient' '$err'"
code=$(curl_te -o "$out" -w '%{http_code}' -H "Authorization: $tok_a" "$full_a")
expect "the endpoint answers InvalidIdInRequest for the stopped task's id" \
	sh -c "[ $code = 400 ] && grep -q InvalidIdInRequest '$out'"
code=$(curl_te -o "$out" -w '%{http_code}' -H "Authorization: $tok_b" "$full_b")
expect "the other task's credentials are still served" is "$code" 200

# ---- a role that does not trust ecs-tasks.amazonaws.com ----
as_admin ecs run-task --cluster prod --task-definition untrusted
tu=$(j 'j["tasks"][0]["taskArn"]')
as_admin ecs wait tasks-stopped --cluster prod --tasks "$tu"
as_admin ecs describe-tasks --cluster prod --tasks "$tu"
ucode=$(j 'j["tasks"][0]["stopCode"]')
ureason=$(j 'j["tasks"][0]["stoppedReason"]')
expect "a task whose role does not trust ecs-tasks stops with TaskFailedToStart naming the trust policy" \
	sh -c '[ "$1" = TaskFailedToStart ] && case "$2" in *ecs-tasks.amazonaws.com*) true ;; *) false ;; esac' _ "$ucode" "$ureason"

# ---- nothing secret in the log ----
sec=$(tg_json "$W/a/creds.json" 'j["SecretAccessKey"]')
tokv=$(tg_json "$W/a/creds.json" 'j["Token"]')
check "no secret key, session token, credentials id or authorization token is in the log" \
	sh -c "! grep -qF -e '$sec' -e '$tokv' -e '$id_a' -e '$tok_a' '$TG_LOG'"
nrec=$(tg_sql "SELECT count(*) FROM audit_events WHERE record LIKE '%\"GetTaskCredentials\"%'")
check "every fetch left a GetTaskCredentials audit record" test "${nrec:-0}" -gt 5
nrev=$(tg_sql "SELECT count(*) FROM audit_events WHERE record LIKE '%\"RevokeTaskCredentials\"%'")
check "StopTask left a RevokeTaskCredentials audit record" test "${nrev:-0}" -ge 1

as_admin ecs stop-task --cluster prod --task "$tb"
tg_stop TERM
check "the gateway stops cleanly" test "$TG_EXIT" = 0
tg_done
