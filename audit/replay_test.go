package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// A journal of this many commands over several segments is the fixture of
// most tests.
const fixtureCommands = 6000

func fixture(t *testing.T) (string, []matcher.Command, *Venue) {
	t.Helper()
	dir := t.TempDir()
	g := newLoadGen(42, 4, 5)
	g.dayLen = 2500 // two trading days end in it: their expiries replay in every partition
	cmds := g.commands(fixtureCommands)
	writeJournal(t, dir, cmds, 128<<10)
	return dir, cmds, testVenue(t)
}

func trailJSON(t *testing.T, o TrailOptions) []map[string]any {
	t.Helper()
	o.Format = "json"
	var buf bytes.Buffer
	if _, err := Trail(&buf, o); err != nil {
		t.Fatalf("trail: %v", err)
	}
	var rows []map[string]any
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("trail line %q: %v", sc.Text(), err)
		}
		rows = append(rows, m)
	}
	return rows
}

func TestTrailHasEveryCommandAndEvent(t *testing.T) {
	dir, cmds, v := fixture(t)
	events, _ := applyAll(t, v, v.Partitions, cmds)
	rows := trailJSON(t, TrailOptions{Dir: dir, Venue: v})
	var nCmd, nEv int
	kinds := map[string]int{}
	for _, r := range rows {
		switch r["row"] {
		case "command":
			if seq := int64(r["seq"].(float64)); seq != cmds[nCmd].Seq {
				t.Fatalf("command row %d has seq %d, want %d", nCmd, seq, cmds[nCmd].Seq)
			}
			if cmds[nCmd].Kind == matcher.KindEndOfDay && r["what"] != "end_of_day" {
				t.Fatalf("command row %d: %v, want end_of_day", nCmd, r["what"])
			}
			nCmd++
		case "event":
			ev := &events[nEv]
			if r["exec_id"] != "" && r["exec_id"] != strconv.FormatInt(ev.ExecID, 10) {
				t.Fatalf("event row %d: exec_id %v, want %d", nEv, r["exec_id"], ev.ExecID)
			}
			if r["what"] != ev.Type.String() {
				t.Fatalf("event row %d: %v, want %v", nEv, r["what"], ev.Type)
			}
			kinds[ev.Type.String()]++
			if ev.Reason == matcher.ReasonExpired {
				kinds["end_of_day_expiry"]++
			}
			nEv++
		}
	}
	if nCmd != len(cmds) || nEv != len(events) {
		t.Fatalf("trail has %d commands and %d events, want %d and %d", nCmd, nEv, len(cmds), len(events))
	}
	for _, k := range []string{"accepted", "fill", "cancelled", "replaced", "cancel_rejected", "expired", "end_of_day_expiry"} {
		if kinds[k] == 0 {
			t.Errorf("the fixture produced no %s event: the load is too narrow (%v)", k, kinds)
		}
	}
}

