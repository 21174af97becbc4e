#!/usr/bin/env bash
# tests/integration/test_identity.sh - who is calling, end to end: the real
# binary over TLS, driven by the Debian AWS CLI (/usr/bin/aws), boto3
# (/usr/bin/python3), curl and openssl.
#
# An IAM file declares a user with an access key, roles to assume, an OIDC
# issuer whose keys the test makes with openssl, and a host mapping. Then:
# access keys sign in (GetCallerIdentity); AssumeRole with and without a
# session policy; a JWT exchanged with AssumeRoleWithWebIdentity and the
# credentials it returns; every kind of bad token refused with its error;
# requests altered after signing refused; client certificates from the right
# and the wrong CA; expired credentials; and no secret in the server log.
. "$(dirname "$0")/lib.sh"

AWS=/usr/bin/aws
PY=/usr/bin/python3
W="$TG_TMP/id"
mkdir -p "$W/keys" "$W/secrets"
run() {
	"$@" >"$out" 2>"$err"
	rc=$?
}
has() { grep -qF -- "$1" "$2"; }

ISSUER="https://issuer.test/ci"
PREFIX="issuer.test/ci"
ACCOUNT=111122223333

# ---- keys, secrets, IAM file ----
(
	cd "$W" || exit 1
	$OPENSSL genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null &&
		$OPENSSL pkey -in rsa.key -pubout -out keys/rsa.pem &&
		$OPENSSL genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key 2>/dev/null &&
		$OPENSSL pkey -in ec.key -pubout -out keys/ec.pem &&
		$OPENSSL genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.key 2>/dev/null &&
		(umask 077 && $OPENSSL rand -base64 30 | tr -d '\n' >secrets/dev.secret) &&
		(umask 077 && { printf 'taskgate-master-key v1\n'; $OPENSSL rand -base64 32; } >master.key)
) || tg_abort "openssl makes the issuer keys, the user's secret and the master key"
DEV_KEY=AKIADEVUSEREXAMPLE01
DEV_SECRET=$(cat "$W/secrets/dev.secret")

cat >"$W/iam.json" <<JSON
{
  "account_id": "$ACCOUNT",
  "roles": [
    {
      "name": "app",
      "max_session_duration": 7200,
      "trust_policy": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::$ACCOUNT:user/dev", "arn:aws:iam::$ACCOUNT:role/app"]},
         "Action": ["sts:AssumeRole", "sts:TagSession"]}]},
      "inline_policies": {"read": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:List*", "ecs:Describe*", "sts:AssumeRole"], "Resource": "*"}]}},
      "tags": {"team": "blue"}
    },
    {
      "name": "guarded",
      "trust_policy": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::$ACCOUNT:user/dev"},
         "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"sts:ExternalId": "open-sesame"}}}]}
    },
    {
      "name": "ci",
      "trust_policy": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow",
         "Principal": {"Federated": "arn:aws:iam::$ACCOUNT:oidc-provider/$PREFIX"},
         "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringEquals": {"$PREFIX:aud": "taskgate"},
                       "StringLike": {"$PREFIX:sub": "repo:acme/*"}}}]},
      "inline_policies": {"read": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:List*", "Resource": "*"}]}}
    },
    {
      "name": "container-host",
      "trust_policy": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    }
  ],
  "users": [
    {
      "name": "dev",
      "inline_policies": {"assume": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "arn:aws:iam::$ACCOUNT:role/*"}]}},
      "access_keys": [{"id": "$DEV_KEY", "secret_file": "secrets/dev.secret"}]
    }
  ],
  "oidc_issuers": [
    {
      "issuer": "$ISSUER",
      "audiences": ["taskgate"],
      "pem_file": "keys/rsa.pem",
      "kid": "rsa-1",
      "leeway": 30,
      "max_lifetime": 3600,
      "role_claim": "taskgate_role",
      "tag_claims": {"repository": "repo"}
    }
  ],
  "host_mappings": [
    {"subject_cn": "host-1", "role": "container-host"}
  ]
}
JSON

cat >"$W/config.json" <<JSON
{
  "listen": "127.0.0.1:0",
  "tls": {"cert": "$TG_CERTS/server.crt", "key": "$TG_CERTS/server.key",
          "client_ca": "$TG_CERTS/ca.crt"},
  "store": {"path": "$TG_DB"},
  "task_endpoint": {"listen": "127.0.0.1:0"},
  "account_id": "$ACCOUNT",
  "master_key": "$W/master.key",
  "iam": {"refresh_ms": 200},
  "log": {"level": "debug"}
}
JSON

