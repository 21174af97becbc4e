#!/usr/bin/env bash
# tests/run.sh [unit|integration] - runs the unit test binaries and the
# integration scripts, adds up their "ok - " / "FAIL - " lines, and ends with the
# line "N passed, N failed". Exit status 0 only when nothing failed.
#
# Every test program prints one line per test: "ok - <sentence>" or
# "FAIL - <sentence>". A program that exits non-zero without printing a FAIL line
# (a crash, a sanitizer report) counts as one failure of its own.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
export TASKGATE="$PWD/$BUILD/taskgate"
export TOP="$PWD"
what=${1:-all}
passed=0
failed=0
failures=()
logdir="$BUILD/test-logs"
mkdir -p "$logdir"

run_one() {
	local name=$1; shift
	local log="$logdir/$(basename "$name").log"
	local start=$SECONDS
	"$@" >"$log" 2>&1 </dev/null
	local rc=$?
	local p f
	p=$(grep -c '^ok - ' "$log")
	f=$(grep -c '^FAIL - ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "FAIL - $name exited with status $rc" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	printf '%-48s %4d passed, %3d failed  (%ds)\n' "$name" "$p" "$f" $((SECONDS - start))
	if [ "$f" -ne 0 ]; then
		failures+=("$name")
		grep -E '^(FAIL - |    )' "$log" | head -40 | sed 's/^/    /'
		grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" | head -5 | sed 's/^/    /'
	fi
}

if [ "$what" = all ] || [ "$what" = unit ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		run_one "unit/$(basename "$t")" "$t"
	done
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
	for t in tests/integration/test_*.sh tests/integration/test_*.py; do
		[ -f "$t" ] || continue
		case "$t" in
		*.py) run_one "integration/$(basename "$t")" /usr/bin/python3 "$t" ;;
		*) run_one "integration/$(basename "$t")" bash "$t" ;;
		esac
	done
fi

if [ "${#failures[@]}" -ne 0 ]; then
	echo "failing: ${failures[*]} (logs in $logdir/)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
