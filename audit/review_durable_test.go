package audit

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/ringex/ringex/journal"
)

// TestVerifyAgreesWithOpenOnLostDurableRecords: the last records of the
// active segment were fsynced (the DURABLE mark names them: acknowledged)
// and are then zeroed. Open refuses the journal ("records ... are
// missing"), so `ringex serve` does not start; `ringex replay verify` must
// not call the same folder OK (issue 15 item 8: verify and serve agree).
func TestVerifyAgreesWithOpenOnLostDurableRecords(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	cmds := newLoadGen(7, 3, 4).commands(600)
	writeJournal(t, dir, cmds, 64<<10)
	// What a node in sync mode "batch" leaves beside it: the DURABLE mark
	// of its last Commit.
	var mark [16]byte
	last := cmds[len(cmds)-1].Seq
	binary.LittleEndian.PutUint64(mark[:8], uint64(last))
	binary.LittleEndian.PutUint64(mark[8:], ^uint64(last))
	if err := os.WriteFile(filepath.Join(dir, journal.DurableName), mark[:], 0o644); err != nil {
		t.Fatal(err)
	}
	segs := segmentFiles(t, dir)
	active := segs[len(segs)-1]
	end := recordsEnd(t, active)
	zeroed := int64(3 * recordBytes)
	f, err := os.OpenFile(active, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, zeroed), end-zeroed); err != nil {
		t.Fatal(err)
	}
	f.Close()

	served := filepath.Join(t.TempDir(), "journal")
	copyDir(t, dir, served)
	j, oerr := journal.Open(journal.Options{Dir: served, Logf: func(string, ...any) {}})
	if oerr == nil {
		j.Close()
		t.Fatal("Open accepted a journal missing its last 3 durable records")
	}
	code, out, errOut := runMain("verify", "--journal", dir)
	if code == 0 {
		t.Fatalf("verify exit 0 (OK) on a journal that Open refuses (%v):\n%s%s", oerr, out, errOut)
	}
}
