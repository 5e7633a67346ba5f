package cluster_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/logtest"
)

// join joins a member to shard with the test's defaults and closes it at
// the end of the test.
func join(t *testing.T, s *etcdtest.Server, shard, name string, ttl time.Duration, seq *atomic.Int64) *cluster.Member {
	t.Helper()
	return joinSettling(t, s, shard, name, ttl, seq, 0)
}

// joinSettling is join with a candidate settle time: tests that assert
// which candidate wins give the others time to post even on a loaded
// machine.
func joinSettling(t *testing.T, s *etcdtest.Server, shard, name string, ttl time.Duration, seq *atomic.Int64, settle time.Duration) *cluster.Member {
	t.Helper()
	return joinAt(t, s, shard, name, ttl, seq, nil, settle)
}

// joinAt is joinSettling with the newest epoch of the member's history
// (nil: 0).
func joinAt(t *testing.T, s *etcdtest.Server, shard, name string, ttl time.Duration, seq, epoch *atomic.Int64, settle time.Duration) *cluster.Member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := cluster.Config{
		Endpoints: []string{s.Endpoint()}, Shard: shard, Name: name, TTL: ttl,
		ReplAddr: name + ".test:7001", Settle: settle,
		Log: logtest.New(t),
	}
	if seq != nil {
		cfg.DurableSeq = seq.Load
	}
	if epoch != nil {
		cfg.Epoch = func() cluster.Token { return cluster.Token(epoch.Load()) }
	}
	m, err := cluster.Join(ctx, cfg)
	if err != nil {
		t.Fatalf("join %s to shard %s: %v", name, shard, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	return m
}

// within fails the test unless cond holds within d, polling every 10 ms.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
