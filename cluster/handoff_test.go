package cluster_test

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/internal/etcdtest"
)

func TestHandoffGoesToTheNamedMember(t *testing.T) {
	s := etcdtest.Start(t)
	a := join(t, s, "shard1", "a", testTTL, nil)
	b := join(t, s, "shard1", "b", testTTL, nil)
	c := join(t, s, "shard1", "c", testTTL, nil)
	ctx := ctxFor(t, 2*time.Minute)
	la := contendOnce(t, ctx, a)

	if err := la.Handoff(ctx, "nobody", 0); err == nil || !strings.Contains(err.Error(), "not a member") {
		t.Fatalf("handoff to a non-member: %v, want an error saying it is not a member", err)
	}
	if la.Err() != nil || !la.Guard().Valid(time.Now()) {
		t.Fatalf("a refused handoff ended a's leadership: %v", la.Err())
	}

	// b would win an open election (equal seqs, lower name); the handoff
	// names c.
	out := make(chan lead, 2)
	leadAsync(ctx, b, out)
	leadAsync(ctx, c, out)
	if err := la.Handoff(ctx, "c", 0); err != nil {
		t.Fatalf("handoff to c: %v", err)
	}
	if la.Guard().Valid(time.Now()) || !errors.Is(la.Err(), cluster.ErrHandedOff) {
		t.Fatalf("after handing off, a's guard is valid or Err is %v", la.Err())
	}
	var won lead
	select {
	case won = <-out:
	case <-ctx.Done():
		t.Fatal("nobody took the shard after the handoff")
	}
	if won.err != nil || won.name != "c" {
		t.Fatalf("%s took the shard (err %v), want c", won.name, won.err)
	}
	if won.l.Token() <= la.Token() {
		t.Fatalf("c's token %d not above a's %d", won.l.Token(), la.Token())
	}
	st, err := c.Status(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.HandoffTo != "" || st.Leader != "c" {
		t.Fatalf("after the handoff, status says leader %q, handoff to %q; want c and none", st.Leader, st.HandoffTo)
	}
	select {
	case other := <-out:
		t.Fatalf("%s also returned from Lead: %v", other.name, other.err)
	case <-time.After(testTTL):
	}
}

// TestSyncSetKeepsOutsidersOut: leader l's sync set names standby s but
// not o, a third member that is alive, holds more (it caught up after the
// set was put, or was never counted) and would win an open election on
// seq and name. l dies: o is not chosen, s takes the shard. s's own set
// {s} (it goes on alone) keeps both l, back with its records, and o out,
// until an operator overrides, which clears the set.
func TestSyncSetKeepsOutsidersOut(t *testing.T) {
	s := etcdtest.Start(t)
	var seqL, seqS, seqO atomic.Int64
	seqL.Store(100)
	seqS.Store(90)
	seqO.Store(120)
	l := join(t, s, "shard1", "l", testTTL, &seqL)
	sb := join(t, s, "shard1", "s", testTTL, &seqS)
	o := join(t, s, "shard1", "o", testTTL, &seqO)
	ctx := ctxFor(t, 2*time.Minute)
	ll := contendOnce(t, ctx, l)
	if err := ll.SetSync(ctx, []string{"s"}, 100); err != nil {
		t.Fatalf("l puts its sync set {l, s}: %v", err)
	}
	if st, err := o.Status(ctx, time.Second); err != nil || st.Sync == nil || !slices.Equal(st.Sync.Members, []string{"l", "s"}) || st.Sync.Token != ll.Token() || st.Sync.Seq != 100 {
		t.Fatalf("status %+v (sync %+v), %v: want the sync set {l, s} of term %d at seq 100", st, st.Sync, err, ll.Token())
	}
	if err := l.Close(ctx); err != nil { // l dies: its lease goes, the set stays
		t.Fatalf("close l: %v", err)
	}
	if _, err := o.Contend(ctx); !isNotChosen(err, "not in it") {
		t.Fatalf("o, outside the sync set, contends: %v, want not chosen", err)
	}
	seqS.Store(100)
	ls := contendOnce(t, ctx, sb)
	if ls.Token() <= ll.Token() {
		t.Fatalf("s's token %d not above l's %d", ls.Token(), ll.Token())
	}
	// s goes on alone: its set is {s}.
	if err := ls.SetSync(ctx, nil, 130); err != nil {
		t.Fatal(err)
	}
	if err := ls.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	l2 := join(t, s, "shard1", "l", testTTL, &seqL)
	for _, m := range []*cluster.Member{l2, o} {
		if _, err := m.Contend(ctx); !isNotChosen(err, "not in it") {
			t.Fatalf("%s contends while the sync set is {s}: %v, want not chosen", m.Name(), err)
		}
	}
	// The operator accepts the loss: promote --force.
	lo, err := o.Override(ctx)
	if err != nil {
		t.Fatalf("override: %v", err)
	}
	if st, err := o.Status(ctx, time.Second); err != nil || st.Sync != nil || st.Leader != "o" || st.Token != lo.Token() {
		t.Fatalf("after the override status %+v, %v: want o leading with token %d and no sync set", st, err, lo.Token())
	}
}

func isNotChosen(err error, reason string) bool {
	var nc *cluster.NotChosenError
	return errors.As(err, &nc) && strings.Contains(nc.Reason, reason)
}

func TestStatusNamesLeaderTokenLeaseAndEachMembersSeq(t *testing.T) {
	s := etcdtest.Start(t)
	seqs := map[string]*atomic.Int64{"a": {}, "b": {}, "c": {}}
	ms := map[string]*cluster.Member{}
	for n, v := range seqs {
		v.Store(1000)
		ms[n] = join(t, s, "shard1", n, testTTL, v)
	}
	ctx := ctxFor(t, time.Minute)
	l := contendOnce(t, ctx, ms["a"])
	seqs["a"].Store(1234)
	seqs["b"].Store(1230)
	seqs["c"].Store(1200)
	st, err := cluster.ReadStatus(ctx, []string{s.Endpoint()}, "shard1", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.Shard != "shard1" || st.Leader != "a" || st.LeaderRepl != "a.test:7001" || st.Token != l.Token() {
		t.Fatalf("status %+v: want shard1 led by a (a.test:7001) with token %d", st, l.Token())
	}
	if st.LeaseLeft <= 0 || st.LeaseLeft > testTTL {
		t.Fatalf("leader's lease left %v, want in (0, %v]", st.LeaseLeft, testTTL)
	}
	want := []cluster.MemberStatus{
		{Name: "a", ReplAddr: "a.test:7001", DurableSeq: 1234, Fresh: true},
		{Name: "b", ReplAddr: "b.test:7001", DurableSeq: 1230, Fresh: true},
		{Name: "c", ReplAddr: "c.test:7001", DurableSeq: 1200, Fresh: true},
	}
	if len(st.Members) != len(want) {
		t.Fatalf("members %+v, want %+v", st.Members, want)
	}
	for i := range want {
		if st.Members[i] != want[i] {
			t.Fatalf("member %d: %+v, want %+v", i, st.Members[i], want[i])
		}
	}
}

// TestMembersKnowsEachMembersLastPublishedPosition: a member keeps the
// others' records from one watch: each appears at its Join, its new
// position appears once a status poll has it published, and a member
// that leaves is dropped.
func TestMembersKnowsEachMembersLastPublishedPosition(t *testing.T) {
	s := etcdtest.Start(t)
	var seqA, seqB, epochB atomic.Int64
	seqA.Store(10)
	seqB.Store(7)
	epochB.Store(3)
	a := join(t, s, "shard1", "a", testTTL, &seqA)
	b := joinAt(t, s, "shard1", "b", testTTL, &seqB, &epochB, 0)
	ctx := ctxFor(t, time.Minute)
	knows := func(name string, seq int64, epoch cluster.Token) func() bool {
		return func() bool {
			for _, k := range a.Members() {
				if k.Name == name {
					return k.DurableSeq == seq && k.Epoch == epoch && !k.Heard.IsZero()
				}
			}
			return false
		}
	}
	within(t, 10*time.Second, "a knows b at epoch 3 seq 7 and itself at seq 10", func() bool { return knows("b", 7, 3)() && knows("a", 10, 0)() })
	seqB.Store(9)
	epochB.Store(4)
	if _, err := cluster.ReadStatus(ctx, []string{s.Endpoint()}, "shard1", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "a knows b at epoch 4 seq 9 after a status poll", knows("b", 9, 4))
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "a no longer knows b once it left", func() bool {
		ms := a.Members()
		return len(ms) == 1 && ms[0].Name == "a"
	})
}

// TestSyncSetMemberBelowItsSeqIsNotChosen: the sync set {l, s} was put at
// seq 100, which both held. l dies; s comes back under its name on an
// older backup (seq 60) and is not chosen, while a member of the set at
// 100 is.
func TestSyncSetMemberBelowItsSeqIsNotChosen(t *testing.T) {
	s := etcdtest.Start(t)
	var seqL, seqS atomic.Int64
	seqL.Store(100)
	seqS.Store(100)
	l := join(t, s, "shard1", "l", testTTL, &seqL)
	sb := join(t, s, "shard1", "s", testTTL, &seqS)
	ctx := ctxFor(t, 2*time.Minute)
	ll := contendOnce(t, ctx, l)
	if err := ll.SetSync(ctx, []string{"s"}, 100); err != nil {
		t.Fatalf("l puts its sync set {l, s}: %v", err)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatalf("close l: %v", err)
	}
	seqS.Store(60) // s restored from an older backup
	if _, err := sb.Contend(ctx); !isNotChosen(err, "an old backup?") {
		t.Fatalf("s, named by the set at seq 100 but holding seq 60, contends: %v, want not chosen", err)
	}
	seqS.Store(100)
	if ls := contendOnce(t, ctx, sb); ls.Token() <= ll.Token() {
		t.Fatalf("s's token %d not above l's %d", ls.Token(), ll.Token())
	}
}

// TestAwaitPositionFollowsTheMembersAnswers: a handoff waits for its
// target through AwaitPosition: a non-member is refused at once; a member
// short of the position is asked again until it publishes one that is not
// below it, and its durable seq is returned; one that never gets there
// runs out the context with an error saying what it holds.
func TestAwaitPositionFollowsTheMembersAnswers(t *testing.T) {
	s := etcdtest.Start(t)
	var seqB atomic.Int64
	a := join(t, s, "shard1", "a", testTTL, nil)
	join(t, s, "shard1", "b", testTTL, &seqB)
	ctx := ctxFor(t, time.Minute)
	want := func() cluster.Position { return cluster.Position{Seq: 100} }

	if _, err := a.AwaitPosition(ctx, "nobody", want, time.Millisecond); err == nil || !strings.Contains(err.Error(), "not a member") {
		t.Fatalf("await a non-member: %v, want an error saying it is not a member", err)
	}
	short := ctxFor(t, 2*time.Second)
	seqB.Store(40)
	if _, err := a.AwaitPosition(short, "b", want, time.Millisecond); err == nil || !strings.Contains(err.Error(), "seq 40") {
		t.Fatalf("await b at seq 40 for seq 100: %v, want a timeout naming seq 40", err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		seqB.Store(120)
	}()
	got, err := a.AwaitPosition(ctx, "b", want, 10*time.Millisecond)
	if err != nil || got != 120 {
		t.Fatalf("await b, which reaches seq 120: seq %d, err %v; want 120", got, err)
	}
}
