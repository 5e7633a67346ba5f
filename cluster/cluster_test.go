package cluster_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/internal/etcdtest"
)

const testTTL = 2 * time.Second

type lead struct {
	name string
	l    *cluster.Leadership
	err  error
}

// leadAsync runs m.Lead in the background and reports the outcome on out.
func leadAsync(ctx context.Context, m *cluster.Member, out chan<- lead) {
	go func() {
		l, err := m.Lead(ctx)
		out <- lead{m.Name(), l, err}
	}()
}

func TestElectionAmongThreeTokensIncreaseAcrossLeaderChanges(t *testing.T) {
	s := etcdtest.Start(t)
	ms := map[string]*cluster.Member{}
	for _, n := range []string{"a", "b", "c"} {
		ms[n] = joinSettling(t, s, "shard1", n, testTTL, nil, 3*time.Second)
	}
	ctx := ctxFor(t, 2*time.Minute)
	observed := ms["c"].Observe(ctx)
	if first := <-observed; first.Name != "" {
		t.Fatalf("Observe before any election: leader %+v, want none", first)
	}
	out := make(chan lead, 3)
	for _, m := range ms {
		leadAsync(ctx, m, out)
	}
	var tokens []cluster.Token
	for change := 0; change < 4; change++ {
		var won lead
		select {
		case won = <-out:
		case <-ctx.Done():
			t.Fatalf("leader change %d: no member took the shard", change)
		}
		if won.err != nil {
			t.Fatalf("leader change %d: Lead of %s: %v", change, won.name, won.err)
		}
		if change == 0 && won.name != "a" {
			t.Fatalf("first election with equal seqs went to %s, want a (lowest name)", won.name)
		}
		if n := len(tokens); n > 0 && won.l.Token() <= tokens[n-1] {
			t.Fatalf("leader change %d: %s won with token %d, not above the previous %d", change, won.name, won.l.Token(), tokens[n-1])
		}
		tokens = append(tokens, won.l.Token())
		if !won.l.Guard().Valid(time.Now()) {
			t.Fatalf("leader change %d: %s won but its guard is not valid", change, won.name)
		}
		info, err := ms["b"].Leader(ctx)
		if err != nil || info.Name != won.name || info.Token != won.l.Token() || info.ReplAddr != won.name+".test:7001" {
			t.Fatalf("leader change %d: Leader() = %+v, %v; want %s with token %d", change, info, err, won.name, won.l.Token())
		}
		waitObserved(t, observed, won.name, won.l.Token())
		if err := won.l.Resign(ctx); err != nil {
			t.Fatalf("resign %s: %v", won.name, err)
		}
		if won.l.Guard().Valid(time.Now()) || !errors.Is(won.l.Err(), cluster.ErrResigned) {
			t.Fatalf("%s resigned but its guard is valid or Err is %v", won.name, won.l.Err())
		}
		leadAsync(ctx, ms[won.name], out) // it stands again
	}
	t.Logf("tokens across 4 leaders: %v", tokens)
}

// waitObserved reads Observe's channel until it names leader with token.
func waitObserved(t *testing.T, ch <-chan cluster.LeaderInfo, leader string, token cluster.Token) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case info := <-ch:
			if info.Name == leader && info.Token == token {
				return
			}
		case <-timeout:
			t.Fatalf("Observe did not report leader %s with token %d", leader, token)
		}
	}
}

func contendOnce(t *testing.T, ctx context.Context, m *cluster.Member) *cluster.Leadership {
	t.Helper()
	l, err := m.Contend(ctx)
	if err != nil {
		t.Fatalf("%s contends: %v", m.Name(), err)
	}
	return l
}

func TestGuardRunsOutBeforeTheLeaseWhileEtcdIsDownAndReturnsAfter(t *testing.T) {
	s := etcdtest.Start(t)
	a := join(t, s, "shard1", "a", testTTL, nil)
	ctx := ctxFor(t, 2*time.Minute)
	l := contendOnce(t, ctx, a)
	within(t, 10*time.Second, "guard valid after winning", func() bool { return l.Guard().Valid(time.Now()) })

	stopped := time.Now()
	s.Stop()
	deadline := l.Guard().Deadline()
	within(t, testTTL+10*time.Second, "guard runs out with etcd down", func() bool {
		if !l.Guard().Valid(time.Now()) {
			return true
		}
		deadline = l.Guard().Deadline()
		return false
	})
	sent := a.LastKeepAliveSent()
	if !sent.Before(stopped) {
		t.Fatalf("last answered keep-alive sent at %v, after etcd stopped at %v", sent, stopped)
	}
	// etcd refreshed the lease no earlier than sent, so it lives at least
	// until sent+TTL: the guard must have run out a margin before that.
	if want := sent.Add(testTTL - a.Margin()); !deadline.Equal(want) {
		t.Fatalf("guard deadline %v, want last keep-alive sent %v + TTL %v - margin %v = %v", deadline, sent, testTTL, a.Margin(), want)
	}
	if !deadline.Before(sent.Add(testTTL)) || !deadline.Before(stopped.Add(testTTL)) {
		t.Fatalf("guard deadline %v not before the earliest lease expiry %v", deadline, sent.Add(testTTL))
	}
	if l.Guard().Ended() || a.Err() != nil || l.Err() != nil {
		t.Fatalf("etcd merely down, yet leadership ended: member %v, leadership %v", a.Err(), l.Err())
	}

	s.Start()
	within(t, 60*time.Second, "guard valid again once etcd answers", func() bool { return l.Guard().Valid(time.Now()) })
	if l.Err() != nil || a.Err() != nil {
		t.Fatalf("after etcd came back: member %v, leadership %v", a.Err(), l.Err())
	}
	info, err := a.Leader(ctx)
	if err != nil || info.Name != "a" || info.Token != l.Token() {
		t.Fatalf("after etcd came back Leader() = %+v, %v; want a with token %d", info, err, l.Token())
	}
}

