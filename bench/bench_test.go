package bench

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/ringex/ringex/journal"
)

func TestMergeKeepsEveryValue(t *testing.T) {
	a, b := NewHist(), NewHist()
	for v := int64(1); v <= 1000; v++ {
		Record(a, v*1000) // 1 µs .. 1 ms
		Record(b, v*1_000_000)
	}
	all, dropped := Merge(a, nil, b)
	if dropped != 0 || all.TotalCount() != 2000 {
		t.Fatalf("merged %d values, dropped %d; want 2000, 0", all.TotalCount(), dropped)
	}
	p := Summarize(all)
	if p.P50 < 990_000 || p.P50 > 1_001_000 { // the 1000th value: 1 ms
		t.Errorf("p50 %d ns, want about 1 ms", p.P50)
	}
	if p.Max < 999_000_000 || p.Max > 1_001_000_000 {
		t.Errorf("max %d ns, want about 1 s", p.Max)
	}
	if a.TotalCount() != 1000 || b.TotalCount() != 1000 {
		t.Error("Merge changed its inputs")
	}
}

func TestRecordClampsOutOfRange(t *testing.T) {
	h := NewHist()
	Record(h, -5)
	Record(h, 1<<62)
	if h.TotalCount() != 2 {
		t.Fatalf("recorded %d of 2 out-of-range values", h.TotalCount())
	}
}