run "$TASKGATE" iam apply "$W/iam.json" --config "$W/config.json" --master-key "$W/master.key"
[ "$rc" = 0 ] || tg_abort "iam apply of the test account: $(cat "$err")"
tg_start "$W/config.json" || tg_abort "server did not start"
EP="--endpoint-url $TG_URL"

# The CLI with a clean environment: no profile, no retries, our CA.
awsx() {
	env -i PATH=/usr/bin:/bin HOME="$W" AWS_CA_BUNDLE="$TG_CERTS/ca.crt" \
		AWS_DEFAULT_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 AWS_EC2_METADATA_DISABLED=true \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "$@"
}
as_dev() {
	awsx AWS_ACCESS_KEY_ID=$DEV_KEY AWS_SECRET_ACCESS_KEY="$DEV_SECRET" "$AWS" "$@" $EP
}
# as_creds FILE CMD...: the temporary credentials of an STS answer (JSON) in FILE.
as_creds() {
	local f=$1
	shift
	local k s t
	k=$(tg_json_get "$f" 'j["Credentials"]["AccessKeyId"]')
	s=$(tg_json_get "$f" 'j["Credentials"]["SecretAccessKey"]')
	t=$(tg_json_get "$f" 'j["Credentials"]["SessionToken"]')
	awsx AWS_ACCESS_KEY_ID="$k" AWS_SECRET_ACCESS_KEY="$s" AWS_SESSION_TOKEN="$t" "$AWS" "$@" $EP
}
tg_json_get() {
	"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print('"$2"')' "$1"
}
jq_() { tg_json "$out" "$1" >/dev/null; }
tjs() { tg_json "$1" "$2" >/dev/null; }

# ---- access keys ----

run as_dev sts get-caller-identity
expect "aws sts get-caller-identity signs in with the IAM file's access key" test "$rc" = 0
expect "the caller is the user's ARN, user id and account" \
	jq_ 'j["Arn"] == "arn:aws:iam::'$ACCOUNT':user/dev" and j["UserId"].startswith("AIDA") and j["Account"] == "'$ACCOUNT'" or exit(1)'

run awsx AWS_ACCESS_KEY_ID=$DEV_KEY AWS_SECRET_ACCESS_KEY="${DEV_SECRET%?}x" "$AWS" sts get-caller-identity $EP
expect "a wrong secret is refused with SignatureDoesNotMatch" sh -c "[ $rc != 0 ] && grep -q SignatureDoesNotMatch '$err'"
run awsx AWS_ACCESS_KEY_ID=AKIANOSUCHKEYEXAMPLE AWS_SECRET_ACCESS_KEY="$DEV_SECRET" "$AWS" sts get-caller-identity $EP
expect "an unknown access key is refused with InvalidClientTokenId" sh -c "[ $rc != 0 ] && grep -q InvalidClientTokenId '$err'"
run awsx "$AWS" sts get-caller-identity --no-sign-request $EP
expect "an unsigned GetCallerIdentity is refused with MissingAuthenticationToken" \
	sh -c "[ $rc != 0 ] && grep -q MissingAuthenticationToken '$err'"

# ---- AssumeRole ----

run as_dev sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/app --role-session-name s1
cp "$out" "$W/ar.json"
expect "aws sts assume-role returns temporary credentials" test "$rc" = 0
expect "the credentials are an ASIA key, a 40-character secret, a token and an expiry" \
	tjs "$W/ar.json" '(j["Credentials"]["AccessKeyId"].startswith("ASIA") and len(j["Credentials"]["AccessKeyId"])==20 and len(j["Credentials"]["SecretAccessKey"])==40 and len(j["Credentials"]["SessionToken"])>=40 and "Expiration" in j["Credentials"]) or exit(1)'
expect "the assumed role user is the session ARN" \
	tjs "$W/ar.json" 'j["AssumedRoleUser"]["Arn"] == "arn:aws:sts::'$ACCOUNT':assumed-role/app/s1" and j["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA") and j["AssumedRoleUser"]["AssumedRoleId"].endswith(":s1") or exit(1)'
run as_creds "$W/ar.json" sts get-caller-identity
expect "get-caller-identity with the assumed role's credentials shows the assumed-role ARN" \
	jq_ 'j["Arn"] == "arn:aws:sts::'$ACCOUNT':assumed-role/app/s1" or exit(1)'

run as_dev sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/guarded --role-session-name s2
expect "AssumeRole without the ExternalId the trust policy asks for is AccessDenied" \
	sh -c "[ $rc != 0 ] && grep -q AccessDenied '$err'"
