#!/usr/bin/env bash
# tests/fuzz/run.sh - seeds a corpus and runs every libFuzzer harness that
# `make fuzz` built (build/fuzz/bin/fuzz_*) for FUZZ_SECONDS each.
#
# The seed corpus is every policy document in the conformance vectors (the
# shared ones beside the repo and ours in tests/policy/), one file per
# document, written compactly and also pretty-printed so that white space
# handling gets exercised from the start. The corpus folder persists under
# $BUILD/fuzz-corpus, so later runs start from what earlier runs found; crash
# reproducers land in $BUILD/fuzz-artifacts. Exit status: non-zero when a
# harness found a crash or a broken promise.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
PY=/usr/bin/python3
corpus_root="$BUILD/fuzz-corpus"
artifacts="$BUILD/fuzz-artifacts"
mkdir -p "$corpus_root" "$artifacts"

seed_policy_corpus() {
	local dir=$1
	mkdir -p "$dir"
	"$PY" - "$dir" ../shared/conformance/iam-vectors.json tests/policy/*.json <<'PYEOF'
import hashlib, json, os, sys
out = sys.argv[1]
n = 0
for path in sys.argv[2:]:
    try:
        cases = json.load(open(path)).get("cases", [])
    except (OSError, ValueError) as e:
        print(f"fuzz: skipping {path}: {e}", file=sys.stderr)
        continue
    docs = []
    for c in cases:
        for p in c.get("policies", []):
            docs.append(p.get("document_text") or p.get("document"))
        if "document" in c or "document_text" in c:
            docs.append(c.get("document_text") or c.get("document"))
    for d in docs:
        texts = [d] if isinstance(d, str) else [json.dumps(d, separators=(",", ":")), json.dumps(d, indent=2)]
        for t in texts:
            name = hashlib.sha1(t.encode()).hexdigest()
            with open(os.path.join(out, name), "w") as f:
                f.write(t)
            n += 1
print(f"fuzz: {n} seed documents in {out}")
PYEOF
}

# ECS request bodies: every operation (the first byte picks it) with bodies
# that carry the members the checks and the audit copy look at.
seed_ecs_corpus() {
	local dir=$1
	mkdir -p "$dir"
	"$PY" - "$dir" <<'PYEOF'
import json, os, sys
out = sys.argv[1]
env = [{"name": "DB_PASSWORD", "value": "s3cret"}, {"name": "MODE", "value": "x"}]
bodies = [
    {},
    {"cluster": "dev", "taskDefinition": "web:1", "count": 2, "startedBy": "ci", "group": "g",
     "overrides": {"containerOverrides": [{"name": "app", "environment": env, "command": ["sh"]}],
                   "taskRoleArn": "arn:aws:iam::111122223333:role/app"},
     "tags": [{"key": "team", "value": "a"}],
     "placementStrategy": [{"type": "spread", "field": "instanceId"}],
     "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ m5.*"}],
     "containerInstances": ["arn:aws:ecs:us-east-1:111122223333:container-instance/dev/abc"]},
    {"family": "web", "taskRoleArn": "arn:aws:iam::111122223333:role/app",
     "executionRoleArn": "arn:aws:iam::111122223333:role/exec", "networkMode": "bridge",
     "containerDefinitions": [{"name": "app", "image": "busybox", "cpu": 128, "memory": 64,
                               "environment": env,
                               "portMappings": [{"containerPort": 80, "hostPort": 0}],
                               "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}}],
     "tags": [{"key": "env", "value": "dev"}]},
    {"cluster": "dev", "serviceName": "web", "service": "web", "taskDefinition": "web",
     "desiredCount": 2, "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 200}},
    {"clusterName": "dev", "clusters": ["dev", "prod"], "include": ["TAGS"], "maxResults": 10,
     "nextToken": "x"},
    {"resourceArn": "arn:aws:ecs:us-east-1:111122223333:service/dev/web",
     "tags": [{"key": "k", "value": "v"}], "tagKeys": ["k"],
     "task": "arn:aws:ecs:us-east-1:111122223333:task/dev/abc", "reason": "r"},
]
n = 0
for op in range(48):
    for i, b in enumerate(bodies):
        with open(os.path.join(out, "seed-%02d-%d" % (op, i)), "wb") as f:
            f.write(bytes([op]) + json.dumps(b).encode())
        n += 1
print(f"fuzz: {n} seed requests in {out}")
PYEOF
}

status=0
found=0
for bin in "$BUILD"/bin/fuzz_*; do
	[ -x "$bin" ] || continue
	found=1
	name=$(basename "$bin")
	dir="$corpus_root/$name"
	case "$name" in
	fuzz_policy*) seed_policy_corpus "$dir" ;;
	fuzz_ecs_input) seed_ecs_corpus "$dir" ;;
	*) mkdir -p "$dir" ;;
	esac
	dict=()
	[ -f "tests/fuzz/${name#fuzz_}.dict" ] && dict=(-dict="tests/fuzz/${name#fuzz_}.dict")
	echo "fuzz: running $name for ${FUZZ_SECONDS}s"
	if "$bin" "$dir" "${dict[@]}" -max_total_time="$FUZZ_SECONDS" -max_len=8192 -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$artifacts/$name-" -print_final_stats=1 \
		>"$BUILD/$name.log" 2>&1; then
		echo "ok - $name ran ${FUZZ_SECONDS}s without a crash or a broken promise"
		grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$BUILD/$name.log" | sed 's/^/    /'
	else
		echo "FAIL - $name found a problem (log: $BUILD/$name.log, reproducers: $artifacts/)"
		grep -E 'broken promise|ERROR: |SUMMARY: |runtime error' "$BUILD/$name.log" | head -10 | sed 's/^/    /'
		status=1
	fi
done
if [ "$found" = 0 ]; then
	echo "FAIL - no fuzz harness built in $BUILD/bin (run: make fuzz)"
	status=1
fi
exit $status
