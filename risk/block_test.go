package risk

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/ringex/ringex/matcher"
)

// A blocked account's new orders and replaces are refused until it is
// unblocked; the block survives a snapshot and restore; other accounts
// trade on.
func TestBlockRefusesUntilUnblocked(t *testing.T) {
	s, _ := New(testConfig(ModeLimits))
	engines := testEngines(t, 1, matcher.STPNone)
	seq := int64(0)
	step := func(c matcher.Command) Hold {
		seq++
		c.Seq = seq
		_, h := s.Step(&c, engines, nil)
		return h
	}
	order := func(a uint32) matcher.Command {
		id, _ := matcher.MakeClOrdID("o" + string(rune('a'+seq)))
		return matcher.Command{Kind: matcher.KindNew, Account: a, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit, TIF: matcher.GTC, Qty: 1, Price: 100, ClOrdID: id}
	}
	block, _ := matcher.AccountBlock{Account: 2}.Command()
	unblock, _ := matcher.AccountBlock{Account: 2, Unblock: true}.Command()
	if h := step(block); h.Reason != matcher.ReasonNone {
		t.Fatalf("block refused: %v", h.Reason)
	}
	if h := step(order(2)); h.Reason != matcher.ReasonRiskBlocked {
		t.Fatalf("a blocked account's order: %v, want %v", h.Reason, matcher.ReasonRiskBlocked)
	}
	rep := matcher.Command{Kind: matcher.KindReplace, Account: 2, Symbol: 1, Side: matcher.Buy, OrderID: 1, Qty: 2, Price: 100}
	if h := step(rep); h.Reason != matcher.ReasonRiskBlocked {
		t.Fatalf("a blocked account's replace: %v", h.Reason)
	}
	if h := step(order(1)); h.Reason != matcher.ReasonNone {
		t.Fatalf("another account's order: %v", h.Reason)
	}
	restored, _ := New(testConfig(ModeLimits))
	if err := restored.Restore(s.Snapshot(nil)); err != nil {
		t.Fatal(err)
	}
	if b, _ := restored.Balance(2); !b.Blocked {
		t.Fatal("the block did not survive a snapshot")
	}
	s = restored
	if h := step(order(2)); h.Reason != matcher.ReasonRiskBlocked {
		t.Fatalf("after a restore, a blocked account's order: %v", h.Reason)
	}
	step(unblock)
	if h := step(order(2)); h.Reason != matcher.ReasonNone {
		t.Fatalf("after unblock: %v", h.Reason)
	}
}

// blockStepper steps block records and orders through a spot state.
type blockStepper struct{ *refStepper }

func newBlockStepper(t *testing.T) blockStepper {
	r := newRefStepper(t)
	for a := uint32(1); a <= 3; a++ {
		r.funds(false, a, 5000, "")
	}
	return blockStepper{r}
}

func (b blockStepper) block(a uint32, unblock, firm bool) {
	b.t.Helper()
	c, err := matcher.AccountBlock{Account: a, Unblock: unblock, Firm: firm}.Command()
	if err != nil {
		b.t.Fatal(err)
	}
	if _, why := b.step(c); why != matcher.ReasonNone {
		b.t.Fatalf("block record %+v refused: %v", c, why)
	}
}

// order is the reason Check gives a new order of account a.
func (b blockStepper) order(a uint32) matcher.Reason {
	cl, _ := matcher.MakeClOrdID("o" + string(rune('a'+b.seq)))
	_, why := b.step(matcher.Command{Kind: matcher.KindNew, Account: a, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit, TIF: matcher.GTC, Qty: 1, Price: 100, ClOrdID: cl})
	return why
}

// wantBlocks checks account a's blocks as Balance says them, and that
// its order is refused while either holds.
func (b blockStepper) wantBlocks(when string, a uint32, own, firm bool) {
	b.t.Helper()
	got, _ := b.s.Balance(a)
	if got.OwnBlock != own || got.FirmBlock != firm || got.Blocked != (own || firm) {
		b.t.Fatalf("%s: account %d blocked %v own %v firm %v; want own %v firm %v", when, a, got.Blocked, got.OwnBlock, got.FirmBlock, own, firm)
	}
	want := matcher.ReasonNone
	if own || firm {
		want = matcher.ReasonRiskBlocked
	}
	if why := b.order(a); why != want {
		b.t.Fatalf("%s: account %d's order: %v, want %v", when, a, why, want)
	}
}

// An account's own block and its firm's are independent: each record
// sets or lifts only its own, and the account is refused while either
// holds, whichever order they come in.
func TestOwnAndFirmBlocksAreIndependent(t *testing.T) {
	b := newBlockStepper(t)
	b.block(1, false, false)
	b.block(1, false, true)
	b.wantBlocks("own block, then its firm's", 1, true, true)
	b.block(1, true, true)
	b.wantBlocks("its firm's unblock", 1, true, false)
	b.block(1, true, true) // a firm's unblock of an account it does not block
	b.wantBlocks("its firm's unblock again", 1, true, false)
	b.block(1, true, false)
	b.wantBlocks("its own unblock", 1, false, false)

	b.block(2, false, true)
	b.block(2, false, false)
	b.wantBlocks("firm's block, then its own", 2, true, true)
	b.block(2, true, false)
	b.wantBlocks("its own unblock", 2, false, true)
	b.block(2, true, false)
	b.wantBlocks("its own unblock again", 2, false, true)
	b.block(2, true, true)
	b.wantBlocks("its firm's unblock", 2, false, false)
	b.wantBlocks("never blocked", 3, false, false)
}

