package bench

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// PipelineConfig is one run of commands straight into a node's ring.
type PipelineConfig struct {
	Name        string
	Sync        journal.SyncMode
	Accounts    int     // brokers; the mix's sessions
	RatePerSec  float64 // 0: as fast as the in-flight bound allows
	InflightMax int     // commands submitted and not yet published; 0: 4096
	Duration    time.Duration
	Warmup      time.Duration
	Drain       time.Duration
	Mix         MixConfig
	Progress    io.Writer
	Log         io.Writer     // the node's log; nil: discarded
	WakeGrid    time.Duration // the submitter's wake-up grid (Schedule.WakeGridNs)
}

// sink is the node's publisher: it runs on the publish stage and matches
// each event to the command that caused it by ClOrdID. Hot path.
type sink struct {
	tr       *tracker
	accounts int64
	prefix   string
	base     time.Time
}

func (s *sink) Publish(ev *matcher.Event) {
	id := ev.ClOrdID[:]
	n := 0
	for n < len(id) && id[n] != 0 {
		n++
	}
	k, ok := idIndex(id[:n], s.prefix)
	if !ok || ev.Account == 0 {
		return
	}
	g := k*s.accounts + int64(ev.Account-1) // global request number
	now := int64(time.Since(s.base))
	switch ev.Type {
	case matcher.EvRejected:
		s.tr.answer(g, now, outcomeReject)
	case matcher.EvCancelRejected:
		s.tr.answer(g, now, outcomeCxlReject)
	case matcher.EvFill:
		s.tr.filled(g, now)
	default:
		s.tr.answer(g, now, outcomeOK)
	}
}

// RunPipeline starts a node on a temporary data dir with the sink as its
// publisher, submits the mix (one stream, accounts interleaved) and
// returns the latency from each command's planned submit time to the
// publish of its first event.
func RunPipeline(cfg PipelineConfig) (*Result, error) {
	if cfg.Accounts < 1 || cfg.Duration <= cfg.Warmup {
		return nil, errors.New("bench pipeline: need accounts ≥ 1 and a duration longer than the warm-up")
	}
	if cfg.InflightMax <= 0 {
		cfg.InflightMax = 4096
	}
	dir, err := os.MkdirTemp("", "ringex-bench-pipeline-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ncfg := config.Default()
	ncfg.DataDir = dir
	setSync(&ncfg, cfg.Sync)
	cfg.Mix.Symbols = min(max(cfg.Mix.Symbols, 1), len(ncfg.Symbols))
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	sk := &sink{tr: newTracker(), accounts: int64(cfg.Accounts), prefix: runPrefix()}
	n, err := node.Start(ncfg, node.Options{Publisher: sk, Log: slog.New(slog.NewTextHandler(logw, nil))})
	if err != nil {
		return nil, err
	}
	gens := make([]*Generator, cfg.Accounts)
	for a := range gens {
		gens[a] = NewGenerator(cfg.Mix, a)
	}
	sched := Schedule{RatePerSec: cfg.RatePerSec, Streams: 1, WakeGridNs: int64(cfg.WakeGrid)}
	p := pacer{sched: sched, limit: 1 << 62, inflight: cfg.InflightMax, batchMax: batchMax}
	lag := NewHist()
	endNs, warmNs := int64(cfg.Duration), int64(cfg.Warmup)
	stopNs := endNs // as in RunFIX: open loop sends everything planned, late if need be
	if sched.Open() {
		p.limit = sched.DueBy(0, endNs-1)
		stopNs += int64(cfg.Drain)
	}
	var sent atomic.Int64
	sk.base = time.Now()
	clock := func() int64 { return int64(time.Since(sk.base)) }
	stop := progress(cfg.Progress, cfg.Name, sk.base, cfg.Duration, func() (int64, int64, int64) {
		return sent.Load(), sk.tr.answered.Load(), sk.tr.inflight.Load()
	})
	var op Op
	var cmd matcher.Command
	var submitErr error
	for submitErr == nil {
		now := clock()
		if now >= stopNs || p.next >= p.limit {
			break
		}
		from, to, waitNs := p.take(now, int(sk.tr.inflight.Load()))
		for k := from; k < to; k++ {
			a := int(k % int64(cfg.Accounts))
			gens[a].Next(&op)
			planned := now
			if sched.Open() {
				planned = sched.PlannedNs(0, k)
			}
			sk.tr.sent(k, planned, &op, planned >= warmNs)
			Record(lag, now-planned)
			makeCommand(&cmd, &op, sk.prefix, k/int64(cfg.Accounts), uint32(a+1))
			if submitErr = n.Submit(&cmd); submitErr != nil {
				break
			}
		}
		sent.Store(p.next)
		switch {
		case to > from:
		case waitNs > 0:
			sched.sleepUntil(now, min(waitNs, stopNs))
		default:
			select {
			case <-sk.tr.wake:
			case <-time.After(time.Duration(stopNs - now)):
			}
		}
	}
	drainEnd := sk.base.Add(cfg.Duration + cfg.Drain)
	for sk.tr.inflight.Load() > 0 && time.Now().Before(drainEnd) {
		time.Sleep(time.Millisecond)
	}
	stop()
	stopErr := n.Stop()
	res := &Result{Name: cfg.Name, Mode: "pipeline", Target: "ringex node (no FIX)", Sync: ncfg.Journal.Sync.String(), WakeGridNs: int64(cfg.WakeGrid),
		RateAsked: cfg.RatePerSec, Sessions: cfg.Accounts, Inflight: cfg.InflightMax,
		DurationSec: cfg.Duration.Seconds(), WarmupSec: cfg.Warmup.Seconds(),
		Sent: sent.Load(), Answered: sk.tr.answered.Load(), Measured: sk.tr.measured,
		Unanswered: sk.tr.inflight.Load() + sk.tr.lost.Load(), Rejects: sk.tr.rejects, CxlRejects: sk.tr.cxlRejects}
	if sched.Open() {
		res.Unsent = p.limit - p.next
	}
	if window := sk.tr.lastMeasuredNs - warmNs; window > 0 {
		res.Achieved = float64(res.Measured) / (float64(window) / 1e9)
	}
	res.finish(map[string]*hdrhistogram.Histogram{"ack": sk.tr.ack, "fill": sk.tr.fill, "amend": sk.tr.amend, "sendlag": lag})
	return res, errors.Join(submitErr, stopErr)
}

// makeCommand turns request k of an account's stream into a command.
func makeCommand(cmd *matcher.Command, op *Op, prefix string, k int64, account uint32) {
	*cmd = matcher.Command{Account: account, Symbol: uint32(op.Symbol) + 1, Side: matcher.Side(op.Side),
		Type: matcher.Limit, Price: op.Price, Qty: op.Qty}
	switch op.Kind {
	case OpNew:
		cmd.Kind = matcher.KindNew
	case OpCancel:
		cmd.Kind = matcher.KindCancel
	case OpReplace:
		cmd.Kind = matcher.KindReplace
	}
	if op.TIF == '3' {
		cmd.TIF = matcher.IOC
	}
	putID(&cmd.ClOrdID, prefix, k)
	if op.Kind != OpNew {
		putID(&cmd.OrigClOrdID, prefix, op.Ref)
	}
}

func putID(id *matcher.ClOrdID, prefix string, k int64) {
	var digits [20]byte
	b := strconv.AppendInt(digits[:0], k, 10)
	n := copy(id[:], prefix)
	copy(id[n:], b)
}

var _ node.Publisher = (*sink)(nil)
