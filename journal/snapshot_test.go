package journal

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSnapshots(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, dir string) // applied after snapshots 100, 200, 300
		wantSeq int64                          // 0: none valid
	}{
		{"newest_wins", func(*testing.T, string) {}, 300},
		{"flipped_byte_falls_back", func(t *testing.T, d string) { flipAt(t, filepath.Join(d, snapName(300)), 40) }, 200},
		{"flipped_hash_falls_back", func(t *testing.T, d string) { flipAt(t, filepath.Join(d, snapName(300)), 17) }, 200},
		{"truncated_falls_back", func(t *testing.T, d string) { os.Truncate(filepath.Join(d, snapName(300)), 50) }, 200},
		{"empty_falls_back", func(t *testing.T, d string) { os.Truncate(filepath.Join(d, snapName(300)), 0) }, 200},
		{"two_damaged_fall_back_twice", func(t *testing.T, d string) {
			zeroAt(t, filepath.Join(d, snapName(300)), 0, 8)
			flipAt(t, filepath.Join(d, snapName(200)), 60)
		}, 100},
		{"renamed_file_refused", func(t *testing.T, d string) {
			os.Rename(filepath.Join(d, snapName(300)), filepath.Join(d, snapName(400)))
		}, 200},
		{"all_damaged_none", func(t *testing.T, d string) {
			for _, s := range []int64{100, 200, 300} {
				flipAt(t, filepath.Join(d, snapName(s)), 33)
			}
		}, 0},
		{"leftover_tmp_ignored", func(t *testing.T, d string) {
			os.WriteFile(filepath.Join(d, snapName(400)+tmpSuffix), []byte("half a snapshot"), 0o644)
		}, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data := func(seq int64) []byte { return bytes.Repeat([]byte{byte(seq)}, int(seq)) }
			for _, s := range []int64{100, 200, 300} {
				if err := WriteSnapshot(dir, s, uint64(s)*7, data(s)); err != nil {
					t.Fatal(err)
				}
			}
			tc.damage(t, dir)
			seq, hash, got, ok, err := LatestSnapshot(dir)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantSeq == 0 {
				if ok {
					t.Fatalf("found snapshot %d in a folder of damaged ones", seq)
				}
				return
			}
			if !ok || seq != tc.wantSeq || hash != uint64(seq)*7 || !bytes.Equal(got, data(seq)) {
				t.Fatalf("got seq %d hash %d ok %v (%d bytes), want %d", seq, hash, ok, len(got), tc.wantSeq)
			}
		})
	}
}

func TestSnapshotsPruned(t *testing.T) {
	dir := t.TempDir()
	for s := int64(1); s <= 10; s++ {
		if err := WriteSnapshot(dir, s*10, 0, []byte("state")); err != nil {
			t.Fatal(err)
		}
	}
	seqs, _ := listSnapshots(dir)
	if len(seqs) != SnapshotsKept || seqs[0] != 100 {
		t.Fatalf("kept %v", seqs)
	}
	if _, _, _, ok, err := LatestSnapshot(filepath.Join(dir, "missing")); ok || err != nil {
		t.Fatalf("missing folder: ok %v err %v", ok, err)
	}
}

// TestSnapshotAtMost: the newest snapshot at or before a seq, none when
// every one kept is later.
func TestSnapshotAtMost(t *testing.T) {
	dir := t.TempDir()
	for _, seq := range []int64{100, 200, 300} {
		if err := WriteSnapshot(dir, seq, uint64(seq), []byte("state")); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ atMost, want int64 }{{1000, 300}, {300, 300}, {299, 200}, {150, 100}, {100, 100}, {99, 0}} {
		seq, hash, _, ok, err := SnapshotAtMost(dir, c.atMost)
		if err != nil || ok != (c.want > 0) || seq != c.want || hash != uint64(c.want) {
			t.Errorf("SnapshotAtMost(%d) = seq %d hash %d ok %v err %v, want seq %d", c.atMost, seq, hash, ok, err, c.want)
		}
	}
}

