package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/replica"
)

// shardRun is Run for a node of a shard led through etcd (cfg.Cluster): it
// joins the shard once, and at every start lets etcd decide the role. A
// node that leads serves as primary under its term; one that does not
// follows the leader etcd names and contends meanwhile (cluster.Member.Lead:
// only the most complete candidate wins), and is promoted in place when it
// wins. A primary whose term ends (<-Lost) stops serving and starts again
// as a standby of the next leader, setting aside what it journaled that
// the leader lacks (restartInPlace, replica.DivergedError). A standby whose
// leader changes starts again following the new one.
type shardRun struct {
	ctx    context.Context
	cfg    config.Config
	opts   RunOptions
	log    *slog.Logger // component=node
	member *cluster.Member
	fence  cluster.Fence
	obs    <-chan cluster.LeaderInfo // the member's Observe
	leader cluster.LeaderInfo        // the newest Observe said
	won    *cluster.Leadership       // a term Lead won that no node serves yet
	leadCh chan leadResult           // the Lead goroutine's answer; nil when none runs
	stopLd context.CancelFunc        // ends the Lead goroutine
	force  chan chan forceResult     // Node.ForcePromote's requests
	node   atomic.Pointer[Node]      // the node now running, for DurableSeq and Epoch
	last   atomic.Int64              // the journal's durable seq while no node runs
	epoch  atomic.Uint64             // the history's newest epoch while no node runs
}

type leadResult struct {
	l   *cluster.Leadership
	err error
}

// errRunDone: ctx ended; Run returns what stopping the node returned.
var errRunDone = errors.New("run done")

func runShard(ctx context.Context, cfg config.Config, opts RunOptions) error {
	if err := cfg.Check(); err != nil {
		return err
	}
	s := &shardRun{ctx: ctx, cfg: cfg, opts: opts, log: opts.Log.With("component", "node"), force: make(chan chan forceResult)}
	if err := s.refreshLast(); err != nil {
		return err
	}
	if err := s.join(); err != nil {
		return err
	}
	defer s.close()
	for {
		sh, err := s.decide()
		if err != nil {
			if errors.Is(err, errRunDone) {
				return nil
			}
			return err
		}
		n, err := start(cfg, opts.Options, sh)
		if err != nil {
			s.resign(sh)
			return err
		}
		if err := s.serve(n, sh); err != nil {
			if errors.Is(err, errRunDone) {
				return n.Stop()
			}
			return err
		}
	}
}

// join joins the shard (again, after the member's lease was lost).
func (s *shardRun) join() error {
	c := s.cfg.Cluster
	m, err := cluster.Join(s.ctx, cluster.Config{Endpoints: c.Etcd, Shard: c.Shard, Name: c.Name,
		ReplAddr: s.cfg.Replication.Listen, TTL: time.Duration(c.LeaseTTLMs) * time.Millisecond,
		DurableSeq: s.durableSeq, Epoch: s.newestEpoch, Log: s.opts.Log})
	if err != nil {
		return fmt.Errorf("join shard %s as %s through etcd %v: %w", c.Shard, c.Name, c.Etcd, err)
	}
	s.member = m
	obsCtx, cancel := context.WithCancel(s.ctx)
	go func() { <-m.Done(); cancel() }()
	s.obs = m.Observe(obsCtx)
	s.log.Info("joined shard", "shard", c.Shard, "member", c.Name, "etcd", strings.Join(c.Etcd, ","), "lease_ms", c.LeaseTTLMs)
	return nil
}

