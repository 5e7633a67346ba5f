#!/bin/bash
# riskfix.sh: W=100 FIX throughput and CPU per answered order of `ringex
# serve` with risk.mode "spot" against "none", as docs/performance.md
# reports it ("pre-trade risk").
#
#   scripts/riskfix.sh [RINGEX]          # default: builds ./cmd/ringex
#   scripts/riskfix.sh RINGEX_A RINGEX_B # two builds, alternated, compared
#
# For PAIRS pairs (default 6; odd pairs run spot first, so half of them do
# when PAIRS is even) it starts `ringex serve` on a fresh data dir with the
# default config, journal.archive false (below), and risk.mode none, or
# spot (cashUnit 0.01, every broker funded with 1e14 cash units and 1e11
# shares of every symbol, far more than a run trades; a protection price
# on every symbol; no fee), then drives it with `ringex bench fix
# --compare=false --rate 0 --inflight 100` (8 sessions x 100 in flight,
# DURATION, default 10s, 2 s warm-up). The serve process's CPU time (utime
# + stime from /proc/PID/stat) is read right before and right after the
# bench: CPU per answered order is its difference over the bench's
# answered count (warm-up included). Each run prints acks/s (the bench's
# measured answers per second), answered, rejects, cancel rejects, risk
# refusals (counted after the run in `ringex replay trail` of its journal
# with its config: events with a risk_ reason) and unanswered; a run with a
# reject, a risk refusal or an unanswered order makes the script fail. At
# the end: the median and range of the pairs' ratios spot/none, of
# throughput and of CPU per order; with two builds, each pair runs all
# four (the builds' order alternating too), and the ratios are given for
# each build, then B/A for each mode.
#
# The journal's archiver is off (ARCHIVE=true turns it on): it compresses
# each 64 MiB segment once it is full, about a second of CPU on this VM,
# and a run fills one whatever its count of orders: a constant per run
# that weighs more on the run that answered fewer orders, and while it
# runs it takes one of two vCPUs from the pipeline. Its cost per journal
# byte is the same in both modes.
#
# With PROFILE=SECONDS, serve runs with --pprof and each run keeps a CPU
# profile of those seconds after the warm-up in its dir (cpu.pprof); the
# runs kept say where: compare two with `go tool pprof -top -diff_base
# none-1/cpu.pprof RINGEX spot-1/cpu.pprof`. Every run keeps the node's
# /metrics after the bench (metrics): the stages' batches and parks. With
# PERF=1, `perf stat` counts the serve process's context switches and
# system calls (futex, write, pwrite64, read, fdatasync, sched_yield,
# epoll_pwait) over the bench, in each run's dir (perf). Each run's data
# dir is removed after it unless KEEP=1.
#
# Ports: BASE (default 19878) for FIX, BASE+1 replication, +2 admin, +3 http.
set -euo pipefail
PAIRS=${PAIRS:-6}
ARCHIVE=${ARCHIVE:-false}
DURATION=${DURATION:-10s}
BASE=${BASE:-19878}
FIX=127.0.0.1:$BASE ADMIN=127.0.0.1:$((BASE + 2))
work=$(mktemp -d /tmp/riskfix.XXXXXX)
if [ $# -eq 0 ]; then
	go build -o "$work/ringex" ./cmd/ringex
	set -- "$work/ringex"
fi
BINS=("$@")
R=$1
SYMBOLS=(AAPL MSFT GOOG AMZN TSLA NVDA META IBM)
BROKERS=(BROKER01 BROKER02 BROKER03 BROKER04 BROKER05 BROKER06 BROKER07 BROKER08)
TCK=$(getconf CLK_TCK)

# config MODE: the default config with this run's ports and risk block.
config() {
	local risk='{"mode": "none"}'
	if [ "$1" = spot ]; then
		risk='{"mode": "spot", "cashUnit": "0.01", "feeBps": 0, "protection": [
		  {"symbol": "AAPL", "price": "1000.00"}, {"symbol": "MSFT", "price": "1000.00"},
		  {"symbol": "GOOG", "price": "1000.00"}, {"symbol": "AMZN", "price": "1000.00"},
		  {"symbol": "TSLA", "price": "1000.00"}, {"symbol": "NVDA", "price": "1000.00"},
		  {"symbol": "META", "price": "1000.00"}, {"symbol": "IBM", "price": "1000.00"}]}'
	fi
	"$R" config | jq --argjson risk "$risk" --arg fix "$FIX" --arg adm "$ADMIN" \
		--arg repl "127.0.0.1:$((BASE + 1))" --arg http "127.0.0.1:$((BASE + 3))" \
		--argjson archive "$ARCHIVE" \
		'.fix.listen = $fix | .replication.listen = $repl | .replication.admin = $adm | .http.listen = $http | .risk = $risk | .journal.archive = $archive'
}

