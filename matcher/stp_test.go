package matcher

import "testing"

// TestCommandSTPEncoding checks that an order's own self-trade prevention
// mode rides in the high nibble of the Type byte of a KindNew or a
// KindReplace only: with STP 0 the record is byte for byte what it was
// before the field existed.
func TestCommandSTPEncoding(t *testing.T) {
	var b [CommandSize]byte
	c := Command{Seq: 7, Kind: KindNew, Side: Buy, Type: Limit, TIF: GTC, Qty: 5, Price: 100, Symbol: 1, Account: 2}
	c.Encode(b[:])
	if b[50] != byte(Limit) {
		t.Fatalf("STP 0: Type byte %#x, want %#x", b[50], byte(Limit))
	}
	c.STP = uint8(STPDecrement) + 1
	c.Encode(b[:])
	if b[50] != byte(Limit)|5<<4 {
		t.Fatalf("STP 5: Type byte %#x", b[50])
	}
	var d Command
	if err := d.Decode(b[:]); err != nil || d != c {
		t.Fatalf("decode: %v\n got  %+v\n want %+v", err, d, c)
	}
	c.Kind, c.STP = KindReplace, 3 // a replace carries it too
	c.Encode(b[:])
	if b[50] != byte(Limit)|3<<4 {
		t.Fatalf("replace: Type byte %#x, want %#x", b[50], byte(Limit)|3<<4)
	}
	if err := d.Decode(b[:]); err != nil || d != c {
		t.Fatalf("decode replace: %v\n got  %+v\n want %+v", err, d, c)
	}
	c.Kind = KindCancel // a cancel does not: its Type byte is Type alone
	c.Encode(b[:])
	if b[50] != byte(Limit) {
		t.Fatalf("cancel: Type byte %#x, want %#x", b[50], byte(Limit))
	}
}

// TestCommandOwnerAndGroupEncoding checks that a new order's trading
// account (Owner) rides in the upper half of the Account field and its
// STP group in the first bytes of OrigClOrdID, both zero before the fields
// existed, so an order without them is encoded as before.
func TestCommandOwnerAndGroupEncoding(t *testing.T) {
	var plain, b [CommandSize]byte
	c := Command{Seq: 7, Kind: KindNew, Side: Buy, Type: Limit, Qty: 5, Price: 100, Symbol: 1, Account: 2}
	c.Encode(plain[:])
	if plain[46] != 0 || plain[47] != 0 || plain[76] != 0 {
		t.Fatalf("no owner, no group: bytes 46, 47, 76 = %#x %#x %#x, want 0", plain[46], plain[47], plain[76])
	}
	c.Owner, c.STPGroup = 1025, 77
	c.Encode(b[:])
	if b[46] != 1 || b[47] != 4 || b[76] != 77 || b[44] != 2 {
		t.Fatalf("owner 1025, group 77: bytes %v", b[44:80])
	}
	var d Command
	if err := d.Decode(b[:]); err != nil || d != c || d.OwnerID() != 1025 {
		t.Fatalf("decode: %v\n got  %+v\n want %+v", err, d, c)
	}
	c.Kind, c.STPGroup = KindReplace, 0
	c.OrigClOrdID, _ = MakeClOrdID("OLD")
	c.Encode(b[:])
	if err := d.Decode(b[:]); err != nil || d != c {
		t.Fatalf("decode replace: %v\n got  %+v\n want %+v", err, d, c)
	}
}