// takesOver waits for the Lead on out of the member that takes the shard
// from a (whose term was la) and fails the test unless it won, with a
// token above la's, after a's guard had run out. It returns the new
// leadership and when it was won.
func takesOver(t *testing.T, ctx context.Context, out <-chan lead, a *cluster.Member, la *cluster.Leadership, what string) (*cluster.Leadership, time.Time) {
	t.Helper()
	var lb lead
	select {
	case lb = <-out:
	case <-ctx.Done():
		t.Fatalf("b did not take the shard %s", what)
	}
	bWon := time.Now()
	if lb.err != nil {
		t.Fatalf("b's Lead: %v", lb.err)
	}
	if lb.l.Token() <= la.Token() {
		t.Fatalf("b won with token %d, not above a's %d", lb.l.Token(), la.Token())
	}
	// The last deadline a's guard had: its last answered keep-alive's
	// send time + TTL - margin.
	if aRanTo := a.LastKeepAliveSent().Add(testTTL - a.Margin()); !aRanTo.Before(bWon) {
		t.Fatalf("a's guard ran to %v, not before b won at %v: two leaders could acknowledge", aRanTo, bWon)
	}
	return lb.l, bWon
}

func TestFrozenLeaderLosesTheShardToAHigherTokenWhichFencesIt(t *testing.T) {
	s := etcdtest.Start(t)
	a := join(t, s, "shard1", "a", testTTL, nil)
	b := join(t, s, "shard1", "b", testTTL, nil)
	ctx := ctxFor(t, 2*time.Minute)
	la := contendOnce(t, ctx, a)
	out := make(chan lead, 1)
	leadAsync(ctx, b, out)

	a.Freeze(true) // no more keep-alives, as under SIGSTOP
	lb, bWon := takesOver(t, ctx, out, a, la, "from a frozen a")
	if la.Guard().Valid(bWon) || la.Guard().Valid(time.Now()) {
		t.Fatal("a's guard still valid after b won")
	}

	var f cluster.Fence
	if err := f.Admit(la.Token()); err != nil {
		t.Fatalf("fence refuses a's token before b's: %v", err)
	}
	if err := f.Admit(lb.Token()); err != nil {
		t.Fatalf("fence refuses b's token: %v", err)
	}
	var stale *cluster.StaleTokenError
	if err := f.Admit(la.Token()); !errors.As(err, &stale) || stale.Got != la.Token() || stale.Newest != lb.Token() {
		t.Fatalf("fence on a's frame after b's: %v, want a StaleTokenError naming %d and %d", err, la.Token(), lb.Token())
	}

	a.Freeze(false) // a wakes up: etcd says its lease is gone
	select {
	case <-a.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("a woke up but was not told its lease is lost")
	}
	if !errors.Is(a.Err(), cluster.ErrLeaseLost) {
		t.Fatalf("a.Err() = %v, want ErrLeaseLost", a.Err())
	}
	select {
	case <-la.Lost():
	default:
		t.Fatal("a's lease is lost but its leadership is not")
	}
	if !la.Guard().Ended() {
		t.Fatal("a's guard not fenced after losing the lease")
	}
}

