// Package node is the composition root: the one place where the stages of a
// running exchange are wired. It opens the journal and rebuilds the books by
// replaying it, builds the ring [risk →] {journal, replicate, match ×P side
// by side} → publish (buildPipeline says why match may run beside the journal), and
// opens the FIX gateway in front of it. Tests start a whole
// exchange in-process through Start, or through Run, the supervisor
// `ringex serve` runs, which starts a replicated node again in place when
// it steps down, diverged or fell behind its primary's journal.
//
// Where things are: node.go starts and stops a node and replays its
// journal; stages.go is the pipeline, top to bottom as a command meets it
// (slot, buildPipeline, the journal, replicate and match handlers, publish);
// partition.go holds a match partition's spill store; checkpoint.go the
// checkpoints, their hashes and snapshots; accounts.go binds each
// account to its session's CompID in the journal; endofday.go the trading day;
// latency.go the latency log line; marketdata.go the market data the
// publish stage feeds; risk.go the risk stage (with risk.mode limits or
// spot), its settle step, and the operator's funds and kill switch.
// Failover: replicate.go ships to and
// follows a peer; stepdown.go settles two primaries; promote.go turns a
// standby into the primary; resend.go is what a standby keeps of its
// reports and what a promotion resends; rebuild.go rebuilds from the
// journal the reports the buffer lost; run.go restarts a node in place.
// A shard led through etcd (config.Cluster): shard_run.go is its
// supervisor (etcd decides the role at every start), cluster.go what one
// start holds (the term, the fence, the lease check of the publish stage,
// the sync set, handoff).
package node

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/marketdata"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/ringbuffer"
	"github.com/ringex/ringex/risk"
)

// Publisher receives each event after the command that caused it is durable
// and matched, in sequence order. The gateway is the exchange's publisher.
type Publisher interface {
	// Publish may read ev only during the call: the slot or spill buffer
	// behind it is reused.
	Publish(ev *matcher.Event)
}

// Node is a running exchange.
type Node struct {
	cfg        config.Config
	log        *slog.Logger // component=node
	logBase    *slog.Logger // Options.Log: the packages the node starts add their own component
	journal    *journal.Journal
	ring       *ringbuffer.Ring[slot]
	partitions []*partition
	risk       *riskStage // nil with risk.mode "none" (risk.go)
	gateway    *gateway.Gateway
	publisher  Publisher
	feed       *feedStage      // the binary market-data feed; nil when off (feed.go)
	baseSeq    int64           // journal sequence of ring sequence 0
	cpTaken    chan checkpoint // publish stage → checkpointer; one in flight
	cpStop     chan struct{}
	cpDone     chan struct{}
	stopOnce   sync.Once
	stopErr    error
	encodeBuf  [matcher.CommandSize]byte // journal stage only
	// lastNs is the TimeNs of the last command in sequence order and
	// stamped the ring seq up to which the first stage has made TimeNs
	// non-decreasing (stamp, stages.go). First stage only, once the ring
	// runs; lastNs is the journal's last record's at start (lastStamp).
	lastNs  int64
	stamped int64

	obs observer // what Status reads beyond the stages' own figures (observe.go)

	// accountIDs is every bound name's account id, sessions' and firms'
	// accounts, as checkAccounts last found them (accounts.go).
	accountIDs atomic.Pointer[map[string]uint32]

	// blockedFirms are the firms the journal has blocked, ascending, as the
	// operator's requests see them (firmblock.go): the engines' names, read
	// while the pipeline is drained, then kept by blockFirm (on a standby,
	// by the publish stage: followFirmBlock).
	blockedFirms struct {
		sync.Mutex
		names []string
	}

	// venueSeen: the journal has a risk venue record that agrees with the
	// config (riskvenue.go); set by replay and the publish stage.
	venueSeen atomic.Bool
	// followGuard is the start's replay's venueGuard (riskvenue.go), which
	// a standby's follow goes on with over the records it is streamed:
	// written by replay, then read and written by the Receiver's goroutine
	// alone.
	followGuard venueGuard

	opts      Options
	repl      *replication    // nil when replication is off
	following atomic.Bool     // a standby: the Receiver journals, the ring applies
	stopping  atomic.Bool     // Stop has begun
	switcher  switchPublisher // the publisher of a replicated node
	cpSeq     int64           // publish stage only: the last checkpoint collected
	cpHash    uint64
	dayStop   chan struct{} // closed by Stop: the end-of-day scheduler returns
	dayDone   chan struct{}
	// dayOpenNs is the ingress time of the first order command after the
	// last end of day, 0 when none: set by the journal scan at start
	// (rememberClOrdIDs), then by the publish stage; read while the
	// pipeline is drained (endDayLeftOpen).
	dayOpenNs int64
	lat       latency // the node's own latency log line (latency.go)
	// halted is Done of a node without replication: closed by halt, once,
	// after haltErr is set.
	halted   chan struct{}
	haltErr  atomic.Pointer[error]
	haltOnce sync.Once
	// md is the market data the publish stage feeds; nil with
	// Options.Publisher (marketdata.go).
	md    *marketdata.Feed
	shard *shardNode // a node of a shard led through etcd (cluster.go); nil otherwise
}

