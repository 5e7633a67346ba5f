#!/bin/bash
# riskfix.sh: W=100 FIX throughput and CPU per answered order of `ringex
# serve` with risk.mode "spot" against "none", as docs/performance.md
# reports it ("pre-trade risk").
#
#   scripts/riskfix.sh [RINGEX]      # default: builds ./cmd/ringex
#
# For PAIRS pairs (default 6; odd pairs run spot first, so half of them do
# when PAIRS is even) it starts `ringex serve` on a fresh data dir with the
# default config and risk.mode none, or spot (cashUnit 0.01, every broker
# funded with 1e14 cash units and 1e11 shares of every symbol, far more
# than a run trades; a protection price on every symbol; no fee), then
# drives it with `ringex bench fix --compare=false --rate 0 --inflight 100`
# (8 sessions x 100 in flight, DURATION, default 10s, 2 s warm-up). The
# serve process's CPU time (utime + stime from /proc/PID/stat) is read
# right before and right after the bench: CPU per answered order is its
# difference over the bench's answered count (warm-up included). Each run
# prints acks/s (the bench's measured answers per second), answered,
# rejects, cancel rejects, risk refusals (counted after the run in `ringex
# replay trail` of its journal with its config: events with a risk_
# reason) and unanswered; a run with a reject, a risk refusal or an
# unanswered order makes the script fail. At the end: the median and
# range of the pairs' ratios spot/none, of throughput and of CPU per order.
#
# Ports: BASE (default 19878) for FIX, BASE+1 replication, +2 admin, +3 http.
set -euo pipefail
PAIRS=${PAIRS:-6}
DURATION=${DURATION:-10s}
BASE=${BASE:-19878}
FIX=127.0.0.1:$BASE ADMIN=127.0.0.1:$((BASE + 2))
work=$(mktemp -d /tmp/riskfix.XXXXXX)
if [ $# -eq 0 ]; then
	go build -o "$work/ringex" ./cmd/ringex
	set -- "$work/ringex"
fi
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
		'.fix.listen = $fix | .replication.listen = $repl | .replication.admin = $adm | .http.listen = $http | .risk = $risk'
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run MODE PAIR: one serve + bench; appends its row (below) to $work/runs.
run() {
	local mode=$1 pair=$2 dir=$work/$1-$2
	mkdir -p "$dir"
	config "$mode" >"$dir/config.json"
	"$R" serve --config "$dir/config.json" --data "$dir/data" >"$dir/serve.log" 2>&1 &
	local pid=$!
	trap "kill -TERM $pid 2>/dev/null" EXIT
	for _ in $(seq 100); do
		grep -q "$FIX" "$dir/serve.log" 2>/dev/null && (exec 3<>"/dev/tcp/${FIX%:*}/${FIX#*:}") 2>/dev/null && break
		sleep 0.1
	done
	if [ "$mode" = spot ]; then
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
	"$R" bench fix --addr "$FIX" --compare=false --rate 0 --inflight 100 \
		--duration "$DURATION" --warmup 2s --out "$dir/bench" >"$dir/bench.log" 2>&1
	c1=$(cpu_ticks "$pid")
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
}

echo "start: $(date -u '+%F %T UTC') $(uptime)"
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
printf 'pair\tmode\tacks/s\tcpu-us/order\tanswered\trejects\tcxlRejects\triskRefusals\tunanswered\tload1\n'
for p in $(seq "$PAIRS"); do
	if [ $((p % 2)) -eq 1 ]; then order="spot none"; else order="none spot"; fi
	for m in $order; do run "$m" "$p"; done
done
echo "end:   $(date -u '+%F %T UTC') $(uptime)"

med='{ v[NR] = $1 } END { printf "median %.3f  range %.3f..%.3f\n", (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2), v[1], v[NR] }'
for col in 3 4; do
	printf 'spot/none %-13s ' "$([ $col = 3 ] && echo acks/s || echo cpu/order)"
	awk -v c=$col '{ v[$1, $2] = $c; n = $1 > n ? $1 : n } END { for (p = 1; p <= n; p++) print v[p, "spot"] / v[p, "none"] }' "$work/runs" |
		sort -g | awk "$med"
done
bad=$(awk '$6 != 0 || $8 != 0 || $9 != 0' "$work/runs")
if [ -n "$bad" ]; then
	echo "FAIL: runs with rejects or unanswered orders:"
	echo "$bad"
	exit 1
fi
echo "runs kept in $work"
