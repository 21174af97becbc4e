# tests/integration/lib.sh - sourced by every integration test script.
#
# Gives a test a private temp folder, the development PKI (made once per build
# folder in $BUILD/test-certs by certs/mkcerts.sh), a config writer, a server
# started on a free port (port 0, learned through --ready-file), clients with
# the right flags, and the ok/FAIL line protocol tests/run.sh counts. A trap
# stops any server the test started and removes the temp folder, whatever
# happens. Clients are called by full path (/usr/bin/curl, /usr/bin/openssl,
# /usr/bin/sqlite3, /usr/bin/python3): the ones first on PATH may differ from
# a user's.
#
# Usage in a test:
#   . "$(dirname "$0")/lib.sh"
#   tg_config >"$TG_TMP/c.json"            # or tg_config '"log": {"level": "debug"}'
#   tg_start "$TG_TMP/c.json" || tg_abort "server did not start"
#   check "health answers 200" tg_curl -f "$TG_URL/health"
#   tg_stop TERM; check "exits 0" test "$TG_EXIT" = 0
#   tg_done

set -u

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
TASKGATE=${TASKGATE:-$BUILD/taskgate}
CURL=/usr/bin/curl
OPENSSL=/usr/bin/openssl
SQLITE=/usr/bin/sqlite3
PYTHON=/usr/bin/python3

TG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/taskgate-test.XXXXXX")
TG_CERTS="$BUILD/test-certs"
TG_PID=""
TG_PORT=""
TG_URL=""
TG_EXIT=""
TG_LOG=""
TG_DB="$TG_TMP/taskgate.db"
# A command tg_start puts before the server's, which must exec it (so that
# $TG_PID is the server's), e.g. (nsenter --net=/run/netns/NAME).
TG_WRAP=()
tg_failed=0
tg_passed=0

tg_cleanup() {
	if [ -n "$TG_PID" ] && kill -0 "$TG_PID" 2>/dev/null; then
		kill -KILL "$TG_PID" 2>/dev/null
		wait "$TG_PID" 2>/dev/null
	fi
	# Background helpers a test started (slow clients, lock holders).
	local j
	for j in $(jobs -p); do kill "$j" 2>/dev/null; done
	rm -rf "$TG_TMP"
}
trap tg_cleanup EXIT

# ---- the line protocol ----

ok() {
	tg_passed=$((tg_passed + 1))
	echo "ok - $*"
}

# fail SENTENCE [DETAIL...]: each detail line is printed indented under it.
fail() {
	tg_failed=$((tg_failed + 1))
	echo "FAIL - $1"
	shift
	local l
	for l in "$@"; do printf '    %s\n' "$l"; done
}

# check SENTENCE CMD...: ok when CMD exits 0; otherwise FAIL with its output.
check() {
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		local rc=$?
		fail "$name" "command: $*" "exit status: $rc"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/    | /'
	fi
}

# check_fails SENTENCE CMD...: ok when CMD exits non-zero.
check_fails() {
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then
		fail "$name" "command: $*" "expected a failure, got exit status 0"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/    | /'
	else
		ok "$name"
	fi
}

# tg_abort MESSAGE: a failure that makes the rest of the script meaningless.
tg_abort() {
	fail "$1" "${@:2}"
	[ -n "$TG_LOG" ] && [ -f "$TG_LOG" ] && tail -n 20 "$TG_LOG" | sed 's/^/    | /'
	exit 1
}

# tg_done: the script's exit status (1 if anything failed).
tg_done() {
	[ "$tg_failed" -eq 0 ]
	exit $?
}

# ---- the last client call ----
# Scripts that drive clients keep the last call's stdout in $out, stderr in
# $err and exit status in $rc (they may point out and err elsewhere); these
# read them.
out="$TG_TMP/out"
err="$TG_TMP/err"
rc=0

# j EXPR: the Python expression EXPR over the JSON of the last answer.
j() { tg_json "$out" "$1"; }

# expect SENTENCE CONDITION...: ok/FAIL; a FAIL shows the last answer.
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

