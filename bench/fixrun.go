package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// FIXConfig is one run of FIX load against an acceptor.
type FIXConfig struct {
	Name        string
	Target      string // what answers, for the report ("ringex", "responder", ...)
	Addr        string
	BeginString string   // FIX.4.4 (default) or FIX.4.2
	SenderIDs   []string // one per session: our SenderCompID
	TargetID    string   // the acceptor's CompID
	Password    string   // Logon Password(554), when set
	Symbols     []string // names the mix's symbol indexes map to
	RatePerSec  float64  // total; 0: as fast as the in-flight bound allows
	InflightMax int      // per session
	Duration    time.Duration
	Warmup      time.Duration // requests planned before it are sent but not measured
	Drain       time.Duration // wait for answers after the last request
	Mix         MixConfig
	Streams     []*Stream     // replay these instead of generating (one per session)
	Progress    io.Writer     // a progress line each second; nil: none
	WakeGrid    time.Duration // the senders' wake-up grid (Schedule.WakeGridNs); 0: each at its planned time
}

// SenderIDs returns n CompIDs prefix01, prefix02, ...
func SenderIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%02d", prefix, i+1)
	}
	return ids
}

type fixSession struct {
	stream int
	nc     net.Conn
	enc    encoder
	wmu    sync.Mutex // the socket's writes: the sender's batches, the reader's heartbeats
	src    Source
	prefix string // ClOrdID prefix, unique per run
	tr     *tracker
	sent   atomic.Int64
	unsent int64
	lag    *hdrhistogram.Histogram // sender only
	errMu  sync.Mutex
	err    error
	rejTxt atomic.Value // first reject text
}

type fixRun struct {
	cfg     *FIXConfig
	base    time.Time
	endNs   int64
	warmNs  int64
	sched   Schedule
	symbols [][]byte
}

func (r *fixRun) clock() int64 { return int64(time.Since(r.base)) }

