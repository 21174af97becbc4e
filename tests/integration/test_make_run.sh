#!/usr/bin/env bash
# tests/integration/test_make_run.sh - `make run` as a user drives it:
# gateway/run-dev.sh itself (what the Makefile's run target executes) with
# its var/ and certificates in the test's temp folder, free ports instead of
# 8443 and 51679, and the process driver forced so that no Docker engine is
# needed. Then the Debian AWS CLI as the demo user, exactly as README.md
# says: who am I, a cluster, a task definition, RunTask without --cluster on
# the host that `make run` registered, the waiters, StopTask, a service; a
# second run on the same var/ ("no changes" for IAM, the same container
# instance); `taskgate audit verify` on the result; SIGINT stops it with 0.
#
# MR_DRIVER=docker (test_make_run_docker.sh) runs the same with a real
# dockerd (in a network namespace of the test's own) answering on the socket
# run-dev.sh is pointed at, and no DRIVER: run-dev.sh must choose docker by
# itself, and README's busybox example runs as a container (the image is
# imported offline as busybox:latest, so nothing is pulled).
#
# The developer's var/ and certs/dev are never touched (checked), and every
# process the test started, the gateway's task supervisors and their tasks
# included, is gone at the end (checked, and killed by the trap otherwise).
. "$(dirname "$0")/lib.sh"
MR_DRIVER=${MR_DRIVER:-process}
if [ "$MR_DRIVER" = docker ]; then
	. "$(dirname "$0")/dockerd.sh"
	dk_start netns
	ok "a real dockerd answers on the test's socket"
	check "busybox:latest is imported offline" dk_image busybox:latest
fi

AWS=/usr/bin/aws
ACCT=111122223333
REGION=us-east-1
RV="$TG_TMP/var"
RC="$TG_TMP/certs"
CONFIG="$RV/dev-config.json"

