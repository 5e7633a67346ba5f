#!/bin/sh
# riskbench.sh: matcher + risk (spot) against the matcher alone, as
# docs/performance.md reports it ("pre-trade risk").
#
#   go test -c -o /tmp/before.test ./risk    # in a checkout of the old code
#   go test -c -o /tmp/after.test ./risk     # in this one
#   scripts/riskbench.sh /tmp/before.test /tmp/after.test
#
# With no argument it builds the working tree's ./risk. For ROUNDS rounds
# (default 10) it runs, for each binary in turn, BenchmarkMatcherAlone and
# then BenchmarkMatcherRiskSpot (-benchtime 500000x), so binaries and
# benchmarks alternate within the same minutes. It prints every run, then
# per binary and benchmark the median and range of ops/s (wall clock) and
# of 1e9/cpu-ns/op (the benchmark thread's CPU time: what a core of its
# own would give), and the median of the rounds' ratios risk / alone.
set -eu
ROUNDS=${ROUNDS:-10}
if [ $# -eq 0 ]; then
	go test -c -o /tmp/riskbench.test ./risk
	set -- /tmp/riskbench.test
fi
echo "start: $(uptime)"
out=$(mktemp)
i=1
while [ "$i" -le "$ROUNDS" ]; do
	for bin in "$@"; do
		for b in MatcherAlone MatcherRiskSpot; do
			"$bin" -test.run '^$' -test.bench "^Benchmark$b\$" -test.benchtime 500000x -test.benchmem |
				awk -v bin="$bin" -v b="$b" -v r="$i" '/^Benchmark/ {
					ops = 0; cpu = 0; allocs = ""
					for (k = 2; k <= NF; k++) {
						if ($k == "ops/s") ops = $(k-1)
						if ($k == "cpu-ns/op") cpu = $(k-1)
						if ($k == "allocs/op") allocs = $(k-1)
					}
					print bin, b, r, ops, (cpu ? 1e9 / cpu : 0), allocs
				}' >>"$out"
		done
	done
	i=$((i + 1))
done
echo "end:   $(uptime)"
echo "binary benchmark round ops/s cpu-ops/s allocs/op"
cat "$out"
med='{ v[NR] = $1 } END { printf "median %.2f M  range %.2f..%.2f", (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2), v[1], v[NR] }'
for bin in "$@"; do
	echo "== $bin"
	for b in MatcherAlone MatcherRiskSpot; do
		printf '%-16s wall ' "$b"
		awk -v bin="$bin" -v b="$b" '$1 == bin && $2 == b { print $4 / 1e6 }' "$out" | sort -g | awk "$med"
		printf '   cpu '
		awk -v bin="$bin" -v b="$b" '$1 == bin && $2 == b { print $5 / 1e6 }' "$out" | sort -g | awk "$med"
		echo
	done
	for col in 4 5; do
		printf 'ratio risk/alone (%s) ' "$([ $col = 4 ] && echo wall || echo cpu)"
		awk -v bin="$bin" -v c=$col '$1 == bin { v[$2, $3] = $c } END { for (r = 1; v["MatcherAlone", r] != ""; r++) print v["MatcherRiskSpot", r] / v["MatcherAlone", r] }' "$out" | sort -g | awk "$med" | sed 's/ M / /'
		echo
	done
done
rm -f "$out"