// TestSnapshotWrittenInPiecesAndMovedIntoPlace: a snapshot written a piece
// at a time reads back as the one WriteSnapshot would have written; it is
// moved into a journal folder only whole and unchanged, and with the state
// hash it claims.
func TestSnapshotWrittenInPiecesAndMovedIntoPlace(t *testing.T) {
	data := bytes.Repeat([]byte("state."), 1000)
	write := func(t *testing.T, pieces int) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "incoming")
		w, err := CreateSnapshot(path, 42, 0xbeef, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		step := len(data) / pieces
		for off := 0; off < len(data); off += step {
			if _, err := w.Write(data[off:min(off+step, len(data))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		name    string
		damage  func(path string)
		seq     int64
		hash    uint64
		wantErr string
	}{
		{"whole_moves", func(string) {}, 42, 0xbeef, ""},
		{"flipped_byte_refused", func(p string) { flipAt(t, p, 100) }, 42, 0xbeef, "crc mismatch"},
		{"truncated_refused", func(p string) { os.Truncate(p, 200) }, 42, 0xbeef, "does not fit"},
		{"other_seq_refused", func(string) {}, 43, 0xbeef, "header names seq 42"},
		{"other_hash_refused", func(string) {}, 42, 0xfeed, "state hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, dir := write(t, 7), t.TempDir()
			tc.damage(path)
			err := MoveSnapshot(path, dir, tc.seq, tc.hash)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			seq, hash, got, ok, err := LatestSnapshot(dir)
			if !ok || err != nil || seq != 42 || hash != 0xbeef || !bytes.Equal(got, data) {
				t.Fatalf("moved snapshot reads as seq %d hash %x (%d bytes) ok %v err %v", seq, hash, len(got), ok, err)
			}
		})
	}

	w, err := CreateSnapshot(filepath.Join(t.TempDir(), "incoming"), 1, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("12345")); err == nil {
		t.Fatal("wrote 5 bytes into a snapshot of 4")
	}
	if err := w.Finish(); err == nil || !strings.Contains(err.Error(), "0 of 4 bytes") {
		t.Fatalf("finished a snapshot short of its data: %v", err)
	}
}

// TestOpenSnapshotOutlivesPruning: a snapshot held open (a primary sending
// it) reads whole even after newer checkpoints pruned its file.
func TestOpenSnapshotOutlivesPruning(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte{7}, 10000)
	if err := WriteSnapshot(dir, 1, 9, data); err != nil {
		t.Fatal(err)
	}
	s, ok, err := OpenLatestSnapshot(dir)
	if !ok || err != nil {
		t.Fatalf("ok %v err %v", ok, err)
	}
	defer s.Close()
	for seq := int64(2); seq <= SnapshotsKept+1; seq++ {
		if err := WriteSnapshot(dir, seq, 0, []byte("newer")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, snapName(1))); !os.IsNotExist(err) {
		t.Fatalf("snapshot 1 not pruned: %v", err)
	}
	got := make([]byte, s.Size)
	if _, err := s.ReadAt(got, 0); err != nil || s.Seq != 1 || s.Hash != 9 || !bytes.Equal(got, data) {
		t.Fatalf("pruned snapshot read as seq %d hash %d err %v", s.Seq, s.Hash, err)
	}
}