# Two free ports at once (held together, so they differ).
read -r PORT TASK_PORT < <("$PYTHON" -c 'import socket
a = socket.socket(); a.bind(("127.0.0.1", 0))
b = socket.socket(); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
URL="https://localhost:$PORT"

# The processes of this test's gateway: the gateway and the supervisors it
# forked for tasks (copies of it, with the same command line naming this
# test's config), and each container's process group under a supervisor.
own_pids() {
	pgrep -f -- "--config $CONFIG" 2>/dev/null || true
}
mr_cleanup() {
	local p c
	for p in $(own_pids); do
		for c in $(pgrep -P "$p" 2>/dev/null); do kill -KILL -- "-$c" 2>/dev/null; done
		kill -KILL "$p" 2>/dev/null
	done
	[ "$MR_DRIVER" = docker ] && dk_stop
	tg_cleanup
}
trap mr_cleanup EXIT

# What the developer has in var/ and certs/dev now, to show it unchanged.
snapshot_dev() {
	local d
	for d in "$TOP/var" "$TOP/certs/dev"; do
		if [ -e "$d" ]; then
			find "$d" -printf '%p %s %T@\n' | sort
		else
			echo "$d absent"
		fi
	done
}
before_dev=$(snapshot_dev)

# run_dev: gateway/run-dev.sh as `make run` starts it, redirected, in the
# background (TG_PID is then the gateway: the script execs it); waits up to
# 90 s for the ready file. Its stdout is in $TG_TMP/run.out, stderr in TG_LOG.
run_dev() {
	local n=$1
	rm -f "$TG_TMP/ready"
	TG_LOG="$TG_TMP/run$n.err"
	local choice=(DRIVER=process)
	[ "$MR_DRIVER" = docker ] && choice=(TASKGATE_DOCKER_SOCKET="$DK_SOCK")
	env -u DRIVER -u TASKGATE_DRIVER "${choice[@]}" BUILD="$BUILD" TASKGATE_VAR="$RV" TASKGATE_CERTS="$RC" \
		TASKGATE_LISTEN="127.0.0.1:$PORT" TASKGATE_TASK_LISTEN="127.0.0.1:$TASK_PORT" \
		TASKGATE_READY_FILE="$TG_TMP/ready" \
		bash "$TOP/gateway/run-dev.sh" >"$TG_TMP/run$n.out" 2>"$TG_LOG" </dev/null &
	TG_PID=$!
	TG_EXIT=""
	local i
	for i in $(seq 1 900); do
		[ -s "$TG_TMP/ready" ] && return 0
		if ! kill -0 "$TG_PID" 2>/dev/null; then
			wait "$TG_PID"
			TG_EXIT=$?
			TG_PID=""
			return 1
		fi
		sleep 0.1
	done
	return 1
}

# as aws ARGS...: the AWS CLI as the demo user, with the secret make run
# wrote; nothing of this machine's AWS configuration is read.
as() {
	env -i PATH=/usr/bin:/bin HOME="$TG_TMP" AWS_CONFIG_FILE=/dev/null \
		AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_ACCESS_KEY_ID=AKIADEMOADMINEXAMPL1 AWS_SECRET_ACCESS_KEY="$(cat "$RV/demo-admin.secret")" \
		AWS_DEFAULT_REGION="$REGION" AWS_CA_BUNDLE="$RC/ca.crt" AWS_MAX_ATTEMPTS=1 \
		AWS_RETRY_MODE=standard AWS_PAGER="" \
		"$AWS" --endpoint-url "$URL" --output json "$@" >"$out" 2>"$err"
	rc=$?
}
has() { grep -qF -- "$2" "$1"; }

# ---------------------------------------------------------------- first run
run_dev 1 || tg_abort "run-dev.sh brings the gateway up on a fresh var/" \
	"exit: ${TG_EXIT:-none}" "$(tail -n 5 "$TG_TMP/run1.out")"
ok "run-dev.sh brings the gateway up on a fresh var/"
if [ "$MR_DRIVER" = docker ]; then
	check "without DRIVER it chose docker, since the engine answers" \
		has "$TG_TMP/run1.out" "run: driver docker: a Docker engine answers on $DK_SOCK"
else
	check "it says which driver it chose and why" \
		has "$TG_TMP/run1.out" "run: driver process: asked for with DRIVER=process"
fi
check "it made the store, keys, config and secret in the redirected var/" \
	test -s "$RV/taskgate.db" -a -s "$RV/master.key" -a -s "$RV/audit.key" -a -s "$CONFIG" \
	-a -s "$RV/demo-admin.secret"
check "the secret and keys are private (0600)" \
	test "$(stat -c %a "$RV/demo-admin.secret" "$RV/master.key" "$RV/audit.key" | sort -u)" = 600
check "the gateway listens on the port it was given" test "$(cat "$TG_TMP/ready")" = "$PORT"
check "the hints name that port" has "$TG_LOG" "curl --cacert $RC/ca.crt $URL/health"
check "the host joined cluster default at start" \
	grep -q '"msg":"local container instance registered","cluster":"default"' "$TG_LOG"
check "health answers over TLS verified with the dev CA" \
	"$CURL" -sSf --max-time 20 --cacert "$RC/ca.crt" "$URL/health"

as sts get-caller-identity
expect "the demo user signs in with the AWS CLI" \
	is "$(j 'j["Arn"]')" "arn:aws:iam::$ACCT:user/demo/demo-admin"

as ecs list-container-instances
expect "cluster default has one container instance, this host" is "$(j 'len(j["containerInstanceArns"])')" 1
ci=$(j 'j["containerInstanceArns"][0]' 2>/dev/null)
as ecs describe-container-instances --container-instances "$ci"
expect "it offers this host's CPUs and says it is linux with task roles" \
	is "$(j '[[r["integerValue"] for r in j["containerInstances"][0]["registeredResources"] if r["name"] == "CPU"][0],
	          {a["name"]: a.get("value") for a in j["containerInstances"][0]["attributes"]}["ecs.os-type"],
	          "com.amazonaws.ecs.capability.task-iam-role" in [a["name"] for a in j["containerInstances"][0]["attributes"]]]')" \
	"[$(($(nproc) * 1024)), \"linux\", true]"

as ecs create-cluster --cluster-name demo
expect "create-cluster makes a cluster" is "$(j 'j["cluster"]["status"]')" ACTIVE

cat >"$TG_TMP/td.json" <<'EOF'
{"family": "hello", "containerDefinitions": [{"name": "hello", "image": "busybox",
  "command": ["sleep", "300"], "memory": 64, "essential": true}]}
EOF
as ecs register-task-definition --cli-input-json "file://$TG_TMP/td.json"
expect "register-task-definition makes hello:1" is "$(j 'j["taskDefinition"]["revision"]')" 1

