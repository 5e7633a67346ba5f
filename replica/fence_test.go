package replica

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// TestStandbyAdmitsFramesOnlyOfItsNewestEpoch: a shard led through etcd
// numbers its epochs by fencing token (History.BeginAt) and passes its
// fence as ReceiverOptions.Admit. Once the standby has seen a newer token
// (etcd named another leader), the old primary's next frame ends the
// connection and its welcome is refused on every reconnection: nothing it
// ships after that lands in the standby's journal.
func TestStandbyAdmitsFramesOnlyOfItsNewestEpoch(t *testing.T) {
	p := newPrimaryAt(t, t.TempDir(), 5)
	var newest atomic.Uint64
	admit := func(epoch uint64) error {
		if n := newest.Load(); epoch < n {
			return fmt.Errorf("token %d is stale: %d seen", epoch, n)
		}
		newest.Store(epoch)
		return nil
	}
	sb := startFencedStandby(t, t.TempDir(), p.s.Addr().String(), admit)
	last := p.batch(20)
	waitFor(t, "standby has the first batch", func() bool { return sb.j.LastSeq() == last })
	if got := sb.r.Epoch(); got != 5 {
		t.Fatalf("following epoch %d, want the token 5", got)
	}

	newest.Store(9) // etcd names a leader of token 9
	waitFor(t, "the old primary's frame refused", func() bool { return sb.logged("token 5 is stale: 9 seen") > 0 })
	p.batch(20)
	time.Sleep(300 * time.Millisecond) // heartbeats and reconnections: 20 ms apart
	if got := sb.j.LastSeq(); got != last {
		t.Fatalf("the standby journaled up to seq %d from a primary of a stale token; it had %d", got, last)
	}
	sb.stop()
}

// TestHistoryBeginAtRefusesAnEpochNotAbove: epochs numbered by token only
// grow: BeginAt refuses one not above the newest, naming both.
func TestHistoryBeginAtRefusesAnEpochNotAbove(t *testing.T) {
	h, err := LoadHistory(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.BeginAt(7, 1); err != nil {
		t.Fatal(err)
	}
	if err := h.BeginAt(7, 10); err == nil {
		t.Fatal("BeginAt accepted epoch 7 twice")
	}
	if err := h.BeginAt(12, 10); err != nil || h.Current() != 12 {
		t.Fatalf("BeginAt(12): %v, current %d", err, h.Current())
	}
	again, _ := LoadHistory(h.path[:len(h.path)-len(EpochFileName)-1])
	if again.Current() != 12 {
		t.Fatalf("reloaded history at epoch %d, want 12", again.Current())
	}
}
