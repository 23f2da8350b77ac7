#!/bin/sh
# Runs every libFuzzer target for a bounded time, from a clang build with
# -Dfuzz=true (made here if missing), on a copy of its seed corpus.
#
#   bench/fuzz.sh [SECONDS] [BUILD_DIR] [TARGET...]
#
# SECONDS: per target (default 60).  BUILD_DIR: default build-fuzz.
# TARGET: fuzz-proto, fuzz-config, fuzz-ctl (default: all three).
# Prints the executions and coverage of each run; a crash leaves its input
# as BUILD_DIR/fuzz-out/TARGET/crash-* (add it to tests/fuzz/corpus/NAME
# and a regression test once fixed) and the script exits 1.
# New inputs libFuzzer finds stay in BUILD_DIR/fuzz-out/TARGET/corpus;
# the committed seed corpus is never modified.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
build=${2:-build-fuzz}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
targets=${*:-fuzz-proto fuzz-config fuzz-ctl}

case $secs in
''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a number, got \"$secs\"" >&2
	exit 2 ;;
esac

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Dtests=false >/dev/null
fi
ninja -C "$build" $(for t in $targets; do echo "tests/fuzz/$t"; done) \
    >/dev/null

status=0
for t in $targets; do
	name=${t#fuzz-}
	out=$build/fuzz-out/$t
	mkdir -p "$out/corpus"
	cp -n tests/fuzz/corpus/"$name"/* "$out/corpus/" 2>/dev/null || true
	log=$out/log.txt
	start=$(date +%s)
	# -jobs=1 -workers=1: one process, so the numbers are one run's.
	set +e
	"$build/tests/fuzz/$t" -max_total_time="$secs" -print_final_stats=1 \
	    -artifact_prefix="$out/" -timeout=10 -rss_limit_mb=2048 \
	    "$out/corpus" >"$log" 2>&1
	rc=$?
	set -e
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	files=$(ls "$out/corpus" | wc -l)
	printf '%-12s %4ss  %10s execs  %8s/s  cov %5s  corpus %5s  ' \
	    "$t" "$((end - start))" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
	    "$files"
	if [ $rc -eq 0 ]; then
		echo "ok"
	else
		status=1
		echo "FAILED (exit $rc): see $log"
		ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* \
		    "$out"/oom-* 2>/dev/null || true
	fi
done
exit $status
