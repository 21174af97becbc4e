#!/usr/bin/env bash
# tests/integration/test_audit_crash.sh - the decision log's guarantees under
# failure: a store that cannot take writes (full) answers 503 and carries
# nothing out; `kill -9` in the middle of a load loses no record of a request
# that got an answer (each client keeps the x-amzn-RequestId of every answer
# it received, and each must be in the log), and the crashed log verifies.
. "$(dirname "$0")/lib.sh"

T=$TG_TMP
UA=$(printf 'load-%.0s' $(seq 1 40)) # a long user agent: big records fill the store sooner

# urls N PATH...: N URLs cycling through the paths, each with its own
# "-o /dev/null", for one keep-alive curl.
urls() {
	local n=$1 i=0
	shift
	local paths=("$@")
	while [ "$i" -lt "$n" ]; do
		printf -- '-o\n/dev/null\n%s%s\n' "$TG_URL" "${paths[$((i % ${#paths[@]}))]}"
		i=$((i + 1))
	done
}

# load OUT N PATH...: N requests on one connection; one line per answer:
# "<status> <request id>" (status 000 and no id when no answer came).
load() {
	local out=$1 n=$2
	shift 2
	# shellcheck disable=SC2046
	"$CURL" -sS --max-time 60 --cacert "$TG_CERTS/ca.crt" -A "$UA" \
		-w '%{http_code} %header{x-amzn-requestid}\n' $(urls "$n" "$@") >>"$out" 2>/dev/null
}

# ---------------------------------------------------------------- a full store
tg_config | sed 's|"path": "[^"]*"|&, "max_size_mb": 1|' >"$T/full.json"
tg_start "$T/full.json" || tg_abort "serve starts with store.max_size_mb 1"
: >"$T/full.out"
for round in $(seq 1 40); do
	load "$T/full.out" 100 /health /nope
	grep -q '^503 ' "$T/full.out" && break
done
check "once the store is full, requests are answered 503" grep -q '^503 ' "$T/full.out"
code=$(tg_curl -A "$UA" -o "$T/503.json" -w '%{http_code}' "$TG_URL/health")
check "every request after that is 503 too" test "$code" = 503
check "the 503 is the audit refusal, not the health answer (nothing ran)" \
	tg_json "$T/503.json" 'j["__type"] == "ServiceUnavailable" and "not carried out" in j["message"] and "store" not in j or exit(1)'
check "the failure is logged with the store's reason" \
	sh -c "grep '\"msg\":\"audit append failed\"' '$TG_LOG' | grep -qi 'full'"
tg_stop TERM
check "the server still stops cleanly" test "$TG_EXIT" = 0
# Every answered 200 has its decision and outcome; every 503 "not carried
# out" has no decision record at all.
"$SQLITE" -readonly "$TG_DB" "SELECT request_id || ' ' || json_extract(record, '\$.recordType') FROM audit_events" | sort >"$T/full.rec"
missing=0; ran=0; outcome=0
while read -r st id; do
	case "$st" in
	200) grep -qx "$id decision" "$T/full.rec" && grep -qx "$id outcome" "$T/full.rec" || missing=$((missing + 1)) ;;
	503)
		grep -qx "$id decision" "$T/full.rec" && ran=$((ran + 1))
		grep -qx "$id outcome" "$T/full.rec" && outcome=$((outcome + 1)) ;;
	esac
done <"$T/full.out"
check "every 200 before the store filled has its decision and outcome records" test "$missing" = 0
check "no 503 has an outcome record" test "$outcome" = 0
# One request may straddle the moment the store filled: its decision was
# committed (so it ran) and its outcome was not; it got the 503 that says
# so. Every later one has no record at all: nothing of it ran.
check "at most the one request at the boundary ran; every other 503 has no record ($ran)" \
	test "$ran" -le 1
run_verify() { "$TASKGATE" audit verify --store "$TG_DB" >"$T/v.out" 2>&1; }
check "the log of the full store verifies" run_verify

# ---------------------------------------------------------------- kill -9 under load
rm -f "$TG_DB" "$TG_DB-wal" "$TG_DB-shm"
"$TASKGATE" audit keygen "$T/audit.key" >/dev/null
tg_config '"audit": {"key_file": "'"$T/audit.key"'", "checkpoint_every": 50}, "server": {"threads": 4}' >"$T/crash.json"
tg_start "$T/crash.json" || tg_abort "serve starts for the crash test"
pid=$TG_PID
for c in 1 2 3 4; do
	(
		: >"$T/load.$c"
		while [ ! -e "$T/stop" ]; do
			load "$T/load.$c" 50 /health /nope /health || true
			kill -0 "$pid" 2>/dev/null || break
		done
	) &
	eval "client$c=\$!"
done
# Until a few hundred answers came back (bounded: 60 s).
for i in $(seq 1 600); do
	n=$(cat "$T"/load.* 2>/dev/null | grep -c '^[0-9][0-9][0-9] [0-9a-f]')
	[ "$n" -ge 200 ] && break
	sleep 0.1
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null
TG_PID=""
touch "$T/stop"
wait "$client1" "$client2" "$client3" "$client4" 2>/dev/null
cat "$T"/load.* | grep '^[0-9][0-9][0-9] [0-9a-f]' >"$T/answered"
answered=$(wc -l <"$T/answered")
check "the clients got answers before the kill ($answered)" test "$answered" -ge 200
# The crashed database as an auditor would find it (SQLite recovers the WAL).
"$SQLITE" "$TG_DB" "SELECT request_id || ' ' || coalesce(status, 'd') FROM audit_events" | sort -u >"$T/crash.rec"
lost=0
while read -r st id; do
	grep -q "^$id " "$T/crash.rec" || lost=$((lost + 1))
done <"$T/answered"
check "no answered request is missing from the log after kill -9 (lost: $lost)" test "$lost" = 0
lost_outcome=0
while read -r st id; do
	[ "$st" = 200 ] || continue
	grep -qx "$id 200" "$T/crash.rec" || lost_outcome=$((lost_outcome + 1))
done <"$T/answered"
check "every answered 200 has its outcome record too (lost: $lost_outcome)" test "$lost_outcome" = 0
"$TASKGATE" audit public-key "$T/audit.key" >"$T/audit.pub"
"$TASKGATE" audit verify --store "$TG_DB" --public-key "$T/audit.pub" >"$T/v.out" 2>&1
check "the crashed log verifies, checkpoints and signatures included" test $? = 0
check "verify reports records after the last checkpoint as not yet signed, if any" \
	sh -c "grep -q '^OK: records 1\\.\\.' '$T/v.out'"
tg_start "$T/crash.json" || tg_abort "serve starts again on the crashed store"
check "after a restart the gateway answers again" tg_curl -f -o /dev/null "$TG_URL/health"
tg_stop TERM
"$TASKGATE" audit verify --store "$TG_DB" --public-key "$T/audit.pub" >"$T/v2.out" 2>&1
check "the chain goes on across the crash and the restart" test $? = 0
check "a clean stop signs the tail: nothing is left unsigned" sh -c "! grep -q 'not yet signed' '$T/v2.out'"

tg_done
