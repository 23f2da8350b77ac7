#!/bin/sh
# The engine's memory per worker: pooltop --headless (engine and sampler,
# no dashboard) with WORKERS example workers, next to the same run with
# one worker, so the difference is what the workers cost.
#
# For each run: RSS once every worker is up (and has been sampled a few
# times), its heap part (/proc/PID/smaps), and the peak RSS (VmHWM) through
# a graceful stop of all the workers at once.
#
# usage: bench/bench-memory.sh [BUILD_DIR [WORKERS]]   (defaults: build 1000)
set -eu

BUILD=${1:-build}
WORKERS=${2:-1000}
SETTLE=4

POOLTOP=$(cd "$BUILD" && pwd)/pooltop
WORKER=$(cd "$BUILD" && pwd)/examples/workers/pooltop-example-worker
for f in "$POOLTOP" "$WORKER"; do
	if [ ! -x "$f" ]; then
		echo "bench-memory: $f is missing: build first (ninja -C $BUILD)" >&2
		exit 1
	fi
done

TMP=$(mktemp -d /tmp/pooltop-bench.XXXXXX)
PID=
cleanup() {
	if [ -n "$PID" ] && [ -d "/proc/$PID" ]; then
		kill -KILL "$PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

kb() {	# field of /proc/PID/status, in kB
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# Prints "rss heap hwm" (kB) for a pool of $1 workers.
measure() {
	n=$1
	cat >"$TMP/m.conf" <<EOF
[pooltop]
interval = 1s

[pool bench]
command = $WORKER
workers = $n
min_workers = $n
EOF
	"$POOLTOP" --headless --quiet -c "$TMP/m.conf" -s "$TMP/m.sock" \
	    >/dev/null 2>"$TMP/err" &
	PID=$!
	i=0
	until [ "$(cat /proc/$PID/task/*/children 2>/dev/null | wc -w)" \
	    -ge "$n" ]; do
		i=$((i + 1))
		if [ $i -gt 1800 ] || [ ! -d "/proc/$PID" ]; then
			echo "bench-memory: the workers did not all start:" >&2
			cat "$TMP/err" >&2
			exit 1
		fi
		sleep 0.1
	done
	sleep $SETTLE
	rss=$(kb "$PID" VmRSS)
	heap=$(awk '/^[0-9a-f]+-/ { h = ($6 == "[heap]") }
	    h && /^Rss:/ { s += $2 } END { print s + 0 }' "/proc/$PID/smaps")
	kill -TERM "$PID"
	hwm=$rss
	while [ -d "/proc/$PID" ]; do
		v=$(kb "$PID" VmHWM 2>/dev/null || true)
		[ -n "$v" ] && hwm=$v
		sleep 0.02
	done
	wait "$PID" 2>/dev/null || true
	PID=
	echo "$rss $heap $hwm"
}

echo "bench-memory: pooltop --headless, 1 worker, then $WORKERS workers"
set -- $(measure 1)
r1=$1 h1=$2 p1=$3
set -- $(measure "$WORKERS")
rn=$1 hn=$2 pn=$3

awk -v n="$WORKERS" -v r1="$r1" -v h1="$h1" -v p1="$p1" -v rn="$rn" \
    -v hn="$hn" -v pn="$pn" 'BEGIN {
	printf "\n%-24s %10s %10s %16s\n", "pooltop --headless", "RSS", "heap",
	    "peak (stop)"
	printf "%-24s %7.1f MB %7.1f MB %13.1f MB\n", "1 worker", r1 / 1024,
	    h1 / 1024, p1 / 1024
	printf "%-24s %7.1f MB %7.1f MB %13.1f MB\n", n " workers", rn / 1024,
	    hn / 1024, pn / 1024
	printf "\nper worker: %.2f KB of RSS (%.2f KB of heap)\n",
	    (rn - r1) / (n - 1), (hn - h1) / (n - 1)
}'