func TestHgrmIsHdrHistogramsFormat(t *testing.T) {
	h := NewHist()
	for v := int64(1); v <= 10_000; v++ {
		Record(h, v*1000) // 1 µs .. 10 ms, uniform
	}
	var buf bytes.Buffer
	if err := WriteHgrm(&buf, h, 1e6); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if want := "       Value     Percentile TotalCount 1/(1-Percentile)"; lines[0] != want || lines[1] != "" {
		t.Fatalf("header %q, want %q and an empty line", lines[0], want)
	}
	n := len(lines)
	if !strings.HasPrefix(lines[n-3], "#[Mean    = ") || !strings.HasPrefix(lines[n-2], "#[Max     = ") ||
		!strings.HasPrefix(lines[n-1], "#[Buckets = ") {
		t.Fatalf("footer:\n%s", strings.Join(lines[n-3:], "\n"))
	}
	if !strings.Contains(lines[n-2], "Total count    =        10000") {
		t.Errorf("footer count: %q", lines[n-2])
	}
	if f := strings.Fields(lines[n-4]); len(f) != 3 || f[1] != "1.000000000000" || f[2] != "10000" {
		t.Errorf("last line %q: want percentile 1.0, the total count and no 1/(1-p)", lines[n-4])
	}
	pts, err := ReadHgrm(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var prev HgrmPoint
	for i, p := range pts {
		if p.Percentile < prev.Percentile || p.Value < prev.Value || p.Count < prev.Count {
			t.Fatalf("point %d %+v after %+v: not monotonic", i, p, prev)
		}
		if p.Percentile >= 0.5 && prev.Percentile < 0.5 && (p.Value < 4.9 || p.Value > 5.1) {
			t.Errorf("median %.3f ms, want about 5", p.Value)
		}
		prev = p
	}
	if len(pts) < 50 || prev.Percentile != 1 || prev.Count != 10000 {
		t.Errorf("%d points ending at %+v", len(pts), prev)
	}
}

func TestScheduleInterleavesStreams(t *testing.T) {
	sc := Schedule{RatePerSec: 1000, Streams: 4}
	// request k of stream s is global slot 4k+s, 1 ms apart
	for _, c := range []struct {
		s         int
		k         int64
		plannedNs int64
	}{{0, 0, 0}, {1, 0, 1e6}, {3, 0, 3e6}, {0, 1, 4e6}, {2, 10, 42e6}} {
		if got := sc.PlannedNs(c.s, c.k); got != c.plannedNs {
			t.Errorf("stream %d request %d planned at %d, want %d", c.s, c.k, got, c.plannedNs)
		}
	}
	for s := range 4 {
		for now := int64(-1); now < 50e6; now += 250_000 {
			due := sc.DueBy(s, now)
			if due > 0 && sc.PlannedNs(s, due-1) > now || sc.PlannedNs(s, due) <= now {
				t.Fatalf("stream %d at %d: DueBy %d disagrees with PlannedNs", s, now, due)
			}
		}
	}
}

func TestPacerBoundsInflightAndBatches(t *testing.T) {
	p := pacer{sched: Schedule{RatePerSec: 1000, Streams: 1}, limit: 100, inflight: 5, batchMax: 3}
	if from, to, wait := p.take(10e6, 0); from != 0 || to != 3 || wait != 0 {
		t.Fatalf("11 due, none in flight, batch 3: got [%d,%d) wait %d", from, to, wait)
	}
	if from, to, _ := p.take(10e6, 3); from != 3 || to != 5 {
		t.Fatalf("3 in flight of 5: got [%d,%d), want [3,5)", from, to)
	}
	if _, _, wait := p.take(10e6, 5); wait != -1 {
		t.Fatalf("at the bound: wait %d, want -1 (wait for an answer)", wait)
	}
	if from, to, _ := p.take(10e6, 0); from != 5 || to != 8 {
		t.Fatalf("got [%d,%d), want [5,8)", from, to)
	}
	p.next = 20
	if _, _, wait := p.take(10e6, 0); wait != 20e6 {
		t.Fatalf("nothing due: wait until %d, want the next planned time 20 ms", wait)
	}
	closed := pacer{sched: Schedule{Streams: 1}, limit: 100, inflight: 5, batchMax: 10}
	if from, to, _ := closed.take(0, 2); from != 0 || to != 3 {
		t.Fatalf("closed loop: got [%d,%d), want the 3 free slots", from, to)
	}
}

// A target that stalls for 100 ms while the generator may keep one request
// in flight: measured from the planned times, every request planned during
// the stall shows its wait (about half of the 100 are over 50 ms); measured
// from the send, as a closed loop would, only one does.
func TestOpenLoopCountsTheStall(t *testing.T) {
	const stallFrom, stallTo = 100e6, 200e6
	p := pacer{sched: Schedule{RatePerSec: 1000, Streams: 1}, limit: 1000, inflight: 1, batchMax: 1}
	open, fromSend := NewHist(), NewHist()
	now := int64(0)
	for p.next < p.limit {
		from, to, wait := p.take(now, 0)
		if to == from {
			now = wait
			continue
		}
		done := now
		if now >= stallFrom && now < stallTo {
			done = stallTo
		}
		Record(open, done-p.sched.PlannedNs(0, from))
		Record(fromSend, done-now)
		now = done
	}
	if open.TotalCount() != 1000 {
		t.Fatalf("recorded %d of 1000", open.TotalCount())
	}
	above := func(h interface{ ValueAtQuantile(float64) int64 }, q float64) int64 { return h.ValueAtQuantile(q) }
	// 1000 requests, ~51 of them 50..100 ms: p94 is under 50 ms, p95.5 over
	if v := above(open, 94); v >= 50e6 {
		t.Errorf("open loop p94 %v, want under 50 ms", time.Duration(v))
	}
	if v := above(open, 95.5); v < 50e6 {
		t.Errorf("open loop p95.5 %v, want over 50 ms: the stall is hidden", time.Duration(v))
	}
	if open.Max() < 99e6 {
		t.Errorf("open loop max %v, want 100 ms", time.Duration(open.Max()))
	}
	if v := above(fromSend, 99.8); v >= 1e6 {
		t.Errorf("closed-loop p99.8 %v: the contrast should show one slow request", time.Duration(v))
	}
}

func TestMixIsDeterministic(t *testing.T) {
	cfg := DefaultMix(42, 4)
	a, b, c := NewGenerator(cfg, 1), NewGenerator(cfg, 1), NewGenerator(DefaultMix(43, 4), 1)
	var x, y, z Op
	same := 0
	kinds := map[OpKind]int{}
	taking := 0
	for i := range 5000 {
		a.Next(&x)
		b.Next(&y)
		c.Next(&z)
		if x != y {
			t.Fatalf("request %d differs with the same seed: %+v, %+v", i, x, y)
		}
		if x == z {
			same++
		}
		kinds[x.Kind]++
		if x.Taking {
			taking++
		}
		if x.Kind != OpNew && x.Ref >= int64(i) {
			t.Fatalf("request %d refers to request %d, not an earlier one", i, x.Ref)
		}
	}
	if same > 2500 {
		t.Errorf("another seed gave %d identical requests of 5000", same)
	}
	if kinds[OpNew] == 0 || kinds[OpCancel] == 0 || kinds[OpReplace] == 0 || taking == 0 {
		t.Errorf("mix lacks a kind: %v, %d taking", kinds, taking)
	}
}

func TestMixFileRoundTrip(t *testing.T) {
	cfg := DefaultMix(7, 8)
	var buf bytes.Buffer
	if err := WriteMix(&buf, cfg, 3, 500); err != nil {
		t.Fatal(err)
	}
	streams, err := ReadMix(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 3 {
		t.Fatalf("%d streams, want 3", len(streams))
	}
	for s, st := range streams {
		g := NewGenerator(cfg, s)
		var want, got Op
		for i := range 500 {
			g.Next(&want)
			if !st.Next(&got) || got != want {
				t.Fatalf("session %d request %d: file %+v, generator %+v", s, i, got, want)
			}
		}
		if st.Next(&got) {
			t.Fatalf("session %d: more than 500 requests", s)
		}
	}
	if _, err := ReadMix(strings.NewReader("0 X 1 0 0 0 1 1 0\n")); err == nil {
		t.Error("a bad kind was read without an error")
	}
}

func TestCodecRoundTrip(t *testing.T) {
	e := encoder{begin: "FIX.4.4", sender: "B1", target: "EX", seq: 7}
	e.start("D", time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC))
	e.id(11, "p-", 42)
	e.price(44, 10_005)
	msg := e.finish(nil)
	n, err := frameMsg(append(msg, "8=FIX"...))
	if err != nil || n != len(msg) {
		t.Fatalf("frame: %d, %v; want %d", n, err, len(msg))
	}
	var a answer
	a.scan(msg)
	if k, ok := idIndex(a.clOrdID, "p-"); string(a.msgType) != "D" || !ok || k != 42 {
		t.Fatalf("scan: %+v", a)
	}
	if !strings.Contains(printable(msg), "|34=7|52=20240102-03:04:05.006|") || !strings.Contains(printable(msg), "|44=100.05|") {
		t.Fatalf("encoded %s", printable(msg))
	}
	msg[len(msg)-3]++
	if _, err := frameMsg(msg); err == nil {
		t.Fatal("a wrong checksum was accepted")
	}
}

func e2eConfig() FIXConfig {
	return FIXConfig{SenderIDs: SenderIDs("BROKER", 2), TargetID: "RINGEX", Symbols: []string{"AAPL", "MSFT"},
		RatePerSec: 1000, InflightMax: 50, Duration: 400 * time.Millisecond, Warmup: 100 * time.Millisecond,
		Drain: 10 * time.Second, Mix: DefaultMix(1, 0)}
}

func checkEveryAnswer(t *testing.T, r *Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent < 300 || r.Answered != r.Sent || r.Unanswered != 0 || r.Rejects != 0 || r.Unsent != 0 {
		t.Fatalf("sent %d, answered %d, unanswered %d, rejects %d (%s), unsent %d", r.Sent, r.Answered, r.Unanswered, r.Rejects, r.Note, r.Unsent)
	}
	if r.Ack.Count == 0 || r.Ack.Count+r.Amend.Count != r.Measured {
		t.Fatalf("measured %d, histograms hold %d + %d", r.Measured, r.Ack.Count, r.Amend.Count)
	}
}

func TestFIXAgainstRingexEveryOrderAnswered(t *testing.T) {
	r, err := RunFIXTarget("ringex", e2eConfig(), "e2e ringex", journal.SyncBatch, nil)
	checkEveryAnswer(t, r, err)
	if r.Fill.Count == 0 {
		t.Error("no crossing order filled")
	}
}

func TestFIX42AgainstRingexEveryOrderAnswered(t *testing.T) {
	cfg := e2eConfig()
	cfg.BeginString = "FIX.4.2"
	r, err := RunFIXTarget("ringex", cfg, "e2e ringex 4.2", journal.SyncNone, nil)
	checkEveryAnswer(t, r, err)
}

func TestFIXAgainstResponderAndQuickfixgo(t *testing.T) {
	for _, target := range []string{"responder", "quickfixgo"} {
		t.Run(target, func(t *testing.T) {
			r, err := RunFIXTarget(target, e2eConfig(), "e2e "+target, journal.SyncBatch, nil)
			checkEveryAnswer(t, r, err)
		})
	}
}

func TestPipelineEveryCommandPublished(t *testing.T) {
	r, err := RunPipeline(PipelineConfig{Name: "e2e pipeline", Sync: journal.SyncBatch, Accounts: 4, RatePerSec: 1000,
		Duration: 400 * time.Millisecond, Warmup: 100 * time.Millisecond, Drain: 10 * time.Second, Mix: DefaultMix(1, 8)})
	checkEveryAnswer(t, r, err)
}

func TestSVGHasOneCurvePerRun(t *testing.T) {
	h1, h2 := NewHist(), NewHist()
	for v := int64(1); v <= 1000; v++ {
		Record(h1, v*1000)
		Record(h2, v*100_000)
	}
	var buf bytes.Buffer
	err := WriteSVG(&buf, "t <&>", []Curve{
		CurveOf("fast", &Result{Hists: map[string]*hdrhistogram.Histogram{"ack": h1}}, "ack"),
		CurveOf("slow", &Result{Hists: map[string]*hdrhistogram.Histogram{"ack": h2}}, "ack")})
	if err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	if strings.Count(s, "<path ") != 2 || !strings.Contains(s, ">99.9%<") || !strings.Contains(s, ">90%<") || !strings.Contains(s, "t &lt;&amp;&gt;") {
		t.Fatalf("svg:\n%s", s)
	}
}

func TestPeerMixIsNewDayOrdersOnly(t *testing.T) {
	g := NewGenerator(PeerMix(3, 4), 1)
	var op Op
	taking := 0
	for i := range 20000 {
		g.Next(&op)
		if op.Kind != OpNew || op.TIF != '0' {
			t.Fatalf("request %d: %c with TimeInForce %c; ordermatch answers new Day orders only", i, op.Kind, op.TIF)
		}
		if op.Taking {
			taking++
		}
	}
	if taking == 0 || len(g.resting) != 0 {
		t.Fatalf("%d taking orders, %d tracked as resting", taking, len(g.resting))
	}
}

func TestDayTakerFillCountsOnArrivalOnly(t *testing.T) {
	tr := newTracker()
	tr.dayTakers = true
	taker := Op{Kind: OpNew, Taking: true, TIF: '0'}
	for k := range int64(3) {
		tr.sent(k, 0, &taker, true)
	}
	tr.answer(0, 10, outcomeOK)
	tr.answer(0, 20, outcomeOK) // the fill's ExecutionReport: answered already
	tr.filled(0, 20)            // New then fill, nothing between: the fill on arrival
	tr.answer(1, 30, outcomeOK) // request 1 rests unfilled
	tr.answer(2, 40, outcomeOK)
	tr.answer(1, 50, outcomeOK)
	tr.filled(1, 50) // request 1's remainder traded later, against another order
	if got := tr.fill.TotalCount(); got != 1 || tr.fill.Max() > 20 {
		t.Fatalf("fills recorded %d (max %d ns), want the one on arrival", got, tr.fill.Max())
	}
}

func TestFIX42PeerLoadAgainstRingexEveryOrderAnswered(t *testing.T) {
	cfg := e2eConfig()
	cfg.BeginString, cfg.Mix = "FIX.4.2", PeerMix(1, 0)
	r, err := RunFIXTarget("ringex", cfg, "e2e ringex peer load", journal.SyncNone, nil)
	checkEveryAnswer(t, r, err)
	if r.Fill.Count == 0 || r.Amend.Count != 0 {
		t.Fatalf("%d fills, %d amends", r.Fill.Count, r.Amend.Count)
	}
}

func TestOrdermatchNeedsItsLoad(t *testing.T) {
	// Refused before anything starts: the peer answers FIX 4.2 new Day orders only.
	if _, err := RunFIXTarget("ordermatch", e2eConfig(), "e2e ordermatch", journal.SyncBatch, nil); err == nil || !strings.Contains(err.Error(), "FIX.4.2") {
		t.Fatalf("FIX 4.4 and the default mix against ordermatch: %v", err)
	}
}

func TestPeerRunsPairWithRingex(t *testing.T) {
	ringex := map[[3]float64]bool{}
	for _, r := range PeerRuns() {
		if !r.Peer {
			t.Fatalf("%s: not on the peer's load", r.Name)
		}
		load := [3]float64{r.Rate, float64(r.Sessions), float64(r.Inflight)}
		if r.Target == "ringex" {
			ringex[load] = true
		} else if !ringex[load] {
			t.Errorf("%s: no ringex run before it at the same load", r.Name)
		}
	}
}

// TestJournalAloneMakesEveryRecordDurable: the journal-alone baseline
// commits every record it planned, measures those planned after the
// warm-up, leaves no journal behind, and refuses a closed loop.
func TestJournalAloneMakesEveryRecordDurable(t *testing.T) {
	dir := t.TempDir()
	for _, sync := range []journal.SyncMode{journal.SyncBatch, journal.SyncNone} {
		r, err := RunJournal(JournalConfig{Name: "journal " + sync.String(), Dir: dir, Sync: sync, RatePerSec: 2000,
			Duration: 1500 * time.Millisecond, Warmup: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		planned := Schedule{RatePerSec: 2000, Streams: 1}.DueBy(0, int64(1500*time.Millisecond)-1)
		warm := Schedule{RatePerSec: 2000, Streams: 1}.DueBy(0, int64(500*time.Millisecond)-1)
		if r.Sent != planned || r.Answered != planned || r.Unanswered != 0 || r.Measured != planned-warm ||
			r.Ack.Count != r.Measured || r.Sync != sync.String() || r.Mode != "journal" {
			t.Fatalf("sync %s: sent %d, durable %d, measured %d (ack count %d), sync %q; want %d planned, %d measured",
				sync, r.Sent, r.Answered, r.Measured, r.Ack.Count, r.Sync, planned, planned-warm)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("the runs left %d entries in their folder", len(left))
	}
	for _, bad := range []JournalConfig{{RatePerSec: 0, Duration: time.Second}, {RatePerSec: 100, Duration: 50 * time.Millisecond, Warmup: 100 * time.Millisecond}} {
		if _, err := RunJournal(bad); err == nil {
			t.Fatalf("%+v: no error", bad)
		}
	}
}

// TestDiskFloorNote: the suite says the disk is the limit only when the
// fsynced journal alone missed the bound.
func TestDiskFloorNote(t *testing.T) {
	journal := func(sync string, p99 time.Duration) *Result {
		return &Result{Mode: "journal", Sync: sync, RateAsked: 10_000, Ack: Percentiles{Count: 100, P99: int64(p99)}}
	}
	fix := &Result{Mode: "fix", Ack: Percentiles{Count: 100, P99: int64(5 * time.Millisecond)}}
	for _, tc := range []struct {
		name    string
		results []*Result
		want    string
	}{
		{"slow_disk", []*Result{journal("batch", 3*time.Millisecond), fix}, "has p99 3.00ms, above 1ms"},
		{"fast_disk", []*Result{journal("batch", 300*time.Microsecond), fix}, ""},
		{"no_fsync", []*Result{journal("none", 3*time.Millisecond), fix}, ""},
		{"no_journal_run", []*Result{fix}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DiskFloorNote(tc.results, time.Millisecond)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("note %q, want one containing %q", got, tc.want)
			}
		})
	}
}

// TestWakeGrid: on a grid, every sender wakes on a grid point at or after
// its due time and less than one grid step later; with no grid, at the due
// time itself.
func TestWakeGrid(t *testing.T) {
	exact := Schedule{RatePerSec: 10_000, Streams: 8}
	grid := Schedule{RatePerSec: 10_000, Streams: 8, WakeGridNs: 500_000}
	wakes := map[int64]bool{}
	for s := 0; s < 8; s++ {
		for k := int64(0); k < 1000; k++ {
			due := grid.PlannedNs(s, k)
			if got := exact.WakeAt(due); got != due {
				t.Fatalf("no grid: wakes at %d for %d", got, due)
			}
			w := grid.WakeAt(due)
			if w < due || w-due >= grid.WakeGridNs || w%grid.WakeGridNs != 0 {
				t.Fatalf("grid 500µs: due %d wakes at %d", due, w)
			}
			wakes[w] = true
		}
	}
	// 8,000 requests over 0.8 s: 1,600 grid points at most, shared by all senders.
	if len(wakes) > 1601 {
		t.Fatalf("%d distinct wake-ups for 8,000 requests on a 500µs grid", len(wakes))
	}
}

// TestJournalAloneStopsAtAFailedCommit: a Commit that fails ends the run at
// once, with the error; the failed batch is neither durable nor measured.
func TestJournalAloneStopsAtAFailedCommit(t *testing.T) {
	commits := 0
	journalCommit = func(j *journal.Journal) error {
		if commits++; commits > 20 {
			return errors.New("fsync: input/output error")
		}
		return j.Commit()
	}
	defer func() { journalCommit = (*journal.Journal).Commit }()
	start := time.Now()
	r, err := RunJournal(JournalConfig{Name: "failing", Dir: t.TempDir(), Sync: journal.SyncBatch, RatePerSec: 2000,
		Duration: 10 * time.Second, Warmup: 0})
	if err == nil || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("err %v, want the Commit's", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the run went on for %v after its Commit failed", took)
	}
	if r == nil || r.Answered == 0 || r.Measured != r.Answered || r.Ack.Count != r.Measured || r.Unanswered < 1 || r.Sent != r.Answered+r.Unanswered {
		t.Fatalf("after the failure: %+v", r)
	}
}
