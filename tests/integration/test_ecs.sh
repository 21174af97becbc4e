#!/usr/bin/env bash
# tests/integration/test_ecs.sh - the ECS API end to end: the real binary over
# TLS, users and access keys from an IAM file, and the real clients
# (/usr/bin/aws, boto3 under /usr/bin/python3, curl signing with SigV4).
#
# One suite, two hosts: ECS_DRIVER=process (the default) runs the tasks as
# local processes; ECS_DRIVER=docker (test_ecs_docker.sh) starts a real
# dockerd in a network namespace of its own, with a bridge, and runs them as
# containers of an image imported offline. Where the two must differ (how a
# container is killed from outside, where its published port is reached) the
# helpers below say so; every scenario and every expectation is the same.
#
# Covered: clusters, task definitions and revisions, two container instances
# and spread placement, RunTask/StartTask/DescribeTasks/ListTasks/StopTask with
# the CLI waiters, dynamic host ports that really carry traffic, a service kept
# at its count when its container is killed from outside, a rolling update, a
# restart of the gateway mid-service that neither loses nor duplicates tasks,
# tags, pagination, ECS error shapes, a policy that allows RunTask in one
# cluster only (honoured to the letter, nothing changed when denied) and
# iam:PassRole. Each check prints "ok - <sentence>" or "FAIL - <sentence>".
. "$(dirname "$0")/lib.sh"

ECS_DRIVER=${ECS_DRIVER:-process}
case "$ECS_DRIVER" in
process)
	IMAGE=busybox # the process driver runs the command; the image is not used
	;;
docker)
	. "$(dirname "$0")/dockerd.sh"
	dk_start netns
	ok "dockerd runs in a network namespace of the test's own, with a bridge"
	IMAGE=taskgate-test/busybox:1
	check "the busybox image is imported offline" dk_image "$IMAGE"
	;;
*) tg_abort "ECS_DRIVER is process or docker" "got: $ECS_DRIVER" ;;
esac

AWS=/usr/bin/aws
ACCT=111122223333
REGION=us-east-1
W="$TG_TMP/w"
mkdir -p "$W/secrets"
out="$W/out"
err="$W/err"
rc=0

# ---- identities: a master key, users, their keys ----
(umask 077 && { printf 'taskgate-master-key v1\n'; "$OPENSSL" rand -base64 32; } >"$W/master.key")
secret() { (umask 077 && "$OPENSSL" rand -base64 30 >"$W/secrets/$1"); }
secret admin
secret runner
secret nopass
secret denier
cat >"$W/iam.json" <<EOF
{
  "account_id": "$ACCT",
  "users": [
    {"name": "admin",
     "inline_policies": {"all": {"Version": "2012-10-17", "Statement": [
       {"Effect": "Allow", "Action": ["ecs:*", "iam:PassRole"], "Resource": "*"}]}},
     "access_keys": [{"id": "AKIAECSADMIN00000001", "secret_file": "secrets/admin"}]},
    {"name": "runner",
     "inline_policies": {"dev-only": {"Version": "2012-10-17", "Statement": [
       {"Sid": "RunInDev", "Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*",
        "Condition": {"ArnEquals": {"ecs:cluster": "arn:aws:ecs:$REGION:$ACCT:cluster/dev"}}},
       {"Effect": "Allow", "Action": ["ecs:Describe*", "ecs:List*"], "Resource": "*"}]}},
     "access_keys": [{"id": "AKIAECSRUNNER0000001", "secret_file": "secrets/runner"}]},
    {"name": "nopass",
     "inline_policies": {"ecs": {"Version": "2012-10-17", "Statement": [
       {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]}},
     "access_keys": [{"id": "AKIAECSNOPASS0000001", "secret_file": "secrets/nopass"}]},
    {"name": "denier",
     "inline_policies": {"ecs-but": {"Version": "2012-10-17", "Statement": [
       {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
       {"Sid": "NoRunTaskOutsideDev", "Effect": "Deny", "Action": "ecs:RunTask", "Resource": "*",
        "Condition": {"ArnNotEquals": {"ecs:cluster": "arn:aws:ecs:$REGION:$ACCT:cluster/dev"}}}]}},
     "access_keys": [{"id": "AKIAECSDENIER0000001", "secret_file": "secrets/denier"}]}
  ]
}
EOF
"$TASKGATE" iam apply "$W/iam.json" --store "$TG_DB" --master-key "$W/master.key" >"$out" 2>"$err" ||
	tg_abort "the test's IAM file applies" "$(cat "$err")"

case "$ECS_DRIVER" in
process) sched="\"driver\": \"process\", \"run_dir\": \"$W/tasks\"" ;;
docker) sched="\"driver\": \"docker\", \"docker_socket\": \"$DK_SOCK\"" ;;
esac
tg_config "\"account_id\": \"$ACCT\", \"region\": \"$REGION\", \"master_key\": \"$W/master.key\",
  \"scheduler\": {$sched, \"tick_ms\": 200, \"stop_timeout_s\": 5}" >"$W/config.json"
