package replica

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ringex/ringex/journal"
)

// InstallSnapshot makes the journal folder dir continue the primary's
// journal from a snapshot it sent (BehindError): the standby's old journal
// ends before the snapshot and lacks the records between, so it cannot be
// appended to. A new folder is built beside it, an empty journal beginning
// at e.Seq+1 (journal.Options.FirstSeq), and the snapshot file the Receiver
// wrote (e.Path) is verified whole (its CRC, seq and state hash) and moved
// into it (journal.MoveSnapshot: a rename, no copy, so memory stays bounded
// whatever its size); then the old folder, if any, is kept as
// <dir>.behind-<unix ns> for an operator to inspect or remove (nothing is
// deleted) and the new one takes its name. A crash midway leaves either the
// old folder or none at dir: a standby started on none is sent the
// snapshot again. e.Path must be on dir's file system (the Receiver's
// SnapshotDir: the data folder). The journal must not be open. Returns the
// kept folder's name, "" when there was none.
//
// The standby then starts as any node does: it restores the newest snapshot
// (this one), replays the journal after it (nothing yet) and follows from
// e.Seq+1.
func InstallSnapshot(dir string, e *BehindError, log *slog.Logger) (string, error) {
	start := time.Now()
	tmp := dir + ".install"
	if err := os.RemoveAll(tmp); err != nil {
		return "", fmt.Errorf("replica: install snapshot: %w", err)
	}
	j, err := journal.Open(journal.Options{Dir: tmp, FirstSeq: e.Seq + 1, Log: log})
	if err != nil {
		return "", fmt.Errorf("replica: install snapshot: %w", err)
	}
	err = j.Close()
	if err == nil {
		err = journal.MoveSnapshot(e.Path, tmp, e.Seq, e.Hash)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("replica: install the snapshot at seq %d in %s: %w", e.Seq, tmp, err)
	}
	aside, err := swapDir(dir, fmt.Sprintf("%s.behind-%d", dir, time.Now().UnixNano()), tmp, true)
	if err != nil {
		return "", fmt.Errorf("replica: install snapshot: %w", err)
	}
	kept := "there was none"
	if aside != "" {
		kept = "kept in " + aside
	}
	log.With("component", "replica").Warn("INSTALLED the primary's snapshot; the journal continues after it", "seq", e.Seq, "bytes", e.Size,
		"state_hash", fmt.Sprintf("%016x", e.Hash), "dir", dir, "took", time.Since(start).Round(time.Millisecond), "old_last_seq", e.Last, "old_journal", kept)
	return aside, nil
}
