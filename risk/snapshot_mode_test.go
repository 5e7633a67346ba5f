package risk

import (
	"testing"

	"github.com/ringex/ringex/matcher"
)

// SnapshotMode reads the mode of a snapshot of either version a state
// writes, which is no engine snapshot; an engine's snapshot, or bytes too
// short to say, name no mode.
func TestSnapshotModeTellsARiskSnapshotFromAnEngines(t *testing.T) {
	for _, m := range []Mode{ModeLimits, ModeSpot} {
		cfg := snapConfig(3, "0.01")
		cfg.Mode = m
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{"snapshot": s.Snapshot(nil), "version 1 snapshot": s.LegacySnapshot(nil)} {
			if got, ok := SnapshotMode(b); !ok || got != m {
				t.Errorf("mode %d: SnapshotMode(%s) = %d, %v; want %d, true", m, name, got, ok, m)
			}
			if matcher.IsEngineSnapshot(b) {
				t.Errorf("mode %d: the risk state's %s reads as an engine's", m, name)
			}
		}
	}
	engine := testEngines(t, 1, matcher.STPNone)[0].Snapshot(nil)
	if !matcher.IsEngineSnapshot(engine) {
		t.Error("an engine's snapshot does not read as one")
	}
	for name, b := range map[string][]byte{"an engine's snapshot": engine, "nothing": nil, "one byte": {3}, "version 0": {0, 2}} {
		if got, ok := SnapshotMode(b); ok {
			t.Errorf("SnapshotMode(%s) = %d, true; want no mode", name, got)
		}
	}
}