tg_start "$W/config.json" || tg_abort "the gateway starts with the $ECS_DRIVER driver"

# as USER aws ARGS...: the AWS CLI signed with USER's key; stdout in $out,
# stderr in $err, status in $rc. No config files, no retries, no pager.
as() {
	local user=$1
	shift
	local id
	case "$user" in
	admin) id=AKIAECSADMIN00000001 ;;
	runner) id=AKIAECSRUNNER0000001 ;;
	nopass) id=AKIAECSNOPASS0000001 ;;
	denier) id=AKIAECSDENIER0000001 ;;
	esac
	env -i PATH=/usr/bin:/bin HOME="$W" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_ACCESS_KEY_ID="$id" AWS_SECRET_ACCESS_KEY="$(cat "$W/secrets/$user")" \
		AWS_DEFAULT_REGION="$REGION" AWS_CA_BUNDLE="$TG_CERTS/ca.crt" AWS_MAX_ATTEMPTS=1 \
		AWS_RETRY_MODE=standard AWS_PAGER="" \
		"$AWS" --endpoint-url "$TG_URL" --output json "$@" >"$out" 2>"$err"
	rc=$?
}




# kill_task ARN: the task's containers die from outside, by SIGKILL, as an
# out-of-memory kill or a crash would end them: `docker kill` on the engine,
# kill(1) on the processes the process driver recorded in its state file.
kill_task() {
	case "$ECS_DRIVER" in
	docker)
		local ids
		ids=$(dk ps -q --filter "label=com.amazonaws.ecs.task-arn=$1")
		[ -n "$ids" ] || return 1
		# shellcheck disable=SC2086
		dk kill $ids >/dev/null
		;;
	process)
		local pids
		pids=$(tg_json "$W/tasks/tasks/${1##*/}/state.json" '" ".join(str(c["pid"]) for c in j["containers"])') ||
			return 1
		# shellcheck disable=SC2086
		kill -KILL $pids
		;;
	esac
}

# host_live: how many of the tasks' containers are alive on the host, asked
# of the host itself (the engine, or the kernel for the recorded pids).
host_live() {
	case "$ECS_DRIVER" in
	docker) dk ps -q --filter label=taskgate.managed=true | wc -l ;;
	process)
		"$PYTHON" -c 'import glob, json, os, sys
n = 0
for f in glob.glob(os.path.join(sys.argv[1], "tasks", "*", "state.json")):
    for c in json.load(open(f))["containers"]:
        ended = os.path.exists(os.path.join(os.path.dirname(f), c["name"], "exit"))
        n += c["pid"] > 0 and os.path.exists("/proc/%d" % c["pid"]) and not ended
print(n)' "$W/tasks"
		;;
	esac
}

# host_curl URL: curl from where the published ports are: dockerd's network
# namespace, or this one for the process driver.
host_curl() {
	case "$ECS_DRIVER" in
	docker) dk_net "$CURL" -sS --max-time 3 "$@" ;;
	process) "$CURL" -sS --max-time 3 "$@" ;;
	esac
}

# ---- clusters ----
as admin ecs create-cluster --cluster-name dev --tags key=env,value=dev
expect "create-cluster answers the cluster with its long ARN" \
	is "$(j 'j["cluster"]["clusterArn"]')" "arn:aws:ecs:$REGION:$ACCT:cluster/dev"
as admin ecs create-cluster --cluster-name prod
expect "a second cluster is created" is "$rc" 0
as admin ecs describe-clusters --clusters dev nope --include TAGS
expect "describe-clusters reports an unknown cluster in failures as MISSING" \
	is "$(j '[f["reason"] for f in j["failures"]]')" '["MISSING"]'
expect "describe-clusters shows tags when include names TAGS" \
	is "$(j 'j["clusters"][0]["tags"]')" '[{"key": "env", "value": "dev"}]'

# ---- task definitions ----
# The shell exits on SIGTERM (as PID 1 in a container it would ignore it).
cat >"$W/td.json" <<EOF
{"family": "sleeper", "networkMode": "bridge",
 "containerDefinitions": [{"name": "main", "image": "$IMAGE", "cpu": 128, "memory": 64,
   "essential": true, "command": ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 120 & wait"],
   "portMappings": [{"containerPort": 8080, "hostPort": 0}],
   "environment": [{"name": "DB_PASSWORD", "value": "hunter2-in-env"}]}]}
EOF
as admin ecs register-task-definition --cli-input-json "file://$W/td.json"
expect "register-task-definition makes revision 1" \
	is "$(j 'j["taskDefinition"]["taskDefinitionArn"]')" "arn:aws:ecs:$REGION:$ACCT:task-definition/sleeper:1"