// TestSnapshotsPrunedKeepTheAnchor: in a journal that begins after seq 1
// (at 101), pruning keeps, beside the newest SnapshotsKept, the oldest
// snapshot the journal follows (100): without it the events of records
// 101 to 179 could no longer be rebuilt. A snapshot before the journal
// (90) is no anchor. OpenSnapshotToReplay gives the newest snapshot at or
// before a seq that the journal follows, or the anchor when none is;
// ReplayableFrom names the anchor, and the next one when it is removed.
func TestSnapshotsPrunedKeepTheAnchor(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir, func(o *Options) { o.FirstSeq = 101 })
	for seq := int64(101); seq <= 200; seq++ {
		if err := j.Append(seq, record(seq)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Commit(); err != nil {
		t.Fatal(err)
	}
	j.Close()
	for seq := int64(90); seq <= 200; seq += 10 {
		if err := WriteSnapshot(dir, seq, uint64(seq), []byte("state")); err != nil {
			t.Fatal(err)
		}
	}
	seqs, _ := listSnapshots(dir)
	if want := []int64{200, 190, 180, 100}; !slices.Equal(seqs, want) {
		t.Fatalf("kept %v, want %v", seqs, want)
	}
	for _, c := range []struct{ from, want int64 }{{1000, 200}, {185, 180}, {179, 100}, {100, 100}, {50, 100}} {
		s, ok, err := OpenSnapshotToReplay(dir, c.from)
		if err != nil || !ok || s.Seq != c.want {
			t.Errorf("OpenSnapshotToReplay(%d) = %v ok %v err %v, want seq %d", c.from, s, ok, err, c.want)
		}
		if ok {
			s.Close()
		}
	}
	if seq, ok, err := ReplayableFrom(dir); err != nil || !ok || seq != 100 {
		t.Errorf("ReplayableFrom = %d ok %v err %v, want 100", seq, ok, err)
	}
	if err := os.Remove(filepath.Join(dir, snapName(100))); err != nil {
		t.Fatal(err)
	}
	if seq, ok, err := ReplayableFrom(dir); err != nil || !ok || seq != 180 {
		t.Errorf("anchor removed: ReplayableFrom = %d ok %v err %v, want 180", seq, ok, err)
	}
	if s, ok, err := OpenSnapshotToReplay(dir, 150); err != nil || !ok || s.Seq != 180 {
		t.Errorf("anchor removed: OpenSnapshotToReplay(150) = %v ok %v err %v, want the snapshot at 180", s, ok, err)
	} else {
		s.Close()
	}
}

// TestSnapshotsPrunedFromSeqOne: a journal that begins at seq 1 can be
// replayed from its first record, so no anchor is kept.
func TestSnapshotsPrunedFromSeqOne(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir)
	for seq := int64(1); seq <= 100; seq++ {
		if err := j.Append(seq, record(seq)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Commit(); err != nil {
		t.Fatal(err)
	}
	j.Close()
	for seq := int64(10); seq <= 100; seq += 10 {
		if err := WriteSnapshot(dir, seq, 0, []byte("state")); err != nil {
			t.Fatal(err)
		}
	}
	if seqs, _ := listSnapshots(dir); !slices.Equal(seqs, []int64{100, 90, 80}) {
		t.Fatalf("kept %v, want the newest three", seqs)
	}
	if seq, ok, err := ReplayableFrom(dir); err != nil || !ok || seq != 0 {
		t.Errorf("ReplayableFrom = %d ok %v err %v, want 0 (the first record)", seq, ok, err)
	}
}

// TestSnapshotsPrunedKeepAValidAnchor: in a journal that begins at 101,
// a damaged anchor is no anchor. Pruning keeps the oldest snapshot that
// validates and that the journal follows, so a replay from before the
// newest kept snapshots still has a usable start: damaged early, the
// anchor (100) gives way to 110; damaged after the newest three were
// written, it gives way to 180, which the next checkpoint would otherwise
// prune.
func TestSnapshotsPrunedKeepAValidAnchor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		damageAt int64   // the anchor (100) is damaged right after this snapshot is written
		last     int64   // the newest snapshot written
		wantKept []int64 // newest first
		want     int64   // the snapshot a replay after record 100 or 150 starts from
	}{
		{"anchor_damaged_early_next_one_kept", 120, 200, []int64{200, 190, 180, 110}, 110},
		{"anchor_damaged_late_next_one_kept", 200, 210, []int64{210, 200, 190, 180}, 180},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			j, _ := openT(t, dir, func(o *Options) { o.FirstSeq = 101 })
			for seq := int64(101); seq <= 220; seq++ {
				if err := j.Append(seq, record(seq)); err != nil {
					t.Fatal(err)
				}
			}
			if err := j.Commit(); err != nil {
				t.Fatal(err)
			}
			j.Close()
			for seq := int64(100); seq <= tc.last; seq += 10 {
				if err := WriteSnapshot(dir, seq, uint64(seq), []byte("state")); err != nil {
					t.Fatal(err)
				}
				if seq == tc.damageAt {
					flipAt(t, filepath.Join(dir, snapName(100)), 40)
				}
			}
			if seqs, _ := listSnapshots(dir); !slices.Equal(seqs, tc.wantKept) {
				t.Errorf("kept %v, want %v", seqs, tc.wantKept)
			}
			if seq, ok, err := ReplayableFrom(dir); err != nil || !ok || seq != tc.want {
				t.Errorf("ReplayableFrom = %d ok %v err %v, want %d", seq, ok, err, tc.want)
			}
			for _, from := range []int64{100, 150} {
				s, ok, err := OpenSnapshotToReplay(dir, from)
				if err != nil || !ok || s.Seq != tc.want {
					t.Errorf("OpenSnapshotToReplay(%d) = %v ok %v err %v, want seq %d", from, s, ok, err, tc.want)
				}
				if ok {
					s.Close()
				}
			}
		})
	}
}
