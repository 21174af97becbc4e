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
out="$TG_TMP/out"
err="$TG_TMP/err"
rc=0
run() {
	"$@" >"$out" 2>"$err"
	rc=$?
}
expect() {
	local sentence=$1
	shift
	if "$@"; then
		ok "$sentence"
	else
		fail "$sentence" "status $rc; stdout:" "$(head -20 "$out")" "stderr:" "$(head -10 "$err")"
	fi
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
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::$ACCOUNT:user/dev"},
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

tg_done