as admin ecs register-task-definition --cli-input-json "file://$W/td.json"
expect "registering the family again makes revision 2" is "$(j 'j["taskDefinition"]["revision"]')" 2
as admin ecs describe-task-definition --task-definition sleeper
expect "a family alone describes its latest revision" is "$(j 'j["taskDefinition"]["revision"]')" 2
as admin ecs list-task-definition-families
expect "list-task-definition-families lists the family" is "$(j 'j["families"]')" '["sleeper"]'

# ---- container instances ----
for i in 1 2; do
	as admin ecs register-container-instance --cluster dev \
		--total-resources name=CPU,type=INTEGER,integerValue=1024 name=MEMORY,type=INTEGER,integerValue=512
	expect "register-container-instance $i answers an ACTIVE instance" \
		is "$(j 'j["containerInstance"]["status"]')" ACTIVE
done
as admin ecs list-container-instances --cluster dev
expect "list-container-instances lists both" is "$(j 'len(j["containerInstanceArns"])')" 2
as admin ecs register-container-instance --cluster prod \
	--total-resources name=CPU,type=INTEGER,integerValue=1024 name=MEMORY,type=INTEGER,integerValue=512
expect "prod has an instance too, so only policy can stop a task there" is "$rc" 0

# ---- tasks ----
as admin ecs run-task --cluster dev --task-definition sleeper:1 --count 2 \
	--placement-strategy type=spread,field=instanceId --started-by it-test
expect "run-task starts two tasks" is "$(j 'len(j["tasks"])')" 2
expect "spread by instanceId puts them on two instances" \
	is "$(j 'len(set(t["containerInstanceArn"] for t in j["tasks"]))')" 2
t1=$(j 'j["tasks"][0]["taskArn"]')
t2=$(j 'j["tasks"][1]["taskArn"]')
as admin ecs wait tasks-running --cluster dev --tasks "$t1" "$t2"
expect "the tasks-running waiter sees both RUNNING" is "$rc" 0
as admin ecs describe-tasks --cluster dev --tasks "$t1" "$t2" missing-task-id
expect "describe-tasks shows RUNNING with desiredStatus RUNNING" \
	is "$(j '[(t["lastStatus"], t["desiredStatus"]) for t in j["tasks"]]')" '[["RUNNING", "RUNNING"], ["RUNNING", "RUNNING"]]'
expect "an unknown task is a MISSING failure" is "$(j '[f["reason"] for f in j["failures"]]')" '["MISSING"]'
# runtimeId: the Docker container id (64 hex) on the engine, <task id>-<container> for the process driver
case "$ECS_DRIVER" in
docker) rt_want=$(dk inspect -f '{{.Id}}' "$(dk ps -q --filter "label=com.amazonaws.ecs.task-arn=$t1")") ;;
process) rt_want="${t1##*/}-$(j 'j["tasks"][0]["containers"][0]["name"]')" ;;
esac
expect "each running container has its runtimeId, the id its host knows it by" \
	is "$(j '[t["containers"][0].get("runtimeId", "") for t in j["tasks"] if t["taskArn"] == "'"$t1"'"][0]')" "$rt_want"
expect "hostPort 0 got a dynamic port from the ephemeral range" \
	"$PYTHON" -c 'import json,sys
j = json.load(open(sys.argv[1]))
ports = [b["hostPort"] for t in j["tasks"] for c in t["containers"] for b in c.get("networkBindings", [])]
sys.exit(0 if len(ports) == 2 and all(49153 <= p <= 65535 for p in ports) else 1)' "$out"
as admin ecs list-tasks --cluster dev --started-by it-test
expect "list-tasks finds both by startedBy" is "$(j 'len(j["taskArns"])')" 2
as admin ecs stop-task --cluster dev --task "$t1" --reason "test over"
expect "stop-task answers the task with desiredStatus STOPPED" is "$(j 'j["task"]["desiredStatus"]')" STOPPED
as admin ecs wait tasks-stopped --cluster dev --tasks "$t1"
expect "the tasks-stopped waiter sees it STOPPED" is "$rc" 0
as admin ecs describe-tasks --cluster dev --tasks "$t1"
expect "a stopped task has stopCode UserInitiated and the reason given" \
	is "$(j '[j["tasks"][0]["stopCode"], j["tasks"][0]["stoppedReason"]]')" '["UserInitiated", "test over"]'
as admin ecs stop-task --cluster dev --task "$t2"
as admin ecs wait tasks-stopped --cluster dev --tasks "$t2"
expect "once both are stopped nothing of theirs is alive on the host" is "$(host_live)" 0

# ---- a dynamic host port that carries traffic ----
# The process driver has no NAT: it tells the process its host port in
# TASKGATE_HOST_PORT_8080; in a container the server listens on 8080 and the
# engine publishes it on 127.0.0.1:<host port>.
cat >"$W/td-httpd.json" <<EOF
{"family": "httpd",
 "containerDefinitions": [{"name": "httpd", "image": "$IMAGE", "memory": 32, "essential": true,
   "stopTimeout": 2, "portMappings": [{"containerPort": 8080, "hostPort": 0}],
   "command": ["/bin/sh", "-c", "mkdir -p www && echo \$TOKEN >www/index.html && exec busybox httpd -f -p \${TASKGATE_HOST_PORT_8080:-8080} -h www"]}]}
