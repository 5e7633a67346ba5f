package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/etcdtest"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// TestEtcdPrimaryCutOffLogsItsBrokersOut: a primary of a shard led through
// etcd that loses etcd stops acknowledging once its guard runs out, and
// once its lease has certainly expired (guard deadline + margin + TTL) it
// logs its brokers out with a Text saying why, instead of keeping the FIX
// port open, acknowledging nothing, until brokers time out. An order taken
// after the guard ran out is never reported by it before that Logout;
// once etcd is back the node leads again and the broker, logged on
// again, gets that order's report.
func TestEtcdPrimaryCutOffLogsItsBrokersOut(t *testing.T) {
	etcd := etcdtest.Start(t)
	var logs logLines
	cfg := replCfg(t.TempDir(), "", "")
	cfg.Replication.Role, cfg.Replication.Listen = config.RoleNone, fixtest.FreeAddr(t)
	cfg.Replication.Mode = config.ModeAsync
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	const ttl = 2 * time.Second
	cfg.Cluster = config.Cluster{Etcd: []string{etcd.Endpoint()}, Shard: "fence", Name: "a", LeaseTTLMs: int(ttl / time.Millisecond)}
	ctx, cancel := context.WithCancel(context.Background())
	started, ran := make(chan *node.Node, 8), make(chan error, 1)
	go func() {
		ran <- node.Run(ctx, cfg, node.RunOptions{Options: node.Options{Log: logs.Tee(t, "").Logger()},
			Serving: func(n *node.Node) func() { started <- n; return func() {} }})
	}()
	t.Cleanup(func() { cancel(); <-ran })
	n := nextStart(t, started, ran)
	waitUntil(t, "the node leads", func() bool { st, _ := n.ReplicationStats(); return st.Role == config.RolePrimary })

	b := fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b.Close()
	newOrder := func(id string) {
		b.Send("D", tag.ClOrdID, id, tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "100", tag.TimeInForce, "1")
	}
	newOrder("BEFORE")
	expect(t, "the order before the cut", b.Next(time.Minute), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "BEFORE"})

	stopped := make(chan struct{})
	go func() { etcd.Stop(); close(stopped) }() // closing its connections can take longer than the lease
	waitUntil(t, "a keep-alive fails", func() bool { return logs.has("keep-alive failed") })
	// The lease's earliest expiry, as logged: the guard ran out a margin
	// before it, and the lease is taken as gone a TTL after it.
	expiry := leaseMayExpire(t, &logs)
	time.Sleep(time.Until(expiry))
	newOrder("DURING")
	text := b.Logout(time.Minute)
	if !strings.Contains(text, "lease expired") {
		t.Fatalf("Logout Text %q, want it to say the lease expired", text)
	}
	for _, m := range b.Drain() {
		if f := fixtest.Fields(m); f[tag.ClOrdID] == "DURING" {
			t.Fatalf("a report of an order taken after the guard ran out reached the broker: %v", f)
		}
	}
	if !logs.has("LEASE EXPIRED") {
		t.Error("no LEASE EXPIRED log line")
	}
	if !logs.has("ACKNOWLEDGEMENTS HELD") {
		t.Error("the order taken after the guard ran out was not held")
	}

	<-stopped
	etcd.Start()
	n = nextStart(t, started, ran)
	waitUntil(t, "the node leads again", func() bool { st, _ := n.ReplicationStats(); return st.Role == config.RolePrimary })
	for {
		f := fixtest.Fields(b.Next(time.Minute))
		if f[tag.ClOrdID] == "DURING" {
			break
		}
	}
}

// leaseMayExpire is the instant the keep-alive failure line says the lease
// may expire at.
func leaseMayExpire(t *testing.T, logs *logLines) time.Time {
	t.Helper()
	for _, l := range logs.All() {
		if _, at, ok := strings.Cut(l, " expires="); ok {
			at, _, _ = strings.Cut(at, " ")
			ts, err := time.Parse(time.RFC3339Nano, at)
			if err != nil {
				t.Fatalf("keep-alive failure line %q: %v", l, err)
			}
			return ts
		}
	}
	t.Fatal("no keep-alive failure line")
	return time.Time{}
}
