package config

import (
	"strings"
	"testing"
)

// TestTradingDayEnd: tradingDay.endUTC is "HH:MM" in UTC, or empty for no
// scheduled end; anything else is refused, naming the field.
func TestTradingDayEnd(t *testing.T) {
	if c := Default(); c.TradingDay.EndUTC != "" {
		t.Fatalf("the default ends the day on its own at %q", c.TradingDay.EndUTC)
	}
	for _, tc := range []struct {
		in     string
		ok     bool
		minute int
	}{{"", false, 0}, {"21:00", true, 21 * 60}, {"00:05", true, 5}, {"23:59", true, 23*60 + 59}} {
		at, ok, err := ParseEndUTC(tc.in)
		if err != nil || ok != tc.ok || int(at.Minutes()) != tc.minute {
			t.Errorf("ParseEndUTC(%q) = %v, %v, %v", tc.in, at, ok, err)
		}
	}
	for _, bad := range []string{"24:00", "9:00", "21:00:00", "21h", "noon"} {
		c := Default()
		c.TradingDay.EndUTC = bad
		if err := c.Check(); err == nil {
			t.Errorf("endUTC %q accepted", bad)
		}
	}
}

// TestAdminBeyondLoopbackNeedsAToken: config.Check refuses an admin
// endpoint other machines can reach unless a token guards it.
func TestAdminBeyondLoopbackNeedsAToken(t *testing.T) {
	for _, tc := range []struct {
		admin, token string
		ok           bool
	}{
		{"127.0.0.1:9880", "", true},
		{"localhost:9880", "", true},
		{"[::1]:9880", "", true},
		{"0.0.0.0:9880", "", false},
		{"10.1.2.3:9880", "", false},
		{":9880", "", false},
		{"0.0.0.0:9880", "t", true},
	} {
		cfg := Default()
		cfg.Replication.Admin, cfg.Replication.AdminToken = tc.admin, tc.token
		if err := cfg.Check(); (err == nil) != tc.ok {
			t.Errorf("admin %q token %q: Check() = %v, want ok %v", tc.admin, tc.token, err, tc.ok)
		}
	}
}

// TestClusterBlock: without cluster.etcd nothing of the block is read; with
// it, shard and name are required, the lease is whole seconds of at least
// one, replication.listen is required with a reachable host and a fixed
// port, role and primary must be empty (etcd decides them), and failoverMs
// is not read.
func TestClusterBlock(t *testing.T) {
	etcd := []string{"http://127.0.0.1:2379"}
	on := Cluster{Etcd: etcd, Shard: "s1", Name: "n1", LeaseTTLMs: 2000} // a block Check takes
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string // "" accepted, else a part of the error
	}{
		{"off_by_default", func(c *Config) {}, ""},
		{"off_ignores_the_block", func(c *Config) { c.Cluster.LeaseTTLMs = 7 }, ""},
		{"on", func(c *Config) { c.Cluster = on }, ""},
		{"on_ignores_async_failover", func(c *Config) {
			c.Cluster = Cluster{Etcd: etcd, Shard: "s1", Name: "n1", LeaseTTLMs: 1000}
			c.Replication.Mode, c.Replication.FailoverMs = ModeAsync, 500
		}, ""},
		{"no_shard", func(c *Config) { c.Cluster = Cluster{Etcd: etcd, Name: "n1", LeaseTTLMs: 2000} }, "cluster.shard and cluster.name"},
		{"no_name", func(c *Config) { c.Cluster = Cluster{Etcd: etcd, Shard: "s1", LeaseTTLMs: 2000} }, "cluster.shard and cluster.name"},
		{"lease_not_whole_seconds", func(c *Config) { c.Cluster = Cluster{Etcd: etcd, Shard: "s1", Name: "n1", LeaseTTLMs: 1500} }, "cluster.leaseTtlMs 1500"},
		{"lease_under_a_second", func(c *Config) { c.Cluster = Cluster{Etcd: etcd, Shard: "s1", Name: "n1", LeaseTTLMs: 0} }, "cluster.leaseTtlMs 0"},
		{"no_replication_listen", func(c *Config) {
			c.Cluster = on
			c.Replication.Listen = ""
		}, "replication.listen is required with cluster.etcd"},
		{"replication_listen_any_port", func(c *Config) {
			c.Cluster = on
			c.Replication.Listen = "127.0.0.1:0"
		}, "replication.listen \"127.0.0.1:0\""},
		{"replication_listen_all_hosts", func(c *Config) {
			c.Cluster = on
			c.Replication.Listen = "0.0.0.0:9879"
		}, "give a host they reach"},
		{"role_given", func(c *Config) {
			c.Cluster = on
			c.Replication.Role = RolePrimary
		}, "etcd decides the role"},
		{"primary_given", func(c *Config) {
			c.Cluster = on
			c.Replication.Primary = "127.0.0.1:9979"
		}, "etcd decides the role"},
		{"bad_mode", func(c *Config) {
			c.Cluster = on
			c.Replication.Mode = ReplicationMode(9)
		}, "replication.mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.change(&c)
			err := c.Check()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Check() = %v, want %q", err, tc.want)
			}
		})
	}
}

// A symbol name longer than the journal's symbol scale record holds is
// refused, naming symbols[i].name; one of MaxSymbolName bytes is not.
func TestSymbolNameLength(t *testing.T) {
	c := Default()
	c.Symbols = append([]Symbol(nil), c.Symbols...)
	c.Symbols[0].Name = strings.Repeat("S", MaxSymbolName)
	if err := c.Check(); err != nil {
		t.Fatalf("a %d-byte name: %v", MaxSymbolName, err)
	}
	c.Symbols[0].Name += "S"
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "symbols[0].name") {
		t.Fatalf("a %d-byte name: %v", MaxSymbolName+1, err)
	}
}