// Options adjust how a node starts; the zero value runs the FIX gateway.
type Options struct {
	Log       *slog.Logger // nil: slog.Default(); the node's records carry component=node, its journal's component=journal, ...
	Publisher Publisher    // non-nil: events go here and no FIX acceptor opens (benchmarks, replay)
}

// Start opens the journal under cfg.DataDir, replays it into fresh engines,
// starts the pipeline and, unless opts.Publisher is set, the FIX acceptor.
func Start(cfg config.Config, opts Options) (*Node, error) {
	return start(cfg, opts, nil)
}

// start is Start; sh, when not nil, is the role etcd decided for a node of
// a shard (runShard), which replaces the file's replication role and peer.
func start(cfg config.Config, opts Options, sh *shardNode) (*Node, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if sh != nil {
		cfg = sh.configFor(cfg)
	}
	n := newNode(cfg, opts, sh)
	if err := n.setupReplication(); err != nil {
		return nil, err
	}
	if err := n.openJournal(); err != nil {
		return nil, err
	}
	todo, err := n.prepare()
	if err != nil {
		n.journal.Close()
		return nil, err
	}
	if err := n.launch(todo); err != nil {
		n.abortStart()
		return nil, err
	}
	n.startDayScheduler()
	n.startLatencyLog()
	n.logStarted()
	return n, nil
}

// newNode is a node of cfg, nothing opened or started yet.
func newNode(cfg config.Config, opts Options, sh *shardNode) *Node {
	n := &Node{cfg: cfg, logBase: opts.Log, publisher: opts.Publisher, opts: opts, shard: sh,
		cpTaken: make(chan checkpoint, 1), cpStop: make(chan struct{}), cpDone: make(chan struct{}),
		dayStop: make(chan struct{}), dayDone: make(chan struct{}), halted: make(chan struct{})}
	if n.logBase == nil {
		n.logBase = slog.Default()
	}
	n.log = n.logBase.With("component", "node")
	n.initObserver()
	return n
}

// startTodo is what a start submits once the ring runs.
type startTodo struct {
	toBind     []matcher.AccountBinding // the accounts to bind (accounts.go)
	rules      []matcher.Command        // the risk rules to journal (risk.go)
	cods       []matcher.Command        // cancel-on-disconnect at start (cancel_on_restart.go)
	firmBlocks []firmMember             // members of blocked firms to block (firmblock.go)
}

// prepare builds, on the open journal, what must be there before the ring
// runs: the accounts and risk rules checked, the pipeline (the books
// rebuilt), market data, the publisher and the binary feed. It returns
// what to submit once the ring runs. On an error the caller closes the
// journal.
func (n *Node) prepare() (todo startTodo, err error) {
	if n.publisher == nil {
		if todo.toBind, err = n.checkAccounts(); err != nil {
			return todo, err
		}
	}
	if todo.rules, err = n.rulesToJournal(); err != nil { // bands.go: before the ring starts
		return todo, err
	}
	todo.firmBlocks = n.firmBlocksToJournal() // firmblock.go: before the ring starts
	if err := n.buildPipeline(); err != nil {
		return todo, err
	}
	if gw, err := gatewayOptions(n.cfg, n.logBase); err == nil {
		n.startMarketData(gw)
	}
	n.publishRebuiltTops()
	if todo.cods, err = n.setPublisher(); err != nil {
		return todo, err
	}
	if n.feed, err = n.startFeed(); err != nil {
		return todo, err
	}
	return todo, nil
}

