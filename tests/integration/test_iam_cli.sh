#!/usr/bin/env bash
# tests/integration/test_iam_cli.sh - `taskgate iam validate | apply | export`
# end to end, through the real binary and a real store file.
#
# The IAM file applied here is the full example of docs/iam.md, cut out of the
# page at run time (so the page cannot drift from what works), with its key
# and secret files made by the commands the page shows. Then: idempotence, the
# export round trip, a diff after an edit, all-or-nothing on a bad file, the
# master key and secret file rules, and exit statuses 0/1/2. Each check prints
# "ok - <sentence>" or "FAIL - <sentence>" (tests/run.sh counts them).
. "$(dirname "$0")/lib.sh"

DOC="$TOP/docs/iam.md"
W="$TG_TMP/iam"
mkdir -p "$W"
DB="$W/taskgate.db"

# run CMD...: stdout in $out, stderr in $err, status in $rc.
run() {
	"$@" >"$out" 2>"$err"
	rc=$?
}


has() { grep -qF -- "$1" "$2"; }

# ---- the documented example, and the files it needs ----

awk '/<!-- example: iam.json -->/ {f = 1; next}
     f && /^```json/ {p = 1; next}
     p && /^```/ {exit}
     p {print}' "$DOC" >"$W/iam.json"
[ -s "$W/iam.json" ] || tg_abort "docs/iam.md has the marked full example"
(
	cd "$W" || exit 1
	mkdir -p keys secrets
	$OPENSSL genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ci-issuer.key 2>/dev/null &&
		$OPENSSL pkey -in ci-issuer.key -pubout -out keys/ci-issuer.pem &&
		(umask 077 && $OPENSSL rand -base64 30 >secrets/deploy-bot.secret) &&
		(umask 077 && { printf 'taskgate-master-key v1\n'; $OPENSSL rand -base64 32; } >master.key)
) || tg_abort "the commands docs/iam.md and docs/security.md show make the key, secret and master key files"

# ---- validate ----

run "$TASKGATE" iam validate "$W/iam.json"
expect "validate accepts the full example of docs/iam.md" test "$rc" = 0
expect "validate counts what the example declares" \
	has "valid: account 111122223333, 2 managed policies, 3 roles, 2 users, 3 access keys, 1 OIDC issuer, 2 host mappings" "$out"

# ---- apply ----

run "$TASKGATE" iam apply "$W/iam.json" --store "$DB"
expect "apply of the example exits 0" test "$rc" = 0
expect "apply prints one + line per new entity" \
	sh -c "grep -qxF '+ role orders-task' '$out' && grep -qxF '+ user deploy-bot' '$out' &&
	       grep -qxF '+ managed_policy ecs-read-only' '$out' && grep -qxF '+ oidc_issuer https://token.ci.example.com' '$out'"
expect "apply reports the applied generation" has "applied 14 changes (IAM generation 1)" "$out"
secret=$(sed -n 's/^secret access key of AKIAALICEEXAMPLE0001 (user alice), shown only now: //p' "$out")
expect "apply prints a generated 40-character secret for a new key without secret_file" \
	sh -c "printf '%s' '$secret' | grep -qxE '[A-Za-z0-9+/]{40}'"
expect "apply does not print the secret of a key that came from a secret_file" \
	sh -c "! grep -q 'of AKIADEPLOYBOTEXAMPL1' '$out'"
expect "the store file is private to its owner" test "$(stat -c %a "$DB")" = 600

file_secret=$(cat "$W/secrets/deploy-bot.secret")
expect "neither the generated nor the file's secret is in the database files in the clear" \
	sh -c "! grep -qF -- '$secret' '$DB' '$DB-wal' 2>/dev/null && ! grep -qF -- '$file_secret' '$DB' '$DB-wal' 2>/dev/null"
expect "the database holds a sealed secret per access key" \
	test "$($SQLITE -readonly "$DB" "SELECT count(*) FROM iam_access_keys WHERE length(secret) = 40 + 37")" = 3

run "$TASKGATE" iam apply "$W/iam.json" --store "$DB"
expect "applying the same file again prints no changes" has "no changes (IAM generation 1)" "$out"
expect "applying the same file again prints no secret" sh -c "! grep -q 'secret access key' '$out'"

# ---- export ----

run "$TASKGATE" iam export --store "$DB"
cp "$out" "$W/export.json"
expect "export exits 0 and prints JSON" sh -c "test $rc = 0 && $PYTHON -m json.tool '$W/export.json' >/dev/null"
expect "export names access keys without any secret" \
	sh -c "grep -qF AKIAALICEEXAMPLE0001 '$W/export.json' && ! grep -qF -- '$secret' '$W/export.json' && ! grep -qF -- '$file_secret' '$W/export.json' && ! grep -q secret '$W/export.json'"
run "$TASKGATE" iam validate "$W/export.json"
expect "the export is a valid IAM file" test "$rc" = 0
run "$TASKGATE" iam apply "$W/export.json" --store "$DB"
expect "re-applying the export changes nothing" has "no changes (IAM generation 1)" "$out"

# ---- a changed file ----