as ecs run-task --task-definition hello
expect "run-task without --cluster starts a task in cluster default on this host" \
	is "$(j '[len(j["tasks"]), j["failures"], j["tasks"][0]["clusterArn"], j["tasks"][0]["containerInstanceArn"]]')" \
	"[1, [], \"arn:aws:ecs:$REGION:$ACCT:cluster/default\", \"$ci\"]"
t1=$(j 'j["tasks"][0]["taskArn"]' 2>/dev/null)
as ecs wait tasks-running --tasks "$t1"
expect "the tasks-running waiter sees it RUNNING" is "$rc" 0
as ecs describe-tasks --tasks "$t1"
expect "describe-tasks shows it RUNNING with its container" \
	is "$(j '[j["tasks"][0]["lastStatus"], j["tasks"][0]["containers"][0]["name"]]')" '["RUNNING", "hello"]'
if [ "$MR_DRIVER" = docker ]; then
	check "the engine runs it: busybox's sleep 300, labelled with the task" \
		test "$(dk ps --filter "label=com.amazonaws.ecs.task-arn=$t1" --format '{{.Image}} {{.Command}}')" = \
		'busybox "sleep 300"'
fi
as ecs run-task --cluster demo --task-definition hello
expect "a cluster the host did not join has nowhere to run tasks" \
	has "$err" "No Container Instances were found in your cluster"
as ecs stop-task --task "$t1" --reason "make run test"
expect "stop-task answers" is "$rc" 0
as ecs wait tasks-stopped --tasks "$t1"
expect "the tasks-stopped waiter sees it STOPPED" is "$rc" 0
as ecs describe-tasks --tasks "$t1"
expect "it stopped as asked" \
	is "$(j '[j["tasks"][0]["lastStatus"], j["tasks"][0]["stopCode"], j["tasks"][0]["stoppedReason"]]')" \
	'["STOPPED", "UserInitiated", "make run test"]'

# a service on the same host, kept at its count, then scaled in and deleted
as ecs create-service --service-name web --task-definition hello --desired-count 1
expect "create-service in cluster default answers an ACTIVE service" is "$(j 'j["service"]["status"]')" ACTIVE
running=""
for i in $(seq 1 60); do
	as ecs describe-services --services web
	running=$(j 'j["services"][0]["runningCount"]' 2>/dev/null)
	[ "$running" = 1 ] && break
	sleep 0.5
done
expect "the service gets its task running" is "$running" 1
if [ "$MR_DRIVER" = docker ]; then
	as ecs list-tasks --service-name web
	first=$(j 'j["taskArns"][0]' 2>/dev/null)
	dk kill "$(dk ps -q --filter "label=com.amazonaws.ecs.task-arn=$first")" >/dev/null
	replaced=""
	for i in $(seq 1 120); do
		as ecs list-tasks --service-name web --desired-status RUNNING
		replaced=$(j '[a for a in j["taskArns"] if a != "'"$first"'"]' 2>/dev/null)
		[ "$replaced" != "[]" ] && [ -n "$replaced" ] && break
		sleep 0.5
	done
	expect "after docker kill the service starts another task" test "$replaced" != "[]" -a -n "$replaced"
fi
as ecs delete-service --service web --force
expect "delete-service with force answers" is "$rc" 0
left=x
for i in $(seq 1 60); do
	as ecs list-tasks
	left=$(j 'len(j["taskArns"])' 2>/dev/null)
	[ "$left" = 0 ] && break
	sleep 0.5
done
expect "the service's task stops with it" is "$left" 0

tg_stop INT
check "SIGINT stops the gateway with exit status 0" test "$TG_EXIT" = 0

# ---------------------------------------------------------------- second run
run_dev 2 || tg_abort "a second run-dev.sh on the same var/ brings the gateway up" \
	"exit: ${TG_EXIT:-none}" "$(tail -n 5 "$TG_TMP/run2.out")"
ok "a second run-dev.sh on the same var/ brings the gateway up"
check "the second run applies the demo IAM with no changes" has "$TG_TMP/run2.out" "no changes"
check "the second run reuses the host's container instance" \
	grep -q '"msg":"local container instance reused","cluster":"default"' "$TG_LOG"
as ecs list-container-instances
expect "cluster default still has exactly that one container instance" \
	is "$(j 'j["containerInstanceArns"]')" "[\"$ci\"]"
