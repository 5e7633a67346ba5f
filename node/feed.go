package node

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync/atomic"

	"github.com/ringex/ringex/config"
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
// A standby refuses requests, and still lets the service follow its
// journal as far as it has numbered the feed, so that the service serves
// at once when it is promoted, whatever retention removed meanwhile.
func (f *feedStage) recoveryLimit() (int64, error) {
	if f.following() {
		return f.published.Load(), errStandbyFeed
	}
	return f.published.Load(), nil
}

// FeedOrigin is where package feed numbers the feed of the journal in dir
// (a node's of cfg) from (feed.Origin), and how it applies the journal's
// commands: as the node's replay does, through the risk stage's step
// (risk.State.Step) when risk.mode is not none, so that an order risk
// refused never rests on the feed. The origin is the journal's start when
// the journal holds its first record; else (a standby that installed its
// primary's snapshot, a journal whose oldest segments were removed) the
// newest snapshot the node can start from, a new feed session. That
// snapshot is held in memory, so that every replay of the feed starts from
// it even after newer snapshots prune its file. log tells of a snapshot
// that does not fit.
func FeedOrigin(cfg config.Config, dir string, log *slog.Logger) (feed.Origin, error) {
	eng := EngineConfig(cfg)
	o := feed.JournalStart(eng, cfg.Match.Partitions)
	first, err := journal.FirstSeq(dir)
	if err != nil {
		return o, fmt.Errorf("feed: %w", err)
	}
	var hash uint64
	var data []byte
	if first > 1 {
		var ok bool
		if o.Seq, hash, data, ok, err = journal.SnapshotAtMost(dir, math.MaxInt64); err != nil {
			return o, fmt.Errorf("feed: %w", err)
		}
		if !ok || o.Seq < first-1 {
			return o, fmt.Errorf("feed: journal %s begins at seq %d and holds no snapshot of seq %d or later to number the feed from", dir, first, first-1)
		}
	}
	o.State = func() (matcher.Partitions, feed.Step, error) {
		parts, err := matcher.NewPartitions(eng, cfg.Match.Partitions)
		if err != nil {
			return nil, nil, err
		}
		rs, err := newRisk(cfg)
		if err != nil {
			return nil, nil, err
		}
		if o.Seq > 0 {
			ok, err := restoreData(o.Seq, hash, data, parts, rs, log)
			if err == nil && !ok {
				err = errors.New("its frames do not fit the config's partitions and risk")
			}
			if err != nil {
				return nil, nil, fmt.Errorf("feed: number from the snapshot at seq %d: %w", o.Seq, err)
			}
		}
		if rs == nil {
			return parts, parts.Apply, nil
		}
		return parts, func(cmd *matcher.Command, out []matcher.Event) []matcher.Event {
			out, _ = rs.Step(cmd, parts, out)
			return out
		}, nil
	}
	return o, nil
}

// startFeed numbers the feed from its origin up to where the node starts
// (the feed's seqs are a function of the journal: package feed), opens
// the UDP publisher and serves recovery.
func (n *Node) startFeed() (*feedStage, error) {
	c := n.cfg.Feed
	if !c.Enabled {
		return nil, nil
	}
	dir := n.journalDir()
	o, err := FeedOrigin(n.cfg, dir, n.log)
	if err != nil {
		return nil, err
	}
	r, err := feed.NewReplayer(dir, o)
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
	srv, err := feed.NewServer(feed.ServerConfig{Dir: dir, Origin: o,
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
	n.log.Info("market-data feed started", "feed_session", session, "seq", next, "origin_seq", o.Seq, "recovery", ln.Addr().String(), "udp_from", pub.Addr().String())
	f.tr, f.ln, f.srv = r.Translator(), ln, srv
	if !n.following.Load() {
		f.resume()
	}
	return f, nil
}

// resume tells the publisher where the feed stands, so that its heartbeats
// say so before any new message: at start, and when a standby, which
// numbers the feed without sending it, is promoted (Promote calls it once
// the pipeline is drained and before anything more is published).
func (f *feedStage) resume() {
	if f != nil {
		f.pub.Resume(f.tr.Next())
	}
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