// A state that holds a firm's block snapshots as version 4, each blocked
// account with its blocks, and restores to the same blocks, snapshot and
// hash; once no firm's block is held it writes version 3 again.
func TestBlockSnapshotVersion4RoundTrip(t *testing.T) {
	b := newBlockStepper(t)
	b.block(1, false, false)
	b.block(2, false, true)
	b.block(3, false, false)
	b.block(3, false, true)
	snap := b.s.Snapshot(nil)
	if snap[0] != snapVersionFirmBlock {
		t.Fatalf("snapshot with a firm's block: version %d, want %d", snap[0], snapVersionFirmBlock)
	}
	restored, _ := New(testConfig(ModeSpot))
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if again := restored.Snapshot(nil); !bytes.Equal(again, snap) || restored.Hash() != b.s.Hash() {
		t.Fatal("a restored state's snapshot differs from the one it was restored from")
	}
	b.s = restored
	b.wantBlocks("restored", 1, true, false)
	b.wantBlocks("restored", 2, false, true)
	b.wantBlocks("restored", 3, true, true)
	for _, bad := range []byte{0, 4, 7} {
		c := bytes.Clone(snap)
		i := bytes.Index(c, []byte{1, 0, 0, 0, blockOwn, 2, 0, 0, 0, blockFirm}) // accounts 1 and 2
		if i < 0 {
			t.Fatal("blocked accounts not found in the snapshot")
		}
		c[i+4] = bad
		if err := restored.Restore(c); err == nil || !strings.Contains(err.Error(), "blocked account 1: blocks") {
			t.Errorf("blocks %d: %v, want a refusal naming the account's blocks", bad, err)
		}
	}
	b.block(2, true, true)
	b.block(3, true, true)
	if v := b.s.Snapshot(nil)[0]; v != snapVersionOwnBlock {
		t.Fatalf("no firm's block held: version %d, want %d", v, snapVersionOwnBlock)
	}
}

// A journal of block records written before AccountBlock.Firm (each the
// account's own) gives the state, snapshot and hashes the build before
// gave: testdata/blocks-v3.snap and the hashes are that build's, so its
// checkpoint hashes verify. Its version 3 snapshot restores to own blocks,
// which a firm's unblock does not lift.
func TestOldBlockRecordsReplayAsBefore(t *testing.T) {
	const hash, legacy = 0x9219b98ec2e1408a, 0xcea5d91772327b58
	r := oldBlockJournal(t)
	if r.s.Hash() != hash || r.s.LegacyHash() != legacy {
		t.Fatalf("hash %016x, legacy %016x; the build before: %016x, %016x", r.s.Hash(), r.s.LegacyHash(), uint64(hash), uint64(legacy))
	}
	v3, err := os.ReadFile("testdata/blocks-v3.snap")
	if err != nil {
		t.Fatal(err)
	}
	if snap := r.s.Snapshot(nil); !bytes.Equal(snap, v3) {
		t.Fatalf("snapshot differs from the build before's:\n% x\nwant\n% x", snap, v3)
	}
	restored, _ := New(testConfig(ModeSpot))
	if err := restored.Restore(v3); err != nil {
		t.Fatalf("the build before's version 3 snapshot: %v", err)
	}
	if restored.Hash() != hash || !bytes.Equal(restored.Snapshot(nil), v3) {
		t.Fatal("a restored version 3 snapshot hashes or snapshots otherwise")
	}
	b := blockStepper{r}
	b.s = restored
	b.wantBlocks("version 3, restored", 1, true, false)
	b.wantBlocks("version 3, restored", 2, false, false)
	b.wantBlocks("version 3, restored", 3, true, false)
	b.block(3, true, true)
	b.wantBlocks("version 3, restored, a firm's unblock", 3, true, false)
}

// oldBlockJournal steps a journal of block records as every build before
// AccountBlock.Firm wrote them (a firm's block was one per member, with
// the firm's reference): deposits, an order, blocks of accounts 1 to 3,
// account 2's unblock, refused orders. Its hashes and snapshot were taken
// with the build before (testdata/blocks-v3.snap).
func oldBlockJournal(t *testing.T) *refStepper {
	r := newRefStepper(t)
	r.funds(false, 1, 5000, "dep-1")
	r.funds(false, 2, 5000, "")
	order := func(a uint32, cl string) matcher.Reason {
		_, why := r.step(matcher.Command{Kind: matcher.KindNew, Account: a, Symbol: 1, Side: matcher.Buy, Type: matcher.Limit, TIF: matcher.GTC, Qty: 2, Price: 100, ClOrdID: key(cl)})
		return why
	}
	order(1, "o1")
	for _, c := range []matcher.AccountBlock{{Account: 1, Key: key("own-1")}, {Account: 2, Key: key("firm-1")}, {Account: 3, Key: key("firm-1")},
		{Account: 2, Unblock: true, Key: key("own-2")}} {
		cmd, err := c.Command()
		if err != nil {
			t.Fatal(err)
		}
		if _, why := r.step(cmd); why != matcher.ReasonNone {
			t.Fatalf("%+v: %v", c, why)
		}
	}
	if why := order(1, "o2"); why != matcher.ReasonRiskBlocked {
		t.Fatalf("account 1's order after its block: %v", why)
	}
	if why := order(2, "o3"); why != matcher.ReasonNone {
		t.Fatalf("account 2's order after its unblock: %v", why)
	}
	return r
}
