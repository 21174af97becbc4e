#!/usr/bin/env bash
# tests/integration/test_serve.sh - `taskgate serve` over real TLS with real
# clients: /health, TLS versions and ciphers, errors, the request log, the
# audit row of every request, limits, configuration errors and the shutdown
# on SIGTERM/SIGINT with a request in flight.
. "$(dirname "$0")/lib.sh"

T=$TG_TMP

# ---------------------------------------------------------------- health
tg_config >"$T/c.json"
tg_start "$T/c.json" || tg_abort "serve starts with a valid configuration"
ok "serve starts on a free port and writes it to the ready file"
check "the listening line names the address and the bound port" \
	grep -q "\"msg\":\"listening\",\"addr\":\"127.0.0.1\",\"port\":$TG_PORT," "$TG_LOG"

tg_curl -D "$T/h.hdr" -o "$T/h.json" -w '%{http_code}' "$TG_URL/health" >"$T/h.code" 2>"$T/h.err"
check "GET /health answers 200 over TLS verified against the dev CA" grep -qx 200 "$T/h.code"
check "/health says status ok" test "$(tg_json "$T/h.json" 'j["status"]')" = ok
check "/health carries the version" test "$(tg_json "$T/h.json" 'j["version"]')" = "$(cat "$TOP/VERSION")"
check "/health reports the store ok with its schema version" \
	tg_json "$T/h.json" 'j["store"]["ok"] is True and isinstance(j["store"]["schema_version"], int) and j["store"]["schema_version"] >= 1 or exit(1)'
check "/health answers application/json" grep -qi '^content-type: application/json' "$T/h.hdr"
rid=$(sed -n 's/^x-amzn-RequestId: \([0-9a-f]*\).*/\1/ip' "$T/h.hdr" | tr -d '\r')
check "each response carries a 128-bit hex request id" test "${#rid}" = 32

check "HEAD /health answers 200" tg_curl -I -f -o /dev/null "$TG_URL/health"

# ---------------------------------------------------------------- TLS
check_fails "a client trusting another CA refuses the server's certificate" \
	"$CURL" -sS --max-time 10 --cacert "$TG_CERTS/wrong-ca.crt" "$TG_URL/health"
check "TLS 1.2 is accepted" tg_curl -f --tlsv1.2 --tls-max 1.2 -o /dev/null "$TG_URL/health"
check "TLS 1.3 is accepted" tg_curl -f --tlsv1.3 -o /dev/null "$TG_URL/health"
check_fails "TLS 1.1 is refused (client offering only TLS 1.1, all ciphers allowed)" \
	tg_tls "127.0.0.1:$TG_PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
check_fails "a CBC-only TLS 1.2 client is refused" \
	tg_tls "127.0.0.1:$TG_PORT" -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA'
check "a TLS 1.2 AEAD client is accepted by the same s_client check" \
	tg_tls "127.0.0.1:$TG_PORT" -tls1_2 -cipher 'ECDHE-ECDSA-AES128-GCM-SHA256'

# ---------------------------------------------------------------- errors
code=$(tg_curl -o "$T/404.json" -w '%{http_code}' "$TG_URL/no/such/path")
check "an unknown path answers 404" test "$code" = 404
check "the 404 body is a JSON error with a type and a message" \
	tg_json "$T/404.json" 'j["__type"] == "NotFound" and len(j["message"]) > 0 or exit(1)'
code=$(tg_curl -D "$T/405.hdr" -o "$T/405.json" -w '%{http_code}' -X DELETE "$TG_URL/health")
check "a wrong method answers 405" test "$code" = 405
check "the 405 names the allowed methods" grep -qi '^allow: GET, HEAD' "$T/405.hdr"
check "the 405 body is a JSON error" tg_json "$T/405.json" 'j["__type"] == "MethodNotAllowed" or exit(1)'
head -c $((1024 * 1024 + 1)) /dev/zero >"$T/big.bin"
head -c $((1024 * 1024)) /dev/zero >"$T/max.bin"
# With Expect: 100-continue (what curl and SDKs send for large bodies) the
# announced length is refused before a byte of the body is sent. A client that
# sends an oversized body without waiting may see its connection reset before
# it reads the 413 (the server closes instead of reading on); that race is not
# asserted here, the server's side of it is (the 413 audit row below).
code=$(tg_curl -o "$T/413.json" -w '%{http_code}' -H 'Expect: 100-continue' --data-binary @"$T/big.bin" "$TG_URL/health")
check "a body one byte over 1 MiB is refused with 413" test "$code" = 413
check "the 413 body is a JSON error" tg_json "$T/413.json" 'j["__type"] == "RequestEntityTooLarge" or exit(1)'
code=$(tg_curl -o /dev/null -w '%{http_code}' --data-binary @"$T/max.bin" "$TG_URL/health")
check "a body of exactly 1 MiB is read (and the POST gets 405)" test "$code" = 405

