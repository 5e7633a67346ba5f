#!/bin/sh
# riskbench.sh: matcher + risk (spot) against the matcher alone, as
# docs/performance.md reports it. Each argument is a test binary of
# ./risk (go test -c -o NAME ./risk), e.g. one built from main and one
# from a branch; with none it builds the working tree's. For ROUNDS
# rounds (default 10) it runs, for each binary in turn,
# BenchmarkMatcherAlone and then BenchmarkMatcherRiskSpot, -benchtime
# 500000x, so the binaries and the two benchmarks alternate in the same
# minutes. It prints each run's ops/s and, per binary, the median and
# range of each benchmark and the median of the ten pairs' ratios
# (risk / alone).
set -eu
ROUNDS=${ROUNDS:-10}
if [ $# -eq 0 ]; then
	go test -c -o /tmp/riskbench.test ./risk
	set -- /tmp/riskbench.test
fi
uptime
out=$(mktemp)
i=1
while [ "$i" -le "$ROUNDS" ]; do
	for bin in "$@"; do
		for b in MatcherAlone MatcherRiskSpot; do
			"$bin" -test.run '^$' -test.bench "^Benchmark$b\$" -test.benchtime 500000x -test.benchmem |
				awk -v bin="$bin" -v b="$b" -v r="$i" '/^Benchmark/ { for (k = 1; k <= NF; k++) if ($k == "ops/s") print bin, b, r, $(k-1), $(k+3) " allocs/op" }' >>"$out"
		done
	done
	i=$((i + 1))
done
uptime
cat "$out"
for bin in "$@"; do
	echo "== $bin"
	for b in MatcherAlone MatcherRiskSpot; do
		awk -v bin="$bin" -v b="$b" '$1 == bin && $2 == b { print $4 / 1e6 }' "$out" | sort -g |
			awk -v b="$b" '{ v[NR] = $1 } END { printf "%-16s median %.2f M ops/s  range %.2f..%.2f\n", b, (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2), v[1], v[NR] }'
	done
	awk -v bin="$bin" '$1 == bin { ops[$2, $3] = $4 } END { for (r = 1; ops["MatcherAlone", r] != ""; r++) print ops["MatcherRiskSpot", r] / ops["MatcherAlone", r] }' "$out" | sort -g |
		awk '{ v[NR] = $1; s = s sprintf(" %.2f", $1) } END { printf "ratio risk/alone  median %.2f  (sorted:%s)\n", (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2), s }'
done
rm -f "$out"
