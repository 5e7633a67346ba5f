#!/usr/bin/env bash
# ordermatch.sh: QuickFIX/C++'s ordermatch example as a peer exchange for
# `ringex bench`, built at run time from Debian's packages (libquickfix-dev
# for the library and headers, libquickfix-doc for the example's sources).
# No QuickFIX source is kept in this repository: the sources are read from
# the installed package and compiled as shipped, into a git-ignored folder.
#
#   scripts/ordermatch.sh build    install the packages if missing (apt-get), build
#   scripts/ordermatch.sh config   write the session config
#   scripts/ordermatch.sh start    config, then start in the background; prints its address
#   scripts/ordermatch.sh stop     stop it (#quit on its stdin, then SIGTERM)
#   scripts/ordermatch.sh status   say whether it is built and running
#
# Environment (defaults in brackets):
#   ORDERMATCH_DIR       build output [bin/peer]
#   ORDERMATCH_RUN       config, store, log and pid of one instance [$ORDERMATCH_DIR/run]
#   ORDERMATCH_PORT      TCP port it accepts on (all interfaces) [5001]
#   ORDERMATCH_STORE     file: the example as shipped (FileStore); memory: the
#                        same Application under a small main of ours with
#                        QuickFIX's MemoryStore [file]
#   ORDERMATCH_COMPID    its SenderCompID [ORDERMATCH]
#   ORDERMATCH_SENDERS   comma-separated CompIDs of the brokers [BROKER01..BROKER16,
#                        the SenderCompIDs `ringex bench fix` uses]
#   ORDERMATCH_DICT      a FIX42.xml to validate against (UseDataDictionary=Y);
#                        unset: no data dictionary, as the bench's quickfixgo baseline
#
# ordermatch speaks FIX 4.2 only, trades DAY limit orders only (it rejects
# IOC: "Unsupported TIF, use Day"), has no OrderCancelReplaceRequest, answers
# a cancel with the original order's ClOrdID and ignores a cancel of an order
# it no longer holds: `ringex bench` drives it with a mix of new orders only
# (bench.PeerMix). Its FileStore flushes to the page cache and never fsyncs.
# The shipped main reads commands from stdin; it is started with a FIFO on
# stdin held open by a sleeping writer, since at end of file it would spin.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${ORDERMATCH_DIR:-$repo/bin/peer}
run=${ORDERMATCH_RUN:-$dir/run}
port=${ORDERMATCH_PORT:-5001}
store=${ORDERMATCH_STORE:-file}
compid=${ORDERMATCH_COMPID:-ORDERMATCH}
senders=${ORDERMATCH_SENDERS:-$(printf 'BROKER%02d,' $(seq 1 16))}
doc=/usr/share/doc/libquickfix-doc/examples/ordermatch

die() { echo "ordermatch.sh: $*" >&2; exit 1; }

binary() {
	case $store in
	file) echo "$dir/ordermatch" ;;
	memory) echo "$dir/ordermatch-mem" ;;
	*) die "ORDERMATCH_STORE=$store: want file or memory" ;;
	esac
}

install_packages() {
	if dpkg -s libquickfix-dev libquickfix-doc >/dev/null 2>&1; then
		return 0
	fi
	local sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null && sudo="sudo -n" ||
			die "libquickfix-dev and libquickfix-doc are not installed, and without root or sudo this script cannot apt-get them"
	fi
	command -v apt-get >/dev/null || die "libquickfix-dev and libquickfix-doc are not installed and there is no apt-get here"
	echo "ordermatch.sh: apt-get install libquickfix-dev libquickfix-doc" >&2
	if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libquickfix-dev libquickfix-doc >&2; then
		$sudo apt-get update >&2 || true
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libquickfix-dev libquickfix-doc >&2 ||
			die "apt-get could not install libquickfix-dev and libquickfix-doc (no network, no Debian archive?)"
	fi
}

# example_source NAME: the path of one of the example's files in the package,
# decompressed into the build folder when the package ships it gzipped.
example_source() {
	local name=$1
	if [ -f "$doc/$name" ]; then
		echo "$doc/$name"
	elif [ -f "$doc/$name.gz" ]; then
		gzip -dc "$doc/$name.gz" >"$dir/src/$name"
		echo "$dir/src/$name"
	else
		die "$doc/$name(.gz) not found: is libquickfix-doc installed? (dpkg -L libquickfix-doc)"
	fi
}