# ---------------------------------------------------------------- request log
secret_auth="AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/ecs/aws4_request, Signature=f0e1d2c3b4a5secretsig"
secret_token="IQoJb3JpZ2luX2VjEXAMPLEsessiontoken"
tg_curl -o /dev/null -A 'tg-test-agent/1.0' -H "Authorization: $secret_auth" \
	-H "X-Amz-Security-Token: $secret_token" --data-binary 'bodysecret=hunter2' \
	"$TG_URL/health?X-Amz-Signature=querysecret42" || true
sleep 0.2
line=$(grep -F '"user_agent":"tg-test-agent/1.0"' "$TG_LOG" | tail -n 1)
printf '%s\n' "$line" >"$T/line.json"
check "a request leaves one JSON log line" tg_json "$T/line.json" 'j["msg"] == "request" or exit(1)'
check "the request line has time, level, request id, remote address, method, path, status, bytes, latency and user agent" \
	tg_json "$T/line.json" 'all(k in j for k in ("time","level","request_id","remote_addr","method","path","status","bytes","latency_us","user_agent")) or exit(1)'
check "the request line's time is UTC with microseconds" \
	tg_json "$T/line.json" 'bool(__import__("re").fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", j["time"])) or exit(1)'
check "the request line's id is 32 hex digits" \
	tg_json "$T/line.json" 'bool(__import__("re").fullmatch(r"[0-9a-f]{32}", j["request_id"])) or exit(1)'
# The made-up signature is refused by authentication (400 IncompleteSignature)
# before the route is looked at.
check "the request line records method, path without query, status and remote address" \
	tg_json "$T/line.json" '(j["method"], j["path"], j["status"], j["remote_addr"]) == ("POST", "/health", 400, "127.0.0.1") or exit(1)'
check_fails "the Authorization header value never reaches the log" grep -q "f0e1d2c3b4a5secretsig" "$TG_LOG"
check_fails "the X-Amz-Security-Token value never reaches the log" grep -q "$secret_token" "$TG_LOG"
check_fails "the query string (pre-signed URL signatures) never reaches the log" grep -q "querysecret42" "$TG_LOG"
check_fails "request bodies never reach the log" grep -q "hunter2" "$TG_LOG"
check "the log line of a response carries the id the response announced" \
	grep -q "\"request_id\":\"$rid\"" "$TG_LOG"
check "every line the server wrote is valid JSON" \
	"$PYTHON" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TG_LOG"

# ---------------------------------------------------------------- SIGTERM, audit
log1=$TG_LOG
tg_stop TERM
check "SIGTERM stops the server with exit status 0" test "$TG_EXIT" = 0
check "the shutdown is logged with its signal" grep -q '"msg":"shutdown","signal":"SIGTERM"' "$log1"
check "the stop is logged last" sh -c "tail -n 1 '$log1' | grep -q '\"msg\":\"stopped\"'"
check_fails "the ready file is removed at exit" test -e "$T/ready"
check "the store is closed cleanly (integrity_check ok)" sh -c "test \"\$($SQLITE '$TG_DB' 'PRAGMA integrity_check')\" = ok"
grep -F '"msg":"request"' "$log1" | "$PYTHON" -c 'import json,sys
print("\n".join(sorted(json.loads(l)["request_id"] for l in sys.stdin)))' >"$T/log.ids"
tg_sql 'SELECT DISTINCT request_id FROM audit_events ORDER BY request_id' >"$T/db.ids"
check "every request left its audit records under its request id" \
	sh -c "test -s '$T/log.ids' && diff '$T/log.ids' '$T/db.ids'"
check "the audit row of /health names the action and the decision" \
	sh -c "test \"\$($SQLITE -readonly '$TG_DB' \"SELECT group_concat(action || ' ' || decision || ' ' || json_extract(record, '\$.recordType'), ';') FROM audit_events WHERE request_id = '$rid'\")\" = 'taskgate:GetHealth Allow decision;taskgate:GetHealth Allow outcome'"
