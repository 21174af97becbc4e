#!/usr/bin/env bash
# gateway/run-dev.sh - what `make run` does once the build is done: the
# development certificates, a development configuration under var/ (which git
# ignores) with the store at var/taskgate.db, the demo account, and then the
# gateway itself in the foreground, with this host registered as a container
# instance of the `default` cluster so that `aws ecs run-task` works at once.
# Ctrl-C (SIGINT) stops it cleanly.
#
# Each piece of set-up is one function below, so a later feature adds its
# demo data in one place (the demo IAM entities go in setup_demo_account).
# The configuration is written afresh on every run so that it always matches
# this build; to run with settings of your own, copy it and start
# `build/taskgate serve --config YOUR-FILE` directly.
#
# Environment (all optional; `make run DRIVER=docker` passes DRIVER):
#   DRIVER, TASKGATE_DRIVER  docker or process; unset: docker when a Docker
#                            engine answers on the socket, else process
#   TASKGATE_DOCKER_SOCKET   the engine's socket (/var/run/docker.sock)
#   TASKGATE_VAR             the folder for the store, keys and config (var)
#   TASKGATE_CERTS           the development PKI's folder (certs/dev)
#   TASKGATE_LISTEN          the API's address (127.0.0.1:8443)
#   TASKGATE_TASK_LISTEN     the task endpoint's address (127.0.0.1:51679)
#   TASKGATE_READY_FILE      a file the gateway writes its port to once it listens
# Relative folders are taken from the directory `make run` was started in.
# Tests use these to run this very script without touching var/ or the
# fixed ports.
set -euo pipefail
CALLER_DIR=$PWD
cd "$(dirname "$0")/.."

# A path from the caller, made absolute before it is used from the repo root.
from_caller() {
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$CALLER_DIR/$1" ;;
	esac
}

BUILD=${BUILD:-build}
TASKGATE="$BUILD/taskgate"
VAR=var
[ -z "${TASKGATE_VAR:-}" ] || VAR=$(from_caller "$TASKGATE_VAR")
CERTS=certs/dev
[ -z "${TASKGATE_CERTS:-}" ] || CERTS=$(from_caller "$TASKGATE_CERTS")
READY_FILE=""
[ -z "${TASKGATE_READY_FILE:-}" ] || READY_FILE=$(from_caller "$TASKGATE_READY_FILE")
CONFIG="$VAR/dev-config.json"
LISTEN=${TASKGATE_LISTEN:-127.0.0.1:8443}
TASK_LISTEN=${TASKGATE_TASK_LISTEN:-127.0.0.1:51679}
DOCKER_SOCKET=${TASKGATE_DOCKER_SOCKET:-/var/run/docker.sock}

# The demo account: every demo entity lives in it.
DEMO_ACCOUNT_ID=111122223333
DEMO_REGION=us-east-1
# The cluster this host joins, as an ECS agent's ECS_CLUSTER (its default).
LOCAL_CLUSTER=default

# Does a Docker engine answer on the socket? Its /_ping says "OK".
docker_answers() {
	[ -S "$DOCKER_SOCKET" ] || return 1
	[ "$(curl -s --max-time 3 --unix-socket "$DOCKER_SOCKET" http://docker/_ping 2>/dev/null)" = OK ]
}

# Which driver runs the tasks: the one asked for, else Docker when an engine
# answers (tasks then run as the images they name), else local processes.
choose_driver() {
	local want=${DRIVER:-${TASKGATE_DRIVER:-}}
	case "$want" in
	docker)
		if ! docker_answers; then
			echo "run: DRIVER=docker, but no Docker engine answers on $DOCKER_SOCKET" >&2
			echo "run: start it (systemctl start docker), set TASKGATE_DOCKER_SOCKET, or use DRIVER=process" >&2
			exit 1
		fi
		DRIVER_CHOSEN=docker
		DRIVER_WHY="asked for with DRIVER=docker; the engine answers on $DOCKER_SOCKET"
		;;
	process)
		DRIVER_CHOSEN=process
		DRIVER_WHY="asked for with DRIVER=process"
		;;
	"" | auto)
		if docker_answers; then
			DRIVER_CHOSEN=docker
			DRIVER_WHY="a Docker engine answers on $DOCKER_SOCKET (DRIVER=process runs local processes instead)"
		else
			DRIVER_CHOSEN=process
			DRIVER_WHY="no Docker engine answers on $DOCKER_SOCKET (tasks run as local processes)"
		fi
		;;
	*)
		echo "run: DRIVER must be docker or process, not \"$want\"" >&2
		exit 2
		;;
	esac
	echo "run: driver $DRIVER_CHOSEN: $DRIVER_WHY"
}

setup_certs() {
	certs/mkcerts.sh "$CERTS"
}

setup_var() {
	# Private: the database holds the audit log and, later, credentials.
	(umask 077 && mkdir -p "$VAR")
}