PERF_EVENTS=context-switches,syscalls:sys_enter_futex,syscalls:sys_enter_write,syscalls:sys_enter_pwrite64,syscalls:sys_enter_read,syscalls:sys_enter_fdatasync,syscalls:sys_enter_sched_yield,syscalls:sys_enter_epoll_pwait
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run MODE PAIR [BUILD]: one serve + bench with the build $R; appends
# its row (below) to $work/runs. BUILD (A or B) labels the mode and dir.
run() {
	local mode=$1${3:+.$3} pair=$2 dir=$work/$1${3:+.$3}-$2
	mkdir -p "$dir"
	config "$1" >"$dir/config.json"
	"$R" serve --config "$dir/config.json" --data "$dir/data" ${PROFILE:+--pprof} >"$dir/serve.log" 2>&1 &
	local pid=$!
	trap "kill -TERM $pid 2>/dev/null" EXIT
	for _ in $(seq 100); do
		grep -q "$FIX" "$dir/serve.log" 2>/dev/null && (exec 3<>"/dev/tcp/${FIX%:*}/${FIX#*:}") 2>/dev/null && break
		sleep 0.1
	done
	if [ "$1" = spot ]; then
		local b s
		for b in "${BROKERS[@]}"; do
			"$R" account deposit --admin "$ADMIN" "$b" cash 1000000000000.00 >/dev/null
			for s in "${SYMBOLS[@]}"; do
				"$R" account deposit --admin "$ADMIN" "$b" "$s" 100000000000 >/dev/null
			done
		done
	fi
	local load c0 c1 risk
	load=$(cut -d' ' -f1 /proc/loadavg)
	c0=$(cpu_ticks "$pid")
	local prof= perf=
	if [ -n "${PROFILE:-}" ]; then
		(sleep 2 && curl -sf -o "$dir/cpu.pprof" "http://127.0.0.1:$((BASE + 3))/debug/pprof/profile?seconds=$PROFILE") &
		prof=$!
	fi
	if [ -n "${PERF:-}" ]; then
		perf stat -x, -o "$dir/perf" -e "$PERF_EVENTS" -p "$pid" &
		perf=$!
	fi
	"$R" bench fix --addr "$FIX" --compare=false --rate 0 --inflight 100 \
		--duration "$DURATION" --warmup 2s --out "$dir/bench" >"$dir/bench.log" 2>&1
	c1=$(cpu_ticks "$pid")
	[ -z "$prof" ] || wait "$prof"
	if [ -n "$perf" ]; then
		kill -INT "$perf" && wait "$perf" || true
	fi
	curl -sf -o "$dir/metrics" "http://127.0.0.1:$((BASE + 3))/metrics" || true
	kill -TERM "$pid"
	wait "$pid" || true
	trap - EXIT
	# Risk refusals, from the journal replayed through the risk stage (the
	# trail's last column is the event's reason). Not from /metrics: its
	# ringex_rejects_total counts reasons modulo 32 (node/observe.go,
	# reasonSlots), so risk_insufficient_cash (35) shows as unknown_order (3).
	risk=$("$R" replay trail --journal "$dir/data/journal" --config "$dir/config.json" --format csv 2>>"$dir/trail.log" |
		awk -F, '$NF ~ /^risk_/ { n++ } END { print n + 0 }')
	jq -r --arg m "$mode" --arg p "$pair" --arg l "$load" --arg k "$risk" --argjson cpu "$(((c1 - c0)))" --argjson tck "$TCK" \
		'.results[0] as $r |
		 [$p, $m, ($r.achieved | floor), (1e6 * $cpu / $tck / $r.answered * 100 | round / 100),
		  $r.answered, $r.rejects, $r.cxlRejects, $k, $r.unanswered, $l] | @tsv' \
		"$dir/bench/summary.json" | tee -a "$work/runs"
	# A run's data dir is most of a GiB (journal segments, FIX stores):
	# kept only with KEEP=1, so that a long series does not fill the disk.
	[ -n "${KEEP:-}" ] || rm -rf "$dir/data"
}

echo "start: $(date -u '+%F %T UTC') $(uptime)"
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
printf 'pair\tmode\tacks/s\tcpu-us/order\tanswered\trejects\tcxlRejects\triskRefusals\tunanswered\tload1\n'
for p in $(seq "$PAIRS"); do
	if [ $((p % 2)) -eq 1 ]; then order="spot none"; else order="none spot"; fi
	if [ ${#BINS[@]} -eq 1 ]; then
		for m in $order; do run "$m" "$p"; done
		continue
	fi
	if [ $((p % 4)) -lt 2 ]; then builds="A B"; else builds="B A"; fi
	for build in $builds; do
		R=${BINS[0]}
		[ "$build" = A ] || R=${BINS[1]}
		for m in $order; do run "$m" "$p" "$build"; done
	done
done
echo "end:   $(date -u '+%F %T UTC') $(uptime)"

# ratio COL NUM DEN: the median and range over the pairs of COL's NUM/DEN.
med='{ v[NR] = $1 } END { printf "median %.3f  range %.3f..%.3f\n", (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2), v[1], v[NR] }'
ratio() {
	awk -v c="$1" -v a="$2" -v b="$3" '{ v[$1, $2] = $c; n = $1 > n ? $1 : n } END { for (p = 1; p <= n; p++) print v[p, a] / v[p, b] }' "$work/runs" |
		sort -g | awk "$med"
}
if [ ${#BINS[@]} -eq 1 ]; then
	compare=("spot none")
else
	echo "A: ${BINS[0]}  B: ${BINS[1]}"
	compare=("spot.A none.A" "spot.B none.B" "none.B none.A" "spot.B spot.A")
fi
for c in "${compare[@]}"; do
	set -- $c
	printf '%s/%s %-10s ' "$1" "$2" acks/s
	ratio 3 "$1" "$2"
	printf '%s/%s %-10s ' "$1" "$2" cpu/order
	ratio 4 "$1" "$2"
done
bad=$(awk '$6 != 0 || $8 != 0 || $9 != 0' "$work/runs")
if [ -n "$bad" ]; then
	echo "FAIL: runs with rejects or unanswered orders:"
	echo "$bad"
	exit 1
fi
echo "runs kept in $work"
