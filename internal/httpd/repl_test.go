package httpd_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/httpd"
	"github.com/ringex/ringex/node"
)

func replicated(t *testing.T, role, primary string) (*node.Node, *httpd.Server) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	settings := fmt.Sprintf(`{"role": %q, "listen": "127.0.0.1:0", "primary": %q, "mode": "sync", "onStandbyLost": "wait",
		"syncTimeoutMs": 2000, "heartbeatMs": 20}`, role, primary)
	cfg.Replication = config.Replication{}
	if err := json.Unmarshal([]byte(settings), &cfg.Replication); err != nil { // as the config file says it
		t.Fatal(err)
	}
	n, srv := startWithEndpoint(t, cfg)
	srv.Attach(n)
	return n, srv
}

// TestReadyzOfAPairAndAnOrphan: a primary is ready; a standby whose
// primary does not answer is not, and says so; a standby following a
// live primary becomes ready once it has caught up. The primary's
// metrics show its standby.
func TestReadyzOfAPairAndAnOrphan(t *testing.T) {
	p, srvP := replicated(t, "primary", "")
	if code, body := get(t, srvP, "/readyz"); code != http.StatusOK || !strings.Contains(body, "primary, serving FIX") {
		t.Errorf("primary /readyz: HTTP %d %q, want 200", code, body)
	}
	_, srvO := replicated(t, "standby", fixtest.FreeAddr(t))
	if code, body := get(t, srvO, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not caught up") {
		t.Errorf("orphan standby /readyz: HTTP %d %q, want 503, not caught up", code, body)
	}
	_, srvS := replicated(t, "standby", p.ReplicationAddr().String())
	code, body := 0, ""
	for range 300 { // at most 30 s
		if code, body = get(t, srvS, "/readyz"); code == http.StatusOK {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != http.StatusOK || !strings.Contains(body, "standby, caught up") {
		t.Errorf("standby of a live primary /readyz: HTTP %d %q, want 200, caught up", code, body)
	}
	_, metrics := get(t, srvP, "/metrics")
	for _, want := range []string{`ringex_role{role="primary"} 1`, `ringex_replication_standby_connected 1`, `ringex_epoch 1`} {
		if !strings.Contains(metrics, "\n"+want) {
			t.Errorf("primary /metrics lacks %q", want)
		}
	}
	if _, m := get(t, srvS, "/metrics"); !strings.Contains(m, "\nringex_replication_caught_up 1") || !strings.Contains(m, "\nringex_replication_primary_silence_seconds ") {
		t.Error("standby /metrics lacks ringex_replication_caught_up 1 or ringex_replication_primary_silence_seconds")
	}
}
