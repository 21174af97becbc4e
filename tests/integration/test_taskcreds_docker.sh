#!/usr/bin/env bash
# tests/integration/test_taskcreds_docker.sh - task credentials and metadata
# for real containers: a gateway with the docker driver, a real dockerd with
# its default bridge, and the link-local mapping of docs/task-credentials.md
# (169.254.170.2:80 -> the task endpoint, the ECS agent's rule), all inside a
# network namespace the test makes, so nothing touches the machine's network.
#
# A container on the bridge fetches its role's credentials and its metadata
# from http://169.254.170.2 with the relative URI taskgate put in its
# environment, as an SDK in it would; the test then signs with those
# credentials and is the task's assumed role; StopTask revokes them. The
# cluster is the gateway's own host registered as a container instance
# (scheduler.local_instance), so run-task needs no --cluster.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dockerd.sh"

AWS=/usr/bin/aws
ACCT=111122223333
REGION=us-east-1
IMAGE=taskgate-test/busybox:1
W="$TG_TMP/w"
mkdir -p "$W/secrets"
out="$W/out"
err="$W/err"
rc=0

dk_start netns
ok "dockerd runs in a network namespace of the test's own, with a bridge"
check "the busybox image is imported offline" dk_image "$IMAGE"

(umask 077 && { printf 'taskgate-master-key v1\n'; "$OPENSSL" rand -base64 32; } >"$W/master.key")
(umask 077 && "$OPENSSL" rand -base64 30 >"$W/secrets/admin")
cat >"$W/iam.json" <<EOF
{
  "account_id": "$ACCT",
  "users": [
    {"name": "admin",
     "inline_policies": {"all": {"Version": "2012-10-17", "Statement": [
       {"Effect": "Allow", "Action": ["ecs:*", "iam:PassRole"], "Resource": "*"}]}},
     "access_keys": [{"id": "AKIATASKDOCKERADMIN1", "secret_file": "secrets/admin"}]}
  ],
  "roles": [
    {"name": "app", "trust_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
       "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
     "inline_policies": {"read": {"Version": "2012-10-17", "Statement": [
       {"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]}}}
  ]
}
EOF
"$TASKGATE" iam apply "$W/iam.json" --store "$TG_DB" --master-key "$W/master.key" >"$out" 2>"$err" ||
	tg_abort "the test's IAM file applies" "$(cat "$err")"

tg_config "\"account_id\": \"$ACCT\", \"region\": \"$REGION\", \"master_key\": \"$W/master.key\",
  \"scheduler\": {\"driver\": \"docker\", \"docker_socket\": \"$DK_SOCK\", \"tick_ms\": 200,
                  \"stop_timeout_s\": 5, \"local_instance\": [\"default\"]}" >"$W/config.json"
# The gateway runs in dockerd's namespace: its API and task endpoint listen
# on that namespace's loopback, where the mapping below sends containers.
TG_WRAP=("$NSENTER" "--net=/run/netns/$DK_NETNS")
tg_start "$W/config.json" || tg_abort "the gateway starts with the docker driver in the namespace"
[ -n "$TG_TASK_PORT" ] || tg_abort "the log names the task endpoint's port"

# The ECS agent's mapping for bridge networks (docs/task-credentials.md), in
# the namespace only.
dk_net /usr/sbin/sysctl -qw net.ipv4.conf.all.route_localnet=1 &&
	dk_net /usr/sbin/iptables -t nat -A PREROUTING -p tcp -d 169.254.170.2 --dport 80 \
		-j DNAT --to-destination "127.0.0.1:$TG_TASK_PORT" ||
	tg_abort "the link-local mapping is installed in the namespace"

# aws_as KEY SECRET [TOKEN] ARGS...: /usr/bin/aws in the namespace.
aws_as() {
	local id=$1 sec=$2 tok=$3
	shift 3
	dk_net env -i PATH=/usr/bin:/bin HOME="$W" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_ACCESS_KEY_ID="$id" AWS_SECRET_ACCESS_KEY="$sec" ${tok:+AWS_SESSION_TOKEN="$tok"} \
		AWS_DEFAULT_REGION="$REGION" AWS_CA_BUNDLE="$TG_CERTS/ca.crt" AWS_MAX_ATTEMPTS=1 AWS_PAGER="" \
		"$AWS" --endpoint-url "$TG_URL" --output json "$@" >"$out" 2>"$err"
	rc=$?
}
as_admin() { aws_as AKIATASKDOCKERADMIN1 "$(cat "$W/secrets/admin")" "" "$@"; }

as_admin ecs list-container-instances
expect "the gateway's host is the default cluster's container instance" is "$(j 'len(j["containerInstanceArns"])')" 1

# What an SDK in the container does, with busybox's wget: the relative URI
# under 169.254.170.2, then the metadata v4 URI. One line each on stdout.
cat >"$W/td.json" <<EOF
{"family": "fetcher", "taskRoleArn": "arn:aws:iam::$ACCT:role/app", "networkMode": "bridge",
 "containerDefinitions": [{"name": "app", "image": "$IMAGE", "memory": 32, "essential": true,
   "command": ["/bin/sh", "-c",
     "echo CREDS \$(wget -qO- http://169.254.170.2\$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI); echo META \$(wget -qO- \$ECS_CONTAINER_METADATA_URI_V4); echo FETCHED; trap 'exit 0' TERM; sleep 600 & wait"]}]}
EOF
as_admin ecs register-task-definition --cli-input-json "file://$W/td.json"
expect "a definition with a task role registers" is "$rc" 0
as_admin ecs run-task --task-definition fetcher
task=$(j 'j["tasks"][0]["taskArn"]')
expect "run-task without --cluster starts the task on the gateway's host" is "$(j 'len(j["tasks"])')" 1
as_admin ecs wait tasks-running --tasks "$task"
expect "the container runs" is "$rc" 0

cid=$(dk ps -q --no-trunc --filter "label=com.amazonaws.ecs.task-arn=$task")
fetched() { dk logs "$cid" 2>/dev/null | grep -qx FETCHED; }
for _ in $(seq 1 100); do fetched && break; sleep 0.2; done
dk logs "$cid" >"$W/logs" 2>&1
sed -n 's/^CREDS //p' "$W/logs" >"$W/creds.json"
sed -n 's/^META //p' "$W/logs" >"$W/meta.json"
dk inspect "$cid" >"$W/inspect.json"

expect "the container's environment has the relative credentials URI and the metadata URI on 169.254.170.2" \
	"$PYTHON" -c 'import json,sys
env = dict(e.split("=", 1) for e in json.load(open(sys.argv[1]))[0]["Config"]["Env"])
ok = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "").startswith("/v2/credentials/") \
    and env.get("ECS_CONTAINER_METADATA_URI_V4", "").startswith("http://169.254.170.2/v4/") \
    and env.get("AWS_REGION") == "us-east-1" and "AWS_SECRET_ACCESS_KEY" not in env
sys.exit(0 if ok else 1)' "$W/inspect.json"
expect "from the bridge, 169.254.170.2 answers the container its role's credentials" \
	"$PYTHON" -c 'import json,sys
c = json.load(open(sys.argv[1]))
sys.exit(0 if c["AccessKeyId"].startswith("ASIA") and c["RoleArn"] == "arn:aws:iam::111122223333:role/app"
         and c["SecretAccessKey"] and c["Token"] and c["Expiration"] else 1)' "$W/creds.json"
expect "and its metadata: this container, with the engine's id and the task's labels" \
	"$PYTHON" -c 'import json,sys
m = json.load(open(sys.argv[1]))
sys.exit(0 if m["DockerId"] == sys.argv[2] and m["Name"] == "app"
         and m["Labels"]["com.amazonaws.ecs.task-arn"] == sys.argv[3] else 1)' "$W/meta.json" "$cid" "$task"

key=$(tg_json "$W/creds.json" 'j["AccessKeyId"]')
sec=$(tg_json "$W/creds.json" 'j["SecretAccessKey"]')
tok=$(tg_json "$W/creds.json" 'j["Token"]')
aws_as "$key" "$sec" "$tok" sts get-caller-identity
expect "signing with what the container got, the caller is the task's assumed role" \
	is "$(j 'j["Arn"]')" "arn:aws:sts::$ACCT:assumed-role/app/${task##*/}"
aws_as "$key" "$sec" "$tok" ecs list-clusters
expect "the role's policy allows ListClusters" is "$rc" 0
aws_as "$key" "$sec" "$tok" ecs list-task-definitions
expect "and nothing it does not grant" grep -qF "AccessDeniedException" "$err"

as_admin ecs stop-task --task "$task"
as_admin ecs wait tasks-stopped --tasks "$task"
aws_as "$key" "$sec" "$tok" sts get-caller-identity
expect "after StopTask the task's credentials are refused" is "$rc" 254
rel=$("$PYTHON" -c 'import json,sys
env = dict(e.split("=", 1) for e in json.load(open(sys.argv[1]))[0]["Config"]["Env"])
print(env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"])' "$W/inspect.json")
code=$(dk_net "$CURL" -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$TG_TASK_PORT$rel")
expect "and the endpoint no longer serves them (HTTP $code)" test "$code" -ge 400 -a "$code" -lt 500

expect "no secret the container fetched is in the gateway's log" sh -c "! grep -qF '$sec' '$TG_LOG'"
tg_stop TERM
expect "the gateway stops cleanly" is "$TG_EXIT" 0
tg_done
