// Command ringex is the exchange's one binary: `ringex serve` runs the
// exchange; `ringex config` prints the embedded default configuration.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/node"
)

const usage = `ringex: an exchange core. Brokers connect over FIX; orders are journaled
(fsync) before any acknowledgement, matched with price-time priority, and
every day can be replayed from the journal.

Usage:
  ringex serve [flags]    run the exchange (no flags: the embedded default
                          configuration, FIX on 127.0.0.1:9878, journal in ./data)
  ringex config           print the embedded default configuration (JSON), a
                          starting point for --config
  ringex replay verb ...  audit a journal: verify, trail, book, account, diff
  ringex bench mode ...   latency benchmarks with HDR histograms: pipeline, fix,
                          journal, sweep, suite, mix, chart
  ringex md verb ...      the binary market-data feed: serve (from a journal),
                          listen, book, check
  ringex promote [--admin host:port] [--token T] [--force | NODE]
                          promote a running standby to primary; in a shard led
                          through etcd, hand the shard to NODE (on the leader)
                          or take it with --force (on a standby)
  ringex status [--admin host:port] [--token T] | --etcd URLS --shard NAME
                          show a replicated node's role, epoch and sequence, or
                          a shard's leader, token, lease and members from etcd
  ringex endofday [--admin host:port] [--token T]
                          end the trading day now: resting Day orders expire,
                          GTC orders stay, ClOrdIDs may be used again
                          (tradingDay.endUTC ends it every day on its own)
  ringex account deposit|withdraw|show|block|unblock [--admin host:port] [--token T] ACCOUNT [ASSET AMOUNT]
                          move an account's (a CompID's or a firm's account's)
                          cash (ASSET cash) or inventory (a symbol) in or out,
                          or show it (blocked, open orders; with risk.mode
                          spot its balances and holds);
                          block (kill switch: refuse its orders, cancel every
                          working one; also a firm's name) or unblock it
                          (--token, or $RINGEX_ADMIN_TOKEN, when the node
                          sets replication.adminToken)
  ringex help [command [verb|mode]]
                          show the usage of a command; so does
                          'ringex command --help' (e.g. 'ringex bench fix --help')

Exit status: 0 done (or help), 1 failed, 2 a usage error (unknown command or
flag; the usage goes to stderr).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "config":
		return configMain(args[1:], stdout, stderr)
	case "replay":
		return replayMain(args[1:], stdout, stderr)
	case "bench":
		return benchMain(args[1:], stdout, stderr)
	case "md":
		return mdMain(args[1:], stdout, stderr)
	case "promote", "status", "endofday":
		return adminMain(args[0], args[1:], stdout, stderr)
	case "account":
		return accountMain(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && !isHelp(args[1]) {
			// 'ringex help bench fix' is 'ringex bench fix --help'.
			return run(append(slices.Clone(args[1:]), "--help"), stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "ringex: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "-help" || arg == "--help"
}

// configMain runs `ringex config`.
func configMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.Usage = usageFunc(fs, `Usage: ringex config

Prints the embedded default configuration (JSON): what 'ringex serve' runs
with no --config, and a starting point for an operator's own file. A file
is read strictly: an unknown key (keys are case-sensitive), a value of the
wrong type or a setting that cannot work is refused with the file, line,
column and JSON path.
`)
	if code, stop := exitCode(parseFlags(fs, args, false, stdout, stderr)); stop {
		return code
	}
	stdout.Write(config.DefaultJSON())
	return 0
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration `file` (JSON, see 'ringex config'); empty: the embedded default")
	dataDir := fs.String("data", "", "data `dir` for the journal; overrides the config's dataDir (default ./data)")
	listen := fs.String("listen", "", "FIX `host:port` to listen on; overrides the config's fix.listen (default 127.0.0.1:9878)")
	var role config.Role
	fs.TextVar(&role, "role", config.RoleNone, "replication `role`: primary or standby; overrides the config's replication.role.\nA primary whose peer (--primary) answers as a serving primary starts as its standby instead")
	primary := fs.String("primary", "", "the peer's replication `host:port`: the primary a standby follows; the peer a primary\nprobes at start; overrides replication.primary")
	replListen := fs.String("repl-listen", "", "this node's replication `host:port`; overrides replication.listen")
	httpListen := fs.String("http", "", "metrics, health and status page `host:port`; overrides http.listen (an empty --http\nleaves it: http.listen \"\" in the config turns the endpoint off)")
	profiles := fs.Bool("pprof", false, "also serve Go's runtime profiles (CPU, heap, goroutines) at /debug/pprof/ on the http.listen endpoint,\nfor 'go tool pprof'; only on a listener that operators alone reach")
	logFormat := fs.String("log-format", "text", "log `format`: text (slog's key=value lines) or json (one JSON record a line)")
	logLevel := fs.String("log-level", "info", "lowest log `level` written: debug, info, warn or error")
	admin := fs.String("admin", "", "operator endpoint `host:port` for 'ringex promote', 'status', 'endofday' and 'account'; overrides replication.admin")
	lastGood := fs.Bool("start-from-last-good", false, "start even if the journal is damaged before its tail, or lost durable records at its end\n(journal/DURABLE, a snapshot or a FIX session store shows them): cut it at the last good record and quarantine\nthe rest (records after the damage are LOST to the exchange, their seqs never reused; use knowingly)")
	fs.Usage = usageFunc(fs, `Usage: ringex serve [flags]

