#!/bin/sh
# riskbench.sh: matcher + risk (spot) against the matcher alone, serial and
# in the pipeline, as docs/performance.md reports it ("pre-trade risk").
#
#   go test -c -o /tmp/before.test ./risk    # in a checkout of the old code
#   go test -c -o /tmp/after.test ./risk     # in this one
#   scripts/riskbench.sh /tmp/before.test /tmp/after.test
#
# With no argument it builds the working tree's ./risk. For ROUNDS rounds
# (default 10) it runs, for each binary in turn, BenchmarkMatcherAlone,
# BenchmarkMatcherRiskSpot, BenchmarkRiskOnly, and the pipeline benchmarks
# BenchmarkPipelineAlone and BenchmarkPipelineRiskSpot with one match
# partition, and with 2 and 4 (PipelineAlone2, PipelineRiskSpot4, ...: that
# many match goroutines over the ring, as match.partitions)
# (-benchtime 500000x; BENCHES chooses others; one a binary lacks is left
# out), so binaries and benchmarks alternate within the same minutes. It
# prints every run, then per binary and benchmark the median and range of:
#
#   wall  ops/s by the wall clock;
#   cpu   for the one-goroutine benchmarks 1e9/cpu-ns/op, the benchmark thread's
#         CPU time per command (what a core of its own would give); for the
#         pipeline benchmarks stage-ops/s, 1e9 over the CPU time per
#         command of the slowest stage goroutine inside its handler (what a
#         core per stage goroutine would give: a figure a machine with fewer
#         cores than stage goroutines cannot show by the wall clock);
#
# the pipeline's per-stage CPU ns per command of the stream (risk check;
# match, the largest of its match goroutines', each divided by all the
# commands; publish: with risk the settle half), the medians of the rounds'
# ratios to BenchmarkMatcherAlone's, and for PipelineRiskSpotN the median
# of the rounds' ratios of its cpu to PipelineAloneN's.
set -eu
ROUNDS=${ROUNDS:-10}
BENCHES=${BENCHES:-"MatcherAlone MatcherRiskSpot RiskOnly PipelineAlone PipelineAlone2 PipelineAlone4 PipelineRiskSpot PipelineRiskSpot2 PipelineRiskSpot4"}
if [ $# -eq 0 ]; then
	go test -c -o /tmp/riskbench.test ./risk
	set -- /tmp/riskbench.test
fi
echo "start: $(uptime)"
out=$(mktemp)
i=1
while [ "$i" -le "$ROUNDS" ]; do
	for bin in "$@"; do
		for b in $BENCHES; do
			"$bin" -test.run '^$' -test.bench "^Benchmark$b\$" -test.benchtime 500000x -test.benchmem |
				awk -v bin="$bin" -v b="$b" -v r="$i" '/^Benchmark/ {
					ops = 0; cpu = 0; allocs = ""; rk = "-"; mt = "-"; pb = "-"
					for (k = 2; k <= NF; k++) {
						if ($k == "ops/s") ops = $(k-1)
						if ($k == "cpu-ns/op") cpu = 1e9 / $(k-1)
						if ($k == "stage-ops/s") cpu = $(k-1)
						if ($k == "risk-cpu-ns/op") rk = $(k-1)
						if ($k == "match-cpu-ns/op") mt = $(k-1)
						if ($k == "publish-cpu-ns/op") pb = $(k-1)
						if ($k == "allocs/op") allocs = $(k-1)
					}
					print bin, b, r, ops, cpu, allocs, rk, mt, pb
				}' >>"$out"
		done
	done
	i=$((i + 1))
done
echo "end:   $(uptime)"
echo "binary benchmark round ops/s cpu-ops/s allocs/op risk-ns match-ns publish-ns"
cat "$out"
med='{ v[NR] = $1 } END { if (NR) printf "median %.2f  range %.2f..%.2f", (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2), v[1], v[NR] }'
for bin in "$@"; do
	echo "== $bin"
	for b in $BENCHES; do
		awk -v bin="$bin" -v b="$b" '$1 == bin && $2 == b' "$out" | grep -q . || continue
		printf '%-17s wall M ' "$b"
		awk -v bin="$bin" -v b="$b" '$1 == bin && $2 == b { print $4 / 1e6 }' "$out" | sort -g | awk "$med"
		printf '   cpu M '
		awk -v bin="$bin" -v b="$b" '$1 == bin && $2 == b { print $5 / 1e6 }' "$out" | sort -g | awk "$med"
		echo
		for col in 7 8 9; do
			name=$(echo "risk match publish" | cut -d' ' -f$((col - 6)))
			if awk -v bin="$bin" -v b="$b" -v c=$col '$1 == bin && $2 == b && $c != "-"' "$out" | grep -q .; then
				printf '    %-8s ns/op ' "$name"
				awk -v bin="$bin" -v b="$b" -v c=$col '$1 == bin && $2 == b { print $c }' "$out" | sort -g | awk "$med"
				echo
			fi
		done
		[ "$b" = MatcherAlone ] || [ "$b" = RiskOnly ] && continue
		for col in 4 5; do
			printf '    ratio to MatcherAlone (%s) ' "$([ $col = 4 ] && echo wall || echo cpu)"
			awk -v bin="$bin" -v b="$b" -v c=$col '$1 == bin { v[$2, $3] = $c } END { for (r = 1; v["MatcherAlone", r] != ""; r++) if (v[b, r] != "") print v[b, r] / v["MatcherAlone", r] }' "$out" | sort -g | awk "$med"
			echo
		done
		case $b in
		PipelineRiskSpot*)
			alone=PipelineAlone${b#PipelineRiskSpot}
			printf '    ratio to %s (cpu) ' "$alone"
			awk -v bin="$bin" -v b="$b" -v a="$alone" '$1 == bin { v[$2, $3] = $5 } END { for (r = 1; v[a, r] != ""; r++) if (v[b, r] != "") print v[b, r] / v[a, r] }' "$out" | sort -g | awk "$med"
			echo
			;;
		esac
	done
done
rm -f "$out"