check "the audit row of a 404 records the status and error code" \
	sh -c "$SQLITE -readonly '$TG_DB' \"SELECT status, error_code FROM audit_events WHERE status = 404\" | grep -qx '404|NotFound'"
check "audit records carry the configured account and region" \
	sh -c "$SQLITE -readonly '$TG_DB' \"SELECT json_extract(record, '\$.recipientAccountId') || ' ' || json_extract(record, '\$.awsRegion') FROM audit_events LIMIT 1\" | grep -qx '111122223333 us-east-1'"
check_fails "audit records hold no credential either" \
	sh -c "$SQLITE -readonly '$TG_DB' 'SELECT record FROM audit_events' | grep -q -e secretsig -e '$secret_token' -e querysecret42 -e hunter2"

# ---------------------------------------------------------------- in-flight request at SIGTERM
tg_start "$T/c.json" || tg_abort "serve starts again on the same store"
head -c 60000 /dev/zero >"$T/slow.bin"
# 60 kB at 20 kB/s: the upload takes about three seconds.
tg_curl -o "$T/slow.json" -w '%{http_code}' -H 'Expect:' --limit-rate 20k \
	--data-binary @"$T/slow.bin" "$TG_URL/health" >"$T/slow.code" 2>"$T/slow.err" &
slow=$!
sleep 1
kill -TERM "$TG_PID"
sleep 0.3
check_fails "while draining, new connections are refused" \
	"$CURL" -sS --max-time 3 --cacert "$TG_CERTS/ca.crt" -o /dev/null "$TG_URL/health"
wait "$slow"
check "a slow upload in flight at SIGTERM still gets its complete answer" grep -qx 405 "$T/slow.code"
log2=$TG_LOG
tg_stop TERM
check "after draining, the server exits 0" test "$TG_EXIT" = 0
check "the shutdown line counted the request in flight" grep -q '"msg":"shutdown","signal":"SIGTERM","in_flight":1' "$log2"
check "the in-flight request's log line comes before the stop" \
	sh -c "grep -n '\"status\":405' '$log2' | tail -n1 | cut -d: -f1 | { read a; b=\$(grep -n '\"msg\":\"stopped\"' '$log2' | cut -d: -f1); [ \"\$a\" -lt \"\$b\" ]; }"

# ---------------------------------------------------------------- SIGINT, bounded wait
tg_config '"server": {"shutdown_timeout_s": 1}' >"$T/c-short.json"
tg_start "$T/c-short.json" || tg_abort "serve starts with shutdown_timeout_s 1"
head -c 100000 /dev/zero >"$T/slower.bin"
tg_curl -o /dev/null -H 'Expect:' --limit-rate 10k --data-binary @"$T/slower.bin" \
	"$TG_URL/health" >/dev/null 2>&1 &
slower=$!
sleep 1
start=$(date +%s)
tg_stop INT
took=$(($(date +%s) - start))
check "SIGINT stops the server with exit status 0" test "$TG_EXIT" = 0
check "a request longer than shutdown_timeout_s does not hold the exit (took ${took}s)" test "$took" -le 4
check "the abandoned request is logged as such" grep -q '"msg":"shutdown timeout","abandoned":1' "$TG_LOG"
check "the store is still consistent after an abandoned request" \
	sh -c "test \"\$($SQLITE '$TG_DB' 'PRAGMA integrity_check')\" = ok"
wait "$slower"

# ---------------------------------------------------------------- fail closed
tg_config '"server": {"threads": 1}' | sed 's|"path": "[^"]*"|&, "busy_timeout_ms": 50|' >"$T/c-busy.json"
tg_start "$T/c-busy.json" || tg_abort "serve starts with busy_timeout_ms 50"
check "before the lock, /health answers 200" tg_curl -f -o /dev/null "$TG_URL/health"
before=$(tg_sql 'SELECT count(*) FROM audit_events')
mkfifo "$T/lock.fifo"
"$SQLITE" "$TG_DB" <"$T/lock.fifo" >"$T/lock.out" 2>&1 &
lockpid=$!
exec 7>"$T/lock.fifo"
echo "BEGIN EXCLUSIVE;" >&7
# Locked once another writer cannot begin (an empty transaction, rolled back).
for i in $(seq 1 50); do
	"$SQLITE" "$TG_DB" "PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1 || break
	sleep 0.1
