package risk

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// refStepper steps operator records through a fresh spot state, numbering
// them from 1.
type refStepper struct {
	t       *testing.T
	s       *State
	engines matcher.Partitions
	seq     int64
}

func newRefStepper(t *testing.T) *refStepper {
	s, err := New(testConfig(ModeSpot))
	if err != nil {
		t.Fatal(err)
	}
	return &refStepper{t: t, s: s, engines: testEngines(t, 1, matcher.STPNone)}
}

func key(s string) matcher.ClOrdID {
	k, ok := matcher.MakeClOrdID(s)
	if !ok {
		panic(s)
	}
	return k
}

func (r *refStepper) funds(withdraw bool, account uint32, amount int64, ref string) (int64, matcher.Reason) {
	r.t.Helper()
	f := matcher.Funds{Withdraw: withdraw, Account: account, Amount: amount}
	if ref != "" {
		f.Key = key(ref)
	}
	c, err := f.Command()
	if err != nil {
		r.t.Fatal(err)
	}
	return r.step(c)
}

func (r *refStepper) step(c matcher.Command) (int64, matcher.Reason) {
	r.seq++
	c.Seq = r.seq
	_, h := r.s.Step(&c, r.engines, nil)
	return r.seq, h.Reason
}

func (r *refStepper) cash(a uint32) int64 {
	b, _ := r.s.Balance(a)
	return b.Cash
}

