package node

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/ringex/ringex/feed"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// feedStage is the binary market-data feed's part of the publish stage
// (config feed; package feed owns the format, the numbering and the
// recovery service). The publish stage hands it each command and its
// events after the journal (and the standby) have them, as it hands them
// to the gateway: never on a match goroutine, never before an
// acknowledgement could go. It sends over UDP through a bounded queue that
// drops, so it never holds the stage back. A standby numbers the feed but
// sends nothing until it is promoted. nil when the feed is off: every
// method is then a no-op.
//
// The recovery service serves what the publish stage has passed, never
// what the journal holds beyond it (published): a record durable but not
// acknowledged (a sync primary waiting for its standby, a primary whose
// lease guard ran out) may be set aside when the term is lost, and a
// fact of it on the feed would never have happened. A standby's service
// serves nothing: its journal holds what its primary shipped, not what
// that primary acknowledged; receivers recover from the primary.
type feedStage struct {
	tr        *feed.Translator
	pub       *feed.Publisher
	ln        net.Listener
	srv       *feed.Server
	msgs      []feed.Message
	open      bool  // a command begun, not yet ended
	seq       int64 // the journal seq of the command begun
	published atomic.Int64
	following func() bool
}

// errStandbyFeed refuses a recovery request on a standby (feedStage).
var errStandbyFeed = errors.New("this node is a standby: its recovery service serves once it leads; ask the primary's")

// recoveryLimit is the recovery service's bound (feed.ServerConfig.Published).
func (f *feedStage) recoveryLimit() (int64, error) {
	if f.following() {
		return 0, errStandbyFeed
	}
	return f.published.Load(), nil
}

// startFeed numbers the feed from the journal's start up to where the node
// starts (the feed's seqs are a function of the journal: package feed),
// opens the UDP publisher and serves recovery.
func (n *Node) startFeed() (*feedStage, error) {
	c := n.cfg.Feed
	if !c.Enabled {
		return nil, nil
	}
	dir := n.journalDir()
	eng := EngineConfig(n.cfg)
	r, err := feed.NewReplayer(dir, eng, n.cfg.Match.Partitions)
	if err != nil {
		return nil, err
	}
	if err := r.Advance(nil); err != nil {
		return nil, err
	}
	if r.JournalSeq() != n.baseSeq-1 {
		return nil, fmt.Errorf("feed: the journal %s ends at seq %d, the node starts after %d", dir, r.JournalSeq(), n.baseSeq-1)
	}
	pub, err := feed.NewPublisher(feed.PublisherConfig{Send: c.Send, QueuePackets: c.QueuePackets, HeartbeatMs: c.HeartbeatMs})
	if err != nil {
		return nil, err
	}
	f := &feedStage{pub: pub, msgs: make([]feed.Message, 0, 256), following: n.following.Load}
	// Everything journaled before this process is taken as published, as
	// the replication heartbeats take it (startReplication).
	f.published.Store(n.baseSeq - 1)
	srv, err := feed.NewServer(feed.ServerConfig{Dir: dir, Engine: eng, Partitions: n.cfg.Match.Partitions,
		RetainMax: c.RetainMessages, HoldToDurable: n.cfg.Journal.Sync != journal.SyncNone, Published: f.recoveryLimit,
		Join: pub.Join})
	var ln net.Listener
	if err == nil {
		ln, err = net.Listen("tcp", c.Recovery)
	}
	if err != nil {
		pub.Close()
		return nil, fmt.Errorf("feed: recovery service: %w", err)
	}
	go srv.Serve(ln)
	session, next := r.Next()
	n.log.Info("market-data feed started", "feed_session", session, "seq", next, "recovery", ln.Addr().String(), "udp_from", pub.Addr().String())
	f.tr, f.ln, f.srv = r.Translator(), ln, srv
	return f, nil
}

// begin starts cmd's messages, ending the previous command's. Hot path.
func (f *feedStage) begin(cmd *matcher.Command) {
	if f == nil {
		return
	}
	f.end()
	f.msgs = f.tr.Begin(cmd, f.msgs[:0])
	f.open, f.seq = true, cmd.Seq
}

// event adds one event of the command begun. Hot path.
func (f *feedStage) event(ev *matcher.Event) {
	if f != nil {
		f.msgs = f.tr.Event(ev, f.msgs)
	}
}

// end ends the command begun and queues its messages. Hot path: the
// publisher packs without allocating and queues without waiting; one
// atomic store per command marks it published for the recovery service,
// before a packet of it can reach a receiver that then asks for a gap.
func (f *feedStage) end() {
	if !f.open {
		return
	}
	f.open = false
	f.published.Store(f.seq)
	f.msgs = f.tr.End(f.msgs)
	if !f.following() {
		f.pub.Publish(f.msgs)
	}
}

// flush ends the batch: the last command's messages and the packet being
// filled go out. Hot path.
func (f *feedStage) flush() {
	if f == nil {
		return
	}
	f.end()
	f.pub.Flush()
}

// close stops the recovery service (its open connections too) and the
// publisher.
func (f *feedStage) close() {
	if f == nil {
		return
	}
	f.ln.Close()
	f.srv.Close()
	f.pub.Close()
}
