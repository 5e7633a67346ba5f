package feed

import (
	"slices"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// TestLostRecordMarkersBeginOneSession: a run of lost-record markers (a
// checkpoint hash naming no checkpoint) begins one new session, with a
// records-lost system event; a checkpoint hash naming a checkpoint, or a
// marker after other commands, is no run's continuation.
func TestLostRecordMarkersBeginOneSession(t *testing.T) {
	tr := NewTranslator(16)
	marker := matcher.CheckpointHash{}.Command()
	hash := matcher.CheckpointHash{Checkpoint: 1, Hash: 7, Partitions: 2}.Command()
	var out []Message
	for _, c := range []matcher.Command{hash, marker, marker, marker, hash, marker} {
		out = tr.Command(&c, nil, out)
	}
	var lost []Message
	for _, m := range out {
		if m.Type == TypeSystem && m.Code == CodeRecordsLost {
			lost = append(lost, m)
		}
	}
	if len(lost) != 2 || lost[0].Session != 2 || lost[1].Session != 3 {
		t.Fatalf("records-lost events %v, want one for each of the two runs, in sessions 2 and 3", lost)
	}
	if s, _ := tr.Next(); s != 3 {
		t.Fatalf("session %d after two runs of markers, want 3", s)
	}
}

// sessionRecoverer answers a snapshot of an empty book in session 2,
// resuming at seq 6, and retransmits nothing.
type sessionRecoverer struct{ snapshots int }

func (r *sessionRecoverer) Snapshot(fn func(*Message) error) (uint64, error) {
	r.snapshots++
	if err := fn(&Message{Type: TypeSystem, Code: CodeSnapshotStart, Session: 2, Match: 6}); err != nil {
		return 0, err
	}
	return 6, fn(&Message{Type: TypeSystem, Code: CodeSnapshotEnd, Session: 2, Match: 6})
}

func (r *sessionRecoverer) Retransmit(from uint64, _ uint32, _ func(*Message) error) (uint64, error) {
	return from, nil
}

// TestReceiverTakesASnapshotWhenALaterSessionRepeatsItsSeqs: a receiver
// that had seqs 1..9 of session 1 sees seq 5 of session 2 (records were
// lost and the feed numbered again from there): not a duplicate, but a
// book it does not hold; it takes a new snapshot, and goes on from it.
func TestReceiverTakesASnapshotWhenALaterSessionRepeatsItsSeqs(t *testing.T) {
	rec := &sessionRecoverer{}
	r := &Receiver{Book: NewBook(), Rec: rec, next: 10, session: 1}
	if err := r.Message(&Message{Type: TypeSystem, Code: CodeRecordsLost, Session: 2, Seq: 5}); err != nil {
		t.Fatal(err)
	}
	if rec.snapshots != 1 || r.next != 6 || r.session != 2 {
		t.Fatalf("snapshots %d, next %d, session %d: want a new snapshot of session 2 resuming at 6", rec.snapshots, r.next, r.session)
	}
	add := Message{Type: TypeAdd, Session: 2, Seq: 6, Symbol: 1, Side: SideBuy, OrderID: 1, Qty: 1, Price: 100}
	if err := r.Message(&add); err != nil || r.next != 7 || r.Book.Len() != 1 {
		t.Fatalf("after the snapshot, seq 6: err %v, next %d, %d orders", err, r.next, r.Book.Len())
	}
}

// TestTermMarkersEachBeginASession: the session-break marker a node
// journals where a term begins carries the term's epoch; each begins a
// session of its own, even right after a run of lost-record markers or
// another term's marker (a promotion that lost everything after the
// last one), while a run of lost-record markers stays one break.
func TestTermMarkersEachBeginASession(t *testing.T) {
	tr := NewTranslator(16)
	lost := matcher.CheckpointHash{}.Command()
	term := func(epoch uint64) matcher.Command { return matcher.CheckpointHash{Hash: epoch}.Command() }
	var out []Message
	for _, c := range []matcher.Command{lost, lost, term(3), term(4), term(4), lost} {
		out = tr.Command(&c, nil, out)
	}
	var sessions []uint32
	for _, m := range out {
		if m.Type == TypeSystem && m.Code == CodeRecordsLost {
			sessions = append(sessions, m.Session)
		}
	}
	if !slices.Equal(sessions, []uint32{2, 3, 4, 5}) {
		t.Fatalf("records-lost events in sessions %v; want 2 (the lost run), 3 and 4 (each term), 5 (lost after a term)", sessions)
	}
}