done
code=$(tg_curl -o "$T/503.json" -w '%{http_code}' "$TG_URL/health")
check "when the audit append fails, the request is refused with 503" test "$code" = 503
check "the 503 says the audit log could not record the request" \
	tg_json "$T/503.json" 'j["__type"] == "ServiceUnavailable" and "audit" in j["message"] or exit(1)'
check "the failed append is logged as an error" grep -q '"level":"error","msg":"audit append failed"' "$TG_LOG"
echo "COMMIT;" >&7
exec 7>&-
wait "$lockpid"
check "once the store takes writes again, /health answers 200" tg_curl -f -o /dev/null "$TG_URL/health"
tg_stop TERM
after=$(tg_sql 'SELECT count(*) FROM audit_events')
check "the refused request left no audit row and the next one did (decision and outcome)" test "$after" = $((before + 2))

# ---------------------------------------------------------------- limits and IPv6
cat >"$T/c-v6.json" <<EOF
{"listen": {"address": "::1", "port": 0},
 "tls": {"cert": "$TG_CERTS/server.crt", "key": "$TG_CERTS/server.key"},
 "store": {"path": "$TG_DB", "synchronous": "NORMAL"},
 "task_endpoint": {"listen": "[::1]:0"},
 "limits": {"max_connections_per_ip": 2, "max_body_bytes": 4096},
 "log": {"level": "warn"}}
EOF
if tg_start "$T/c-v6.json"; then
	ok "serve starts on [::1] with port 0"
	check "/health answers over IPv6 with the certificate's ::1 address" \
		tg_curl -f -o /dev/null "https://[::1]:$TG_PORT/health"
	code=$(tg_curl -o /dev/null -w '%{http_code}' -H 'Expect: 100-continue' --data-binary @"$T/slow.bin" "https://[::1]:$TG_PORT/health")
	check "limits.max_body_bytes lowers the body limit (60 kB > 4 KiB: 413)" test "$code" = 413
	code=$(tg_curl -o /dev/null -w '%{http_code}' --data-binary 'x=1' "https://[::1]:$TG_PORT/health")
	check "a body under limits.max_body_bytes is read (405 for POST)" test "$code" = 405
	printf '%s' "$(head -c 8000 /dev/zero | tr '\0' a)" >"$T/chunk.bin"
	tg_curl -o /dev/null -H 'Transfer-Encoding: chunked' --data-binary @"$T/chunk.bin" \
		"https://[::1]:$TG_PORT/health" >/dev/null 2>&1
	check "a chunked body over the limit gets its connection closed" test $? -ne 0
	# Two connections held open (their stdin is a FIFO nobody writes to until
	# fd 8 closes), counted on the server's side before the third is tried.
	mkfifo "$T/hold.fifo"
	exec 8<>"$T/hold.fifo"
	"$OPENSSL" s_client -connect "[::1]:$TG_PORT" <"$T/hold.fifo" >/dev/null 2>&1 8>&- &
	hold1=$!
	"$OPENSSL" s_client -connect "[::1]:$TG_PORT" <"$T/hold.fifo" >/dev/null 2>&1 8>&- &
	hold2=$!
	for i in $(seq 1 100); do
		[ "$(ss -Htn state established "( sport = :$TG_PORT )" | wc -l)" -ge 2 ] && break
		sleep 0.05
	done
	sleep 0.2 # both handshakes done, not merely connected
	check_fails "a third connection from one address is refused (max_connections_per_ip 2)" \
		tg_curl -o /dev/null "https://[::1]:$TG_PORT/health"
	exec 8>&-
	wait "$hold1" "$hold2"
	check "once those connections close, the address is served again" \
		tg_curl -f -o /dev/null "https://[::1]:$TG_PORT/health"
	tg_stop TERM
	check_fails "log.level warn leaves out the info request lines" grep -q '"msg":"request","request_id"[^}]*"status":200' "$TG_LOG"
	check "log.level warn still logs the chunked 413 (a warning: no response)" grep -q '"status":413' "$TG_LOG"
	check "the chunked 413 left an audit row" \
		sh -c "$SQLITE -readonly '$TG_DB' 'SELECT count(*) FROM audit_events WHERE status = 413' | grep -qv '^0$'"
