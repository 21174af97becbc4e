#!/usr/bin/env bash
# tests/integration/test_registry_auth.sh - images from a private registry:
# the docker driver pulls with the host's registry credentials
# (scheduler.docker_registry_auth_file, docs/hosts.md), offline.
#
# A tiny registry (registry_v2.py: the Registry HTTP API v2 subset a pull
# uses, HTTP Basic auth, one busybox image), a real dockerd and the gateway
# all run in a network namespace the test makes; dockerd reaches the
# registry on that namespace's 127.0.0.1, which it treats as an insecure
# (plain HTTP) registry by default. With the right credentials in the file a
# task whose image is only in that registry runs; with a wrong password the
# task stops with CannotPullContainerError and the engine's words; a file
# others can read keeps the gateway from starting. The password is nowhere
# in the gateway's log, its store (audit records included) or DescribeTasks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dockerd.sh"

AWS=/usr/bin/aws
ACCT=111122223333
REGION=us-east-1
PORT=5000
REPO="127.0.0.1:$PORT/private/app"
PASSWORD="Reg-pw-$("$OPENSSL" rand -hex 12)"
W="$TG_TMP/w"
mkdir -p "$W/secrets"
out="$W/out"
err="$W/err"
rc=0
REG_PID=""

reg_stop() {
	if [ -n "$REG_PID" ]; then
		kill -TERM "$REG_PID" 2>/dev/null
		wait "$REG_PID" 2>/dev/null
		REG_PID=""
	fi
}
trap 'reg_stop; dk_cleanup' EXIT

dk_start netns
ok "dockerd runs in a network namespace of the test's own"

# The image's root: busybox-static, as dk_image builds it, but only in the
# registry (never imported into the engine).
root="$W/root"
mkdir -p "$root/bin" "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
for a in sh sleep echo cat true; do ln -sf busybox "$root/bin/$a"; done
tar -C "$root" -cf "$W/root.tar" .
(umask 077 && printf '%s\n' "$PASSWORD" >"$W/registry.pw")
# nsenter itself, not the dk_net function: a function run with & is a
# subshell, and $! would be that shell's PID, not the registry's.
"$NSENTER" "--net=/run/netns/$DK_NETNS" "$PYTHON" "$TOP/tests/integration/registry_v2.py" --port "$PORT" --user puller \
	--password-file "$W/registry.pw" --rootfs-tar "$W/root.tar" --tags 1,2,3 \
	--log "$W/registry.log" --ready-file "$W/registry.ready" >/dev/null 2>"$W/registry.err" &
REG_PID=$!
for _ in $(seq 1 100); do [ -s "$W/registry.ready" ] && break; sleep 0.1; done
[ -s "$W/registry.ready" ] || tg_abort "the test registry starts" "$(cat "$W/registry.err")"

