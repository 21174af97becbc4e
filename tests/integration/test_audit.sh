#!/usr/bin/env bash
# tests/integration/test_audit.sh - the decision log end to end: the audit
# key, CloudTrail-shaped records of real requests (and never a credential),
# the hash chain and signed checkpoints, `taskgate audit verify` on an intact
# log and after each kind of tampering done with the sqlite3 shell (the
# attacker drops the append-only triggers first), each named precisely.
. "$(dirname "$0")/lib.sh"

T=$TG_TMP

run() {
	"$TASKGATE" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

# ---------------------------------------------------------------- the key
run audit keygen "$T/audit.key"
check "audit keygen makes a key and exits 0" test "$rc" = 0
check "the audit key is mode 0600" test "$(stat -c %a "$T/audit.key")" = 600
check "the audit key is an Ed25519 private key" \
	sh -c "'$OPENSSL' pkey -in '$T/audit.key' -noout -text | grep -q ED25519"
run audit keygen "$T/audit.key"
check "audit keygen never overwrites a key (exit 1)" test "$rc" = 1
check "the refusal says the file exists" grep -q "already exists" "$T/err"
run audit keygen
check "audit keygen without a file is a usage error (exit 2)" test "$rc" = 2
run audit public-key "$T/audit.key"
check "audit public-key prints a PEM public key" \
	sh -c "test $rc = 0 && head -n1 '$T/out' | grep -qx -- '-----BEGIN PUBLIC KEY-----'"
cp "$T/out" "$T/audit.pub"
check "the printed public key matches the private key" \
	sh -c "'$OPENSSL' pkey -in '$T/audit.key' -pubout | cmp -s - '$T/audit.pub'"
cp "$T/audit.key" "$T/open.key" && chmod 644 "$T/open.key"
run audit public-key "$T/open.key"
check "a key others may read is refused (exit 1, names chmod)" \
	sh -c "test $rc = 1 && grep -q 'chmod 600' '$T/err'"
for sub in keygen public-key verify; do
	run audit "$sub" --help
	check "audit $sub --help exits 0 with a usage line" \
		sh -c "test $rc = 0 && grep -q '^usage: taskgate audit $sub' '$T/out'"
	run audit "$sub" --no-such-option
	check "audit $sub with an unknown option exits 2" test "$rc" = 2
done
run audit frobnicate
check "an unknown audit command exits 2" test "$rc" = 2

# ---------------------------------------------------------------- records of requests
tg_config '"audit": {"key_file": "'"$T/audit.key"'", "checkpoint_every": 4, "checkpoint_interval_s": 0}' >"$T/c.json"
tg_start "$T/c.json" || tg_abort "serve starts with an audit key"
check "no warning about checkpoints when a key is set" sh -c "! grep -q 'audit checkpoints off' '$TG_LOG'"
tg_curl -D "$T/h1.hdr" -o /dev/null -A 'audit-test/1.0' "$TG_URL/health"
rid=$(grep -i '^x-amzn-requestid:' "$T/h1.hdr" | tr -d '\r' | awk '{print $2}')
check "the response carries a request id" test -n "$rid"
secret_token="eyJhbGciOiJIUzI1NiJ9.c2VjcmV0dG9rZW4.sig"
tg_curl -o /dev/null -H "Authorization: Bearer $secret_token" -H 'X-Amz-Security-Token: FwoGZXIvYXdzEXAMPLEtoken' \
	"$TG_URL/no/such?X-Amz-Signature=querysecret42&X-Amz-Credential=AKIAEXAMPLE"
tg_curl -o /dev/null -X POST --data 'Action=AssumeRole&Password=hunter2' "$TG_URL/nope"
for i in 1 2 3 4 5; do tg_curl -o /dev/null "$TG_URL/health"; done
tg_stop TERM
check "the server stops cleanly" test "$TG_EXIT" = 0

rec() { tg_sql "SELECT record FROM audit_events WHERE request_id = '$rid' ORDER BY seq" ; }
rec >"$T/rec.jsonl"
check "an executed request leaves a decision and an outcome record" test "$(wc -l <"$T/rec.jsonl")" = 2
head -n1 "$T/rec.jsonl" >"$T/r1.json"
tail -n1 "$T/rec.jsonl" >"$T/r2.json"
check "the decision record is CloudTrail-shaped" tg_json "$T/r1.json" \
	'j["eventVersion"] and j["eventSource"] == "taskgate" and j["eventName"] == "GetHealth" and j["eventType"] == "AwsApiCall" and j["requestID"] and j["sourceIPAddress"] == "127.0.0.1" and j["userAgent"] == "audit-test/1.0" and j["userIdentity"]["type"] == "Anonymous" and j["recordType"] == "decision" or exit(1)'
check "eventTime is UTC with microseconds" tg_json "$T/r1.json" \
	'bool(__import__("re").fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", j["eventTime"])) or exit(1)'
check "the decision record says Allow and public, before any status" tg_json "$T/r1.json" \
	'j["decision"] == "Allow" and j["authorization"] == "public" and "httpStatus" not in j or exit(1)'
check "the outcome record has status 200 and a latency" tg_json "$T/r2.json" \
	'j["recordType"] == "outcome" and j["httpStatus"] == 200 and j["latencyUs"] >= 0 and "errorCode" not in j or exit(1)'
check "the outcome's columns hold status and latency" \
	sh -c "tg() { '$SQLITE' -readonly '$TG_DB' \"\$1\"; }; test \"\$(tg \"SELECT status, latency_us IS NOT NULL FROM audit_events WHERE request_id = '$rid' AND status IS NOT NULL\")\" = '200|1'"
check "the 404 is one record with its error code and message" \
	sh -c "'$SQLITE' -readonly '$TG_DB' \"SELECT json_extract(record, '\$.recordType') || ' ' || status || ' ' || error_code || ' ' || (json_extract(record, '\$.errorMessage') IS NOT NULL) FROM audit_events WHERE status = 404\" | sort -u | grep -qx 'request 404 NotFound 1'"
check_fails "no record holds a token, a signature, a password or a session token" \
	sh -c "'$SQLITE' -readonly '$TG_DB' 'SELECT * FROM audit_events' | grep -q -e '$secret_token' -e querysecret42 -e hunter2 -e FwoGZXIvYXdzEXAMPLEtoken -e c2VjcmV0dG9rZW4"
nrec=$(tg_sql 'SELECT count(*) FROM audit_events')
check "every request was recorded ($nrec records)" test "$nrec" -ge 14
ncp=$(tg_sql 'SELECT count(*) FROM audit_checkpoints')
check "checkpoints were written every 4 records and at stop ($ncp)" test "$ncp" -ge 3
check "the last checkpoint covers the last record (written at stop)" \
	test "$(tg_sql 'SELECT max(seq) FROM audit_checkpoints')" = "$(tg_sql 'SELECT max(seq) FROM audit_events')"

# ---------------------------------------------------------------- verify
run audit verify --store "$TG_DB" --public-key "$T/audit.pub"
check "audit verify passes on the untouched log (exit 0)" test "$rc" = 0
check "audit verify says how much it checked, signatures included" \
	grep -q "^OK: records 1\.\.$nrec ($nrec records) chained, $ncp checkpoints with valid signatures" "$T/out"
run audit verify --config "$T/c.json" --public-key "$T/audit.pub"
check "audit verify finds the store through --config" test "$rc" = 0
run audit verify --store "$TG_DB"
check "without --public-key, verify passes but says signatures were not checked" \
	sh -c "test $rc = 0 && grep -q 'signatures NOT checked' '$T/out'"
run audit verify --store "$TG_DB" --from 3 --to 7 --public-key "$T/audit.pub"
check "verify --from --to checks just that range" sh -c "test $rc = 0 && grep -q '^OK: records 3\.\.7 (5 records)' '$T/out'"
run audit verify --store "$TG_DB" --from 7 --to 3
check "verify with --from after --to is a usage error" test "$rc" = 2
run audit verify --store "$TG_DB" --from x
check "verify with a --from that is not a number is a usage error" test "$rc" = 2
run audit keygen "$T/other.key"
"$TASKGATE" audit public-key "$T/other.key" >"$T/other.pub"
run audit verify --store "$TG_DB" --public-key "$T/other.pub"
check "verify with another key's public half fails (exit 1) naming checkpoint 1" \
	sh -c "test $rc = 1 && grep -q '^TAMPERED: checkpoint 1: bad signature' '$T/out'"
run audit verify --store "$T/none.db"
check "verify of a missing store exits 1" test "$rc" = 1

# The tamperer works on a copy, as the auditor does; the triggers go first.
tamper() {
	rm -f "$T/t.db" "$T/t.db-wal" "$T/t.db-shm"
	"$SQLITE" "$TG_DB" ".backup '$T/t.db'"
	"$SQLITE" "$T/t.db" "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;
		DROP TRIGGER audit_checkpoints_no_update; DROP TRIGGER audit_checkpoints_no_delete; $1"
	run audit verify --store "$T/t.db" --public-key "$T/audit.pub"
}

tamper "UPDATE audit_events SET decision = 'ExplicitDeny' WHERE seq = 1"
check "an edited column is detected (exit 1)" test "$rc" = 1
check "...and named: record 1, field decision, both values" \
	grep -q '^TAMPERED: record 1: content changed (hash mismatch); field decision changed: the column says "ExplicitDeny", the record "Allow"' "$T/out"
tamper "UPDATE audit_events SET record = replace(record, '\"httpStatus\":200', '\"httpStatus\":403') WHERE seq = 6"
check "an edited record text is detected and named (record 6, httpStatus)" \
	sh -c "test $rc = 1 && grep -q '^TAMPERED: record 6: content changed (hash mismatch); field status/httpStatus changed: the column says \"200\", the record \"403\"' '$T/out'"
tamper "DELETE FROM audit_events WHERE seq = 5"
check "a deleted record is detected and named (record 5 missing)" \
	sh -c "test $rc = 1 && grep -q '^TAMPERED: record 5 missing' '$T/out'"
tamper "UPDATE audit_events SET seq = -1 WHERE seq = 7; UPDATE audit_events SET seq = 7 WHERE seq = 8; UPDATE audit_events SET seq = 8 WHERE seq = -1"
check "two swapped records are detected and named (records 7/8 out of order)" \
	sh -c "test $rc = 1 && grep -q '^TAMPERED: records 7/8 out of order' '$T/out'"
tamper "DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)"
check "a removed tail is detected through the checkpoint that covered it" \
	sh -c "test $rc = 1 && grep -q '^TAMPERED: checkpoint [0-9]*: record $nrec missing' '$T/out'"
tamper "UPDATE audit_checkpoints SET head_hash = (SELECT hash FROM audit_events WHERE seq = 2) WHERE id = 1"
check "a checkpoint with a replaced head is detected (bad signature, checkpoint 1)" \
	sh -c "test $rc = 1 && grep -q '^TAMPERED: checkpoint 1: bad signature' '$T/out'"

# A forged checkpoint: the attacker signs a real-looking message with a key of
# their own (they do not have the gateway's).
cp_seq=$(tg_sql 'SELECT seq FROM audit_checkpoints WHERE id = 2')
cp_time=$(tg_sql 'SELECT time_us FROM audit_checkpoints WHERE id = 2')
cp_head=$(tg_sql 'SELECT lower(hex(head_hash)) FROM audit_checkpoints WHERE id = 2')
cp_kid=$(tg_sql 'SELECT key_id FROM audit_checkpoints WHERE id = 2')
printf 'taskgate-audit-checkpoint-v1\nid 2\nseq %s\nhead %s\ntime_us %s\nkey_id %s\n' \
	"$cp_seq" "$cp_head" "$cp_time" "$cp_kid" >"$T/cp.msg"
"$OPENSSL" pkeyutl -sign -inkey "$T/audit.key" -rawin -in "$T/cp.msg" -out "$T/cp.real.sig"
check "the checkpoint message format is what docs/audit.md says (real signature reproduces)" \
	test "$(xxd -p "$T/cp.real.sig" | tr -d '\n')" = "$(tg_sql 'SELECT lower(hex(signature)) FROM audit_checkpoints WHERE id = 2')"
"$OPENSSL" pkeyutl -sign -inkey "$T/other.key" -rawin -in "$T/cp.msg" -out "$T/cp.sig"
forged=$(xxd -p "$T/cp.sig" | tr -d '\n')
tamper "UPDATE audit_checkpoints SET signature = x'$forged' WHERE id = 2"
check "a checkpoint signed with another key is detected (checkpoint 2, bad signature)" \
	sh -c "test $rc = 1 && grep -q '^TAMPERED: checkpoint 2: bad signature' '$T/out'"
tamper "DELETE FROM audit_checkpoints WHERE id = 2"
check "a deleted checkpoint is detected (checkpoint 2 missing)" \
	sh -c "test $rc = 1 && grep -q '^TAMPERED: checkpoint 2 missing' '$T/out'"

# ---------------------------------------------------------------- query, stats
run audit query --store "$TG_DB"
check "audit query prints a table with a header" sh -c "test $rc = 0 && head -n1 '$T/out' | grep -q '^SEQ .*PRINCIPAL.*ACTION.*DECISION.*STATUS.*ERROR'"
check "audit query lists every record by default (up to 50)" test "$(($(wc -l <"$T/out") - 1))" = "$nrec"
# (The request with the made-up bearer token is refused by authentication
# before routing, so one of the two unknown paths is a 404.)
run audit query --store "$TG_DB" --error-code NotFound --json
check "audit query --error-code selects the 404, as JSON lines" \
	sh -c "test $rc = 0 && test \$(wc -l <'$T/out') = 1 && '$PYTHON' -c 'import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l); assert j[\"errorCode\"] == \"NotFound\" and j[\"taskgateIntegrity\"][\"seq\"] > 0' '$T/out'"
run audit query --store "$TG_DB" --request-id "$rid" --json
check "audit query --request-id gives the decision and outcome of one request" \
	sh -c "test \$(wc -l <'$T/out') = 2"
run audit query --store "$TG_DB" --action GetHealth --decision Allow --limit 3
check "audit query pages: --limit 3 shows 3 records" test "$(($(wc -l <"$T/out") - 1))" = 3
check "...and says which --after gives the next page" grep -q "next page with --after" "$T/err"
next=$(grep -o -- '--after [0-9]*' "$T/err" | awk '{print $2}')
run audit query --store "$TG_DB" --action GetHealth --decision Allow --limit 3 --after "$next"
check "the next page starts after the last record shown" \
	sh -c "test $rc = 0 && awk 'NR==2 {print \$1}' '$T/out' | { read s; [ \"\$s\" -gt $next ]; }"
run audit query --store "$TG_DB" --since 2000-01-01 --until 2000-01-02
check "a time range with nothing in it prints only the header" test "$(wc -l <"$T/out")" = 1
run audit query --store "$TG_DB" --since yesterday
check "audit query with a bad time is a usage error" test "$rc" = 2
run audit query --store "$TG_DB" --decision Maybe
check "audit query with an unknown decision is a usage error" test "$rc" = 2
run audit stats --store "$TG_DB"
check "audit stats counts requests by principal, action and decision" \
	sh -c "test $rc = 0 && grep -q '^(anonymous) *taskgate:GetHealth *Allow *6 *0' '$T/out'"
check "audit stats sums up" grep -q '^total: 8 requests, 6 allowed, 0 denied, 2 with an error' "$T/out"
for sub in query stats export prune; do
	run audit "$sub" --help
	check "audit $sub --help exits 0 with a usage line" \
		sh -c "test $rc = 0 && grep -q '^usage: taskgate audit $sub' '$T/out'"
	run audit "$sub" --bogus
	check "audit $sub with an unknown option exits 2" test "$rc" = 2
done

# ---------------------------------------------------------------- export
run audit export --store "$TG_DB" --key "$T/audit.key" --since 2000-01-01 --until 2100-01-01 --output "$T/x.jsonl"
check "audit export writes the records and a signed digest" \
	sh -c "test $rc = 0 && test \$(wc -l <'$T/x.jsonl') = $nrec && test -s '$T/x.jsonl.digest'"
check "exported lines are CloudTrail-like events with their integrity fields" \
	sh -c "head -n1 '$T/x.jsonl' | '$PYTHON' -c 'import json,sys; j = json.loads(sys.stdin.read()); assert j[\"eventTime\"] and j[\"eventName\"] and len(j[\"taskgateIntegrity\"][\"hash\"]) == 64'"
check_fails "the export holds no secret either" grep -q -e querysecret42 -e hunter2 -e "$secret_token" "$T/x.jsonl"
run audit verify --export "$T/x.jsonl" --public-key "$T/audit.pub"
check "audit verify --export passes on the untouched export" \
	sh -c "test $rc = 0 && grep -q \"^OK: export holds records 1\\.\\.$nrec ($nrec records)\" '$T/out'"
run audit verify --export "$T/x.jsonl"
check "verify --export without --public-key fails (the digest is signed)" test "$rc" = 1
run audit export --store "$TG_DB" --since 2000-01-01 --until 2100-01-01 --output "$T/y.jsonl"
check "audit export without a key is a usage error" test "$rc" = 2
sed -E '3s/"httpStatus":[0-9]+/"httpStatus":200/' "$T/x.jsonl" >"$T/e1.jsonl"; cp "$T/x.jsonl.digest" "$T/e1.jsonl.digest"
run audit verify --export "$T/e1.jsonl" --public-key "$T/audit.pub"
check "an edited export line is named (line 3, record 3)" \
	sh -c "test $rc = 1 && grep -q '^TAMPERED: line 3 (record 3): content changed' '$T/out'"
sed '4d' "$T/x.jsonl" >"$T/e2.jsonl"; cp "$T/x.jsonl.digest" "$T/e2.jsonl.digest"
run audit verify --export "$T/e2.jsonl" --public-key "$T/audit.pub"
check "a line removed from an export is named (record 4 missing)" \
	sh -c "test $rc = 1 && grep -q '^TAMPERED: line 4: record 4 missing' '$T/out'"
head -n 5 "$T/x.jsonl" >"$T/e3.jsonl"; cp "$T/x.jsonl.digest" "$T/e3.jsonl.digest"
run audit verify --export "$T/e3.jsonl" --public-key "$T/audit.pub"
check "a cut-off export is detected against the digest" \
	sh -c "test $rc = 1 && grep -q 'records removed from the end' '$T/out'"
cp "$T/x.jsonl" "$T/e4.jsonl"
sed 's/"records": [0-9]*/"records": 5/' "$T/x.jsonl.digest" >"$T/e4.jsonl.digest"
run audit verify --export "$T/e4.jsonl" --public-key "$T/audit.pub"
check "an edited digest fails its signature" \
	sh -c "test $rc = 1 && grep -q '^TAMPERED: digest .*: bad signature' '$T/out'"

# ---------------------------------------------------------------- prune
cp "$TG_DB" "$T/p.db"
run audit prune --store "$T/p.db" --before 2000-01-01
check "prune before any record removes nothing" sh -c "test $rc = 0 && grep -q '^nothing pruned' '$T/out'"
first_cp_seq=$(tg_sql 'SELECT seq FROM audit_checkpoints WHERE id = 2')
run audit prune --store "$T/p.db" --before 2100-01-01 --public-key "$T/audit.pub"
check "prune removes records down to the newest signed checkpoint" \
	sh -c "test $rc = 0 && grep -q '^pruned [0-9]* records up to record $nrec; the log now starts from signed checkpoint $ncp' '$T/out'"
check "the prune is itself recorded in the log" \
	test "$("$SQLITE" -readonly "$T/p.db" "SELECT action FROM audit_events ORDER BY seq DESC LIMIT 1")" = PruneAuditLog
run audit verify --store "$T/p.db" --public-key "$T/audit.pub"
check "the pruned log still verifies, from its signed anchor" \
	sh -c "test $rc = 0 && grep -q '^anchor: records up to $nrec were pruned; the chain starts from signed checkpoint $ncp' '$T/out'"
check "the append-only triggers are back after a prune" \
	test "$("$SQLITE" -readonly "$T/p.db" "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit_events_no_%'")" = 2
"$SQLITE" "$T/p.db" "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET prev_hash = zeroblob(32) WHERE seq = $((nrec + 1))"
run audit verify --store "$T/p.db" --public-key "$T/audit.pub"
check "a record that no longer chains to the anchor is detected" \
	sh -c "test $rc = 1 && grep -q '^TAMPERED: record $((nrec + 1))' '$T/out'"
run audit prune --store "$T/p.db" --before 2100-01-01
check "prune refuses a log that does not verify" sh -c "test $rc = 1 && grep -q 'refusing to prune' '$T/err'"

tg_done