run as_dev sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/guarded --role-session-name s2 --external-id open-sesame
expect "AssumeRole with the right ExternalId succeeds" test "$rc" = 0
run as_dev sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/nope --role-session-name s3
expect "AssumeRole of a role that does not exist is AccessDenied (no probing)" \
	sh -c "[ $rc != 0 ] && grep -q AccessDenied '$err'"
run as_dev sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/app --role-session-name s4 --duration-seconds 9000
expect "DurationSeconds over the role's maximum is a ValidationError" \
	sh -c "[ $rc != 0 ] && grep -q ValidationError '$err' && grep -q MaxSessionDuration '$err'"

# ---- role chaining and session policies ----

run as_creds "$W/ar.json" sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/app --role-session-name chained --duration-seconds 7200
expect "role chaining refuses more than one hour" \
	sh -c "[ $rc != 0 ] && grep -q ValidationError '$err' && grep -q '1 hour session limit' '$err'"
run as_creds "$W/ar.json" sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/app --role-session-name chained
cp "$out" "$W/chained.json"
expect "a role session may assume a role that trusts it (chaining)" test "$rc" = 0
expect "a chained session lasts at most one hour" \
	tjs "$W/chained.json" '__import__("datetime").datetime.fromisoformat(j["Credentials"]["Expiration"]).timestamp() - __import__("time").time() <= 3600 or exit(1)'

printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:ListClusters","Resource":"*"}]}' >"$W/session.json"
run as_dev sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/app --role-session-name narrow --policy "file://$W/session.json"
cp "$out" "$W/narrow.json"
expect "aws sts assume-role with a session policy succeeds and reports the packed size" \
	tjs "$W/narrow.json" 'j["PackedPolicySize"] >= 1 or exit(1)'
run as_creds "$W/narrow.json" sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/app --role-session-name again
expect "the session policy is carried into later decisions: the narrowed session may not assume a role" \
	sh -c "[ $rc != 0 ] && grep -q AccessDenied '$err' && grep -q 'session policy' '$err'"
printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:ListClusters"}]}' >"$W/bad-session.json"
run as_dev sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/app --role-session-name bad --policy "file://$W/bad-session.json"
expect "a malformed session policy is MalformedPolicyDocument" \
	sh -c "[ $rc != 0 ] && grep -q MalformedPolicyDocument '$err'"
run as_dev sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/app --role-session-name 'bad name!'
expect "a RoleSessionName outside [\\w+=,.@-] is a ValidationError" \
	sh -c "[ $rc != 0 ] && grep -q ValidationError '$err'"
run as_dev sts assume-role --role-arn arn:aws:iam::$ACCOUNT:role/app --role-session-name tagged \
	--tags Key=project,Value=orders --transitive-tag-keys project
cp "$out" "$W/tagged.json"
expect "AssumeRole with session tags (sts:TagSession allowed by both sides)" test "$rc" = 0

# ---- web identity ----

JWT() { "$PY" "$TOP/tests/integration/mkjwt.py" "$@"; }
claims() { # claims [EXTRA JSON MEMBERS]
	printf '{"iss": "%s", "aud": "taskgate", "sub": "repo:acme/web", "iat": "@now", "exp": "@now+600", "repository": "acme/web", "taskgate_role": "ci"%s}' "$ISSUER" "${1:+, $1}"
}
GOOD=$(JWT RS256 "$W/rsa.key" rsa-1 "$(claims)")
web() { awsx "$AWS" sts assume-role-with-web-identity --role-arn arn:aws:iam::$ACCOUNT:role/ci \
	--role-session-name build-1 --web-identity-token "$1" $EP; }
run web "$GOOD"
cp "$out" "$W/web.json"
expect "aws sts assume-role-with-web-identity exchanges an RS256 JWT for credentials" test "$rc" = 0
expect "the answer names the token's subject, audience and provider" \
	tjs "$W/web.json" 'j["SubjectFromWebIdentityToken"] == "repo:acme/web" and j["Audience"] == "taskgate" and j["Provider"] == "'$ISSUER'" or exit(1)'
run as_creds "$W/web.json" sts get-caller-identity
expect "get-caller-identity with the exchanged credentials shows the assumed-role ARN" \
	jq_ 'j["Arn"] == "arn:aws:sts::'$ACCOUNT':assumed-role/ci/build-1" or exit(1)'

