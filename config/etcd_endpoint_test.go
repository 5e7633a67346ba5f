package config

import (
	"strings"
	"testing"
)

// Claim (issue 17 brief: config validation): a cluster.etcd endpoint that
// cannot be an etcd client URL is refused by Check with an error naming
// it. Today Check takes any string, and 'ringex serve' then waits in
// cluster.Join for a lease grant that can never be answered, silently,
// until it is killed.
func TestClusterEtcdEndpointMalformedRefused(t *testing.T) {
	for _, tc := range []struct{ name, endpoint string }{
		{"empty", ""},
		{"words", "not a url"},
		{"port_out_of_range", "http://127.0.0.1:99999"},
		{"no_port", "http://127.0.0.1"},
		{"port_not_a_number", "127.0.0.1:etcd"},
		{"unknown_scheme", "ftp://127.0.0.1:2379"},
		{"path_after_the_port", "http://127.0.0.1:2379/v3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Cluster = Cluster{Etcd: []string{"http://127.0.0.1:2379", tc.endpoint}, Shard: "s1", Name: "n1", LeaseTTLMs: 2000}
			err := c.Check()
			if err == nil || !strings.Contains(err.Error(), "cluster.etcd[1]") {
				t.Errorf("Check() with endpoint %q = %v, want an error naming cluster.etcd[1]", tc.endpoint, err)
			}
		})
	}
	for _, ok := range []string{"http://127.0.0.1:2379", "https://etcd1.example:2379", "127.0.0.1:2379", "http://[::1]:2379"} {
		c := Default()
		c.Cluster = Cluster{Etcd: []string{ok}, Shard: "s1", Name: "n1", LeaseTTLMs: 2000}
		if err := c.Check(); err != nil {
			t.Errorf("Check() with endpoint %q = %v, want it taken", ok, err)
		}
	}
}