// TestFirmSelfTradePrevention: which pairs of orders are one party, by
// firm, scope and STP group (SelfMatchPreventionID), and a replace's own
// mode. Sessions 1 and 2 and account N1 are firm F's; session 3 is in no
// firm. The venue's mode is cancelNewest unless a case says otherwise.
func TestFirmSelfTradePrevention(t *testing.T) {
	const n1 = FirstNamedAccount
	type order struct {
		account, owner, group uint32
		stp                   uint8
	}
	for _, tc := range []struct {
		name           string
		scope          STPScope
		venue          STPMode
		resting, taker order
		trades         bool
	}{
		{"same_account_prevented", STPScopeAccount, STPCancelIncoming, order{1, 0, 0, 0}, order{1, 0, 0, 0}, false},
		{"firm_account_from_two_sessions_prevented", STPScopeAccount, STPCancelIncoming, order{1, n1, 0, 0}, order{2, n1, 0, 0}, false},
		{"two_accounts_of_a_firm_trade_with_scope_account", STPScopeAccount, STPCancelIncoming, order{1, 0, 0, 0}, order{2, 0, 0, 0}, true},
		{"two_accounts_of_a_firm_prevented_with_scope_firm", STPScopeFirm, STPCancelIncoming, order{1, 0, 0, 0}, order{2, n1, 0, 0}, false},
		{"scope_firm_ends_at_the_firm", STPScopeFirm, STPCancelIncoming, order{1, 0, 0, 0}, order{3, 0, 0, 0}, true},
		{"same_group_in_the_firm_prevented", STPScopeAccount, STPCancelIncoming, order{1, 0, 7, 0}, order{2, 0, 7, 0}, false},
		{"same_group_prevented_even_on_a_venue_without_stp", STPScopeAccount, STPNone, order{1, 0, 7, 0}, order{2, n1, 7, 0}, false},
		{"different_groups_trade_even_in_one_account", STPScopeFirm, STPCancelIncoming, order{1, 0, 7, 0}, order{1, 0, 8, 0}, true},
		{"a_group_on_one_side_only_trades", STPScopeFirm, STPCancelIncoming, order{1, 0, 7, 0}, order{2, 0, 0, 0}, true},
		{"same_group_across_firms_trades", STPScopeFirm, STPCancelIncoming, order{1, 0, 7, 0}, order{3, 0, 7, 0}, true},
		{"the_orders_own_mode_none_lets_it_trade", STPScopeAccount, STPCancelIncoming, order{1, 0, 0, 0}, order{1, 0, 0, uint8(STPNone) + 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(Config{Symbols: []SymbolSpec{{ID: 1}}, STP: tc.venue,
				Firms: []FirmSTP{{Scope: tc.scope, Names: []string{"S1", "S2", "N1"}}}})
			seq := int64(0)
			apply := func(c Command) []Event {
				seq++
				c.Seq = seq
				return e.Apply(&c, nil)
			}
			for _, b := range []AccountBinding{{1, "S1"}, {2, "S2"}, {3, "S3"}, {n1, "N1"}} {
				c, _ := b.Command()
				apply(c)
			}
			r, k := tc.resting, tc.taker
			apply(Command{Kind: KindNew, Account: r.account, Owner: r.owner, STPGroup: r.group, Symbol: 1, Side: Sell, Type: Limit, Qty: 5, Price: 100, ClOrdID: id("R")})
			evs := apply(Command{Kind: KindNew, Account: k.account, Owner: k.owner, STPGroup: k.group, STP: k.stp, Symbol: 1, Side: Buy, Type: Limit, Qty: 5, Price: 100, ClOrdID: id("T")})
			traded := len(evs) > 1 && evs[1].Type == EvFill
			if traded != tc.trades {
				t.Fatalf("traded %v, want %v:%s", traded, tc.trades, describeAll(evs))
			}
		})
	}
}

// TestReplaceCarriesItsOwnSTPMode: a replace that crosses its own
// account's resting order acts by the mode it names (2964 on the
// OrderCancelReplaceRequest), not the account's; one for another trading
// account than the order's is refused as an unknown order.
func TestReplaceCarriesItsOwnSTPMode(t *testing.T) {
	e := New(Config{Symbols: []SymbolSpec{{ID: 1}}, STP: STPCancelIncoming})
	seq := int64(0)
	apply := func(c Command) []Event {
		seq++
		c.Seq = seq
		return e.Apply(&c, nil)
	}
	apply(Command{Kind: KindNew, Account: 1, Symbol: 1, Side: Sell, Type: Limit, Qty: 5, Price: 101, ClOrdID: id("S")})
	apply(Command{Kind: KindNew, Account: 1, Symbol: 1, Side: Buy, Type: Limit, Qty: 5, Price: 99, ClOrdID: id("B")})
	evs := apply(Command{Kind: KindReplace, Account: 1, Owner: FirstNamedAccount, Symbol: 1, Side: Buy, Qty: 5, Price: 101, OrigClOrdID: id("B"), ClOrdID: id("B2")})
	if len(evs) != 1 || evs[0].Type != EvCancelRejected || evs[0].Reason != ReasonUnknownOrder {
		t.Fatalf("replace for another account:%s", describeAll(evs))
	}
	evs = apply(Command{Kind: KindReplace, Account: 1, STP: uint8(STPCancelResting) + 1, Symbol: 1, Side: Buy, Qty: 5, Price: 101, OrigClOrdID: id("B"), ClOrdID: id("B3")})
	if len(evs) != 2 || evs[0].Type != EvReplaced || evs[1].Type != EvCancelled || evs[1].ClOrdID != id("S") || evs[1].Reason != ReasonSelfTrade {
		t.Fatalf("replace with cancel-resting: want the replace, then S cancelled:%s", describeAll(evs))
	}
	if top := e.Top(1); top.BidPx != 101 || top.AskPx != 0 {
		t.Fatalf("book %+v: want the replaced buy resting at 101 alone", top)
	}
}