code=$(dk_net "$CURL" -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v2/")
check "the registry refuses /v2/ without credentials (HTTP $code)" test "$code" = 401
code=$(dk_net "$CURL" -s -o /dev/null -w '%{http_code}' -u "puller:$PASSWORD" "http://127.0.0.1:$PORT/v2/")
check "and answers it with them (HTTP $code)" test "$code" = 200
"$CURL" -s --unix-socket "$DK_SOCK" http://docker/info >"$W/info.json"
check "dockerd treats 127.0.0.0/8 registries as insecure (plain HTTP) by default" \
	"$PYTHON" -c 'import json,sys
sys.exit(0 if "127.0.0.0/8" in json.load(open(sys.argv[1]))["RegistryConfig"]["InsecureRegistryCIDRs"] else 1)' "$W/info.json"
check_fails "dockerd cannot pull the image without credentials" dk_net env DOCKER_CONFIG="$W/no-docker-config" "$DOCKER" -H "unix://$DK_SOCK" pull "$REPO:1"

# authfile USER PASSWORD: the docker CLI's config.json form, "auth" member.
authfile() {
	local b64
	b64=$(printf '%s:%s' "$1" "$2" | base64 -w0)
	printf '{"auths": {"http://127.0.0.1:%s": {"auth": "%s"},\n  "registry.example.com": {"username": "other", "password": "x"}}}\n' \
		"$PORT" "$b64"
}
(umask 077 && authfile puller "$PASSWORD" >"$W/regauth.json")

(umask 077 && { printf 'taskgate-master-key v1\n'; "$OPENSSL" rand -base64 32; } >"$W/master.key")
(umask 077 && "$OPENSSL" rand -base64 30 >"$W/secrets/admin")
cat >"$W/iam.json" <<EOF
{
  "account_id": "$ACCT",
  "users": [
    {"name": "admin",
     "inline_policies": {"all": {"Version": "2012-10-17", "Statement": [
       {"Effect": "Allow", "Action": ["ecs:*"], "Resource": "*"}]}},
     "access_keys": [{"id": "AKIAREGAUTHADMIN0001", "secret_file": "secrets/admin"}]}
  ]
}
EOF
"$TASKGATE" iam apply "$W/iam.json" --store "$TG_DB" --master-key "$W/master.key" >"$out" 2>"$err" ||
	tg_abort "the test's IAM file applies" "$(cat "$err")"

tg_config "\"account_id\": \"$ACCT\", \"region\": \"$REGION\", \"master_key\": \"$W/master.key\",
  \"scheduler\": {\"driver\": \"docker\", \"docker_socket\": \"$DK_SOCK\", \"tick_ms\": 200,
                  \"stop_timeout_s\": 2, \"local_instance\": [\"default\"],
                  \"docker_registry_auth_file\": \"$W/regauth.json\"}" >"$W/config.json"
TG_WRAP=("$NSENTER" "--net=/run/netns/$DK_NETNS")

# A credentials file others can read: the gateway refuses to start.
chmod 0644 "$W/regauth.json"
if tg_start "$W/config.json"; then
	fail "a group/world-readable registry auth file keeps the gateway from starting"
	tg_stop TERM
else
	check "a group/world-readable registry auth file keeps the gateway from starting, saying why" \
		grep -qF "registry auth file $W/regauth.json has mode 0644" "$TG_LOG"
fi
check "and that error quotes no credential" sh -c "! grep -qF '$PASSWORD' '$TG_LOG'"
chmod 0600 "$W/regauth.json"

tg_start "$W/config.json" || tg_abort "the gateway starts with a private registry auth file" "$(tail -n 5 "$TG_LOG")"
LOGS=("$TG_LOG")

as_admin() {
	dk_net env -i PATH=/usr/bin:/bin HOME="$W" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_ACCESS_KEY_ID=AKIAREGAUTHADMIN0001 AWS_SECRET_ACCESS_KEY="$(cat "$W/secrets/admin")" \
		AWS_DEFAULT_REGION="$REGION" AWS_CA_BUNDLE="$TG_CERTS/ca.crt" AWS_MAX_ATTEMPTS=1 AWS_PAGER="" \
		"$AWS" --endpoint-url "$TG_URL" --output json "$@" >"$out" 2>"$err"
	rc=$?
}
j() { tg_json "$out" "$1"; }
expect() {
	local sentence=$1
	shift
	if "$@"; then
		ok "$sentence"
	else
		fail "$sentence" "status $rc; stdout:" "$(head -c 1500 "$out")" "stderr:" "$(head -c 600 "$err")"
	fi
}
is() { [ "$1" = "$2" ]; }
: >"$W/describes"

# register_run TAG: a one-container task of $REPO:TAG; sets $task.
register_run() {
	cat >"$W/td.json" <<EOF
{"family": "private-$1", "networkMode": "none",
 "containerDefinitions": [{"name": "app", "image": "$REPO:$1", "memory": 32, "essential": true,
   "command": ["/bin/sh", "-c", "echo FROM-PRIVATE; trap 'exit 0' TERM; sleep 600 & wait"]}]}
EOF
	as_admin ecs register-task-definition --cli-input-json "file://$W/td.json"
	as_admin ecs run-task --task-definition "private-$1"
	task=$(j 'j["tasks"][0]["taskArn"]')
}
describe() {
	as_admin ecs describe-tasks --tasks "$task"
	cat "$out" >>"$W/describes"
}

register_run 1
as_admin ecs wait tasks-running --tasks "$task"
expect "a task whose image is only in the private registry runs with the right credentials" is "$rc" 0
cid=$(dk ps -q --no-trunc --filter "label=com.amazonaws.ecs.task-arn=$task")
for _ in $(seq 1 50); do dk logs "$cid" 2>/dev/null | grep -qx FROM-PRIVATE && break; sleep 0.2; done
check "its container runs the pulled image" sh -c "'$DOCKER' -H 'unix://$DK_SOCK' logs '$cid' 2>&1 | grep -qx FROM-PRIVATE"
check "the engine sent the registry the right credentials for the manifest and blobs" \
	sh -c "grep -q '^GET /v2/private/app/manifests/.* 200 creds=good' '$W/registry.log' &&
	       grep -q '^GET /v2/private/app/blobs/sha256:.* 200 creds=good' '$W/registry.log'"
check "and never a wrong password" sh -c "! grep -q 'creds=bad' '$W/registry.log'"
describe
as_admin ecs stop-task --task "$task"
as_admin ecs wait tasks-stopped --tasks "$task"
expect "the task stops" is "$rc" 0

# A wrong password, written while the gateway runs: the file is read again
# for every pull, so the next pull uses it without a restart.
(umask 077 && authfile puller "wrong-$PASSWORD" >"$W/regauth.json.new" && mv "$W/regauth.json.new" "$W/regauth.json")
register_run 2
as_admin ecs wait tasks-stopped --tasks "$task"
expect "with a wrong password in the file the task stops" is "$rc" 0
describe
reason=$(j 'j["tasks"][0]["stoppedReason"]')
expect "and its stoppedReason is CannotPullContainerError with the engine's words ($reason)" \
	sh -c "case '$reason' in CannotPullContainerError:*'$REPO:2'*) exit 0;; *) exit 1;; esac"
expect "its stopCode is TaskFailedToStart" is "$(j 'j["tasks"][0]["stopCode"]')" TaskFailedToStart
check "the registry saw the wrong password (sent, and refused)" grep -q 'creds=bad' "$W/registry.log"
check "nothing of the task was left in the engine" \
	test -z "$(dk ps -aq --filter "label=com.amazonaws.ecs.task-arn=$task")"

# No entry for the registry: an anonymous pull, refused by the registry.
(umask 077 && printf '{"auths": {"registry.example.com": {"auth": "%s"}}}\n' "$(printf 'a:b' | base64 -w0)" \
	>"$W/regauth.json.new" && mv "$W/regauth.json.new" "$W/regauth.json")
register_run 3
as_admin ecs wait tasks-stopped --tasks "$task"
describe
expect "with no credentials for the registry the pull is anonymous and the task fails to start" \
	sh -c "case '$(j 'j["tasks"][0]["stoppedReason"]')' in CannotPullContainerError:*) exit 0;; *) exit 1;; esac"

# Made readable by others while the gateway runs: the next pull refuses to
# use it, and says why.
(umask 077 && authfile puller "$PASSWORD" >"$W/regauth.json")
chmod 0640 "$W/regauth.json"
dk rmi -f "$REPO:1" >/dev/null 2>&1
register_run 1
as_admin ecs wait tasks-stopped --tasks "$task"
describe
reason=$(j 'j["tasks"][0]["stoppedReason"]')
expect "a file made group-readable after start is refused at the next pull ($reason)" \
	sh -c "case '$reason' in CannotPullContainerError:*'mode 0640'*) exit 0;; *) exit 1;; esac"
chmod 0600 "$W/regauth.json"

tg_stop TERM
expect "the gateway stops cleanly" is "$TG_EXIT" 0

b64pw=$(printf 'puller:%s' "$PASSWORD" | base64 -w0)
"$SQLITE" -readonly "$TG_DB" .dump >"$W/store.dump"
check "the store has audit records of the runs" grep -q "RunTask" "$W/store.dump"
for f in "$TG_LOG" "$W/store.dump" "$W/describes"; do
	name=$(basename "$f")
	check "the password is nowhere in $name" sh -c "! grep -qF '$PASSWORD' '$f'"
	check "nor its base64 auth form in $name" sh -c "! grep -qF '$b64pw' '$f'"
done
reg_stop
tg_done
