package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// The golden journal in testdata/golden-journal was written by the code of
// main at 2243715, before the control records (checkpoint hash, mass-cancel
// scope) got their typed encoders, with
//
//	RINGEX_WRITE_GOLDEN=1 go test -run TestGoldenJournal ./audit/
//
// and is never rewritten: it is what an old journal looks like.
// testdata/golden-journal.json holds what that code replayed from it, and
// testdata/golden-journal.md says how it was made, for a reader of the folder.
const goldenDir = "testdata/golden-journal"

// golden is what replaying the golden journal gave when it was written.
type golden struct {
	Records       int64  `json:"records"`
	Partitions    int    `json:"partitions"`
	Checkpoints   int64  `json:"checkpoints"`
	StateHash     string `json:"stateHash"`     // matcher.Partitions.Hash after the last record, %016x
	TrailSHA256   string `json:"trailSHA256"`   // of Trail's CSV of the whole journal
	TrailRows     int64  `json:"trailRows"`     //
	EventsReplay  int64  `json:"eventsReplay"`  // events Trail replayed
	MassCancels   int64  `json:"massCancels"`   // mass-cancel records (cancel-on-disconnect and broker)
	CheckpointsOK int64  `json:"checkpointsOK"` // Verify recomputed and equal
}

// goldenCommands is the golden journal's content: a seeded load of two
// trading days on 4 symbols and 4 brokers, with the mass cancels the
// gateway and node journal (cancel-on-disconnect: Day scope, no report;
// a broker's OrderMassCancelRequest for one symbol and for all, split by
// the node into one record per symbol), and checkpoints taken with 2
// partitions, each hash record two commands after its checkpoint.
func goldenCommands(t *testing.T, v *Venue) []matcher.Command {
	t.Helper()
	g := newLoadGen(16, 4, 4)
	g.dayLen = 700
	var cmds []matcher.Command
	for i := range 1500 {
		cmds = append(cmds, g.next())
		switch i {
		case 300, 1100: // broker 2 disconnects: cancel-on-disconnect, every symbol
			for s := range uint32(4) {
				cmds = append(cmds, matcher.MassCancel{Account: 2, Symbol: s + 1, Scope: matcher.ScopeDayOrders, Origin: matcher.OriginCancelOnDisconnect}.Command())
			}
		case 500: // broker 3 cancels everything in symbol 2 (MassCancelRequestType 1)
			id, _ := matcher.MakeClOrdID("MCS-500")
			cmds = append(cmds, matcher.MassCancel{Account: 3, Symbol: 2, Scope: matcher.ScopeAllOrders, Report: true, RequestType: 1, ClOrdID: id, Origin: matcher.OriginBroker}.Command())
		case 900: // broker 1 cancels everything (MassCancelRequestType 7)
			id, _ := matcher.MakeClOrdID("MCA-900")
			for s := range uint32(4) {
				cmds = append(cmds, matcher.MassCancel{Account: 1, Symbol: s + 1, Scope: matcher.ScopeAllOrders, Report: true, RequestType: 7, ClOrdID: id, Origin: matcher.OriginBroker}.Command())
			}
		}
	}
	at := map[int64]bool{250: true, 650: true, 1000: true, 1450: true}
	return withCheckpoints(t, v, 2, cmds, at, nil)
}

// TestGoldenJournal: a journal written before the control records had
// typed encoders replays as it did then: every record decodes and encodes
// again to the same bytes, Verify recomputes every checkpoint hash, and the
// trail and the final state hash are the same.
func TestGoldenJournal(t *testing.T) {
	v := testVenue(t)
	if os.Getenv("RINGEX_WRITE_GOLDEN") != "" {
		writeGolden(t, v)
	}
	var want golden
	b, err := os.ReadFile(goldenDir + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s.json: %v", goldenDir, err)
	}
	sameBytesAgain(t, goldenDir)
	got := replayGolden(t, v, goldenDir, want.Partitions)
	if got != want {
		t.Fatalf("the golden journal replays to\n%+v\nwhen it was written it replayed to\n%+v", got, want)
	}
}

// replayGolden measures what replaying the journal in dir gives.
func replayGolden(t *testing.T, v *Venue, dir string, p int) golden {
	t.Helper()
	gv := *v
	gv.Partitions = p
	r, err := Verify(VerifyOptions{Dir: dir, Venue: &gv})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("verify %s: %v", dir, r.Problems)
	}
	var csv bytes.Buffer
	st, err := Trail(&csv, TrailOptions{Dir: dir, Venue: &gv})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(csv.Bytes())
	cmds := readCommands(t, dir)
	_, e := applyAll(t, &gv, p, cmds)
	out := golden{Records: r.Records, Partitions: p, Checkpoints: r.Checkpoints, CheckpointsOK: r.CheckpointsOK,
		StateHash: hex.EncodeToString(be64(e.hash())), TrailSHA256: hex.EncodeToString(sum[:]), TrailRows: st.Rows, EventsReplay: st.Events}
	for i := range cmds {
		if cmds[i].Kind == matcher.KindMassCancel {
			out.MassCancels++
		}
	}
	return out
}

func be64(x uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(x >> (56 - 8*i))
	}
	return b
}

// sameBytesAgain checks that every record of the journal in dir decodes
// and encodes again to its bytes, its control records built again from
// their typed form (matcher.CheckpointHash, matcher.MassCancel).
func sameBytesAgain(t *testing.T, dir string) {
	t.Helper()
	var buf [matcher.CommandSize]byte
	control := 0
	err := journal.Read(dir, 1, func(seq int64, rec []byte) error {
		var c matcher.Command
		if err := c.Decode(rec); err != nil {
			return err
		}
		again := c
		if h, ok := matcher.CheckpointHashOf(&c); ok {
			again, control = h.Command(), control+1
		}
		if m, ok := matcher.MassCancelOf(&c); ok {
			again, control = m.Command(), control+1
		}
		again.Seq, again.TimeNs = c.Seq, c.TimeNs
		if b := again.Encode(buf[:]); !bytes.Equal(b, rec) {
			t.Errorf("record %d (%+v) encodes again as %x, the journal holds %x", seq, c, b, rec)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if control == 0 {
		t.Fatal("the golden journal holds no control records")
	}
}

// readCommands decodes every record of the journal in dir.
func readCommands(t *testing.T, dir string) []matcher.Command {
	t.Helper()
	var cmds []matcher.Command
	err := journal.Read(dir, 1, func(seq int64, rec []byte) error {
		var c matcher.Command
		if err := c.Decode(rec); err != nil {
			return err
		}
		cmds = append(cmds, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cmds
}

// writeGolden writes the golden journal and what it replays to. Run once,
// by the code before the typed control records (see goldenDir).
func writeGolden(t *testing.T, v *Venue) {
	if err := os.RemoveAll(goldenDir); err != nil {
		t.Fatal(err)
	}
	writeJournal(t, goldenDir, goldenCommands(t, v), 64<<10)
	if err := os.Remove(filepath.Join(goldenDir, "LOCK")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	g := replayGolden(t, v, goldenDir, 2)
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenDir+".json", append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