// RunFIX logs every session on, sends the load, waits for the answers and
// returns the result. Every session must log on within 10 s.
func RunFIX(cfg FIXConfig) (*Result, error) {
	if cfg.BeginString == "" {
		cfg.BeginString = "FIX.4.4"
	}
	if len(cfg.SenderIDs) == 0 || cfg.InflightMax < 1 || cfg.Duration <= cfg.Warmup || len(cfg.Symbols) == 0 {
		return nil, errors.New("bench fix: need sessions, an in-flight bound ≥ 1, symbols and a duration longer than the warm-up")
	}
	if cfg.Mix.Symbols == 0 || cfg.Mix.Symbols > len(cfg.Symbols) {
		cfg.Mix.Symbols = len(cfg.Symbols)
	}
	run := &fixRun{cfg: &cfg, sched: Schedule{RatePerSec: cfg.RatePerSec, Streams: len(cfg.SenderIDs), WakeGridNs: int64(cfg.WakeGrid)},
		endNs: int64(cfg.Duration), warmNs: int64(cfg.Warmup)}
	for _, s := range cfg.Symbols {
		run.symbols = append(run.symbols, []byte(s))
	}
	prefix := runPrefix()
	sessions := make([]*fixSession, len(cfg.SenderIDs))
	defer func() {
		for _, s := range sessions {
			if s != nil && s.nc != nil {
				s.nc.Close()
			}
		}
	}()
	for i, id := range cfg.SenderIDs {
		s := &fixSession{stream: i, prefix: prefix, tr: newTracker(), lag: NewHist(),
			enc: encoder{begin: cfg.BeginString, sender: id, target: cfg.TargetID, seq: 1}}
		s.tr.dayTakers = cfg.Mix.DayTakers
		switch {
		case cfg.Streams != nil && i < len(cfg.Streams):
			s.src = cfg.Streams[i]
		case cfg.Streams != nil:
			s.src = &Stream{}
		default:
			s.src = NewGenerator(cfg.Mix, i)
		}
		sessions[i] = s
		if err := s.logon(cfg.Addr, cfg.Password); err != nil {
			return nil, fmt.Errorf("bench fix: session %s → %s at %s: %w", id, cfg.TargetID, cfg.Addr, err)
		}
	}
	run.base = time.Now()
	var wg sync.WaitGroup
	var readers sync.WaitGroup
	for _, s := range sessions {
		readers.Go(func() { s.read(run) })
		wg.Go(func() { s.send(run) })
	}
	stopProgress := progress(cfg.Progress, cfg.Name, run.base, cfg.Duration, func() (sent, answered, inflight int64) {
		for _, s := range sessions {
			sent += s.sent.Load()
			answered += s.tr.answered.Load()
			inflight += s.tr.inflight.Load()
		}
		return
	})
	wg.Wait()
	drainEnd := run.base.Add(cfg.Duration + cfg.Drain)
	for time.Now().Before(drainEnd) {
		var inflight int64
		for _, s := range sessions {
			inflight += s.tr.inflight.Load()
		}
		if inflight == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	stopProgress()
	for _, s := range sessions {
		s.logout()
	}
	waitTimeout(&readers, 3*time.Second)
	for _, s := range sessions {
		s.nc.Close()
	}
	readers.Wait()
	return run.result(sessions)
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

var runCounter atomic.Int64

// runPrefix makes the ClOrdIDs of this run differ from earlier runs' against
// the same acceptor: a few base-36 digits of the clock and a counter.
func runPrefix() string {
	n := time.Now().UnixMilli()/100%(36*36*36*36) + runCounter.Add(1)*7919
	return "b" + strconv.FormatInt(n%(36*36*36*36), 36) + "-"
}

func (run *fixRun) result(sessions []*fixSession) (*Result, error) {
	cfg := run.cfg
	res := &Result{Name: cfg.Name, Mode: "fix", Target: cfg.Target, BeginString: cfg.BeginString, WakeGridNs: int64(cfg.WakeGrid),
		RateAsked: cfg.RatePerSec, Sessions: len(sessions), Inflight: cfg.InflightMax * len(sessions),
		DurationSec: cfg.Duration.Seconds(), WarmupSec: cfg.Warmup.Seconds()}
	var acks, fills, amends, lags []*hdrhistogram.Histogram
	var lastNs int64
	var errs []error
	for _, s := range sessions {
		t := s.tr
		res.Sent += s.sent.Load()
		res.Answered += t.answered.Load()
		res.Measured += t.measured
		res.Unsent += s.unsent
		res.Unanswered += t.inflight.Load() + t.lost.Load()
		res.Rejects += t.rejects
		res.CxlRejects += t.cxlRejects
		lastNs = max(lastNs, t.lastMeasuredNs)
		acks, fills, amends, lags = append(acks, t.ack), append(fills, t.fill), append(amends, t.amend), append(lags, s.lag)
		if s.err != nil {
			errs = append(errs, s.err)
		}
		if txt, ok := s.rejTxt.Load().(string); ok && res.Note == "" {
			res.Note = "first reject: " + txt
		}
	}
	if window := lastNs - run.warmNs; window > 0 {
		res.Achieved = float64(res.Measured) / (float64(window) / 1e9)
	}
	hists := map[string]*hdrhistogram.Histogram{}
	hists["ack"], _ = Merge(acks...)
	hists["fill"], _ = Merge(fills...)
	hists["amend"], _ = Merge(amends...)
	hists["sendlag"], _ = Merge(lags...)
	res.finish(hists)
	return res, errors.Join(errs...)
}

func (s *fixSession) fail(err error) {
	s.errMu.Lock()
	if s.err == nil {
		s.err = fmt.Errorf("session %s: %w", s.enc.sender, err)
	}
	s.errMu.Unlock()
}

// logon connects and logs on with ResetSeqNumFlag, so that any acceptor
// starts both sequence numbers at 1.
func (s *fixSession) logon(addr, password string) error {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	s.nc = nc
	s.enc.start("A", time.Now())
	s.enc.char(98, '0')
	s.enc.int(108, 30)
	s.enc.char(141, 'Y')
	if password != "" {
		s.enc.str(554, password)
	}
	if _, err := nc.Write(s.enc.finish(nil)); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	w := 0
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer nc.SetReadDeadline(time.Time{})
	for {
		n, err := nc.Read(buf[w:])
		w += n
		if m, ferr := frameMsg(buf[:w]); m > 0 {
			var a answer
			a.scan(buf[:m])
			if string(a.msgType) != "A" {
				return fmt.Errorf("logon answered with %s", printable(buf[:m]))
			}
			if m != w {
				return errors.New("logon answered with more than a Logon")
			}
			return nil
		} else if ferr != nil {
			return ferr
		}
		if err != nil {
			return fmt.Errorf("no Logon answer: %w", err)
		}
	}
}

func printable(b []byte) string {
	out := []byte(string(b))
	for i, c := range out {
		if c == soh {
			out[i] = '|'
		}
	}
	return string(out)
}

func (s *fixSession) logout() {
	s.wmu.Lock()
	s.enc.start("5", time.Now())
	s.nc.Write(s.enc.finish(nil))
	s.wmu.Unlock()
}

// batchMax bounds the requests of one write.
const batchMax = 256

// send is the session's sender: it writes every request as it falls due,
// batched, within the in-flight bound.
func (s *fixSession) send(run *fixRun) {
	// Open loop: every request planned before the end goes out, late if
	// need be (its latency shows it), until the hard stop at the end of
	// the drain time. Closed loop: until the end.
	p := pacer{sched: run.sched, stream: s.stream, limit: 1 << 62, inflight: run.cfg.InflightMax, batchMax: batchMax}
	stopNs := run.endNs
	if run.sched.Open() {
		p.limit = run.sched.DueBy(s.stream, run.endNs-1)
		stopNs += int64(run.cfg.Drain)
	}
	var op Op
	buf := make([]byte, 0, 64<<10)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := run.clock()
		if now >= stopNs {
			break
		}
		from, to, waitNs := p.take(now, int(s.tr.inflight.Load()))
		if to > from {
			buf = buf[:0]
			wall := time.Now()
			// The encoder (its MsgSeqNum, its scratch) is the reader's
			// too, when it answers a TestRequest: encoded under wmu.
			s.wmu.Lock()
			for k := from; k < to; k++ {
				if !s.src.Next(&op) {
					p.limit, p.next = k, k
					break
				}
				planned := now
				if run.sched.Open() {
					planned = run.sched.PlannedNs(s.stream, k)
				}
				s.tr.sent(k, planned, &op, planned >= run.warmNs)
				Record(s.lag, now-planned)
				buf = s.encodeOp(buf, k, &op, wall, run)
			}
			s.sent.Store(p.next)
			_, err := s.nc.Write(buf)
			s.wmu.Unlock()
			if err != nil {
				s.fail(fmt.Errorf("write: %w", err))
				return
			}
			continue
		}
		if p.next >= p.limit {
			break
		}
		d := time.Duration(stopNs - now)
		if waitNs > 0 {
			run.sched.sleepUntil(now, min(stopNs, waitNs))
			continue
		}
		timer.Reset(d)
		select {
		case <-s.tr.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
	if run.sched.Open() {
		s.unsent = p.limit - p.next
	}
}

// encodeOp appends request k as a FIX message. Hot path.
func (s *fixSession) encodeOp(dst []byte, k int64, op *Op, now time.Time, run *fixRun) []byte {
	e := &s.enc
	e.start(string(op.Kind), now)
	e.id(11, s.prefix, k)
	if op.Kind != OpNew {
		e.id(41, s.prefix, op.Ref)
	}
	if op.Kind != OpCancel {
		e.char(21, '1')
	}
	e.bytes(55, run.symbols[int(op.Symbol)%len(run.symbols)])
	e.char(54, '0'+op.Side)
	e.bytes(60, e.ts)
	if op.Kind != OpCancel {
		e.int(38, op.Qty)
		e.char(40, '2')
		e.price(44, op.Price)
		e.char(59, op.TIF)
	}
	return e.finish(dst)
}

// read is the session's reader: it matches answers to requests and
// records their latency.
func (s *fixSession) read(run *fixRun) {
	buf := make([]byte, 1<<20)
	r, w := 0, 0
	var a answer
	for {
		n, err := frameMsg(buf[r:w])
		if err != nil {
			s.fail(fmt.Errorf("read: %w at %q", err, printable(buf[r:min(w, r+200)])))
			return
		}
		if n > 0 {
			if !s.handle(buf[r:r+n], &a, run.clock()) {
				return
			}
			r += n
			continue
		}
		if r == w {
			r, w = 0, 0
		} else if w > len(buf)/2 {
			w = copy(buf, buf[r:w])
			r = 0
		}
		m, err := s.nc.Read(buf[w:])
		w += m
		if err != nil && m == 0 {
			return // closed at the end of the run, or by the acceptor (counted as unanswered)
		}
	}
}

// handle processes one inbound message; false ends the session. Hot path.
func (s *fixSession) handle(msg []byte, a *answer, nowNs int64) bool {
	a.scan(msg)
	if len(a.msgType) != 1 {
		s.reject(a)
		return true
	}
	switch a.msgType[0] {
	case '8':
		k, ok := idIndex(a.clOrdID, s.prefix)
		if !ok {
			return true
		}
		switch a.execType {
		case '8':
			s.rejTxt.CompareAndSwap(nil, "ExecutionReport Rejected: "+string(a.text))
			s.tr.answer(k, nowNs, outcomeReject)
		case 'F', '1', '2':
			s.tr.answer(k, nowNs, outcomeOK) // no-op: answered by its New already
			s.tr.filled(k, nowNs)
		default:
			s.tr.answer(k, nowNs, outcomeOK)
		}
	case '9':
		if k, ok := idIndex(a.clOrdID, s.prefix); ok {
			s.tr.answer(k, nowNs, outcomeCxlReject)
		}
	case '1':
		s.wmu.Lock()
		s.enc.start("0", time.Now())
		s.enc.bytes(112, a.testReq)
		s.nc.Write(s.enc.finish(nil))
		s.wmu.Unlock()
	case '5':
		return false
	case '3':
		s.reject(a)
	default:
		if a.msgType[0] == 'j' {
			s.reject(a)
		}
	}
	return true
}

func (s *fixSession) reject(a *answer) {
	s.rejTxt.CompareAndSwap(nil, "MsgType "+string(a.msgType)+": "+string(a.text))
	s.tr.rejects++
}