// TestMostCompleteCandidateWins: candidates compare positions as Raft
// compares logs, the newest epoch of their histories first and then their
// durable seqs. A deposed leader that journaled records after its lease ran
// out (never acknowledged) may hold a higher seq than a standby that holds
// a newer term's acknowledged records: the standby must win, or those
// records are truncated away when the deposed leader serves again.
func TestMostCompleteCandidateWins(t *testing.T) {
	type pos = cluster.Position
	cases := []struct {
		name   string
		at     map[string]pos
		winner string
	}{
		{"highest_seq_wins_over_lower_names", map[string]pos{"a": {Seq: 5}, "b": {Seq: 9}, "c": {Seq: 7}}, "b"},
		{"highest_seq_wins_as_last_name", map[string]pos{"a": {Seq: 5}, "b": {Seq: 7}, "c": {Seq: 9}}, "c"},
		{"equal_seqs_lowest_name_wins", map[string]pos{"a": {Seq: 3}, "b": {Seq: 9}, "c": {Seq: 9}}, "b"},
		{"newer_epoch_wins_over_deposed_leaders_higher_seq", map[string]pos{"a": {Token: 5, Seq: 120}, "b": {Token: 7, Seq: 110}}, "b"},
		{"same_epoch_highest_seq_wins", map[string]pos{"a": {Token: 7, Seq: 110}, "b": {Token: 7, Seq: 112}, "c": {Token: 5, Seq: 130}}, "b"},
	}
	s := etcdtest.Start(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			shard := "most" + string(rune('0'+i))
			ctx := ctxFor(t, 2*time.Minute)
			out := make(chan lead, len(tc.at))
			for n, p := range tc.at {
				var seq, epoch atomic.Int64
				seq.Store(p.Seq)
				epoch.Store(int64(p.Token))
				m := joinAt(t, s, shard, n, testTTL, &seq, &epoch, 3*time.Second)
				leadAsync(ctx, m, out)
			}
			var won lead
			select {
			case won = <-out:
			case <-ctx.Done():
				t.Fatal("nobody took the shard")
			}
			if won.err != nil || won.name != tc.winner {
				t.Fatalf("%s took the shard (err %v), want %s of %v", won.name, won.err, tc.winner, tc.at)
			}
			select {
			case other := <-out:
				t.Fatalf("%s also returned from Lead: %v", other.name, other.err)
			case <-time.After(2 * testTTL):
			}
		})
	}
}

func TestLeaseThatExpiresWhileEtcdIsOutOfReachEndsTheLeadership(t *testing.T) {
	s := etcdtest.Start(t)
	a := join(t, s, "shard1", "a", testTTL, nil)
	b := join(t, s, "shard1", "b", testTTL, nil)
	ctx := ctxFor(t, 2*time.Minute)
	la := contendOnce(t, ctx, a)
	out := make(chan lead, 1)
	leadAsync(ctx, b, out)

	// etcd stops; when it returns, a still cannot reach it (frozen
	// keep-alives stand for a partition) until its lease has expired.
	s.Stop()
	a.Freeze(true)
	within(t, testTTL+10*time.Second, "a's guard runs out with etcd down", func() bool { return !la.Guard().Valid(time.Now()) })
	s.Start()
	takesOver(t, ctx, out, a, la, "once a's lease expired")
	a.Freeze(false)
	select {
	case <-la.Lost():
	case <-time.After(30 * time.Second):
		t.Fatal("a reaches etcd again but is not told its leadership is lost")
	}
	within(t, 30*time.Second, "a told its lease is lost", func() bool { return errors.Is(a.Err(), cluster.ErrLeaseLost) })
	if la.Guard().Valid(time.Now()) || !la.Guard().Ended() {
		t.Fatal("a's guard valid or not fenced after its lease expired")
	}
}

func TestLeadReturnsWhenItsMemberCloses(t *testing.T) {
	s := etcdtest.Start(t)
	a := join(t, s, "shard1", "a", testTTL, nil)
	b := join(t, s, "shard1", "b", testTTL, nil)
	ctx := ctxFor(t, time.Minute)
	contendOnce(t, ctx, a)
	out := make(chan lead, 1)
	leadAsync(ctx, b, out)
	time.Sleep(testTTL / 2) // b is waiting for a change
	if err := b.Close(ctx); err != nil {
		t.Fatalf("close b: %v", err)
	}
	select {
	case r := <-out:
		if !errors.Is(r.err, cluster.ErrClosed) {
			t.Fatalf("b's Lead after Close: %v, want ErrClosed", r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("b's Lead still waiting after b closed")
	}
}

// TestOnFenceRunsBeforeResignDeletesTheKey: OnFence's f runs once when the
// term ends, before Resign deletes the leader key (so before any other
// member can be elected: the FIX acceptor cuts its socket writes there),
// and at once when registered on a guard fenced already.
func TestOnFenceRunsBeforeResignDeletesTheKey(t *testing.T) {
	s := etcdtest.Start(t)
	a := join(t, s, "shard1", "a", testTTL, nil)
	ctx := ctxFor(t, time.Minute)
	l := contendOnce(t, ctx, a)
	var ran atomic.Int32
	var leaderThen cluster.LeaderInfo
	l.Guard().OnFence(func() {
		ran.Add(1)
		leaderThen, _ = a.Leader(ctx)
	})
	if ran.Load() != 0 {
		t.Fatal("OnFence's f ran while the term leads")
	}
	if err := l.Resign(ctx); err != nil {
		t.Fatalf("resign: %v", err)
	}
	if n := ran.Load(); n != 1 {
		t.Fatalf("OnFence's f ran %d times by the end of Resign; want once", n)
	}
	if leaderThen.Name != "a" || leaderThen.Token != l.Token() {
		t.Fatalf("when OnFence's f ran the shard's leader was %+v; want a with token %d (its key not yet deleted)", leaderThen, l.Token())
	}
	late := false
	l.Guard().OnFence(func() { late = true })
	if !late {
		t.Fatal("OnFence on a fenced guard did not run f at once")
	}
}