# poll SECONDS CMD...: runs CMD every half second until it succeeds; 1 when
# it never did within SECONDS.
poll() {
	local until=$((SECONDS + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$SECONDS" -ge "$until" ] && return 1
		sleep 0.5
	done
}

# ---- certificates and configuration ----

# The dev PKI for tests, made once per build folder (fast when it exists).
tg_certs() {
	"$TOP/certs/mkcerts.sh" "$TG_CERTS" >/dev/null 2>&1 ||
		tg_abort "certs/mkcerts.sh makes the test certificates"
}
tg_certs

# tg_config [EXTRA]: prints a config for a server on 127.0.0.1 port 0 with the
# test certificates, a store in the temp folder and the task endpoint on
# 127.0.0.1 port 0 (never the real 51679: tests run side by side). EXTRA is
# more top-level members, e.g. '"log": {"level": "debug"}'; a key given in
# EXTRA must not be one of listen/tls/store/task_endpoint (write the whole
# file for those, with a task_endpoint on port 0).
tg_config() {
	local extra=${1:-}
	printf '{\n  "listen": "127.0.0.1:0",\n'
	printf '  "tls": {"cert": "%s", "key": "%s"},\n' "$TG_CERTS/server.crt" "$TG_CERTS/server.key"
	printf '  "store": {"path": "%s"},\n' "$TG_DB"
	printf '  "task_endpoint": {"listen": "127.0.0.1:0"}'
	[ -n "$extra" ] && printf ',\n  %s' "$extra"
	printf '\n}\n'
}

# ---- the server ----

# tg_start CONFIG [MORE ARGS]: starts `taskgate serve` in the background with
# its stderr in $TG_LOG, waits (up to 15 s) for the ready file and sets
# TG_PORT and TG_URL (https://localhost:PORT), and TG_TASK_PORT (the task
# endpoint's port; the log must be JSON). Returns 1 if it did not come up.
tg_start() {
	local cfg=$1
	shift
	local ready="$TG_TMP/ready"
	rm -f "$ready"
	TG_LOG="$TG_TMP/server.$(date +%s%N).log"
	"${TG_WRAP[@]}" "$TASKGATE" serve --config "$cfg" --ready-file "$ready" "$@" 2>"$TG_LOG" &
	TG_PID=$!
	TG_EXIT=""
	local i
	for i in $(seq 1 150); do
		if [ -s "$ready" ]; then
			TG_PORT=$(cat "$ready")
			TG_URL="https://localhost:$TG_PORT"
			# the task endpoint's port, from its "task endpoint listening" line
			TG_TASK_PORT=$(sed -n 's/.*"msg":"task endpoint listening".*"port":\([0-9]*\).*/\1/p' "$TG_LOG" | head -n 1)
			return 0
		fi
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

# tg_stop [SIGNAL]: sends SIGNAL (default TERM), waits up to 30 s for the exit,
# sets TG_EXIT. A server that does not exit is killed and TG_EXIT is "hung".
tg_stop() {
	local sig=${1:-TERM}
	[ -n "$TG_PID" ] || return 0
	kill -"$sig" "$TG_PID" 2>/dev/null
	local i
	for i in $(seq 1 300); do
		kill -0 "$TG_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$TG_PID" 2>/dev/null; then
		kill -KILL "$TG_PID" 2>/dev/null
		wait "$TG_PID" 2>/dev/null
		TG_EXIT=hung
	else
		wait "$TG_PID"
		TG_EXIT=$?
	fi
	TG_PID=""
}

# ---- clients ----

# tg_curl ARGS...: curl verifying the server against the test CA (never -k).
tg_curl() {
	"$CURL" -sS --max-time 20 --cacert "$TG_CERTS/ca.crt" "$@"
}

# tg_tls HOST:PORT ARGS...: an openssl s_client handshake; exit 0 if it completed.
tg_tls() {
	local target=$1
	shift
	"$OPENSSL" s_client -connect "$target" -servername localhost -CAfile "$TG_CERTS/ca.crt" \
		-verify_return_error "$@" </dev/null
}

# tg_json FILE EXPR: prints the Python expression EXPR over the JSON in FILE
# bound to j, e.g. tg_json body.json 'j["store"]["ok"]'; exit 1 if not JSON.
tg_json() {
	"$PYTHON" -c 'import json,sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"j": j})
print(json.dumps(v) if not isinstance(v, str) else v)' "$1" "$2"
}

# tg_log_lines MSG: the JSON log lines of $TG_LOG whose msg is MSG.
tg_log_lines() {
	grep -F "\"msg\":\"$1\"" "$TG_LOG"
}

# tg_sql SQL: runs SQL against the test database (read-only).
tg_sql() {
	"$SQLITE" -readonly "$TG_DB" "$1"
}
