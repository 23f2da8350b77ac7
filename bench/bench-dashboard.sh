#!/bin/sh
# The dashboard's own cost, next to top and htop measured in the same run.
#
# Starts, each in its own tmux session of the same size (TERM=xterm-256color):
#   pooltop (the dashboard) on a pool of WORKERS example workers, sampling
#           every second;
#   top -d 1  and  htop -d 10  (both refreshing every second, over every
#           process of the machine, pooltop's workers included).
# Once every worker is up and all three have warmed up, reads their CPU
# ticks (utime + stime, /proc/PID/stat) over SECONDS and their RSS
# (/proc/PID/status: in all, and split into the pages of the binary and
# shared libraries, RssFile, and the process's own, RssAnon), and prints a
# table with the ratios.
#
# usage: bench/bench-dashboard.sh [BUILD_DIR [SECONDS [WORKERS]]]
#        (defaults: build 20 1000)
# If htop is missing it is installed with apt-get (as root or with sudo),
# and the script says so.
set -eu

BUILD=${1:-build}
SECS=${2:-20}
WORKERS=${3:-1000}
WARMUP=5
COLS=200
LINES=50

POOLTOP=$(cd "$BUILD" && pwd)/pooltop
WORKER=$(cd "$BUILD" && pwd)/examples/workers/pooltop-example-worker
for f in "$POOLTOP" "$WORKER"; do
	if [ ! -x "$f" ]; then
		echo "bench-dashboard: $f is missing: build first (ninja -C $BUILD)" >&2
		exit 1
	fi
done
command -v tmux >/dev/null 2>&1 || {
	echo "bench-dashboard: tmux is needed (scripts/setup.sh installs it)" >&2
	exit 1
}
if ! command -v htop >/dev/null 2>&1; then
	echo "bench-dashboard: htop is not installed: installing it with apt-get"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get install -y -qq htop >/dev/null 2>&1 || {
		$SUDO apt-get update -qq >/dev/null
		$SUDO apt-get install -y -qq htop >/dev/null
	}
fi

TMP=$(mktemp -d /tmp/pooltop-bench.XXXXXX)
SERVER=pooltop-bench-$$
tm() { tmux -L "$SERVER" -f /dev/null "$@"; }
cleanup() {
	# Closing the sessions sends SIGHUP: pooltop stops its workers.
	tm kill-server >/dev/null 2>&1 || true
	if [ -n "${PT_PID:-}" ]; then
		i=0
		while [ -d "/proc/$PT_PID" ] && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

cat >"$TMP/bench.conf" <<EOF
[pooltop]
interval = 1s
confirm = no

[pool bench]
command = $WORKER
workers = $WORKERS
min_workers = $WORKERS
EOF

start() {	# name command...
	name=$1
	shift
	tm new-session -d -s "$name" -x $COLS -y $LINES \
	    "exec env TERM=xterm-256color HOME=$TMP $*"
	tm display-message -p -t "$name" '#{pane_pid}'
}

echo "bench-dashboard: starting pooltop with $WORKERS workers, top -d 1 and htop -d 10 ($COLS x $LINES tmux sessions)"
PT_PID=$(start pooltop "$POOLTOP" -c "$TMP/bench.conf" -s "$TMP/ctl.sock")
TOP_PID=$(start top top -d 1)
HTOP_PID=$(start htop htop -d 10)

# Wait (up to 3 minutes) for every worker to be up.
i=0
until tm capture-pane -p -t pooltop 2>/dev/null |
    grep -q "workers $WORKERS/$WORKERS"; do
	i=$((i + 1))
	if [ $i -gt 1800 ] || [ ! -d "/proc/$PT_PID" ]; then
		echo "bench-dashboard: the workers did not all start; screen:" >&2
		tm capture-pane -p -t pooltop >&2 || true
		exit 1
	fi
	sleep 0.1
done
echo "bench-dashboard: $WORKERS workers up; warming up ${WARMUP}s, measuring ${SECS}s"
sleep $WARMUP

ticks() {	# utime + stime of a pid
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
rss_kb() {	# field of /proc/PID/status, in kB (default VmRSS)
	awk -v f="${2:-VmRSS}:" '$1 == f { print $2 }' "/proc/$1/status"
}

HZ=$(getconf CLK_TCK)
T0=$(date +%s.%N)
P0=$(ticks "$PT_PID"); O0=$(ticks "$TOP_PID"); H0=$(ticks "$HTOP_PID")
sleep "$SECS"
P1=$(ticks "$PT_PID"); O1=$(ticks "$TOP_PID"); H1=$(ticks "$HTOP_PID")
T1=$(date +%s.%N)
PR=$(rss_kb "$PT_PID"); OR=$(rss_kb "$TOP_PID"); HR=$(rss_kb "$HTOP_PID")
# RSS = RssFile (pages of the binary and shared libraries, shared with
# other processes) + RssAnon (the process's own: heap, stacks, copied pages).
PF=$(rss_kb "$PT_PID" RssFile); OF=$(rss_kb "$TOP_PID" RssFile)
HF=$(rss_kb "$HTOP_PID" RssFile)
NPROC=$(ls -d /proc/[0-9]* | wc -l)

awk -v t0="$T0" -v t1="$T1" -v hz="$HZ" -v n="$WORKERS" -v np="$NPROC" \
    -v p0="$P0" -v p1="$P1" -v o0="$O0" -v o1="$O1" -v h0="$H0" -v h1="$H1" \
    -v prss="$PR" -v orss="$OR" -v hrss="$HR" \
    -v pf="$PF" -v of="$OF" -v hf="$HF" 'BEGIN {
	el = t1 - t0
	pc = (p1 - p0) / hz / el * 100
	oc = (o1 - o0) / hz / el * 100
	hc = (h1 - h0) / hz / el * 100
	printf "\n%d processes on the machine, %.1f s measured, %d ticks/s\n\n", np, el, hz
	printf "%-34s %8s %10s %12s %12s\n", "process (1 s refresh)", "CPU%", "RSS", "libraries", "own"
	printf "%-34s %8.2f %8.1f MB %9.1f MB %9.1f MB\n", "pooltop (dashboard, " n " workers)", pc, prss / 1024, pf / 1024, (prss - pf) / 1024
	printf "%-34s %8.2f %8.1f MB %9.1f MB %9.1f MB\n", "top -d 1", oc, orss / 1024, of / 1024, (orss - of) / 1024
	printf "%-34s %8.2f %8.1f MB %9.1f MB %9.1f MB\n", "htop -d 10", hc, hrss / 1024, hf / 1024, (hrss - hf) / 1024
	printf "\nratios: pooltop/top CPU %.2f, pooltop/htop CPU %.2f, pooltop/htop RSS %.2f\n",
	    (oc > 0 ? pc / oc : 0), (hc > 0 ? pc / hc : 0), (hrss > 0 ? prss / hrss : 0)
	printf "goal: CPU below both (ratios < 1); RSS within htop'"'"'s\n"
}'