// A keyed deposit applies once: its retry (same reference, same account)
// is refused as a repeat and moves nothing, and the state remembers the
// first one's sequence and outcome, a refusal's too. Another reference is
// another request; the same one on another account's deposit is refused
// as a reuse (a reference names one request venue-wide) and moves
// nothing. Records with no reference are never refused as repeats.
func TestOperatorRefRepeatChangesNothing(t *testing.T) {
	r := newRefStepper(t)
	first, why := r.funds(false, 1, 100, "dep-1")
	if why != matcher.ReasonNone {
		t.Fatalf("first deposit: %v", why)
	}
	if _, why := r.funds(false, 1, 100, "dep-1"); why != matcher.ReasonOperatorRepeat {
		t.Fatalf("its retry: %v, want %v", why, matcher.ReasonOperatorRepeat)
	}
	if got := r.cash(1); got != 100 {
		t.Fatalf("cash %d after a deposit and its retry, want 100", got)
	}
	if o, ok := r.s.OperatorRef(1, key("dep-1")); !ok || o.Seq != first || o.Reason != matcher.ReasonNone {
		t.Fatalf("OperatorRef(dep-1) = %+v, %v; want seq %d applied", o, ok, first)
	}
	r.funds(false, 1, 100, "dep-2")
	if _, why := r.funds(false, 2, 100, "dep-1"); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("dep-1 on another account's deposit: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
	r.funds(false, 2, 100, "dep-3")
	r.funds(false, 1, 5, "")
	r.funds(false, 1, 5, "")
	if a, b := r.cash(1), r.cash(2); a != 210 || b != 100 {
		t.Fatalf("cash %d and %d, want 210 and 100", a, b)
	}
	refused, why := r.funds(true, 1, 1000, "wd-1")
	if why != matcher.ReasonRiskFundsRefused {
		t.Fatalf("withdrawal of more than is free: %v", why)
	}
	r.funds(false, 1, 5000, "")
	if _, why := r.funds(true, 1, 1000, "wd-1"); why != matcher.ReasonOperatorRepeat {
		t.Fatalf("retry of a refused withdrawal, now that there is enough: %v, want a repeat", why)
	}
	if o, ok := r.s.OperatorRef(1, key("wd-1")); !ok || o.Seq != refused || o.Reason != matcher.ReasonRiskFundsRefused {
		t.Fatalf("OperatorRef(wd-1) = %+v, %v; want seq %d refused", o, ok, refused)
	}
	b, _ := matcher.AccountBlock{Account: 3, Key: key("blk-1")}.Command()
	if _, why := r.step(b); why != matcher.ReasonNone {
		t.Fatalf("block: %v", why)
	}
	u, _ := matcher.AccountBlock{Account: 3, Unblock: true, Key: key("blk-1")}.Command()
	if _, why := r.step(u); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("an unblock with the block's reference: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
	if bal, _ := r.s.Balance(3); !bal.Blocked {
		t.Fatal("the refused unblock unblocked the account")
	}
}

// A reference names one request: a record with the reference (and
// account) of another that asked something else (another amount, asset,
// direction or kind) is refused as a conflicting reuse, changes nothing,
// and is not remembered: the first request's retry is still its repeat,
// and the state still tells the first request's outcome and request.
func TestOperatorRefReusedForAnotherRequestIsRefused(t *testing.T) {
	r := newRefStepper(t)
	first, _ := r.funds(false, 1, 100, "ops-7")
	if _, why := r.funds(false, 1, 500, "ops-7"); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("a deposit of 500 with the ref of a deposit of 100: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
	if _, why := r.funds(true, 1, 100, "ops-7"); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("a withdrawal with the ref of a deposit: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
	inv, _ := matcher.Funds{Account: 1, Symbol: 1, Amount: 100, Key: key("ops-7")}.Command()
	if _, why := r.step(inv); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("a deposit of inventory with the ref of a cash deposit: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
	b, _ := matcher.AccountBlock{Account: 1, Key: key("ops-7")}.Command()
	if _, why := r.step(b); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("a block with the ref of a deposit: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
	if bal, _ := r.s.Balance(1); bal.Cash != 100 || bal.Blocked || bal.Inv[0] != 0 {
		t.Fatalf("after the conflicting records: %+v, want cash 100, nothing else", bal)
	}
	if _, why := r.funds(false, 1, 100, "ops-7"); why != matcher.ReasonOperatorRepeat {
		t.Fatalf("the first request's retry after them: %v, want a repeat", why)
	}
	want := RefOutcome{Seq: first, Reason: matcher.ReasonNone, Request: RefRequest{Kind: matcher.KindDeposit, Amount: 100}}
	if o, ok := r.s.OperatorRef(1, key("ops-7")); !ok || o != want {
		t.Fatalf("OperatorRef(ops-7) = %+v, %v; want %+v", o, ok, want)
	}
	restored, _ := New(testConfig(ModeSpot))
	if err := restored.Restore(r.s.Snapshot(nil)); err != nil {
		t.Fatal(err)
	}
	r.s = restored
	if _, why := r.funds(false, 1, 500, "ops-7"); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("after a restore, the deposit of 500: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
}

// Check may decide a record again (a refusal that depends on the view):
// the record's own reference is no repeat of itself.
func TestOperatorRefCheckedAgainIsNoRepeat(t *testing.T) {
	s, _ := New(testConfig(ModeSpot))
	c, _ := matcher.Funds{Withdraw: true, Account: 1, Amount: 10, Key: key("w")}.Command()
	c.Seq = 1
	for i := range 3 {
		if h := s.Check(&c); h.Reason != matcher.ReasonRiskFundsRefused {
			t.Fatalf("check %d: %v, want %v", i, h.Reason, matcher.ReasonRiskFundsRefused)
		}
	}
}

// The references are settled state: a snapshot holds them (its last
// section; a count of 0 when there is none) and a restored state refuses
// the same retries; a state that never saw one also has its version 1
// hash (LegacyHash), so checkpoint hashes of older journals still verify,
// and its version 1 snapshot restores.
func TestOperatorRefsSnapshot(t *testing.T) {
	r := newRefStepper(t)
	r.funds(false, 1, 100, "")
	plain := r.s.Snapshot(nil)
	if plain[0] != snapVersionOwnBlock || !bytes.Equal(plain[len(plain)-4:], []byte{0, 0, 0, 0}) {
		t.Fatalf("snapshot without references: version %d, ends % x; want version %d ending in a count of 0", plain[0], plain[len(plain)-4:], snapVersionOwnBlock)
	}
	dense := r.s.LegacySnapshot(nil)
	r.funds(false, 1, 100, "dep-1")
	r.funds(true, 2, 100, "wd-1")
	snap := r.s.Snapshot(nil)
	if snap[0] != snapVersionOwnBlock || len(snap) != len(plain)+2*(matcher.IDLen+4+8+1+1+4+8) {
		t.Fatalf("snapshot with two references: version %d, %d bytes; want version %d, %d bytes", snap[0], len(snap), snapVersionOwnBlock, len(plain)+2*(matcher.IDLen+4+8+1+1+4+8))
	}
	restored, _ := New(testConfig(ModeSpot))
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if again := restored.Snapshot(nil); !bytes.Equal(again, snap) || restored.Hash() != r.s.Hash() {
		t.Fatal("a restored state's snapshot differs from the one it was restored from")
	}
	r.s = restored
	if _, why := r.funds(false, 1, 100, "dep-1"); why != matcher.ReasonOperatorRepeat {
		t.Fatalf("after a restore, a retry: %v, want a repeat", why)
	}
	if o, ok := restored.OperatorRef(2, key("wd-1")); !ok || o.Reason != matcher.ReasonRiskFundsRefused {
		t.Fatalf("after a restore, OperatorRef(wd-1) = %+v, %v", o, ok)
	}
	old, _ := New(testConfig(ModeSpot))
	if err := old.Restore(plain); err != nil {
		t.Fatalf("a snapshot without references: %v", err)
	}
	if err := old.Restore(dense); err != nil {
		t.Fatalf("a version 1 snapshot: %v", err)
	}
	if _, ok := old.OperatorRef(1, key("dep-1")); ok {
		t.Fatal("a version 1 snapshot restored references")
	}
	bad := bytes.Clone(snap)
	const entry = matcher.IDLen + 4 + 8 + 1 + 1 + 4 + 8
	copy(bad[len(bad)-entry:], bad[len(bad)-2*entry:]) // the second reference repeats the first
	if err := old.Restore(bad); err == nil {
		t.Fatal("a snapshot with a reference twice restored")
	}
	bad = bytes.Clone(snap)
	bad[len(bad)-(1+4+8)] = byte(matcher.KindNew) // the last reference's request kind
	if err := old.Restore(bad); err == nil {
		t.Fatal("a snapshot with a reference for an order restored")
	}
}

// The state remembers the last MaxOperatorRefs references: a retry of an
// older one applies again, and the bound is the same after a restore.
func TestOperatorRefsBounded(t *testing.T) {
	r := newRefStepper(t)
	for i := range MaxOperatorRefs + 1 {
		if _, why := r.funds(false, 1, 1, fmt.Sprintf("d%d", i)); why != matcher.ReasonNone {
			t.Fatalf("deposit %d: %v", i, why)
		}
	}
	restored, _ := New(testConfig(ModeSpot))
	if err := restored.Restore(r.s.Snapshot(nil)); err != nil {
		t.Fatal(err)
	}
	r.s = restored
	if _, why := r.funds(false, 1, 1, "d1"); why != matcher.ReasonOperatorRepeat {
		t.Fatalf("retry of the second oldest: %v, want a repeat", why)
	}
	if _, why := r.funds(false, 1, 1, "d0"); why != matcher.ReasonNone {
		t.Fatalf("retry of the forgotten oldest: %v, want it applied", why)
	}
	if _, why := r.funds(false, 1, 1, "d1"); why != matcher.ReasonNone {
		t.Fatalf("d1, forgotten for d0's retry: %v, want it applied", why)
	}
	if _, why := r.funds(false, 1, 1, "d2"); why != matcher.ReasonNone {
		t.Fatalf("d2, forgotten for d1's: %v, want it applied", why)
	}
	if _, why := r.funds(false, 1, 1, "d4"); why != matcher.ReasonOperatorRepeat {
		t.Fatalf("d4 (d3 was forgotten for d2): %v, want a repeat", why)
	}
}

// A reference names one request venue-wide: the blocks of one firm block
// (one firm's record per member, all with the request's reference) are
// one request, so a firm's block with a firm's block's reference on
// another account is applied; an account's own block with it, an unblock
// with it, or a deposit with a deposit's reference on another account, or
// a block with a deposit's, is a conflicting reuse and changes nothing.
// The snapshot restores what decides it.
func TestOperatorRefAcrossAccounts(t *testing.T) {
	r := newRefStepper(t)
	for _, a := range []uint32{1, 2} {
		b, _ := matcher.AccountBlock{Account: a, Firm: true, Key: key("firm-1")}.Command()
		if _, why := r.step(b); why != matcher.ReasonNone {
			t.Fatalf("member %d's block with the firm block's ref: %v", a, why)
		}
	}
	u, _ := matcher.AccountBlock{Account: 3, Unblock: true, Key: key("firm-1")}.Command()
	if _, why := r.step(u); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("an unblock of another account with a block's ref: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
	own, _ := matcher.AccountBlock{Account: 3, Key: key("firm-1")}.Command()
	if _, why := r.step(own); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("another account's own block with a firm's block's ref: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
	if _, why := r.funds(false, 3, 100, "firm-1"); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("a deposit with a block's ref: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
	if _, why := r.funds(false, 1, 100, "dep-1"); why != matcher.ReasonNone {
		t.Fatalf("deposit: %v", why)
	}
	b, _ := matcher.AccountBlock{Account: 3, Key: key("dep-1")}.Command()
	if _, why := r.step(b); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("a block with a deposit's ref: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
	if _, why := r.funds(false, 2, 100, "dep-1"); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("the deposit's ref on another account's deposit: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
	if bal, _ := r.s.Balance(3); bal.Blocked || bal.Cash != 0 {
		t.Fatalf("account 3 after refused reuses: %+v; want untouched", bal)
	}
	if r.cash(2) != 0 {
		t.Fatalf("account 2 cash %d after a refused deposit, want 0", r.cash(2))
	}
	if o, ok := r.s.OperatorRefElsewhere(2, key("dep-1"), RefRequest{Kind: matcher.KindDeposit}); !ok || o.Request.Kind != matcher.KindDeposit {
		t.Fatalf("OperatorRefElsewhere(2, dep-1) = %+v, %v; want account 1's deposit", o, ok)
	}
	restored, _ := New(testConfig(ModeSpot))
	if err := restored.Restore(r.s.Snapshot(nil)); err != nil {
		t.Fatal(err)
	}
	if _, ok := restored.OperatorRefElsewhere(2, key("dep-1"), RefRequest{Kind: matcher.KindDeposit}); !ok {
		t.Fatal("after a restore, dep-1 is not known as account 1's")
	}
	if _, ok := restored.OperatorRefElsewhere(3, key("firm-1"), RefRequest{Kind: matcher.KindBlock, Firm: true}); ok {
		t.Fatal("after a restore, a firm's block with the firm block's ref conflicts")
	}
	if _, ok := restored.OperatorRefElsewhere(3, key("firm-1"), RefRequest{Kind: matcher.KindBlock}); !ok {
		t.Fatal("after a restore, an own block with a firm block's ref does not conflict")
	}
}

// A journal written before AccountBlock.Firm has a firm's block as own
// blocks of its members, all with the request's reference: they are
// applied, as they were, so such a journal replays as it did.
func TestOperatorRefOwnBlocksOfAnOldFirmBlock(t *testing.T) {
	r := newRefStepper(t)
	for _, a := range []uint32{1, 2} {
		b, _ := matcher.AccountBlock{Account: a, Key: key("firm-1")}.Command()
		if _, why := r.step(b); why != matcher.ReasonNone {
			t.Fatalf("member %d's own block with an old firm block's ref: %v", a, why)
		}
	}
	if v := r.s.Snapshot(nil)[0]; v != snapVersionOwnBlock {
		t.Fatalf("own blocks only: snapshot version %d, want %d", v, snapVersionOwnBlock)
	}
	firm, _ := matcher.AccountBlock{Account: 3, Firm: true, Key: key("firm-1")}.Command()
	if _, why := r.step(firm); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("a firm's block with own blocks' ref: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
}

// A state that remembers a firm's keyed block record snapshots as version
// 5 (each reference with its firm byte) and restores to the same
// snapshot, hash and refusals; a firm byte other than 0 or 1, or 1 on a
// deposit, is refused naming the reference. Once the firm's record is
// forgotten (MaxOperatorRefs newer ones), it writes version 4 or 3 again.
func TestOperatorRefsSnapshotVersion5(t *testing.T) {
	r := newRefStepper(t)
	r.funds(false, 1, 100, "dep-1")
	b, _ := matcher.AccountBlock{Account: 2, Firm: true, Key: key("firm-1")}.Command()
	if _, why := r.step(b); why != matcher.ReasonNone {
		t.Fatalf("firm's block: %v", why)
	}
	u, _ := matcher.AccountBlock{Account: 2, Unblock: true, Firm: true}.Command()
	if _, why := r.step(u); why != matcher.ReasonNone {
		t.Fatalf("firm's unblock: %v", why)
	}
	snap := r.s.Snapshot(nil)
	entry := matcher.IDLen + 4 + 8 + 1 + 1 + 1 + 4 + 8
	if snap[0] != snapVersion || !bytes.Equal(snap[len(snap)-2*entry-4:len(snap)-2*entry], []byte{2, 0, 0, 0}) {
		t.Fatalf("snapshot with a firm's keyed record: version %d; want version %d ending in 2 references of %d bytes", snap[0], snapVersion, entry)
	}
	firmAt := len(snap) - entry + matcher.IDLen + 4 + 8 + 1 + 1 // the firm's record is the newest
	if snap[firmAt] != 1 || snap[firmAt-entry] != 0 {
		t.Fatalf("firm bytes %d (block), %d (deposit); want 1, 0", snap[firmAt], snap[firmAt-entry])
	}
	restored, _ := New(testConfig(ModeSpot))
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if again := restored.Snapshot(nil); !bytes.Equal(again, snap) || restored.Hash() != r.s.Hash() {
		t.Fatal("a restored state's snapshot differs from the one it was restored from")
	}
	for _, bad := range []struct {
		at   int
		firm byte
	}{{firmAt, 2}, {firmAt - entry, 1}} {
		c := bytes.Clone(snap)
		c[bad.at] = bad.firm
		if err := restored.Restore(c); err == nil || !strings.Contains(err.Error(), "operator reference") || !strings.Contains(err.Error(), fmt.Sprintf("firm %d", bad.firm)) {
			t.Errorf("firm byte %d: %v, want a refusal naming the reference and its firm byte", bad.firm, err)
		}
	}
	r.s = restored
	own, _ := matcher.AccountBlock{Account: 2, Key: key("firm-1")}.Command()
	if _, why := r.step(own); why != matcher.ReasonOperatorRefConflict {
		t.Fatalf("after a restore, an own block with the firm's block's ref: %v, want %v", why, matcher.ReasonOperatorRefConflict)
	}
	if _, why := r.step(b); why != matcher.ReasonOperatorRepeat {
		t.Fatalf("after a restore, the firm's block again: %v, want %v", why, matcher.ReasonOperatorRepeat)
	}
	for i := range MaxOperatorRefs {
		r.funds(false, 1, 1, fmt.Sprintf("d%d", i))
	}
	if v := r.s.Snapshot(nil)[0]; v != snapVersionOwnBlock {
		t.Fatalf("the firm's record forgotten, no firm's block held: version %d, want %d", v, snapVersionOwnBlock)
	}
}
