#!/usr/bin/env bash
# tests/integration/test_docker.sh - the docker driver against a real Docker
# engine: starts Debian's dockerd (/usr/sbin/dockerd) with its own data root,
# exec root, pid file and Unix socket in the test's temp folder, without
# iptables or a bridge (tests use host networking and loopback only), builds
# a tiny image offline (`docker import` of a busybox-static root), runs the
# driver's engine tests (tests/unit/test_sched_driver_docker.c with
# TASKGATE_TEST_DOCKER_SOCK set, and over TCP with mutual TLS), checks what the engine holds with the
# docker CLI, and stops dockerd by its PID.
#
# When dockerd cannot run on this machine (not root, or the kernel refuses it
# cgroups or overlay mounts), the script says exactly why with one
# "ok - SKIP <reason>" line and nothing else passes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dockerd.sh"

# A second listener on loopback TCP with mutual TLS (the test PKI: the
# server certificate names 127.0.0.1; host-1 is a client certificate).
DK_TCP_PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dk_start host -H "tcp://127.0.0.1:$DK_TCP_PORT" --tlsverify \
	--tlscacert "$TG_CERTS/ca.crt" --tlscert "$TG_CERTS/server.crt" --tlskey "$TG_CERTS/server.key"
ok "dockerd started with its own data root, exec root, pid file and socket"
check "dockerd wrote the pid file with its PID" test "$(cat "$DK_PIDFILE")" = "$DK_PID"

# A busybox-static root, imported offline as an image.
check "docker import builds a busybox image offline" dk_image taskgate-test/busybox:1
check "the imported image runs a shell" \
	dk run --rm --network host taskgate-test/busybox:1 /bin/sh -c 'exit 0'

# The driver's own tests against this engine; their ok/FAIL lines count here.
TASKGATE_TEST_DOCKER_SOCK="$DK_SOCK" TASKGATE_TEST_DOCKER_IMAGE=taskgate-test/busybox:1 \
	TASKGATE_TEST_DOCKER_TCP="127.0.0.1:$DK_TCP_PORT" TASKGATE_TEST_DOCKER_CERTS="$TG_CERTS" \
	"$BUILD/tests/test_sched_driver_docker" >"$DK_DIR/driver.out" 2>&1
drv_rc=$?
grep -E '^(ok - |FAIL - |    )' "$DK_DIR/driver.out" | while IFS= read -r l; do echo "$l"; done
n_ok=$(grep -c '^ok - ' "$DK_DIR/driver.out")
n_fail=$(grep -c '^FAIL - ' "$DK_DIR/driver.out")
tg_passed=$((tg_passed + n_ok))
tg_failed=$((tg_failed + n_fail))
if [ "$drv_rc" != 0 ] && [ "$n_fail" = 0 ]; then
	fail "the driver's engine tests ran to the end" "exit status $drv_rc"
	tail -n 20 "$DK_DIR/driver.out" | sed 's/^/    | /'
fi

# What the engine holds: containers labelled as the ECS agent labels them.
labels=$(dk ps -a --filter label=taskgate.managed=true \
	--format '{{.Label "com.amazonaws.ecs.task-arn"}} {{.Label "com.amazonaws.ecs.container-name"}} {{.Label "com.amazonaws.ecs.task-definition-family"}}')
check "the engine's containers carry the task ARN, container name and family labels" \
	bash -c "printf '%s\n' \"\$1\" | grep -qE '^arn:aws:ecs:us-east-1:123456789012:task/default/[0-9a-f]+ app drvtest$'" _ "$labels"
check "containers of a task that failed to start were removed" \
	bash -c "! printf '%s\n' \"\$1\" | grep -q '0003 '" _ "$labels"

pid=$DK_PID
dk_stop
check "dockerd stopped by its PID" bash -c "! kill -0 $pid 2>/dev/null"
# containerd and its shims name the exec root on their command lines.
left=$(pgrep -a -f -- "$DK_DIR/exec")
if [ -z "$left" ]; then
	ok "nothing dockerd started (containerd, shims) outlives it"
else
	fail "nothing dockerd started (containerd, shims) outlives it" "$left"
fi
tg_done