EOF
as admin ecs register-task-definition --cli-input-json "file://$W/td-httpd.json"
# A token of this run, given through overrides: what answers on the port is
# this task, not some other program that happens to hold it.
token="served-by-$("$OPENSSL" rand -hex 8)"
as admin ecs run-task --cluster dev --task-definition httpd \
	--overrides "{\"containerOverrides\": [{\"name\": \"httpd\", \"environment\": [{\"name\": \"TOKEN\", \"value\": \"$token\"}]}]}"
th=$(j 'j["tasks"][0]["taskArn"]')
as admin ecs wait tasks-running --cluster dev --tasks "$th"
as admin ecs describe-tasks --cluster dev --tasks "$th"
hp=$(j 'j["tasks"][0]["containers"][0]["networkBindings"][0]["hostPort"]')
# bindIP is where the port is bound: the engine binds 127.0.0.1 (the
# driver's default); a process binds where it likes, so 0.0.0.0.
bind=0.0.0.0
[ "$ECS_DRIVER" = docker ] && bind=127.0.0.1
expect "the task's binding names container port 8080 on $bind over tcp" \
	is "$(j '[(b["containerPort"], b["bindIP"], b["protocol"]) for b in j["tasks"][0]["containers"][0]["networkBindings"]]')" \
	"[[8080, \"$bind\", \"tcp\"]]"
serves() { host_curl "http://127.0.0.1:$hp/index.html" 2>/dev/null | grep -qxF "$token"; }
expect "an HTTP request to 127.0.0.1 on the dynamic host port reaches the task" poll 20 serves
if [ "$ECS_DRIVER" = docker ]; then
	cid=$(dk ps -q --filter "label=com.amazonaws.ecs.task-arn=$th")
	dk inspect "$cid" >"$W/inspect.json"
	expect "the engine publishes exactly that port on 127.0.0.1, with the definition's memory limit" \
		is "$(tg_json "$W/inspect.json" '[j[0]["HostConfig"]["PortBindings"]["8080/tcp"], j[0]["HostConfig"]["Memory"]]')" \
		"[[{\"HostIp\": \"127.0.0.1\", \"HostPort\": \"$hp\"}], 33554432]"
	expect "the container carries the ECS agent's labels" \
		is "$(tg_json "$W/inspect.json" '[j[0]["Config"]["Labels"][k] for k in ("com.amazonaws.ecs.task-arn", "com.amazonaws.ecs.container-name", "com.amazonaws.ecs.task-definition-family", "com.amazonaws.ecs.cluster")]')" \
		"[\"$th\", \"httpd\", \"httpd\", \"arn:aws:ecs:$REGION:$ACCT:cluster/dev\"]"
fi
as admin ecs stop-task --cluster dev --task "$th"
as admin ecs wait tasks-stopped --cluster dev --tasks "$th"
if serves; then
	fail "the stopped task no longer answers on its port" "127.0.0.1:$hp still serves $token"
else
	ok "the stopped task no longer answers on its port"
fi

# ---- start-task on the instance the caller names ----
as admin ecs list-container-instances --cluster dev
ci2=$(j 'sorted(j["containerInstanceArns"])[1]')
as admin ecs start-task --cluster dev --task-definition sleeper:1 --container-instances "$ci2" --started-by start-test
expect "start-task places the task on the container instance named" \
	is "$(j '[t["containerInstanceArn"] for t in j["tasks"]]')" "[\"$ci2\"]"
ts=$(j 'j["tasks"][0]["taskArn"]')
as admin ecs wait tasks-running --cluster dev --tasks "$ts"
expect "the started task runs" is "$rc" 0
as admin ecs start-task --cluster dev --task-definition sleeper:1 --started-by nowhere \
	--container-instances "arn:aws:ecs:$REGION:$ACCT:container-instance/dev/0000000000000000000000000000dead"
expect "start-task on an instance that is not registered is InvalidParameterException naming it" \
	grep -qF "(InvalidParameterException) when calling the StartTask operation (reached max retries: 0): Container instance arn:aws:ecs:$REGION:$ACCT:container-instance/dev/0000000000000000000000000000dead was not found" "$err"
as admin ecs list-tasks --cluster dev --started-by nowhere
expect "and it started nothing" is "$(j 'j["taskArns"]')" '[]'
as admin ecs stop-task --cluster dev --task "$ts"
as admin ecs wait tasks-stopped --cluster dev --tasks "$ts"

