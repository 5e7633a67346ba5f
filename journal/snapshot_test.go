package journal

import (
	"bytes"
	"os"
	"path/filepath"
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