else
	fail "serve starts on [::1] with port 0"
fi

# ---------------------------------------------------------------- text log format
tg_config '"log": {"format": "text"}' >"$T/c-text.json"
if tg_start "$T/c-text.json"; then
	tg_curl -o /dev/null "$TG_URL/health"
	tg_stop HUP
	check "SIGHUP stops the server cleanly too (exit 0)" test "$TG_EXIT" = 0
	check "log.format text writes key=value lines" \
		grep -q "^time=[0-9T:.-]*Z level=info msg=request request_id=[0-9a-f]* remote_addr=127.0.0.1 method=GET path=/health status=200 " "$TG_LOG"
else
	fail "serve starts with log.format text"
fi

# ---------------------------------------------------------------- tls.priorities
# The control for the TLS refusals above: with a permissive priority string the
# very same client commands succeed, so the refusals come from the server's
# configuration and not from the client.
tg_config | sed 's|"key": "[^"]*"|&, "priorities": "NORMAL:+VERS-TLS1.1:+AES-128-CBC:+SHA1:+SHA256"|' >"$T/c-weak.json"
if tg_start "$T/c-weak.json"; then
	check "with tls.priorities allowing it, the same TLS 1.1 client is accepted" \
		tg_tls "127.0.0.1:$TG_PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
	check "with tls.priorities allowing it, the same CBC-only client is accepted" \
		tg_tls "127.0.0.1:$TG_PORT" -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA'
	tg_stop TERM
else
	fail "serve starts with a custom tls.priorities"
fi
tg_config | sed 's|"key": "[^"]*"|&, "priorities": "NORMAL:+NOT-A-THING"|' >"$T/c-badprio.json"
"$TASKGATE" serve --config "$T/c-badprio.json" >/dev/null 2>"$T/prio.err"
check "an invalid tls.priorities string is a configuration error (exit 2) naming the key" \
	sh -c "test $? = 2 && grep -q 'config: tls.priorities:' '$T/prio.err'"

# ---------------------------------------------------------------- configuration errors
run_serve() {
	"$TASKGATE" serve "$@" >"$T/out" 2>"$T/err"
	echo $? >"$T/rc"
}
printf '{"listne": "127.0.0.1:0"}' >"$T/bad1.json"
run_serve --config "$T/bad1.json"
check "an unknown configuration key exits 2" grep -qx 2 "$T/rc"
check "the message names the unknown key" grep -q 'config: listne: unknown key' "$T/err"
printf '{"listen": {"port": "8443"}}' >"$T/bad2.json"
run_serve --config "$T/bad2.json"
check "a value of the wrong type exits 2" grep -qx 2 "$T/rc"
check "the message names the key and the expected type" grep -q 'config: listen.port: expected an integer' "$T/err"
printf '{"listen": "127.0.0.1:0",' >"$T/bad3.json"
run_serve --config "$T/bad3.json"
check "a file that is not JSON exits 2 with the position" sh -c "grep -qx 2 '$T/rc' && grep -q 'config: line 1' '$T/err'"
run_serve --config "$T/missing.json"
check "a configuration file that does not exist exits 2 naming it" sh -c "grep -qx 2 '$T/rc' && grep -q 'missing.json' '$T/err'"
tg_config | sed "s|$TG_CERTS/server.key|$T/nokey.pem|" >"$T/bad4.json"
run_serve --config "$T/bad4.json"
check "a valid configuration whose key file is missing exits 1 naming it" \
	sh -c "grep -qx 1 '$T/rc' && grep -q 'nokey.pem' '$T/err'"
run_serve --config "$T/c.json" --ready-file "$T/no/such/dir/ready"
check "a ready file that cannot be written stops the start with exit 1" \
	sh -c "grep -qx 1 '$T/rc' && grep -q 'cannot write the ready file' '$T/err'"
tg_config | sed "s|$TG_DB|$T/no/such/dir/t.db|" >"$T/bad6.json"
run_serve --config "$T/bad6.json"
check "a store in a folder that does not exist stops the start with exit 1" \
	sh -c "grep -qx 1 '$T/rc' && grep -q 'cannot open the store' '$T/err'"
tg_config '"tls_extra": 1' >"$T/bad5.json"
run_serve --config "$T/bad5.json"
check "an unknown key beside valid ones still stops the start" grep -qx 2 "$T/rc"

tg_done