refused() { # refused SENTENCE CODE TOKEN
	run web "$3"
	expect "$1" sh -c "[ $rc != 0 ] && grep -q '$2' '$err'"
}
refused "a forged token (signed by another key) is InvalidIdentityToken" InvalidIdentityToken \
	"$(JWT RS256 "$W/other.key" rsa-1 "$(claims)")"
refused "an expired token is ExpiredTokenException" ExpiredTokenException \
	"$(JWT RS256 "$W/rsa.key" rsa-1 '{"iss": "'$ISSUER'", "aud": "taskgate", "sub": "repo:acme/web", "iat": "@now-900", "exp": "@now-300"}')"
refused "a token not yet valid (nbf ahead) is InvalidIdentityToken" InvalidIdentityToken \
	"$(JWT RS256 "$W/rsa.key" rsa-1 "$(claims '"nbf": "@now+300"')")"
refused "a token from another issuer is InvalidIdentityToken" InvalidIdentityToken \
	"$(JWT RS256 "$W/rsa.key" rsa-1 '{"iss": "https://evil.test", "aud": "taskgate", "sub": "repo:acme/web", "iat": "@now", "exp": "@now+600"}')"
refused "a token for another audience is InvalidIdentityToken" InvalidIdentityToken \
	"$(JWT RS256 "$W/rsa.key" rsa-1 '{"iss": "'$ISSUER'", "aud": "someone-else", "sub": "repo:acme/web", "iat": "@now", "exp": "@now+600"}')"
refused "an unsigned token (alg none) is InvalidIdentityToken" InvalidIdentityToken \
	"$(JWT none - rsa-1 "$(claims)")"
refused "an HS256 token keyed with the issuer's RSA public key (HS/RS confusion) is InvalidIdentityToken" \
	InvalidIdentityToken "$(JWT HS256 "$W/keys/rsa.pem" rsa-1 "$(claims)")"
refused "a valid token whose subject the trust policy does not allow is AccessDenied" AccessDenied \
	"$(JWT RS256 "$W/rsa.key" rsa-1 '{"iss": "'$ISSUER'", "aud": "taskgate", "sub": "repo:other/x", "iat": "@now", "exp": "@now+600"}')"

# A bearer token signs in directly as the role its role claim names.
run tg_curl -H "Authorization: Bearer $GOOD" -H 'Content-Type: application/x-www-form-urlencoded' \
	--data 'Action=GetCallerIdentity&Version=2011-06-15' "$TG_URL/"
expect "Authorization: Bearer signs in as the role of the token's role claim" \
	has "<Arn>arn:aws:sts::$ACCOUNT:assumed-role/ci/repo-acme-web</Arn>" "$out"

# ---- boto3 ----

run "$PY" "$TOP/tests/integration/boto3_sts.py" "$TG_URL" "$TG_CERTS/ca.crt" "$DEV_KEY" "$DEV_SECRET" \
	arn:aws:iam::$ACCOUNT:role/app arn:aws:iam::$ACCOUNT:role/ci "$GOOD"
expect "boto3: GetCallerIdentity, AssumeRole with a session policy, AssumeRoleWithWebIdentity all answer" test "$rc" = 0
expect "boto3 reads the user, the session and the web session ARNs" \
	jq_ 'j["user"] == "arn:aws:iam::'$ACCOUNT':user/dev" and j["session"] == "arn:aws:sts::'$ACCOUNT':assumed-role/app/boto-session" and j["web_session"] == "arn:aws:sts::'$ACCOUNT':assumed-role/ci/boto-web" or exit(1)'
expect "boto3 parses Expiration as a datetime and the web identity fields" \
	jq_ 'j["expiration_type"] == "datetime" and j["web_subject"] == "repo:acme/web" and j["web_provider"] == "'$ISSUER'" and j["web_audience"] == "taskgate" or exit(1)'
expect "boto3: the session policy denies the chained AssumeRole with AccessDenied" \
	jq_ 'j["chained"] == "AccessDenied" or exit(1)'

# ---- requests changed after signing ----

tamper() { "$PY" "$TOP/tests/integration/sigv4_tamper.py" "$TG_URL" "$@"; }
run tamper "$DEV_KEY" "$DEV_SECRET" "$TG_CERTS/ca.crt" none
expect "a request signed by botocore's SigV4Auth and sent unchanged is answered" has "200 OK" "$out"
for m in body header date; do
	run tamper "$DEV_KEY" "$DEV_SECRET" "$TG_CERTS/ca.crt" "$m"
	expect "a request whose $m was changed after signing is refused with SignatureDoesNotMatch" \
		has "403 SignatureDoesNotMatch" "$out"