Runs the exchange: a FIX acceptor in front of the pipeline {journal,
replicate, match} → publish (unless journal.sync is "none", nothing reaches
a broker before the journal's fsync). On start it replays the journal in the data dir, so resting orders
survive a restart. SIGINT or SIGTERM stops it cleanly: the acceptor closes,
everything already accepted is journaled, matched and reported, then it exits.

With replication, a node started as primary first asks its peer's
replication port (--primary) whether a primary serves there, waiting at most
max(failoverMs, 10 heartbeats). If one does (an old primary coming back
after a failover), it begins no epoch and opens no FIX: it logs
"REJOINING AS STANDBY", sets aside what it journaled that the serving
primary lacks (never acknowledged to anyone), and follows it as a standby
would. If nothing answers there, it starts as primary. So after a failover
the old primary comes back with its original command line. While it has no
standby it goes on asking every heartbeat: should its peer have promoted
itself meanwhile, the one of the two that has acknowledged nothing in its
epoch logs "STEPPING DOWN", disconnects its FIX sessions and starts again
in place as the other's standby. Two primaries that have both acknowledged
(only possible with mode async or onStandbyLost async) log "SPLIT BRAIN"
and go on: an operator must stop one.

A standby further behind than the primary's journal reaches (its older
segments, hot and archived, were removed) is sent the primary's newest
snapshot: it moves its own journal folder aside (journal.behind-<ns> in
the data dir), installs the snapshot beside a new journal that begins
after it, logs "INSTALLED the primary's snapshot", restarts in place and
follows from there. With no usable snapshot the primary refuses it and
says why; the standby does not exit but logs "REFUSED by the primary" and
asks again, 1 s later doubling to replication.refusedRetryMaxMs, until the
primary's next checkpoint (or seed it with a copy of the primary's data
dir). A standby that knows a newer epoch than its primary ("this primary
is stale") exits: which node serves is for the operator to decide.
`)
	if code, stop := exitCode(parseFlags(fs, args, false, stdout, stderr)); stop {
		return code
	}
	if err := setLogging(*logFormat, *logLevel, stderr); err != nil {
		fmt.Fprintf(stderr, "ringex: %v\n", err)
		return 2
	}
	cfg, err := config.LoadOrDefault(*configPath)
	if err != nil {
		cmdLog().Error("configuration refused", "err", err)
		return 1
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if *listen != "" {
		cfg.FIX.Listen = *listen
	}
	if role != config.RoleNone {
		cfg.Replication.Role = role
	}
	for _, o := range []struct{ flag, to *string }{{primary, &cfg.Replication.Primary},
		{replListen, &cfg.Replication.Listen}, {admin, &cfg.Replication.Admin}} {
		if *o.flag != "" {
			*o.to = *o.flag
		}
	}
	if t := os.Getenv(adminTokenEnv); t != "" {
		cfg.Replication.AdminToken = t
	}
	if err := cfg.Check(); err != nil {
		cmdLog().Error("configuration refused", "err", err)
		return 1
	}
	if *lastGood {
		cfg.Journal.StartFromLastGood = true
		cmdLog().Warn("WARNING --start-from-last-good: a damaged journal will be cut at its last good record")
	}
	if err := serveWebFlags(&cfg, *httpListen); err != nil {
		cmdLog().Error("flag refused", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	w := openWeb(cfg, *profiles)
	defer w.close()
	err = node.Run(ctx, cfg, node.RunOptions{Serving: func(n *node.Node) func() { return w.serving(cfg, n) }})
	if err != nil {
		cmdLog().Error("serve failed", "err", err)
		return 1
	}
	return 0
}
