#!/usr/bin/env bash
# gateway/run-dev.sh - what `make run` does once the build is done: the
# development certificates, a development configuration under var/ (which git
# ignores) with the store at var/taskgate.db, the demo account, and then the
# gateway itself in the foreground. Ctrl-C (SIGINT) stops it cleanly.
#
# Each piece of set-up is one function below, so a later feature adds its
# demo data in one place (the demo IAM entities go in setup_demo_account).
# The configuration is written afresh on every run so that it always matches
# this build; to run with settings of your own, copy it and start
# `build/taskgate serve --config YOUR-FILE` directly.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
TASKGATE="$BUILD/taskgate"
VAR=var
CERTS=certs/dev
CONFIG="$VAR/dev-config.json"
LISTEN=127.0.0.1:8443

# The demo account: every demo entity lives in it.
DEMO_ACCOUNT_ID=111122223333
DEMO_REGION=us-east-1

setup_certs() {
	certs/mkcerts.sh "$CERTS"
}

setup_var() {
	# Private: the database holds the audit log and, later, credentials.
	(umask 077 && mkdir -p "$VAR")
}

# The master key that seals secrets at rest (made once, mode 0600, never
# overwritten; the configuration names it so the gateway opens access keys and
# issues STS credentials), and the demo user's secret access key.
setup_keys() {
	if [ ! -e "$VAR/master.key" ]; then
		(umask 077 && { printf 'taskgate-master-key v1\n'; openssl rand -base64 32; } >"$VAR/master.key.tmp")
		mv -n "$VAR/master.key.tmp" "$VAR/master.key"
		rm -f "$VAR/master.key.tmp"
	fi
	if [ ! -e "$VAR/demo-admin.secret" ]; then
		(umask 077 && openssl rand -base64 30 | tr -d '\n' >"$VAR/demo-admin.secret")
	fi
}

setup_config() {
	local tmp="$CONFIG.tmp"
	(umask 077 && cat >"$tmp") <<JSON
{
  "listen": "$LISTEN",
  "tls": {"cert": "$CERTS/server.crt", "key": "$CERTS/server.key"},
  "store": {"path": "$VAR/taskgate.db", "synchronous": "FULL"},
  "account_id": "$DEMO_ACCOUNT_ID",
  "region": "$DEMO_REGION",
  "log": {"level": "info", "format": "json"},
  "master_key": "$VAR/master.key",
  "audit": {"key_file": "$VAR/audit.key"}
}
JSON
	mv "$tmp" "$CONFIG"
}

# The demo account: the configuration's account_id, a master key that seals
# secrets at rest (made once, mode 0600, never overwritten), and the demo IAM
# entities of gateway/demo-iam.json applied to the store. Applying is
# idempotent: a second `make run` prints "no changes".
setup_demo_account() {
	if [ ! -e "$VAR/master.key" ]; then
		(umask 077 && { printf 'taskgate-master-key v1\n'; openssl rand -base64 32; } >"$VAR/master.key.tmp")
		mv -n "$VAR/master.key.tmp" "$VAR/master.key"
		rm -f "$VAR/master.key.tmp"
	fi
	"$TASKGATE" iam apply gateway/demo-iam.json --config "$CONFIG" --master-key "$VAR/master.key"
	echo "run: demo account $DEMO_ACCOUNT_ID in $DEMO_REGION (IAM: gateway/demo-iam.json)"
}

# The audit key that signs checkpoints of the decision log: made once, mode
# 0600, never overwritten (its public half: taskgate audit public-key).
setup_audit_key() {
	if [ ! -e "$VAR/audit.key" ]; then
		"$TASKGATE" audit keygen "$VAR/audit.key"
	fi
}

setup_certs
setup_var
setup_audit_key
setup_keys
setup_config
setup_demo_account

cat >&2 <<EOF2
run: https://localhost:${LISTEN##*:} with the development CA in $CERTS/ca.crt; try
run:   curl --cacert $CERTS/ca.crt https://localhost:${LISTEN##*:}/health
run: the demo user signs in with the AWS CLI:
run:   export AWS_ACCESS_KEY_ID=AKIADEMOADMINEXAMPL1 AWS_SECRET_ACCESS_KEY=\$(cat $VAR/demo-admin.secret)
run:   AWS_CA_BUNDLE=$CERTS/ca.crt aws sts get-caller-identity --region $DEMO_REGION --endpoint-url https://localhost:${LISTEN##*:}
run: config $CONFIG, store $VAR/taskgate.db; Ctrl-C stops the gateway.
EOF2
exec "$TASKGATE" serve --config "$CONFIG"