done
AK=$(tg_json "$W/tagged.json" 'j["Credentials"]["AccessKeyId"]')
AS=$(tg_json "$W/tagged.json" 'j["Credentials"]["SecretAccessKey"]')
AT=$(tg_json "$W/tagged.json" 'j["Credentials"]["SessionToken"]')
run tamper "$AK" "$AS" "$TG_CERTS/ca.crt" none "$AT"
expect "temporary credentials sign a botocore request" has "200 OK" "$out"
run tamper "$AK" "$AS" "$TG_CERTS/ca.crt" token "$AT"
expect "temporary credentials with another session token are InvalidClientTokenId" \
	has "403 InvalidClientTokenId" "$out"

# ---- expired and revoked credentials ----

now=$(date +%s)
"$SQLITE" "$TG_DB" "UPDATE sts_sessions SET issued_at = $((now - 100)), expires_at = $((now - 10)) WHERE access_key_id = '$AK'" >/dev/null
run tamper "$AK" "$AS" "$TG_CERTS/ca.crt" none "$AT"
expect "expired temporary credentials are refused with ExpiredToken" has "400 ExpiredToken" "$out"
run as_creds "$W/tagged.json" sts get-caller-identity
expect "...and the AWS CLI shows ExpiredToken" sh -c "[ $rc != 0 ] && grep -q ExpiredToken '$err'"
RK=$(tg_json "$W/narrow.json" 'j["Credentials"]["AccessKeyId"]')
"$SQLITE" "$TG_DB" "UPDATE sts_sessions SET revoked_at = $now WHERE access_key_id = '$RK'" >/dev/null
run as_creds "$W/narrow.json" sts get-caller-identity
expect "revoked temporary credentials are refused with InvalidClientTokenId" \
	sh -c "[ $rc != 0 ] && grep -q InvalidClientTokenId '$err'"

# ---- client certificates ----

gci_body='Action=GetCallerIdentity&Version=2011-06-15'
run tg_curl --cert "$TG_CERTS/host-1.crt" --key "$TG_CERTS/host-1.key" \
	-H 'Content-Type: application/x-www-form-urlencoded' --data "$gci_body" "$TG_URL/"
expect "a host certificate from the configured CA signs in as its mapped instance role" \
	has "<Arn>arn:aws:sts::$ACCOUNT:assumed-role/container-host/host-1</Arn>" "$out"
code=$(tg_curl -o "$out" -w '%{http_code}' --cert "$TG_CERTS/wrong-host.crt" --key "$TG_CERTS/wrong-host.key" \
	-H 'Content-Type: application/x-www-form-urlencoded' --data "$gci_body" "$TG_URL/" 2>"$err")
expect "a client certificate from another CA is refused (403 AccessDenied)" \
	sh -c "[ '$code' = 403 ] && grep -q '<Code>AccessDenied</Code>' '$out'"
code=$(tg_curl -o "$out" -w '%{http_code}' --cert "$TG_CERTS/host-2.crt" --key "$TG_CERTS/host-2.key" \
	-H 'Content-Type: application/x-www-form-urlencoded' --data "$gci_body" "$TG_URL/" 2>"$err")
expect "a valid certificate that maps to no role is refused" \
	sh -c "[ '$code' = 403 ] && grep -q 'maps to no host role' '$out'"

# ---- the audit record and the log ----

expect "AssumeRole leaves its identity and trust decisions in the audit record" \
	sh -c "tg_sql() { '$SQLITE' -readonly '$TG_DB' \"\$1\"; }; tg_sql \"SELECT record FROM audit_events WHERE record LIKE '%sts:AssumeRole%'\" | grep -q trust"
secrets=("$DEV_SECRET" "$GOOD" "$AS" "$AT" "$(sed -n 2p "$W/master.key")")
for f in "$W"/ar.json "$W"/web.json "$W"/chained.json "$W"/narrow.json; do
	secrets+=("$(tg_json "$f" 'j["Credentials"]["SecretAccessKey"]')" "$(tg_json "$f" 'j["Credentials"]["SessionToken"]')")
done
leaks=0
for s in "${secrets[@]}"; do
	[ -n "$s" ] || continue
	grep -qF -- "$s" "$TG_LOG" && leaks=$((leaks + 1))
	"$SQLITE" -readonly "$TG_DB" 'SELECT * FROM audit_events' | grep -qF -- "$s" && leaks=$((leaks + 1))
done
expect "no secret key, session token, JWT or master key appears in the server log or the audit log (${#secrets[@]} checked)" test "$leaks" = 0

tg_done
