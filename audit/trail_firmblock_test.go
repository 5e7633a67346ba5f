package audit

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// A member's own block and its firm's block are two different records
// (matcher.AccountBlock.Firm, in Type): the firm's unblock lifts only the
// firm's. The trail must let its reader tell them apart: the row of the
// firm's unblock of BROKER01 cannot read like an unblock of BROKER01's
// own block, since BROKER01 stays blocked after it: it reads firm in
// ord_type, the own block's empty. Compared: every
// column but the record's own (seq, time, time_ns) and its references
// (clordid, orig_clordid: one per record whatever it is).
func TestFirmBlockTrailTellsItFromOwnBlock(t *testing.T) {
	cfg := firmVenue(t, "BROKER01")
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name    string
		unblock bool
	}{{"BROKER01", false}, {"FIRM_X", false}, {"FIRM_X", true}, {"BROKER01", true}} {
		if _, err := n.Block(step.name, step.unblock); err != nil {
			t.Fatal(err)
		}
	}
	waitPublished(t, n)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "cfg.json")
	writeConfig(t, f, cfg)
	trail := replayOK(t, "trail", "--journal", filepath.Join(cfg.DataDir, "journal"), "--config", f, "--format", "json")
	var rows []map[string]any // the command rows of BROKER01's block and unblock records, in journal order
	for line := range strings.Lines(trail) {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("trail row %q: %v", line, err)
		}
		if w, _ := row["what"].(string); (w == "block" || w == "unblock") && row["row"] == "command" && row["broker"] == "BROKER01" {
			for _, k := range []string{"seq", "time", "time_ns", "clordid", "orig_clordid"} {
				delete(row, k)
			}
			rows = append(rows, row)
		}
	}
	if len(rows) != 4 {
		t.Fatalf("%d block/unblock command rows of BROKER01, want 4 (own block, firm's block, firm's unblock, own unblock):\n%s", len(rows), trail)
	}
	same := func(a, b map[string]any) bool {
		x, _ := json.Marshal(a)
		y, _ := json.Marshal(b)
		return string(x) == string(y)
	}
	if same(rows[0], rows[1]) || same(rows[2], rows[3]) {
		t.Errorf("the trail's rows of BROKER01's own block and its firm's block read the same (the firm's record is Type 1, which the trail does not show):\nown block   %v\nfirm block  %v\nfirm unblock %v\nown unblock %v", rows[0], rows[1], rows[2], rows[3])
	}
	for i, want := range []string{"", "firm", "firm", ""} { // docs/operations.md: a member's record of its firm's block reads firm in ord_type
		if rows[i]["ord_type"] != want {
			t.Errorf("row %d of BROKER01's blocks: ord_type %q, want %q: %v", i, rows[i]["ord_type"], want, rows[i])
		}
	}
}