func TestTrailCSVHeaderAndQuoting(t *testing.T) {
	dir, _, v := fixture(t)
	var buf bytes.Buffer
	if _, err := Trail(&buf, TrailOptions{Dir: dir, Venue: v, Filter: Filter{ToSeq: 3}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if lines[0] != strings.Join(trailColumns[:], ",") {
		t.Fatalf("header %q", lines[0])
	}
	for _, l := range lines[1:] {
		if n := strings.Count(l, ","); n != nCols-1 {
			t.Fatalf("row %q has %d commas, want %d", l, n, nCols-1)
		}
	}
	if got := appendCSV(nil, `a,"b"`); string(got) != `"a,""b"""` {
		t.Fatalf("csv quoting: %s", got)
	}
}

func TestTrailFilters(t *testing.T) {
	dir, cmds, v := fixture(t)
	events, _ := applyAll(t, v, v.Partitions, cmds)
	// Pick an order that traded, and follow it.
	var target *matcher.Event
	for i := range events {
		if events[i].Type == matcher.EvFill && events[i].LeavesQty == 0 {
			target = &events[i]
			break
		}
	}
	if target == nil {
		t.Fatal("no filled order in the fixture")
	}
	cases := []struct {
		name   string
		filter Filter
		want   func(ev *matcher.Event) bool
	}{
		{"by_order_id", Filter{OrderIDs: map[int64]bool{target.OrderID: true}}, func(ev *matcher.Event) bool { return ev.OrderID == target.OrderID }},
		{"by_broker_and_symbol", Filter{Brokers: map[uint32]bool{2: true}, Symbols: map[uint32]bool{3: true}},
			func(ev *matcher.Event) bool { return ev.Account == 2 && ev.Symbol == 3 }},
		{"by_clordid", Filter{ClOrdIDs: map[matcher.ClOrdID]bool{target.ClOrdID: true}},
			func(ev *matcher.Event) bool { return ev.ClOrdID == target.ClOrdID || ev.OrigClOrdID == target.ClOrdID }},
		{"by_seq_range", Filter{FromSeq: 1000, ToSeq: 1999}, func(ev *matcher.Event) bool { return ev.Seq >= 1000 && ev.Seq <= 1999 }},
		{"by_time_range", Filter{FromNs: cmds[2000].TimeNs, ToNs: cmds[2999].TimeNs},
			func(ev *matcher.Event) bool { return ev.TimeNs >= cmds[2000].TimeNs && ev.TimeNs <= cmds[2999].TimeNs }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []int64
			for i := range events {
				if tc.want(&events[i]) {
					want = append(want, events[i].ExecID)
				}
			}
			var got []int64
			cmdSeqs := map[int64]bool{}
			for _, r := range trailJSON(t, TrailOptions{Dir: dir, Venue: v, Filter: tc.filter}) {
				seq := int64(r["seq"].(float64))
				if r["row"] == "command" {
					cmdSeqs[seq] = true
					continue
				}
				if !cmdSeqs[seq] {
					t.Fatalf("event of seq %d without its command row", seq)
				}
				id, _ := strconv.ParseInt(r["exec_id"].(string), 10, 64)
				if id == 0 { // a cancel reject carries no exec id: derive it
					id = seq * matcher.ExecIDStride
				}
				got = append(got, id)
			}
			if len(want) == 0 || len(got) != len(want) {
				t.Fatalf("got %d events, want %d", len(got), len(want))
			}
			for i := range want {
				if want[i]/matcher.ExecIDStride != got[i]/matcher.ExecIDStride {
					t.Fatalf("event %d: seq %d, want %d", i, got[i]/matcher.ExecIDStride, want[i]/matcher.ExecIDStride)
				}
			}
		})
	}
}

func TestVerifyCleanJournal(t *testing.T) {
	dir, cmds, v := fixture(t)
	r, err := Verify(VerifyOptions{Dir: dir, Venue: v})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("problems: %v", r.Problems)
	}
	events, _ := applyAll(t, v, v.Partitions, cmds)
	if r.Records != int64(len(cmds)) || r.FirstSeq != 1 || r.LastSeq != int64(len(cmds)) || r.Events != int64(len(events)) {
		t.Fatalf("report: %d records %d..%d, %d events; want %d, %d events", r.Records, r.FirstSeq, r.LastSeq, r.Events, len(cmds), len(events))
	}
	if r.FirstNs != cmds[0].TimeNs || r.LastNs != cmds[len(cmds)-1].TimeNs || len(r.Symbols) != 4 || len(r.Brokers) != 5 {
		t.Fatalf("report: times %d..%d, %d symbols, %d brokers", r.FirstNs, r.LastNs, len(r.Symbols), len(r.Brokers))
	}
	if r.Segments < 3 {
		t.Fatalf("fixture should span several segments, has %d", r.Segments)
	}
	var out bytes.Buffer
	r.Print(&out, v)
	for _, want := range []string{"verify: OK", "records      seqs 1..6000", "BROKER05", "AMZN", "problems     none"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

// writeSnapshot stores the node snapshot of cmds[:seq] beside the journal,
// as the node does at a checkpoint.
func writeSnapshot(t *testing.T, dir string, v *Venue, p int, cmds []matcher.Command, seq int64) {
	t.Helper()
	_, e := applyAll(t, v, p, cmds[:seq])
	if err := journal.WriteSnapshot(dir, seq, e.hash(), e.snapshot()); err != nil {
		t.Fatal(err)
	}
}

// TestFromSnapshotGivesTheSameAnswers: trails, books and verification
// started from a snapshot equal those replayed from seq 1.
func TestFromSnapshotGivesTheSameAnswers(t *testing.T) {
	dir, cmds, v := fixture(t)
	for _, seq := range []int64{1500, 3000, 4500} {
		writeSnapshot(t, dir, v, v.Partitions, cmds, seq)
	}
	for _, f := range []Filter{{FromSeq: 3001}, {FromSeq: 4000, ToSeq: 5000}, {FromSeq: 5000, Brokers: map[uint32]bool{3: true}}} {
		var a, b bytes.Buffer
		stA, err := Trail(&a, TrailOptions{Dir: dir, Venue: v, Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		stB, err := Trail(&b, TrailOptions{Dir: dir, Venue: v, Filter: f, FromSnapshot: true})
		if err != nil {
			t.Fatal(err)
		}
		if stB.Snapshot == 0 || stB.FromSeq != stB.Snapshot+1 || stA.Snapshot != 0 {
			t.Fatalf("filter %+v: snapshot use: from the beginning %+v, from a snapshot %+v", f, stA, stB)
		}
		if a.Len() < 1000 || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("filter %+v: trails differ (%d and %d bytes)", f, a.Len(), b.Len())
		}
	}
	for _, m := range []Moment{{AtSeq: 1500}, {AtSeq: 3700}, {AtNs: cmds[5200].TimeNs}, {}} {
		for sym := uint32(1); sym <= 4; sym++ {
			m.Dir, m.Venue = dir, v
			at := BookOptions{Moment: m, Symbol: sym}
			a, err := BookAt(at)
			if err != nil {
				t.Fatal(err)
			}
			at.FromSnapshot = true
			b, err := BookAt(at)
			at.FromSnapshot = false
			if err != nil {
				t.Fatal(err)
			}
			var ta, tb bytes.Buffer
			a.WriteText(&ta, v, 0)
			b.WriteText(&tb, v, 0)
			if ta.String() != tb.String() || len(a.Bids)+len(a.Asks) == 0 {
				t.Fatalf("book %d at %+v differs:\n%s\nfrom a snapshot:\n%s", sym, at, ta.String(), tb.String())
			}
		}
	}
	for _, fromSnap := range []bool{false, true} {
		r, err := Verify(VerifyOptions{Dir: dir, Venue: v, FromSnapshot: fromSnap})
		if err != nil {
			t.Fatal(err)
		}
		wantOK := 3
		if fromSnap {
			wantOK = 2 // the one it starts from is not compared with itself
		}
		if !r.OK() || r.SnapshotsOK != wantOK {
			t.Fatalf("verify (from snapshot %v): %d snapshots equal, problems %v", fromSnap, r.SnapshotsOK, r.Problems)
		}
	}
}

func TestBookAgreesWithTheEngine(t *testing.T) {
	dir, cmds, v := fixture(t)
	seq := int64(4321)
	_, e := applyAll(t, v, v.Partitions, cmds[:seq])
	for sym := uint32(1); sym <= 4; sym++ {
		bk, err := BookAt(BookOptions{Moment: Moment{Dir: dir, Venue: v, AtSeq: seq}, Symbol: sym})
		if err != nil {
			t.Fatal(err)
		}
		top := e.engineOf(sym).Top(sym)
		if len(bk.Bids) == 0 || len(bk.Asks) == 0 {
			t.Fatalf("symbol %d: empty side in the fixture", sym)
		}
		if bk.Bids[0].Price != top.BidPx || bk.Bids[0].Qty != top.BidQty || bk.Asks[0].Price != top.AskPx || bk.Asks[0].Qty != top.AskQty {
			t.Fatalf("symbol %d: best levels %+v / %+v, engine top %+v", sym, bk.Bids[0], bk.Asks[0], top)
		}
		for i := 1; i < len(bk.Bids); i++ {
			if bk.Bids[i].Price >= bk.Bids[i-1].Price {
				t.Fatalf("bids out of order at level %d", i)
			}
		}
		for i := 1; i < len(bk.Asks); i++ {
			if bk.Asks[i].Price <= bk.Asks[i-1].Price {
				t.Fatalf("asks out of order at level %d", i)
			}
		}
		if bk.Seq != seq || bk.TimeNs != cmds[seq-1].TimeNs {
			t.Fatalf("book at seq %d (time %d), want %d", bk.Seq, bk.TimeNs, seq)
		}
	}
}

// TestParallelReplayGivesTheSameAnswers: partitions replayed on their own
// goroutines (the choice on machines with cores to spare) give the trail,
// books and verification of the one-goroutine replay, snapshots and bounds
// included.
func TestParallelReplayGivesTheSameAnswers(t *testing.T) {
	dir, cmds, v := fixture(t)
	writeSnapshot(t, dir, v, v.Partitions, cmds, 2222)
	answers := func(parallel bool) string {
		defer func(f func(int) bool) { parallelReplay = f }(parallelReplay)
		parallelReplay = func(int) bool { return parallel }
		var out bytes.Buffer
		for _, f := range []Filter{{}, {FromSeq: 3000, ToSeq: 3500}} {
			if _, err := Trail(&out, TrailOptions{Dir: dir, Venue: v, Filter: f, Format: "json"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, at := range []int64{1, 1023, 1024, 1025, 5999} {
			bk, err := BookAt(BookOptions{Moment: Moment{Dir: dir, Venue: v, AtSeq: at, FromSnapshot: at > 2222}, Symbol: 2})
			if err != nil {
				t.Fatal(err)
			}
			bk.WriteText(&out, v, 0)
		}
		r, err := Verify(VerifyOptions{Dir: dir, Venue: v})
		if err != nil || !r.OK() || r.SnapshotsOK != 1 {
			t.Fatalf("verify (parallel %v): %v %+v", parallel, err, r.Problems)
		}
		r.Elapsed = 0
		r.Print(&out, v)
		return out.String()
	}
	serial, parallel := answers(false), answers(true)
	if serial != parallel {
		t.Fatalf("parallel replay differs (%d and %d bytes of answers)", len(serial), len(parallel))
	}
}

// TestParallelReplayStopsAtDamage: the parallel pipeline reports damage like
// the serial one, and every goroutine ends.
func TestParallelReplayStopsAtDamage(t *testing.T) {
	dir, _, v := fixture(t)
	segs := segmentFiles(t, dir)
	b, _ := os.ReadFile(segs[1])
	b[24+100*recordBytes+30] ^= 1
	os.WriteFile(segs[1], b, 0o644)
	var outs []string
	for _, parallel := range []bool{false, true} {
		func() {
			defer func(f func(int) bool) { parallelReplay = f }(parallelReplay)
			parallelReplay = func(int) bool { return parallel }
			r, err := Verify(VerifyOptions{Dir: dir, Venue: v})
			if err != nil || r.OK() || r.Problems[0].Seq == 0 {
				t.Fatalf("parallel %v: %v %+v", parallel, err, r)
			}
			r.Elapsed = 0
			var out bytes.Buffer
			r.Print(&out, v)
			_, terr := Trail(io.Discard, TrailOptions{Dir: dir, Venue: v})
			outs = append(outs, out.String()+fmt.Sprint(terr))
		}()
	}
	if outs[0] != outs[1] {
		t.Fatalf("serial and parallel differ:\n%s\n%s", outs[0], outs[1])
	}
}
