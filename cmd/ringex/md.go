package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/feed"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

const mdUsage = `Usage: ringex md verb [flags]

The by-order binary market-data feed (package feed documents the format):

  serve   follow a journal (up to its DURABLE mark, acknowledged or not: an
          audit tool), publish the feed over UDP, and run the TCP recovery
          service; a live node's own feed (feed.enabled) shows only what
          it acknowledged
  listen  join the feed and print every message, one a line
  book    print every book from a snapshot of the recovery service
  check   join the feed, follow it for a while (recovering gaps by
          retransmission or snapshot), then check the book rebuilt against
          a fresh snapshot: exit 0 when they are the same

'ringex md VERB --help' lists a verb's flags.
`

func mdMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, mdUsage)
		return 2
	}
	verbs := map[string]func([]string, io.Writer, io.Writer) int{
		"serve": mdServe, "listen": mdListen, "book": mdBook, "check": mdCheck,
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, mdUsage)
		return 0
	}
	f, ok := verbs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ringex md: unknown verb %q\n\n%s", args[0], mdUsage)
		return 2
	}
	return f(args[1:], stdout, stderr)
}

func mdServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("md serve", flag.ContinueOnError)
	configPath := fs.String("config", "", "the node's configuration `file`; empty: the embedded default")
	dataDir := fs.String("data", "", "the node's data `dir` (its journal is DIR/journal); overrides the config's dataDir")
	recovery := fs.String("recovery", "127.0.0.1:9901", "TCP `host:port` of the recovery service")
	send := fs.String("send", "", "comma-separated UDP `addresses` that always get the feed (unicast, or a multicast group\nwhere the host routes one), besides receivers that join")
	pollMs := fs.Int("poll-ms", 10, "how often to look for new journal records, in `ms`")
	fs.Usage = usageFunc(fs, "Usage: ringex md serve [flags]\n\nFollows a journal and publishes the feed until SIGINT or SIGTERM: an audit tool.\n"+
		"It serves to the journal's DURABLE mark, records acknowledged or not: beside a live node it may show trades\n"+
		"that node never acknowledged and a lost term sets aside. Receivers of a live venue use the node's own feed\n"+
		"(feed.enabled), which serves only what the node has published.\n")
	if code, stop := exitCode(parseFlags(fs, args, false, stdout, stderr)); stop {
		return code
	}
	cfg, err := config.LoadOrDefault(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "ringex md serve: %v\n", err)
		return 1
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	var sendTo []string
	if *send != "" {
		sendTo = strings.Split(*send, ",")
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(stop)
	err = runFeed(feedSetup{dir: filepath.Join(cfg.DataDir, "journal"), cfg: cfg, recovery: *recovery,
		send: sendTo, poll: time.Duration(*pollMs) * time.Millisecond}, stop, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ringex md serve: %v\n", err)
		return 1
	}
	return 0
}

type feedSetup struct {
	dir      string
	cfg      config.Config
	recovery string
	send     []string
	poll     time.Duration
	ready    func(recovery net.Addr) // tests: called once it serves; may be nil
}

// runFeed catches up with the journal to its durable mark, then publishes
// what it adds and serves recovery until stop: no node tells it what was
// acknowledged, so it serves every durable record (an audit tool).
func runFeed(s feedSetup, stop <-chan os.Signal, log io.Writer) error {
	eng := node.EngineConfig(s.cfg)
	r, err := feed.NewReplayer(s.dir, eng, s.cfg.Match.Partitions)
	if err != nil {
		return err
	}
	r.HoldToDurable = true
	if err := r.Advance(nil); err != nil {
		return err
	}
	pub, err := feed.NewPublisher(feed.PublisherConfig{Send: s.send})
	if err != nil {
		return err
	}
	defer pub.Close()
	srv, err := feed.NewServer(feed.ServerConfig{Dir: s.dir, Engine: eng, Partitions: s.cfg.Match.Partitions,
		HoldToDurable: true, Join: pub.Join})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.recovery)
	if err != nil {
		return err
	}
	defer ln.Close()
	defer srv.Close() // its open connections too
	go srv.Serve(ln)
	if s.ready != nil {
		s.ready(ln.Addr())
	}
	session, next := r.Next()
	fmt.Fprintf(log, "ringex md serve: journal %s at seq %d, feed session %d, next seq %d; recovery on %s, UDP from %s; "+
		"serving to the journal's durable mark, acknowledged or not (an audit tool)\n",
		s.dir, r.JournalSeq(), session, next, ln.Addr(), pub.Addr())
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-t.C:
		}
		if err := r.Advance(func(msgs []feed.Message, _ matcher.Partitions) bool {
			pub.Publish(msgs)
			return true
		}); err != nil {
			return err
		}
		pub.Flush()
	}
}

