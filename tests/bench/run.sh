#!/usr/bin/env bash
# tests/bench/run.sh - runs every benchmark binary `make bench` built
# ($BUILD/tests/bench_*). Each prints its own table with a ratio against a
# baseline measured in the same run. BENCH_SECONDS (default 1) is the time
# budget per measured path per workload.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
status=0
found=0
for b in "$BUILD"/tests/bench_*; do
	[ -x "$b" ] || continue
	found=1
	echo "== $(basename "$b")"
	"$b" "${BENCH_SECONDS:-1}" || status=1
	echo
done
if [ "$found" = 0 ]; then
	echo "no benchmark binaries in $BUILD/tests (run: make bench)" >&2
	exit 1
fi
exit $status
