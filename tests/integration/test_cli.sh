#!/usr/bin/env bash
# tests/integration/test_cli.sh - the command line of the taskgate binary:
# help, version, and the usage errors every command shares (exit status 2).
. "$(dirname "$0")/lib.sh"

T=$TG_TMP

# run ARGS...: runs taskgate, stdout in $T/out, stderr in $T/err, status in $rc.
run() {
	"$TASKGATE" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

run --help
check "taskgate --help exits 0" test "$rc" = 0
check "taskgate --help lists serve and version" sh -c "grep -q '^  serve ' '$T/out' && grep -q '^  version ' '$T/out'"
run
check "taskgate without a command is a usage error (exit 2)" test "$rc" = 2
run frobnicate
check "an unknown command exits 2" test "$rc" = 2
check "an unknown command is named in the message" grep -q "unknown command 'frobnicate'" "$T/err"

run version
check "taskgate version exits 0" test "$rc" = 0
check "taskgate version prints the version first" sh -c "head -n 1 '$T/out' | grep -qx \"taskgate $(cat "$TOP/VERSION")\""
check "taskgate version names the libraries it runs on" \
	sh -c "grep -q '^libmicrohttpd [0-9]' '$T/out' && grep -q '^GnuTLS [0-9]' '$T/out' && grep -q '^OpenSSL [0-9]' '$T/out' && grep -q '^jansson [0-9]' '$T/out' && grep -q '^SQLite 3\.' '$T/out'"
run --version
check "taskgate --version is taskgate version" sh -c "test $rc = 0 && head -n 1 '$T/out' | grep -q '^taskgate '"
run version --help
check "taskgate version --help exits 0 with a usage line" sh -c "test $rc = 0 && grep -q '^usage: taskgate version' '$T/out'"
run version --bogus
check "taskgate version with an unknown option exits 2" test "$rc" = 2
run version extra
check "taskgate version with an extra argument exits 2" test "$rc" = 2

run serve --help
check "taskgate serve --help exits 0" test "$rc" = 0
check "taskgate serve --help documents --config and --ready-file" \
	sh -c "grep -q -- '--config FILE' '$T/out' && grep -q -- '--ready-file FILE' '$T/out'"
run serve -h
check "taskgate serve -h is --help" test "$rc" = 0
run serve --no-such-option
check "taskgate serve with an unknown option exits 2" test "$rc" = 2
check "the unknown option is named" grep -q "unknown option '--no-such-option'" "$T/err"
run serve --config
check "taskgate serve --config without a file exits 2" test "$rc" = 2
run serve stray
check "taskgate serve with a stray argument exits 2" test "$rc" = 2

# ---- the documented configuration (docs/configuration.md)
doc="$TOP/docs/configuration.md"
"$PYTHON" - "$doc" "$T/example.json" "$T/keys.txt" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
example = text.split("<!-- example-config -->", 1)[1].split("```json", 1)[1].split("```", 1)[0]
open(sys.argv[2], "w").write(example)
table = text.split("<!-- keys-table -->", 1)[1].split("\n\n", 1)[0]
documented = sorted(set(re.findall(r"^\| `([a-z_.]+)` \|", table, re.M)))
def flat(prefix, v, out):
    if isinstance(v, dict) and v:  # an empty object ({} for a map) is a value
        for k, x in v.items():
            flat(prefix + [k], x, out)
    else:
        out.add(".".join(prefix))
keys = set()
flat([], json.loads(example), keys)
# listen's object form documents its two members; the example uses the string form.
keys |= {"listen.address", "listen.port"}
open(sys.argv[3], "w").write("documented: %s\nexample: %s\n" % (documented, sorted(keys)))
sys.exit(0 if documented == sorted(keys) else 1)
PY
check "docs/configuration.md's key table and its complete example list the same keys" test $? = 0
run serve --check --config "$T/example.json"
check "the complete example in docs/configuration.md is a valid configuration" test "$rc" = 0
for k in $(sed -n 's/^documented: //p' "$T/keys.txt" | tr -d "[]',"); do
	case "$k" in listen.*) continue ;; esac
	top=${k%%.*}
	if [ "$top" = "$k" ]; then
		"$PYTHON" -c 'import json,sys; e=json.load(open(sys.argv[1])); print(json.dumps({sys.argv[2]: e[sys.argv[2]]}))' "$T/example.json" "$k" >"$T/one.json"
	else
		"$PYTHON" -c 'import json,sys; e=json.load(open(sys.argv[1])); a,b=sys.argv[2].split("."); print(json.dumps({a: {b: e[a][b]}}))' "$T/example.json" "$k" >"$T/one.json"
	fi
	run serve --check --config "$T/one.json"
	[ "$rc" = 0 ] || fail "documented key $k is accepted on its own" "$(cat "$T/err")"
done
ok "every documented key is accepted on its own"
printf '{"listen": {"address": "::1", "port": 0}}' >"$T/listen-object.json"
run serve --check --config "$T/listen-object.json"
check "the documented object form of listen is accepted" test "$rc" = 0

tg_done