// mdClientFlags are the flags every receiving verb takes.
type mdClientFlags struct {
	recovery, udp, udpIf, configPath *string
}

func addClientFlags(fs *flag.FlagSet) mdClientFlags {
	return mdClientFlags{
		recovery: fs.String("recovery", "127.0.0.1:9901", "TCP `host:port` of the recovery service: a node's feed.recovery (127.0.0.1:9882 by\n"+
			"default), or the default here, that of 'ringex md serve'"),
		udp: fs.String("udp", "127.0.0.1:0", "UDP `host:port` to receive the feed on, joined through the recovery service;\n"+
			"a multicast group (the node's feed.send names it) is joined on --udp-if instead"),
		udpIf:      fs.String("udp-if", "", "network `interface` to join a multicast --udp group on (e.g. lo); empty: the system's choice"),
		configPath: fs.String("config", "", "configuration `file` to name symbols by; empty: symbols print as #id"),
	}
}

// symbolName names symbol ids as the config lists them (id i+1 is the
// i-th), else "#id".
func (f mdClientFlags) symbolName() (func(uint32) string, error) {
	var names []string
	if *f.configPath != "" {
		cfg, err := config.Load(*f.configPath)
		if err != nil {
			return nil, err
		}
		for _, s := range cfg.Symbols {
			names = append(names, s.Name)
		}
	}
	return func(id uint32) string {
		if id >= 1 && int(id) <= len(names) {
			return names[id-1]
		}
		return fmt.Sprintf("#%d", id)
	}, nil
}

// join dials the recovery service and joins the feed on a UDP socket.
func (f mdClientFlags) join() (*feed.Client, *net.UDPConn, error) {
	c, err := feed.Dial(*f.recovery)
	if err != nil {
		return nil, nil, err
	}
	addr, err := net.ResolveUDPAddr("udp", *f.udp)
	if err == nil && addr.IP.IsMulticast() {
		var ifi *net.Interface
		if *f.udpIf != "" {
			ifi, err = net.InterfaceByName(*f.udpIf)
		}
		var u *net.UDPConn
		if err == nil {
			if u, err = net.ListenMulticastUDP("udp", ifi, addr); err == nil {
				return c, u, nil
			}
		}
	} else if err == nil {
		var u *net.UDPConn
		if u, err = net.ListenUDP("udp", addr); err == nil {
			if err = c.Join(u.LocalAddr().(*net.UDPAddr).Port); err == nil {
				return c, u, nil
			}
			u.Close()
		}
	}
	c.Close()
	return nil, nil, err
}

// until is a stop function for Receiver.ReadFrom: after d (0: never), or a
// signal, or n messages (0: no limit) counted by count.
func until(d time.Duration, n uint64, count *uint64) func() bool {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	end := time.Now().Add(d)
	return func() bool {
		select {
		case <-sig:
			signal.Stop(sig)
			return true
		default:
		}
		return (d > 0 && time.Now().After(end)) || (n > 0 && *count >= n)
	}
}

