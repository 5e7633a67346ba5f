package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/node"
)

// Claim (issue 17 item 4, project rules: no silent hang): a node whose
// etcd does not answer says so while it waits. A node started with
// cluster.etcd naming an address where nothing listens waits in
// cluster.Join for its lease grant until its context ends; meanwhile its
// log names that address, so that 'ringex serve' never sits silent,
// neither serving nor saying why. Here it is given 5 lease TTLs.
func TestEtcdUnreachableAtStartIsLogged(t *testing.T) {
	cfg := replCfg(t.TempDir(), "", "")
	cfg.Replication.Role, cfg.Replication.Listen = config.RoleNone, fixtest.FreeAddr(t)
	addr := fixtest.FreeAddr(t) // nothing listens here
	cfg.Cluster = config.Cluster{Etcd: []string{"http://" + addr}, Shard: "s1", Name: "a", LeaseTTLMs: 1000}
	var logs logLines
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := node.Run(ctx, cfg, node.RunOptions{Options: node.Options{Publisher: &sink{}, Log: logs.Logger()}})
	t.Logf("Run returned %v once its context ended", err)
	if !logs.has(addr) {
		t.Fatalf("for 5 lease TTLs etcd at %s did not answer, and the node logged nothing naming it: log %q", addr, strings.Join(logs.All(), " | "))
	}
}
