# tests/integration/dockerd.sh - sourced after lib.sh by the tests that need a
# real Docker engine: starts Debian's dockerd with its own data root, exec
# root, pid file, containerd namespaces and Unix socket under the test's temp
# folder, imports a tiny busybox image offline, and stops it all by PID.
#
#   dk_start host [DOCKERD ARGS...]   dockerd in this network namespace,
#                                     without iptables or a bridge (host
#                                     networking only)
#   dk_start netns [DOCKERD ARGS...]  dockerd in a network namespace the test
#                                     creates (loopback up), with its default
#                                     bridge: bridge networking and ports
#                                     published on 127.0.0.1 work there, and
#                                     nothing touches the machine's network
#   dk_net CMD...                     runs CMD in dockerd's network namespace
#                                     (plainly, for "host")
#   dk_image NAME                     imports a busybox-static root as NAME
#   dk_stop                           stops dockerd by its PID, unmounts what
#                                     it left, deletes the namespace
#
# When dockerd cannot run on this machine (not root, or the kernel refuses it
# cgroups or overlay mounts) the test says exactly why with one
# "ok - SKIP <reason>" line and exits: nothing else passes. Anything else
# that keeps dockerd from answering is a failure.

DOCKERD=/usr/sbin/dockerd
DOCKER=/usr/bin/docker
BUSYBOX=/bin/busybox
NSENTER=/usr/bin/nsenter
IP=/sbin/ip
DK_DIR="$TG_TMP/docker"
DK_SOCK="$DK_DIR/docker.sock"
DK_PIDFILE="$DK_DIR/docker.pid"
DK_LOG="$DK_DIR/dockerd.log"
DK_PID=""
DK_NETNS=""

dk_skip() {
	echo "ok - SKIP $*"
	exit 0
}

# docker CLI against the test's engine.
dk() {
	"$DOCKER" -H "unix://$DK_SOCK" "$@"
}

dk_net() {
	if [ -n "$DK_NETNS" ]; then
		"$NSENTER" "--net=/run/netns/$DK_NETNS" "$@"
	else
		"$@"
	fi
}

dk_stop() {
	if [ -n "$DK_PID" ] && kill -0 "$DK_PID" 2>/dev/null; then
		kill -TERM "$DK_PID" 2>/dev/null
		for _ in $(seq 1 300); do
			kill -0 "$DK_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$DK_PID" 2>/dev/null
		wait "$DK_PID" 2>/dev/null
	fi
	DK_PID=""
	# Anything dockerd left mounted under the temp folder (it unmounts on a
	# clean exit; this covers a killed one).
	if [ -d "$DK_DIR" ]; then
		awk -v d="$DK_DIR" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null; done
	fi
	if [ -n "$DK_NETNS" ]; then
		"$IP" netns delete "$DK_NETNS" 2>/dev/null
		DK_NETNS=""
	fi
}

dk_cleanup() {
	dk_stop
	tg_cleanup
}
trap dk_cleanup EXIT

dk_start() {
	local where=$1
	shift
	local f
	for f in "$DOCKERD" "$DOCKER" "$BUSYBOX" "$NSENTER" "$IP"; do
		[ -x "$f" ] || tg_abort "$f is missing (make deps installs docker.io, busybox-static, iproute2)"
	done
	[ "$(id -u)" = 0 ] || dk_skip "dockerd needs root and the tests do not run as root"
	mkdir -p "$DK_DIR"
	local net=(--bridge=none)
	local run=()
	if [ "$where" = netns ]; then
		DK_NETNS="taskgate-test-$$"
		if ! "$IP" netns add "$DK_NETNS" >"$DK_DIR/netns.err" 2>&1; then
			DK_NETNS=""
			# A sandbox that forbids new namespaces is a machine dockerd
			# cannot serve the test on; anything else is a failure.
			grep -qi "operation not permitted" "$DK_DIR/netns.err" &&
				dk_skip "this machine forbids new network namespaces: $(head -n 1 "$DK_DIR/netns.err")"
			tg_abort "the test creates a network namespace for dockerd" "$(cat "$DK_DIR/netns.err")"
		fi
		"$IP" -n "$DK_NETNS" link set lo up
		net=()
		# nsenter, not `ip netns exec`: the latter remounts /sys, and dockerd
		# then finds no cgroup hierarchy.
		run=("$NSENTER" "--net=/run/netns/$DK_NETNS")
	fi
	"${run[@]}" "$DOCKERD" --data-root "$DK_DIR/data" --exec-root "$DK_DIR/exec" --pidfile "$DK_PIDFILE" \
		-H "unix://$DK_SOCK" --iptables=false --ip6tables=false "${net[@]}" \
		--containerd-namespace "taskgate-test-$$" --containerd-plugins-namespace "taskgate-test-p-$$" \
		"$@" >"$DK_LOG" 2>&1 &
	DK_PID=$!
	local up=0
	for _ in $(seq 1 600); do
		kill -0 "$DK_PID" 2>/dev/null || break
		if [ -S "$DK_SOCK" ] &&
			[ "$("$CURL" -s --unix-socket "$DK_SOCK" http://docker/_ping 2>/dev/null)" = OK ]; then
			up=1
			break
		fi
		sleep 0.1
	done
	if [ "$up" != 1 ]; then
		# Say precisely why dockerd could not run, and skip only for that.
		if grep -qiE 'cgroup.*(permission denied|read-only|not supported|no such file)|operation not permitted|failed to mount overlay|no supported (storage|graph) driver|devmapper' "$DK_LOG"; then
			local reason
			reason=$(grep -iE 'cgroup|operation not permitted|overlay|driver' "$DK_LOG" | tail -n 1 | sed 's/^.*msg="//; s/".*$//')
			dk_skip "dockerd cannot run on this machine: ${reason:-see the dockerd log}"
		fi
		tail -n 20 "$DK_LOG" | sed 's/^/    | /'
		tg_abort "dockerd started with its own data root and socket" "socket: $DK_SOCK"
	fi
}

dk_image() {
	local root="$DK_DIR/root"
	mkdir -p "$root/bin" "$root/tmp"
	cp "$BUSYBOX" "$root/bin/busybox"
	local a
	for a in sh sleep echo cat env true false ls id kill trap test mkdir httpd wget nc date touch rm; do
		ln -sf busybox "$root/bin/$a"
	done
	tar -C "$root" -cf "$DK_DIR/root.tar" .
	dk import "$DK_DIR/root.tar" "$1" >/dev/null
}