# ---- the policy that allows RunTask in one cluster only ----
as runner ecs run-task --cluster dev --task-definition sleeper:1
expect "runner may run a task in dev" is "$rc" 0
t3=$(j 'j["tasks"][0]["taskArn"]')
as admin ecs wait tasks-running --cluster dev --tasks "$t3"
as admin ecs list-tasks --cluster prod
before=$(j 'j["taskArns"]')
live_before=$(host_live)
as runner ecs run-task --cluster prod --task-definition sleeper:1
expect "runner's RunTask in prod is refused" is "$rc" 254
expect "the refusal is AccessDeniedException" grep -qF "An error occurred (AccessDeniedException) when calling the RunTask operation" "$err"
expect "the refusal names principal, action, resource and kind of deny in AWS's words" grep -qF \
	": User: arn:aws:iam::$ACCT:user/runner is not authorized to perform: ecs:RunTask on resource: arn:aws:ecs:$REGION:$ACCT:task-definition/sleeper:1 because no identity-based policy allows the ecs:RunTask action" "$err"
as admin ecs list-tasks --cluster prod --desired-status RUNNING
expect "the denied RunTask started nothing in prod" is "$(j 'j["taskArns"]')" "$before"
expect "the denied RunTask started nothing on the host either" is "$(host_live)" "$live_before"
as runner ecs run-task --task-definition sleeper:1
expect "the default cluster is not dev either" grep -qF "AccessDeniedException" "$err"
as runner ecs stop-task --cluster dev --task "$t3"
expect "runner may not stop tasks" grep -qF "perform: ecs:StopTask on resource: $t3" "$err"
as admin ecs describe-tasks --cluster dev --tasks "$t3"
expect "the task runner could not stop is still wanted RUNNING" is "$(j 'j["tasks"][0]["desiredStatus"]')" RUNNING
as admin ecs stop-task --cluster dev --task "$t3"

# ---- a policy that denies RunTask outside one cluster, explicitly ----
as denier ecs run-task --cluster prod --task-definition sleeper:1
expect "an explicit Deny refuses RunTask in prod, in AWS's words" grep -qF \
	"User: arn:aws:iam::$ACCT:user/denier is not authorized to perform: ecs:RunTask on resource: arn:aws:ecs:$REGION:$ACCT:task-definition/sleeper:1 with an explicit deny in an identity-based policy" "$err"
as admin ecs list-tasks --cluster prod --desired-status RUNNING
expect "the explicitly denied RunTask started nothing" is "$(j 'j["taskArns"]')" "$before"
as denier ecs run-task --cluster dev --task-definition sleeper:1
expect "the same user runs the task in dev, where the Deny does not apply" is "$rc" 0
td4=$(j 'j["tasks"][0]["taskArn"]')
as admin ecs list-container-instances --cluster prod
prod_ci=$(j 'j["containerInstanceArns"][0]')
as denier ecs start-task --cluster prod --task-definition sleeper:1 --container-instances "$prod_ci"
expect "the Deny names RunTask only: StartTask in prod is still allowed by ecs:*" is "$rc" 0
tp4=$(j 'j["tasks"][0]["taskArn"]')
as denier ecs stop-task --cluster dev --task "$td4"
as denier ecs stop-task --cluster prod --task "$tp4"
as admin ecs wait tasks-stopped --cluster dev --tasks "$td4"
as admin ecs wait tasks-stopped --cluster prod --tasks "$tp4"
expect "both are stopped again" is "$rc" 0

# ---- iam:PassRole ----
cat >"$W/td-role.json" <<EOF
{"family": "withrole", "taskRoleArn": "arn:aws:iam::$ACCT:role/app",
 "containerDefinitions": [{"name": "c", "image": "$IMAGE", "memory": 32,
   "command": ["/bin/sh", "-c", "sleep 5"]}]}
EOF
as nopass ecs register-task-definition --cli-input-json "file://$W/td-role.json"
expect "registering a task role without iam:PassRole is refused naming the role" grep -qF \
	"perform: iam:PassRole on resource: arn:aws:iam::$ACCT:role/app because no identity-based policy allows the iam:PassRole action" "$err"
as admin ecs list-task-definition-families --family-prefix withrole
expect "the refused registration left no family behind" is "$(j 'j["families"]')" '[]'
as admin ecs register-task-definition --cli-input-json "file://$W/td-role.json"
expect "with iam:PassRole the same registration succeeds" is "$rc" 0

# ---- services, a rolling update, a restart ----
as admin ecs create-service --cluster dev --service-name web --task-definition sleeper:1 --desired-count 2 \
	--deployment-configuration minimumHealthyPercent=50,maximumPercent=100
expect "create-service answers an ACTIVE service" is "$(j 'j["service"]["status"]')" ACTIVE
as admin ecs wait services-stable --cluster dev --services web
expect "the services-stable waiter sees two running tasks" is "$rc" 0