as ecs run-task --task-definition hello
expect "run-task works at once after the restart" is "$(j 'len(j["tasks"])')" 1
t2=$(j 'j["tasks"][0]["taskArn"]' 2>/dev/null)
as ecs wait tasks-running --tasks "$t2"
as ecs stop-task --task "$t2"
as ecs wait tasks-stopped --tasks "$t2"
expect "and its task stops again" is "$rc" 0
tg_stop INT
check "SIGINT stops the second run with exit status 0" test "$TG_EXIT" = 0

# ---------------------------------------------------------------- afterwards
"$TASKGATE" audit public-key "$RV/audit.key" >"$TG_TMP/audit.pub" 2>"$err"
check "audit verify accepts the decision log of both runs" \
	"$TASKGATE" audit verify --store "$RV/taskgate.db" --public-key "$TG_TMP/audit.pub"
# ---------------------------------------------------------------- driver choice
if [ "$MR_DRIVER" = process ]; then
# Without DRIVER, Docker is chosen when an engine answers /_ping on the
# socket. A stand-in that answers only /_ping shows the choice; the gateway
# then refuses that "engine" at start (it checks the API version), which is
# the right end for this check. Another var/, so the runs above stay intact.
FAKE_SOCK="$TG_TMP/fake-docker.sock"
"$PYTHON" - "$FAKE_SOCK" <<'PY' &
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/_ping"
        body = b"OK" if ok else b'{"message":"page not found"}'
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def address_string(self):
        return "unix"
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
S(sys.argv[1], H).serve_forever()
PY
fake_pid=$!
for i in $(seq 1 50); do [ -S "$FAKE_SOCK" ] && break; sleep 0.1; done
# choose VAR=VALUE...: run-dev.sh with those settings; a gateway that comes
# up is stopped again with SIGINT. rc is run-dev.sh's status.
choose() {
	rm -f "$TG_TMP/ready2"
	env -u DRIVER -u TASKGATE_DRIVER BUILD="$BUILD" TASKGATE_VAR="$TG_TMP/var2" TASKGATE_CERTS="$RC" \
		TASKGATE_LISTEN="127.0.0.1:$PORT" TASKGATE_TASK_LISTEN="127.0.0.1:$TASK_PORT" \
		TASKGATE_READY_FILE="$TG_TMP/ready2" "$@" \
		bash "$TOP/gateway/run-dev.sh" >"$out" 2>"$err" </dev/null &
	local pid=$!
	for i in $(seq 1 600); do
		[ -s "$TG_TMP/ready2" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
}
choose TASKGATE_DOCKER_SOCKET="$FAKE_SOCK"
expect "without DRIVER, an engine answering on the socket makes it docker" \
	has "$out" "run: driver docker: a Docker engine answers on $FAKE_SOCK"
expect "the docker driver is what the gateway then opens" \
	has "$TG_TMP/var2/dev-config.json" "\"driver\": \"docker\", \"docker_socket\": \"$FAKE_SOCK\""
choose TASKGATE_DOCKER_SOCKET="$FAKE_SOCK" TASKGATE_DRIVER=process
expect "TASKGATE_DRIVER=process wins over an engine that answers" \
	has "$out" "run: driver process: asked for with DRIVER=process"
kill "$fake_pid" 2>/dev/null
wait "$fake_pid" 2>/dev/null
choose TASKGATE_DOCKER_SOCKET="$TG_TMP/no-such.sock" DRIVER=docker
expect "DRIVER=docker without an engine stops before anything starts, saying why" \
	eval '[ "$rc" = 1 ] && has "$err" "no Docker engine answers on $TG_TMP/no-such.sock"'
choose TASKGATE_DOCKER_SOCKET="$TG_TMP/no-such.sock"
expect "without DRIVER and without an engine it is the process driver" \
	has "$out" "run: driver process: no Docker engine answers on $TG_TMP/no-such.sock"
choose DRIVER=podman
expect "an unknown DRIVER is refused" eval '[ "$rc" = 2 ] && has "$err" "DRIVER must be docker or process"'
fi

check "the developer's var/ and certs/dev were not touched" \
	test "$(snapshot_dev)" = "$before_dev"
left_pids=""
for i in $(seq 1 50); do
	left_pids=$(own_pids)
	[ -z "$left_pids" ] && break
	sleep 0.1
done
check "no process of the test's gateway or its tasks is left" test -z "$left_pids"

tg_done