# The master key that seals secrets at rest (made once, mode 0600, never
# overwritten; the configuration names it so the gateway opens access keys and
# issues STS credentials), and the demo user's secret access key.
setup_keys() {
	if [ ! -e "$VAR/master.key" ]; then
		(umask 077 && { printf 'taskgate-master-key v1\n'; openssl rand -base64 32; } >"$VAR/master.key.tmp")
		mv -n "$VAR/master.key.tmp" "$VAR/master.key"
		rm -f "$VAR/master.key.tmp"
	fi
	if [ ! -e "$VAR/demo-admin.secret" ]; then
		(umask 077 && openssl rand -base64 30 | tr -d '\n' >"$VAR/demo-admin.secret")
	fi
}

# The scheduler: the chosen driver, and this host registered in the default
# cluster at every start (one container instance, kept across restarts).
scheduler_config() {
	if [ "$DRIVER_CHOSEN" = docker ]; then
		printf '{"driver": "docker", "docker_socket": "%s", "local_instance": ["%s"]}' \
			"$DOCKER_SOCKET" "$LOCAL_CLUSTER"
	else
		printf '{"driver": "process", "local_instance": ["%s"]}' "$LOCAL_CLUSTER"
	fi
}

setup_config() {
	local tmp="$CONFIG.tmp"
	(umask 077 && cat >"$tmp") <<JSON
{
  "listen": "$LISTEN",
  "tls": {"cert": "$CERTS/server.crt", "key": "$CERTS/server.key"},
  "store": {"path": "$VAR/taskgate.db", "synchronous": "FULL"},
  "account_id": "$DEMO_ACCOUNT_ID",
  "region": "$DEMO_REGION",
  "log": {"level": "info", "format": "json"},
  "master_key": "$VAR/master.key",
  "audit": {"key_file": "$VAR/audit.key"},
  "task_endpoint": {"listen": "$TASK_LISTEN"},
  "scheduler": $(scheduler_config)
}
JSON
	mv "$tmp" "$CONFIG"
}

# The demo account: the configuration's account_id, and the demo IAM entities
# of gateway/demo-iam.json applied to the store. The file names the demo
# user's secret as ../var/demo-admin.secret (relative to itself); it is
# applied from a copy in $VAR that names the secret beside it, so a var/
# elsewhere (TASKGATE_VAR) holds everything. Applying is idempotent: a second
# `make run` prints "no changes".
setup_demo_account() {
	local iam="$VAR/demo-iam.json"
	sed 's#"secret_file": "../var/demo-admin.secret"#"secret_file": "demo-admin.secret"#' \
		gateway/demo-iam.json >"$iam.tmp"
	if ! grep -q '"secret_file": "demo-admin.secret"' "$iam.tmp"; then
		rm -f "$iam.tmp"
		echo "run: gateway/demo-iam.json no longer names ../var/demo-admin.secret; update setup_demo_account" >&2
		exit 1
	fi
	mv "$iam.tmp" "$iam"
	"$TASKGATE" iam apply "$iam" --config "$CONFIG" --master-key "$VAR/master.key"
	echo "run: demo account $DEMO_ACCOUNT_ID in $DEMO_REGION (IAM: gateway/demo-iam.json)"
}

# The audit key that signs checkpoints of the decision log: made once, mode
# 0600, never overwritten (its public half: taskgate audit public-key).
setup_audit_key() {
	if [ ! -e "$VAR/audit.key" ]; then
		"$TASKGATE" audit keygen "$VAR/audit.key"
	fi
}

choose_driver
setup_certs
setup_var
setup_audit_key
setup_keys
setup_config
setup_demo_account

PORT=${LISTEN##*:}
cat >&2 <<EOF2
run: https://localhost:$PORT with the development CA in $CERTS/ca.crt; try
run:   curl --cacert $CERTS/ca.crt https://localhost:$PORT/health
run: the demo user signs in with the AWS CLI:
run:   export AWS_ACCESS_KEY_ID=AKIADEMOADMINEXAMPL1 AWS_SECRET_ACCESS_KEY=\$(cat $VAR/demo-admin.secret)
run:   export AWS_CA_BUNDLE=$CERTS/ca.crt AWS_DEFAULT_REGION=$DEMO_REGION
run:   aws sts get-caller-identity --endpoint-url https://localhost:$PORT
run: this host is a container instance of cluster $LOCAL_CLUSTER ($DRIVER_CHOSEN driver), so tasks run at once:
run:   aws ecs register-task-definition --family hello --container-definitions \\
run:     '[{"name":"hello","image":"busybox","command":["sleep","300"],"memory":64}]' --endpoint-url https://localhost:$PORT
run:   aws ecs run-task --task-definition hello --endpoint-url https://localhost:$PORT
run: config $CONFIG, store $VAR/taskgate.db; Ctrl-C stops the gateway.
EOF2
if [ -n "$READY_FILE" ]; then
	exec "$TASKGATE" serve --config "$CONFIG" --ready-file "$READY_FILE"
fi
exec "$TASKGATE" serve --config "$CONFIG"
