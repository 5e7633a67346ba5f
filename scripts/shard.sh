#!/usr/bin/env bash
# shard.sh: a shard led through etcd on one machine, for a try: a
# three-member etcd cluster (Debian's etcd-server, installed here as root
# when missing) and two ringex nodes, node0 and node1, of shard s1. It runs
# in the foreground; Ctrl-C stops the ringex nodes (SIGTERM), then etcd.
#
#   scripts/shard.sh [BIN]     BIN: the ringex binary [bin/ringex]
#
# Folders under $SHARD_DIR [data/shard]: etcd0..2 (etcd's data), node0 and
# node1 (the nodes' data dirs), node0.json and node1.json (their configs),
# *.log (each process's log). Ports (127.0.0.1):
#   etcd clients 2379, 22379, 32379; etcd peers 2380, 22380, 32380
#   node0: FIX 9878, replication 9879, admin 9880
#   node1: FIX 9978, replication 9979, admin 9980
# Then, in another terminal:
#   bin/ringex status --etcd http://127.0.0.1:2379 --shard s1
#   bin/ringex promote --admin 127.0.0.1:9880 node1     (on the leader's admin)
set -euo pipefail
BIN=${1:-bin/ringex}
DIR=${SHARD_DIR:-data/shard}
if ! command -v etcd >/dev/null; then
	# Debian's etcd-server, installed by the project (as root) like the
	# browser test's chromium; otherwise say what to install.
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "shard.sh: installing Debian's etcd-server (once)" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y --no-install-recommends etcd-server >/dev/null 2>&1 ||
			{ apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends etcd-server >/dev/null; } ||
			{ echo "shard.sh: apt-get install etcd-server failed" >&2; exit 1; }
	else
		echo "shard.sh: no etcd on PATH: apt-get install etcd-server (as root)" >&2
		exit 1
	fi
fi
test -x "$BIN" || { echo "shard.sh: $BIN is not built: make build" >&2; exit 1; }
mkdir -p "$DIR"
pids=()
stop() {
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; done
}
trap stop EXIT INT TERM

cluster="e0=http://127.0.0.1:2380,e1=http://127.0.0.1:22380,e2=http://127.0.0.1:32380"
endpoints="http://127.0.0.1:2379,http://127.0.0.1:22379,http://127.0.0.1:32379"
for i in 0 1 2; do
	port=$((i == 0 ? 2379 : i * 10000 + 12379))
	etcd --name "e$i" --data-dir "$DIR/etcd$i" \
		--listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
		--listen-peer-urls "http://127.0.0.1:$((port + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \
		--initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token ringex-shard \
		>"$DIR/etcd$i.log" 2>&1 &
	pids+=($!)
done
etcdctl --endpoints "$endpoints" --command-timeout 30s endpoint health >/dev/null 2>&1 ||
	{ sleep 2; etcdctl --endpoints "$endpoints" endpoint health; }

etcd_json=$(printf '"%s",' ${endpoints//,/ })
for i in 0 1; do
	"$BIN" config | sed "s|\"cluster\": {\"shard\": \"\", \"name\": \"\", \"leaseTtlMs\": 2000}|\"cluster\": {\"etcd\": [${etcd_json%,}], \"shard\": \"s1\", \"name\": \"node$i\", \"leaseTtlMs\": 2000}|" >"$DIR/node$i.json"
	grep -q '"name": "node'"$i"'"' "$DIR/node$i.json" || { echo "shard.sh: could not set the cluster block in $DIR/node$i.json" >&2; exit 1; }
	base=$((9878 + 100 * i))
	"$BIN" serve --config "$DIR/node$i.json" --data "$DIR/node$i" --listen "127.0.0.1:$base" \
		--repl-listen "127.0.0.1:$((base + 1))" --admin "127.0.0.1:$((base + 2))" --http "127.0.0.1:$((base + 3))" >"$DIR/node$i.log" 2>&1 &
	pids+=($!)
done
echo "shard s1: etcd $endpoints; node0 FIX 127.0.0.1:9878 (metrics 127.0.0.1:9881), node1 FIX 127.0.0.1:9978 (metrics 127.0.0.1:9981); logs in $DIR/*.log; Ctrl-C stops all"
sleep 3
"$BIN" status --etcd "$endpoints" --shard s1 || true
wait -n "${pids[@]}" || true
echo "shard.sh: a process ended; stopping the rest" >&2