# A container killed from outside: the task stops, the service replaces it.
as admin ecs list-tasks --cluster dev --service-name web
victim=$(j 'sorted(j["taskArns"])[0]')
survivor=$(j 'sorted(j["taskArns"])[1]')
expect "the service's task is killed from outside (SIGKILL on the host)" kill_task "$victim"
as admin ecs wait tasks-stopped --cluster dev --tasks "$victim"
as admin ecs describe-tasks --cluster dev --tasks "$victim"
expect "the killed task is STOPPED with stopCode EssentialContainerExited" \
	is "$(j '[j["tasks"][0]["lastStatus"], j["tasks"][0]["stopCode"]]')" '["STOPPED", "EssentialContainerExited"]'
expect "the killed container's exit code is 137, as SIGKILL gives" \
	is "$(j 'j["tasks"][0]["containers"][0].get("exitCode")')" 137
replaced() {
	as admin ecs list-tasks --cluster dev --service-name web --desired-status RUNNING
	[ "$(j 'len(j["taskArns"])')" = 2 ] && ! grep -qF "$victim" "$out" && grep -qF "$survivor" "$out"
}
expect "the service starts a replacement: two tasks again, the survivor kept, the killed one gone" poll 60 replaced
as admin ecs wait services-stable --cluster dev --services web
expect "the service is stable again at its count" is "$rc" 0
as admin ecs describe-services --cluster dev --services web
expect "the service's events tell that it started the replacement" \
	"$PYTHON" -c 'import json,sys
ev = json.load(open(sys.argv[1]))["services"][0]["events"]
sys.exit(0 if sum("has started 1 tasks" in e["message"] for e in ev) >= 1 else 1)' "$out"
as admin ecs update-service --cluster dev --service web --task-definition sleeper:2
expect "update-service starts a new PRIMARY deployment" \
	is "$(j 'j["service"]["deployments"][0]["taskDefinition"]')" "arn:aws:ecs:$REGION:$ACCT:task-definition/sleeper:2"
as admin ecs wait services-stable --cluster dev --services web
as admin ecs describe-services --cluster dev --services web nope
expect "after the rolling update one deployment runs two tasks of revision 2" \
	is "$(j '[len(j["services"][0]["deployments"]), j["services"][0]["runningCount"], j["services"][0]["taskDefinition"].rsplit(":",1)[1]]')" '[1, 2, "2"]'
expect "an unknown service is a MISSING failure" is "$(j '[f["reason"] for f in j["failures"]]')" '["MISSING"]'
as admin ecs list-tasks --cluster dev --service-name web
running_before=$(j 'sorted(j["taskArns"])')
live_before=$(host_live)

tg_stop TERM
expect "the gateway stops cleanly with tasks running" is "$TG_EXIT" 0
expect "the tasks' containers outlive the gateway" is "$(host_live)" "$live_before"
# Started again with this host joining prod as its container instance.
tg_config "\"account_id\": \"$ACCT\", \"region\": \"$REGION\", \"master_key\": \"$W/master.key\",
  \"scheduler\": {$sched, \"tick_ms\": 200, \"stop_timeout_s\": 5, \"local_instance\": [\"prod\"]}" >"$W/config.json"
tg_start "$W/config.json" || tg_abort "the gateway starts again on the same store"
as admin ecs list-container-instances --cluster prod
as admin ecs describe-container-instances --cluster prod --container-instances $(j '" ".join(j["containerInstanceArns"])')
local_vi=$(j '[i["versionInfo"] for i in j["containerInstances"] if any(a["name"] == "taskgate.driver" for a in i["attributes"])][0]')
case "$ECS_DRIVER" in
docker)
	dv_want="DockerVersion: $(dk version -f '{{.Server.Version}}')"
	expect "the local container instance reports the engine's version as the ECS agent does" \
		is "$("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1]).get("dockerVersion"))' "$local_vi")" "$dv_want"
	;;
process)
	expect "the local container instance has no dockerVersion without a Docker engine" \
		is "$("$PYTHON" -c 'import json,sys; v=json.loads(sys.argv[1]); print(sorted(v), v["agentVersion"].startswith("taskgate-"))' "$local_vi")" "['agentHash', 'agentVersion'] True"
	;;
esac
as admin ecs wait services-stable --cluster dev --services web
as admin ecs list-tasks --cluster dev --service-name web
expect "after the restart the service has the same two tasks, none lost or duplicated" \
	is "$(j 'sorted(j["taskArns"])')" "$running_before"
sleep 1 # two scheduler passes (tick 200 ms): a duplicate would have started by now
expect "after the restart the host runs the same number of containers, no duplicate started" \
	is "$(host_live)" "$live_before"

# The same after a crash: SIGKILL, no chance to tidy up.
tg_stop KILL
expect "the tasks' containers outlive a killed gateway" is "$(host_live)" "$live_before"
tg_start "$W/config.json" || tg_abort "the gateway starts again after SIGKILL"
as admin ecs wait services-stable --cluster dev --services web
as admin ecs list-tasks --cluster dev --service-name web
expect "after the crash the service has the same two tasks" is "$(j 'sorted(j["taskArns"])')" "$running_before"
sleep 1
expect "and the host the same containers, none started twice" is "$(host_live)" "$live_before"