build() {
	install_packages
	command -v g++ >/dev/null || die "g++ is not installed (apt-get install g++)"
	[ -d "$doc" ] || die "$doc not found in libquickfix-doc (dpkg -L libquickfix-doc | grep ordermatch)"
	mkdir -p "$dir/src"
	# The example includes the autotools "config.h" of QuickFIX's own build;
	# the installed headers need nothing from it, so an empty one stands in.
	: >"$dir/src/config.h"
	local srcs=() f
	for f in ordermatch.cpp Application.cpp Market.cpp; do
		srcs+=("$(example_source "$f")")
	done
	# The headers declare dynamic exception specifications (throw(...)),
	# which C++17 removed: compile as C++14.
	local flags=(-std=gnu++14 -O2 -w -I"$dir/src" -I"$doc" $(pkg-config --cflags quickfix 2>/dev/null || echo -I/usr/include/libxml2))
	local libs=($(pkg-config --libs quickfix 2>/dev/null || echo -lquickfix) -lpthread)
	echo "ordermatch.sh: g++ ${srcs[*]##*/} → $dir/ordermatch" >&2
	g++ "${flags[@]}" -o "$dir/ordermatch" "${srcs[@]}" "${libs[@]}" || die "g++ failed to build ordermatch"
	# The memory-store variant: the example's Application and Market
	# unchanged, under this main (the shipped one hard-wires FileStore).
	cat >"$dir/src/memstore_main.cpp" <<-'EOF'
		// ringex bench: ordermatch's Application under QuickFIX's MemoryStore.
		#include "quickfix/MessageStore.h"
		#include "quickfix/SocketAcceptor.h"
		#include "quickfix/SessionSettings.h"
		#include "quickfix/Log.h"
		#include "Application.h"
		#include <csignal>
		#include <iostream>
		#include <unistd.h>
		static volatile std::sig_atomic_t quit = 0;
		static void onSignal( int ) { quit = 1; }
		int main( int argc, char** argv )
		{
		  if ( argc != 2 ) { std::cerr << "usage: " << argv[ 0 ] << " FILE" << std::endl; return 2; }
		  try
		  {
		    FIX::SessionSettings settings( argv[ 1 ] );
		    Application application;
		    FIX::MemoryStoreFactory storeFactory;
		    FIX::ScreenLogFactory logFactory( settings );
		    FIX::SocketAcceptor acceptor( application, storeFactory, settings, logFactory );
		    std::signal( SIGTERM, onSignal );
		    std::signal( SIGINT, onSignal );
		    acceptor.start();
		    while ( !quit ) pause();
		    acceptor.stop();
		    return 0;
		  }
		  catch ( std::exception& e ) { std::cerr << e.what() << std::endl; return 1; }
		}
	EOF
	echo "ordermatch.sh: g++ memstore_main.cpp Application.cpp Market.cpp → $dir/ordermatch-mem" >&2
	g++ "${flags[@]}" -o "$dir/ordermatch-mem" "$dir/src/memstore_main.cpp" "${srcs[@]:1}" "${libs[@]}" ||
		die "g++ failed to build ordermatch-mem"
	echo "ordermatch.sh: built $dir/ordermatch and $dir/ordermatch-mem" >&2
}

config() {
	mkdir -p "$run/store"
	local cfg=$run/ordermatch.cfg
	{
		echo "# written by scripts/ordermatch.sh for ringex bench"
		echo "[DEFAULT]"
		echo "ConnectionType=acceptor"
		echo "SocketAcceptPort=$port"
		echo "SocketReuseAddress=Y"
		echo "SocketNodelay=Y"
		echo "StartTime=00:00:00"
		echo "EndTime=00:00:00"
		echo "FileStorePath=$run/store"
		echo "ScreenLogShowIncoming=N"
		echo "ScreenLogShowOutgoing=N"
		echo "ScreenLogShowEvents=N"
		if [ -n "${ORDERMATCH_DICT:-}" ]; then
			echo "UseDataDictionary=Y"
			echo "DataDictionary=$ORDERMATCH_DICT"
		else
			echo "UseDataDictionary=N"
		fi
		echo "BeginString=FIX.4.2"
		echo "SenderCompID=$compid"
		local s
		for s in ${senders//,/ }; do
			printf '\n[SESSION]\nTargetCompID=%s\n' "$s"
		done
	} >"$cfg"
	echo "$cfg"
}

running() {
	[ -f "$run/pid" ] && kill -0 "$(cat "$run/pid")" 2>/dev/null
}

start() {
	local bin
	bin=$(binary)
	[ -x "$bin" ] || die "$bin is not built: run scripts/ordermatch.sh build (or make peer)"
	if running; then
		die "already running (pid $(cat "$run/pid")); scripts/ordermatch.sh stop first"
	fi
	rm -rf "$run/store"
	local cfg
	cfg=$(config)
	rm -f "$run/stdin" && mkfifo "$run/stdin"
	# Holder first (it blocks opening the FIFO until ordermatch reads it).
	nohup sleep 2147483647 >"$run/stdin" 2>/dev/null &
	echo $! >"$run/holder.pid"
	nohup "$bin" "$cfg" <"$run/stdin" >"$run/ordermatch.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$run/pid"
	echo "$store" >"$run/kind"
	local i
	for i in $(seq 1 100); do
		if ! kill -0 "$pid" 2>/dev/null; then
			stop_holder
			die "ordermatch exited at start: $(tail -n 5 "$run/ordermatch.log")"
		fi
		if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
			echo "ordermatch listening on 127.0.0.1:$port (pid $pid, store $store, CompID $compid, FIX.4.2; config $cfg)"
			return 0
		fi
		sleep 0.05
	done
	stop
	die "ordermatch did not listen on port $port within 5 s: $(tail -n 5 "$run/ordermatch.log")"
}

stop_holder() {
	if [ -f "$run/holder.pid" ]; then
		kill "$(cat "$run/holder.pid")" 2>/dev/null || true
		rm -f "$run/holder.pid"
	fi
}

stop() {
	if running; then
		local pid i
		pid=$(cat "$run/pid")
		# The shipped main stops its acceptor (logging sessions out) on #quit.
		if [ "$(cat "$run/kind" 2>/dev/null)" = file ] && [ -p "$run/stdin" ]; then
			timeout 1 sh -c 'echo "#quit" >"$1"' _ "$run/stdin" 2>/dev/null || true
		else
			kill -TERM "$pid" 2>/dev/null || true
		fi
		for i in $(seq 1 60); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null && sleep 0.2
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		echo "ordermatch stopped (pid $pid)"
	fi
	rm -f "$run/pid" "$run/stdin"
	stop_holder
}

status() {
	local f
	for f in "$dir/ordermatch" "$dir/ordermatch-mem"; do
		[ -x "$f" ] && echo "built: $f" || echo "not built: $f"
	done
	if running; then
		echo "running: pid $(cat "$run/pid") ($run)"
	else
		echo "not running ($run)"
		return 3
	fi
}

case ${1:-} in
build) build ;;
config) config ;;
start) start ;;
stop) stop ;;
status) status ;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