func mdListen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("md listen", flag.ContinueOnError)
	cf := addClientFlags(fs)
	dur := fs.Duration("for", 0, "stop after this `duration` (0: at SIGINT)")
	count := fs.Uint64("count", 0, "stop after this many `messages` (0: no limit)")
	fs.Usage = usageFunc(fs, "Usage: ringex md listen [flags]\n\nJoins the feed, from a snapshot, and prints every message applied (live or recovered), one a line:\nsession, seq, type and the type's fields.\n")
	if code, stop := exitCode(parseFlags(fs, args, false, stdout, stderr)); stop {
		return code
	}
	c, u, err := cf.join()
	if err != nil {
		fmt.Fprintf(stderr, "ringex md listen: %v\n", err)
		return 1
	}
	defer c.Close()
	defer u.Close()
	var n uint64
	r := &feed.Receiver{Book: feed.NewBook(), Rec: c, OnMessage: func(m *feed.Message) {
		n++
		fmt.Fprintln(stdout, m.String())
	}}
	if err := r.Start(); err != nil {
		fmt.Fprintf(stderr, "ringex md listen: %v\n", err)
		return 1
	}
	if err := r.ReadFrom(u, until(*dur, *count, &n)); err != nil {
		fmt.Fprintf(stderr, "ringex md listen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "ringex md listen: %d messages, next seq %d, %d gaps (%d messages recovered)\n", n, r.Next(), r.Gaps, r.Recovered)
	return 0
}

func mdBook(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("md book", flag.ContinueOnError)
	cf := addClientFlags(fs)
	symbol := fs.Uint("symbol", 0, "print only this symbol `id` (0: every symbol with orders)")
	fs.Usage = usageFunc(fs, "Usage: ringex md book [flags]\n\nPrints every book from a snapshot of the recovery service: each price level, best first,\nwith its orders oldest first.\n")
	if code, stop := exitCode(parseFlags(fs, args, false, stdout, stderr)); stop {
		return code
	}
	name, err := cf.symbolName()
	if err == nil {
		var c *feed.Client
		if c, err = feed.Dial(*cf.recovery); err == nil {
			defer c.Close()
			r := &feed.Receiver{Book: feed.NewBook(), Rec: c}
			if err = r.Start(); err == nil {
				fmt.Fprintf(stdout, "books before seq %d\n", r.Next())
				printBooks(stdout, r.Book, uint32(*symbol), name)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "ringex md book: %v\n", err)
		return 1
	}
	return 0
}

// printBooks writes each book's levels, best first, with their orders.
func printBooks(w io.Writer, b *feed.Book, only uint32, name func(uint32) string) {
	for _, sym := range b.Symbols() {
		if only != 0 && sym != only {
			continue
		}
		fmt.Fprintf(w, "%s\n", name(sym))
		orders := b.Orders(sym, nil)
		for i := 0; i < len(orders); {
			j, qty := i, int64(0)
			var ids []string
			for ; j < len(orders) && orders[j].Side == orders[i].Side && orders[j].Price == orders[i].Price; j++ {
				qty += orders[j].Qty
				ids = append(ids, fmt.Sprintf("%d:%d", orders[j].OrderID, orders[j].Qty))
			}
			side := "bid"
			if orders[i].Side == feed.SideSell {
				side = "ask"
			}
			fmt.Fprintf(w, "  %s %12d %10d lots  %s\n", side, orders[i].Price, qty, strings.Join(ids, " "))
			i = j
		}
	}
}

func mdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("md check", flag.ContinueOnError)
	cf := addClientFlags(fs)
	dur := fs.Duration("for", 5*time.Second, "follow the feed this `long` before checking")
	snapOver := fs.Uint64("snapshot-over", 0, "recover a gap of more than this many `messages` by snapshot (0: always retransmit)")
	fs.Usage = usageFunc(fs, "Usage: ringex md check [flags]\n\nJoins the feed from a snapshot, follows it (recovering gaps), then brings the book to\nthe seq of a fresh snapshot and compares the two, order by order. Exit 0 when they are\nthe same, 1 when not.\n")
	if code, stop := exitCode(parseFlags(fs, args, false, stdout, stderr)); stop {
		return code
	}
	err := checkFeed(cf, *dur, *snapOver, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "ringex md check: %v\n", err)
		return 1
	}
	return 0
}

func checkFeed(cf mdClientFlags, dur time.Duration, snapOver uint64, stdout io.Writer) error {
	c, u, err := cf.join()
	if err != nil {
		return err
	}
	defer c.Close()
	defer u.Close()
	var n uint64
	r := &feed.Receiver{Book: feed.NewBook(), Rec: c, SnapshotOver: snapOver, OnMessage: func(*feed.Message) { n++ }}
	if err := r.Start(); err != nil {
		return err
	}
	if err := r.ReadFrom(u, until(dur, 0, &n)); err != nil {
		return err
	}
	fresh := &feed.Receiver{Book: feed.NewBook(), Rec: c}
	if err := fresh.Start(); err != nil {
		return err
	}
	if err := r.CatchUp(fresh.Next()); err != nil {
		return err
	}
	if r.Next() != fresh.Next() {
		return fmt.Errorf("followed the feed to seq %d, past the fresh snapshot's %d", r.Next(), fresh.Next())
	}
	syms := slices.Compact(slices.Sorted(slices.Values(append(r.Book.Symbols(), fresh.Book.Symbols()...))))
	for _, sym := range syms {
		a, b := r.Book.Orders(sym, nil), fresh.Book.Orders(sym, nil)
		if !slices.Equal(a, b) {
			return fmt.Errorf("symbol %d before seq %d: the book from the feed has %d orders %v, the snapshot %d %v",
				sym, r.Next(), len(a), a, len(b), b)
		}
	}
	fmt.Fprintf(stdout, "ringex md check: OK: %d messages applied (%d recovered, %d gaps, %d snapshots); %d resting orders in %d books equal the snapshot before seq %d\n",
		n, r.Recovered, r.Gaps, r.Snapshots, r.Book.Len(), len(r.Book.Symbols()), r.Next())
	return nil
}