# ---- a task that fails its health check is replaced ----
# Healthy for its first 8 seconds, then its check fails (interval 5 s,
# retries 1: ECS's smallest); the service stops it and starts another.
cat >"$W/td-flaky.json" <<EOF
{"family": "flaky",
 "containerDefinitions": [{"name": "app", "image": "$IMAGE", "memory": 32, "essential": true,
   "command": ["/bin/sh", "-c", "date +%s >started; trap 'exit 0' TERM; sleep 600 & wait"],
   "healthCheck": {"command": ["CMD-SHELL", "test \$((\$(date +%s) - \$(cat started))) -lt 8"],
                   "interval": 5, "timeout": 2, "retries": 1, "startPeriod": 0}}]}
EOF
as admin ecs register-task-definition --cli-input-json "file://$W/td-flaky.json"
as admin ecs create-service --cluster dev --service-name flaky --task-definition flaky --desired-count 1
first_flaky=""
flaky_healthy() {
	as admin ecs list-tasks --cluster dev --service-name flaky
	first_flaky=$(j '(j["taskArns"] + [""])[0]')
	[ -n "$first_flaky" ] || return 1
	as admin ecs describe-tasks --cluster dev --tasks "$first_flaky"
	[ "$(j '[j["tasks"][0]["healthStatus"], j["tasks"][0]["containers"][0]["healthStatus"]]')" = '["HEALTHY", "HEALTHY"]' ]
}
expect "the task's health check passes: the task and its container are HEALTHY" poll 60 flaky_healthy
flaky_replaced() {
	as admin ecs describe-tasks --cluster dev --tasks "$first_flaky"
	[ "$(j 'j["tasks"][0]["lastStatus"]')" = STOPPED ]
}
expect "once its check fails the service stops the task" poll 60 flaky_replaced
expect "the stopped task says it failed its container health checks" \
	is "$(j '[j["tasks"][0]["healthStatus"], "health checks" in j["tasks"][0]["stoppedReason"]]')" '["UNHEALTHY", true]'
flaky_new() {
	as admin ecs list-tasks --cluster dev --service-name flaky --desired-status RUNNING
	[ "$(j 'len(j["taskArns"])')" = 1 ] && ! grep -qF "$first_flaky" "$out"
}
expect "the service starts a replacement" poll 60 flaky_new
as admin ecs list-tasks --cluster dev --service-name flaky
flaky_tasks=$(j '" ".join(j["taskArns"])')
as admin ecs delete-service --cluster dev --service flaky --force
# shellcheck disable=SC2086
as admin ecs wait tasks-stopped --cluster dev --tasks $flaky_tasks

# ---- tags ----
svc="arn:aws:ecs:$REGION:$ACCT:service/dev/web"
as admin ecs tag-resource --resource-arn "$svc" --tags key=team,value=web key=tier,value=1
expect "tag-resource succeeds" is "$rc" 0
as admin ecs list-tags-for-resource --resource-arn "$svc"
expect "list-tags-for-resource shows the tags" \
	is "$(j 'sorted((t["key"], t["value"]) for t in j["tags"])')" '[["team", "web"], ["tier", "1"]]'
as admin ecs untag-resource --resource-arn "$svc" --tag-keys tier
as admin ecs list-tags-for-resource --resource-arn "$svc"
expect "untag-resource removes the key" is "$(j '[t["key"] for t in j["tags"]]')" '["team"]'

# ---- pagination ----
for c in p1 p2 p3; do as admin ecs create-cluster --cluster-name "$c"; done
as admin ecs list-clusters --max-items 2
expect "a page of two clusters carries a NextToken" \
	"$PYTHON" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if len(j["clusterArns"]) == 2 and j.get("NextToken") else 1)' "$out"
as admin ecs list-clusters --page-size 1
expect "the CLI follows nextToken one cluster at a time to all five" is "$(j 'len(j["clusterArns"])')" 5

# ---- boto3 ----
cat >"$W/boto.py" <<'EOF'
import sys
import boto3, botocore
url, ca, key, secret = sys.argv[1:5]
ecs = boto3.client("ecs", endpoint_url=url, region_name="us-east-1", verify=ca,
                   aws_access_key_id=key, aws_secret_access_key=secret,
                   config=botocore.config.Config(retries={"max_attempts": 1}))
arns = []
for page in ecs.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2}):
    arns += page["clusterArns"]
print("clusters", len(arns))
r = ecs.describe_services(cluster="dev", services=["web"])
print("running", r["services"][0]["runningCount"])
try:
    ecs.list_services(cluster="no-such-cluster")
    print("unknown cluster: no error")
