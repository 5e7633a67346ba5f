package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// JournalConfig is one run of the journal alone: records at a planned rate
// into a real journal, one write and one Commit per batch of what is due,
// as the node's journal stage does, with nothing else in the way (no ring,
// matching, FIX). Its latency, from a record's planned time to the Commit
// that made it durable, is what the disk and the machine cost a durable
// acknowledgement at that rate before ringex does anything; what a ringex
// run at the same rate adds is the difference. On a small VM the pacer's
// own timer wake-ups can set its tail (Schedule.WakeGridNs; what was
// measured and tried is in docs/performance.md).
type JournalConfig struct {
	Name       string
	Dir        string // where the run's journal folder goes (removed after); "": the system's temp dir
	Sync       journal.SyncMode
	RatePerSec float64 // > 0: the journal alone has no closed loop
	Duration   time.Duration
	Warmup     time.Duration
	Progress   io.Writer
	WakeGrid   time.Duration // the pacer's wake-up grid (Schedule.WakeGridNs)
}

// journalCommit is how RunJournal commits; tests make it fail.
var journalCommit = (*journal.Journal).Commit

// RunJournal runs cfg: a pacing goroutine marks records due on the
// schedule, and one committer (this goroutine) appends every due record
// (the node's encoding of an order, CommandSize bytes) and commits them as
// one batch, then waits for more. A Commit that stalls makes the next batch
// bigger (up to the node's ring capacity, its bound on a batch) and every
// record in it later, as it would in the exchange. The journal's options
// are the node's, from the default configuration with cfg.Sync (interval:
// the same 2 ms as the pipeline and ringex runs). A failed Append or Commit
// ends the run at once: the records of that batch are not durable and are
// not measured.
func RunJournal(cfg JournalConfig) (*Result, error) {
	if cfg.RatePerSec <= 0 || cfg.Duration <= cfg.Warmup {
		return nil, errors.New("bench journal: need --rate above 0 and a duration longer than the warm-up")
	}
	ncfg := config.Default()
	setSync(&ncfg, cfg.Sync)
	mode := ncfg.Journal.Sync
	dir, err := os.MkdirTemp(cfg.Dir, "ringex-bench-journal-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	j, err := journal.Open(journal.Options{Dir: dir, Sync: mode, SyncIntervalMs: ncfg.Journal.SyncIntervalMs,
		SegmentBytes: int64(ncfg.Journal.SegmentMiB) << 20, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	batchMax := int64(ncfg.Ring.Capacity)
	sched := Schedule{RatePerSec: cfg.RatePerSec, Streams: 1, WakeGridNs: int64(cfg.WakeGrid)}
	endNs, warmNs := int64(cfg.Duration), int64(cfg.Warmup)
	limit := sched.DueBy(0, endNs-1)
	rec := sampleRecord()
	ack, lag := NewHist(), NewHist()
	var due, durable atomic.Int64
	var quit atomic.Bool // the committer failed: the pacer stops
	poke, paced := make(chan struct{}, 1), make(chan struct{})
	base := time.Now()
	stop := progress(cfg.Progress, cfg.Name, base, cfg.Duration, func() (int64, int64, int64) {
		d, n := due.Load(), durable.Load()
		return d, n, d - n
	})
	go pace(sched, limit, base, &due, &quit, poke, paced, lag)

	var measured, lastMeasuredNs int64
	var commitErr error
	for done := int64(0); done < limit && commitErr == nil; {
		hi := due.Load()
		if hi == done {
			select {
			case <-poke:
			case <-paced:
			}
			continue
		}
		hi = min(hi, done+batchMax)
		for k := done; k < hi && commitErr == nil; k++ {
			commitErr = j.Append(k+1, rec)
		}
		if commitErr == nil {
			commitErr = journalCommit(j)
		}
		if commitErr != nil {
			quit.Store(true)
			break
		}
		nowNs := int64(time.Since(base))
		for k := done; k < hi; k++ {
			if planned := sched.PlannedNs(0, k); planned >= warmNs {
				Record(ack, nowNs-planned)
				measured, lastMeasuredNs = measured+1, nowNs
			}
		}
		done = hi
		durable.Store(done)
	}
	<-paced
	stop()
	closeErr := j.Close()
	res := &Result{Name: cfg.Name, Mode: "journal", Target: "journal alone (write + fsync, paced)", Sync: mode.String(), WakeGridNs: int64(cfg.WakeGrid),
		RateAsked: cfg.RatePerSec, Sessions: 1, DurationSec: cfg.Duration.Seconds(), WarmupSec: cfg.Warmup.Seconds(),
		Sent: due.Load(), Answered: durable.Load(), Measured: measured, Unanswered: due.Load() - durable.Load(),
		Note: "record → durable (write + " + map[bool]string{true: "fdatasync", false: "no fsync"}[mode != journal.SyncNone] + "), one Commit per batch of what was due"}
	if window := lastMeasuredNs - warmNs; window > 0 {
		res.Achieved = float64(measured) / (float64(window) / 1e9)
	}
	res.finish(map[string]*hdrhistogram.Histogram{"ack": ack, "fill": NewHist(), "amend": NewHist(), "sendlag": lag})
	if commitErr != nil {
		commitErr = fmt.Errorf("bench journal: %w", commitErr)
	}
	return res, errors.Join(commitErr, closeErr)
}

// pace marks the records [0, limit) due at their planned times, waking the
// committer, and closes paced when the last is due or quit is set. It owns
// lag.
func pace(sched Schedule, limit int64, base time.Time, due *atomic.Int64, quit *atomic.Bool, poke, paced chan struct{}, lag *hdrhistogram.Histogram) {
	defer close(paced)
	for next := int64(0); next < limit && !quit.Load(); {
		nowNs := int64(time.Since(base))
		to := min(sched.DueBy(0, nowNs), limit)
		if to <= next {
			sched.sleepUntil(nowNs, sched.PlannedNs(0, next))
			continue
		}
		for k := next; k < to; k++ {
			Record(lag, nowNs-sched.PlannedNs(0, k))
		}
		next = to
		due.Store(next)
		select {
		case poke <- struct{}{}:
		default: // the committer has a wake-up waiting already
		}
	}
}

// sampleRecord is one journal record as the node writes it: a limit order,
// encoded.
func sampleRecord() []byte {
	cmd := matcher.Command{Kind: matcher.KindNew, Account: 1, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit,
		Price: 10_000, Qty: 100, TimeNs: time.Now().UnixNano()}
	copy(cmd.ClOrdID[:], "BENCH-JOURNAL-0000001")
	return cmd.Encode(make([]byte, matcher.CommandSize))
}