func (s *shardRun) close() {
	s.stopLead()
	if s.won != nil {
		s.won.Resign(context.Background())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.member.Close(ctx)
}

// durableSeq is the member's DurableSeq: the running node's journal, or
// what the journal held when the last one stopped. One atomic load.
func (s *shardRun) durableSeq() int64 {
	if n := s.node.Load(); n != nil {
		return n.journal.LastSeq()
	}
	return s.last.Load()
}

// newestEpoch is the member's Epoch: the newest epoch of the running
// node's history, or of the history on disk while no node runs.
func (s *shardRun) newestEpoch() cluster.Token {
	if n := s.node.Load(); n != nil && n.repl != nil {
		return cluster.Token(n.repl.history.Current())
	}
	return cluster.Token(s.epoch.Load())
}

func (s *shardRun) refreshLast() error {
	h, err := replica.LoadHistory(s.cfg.DataDir)
	if err != nil {
		return err
	}
	last, err := journal.LastSeq(filepath.Join(s.cfg.DataDir, "journal"))
	if err != nil {
		return err
	}
	s.epoch.Store(h.Current())
	s.last.Store(last)
	return nil
}

// decide waits until this node leads (a term Lead won) or etcd names
// another leader to follow.
func (s *shardRun) decide() (*shardNode, error) {
	for {
		if l := s.won; l != nil {
			s.won = nil
			if l.Err() == nil {
				sh := &shardNode{member: s.member, fence: &s.fence, force: s.force}
				sh.lead.Store(l)
				return sh, nil
			}
		}
		if s.leader.Name != "" && s.leader.Name != s.member.Name() {
			return &shardNode{member: s.member, fence: &s.fence, leader: s.leader, force: s.force}, nil
		}
		s.startLead()
		select {
		case <-s.ctx.Done():
			return nil, errRunDone
		case info, ok := <-s.obs:
			if err := s.observed(info, ok); err != nil {
				return nil, err
			}
		case r := <-s.leadCh:
			if err := s.leadEnded(r); err != nil {
				return nil, err
			}
		}
	}
}

// observed takes what Observe sent; a closed channel is a member lost.
func (s *shardRun) observed(info cluster.LeaderInfo, ok bool) error {
	if ok {
		s.leader = info
		s.fence.Advance(info.Token)
		return nil
	}
	if s.ctx.Err() != nil {
		return errRunDone
	}
	s.log.Warn("shard membership lost: joining again", "err", s.member.Err())
	s.stopLead()
	s.member.Close(context.Background())
	s.leader = cluster.LeaderInfo{}
	return s.join()
}

// startLead starts contending, unless a Lead goroutine runs already.
func (s *shardRun) startLead() {
	if s.leadCh != nil {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	ch := make(chan leadResult, 1)
	s.leadCh, s.stopLd = ch, cancel
	m := s.member
	go func() {
		l, err := m.Lead(ctx)
		ch <- leadResult{l, err}
	}()
}

// stopLead ends the Lead goroutine; a term it won meanwhile is kept (won).
func (s *shardRun) stopLead() {
	if s.leadCh == nil {
		return
	}
	s.stopLd()
	r := <-s.leadCh
	s.leadCh = nil
	if r.l != nil {
		s.won = r.l
	}
}

// leadEnded takes the Lead goroutine's answer: a term won, or why not.
func (s *shardRun) leadEnded(r leadResult) error {
	s.leadCh = nil
	s.stopLd()
	if r.l != nil {
		s.won = r.l
		s.fence.Advance(r.l.Token()) // the old primary's frames are refused from now on
		s.log.Info("WON the shard", "shard", s.cfg.Cluster.Shard, "term", uint64(r.l.Token()))
		return nil
	}
	if s.ctx.Err() != nil {
		return errRunDone
	}
	s.log.Warn("contending for the shard failed", "shard", s.cfg.Cluster.Shard, "err", r.err)
	select {
	case <-s.ctx.Done():
		return errRunDone
	case <-time.After(time.Duration(s.cfg.Cluster.LeaseTTLMs) * time.Millisecond):
	}
	return nil
}

func (s *shardRun) resign(sh *shardNode) {
	if l := sh.lead.Load(); l != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l.Resign(ctx)
	}
}

// errRestart: the node stopped for a reason a start with etcd's next
// decision resolves.
var errRestart = errors.New("restart")

// serve runs n until ctx ends (errRunDone, n still to be stopped) or it
// must start again (nil: stopped, data dir ready) or fail (the error).
func (s *shardRun) serve(n *Node, sh *shardNode) error {
	s.node.Store(n)
	stopServing := func() {}
	if s.opts.Serving != nil {
		stopServing = s.opts.Serving(n)
	}
	if sh.lead.Load() == nil {
		s.startLead()
	}
	err := s.watch(n, sh)
	stopServing()
	if errors.Is(err, errRunDone) {
		s.log.Info("stopping")
		s.stopLead()
		n.Stop()
		n.widenAtStop() // a standby that holds everything published may take the shard
		s.resign(sh)    // after Stop: this node acknowledges nothing more
		return errRunDone
	}
	s.stopLead()
	n.Stop()
	s.resign(sh)
	s.node.Store(nil)
	if errors.Is(err, errRestart) {
		err = nil
	} else if err == nil { // n.Done: stopped on its own
		err = restartInPlace(n.cfg, n.FailErr(), s.opts.Log)
	}
	if err != nil {
		return err
	}
	return s.refreshLast()
}

// watch waits for what ends this start of n: nil when n stopped on its
// own (Done), errRestart when etcd's decision changed, errRunDone at the
// end of ctx.
func (s *shardRun) watch(n *Node, sh *shardNode) error {
	// An idle primary adds a standby that has caught up to its sync set
	// here (the replicate handler does it only with a batch), and every
	// primary advances its set's seq.
	tick := time.NewTicker(time.Duration(s.cfg.Cluster.LeaseTTLMs) * time.Millisecond / 3)
	defer tick.Stop()
	for {
		var lost <-chan struct{}
		if l := sh.lead.Load(); l != nil {
			lost = l.Lost()
		}
		select {
		case <-s.ctx.Done():
			return errRunDone
		case <-tick.C:
			if l := sh.lead.Load(); l != nil && s.leaseExpired(n, l) {
				return errRestart
			}
			n.syncSetTick()
		case <-n.Done():
			return nil
		case <-lost:
			l := sh.lead.Load()
			s.log.Warn("LEADERSHIP LOST: the term ended: this node stops serving FIX and starts again as a standby of the shard's leader", "term", uint64(l.Token()), "err", l.Err())
			n.fail(fmt.Errorf("leadership of term %d lost: %w", l.Token(), l.Err()))
			n.stopFIX(fmt.Sprintf("%s no longer leads shard %s: term %d ended; log on to its new leader", s.cfg.Cluster.Name, s.cfg.Cluster.Shard, l.Token()))
			return errRestart
		case info, ok := <-s.obs:
			if !ok {
				if err := s.observed(info, ok); err != nil {
					return err
				}
				return errRestart
			}
			s.observed(info, ok)
			if sh.lead.Load() == nil && info.Name != "" && info.Name != s.member.Name() && info.ReplAddr != sh.leader.ReplAddr {
				s.log.Info("the shard has a new leader: following it", "leader", info.Name, "repl", info.ReplAddr, "term", uint64(info.Token))
				return errRestart
			}
		case r := <-s.leadCh:
			if err := s.leadEnded(r); err != nil {
				return err
			}
			if s.won == nil {
				s.startLead()
				continue
			}
			if err := s.promote(n, sh); err != nil {
				return err
			}
		case reply := <-s.force:
			if err := s.override(n, sh, reply); err != nil {
				return err
			}
		}
	}
}

// leaseExpired reports whether the guard of term l has been out for
// leaseGoneAfter past its deadline: no keep-alive was answered for a TTL
// after the lease's earliest expiry, so this node takes its leadership as
// gone. It then fails the pipeline (nothing more is acknowledged) and logs
// every FIX session out saying why, so brokers go to the other address at
// once instead of timing out; the caller restarts it the way of a lost
// term (a standby once etcd answers and names the leader). Checked every
// TTL/3, so a broker hears within leaseGoneAfter + TTL/3 of the deadline.
func (s *shardRun) leaseExpired(n *Node, l *cluster.Leadership) bool {
	g := l.Guard()
	now := time.Now()
	if g.Ended() || g.Valid(now) || now.Sub(g.Deadline()) < n.leaseGoneAfter() {
		return false
	}
	s.log.Warn("LEASE EXPIRED: etcd has answered no keep-alive since the guard ran out: this node stops serving FIX and starts again as a standby once etcd answers",
		"term", uint64(l.Token()), "waited", now.Sub(g.Deadline()).Round(time.Millisecond))
	n.fail(fmt.Errorf("lease of term %d expired while etcd was unreachable", l.Token()))
	n.stopFIX(fmt.Sprintf("%s no longer leads shard %s: its lease expired (etcd unreachable); log on to its new leader", s.cfg.Cluster.Name, s.cfg.Cluster.Shard))
	return true
}

// promote turns the standby n into the primary of the term Lead won.
func (s *shardRun) promote(n *Node, sh *shardNode) error {
	l := s.won
	s.won = nil
	sh.lead.Store(l)
	s.log.Warn("PROMOTING to primary of the shard", "shard", s.cfg.Cluster.Shard, "term", uint64(l.Token()))
	if _, err := n.Promote(); err != nil {
		return fmt.Errorf("promotion under term %d: %w", l.Token(), err)
	}
	return nil
}

// override takes the shard for the standby n by Override ('ringex promote
// --force') and promotes it, answering on reply; a refusal leaves it
// standby and contending.
func (s *shardRun) override(n *Node, sh *shardNode, reply chan forceResult) error {
	if sh.lead.Load() != nil {
		reply <- forceResult{err: fmt.Errorf("this node leads its shard already")}
		return nil
	}
	s.stopLead()
	if s.won == nil {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Duration(s.cfg.Cluster.LeaseTTLMs)*time.Millisecond)
		l, err := s.member.Override(ctx)
		cancel()
		if err != nil {
			s.startLead()
			reply <- forceResult{err: fmt.Errorf("promote --force: %w", err)}
			return nil
		}
		s.log.Warn("OVERRIDE: took the shard by operator's order (promote --force): what only the lost primary acknowledged is lost", "shard", s.cfg.Cluster.Shard, "term", uint64(l.Token()))
		s.won = l
		s.fence.Advance(l.Token())
	}
	token := uint64(s.won.Token())
	err := s.promote(n, sh)
	reply <- forceResult{token: token, err: err}
	return err
}