// setPublisher makes the FIX gateway the publisher of a node that serves
// FIX itself, returning the Day orders to cancel at start (prepareGateway),
// and puts the switch in front of the publisher of a replicated node. On
// an error it stops market data.
func (n *Node) setPublisher() (cods []matcher.Command, err error) {
	if n.publisher == nil && !n.following.Load() {
		if cods, err = n.prepareGateway(); err != nil {
			n.stopMarketData()
			return nil, err
		}
		n.publisher = n.gateway
	}
	if n.repl != nil {
		// A standby keeps its latest events, unsent, until it is promoted (replicate.go).
		if n.publisher != nil && !n.following.Load() {
			p := n.publisher
			n.switcher.to.Store(&p)
		}
		n.publisher = &n.switcher
	}
	return cods, nil
}

// launch starts the ring, the checkpointer and replication, then submits
// what the start owes (a primary's term break and risk rules; the
// gateway's account bindings and cancels) and opens FIX. On an error the
// caller aborts the start (abortStart).
func (n *Node) launch(todo startTodo) error {
	n.ring.Start()
	n.startCheckpointer()
	if err := n.startReplication(); err != nil {
		return err
	}
	n.endDayLeftOpen()
	if !n.following.Load() {
		err := n.journalTermBreak()
		if err == nil {
			err = n.journalRiskRules(todo.rules)
		}
		if err != nil {
			return err
		}
	}
	if n.gateway != nil {
		err := n.bindAccounts(todo.toBind)
		if err == nil && !n.following.Load() {
			err = n.journalFirmBlocks(todo.firmBlocks)
		}
		if err == nil {
			err = n.cancelDayOrdersOfDroppedSessions(todo.cods)
		}
		if err == nil {
			err = n.gateway.Start()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// logStarted says what the started node does: follow its primary, or
// serve FIX.
func (n *Node) logStarted() {
	cfg := n.cfg
	if n.following.Load() {
		n.log.Info("STANDBY following the primary; FIX opens on promotion", "primary", cfg.Replication.Primary, "symbols", len(cfg.Symbols),
			"partitions", len(n.partitions), "journal", n.journalDir(), "seq", n.baseSeq)
		return
	}
	n.log.Info("serving FIX", "listen", cfg.FIX.Listen, "sender_comp_id", cfg.FIX.SenderCompID, "symbols", len(cfg.Symbols),
		"partitions", len(n.partitions), "journal", n.journalDir(), "sync", cfg.Journal.Sync.String(), "seq", n.baseSeq)
}

// prepareGateway makes the FIX gateway of a node that serves FIX itself: it
// knows the journal's ClOrdIDs and the delivered floor, and holds the
// reports its session stores lack, rebuilt. It returns the Day orders of
// the sessions that dropped, to cancel once the ring runs. On an error the
// gateway is stopped.
func (n *Node) prepareGateway() ([]matcher.Command, error) {
	var err error
	n.gateway, err = n.newGateway()
	if err == nil {
		err = n.rememberClOrdIDs(n.gateway)
	}
	if err != nil {
		return nil, err
	}
	n.gateway.SetDeliveredBefore(n.baseSeq)
	if err := n.rebuildUnstored(n.gateway); err != nil {
		n.gateway.Stop()
		return nil, err
	}
	return n.dayOrdersOfDroppedSessions(), nil
}

func (n *Node) journalDir() string { return filepath.Join(n.cfg.DataDir, "journal") }

// openJournal opens the journal and rebuilds the engines from it.
func (n *Node) openJournal() error {
	mode := n.cfg.Journal.Sync
	if mode == journal.SyncNone {
		n.log.Warn("WARNING journal sync is \"none\": acknowledged orders are NOT durable; use this for benchmarks only")
	}
	reported, reportedFrom, err := n.storesReach()
	if err != nil {
		return err
	}
	j, err := journal.Open(journal.Options{
		Dir:               n.journalDir(),
		SegmentBytes:      int64(n.cfg.Journal.SegmentMiB) << 20,
		Sync:              mode,
		SyncIntervalMs:    n.cfg.Journal.SyncIntervalMs,
		Log:               n.logBase,
		Archive:           n.cfg.Journal.Archive,
		HotRetentionMs:    int64(n.cfg.Journal.HotRetentionHours) * 3600 * 1000,
		StartFromLastGood: n.cfg.Journal.StartFromLastGood,
		Reported:          reported,
		ReportedFrom:      reportedFrom,
	})
	if err != nil {
		return err
	}
	n.journal = j
	n.partitions = make([]*partition, n.cfg.Match.Partitions)
	engineCfg := EngineConfig(n.cfg)
	for p := range n.partitions {
		n.partitions[p] = &partition{index: p, engine: matcher.New(engineCfg)}
	}
	rs, err := newRisk(n.cfg)
	if err != nil {
		j.Close()
		return err
	}
	if rs != nil {
		n.risk = n.newRiskStage(rs)
	}
	from, err := n.restoreSnapshot()
	if err == nil {
		err = n.checkReplayStart(from + 1)
	}
	if err == nil {
		err = n.replay(from + 1)
	}
	if err == nil {
		err = n.lastStamp()
	}
	if err == nil {
		err = n.journalMissing()
	}
	if err != nil {
		j.Close()
		return err
	}
	n.baseSeq = j.LastSeq() + 1
	return nil
}

// lastStamp restores the stamp stage's floor (stamp, stages.go): the
// TimeNs of the journal's last record, so that no command after a restart
// is stamped earlier, whatever the clock says now. A clock behind it is
// said once: commands take that stamp until the clock passes it. A
// journal that holds no record yet, or begins after its last seq (a
// standby that installed its primary's snapshot), has no stamp to go on
// from: the floor is 0, and the clock's time is taken as it is.
func (n *Node) lastStamp() error {
	last := n.journal.LastSeq()
	if last == 0 {
		return nil
	}
	first, err := journal.FirstSeq(n.journalDir())
	if err != nil {
		return fmt.Errorf("read the last record's time from %s: %w", n.journalDir(), err)
	}
	if first == 0 || first > last {
		return nil
	}
	_, err = journal.Scan(n.journalDir(), last, func(r journal.Record) error {
		var c matcher.Command
		if err := c.DecodeAt(r.Data, r.Seq); err != nil {
			return err
		}
		n.lastNs = c.TimeNs
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the last record's time from %s: %w", n.journalDir(), err)
	}
	if ahead := time.Duration(n.lastNs - time.Now().UnixNano()); ahead > time.Second {
		n.log.Warn("the clock is behind the journal's last record: commands are stamped with its time until the clock passes it",
			"seq", last, "last_time", time.Unix(0, n.lastNs).UTC().Format(time.RFC3339Nano), "ahead", ahead.Round(time.Millisecond))
	}
	return nil
}

// checkReplayStart refuses, with the reason, a journal that begins after
// the seq replay must start from: the records between are gone, and no
// snapshot this node can use covers them.
func (n *Node) checkReplayStart(from int64) error {
	first, err := journal.FirstSeq(n.journalDir())
	if err != nil || first <= from {
		return err
	}
	return fmt.Errorf("journal %s begins at sequence %d, but replay must start at %d (no usable snapshot at %d or later: "+
		"none is there, or it was taken with another partition count): the state cannot be rebuilt", n.journalDir(), first, from, first-1)
}

// replay applies every journaled command from fromSeq on to the engines,
// rebuilding the books exactly as they were: the matcher is a pure function
// of this input. Each checkpoint's hash is recomputed and compared with the
// journaled one; a difference stops the start.
func (n *Node) replay(fromSeq int64) error {
	start := time.Now()
	n.followGuard = venueGuard{rs: n.riskState(), from: fromSeq, seen: func() { n.venueSeen.Store(true) }}
	count, checked, err := replayJournal(n.journalDir(), n.engines(), n.riskState(), fromSeq, 0, nil, &n.followGuard)
	if err != nil {
		return err
	}
	if count > 0 {
		n.log.Info("replayed journaled commands; checkpoint hashes verified", "commands", count, "first_seq", fromSeq,
			"took", time.Since(start).Round(time.Millisecond), "checkpoints_verified", checked)
	}
	return nil
}

// engines are the partitions' engines, by partition.
func (n *Node) engines() matcher.Partitions {
	engines := make(matcher.Partitions, len(n.partitions))
	for i, p := range n.partitions {
		engines[i] = p.engine
	}
	return engines
}

// applyJournal applies the journaled commands from fromSeq to toSeq (0: to
// the end) to engines, one per partition, as the match stage does, and
// hands each command's events to visit (nil: none) in the order the
// publish stage hands them on; an error from visit ends the replay. Each
// checkpoint's hash is recomputed and compared with the journaled one. It
// returns the commands read and the hashes checked.
func applyJournal(dir string, engines matcher.Partitions, fromSeq, toSeq int64, visit func(evs []matcher.Event) error) (count, checked int, err error) {
	return applyJournalRisk(dir, engines, nil, fromSeq, toSeq, visit)
}

// applyJournalRisk is applyJournal with the risk state rs (nil: none):
// each command goes through its check, the engines and its settle step in
// turn (risk.State.Step), as the pipeline decides them.
func applyJournalRisk(dir string, engines matcher.Partitions, rs *risk.State, fromSeq, toSeq int64, visit func(evs []matcher.Event) error) (count, checked int, err error) {
	return replayJournal(dir, engines, rs, fromSeq, toSeq, visit, nil)
}

// replayJournal is applyJournal with the risk state rs (nil: none),
// where guard (nil: one of its own, for rs from fromSeq) checks each
// record before it is applied (venueGuard, riskvenue.go): it refuses a
// risk venue record that disagrees with rs, and an order of a journal
// written with mode none when rs is not nil.
func replayJournal(dir string, engines matcher.Partitions, rs *risk.State, fromSeq, toSeq int64, visit func(evs []matcher.Event) error,
	guard *venueGuard) (count, checked int, err error) {
	var cmd matcher.Command
	var evs []matcher.Event
	cpSeq, cpHash, cpLegacy := int64(0), uint64(0), [2]uint64{}
	if guard == nil {
		guard = &venueGuard{rs: rs, from: fromSeq}
	}
	err = journal.Read(dir, fromSeq, func(seq int64, rec []byte) error {
		if toSeq > 0 && seq > toSeq {
			return errStopReading
		}
		if err := cmd.DecodeAt(rec, seq); err != nil {
			return err // wrapped below with the journal's dir
		}
		count++
		if err := guard.check(&cmd, seq); err != nil {
			return err
		}
		if rs != nil {
			evs, _ = rs.Step(&cmd, engines, evs[:0])
		} else {
			evs = engines.Apply(&cmd, evs[:0])
		}
		switch cmd.Kind {
		case matcher.KindCheckpoint:
			ph := engines.Hash()
			cpSeq, cpHash, cpLegacy = seq, stateHash(ph, rs), LegacyStateHashes(ph, engines, rs)
		case matcher.KindCheckpointHash:
			h, _ := matcher.CheckpointHashOf(&cmd)
			if h.Checkpoint != cpSeq || h.Partitions != len(engines) {
				return nil // a checkpoint before fromSeq, or taken with another partition count
			}
			if !checkpointHashMatches(h.Hash, cpHash, cpLegacy) {
				if err := RiskModeMismatch(dir, rs); err != nil {
					return fmt.Errorf("%w (journal record %d: state hash at checkpoint %d is %016x after replay, %016x when it ran)", err, seq, cpSeq, cpHash, h.Hash)
				}
				return fmt.Errorf("journal record %d: state hash at checkpoint %d is %016x after replay, %016x when it ran", seq, cpSeq, cpHash, h.Hash)
			}
			checked++
		}
		if visit != nil && len(evs) > 0 {
			return visit(evs)
		}
		return nil
	})
	if errors.Is(err, errStopReading) {
		err = nil
	}
	if err != nil {
		return count, checked, fmt.Errorf("replay %s: %w", dir, err)
	}
	return count, checked, nil
}

var errStopReading = errors.New("stop reading")

// rememberClOrdIDs gives the gateway every ClOrdID the journal shows each
// broker has used since the last end of day (a snapshot does not hold
// them), so a duplicate is refused across symbols and across restarts and
// failovers. It reads from the first record and starts the set again at
// each KindEndOfDay, as the publish stage did when it ran. A reject
// record (KindReject) claims nothing: a refused message leaves its
// ClOrdID unused, live as after a restart (gateway/reject.go).
// A journal that begins after seq 1 (its oldest segments were removed, or
// a standby installed its primary's snapshot) gives those it still holds,
// and the log says from where.
func (n *Node) rememberClOrdIDs(g *gateway.Gateway) error {
	start := time.Now()
	var cmd matcher.Command
	count := 0
	first, err := journal.FirstSeq(n.journalDir())
	if err != nil {
		return err
	}
	if first > 1 {
		n.log.Info("the journal begins after seq 1: a ClOrdID used only before it is not known to be in use", "first_seq", first)
	}
	n.dayOpenNs = 0 // the scan finds it again (noteDay)
	err = journal.Read(n.journalDir(), first, func(seq int64, rec []byte) error {
		if err := cmd.Decode(rec); err != nil {
			return fmt.Errorf("journal record %d: %w", seq, err)
		}
		switch cmd.Kind {
		case matcher.KindNew, matcher.KindReplace, matcher.KindCancel, matcher.KindMassCancel:
			g.Remember(cmd.Account, cmd.ClOrdID)
			count++
		case matcher.KindEndOfDay:
			g.EndOfDay()
			count = 0
		}
		n.noteDay(&cmd)
		return nil
	})
	if err != nil {
		return fmt.Errorf("rebuild used ClOrdIDs from %s: %w", n.journalDir(), err)
	}
	if count > 0 {
		n.log.Info("ClOrdIDs in use rebuilt from the journal", "cl_ord_ids", count, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func (n *Node) partitionOf(cmd *matcher.Command) *partition {
	return n.partitions[matcher.PartitionOf(cmd.Symbol, len(n.partitions))]
}

// abortStart undoes a start that failed once the ring ran: the feed, the
// ring, market data, the checkpointer and the journal, in that order.
func (n *Node) abortStart() {
	n.feed.close()
	n.ring.Close()
	n.stopMarketData()
	close(n.cpStop)
	<-n.cpDone
	n.journal.Close()
}

// Submit sequences a command from the gateway into the ring. It may block
// while the ring is full (back-pressure on that session). A mass cancel of
// every symbol (Symbol 0) becomes one command per symbol, so that each lands
// in exactly one match partition.
func (n *Node) Submit(cmd *matcher.Command) error {
	if cmd.Kind == matcher.KindMassCancel && cmd.Symbol == 0 {
		one := *cmd
		for id := range uint32(len(n.cfg.Symbols)) {
			one.Symbol = id + 1
			if err := n.submit(&one); err != nil {
				return err
			}
		}
		return nil
	}
	return n.submit(cmd)
}

func (n *Node) submit(cmd *matcher.Command) error {
	_, err := n.submitSeq(cmd)
	return err
}

// submitSeq is submit, returning the journal sequence the command got.
func (n *Node) submitSeq(cmd *matcher.Command) (int64, error) {
	seq, err := n.ring.Claim()
	if err != nil {
		return 0, err
	}
	s := n.ring.Slot(seq)
	s.cmd = *cmd
	s.cmd.Seq = n.baseSeq + seq
	s.cmd.TimeNs = time.Now().UnixNano() // the ingress time; the first stage keeps it from stepping back (stamp)
	s.nEvents = 0
	n.ring.Publish(seq)
	return n.baseSeq + seq, nil
}

// fail stops the pipeline with err and says so in the log, once: from here
// on the exchange accepts nothing (brokers get rejects), and nothing after
// the failed batch reaches a broker. It is never retried silently.
func (n *Node) fail(err error) {
	n.ring.Fail(err) // the ring's OnFail logs it
}

// halt fails the pipeline with err and stops the node on its own (Done,
// FailErr): its storage failed (the journal, a FIX session store), so it
// must neither acknowledge anything more nor go on looking alive.
func (n *Node) halt(err error) {
	n.fail(err)
	if n.repl != nil {
		n.repl.stopOnItsOwn(err)
		return
	}
	n.haltOnce.Do(func() {
		n.haltErr.Store(&err)
		close(n.halted)
	})
}

// ringFailed is the ring's OnFail: whatever stopped the pipeline (a failed
// journal write, a diverged standby, a handler's panic with its stack) is
// said once in the log. A standby whose pipeline failed can follow no
// further, so it stops on its own at once with that first cause (Done,
// FailErr), not when the next record from its primary finds the ring
// closed.
func (n *Node) ringFailed(err error) {
	n.log.Error("STOPPED ACCEPTING ORDERS", "err", err)
	if n.repl != nil && n.following.Load() {
		n.repl.stopOnItsOwn(err)
	}
}

// Stop drains the pipeline, closes the FIX acceptor and closes the journal.
// It returns the error that stopped the pipeline, if one did.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		n.stopping.Store(true)
		close(n.dayStop)
		<-n.dayDone
		n.stopReplication()
		// Drain first, so every accepted order is reported before the
		// sessions log out; input arriving meanwhile is rejected, not lost.
		errRing := n.ring.Close()
		n.stopMarketData()
		n.feed.close()
		n.stopLatencyLog()
		if n.repl != nil {
			if s := n.repl.sender.Load(); s != nil {
				n.settleStandbys(s) // a shard's primary: their last acks (syncset.go)
				s.Close()
			}
		}
		close(n.cpStop)
		<-n.cpDone
		if n.gateway != nil {
			if errRing == nil {
				n.storedThrough(n.journal.LastSeq()) // every report is queued: a clean restart rebuilds none
			}
			n.gateway.Stop()
		}
		errJournal := n.journal.Close()
		n.stopErr = errors.Join(errRing, errJournal)
		n.log.Info("stopped", "seq", n.journal.LastSeq())
	})
	return n.stopErr
}

// Err reports the failure that stopped the pipeline, or nil while it runs.
func (n *Node) Err() error { return n.ring.Err() }

// Stats returns the pipeline's per-stage counters.
func (n *Node) Stats() []ringbuffer.StageStats { return n.ring.Stats() }

// EngineConfig is the matcher configuration every engine of a node with cfg
// is built with: symbol id i+1 is cfg.Symbols[i]. Replay builds its engines
// with it too, so hashes and outcomes agree with the live exchange's.
func EngineConfig(cfg config.Config) matcher.Config {
	specs := make([]matcher.SymbolSpec, len(cfg.Symbols))
	for i := range specs {
		specs[i] = matcher.SymbolSpec{ID: uint32(i + 1)}
	}
	mc := matcher.Config{Symbols: specs, STP: stpMode(cfg.Match.STP)}
	firmsSTP(cfg, &mc) // accounts.go: by name, as every account's mode
	return mc
}

// newGateway builds the FIX gateway of a node that serves (at start or on
// a promotion): a session store that fails halts the node.
func (n *Node) newGateway() (*gateway.Gateway, error) {
	o, err := gatewayOptions(n.cfg, n.logBase)
	if err != nil {
		return nil, err
	}
	n.gatewayAccounts(&o) // accounts.go
	o.OnStoreError = func(err error) { n.halt(fmt.Errorf("FIX session store: %w", err)) }
	if n.shard != nil {
		o.MayDeliver = n.mayDeliver
	}
	if n.md != nil {
		o.MarketData = n.md
	}
	g, err := gateway.New(o, n)
	if err == nil && n.shard != nil {
		n.cutWritesOnFence(g) // cluster.go
	}
	return g, err
}

func gatewayOptions(cfg config.Config, log *slog.Logger) (gateway.Options, error) {
	o := gateway.Options{
		Listen:       cfg.FIX.Listen,
		SenderCompID: cfg.FIX.SenderCompID,
		StoreDir:     filepath.Join(cfg.DataDir, "fix"),
		CertFile:     cfg.FIX.CertFile,
		KeyFile:      cfg.FIX.KeyFile,
		Log:          log,
	}
	for _, s := range cfg.FIX.Sessions {
		o.Sessions = append(o.Sessions, gateway.Session{
			BeginString:        s.BeginString,
			TargetCompID:       s.TargetCompID,
			Password:           s.Password,
			ThrottleMsgsPerSec: s.ThrottleMsgsPerSec,
			CancelOnDisconnect: s.CancelsOnDisconnect(),
			DropCopyOf:         dropCopyOf(cfg, s.DropCopyOf), // accounts.go
			DropCopy:           len(s.DropCopyOf) > 0,
			CopyMsgIndicator:   s.CopyMsgIndicator,
			MarketDataOnly:     s.MarketDataOnly,
		})
	}
	for _, s := range cfg.Symbols {
		tick, err := gateway.ParseScale(s.TickSize)
		if err != nil {
			return o, fmt.Errorf("config: symbol %s: tickSize: %w", s.Name, err)
		}
		o.Symbols = append(o.Symbols, gateway.Symbol{Name: s.Name, Tick: tick, Lot: gateway.ScaleOf(s.LotSize)})
	}
	return o, nil
}