$PYTHON - "$W/iam.json" "$W/edited.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
for r in doc["roles"]:
    if r["name"] == "orders-task":
        r["trust_policy"]["Statement"][0]["Condition"] = {
            "StringEquals": {"aws:SourceAccount": "111122223333"}}
        r["tags"]["env"] = "staging"
doc["users"] = [u for u in doc["users"] if u["name"] != "alice"]
json.dump(doc, open(sys.argv[2], "w"), indent=1)
EOF
run "$TASKGATE" iam apply "$W/edited.json" --store "$DB"
expect "a changed role is reported with the fields that changed" has "~ role orders-task (trust_policy, tags)" "$out"
expect "a user left out of the file is deleted, and its access key with it" \
	sh -c "grep -qxF -- '- user alice' '$out' && grep -qxF -- '- access_key AKIAALICEEXAMPLE0001 (user alice)' '$out'"
expect "the change moves the generation to 2" has "(IAM generation 2)" "$out"

# ---- all or nothing ----

run "$TASKGATE" iam export --store "$DB"
cp "$out" "$W/before.json"
$PYTHON - "$W/edited.json" "$W/bad.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["roles"].append({"name": "new-role", "trust_policy": doc["roles"][0]["trust_policy"]})
doc["roles"][0]["inline_policies"]["broken"] = {
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:RunTask"}]}
json.dump(doc, open(sys.argv[2], "w"), indent=1)
EOF
run "$TASKGATE" iam apply "$W/bad.json" --store "$DB"
expect "a file with one bad policy is refused with exit status 1" test "$rc" = 1
expect "the error names the path of the bad policy in the file" \
	has "error: roles[0].inline_policies.broken.Statement[0]" "$err"
run "$TASKGATE" iam export --store "$DB"
expect "a refused file changes nothing, not even its valid parts" cmp -s "$out" "$W/before.json"

# ---- keys and secrets ----

cp "$W/edited.json" "$W/newkey.json"
$PYTHON - "$W/newkey.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["users"].append({"name": "carol", "access_keys": [{"id": "AKIACAROLEXAMPLE0001"}]})
json.dump(doc, open(sys.argv[1], "w"))
EOF
mv "$W/master.key" "$W/master.key.away"
run "$TASKGATE" iam apply "$W/newkey.json" --store "$DB"
expect "a new access key without a master key is refused, naming the key" \
	sh -c "test $rc = 1 && grep -q 'AKIACAROLEXAMPLE0001 needs the master key' '$err'"
run "$TASKGATE" iam apply "$W/newkey.json" --store "$DB" --master-key "$W/master.key.away"
expect "--master-key names the key file to use" sh -c "test $rc = 0 && grep -qxF '+ user carol' '$out'"
mv "$W/master.key.away" "$W/master.key"

chmod 644 "$W/secrets/deploy-bot.secret"
run "$TASKGATE" iam validate "$W/edited.json"
expect "a secret file readable by others is refused with the chmod that fixes it" \
	sh -c "test $rc = 1 && grep -q 'chmod 600' '$out'"
chmod 600 "$W/secrets/deploy-bot.secret"
(umask 077 && $OPENSSL rand -base64 30 >"$W/secrets/deploy-bot.secret")
run "$TASKGATE" iam apply "$W/edited.json" --store "$DB"
expect "a new secret in a secret_file is reported as a secret change" \
	has "~ access_key AKIADEPLOYBOTEXAMPL1 (secret)" "$out"

# ---- --config ----

printf '{"account_id": "444455556666", "store": {"path": "%s"}}\n' "$DB" >"$W/other.json"
run "$TASKGATE" iam apply "$W/edited.json" --config "$W/other.json"
expect "apply refuses a file whose account differs from the gateway's" \
	sh -c "test $rc = 1 && grep -q 'differs from the gateway' '$err'"
printf '{"account_id": "111122223333", "store": {"path": "%s"}}\n' "$DB" >"$W/same.json"
run "$TASKGATE" iam export --config "$W/same.json"
expect "export takes the store path from --config" has '"account_id": "111122223333"' "$out"

# ---- exit statuses ----

run "$TASKGATE" iam export --store "$W/never.db"
expect "export of a store that does not exist exits 1" test "$rc" = 1
run "$TASKGATE" iam validate "$W/nonexistent.json"
expect "validate of a missing file exits 1" test "$rc" = 1
run "$TASKGATE" iam
expect "iam without a subcommand is a usage error (2)" test "$rc" = 2
run "$TASKGATE" iam frobnicate
expect "an unknown subcommand is a usage error (2)" test "$rc" = 2
run "$TASKGATE" iam apply --store "$DB"
expect "apply without a file is a usage error (2)" test "$rc" = 2
run "$TASKGATE" iam apply "$W/iam.json" --store "$DB" --config "$W/same.json"
expect "--store with --config is a usage error (2)" test "$rc" = 2
run "$TASKGATE" iam export --bogus
expect "an unknown option is a usage error (2)" test "$rc" = 2
run "$TASKGATE" iam validate "$W/iam.json" "$W/iam.json"
expect "validate with two files is a usage error (2)" test "$rc" = 2
run "$TASKGATE" iam --help
expect "iam --help prints the usage and exits 0" sh -c "test $rc = 0 && grep -q 'taskgate iam apply FILE' '$out'"

tg_done
