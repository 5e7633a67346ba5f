package matcher

import (
	"strings"
	"testing"
)

// TestCancelNamingAFirmAccount: a cancel's Owner (the firm's account it
// names) rides in the upper half of its Account field, zero as before when
// it names none; a cancel naming another account than the order's is
// refused as an unknown order and changes nothing, one naming the
// order's or none cancels it.
func TestCancelNamingAFirmAccount(t *testing.T) {
	var b [CommandSize]byte
	c := Command{Seq: 9, Kind: KindCancel, Symbol: 1, Account: 2, Owner: FirstNamedAccount + 1, ClOrdID: id("C"), OrigClOrdID: id("O")}
	c.Encode(b[:])
	var d Command
	if err := d.Decode(b[:]); err != nil || d != c {
		t.Fatalf("decode: %v\n got  %+v\n want %+v", err, d, c)
	}
	c.Owner = 0
	c.Encode(b[:])
	if b[46] != 0 || b[47] != 0 {
		t.Fatalf("no owner: bytes 46, 47 = %#x %#x, want 0", b[46], b[47])
	}

	const n1, n2 = FirstNamedAccount, FirstNamedAccount + 1
	for _, tc := range []struct {
		name      string
		owner     uint32
		cancelled bool
	}{
		{"another_account_refused", n2, false},
		{"the_orders_account_cancels", n1, true},
		{"no_account_cancels", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(Config{Symbols: []SymbolSpec{{ID: 1}}})
			evs := e.Apply(&Command{Seq: 1, Kind: KindNew, Account: 1, Owner: n1, Symbol: 1, Side: Sell, Type: Limit, TIF: GTC, Qty: 5, Price: 100, ClOrdID: id("O")}, nil)
			if len(evs) != 1 || evs[0].Type != EvAccepted {
				t.Fatalf("new:%s", describeAll(evs))
			}
			evs = e.Apply(&Command{Seq: 2, Kind: KindCancel, Account: 1, Owner: tc.owner, Symbol: 1, ClOrdID: id("C"), OrigClOrdID: id("O")}, nil)
			switch {
			case tc.cancelled && (len(evs) != 1 || evs[0].Type != EvCancelled):
				t.Fatalf("want it cancelled:%s", describeAll(evs))
			case !tc.cancelled && (len(evs) != 1 || evs[0].Type != EvCancelRejected || evs[0].Reason != ReasonUnknownOrder || e.RestingOrders() != 1):
				t.Fatalf("want a cancel reject, unknown order, the order resting (%d):%s", e.RestingOrders(), describeAll(evs))
			}
		})
	}
}

// TestValidateFirms: a config naming an unknown scope or mode, a name in
// two firms or one with two modes is refused, and the error says which.
func TestValidateFirms(t *testing.T) {
	syms := []SymbolSpec{{ID: 1}}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown_scope", Config{Symbols: syms, Firms: []FirmSTP{{Scope: 2, Names: []string{"A"}}}}, "firm 1: scope 2 unknown"},
		{"account_in_two_firms", Config{Symbols: syms, Firms: []FirmSTP{{Names: []string{"A"}}, {Names: []string{"A"}}}}, `firm 2: account "A" is in two firms`},
		{"unknown_mode", Config{Symbols: syms, NamedSTP: []NamedSTP{{Name: "A", Mode: STPDecrement + 1}}}, `account "A": mode 5 unknown`},
		{"mode_listed_twice", Config{Symbols: syms, NamedSTP: []NamedSTP{{Name: "A"}, {Name: "A"}}}, `account "A": listed twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}