except ecs.exceptions.ClusterNotFoundException as e:
    print("unknown cluster:", e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
try:
    ecs.run_task(cluster="dev", taskDefinition="sleeper:1", count=11)
except botocore.exceptions.ClientError as e:
    print("count 11:", e.response["Error"]["Code"])
except botocore.exceptions.ParamValidationError:
    print("count 11: InvalidParameterException")
EOF
env -i PATH=/usr/bin:/bin HOME="$W" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	"$PYTHON" "$W/boto.py" "$TG_URL" "$TG_CERTS/ca.crt" AKIAECSADMIN00000001 "$(cat "$W/secrets/admin")" >"$out" 2>"$err"
rc=$?
expect "boto3's paginator walks every cluster" grep -qx "clusters 5" "$out"
expect "boto3 describes the service with its running count" grep -qx "running 2" "$out"
expect "boto3 raises its modeled ClusterNotFoundException with HTTP 400" grep -qx "unknown cluster: ClusterNotFoundException 400" "$out"
expect "a count over 10 is InvalidParameterException" grep -qx "count 11: InvalidParameterException" "$out"

# ---- wire errors (curl signs with SigV4 itself) ----
scurl() {
	tg_curl -o "$out" -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:ecs" \
		--user "AKIAECSADMIN00000001:$(cat "$W/secrets/admin")" \
		-H 'Content-Type: application/x-amz-json-1.1' "$@" "$TG_URL/"
}
code=$(scurl -H 'X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusterz' -d '{}')
expect "an unknown target is UnknownOperationException, 400" \
	is "$code $(j 'j["__type"]')" "400 UnknownOperationException"
code=$(scurl -H 'X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters' -d '{"maxResults":')
expect "a body that is not JSON is SerializationException, 400" \
	is "$code $(j 'j["__type"]')" "400 SerializationException"
code=$(scurl -H 'X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters' -d '{"maxResults":"2"}')
expect "a string where the model has an integer is SerializationException" \
	is "$code $(j 'j["__type"]')" "400 SerializationException"
code=$(scurl -H 'X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters' -d '{"maxResults":500}')
expect "maxResults over 100 is InvalidParameterException" \
	is "$code $(j 'j["__type"]')" "400 InvalidParameterException"
code=$(scurl -H 'X-Amz-Target: AmazonEC2ContainerServiceV20141113.DescribeTasks' -d "{\"cluster\":\"dev\",\"tasks\":[\"$t1\"]}")
expect "on the wire, timestamps are epoch seconds in JSON numbers" \
	"$PYTHON" -c 'import json,sys
t = json.load(open(sys.argv[1]))["tasks"][0]
sys.exit(0 if all(isinstance(t[k], (int, float)) and t[k] > 1.7e9 for k in ("createdAt", "startedAt", "stoppedAt")) else 1)' "$out"
code=$(tg_curl -o "$out" -w '%{http_code}' -H 'X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters' \
	-H 'Content-Type: application/x-amz-json-1.1' -d '{}' "$TG_URL/")
expect "an unsigned call is refused before anything runs" is "$code" 400

# ---- secrets stay out of the log ----
expect "no environment value reaches the gateway's log" \
	sh -c "! grep -qF hunter2-in-env '$TG_LOG'"

# ---- the decision log ----
expect "the registration's audit record keeps the variable's name" \
	sh -c "$SQLITE -readonly '$TG_DB' \"SELECT count(*) FROM audit_events WHERE action = 'ecs:RegisterTaskDefinition' AND record LIKE '%DB_PASSWORD%'\" | grep -qv '^0$'"
expect "no audit record holds an environment value" \
	sh -c "$SQLITE -readonly '$TG_DB' \"SELECT count(*) FROM audit_events WHERE record LIKE '%hunter2-in-env%'\" | grep -qx 0"
expect "no audit record holds an environment value given in RunTask's overrides" \
	sh -c "$SQLITE -readonly '$TG_DB' \"SELECT count(*) FROM audit_events WHERE record LIKE '%$token%'\" | grep -qx 0"
expect "the denied RunTask is recorded as an ImplicitDeny on the task definition" \
	sh -c "$SQLITE -readonly '$TG_DB' \"SELECT record FROM audit_events WHERE action = 'ecs:RunTask' AND decision = 'ImplicitDeny'\" | grep -qF 'task-definition/sleeper:1'"

# ---- clean up what runs ----
as admin ecs list-tasks --cluster dev --service-name web
svc_tasks=$(j '" ".join(j["taskArns"])')
as admin ecs delete-service --cluster dev --service web --force
expect "delete-service --force drains the service" is "$(j 'j["service"]["status"]')" DRAINING
# shellcheck disable=SC2086
as admin ecs wait tasks-stopped --cluster dev --tasks $svc_tasks "$t3"
expect "the drained service's tasks (and every other) are STOPPED" is "$rc" 0
as admin ecs list-tasks --cluster dev
expect "no task is left running" is "$(j 'j["taskArns"]')" "[]"
tg_stop TERM
tg_done
