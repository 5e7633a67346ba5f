package feed

import (
	"strings"
	"testing"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// TestRecoveryRefusesBadRequests: a request the service cannot serve gets
// an answer saying why, and the connection goes on serving.
func TestRecoveryRefusesBadRequests(t *testing.T) {
	x := newExchange(t, 11, 1)
	for range 50 {
		x.submit(x.randomCommand())
	}
	c, err := Dial(x.startServer(16, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	none := func(*Message) error { return nil }
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"retransmit_nothing", func() error { _, err := c.Retransmit(1, 0, none); return err }, "want seq >= 1 and 1 to"},
		{"retransmit_from_seq_0", func() error { _, err := c.Retransmit(0, 5, none); return err }, "want seq >= 1"},
		{"retransmit_too_many", func() error { _, err := c.Retransmit(1, RetransmitMax+1, none); return err }, "want seq >= 1 and 1 to"},
		{"join_without_a_feed", func() error { return c.Join(4000) }, "sends no UDP feed"},
		{"unknown_kind", func() error {
			if err := c.request('Q', 0, 0); err != nil {
				return err
			}
			_, err := c.answer(none)
			return err
		}, "unknown request kind 81"},
	} {
		if err := tc.do(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	_, next := x.tr.Next()
	var got uint64
	end, err := c.Retransmit(next-3, 10, func(*Message) error { got++; return nil })
	if err != nil || got != 3 || end != next {
		t.Fatalf("a range past the end: %d messages, ending at %d (want 3, %d): %v", got, end, next, err)
	}
}

// TestReplayRefusesAJournalWithoutItsStart: the feed is numbered from the
// journal's seq 1; a journal whose first records are gone cannot give it,
// and says so.
func TestReplayRefusesAJournalWithoutItsStart(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(journal.Options{Dir: dir, FirstSeq: 10, Sync: journal.SyncNone, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	r, err := NewReplayer(dir, testEngineConfig(matcher.STPNone), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Advance(nil); err == nil || !strings.Contains(err.Error(), "begins at seq 10") {
		t.Fatalf("Advance: %v, want an error saying the journal begins at seq 10", err)
	}
}
