package gateway

import (
	"slices"
	"strings"
	"testing"

	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
)

// TestSessionsByBoundAccount: a session's account is the id it is given
// (Session.Account: the journal's binding), not its place in the list.
// The tables by account have a hole where no configured session has the
// id (a removed session's, kept reserved), and nothing that walks them
// trips on one: a report to such an account goes nowhere, a "*" drop copy
// copies only sessions, the marks a standby hears are 0 there.
func TestSessionsByBoundAccount(t *testing.T) {
	g, err := New(Options{Listen: "127.0.0.1:0", SenderCompID: "X", StoreDir: t.TempDir(), Log: logtest.New(t),
		Sessions: []Session{{Account: 5, BeginString: "FIX.4.4", TargetCompID: "E"}, {Account: 2, BeginString: "FIX.4.4", TargetCompID: "B"},
			{Account: 7, BeginString: "FIX.4.4", TargetCompID: "DC", DropCopyOf: []string{"*"}}},
		Symbols: []Symbol{{Name: "S1", Tick: ScaleOf(1), Lot: ScaleOf(1)}}}, noSubmit{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	if len(g.accounts) != 8 || g.accounts[5].session.TargetCompID() != "E" || g.accounts[2].session.TargetCompID() != "B" {
		t.Fatalf("accounts table of %d, E at 5 and B at 2 wanted", len(g.accounts))
	}
	for _, a := range []int{1, 3, 4, 6} {
		if g.accounts[a].session != nil || len(g.accounts[a].copies) != 0 {
			t.Errorf("account %d, which no session has: %+v", a, g.accounts[a].session)
		}
	}
	if !slices.Equal(g.accounts[5].copies, []uint32{7}) || !slices.Equal(g.accounts[2].copies, []uint32{7}) {
		t.Errorf("\"*\" copies: E %v, B %v; want [7] each", g.accounts[5].copies, g.accounts[2].copies)
	}
	ev := fillEvent
	for _, a := range []uint32{1, 3, 5, 9} {
		ev.Seq, ev.Account = int64(a), a
		g.Publish(&ev)
	}
	if c := g.accounts[5].marks; c.seq != 5 {
		t.Errorf("E's marks at %+v, want its event at seq 5 counted", c)
	}
	if c := g.accounts[3].marks; c.seq != 0 {
		t.Errorf("account 3 (no session) counted an event: %+v", c)
	}
	if d := g.Delivered(nil); len(d) != 8 || d[1] != 0 || d[3] != 0 {
		t.Errorf("Delivered %v: want 8 marks, 0 where no session is", d)
	}
	if m := g.StoredMarks(); len(m) != 8 || m[1] != -1 {
		t.Errorf("StoredMarks %v: want -1 where no session is", m)
	}
	g.StoredThrough(10)
	g.InitStoredMarks()
	g.ResendOnLogon([]matcher.Event{{Seq: 11, Account: 3, Type: matcher.EvFill}}, nil, 10, nil)
	if len(g.accounts[3].pending) != 0 {
		t.Errorf("a report to account 3, which no session has, is pending: %v", g.accounts[3].pending)
	}
	var names []string
	for _, s := range g.Sessions() {
		names = append(names, s.TargetCompID)
	}
	if !slices.Equal(names, []string{"E", "B", "DC"}) {
		t.Errorf("Sessions() lists %v, want the config's order E, B, DC", names)
	}

	_, err = New(Options{Listen: "127.0.0.1:0", SenderCompID: "X",
		Sessions: []Session{{BeginString: "FIX.4.4", TargetCompID: "A"}, {Account: 1, BeginString: "FIX.4.4", TargetCompID: "B"}}}, noSubmit{})
	if err == nil || !strings.Contains(err.Error(), "account 1 is A's too") {
		t.Errorf("two sessions on account 1: %v; want an error naming both", err)
	}
}

// TestAccountNameTable: New builds the table a report's Account (1) comes
// from, by named account id over every session's accounts, and refuses a
// config in which two sessions call one id by two names.
func TestAccountNameTable(t *testing.T) {
	firm := map[string]uint32{"ACC-A": 1024, "ACC-B": 1030}
	g, err := New(Options{Listen: "127.0.0.1:0", SenderCompID: "X", Sessions: []Session{
		{BeginString: "FIX.4.4", TargetCompID: "A", Accounts: firm},
		{BeginString: "FIX.4.4", TargetCompID: "B", Accounts: firm},
		{BeginString: "FIX.4.4", TargetCompID: "C"},
	}}, noSubmit{})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.names) != 1031 || g.names[1024] != "ACC-A" || g.names[1030] != "ACC-B" || g.names[1025] != "" {
		t.Fatalf("names: %d entries, 1024 %q, 1030 %q, 1025 %q; want 1031, ACC-A, ACC-B, none", len(g.names), g.names[1024], g.names[1030], g.names[1025])
	}
	_, err = New(Options{Listen: "127.0.0.1:0", SenderCompID: "X", Sessions: []Session{
		{BeginString: "FIX.4.4", TargetCompID: "A", Accounts: map[string]uint32{"ACC-A": 1024}},
		{BeginString: "FIX.4.4", TargetCompID: "B", Accounts: map[string]uint32{"OTHER": 1024}},
	}}, noSubmit{})
	if err == nil || !strings.Contains(err.Error(), "account id 1024 is named both") {
		t.Errorf("one id, two names: %v; want an error naming both", err)
	}
}
