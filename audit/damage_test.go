package audit

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// recordsEnd is where a segment's records end: its size, but for the
// active segment, which the journal keeps zero-filled after them.
func recordsEnd(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := segHeaderBytes
	for p+16 <= len(b) && !bytes.Equal(b[p:p+16], make([]byte, 16)) {
		p += 16 + int(binary.LittleEndian.Uint32(b[p+4:]))
	}
	return int64(p)
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// archiveSegment moves a sealed segment into the archive as zstd, as the
// journal's archiver does.
func archiveSegment(t *testing.T, dir, seg string) string {
	t.Helper()
	arc := archiveCopy(t, dir, seg, nil)
	if err := os.Remove(seg); err != nil {
		t.Fatal(err)
	}
	return arc
}

// archiveCopy writes the archived copy of a segment and leaves the hot one,
// as the journal's archiver does, with damage (when not nil) done to the
// plain bytes before they are compressed.
func archiveCopy(t *testing.T, dir, seg string, damage func(b []byte)) string {
	t.Helper()
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	if damage != nil {
		damage(b)
	}
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	z := enc.EncodeAll(b, nil)
	enc.Close()
	arc := filepath.Join(dir, "archive", filepath.Base(seg)+".zst")
	if err := os.MkdirAll(filepath.Dir(arc), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(arc, z, 0o644); err != nil {
		t.Fatal(err)
	}
	return arc
}

func runMain(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main(args, &o, &e)
	return code, o.String(), e.String()
}

// TestBadJournals: every kind of damage is a clear message naming what is
// wrong and where, and a non-zero exit; never a panic, never a silent skip.
func TestBadJournals(t *testing.T) {
	good := t.TempDir()
	cmds := newLoadGen(7, 3, 4).commands(3000)
	writeJournal(t, good, cmds, 64<<10)
	segs := segmentFiles(t, good)
	if len(segs) < 4 {
		t.Fatalf("want at least 4 segments, have %d", len(segs))
	}
	base := func(i int) string { return filepath.Base(segs[i]) }
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string) // dir is a copy of good
		args   []string                       // extra args after the journal
		code   int
		want   []string // in stderr or stdout
	}{
		{"clean", func(*testing.T, string) {}, nil, 0, []string{"verify: OK"}},
		{"clean_partly_archived", func(t *testing.T, dir string) {
			archiveSegment(t, dir, filepath.Join(dir, base(0)))
			archiveSegment(t, dir, filepath.Join(dir, base(1)))
		}, nil, 0, []string{"verify: OK", "2 from the archive", "seqs 1..3000"}},
		{"clean_all_archived", func(t *testing.T, dir string) {
			for i := range segs {
				archiveSegment(t, dir, filepath.Join(dir, base(i)))
			}
		}, nil, 0, []string{"verify: OK", strconv.Itoa(len(segs)) + " from the archive", "seqs 1..3000", "note", "no hot segment"}},
		{"clean_with_archived_copies", func(t *testing.T, dir string) {
			archiveCopy(t, dir, filepath.Join(dir, base(0)), nil)
			archiveCopy(t, dir, filepath.Join(dir, base(1)), nil)
		}, nil, 0, []string{"verify: OK", "0 from the archive, 2 archived copies of hot ones checked", "seqs 1..3000"}},
		{"sealed_segment_truncated", func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, base(1)), 24+10*recordBytes+50)
		}, nil, 1, []string{base(1), "offset " + strconv.Itoa(24+10*recordBytes), "truncated record"}},
		{"last_segment_torn_tail", func(t *testing.T, dir string) {
			p := filepath.Join(dir, base(len(segs)-1))
			truncate(t, p, recordsEnd(t, p)-30)
		}, nil, 1, []string{"torn tail", "--allow-torn-tail"}},
		{"last_segment_torn_tail_allowed", func(t *testing.T, dir string) {
			p := filepath.Join(dir, base(len(segs)-1))
			truncate(t, p, recordsEnd(t, p)-30)
		}, []string{"--allow-torn-tail"}, 0, []string{"verify: OK", "note", "torn tail"}},
		{"bit_flip_in_sealed_segment", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, base(2)), 24+5*recordBytes+40)
		}, nil, 1, []string{base(2), "crc mismatch", "offset " + strconv.Itoa(24+5*recordBytes)}},
		{"bit_flip_mid_last_segment", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, base(len(segs)-1)), 24+2*recordBytes+60)
		}, nil, 1, []string{"crc mismatch", "a valid record follows"}},
		{"bit_flip_in_segment_header", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, base(1)), 9)
		}, nil, 1, []string{base(1), "header"}},
		{"missing_middle_segment", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, base(2)))
		}, nil, 1, []string{base(3), "sequence gap"}},
		{"missing_first_segment", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, base(0)))
		}, nil, 1, []string{base(1), "missing"}},
		{"archived_segment_damaged", func(t *testing.T, dir string) {
			arc := archiveSegment(t, dir, filepath.Join(dir, base(1)))
			st, _ := os.Stat(arc)
			flipByte(t, arc, st.Size()/2)
		}, nil, 1, []string{base(1) + ".zst"}},
		{"archived_copy_damaged_beside_its_hot_copy", func(t *testing.T, dir string) {
			archiveCopy(t, dir, filepath.Join(dir, base(1)), func(b []byte) { b[24+5*recordBytes+40] ^= 0x40 })
		}, nil, 1, []string{base(1) + ".zst", "crc mismatch", "offset " + strconv.Itoa(24+5*recordBytes)}},
		{"archived_copy_stream_damaged_beside_its_hot_copy", func(t *testing.T, dir string) {
			arc := archiveCopy(t, dir, filepath.Join(dir, base(1)), nil)
			st, _ := os.Stat(arc)
			flipByte(t, arc, st.Size()/2)
		}, nil, 1, []string{base(1) + ".zst", "offset"}},
		{"damaged_snapshot", func(t *testing.T, dir string) {
			writeSnapshot(t, dir, testVenue(t), 2, cmds, 1000)
			flipByte(t, filepath.Join(dir, "snap-00000000000000001000.snap"), 40)
		}, nil, 1, []string{"snap-00000000000000001000.snap", "damaged snapshot", "crc mismatch"}},
		{"snapshot_of_another_state", func(t *testing.T, dir string) {
			v := testVenue(t)
			_, e := applyAll(t, v, 2, cmds[:900])
			writeSnapshotFile(t, dir, 1000, e)
		}, nil, 1, []string{"snap-00000000000000001000.snap", "differs from the state replayed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "journal")
			copyDir(t, good, dir)
			tc.damage(t, dir)
			code, out, errOut := runMain(append([]string{"verify", "--journal", dir}, tc.args...)...)
			all := out + errOut
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, all)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			if tc.code != 0 {
				// The other verbs refuse the same journal too (a snapshot
				// problem, or a damaged copy that they do not read, only
				// matters to verify).
				if strings.Contains(tc.name, "snapshot") || strings.Contains(tc.name, "beside_its_hot_copy") {
					return
				}
				for _, verb := range [][]string{{"trail"}, {"book", "--symbol", "MSFT"}} {
					code, _, errOut := runMain(append(append(verb, "--journal", dir), tc.args...)...)
					if code == 0 && !strings.Contains(tc.name, "torn") {
						t.Errorf("%s on a damaged journal: exit 0", verb[0])
					}
					if code != 0 && errOut == "" {
						t.Errorf("%s: exit %d with no message", verb[0], code)
					}
				}
			}
		})
	}
}

// TestVerifyAgreesWithOpen: where hot segments and the archive disagree,
// verify and the node's journal.Open give the same answer: both read the
// archived copy of a missing hot segment, and both refuse a damaged copy,
// a gap or an archive that runs past the hot folder, naming the same file.
func TestVerifyAgreesWithOpen(t *testing.T) {
	good := t.TempDir()
	writeJournal(t, good, newLoadGen(7, 3, 4).commands(3000), 64<<10)
	segs := segmentFiles(t, good)
	if len(segs) < 5 {
		t.Fatalf("want at least 5 segments, have %d", len(segs))
	}
	base := func(i int) string { return filepath.Base(segs[i]) }
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		ok     bool
		want   []string // in verify's output and in Open's error
	}{
		{"middle_hot_segment_missing_archived_copy_whole", func(t *testing.T, dir string) {
			archiveSegment(t, dir, filepath.Join(dir, base(2)))
		}, true, nil},
		{"middle_hot_segment_missing_archived_copy_damaged", func(t *testing.T, dir string) {
			archiveCopy(t, dir, filepath.Join(dir, base(2)), func(b []byte) { b[24+7*recordBytes+20] ^= 0x40 })
			os.Remove(filepath.Join(dir, base(2)))
		}, false, []string{base(2) + ".zst", "crc mismatch", "offset " + strconv.Itoa(24+7*recordBytes)}},
		{"middle_hot_segment_missing_no_archived_copy", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, base(2)))
		}, false, []string{base(3), "sequence gap", "offset 0"}},
		{"last_hot_segment_missing_archive_runs_past", func(t *testing.T, dir string) {
			archiveCopy(t, dir, filepath.Join(dir, base(len(segs)-2)), nil)
			os.Remove(filepath.Join(dir, base(len(segs)-1)))
		}, false, []string{base(len(segs)-2) + ".zst", "missing segments"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "journal")
			copyDir(t, good, dir)
			tc.damage(t, dir)
			served := filepath.Join(t.TempDir(), "journal")
			copyDir(t, dir, served) // Open may truncate and writes a LOCK
			code, out, errOut := runMain("verify", "--journal", dir)
			j, oerr := journal.Open(journal.Options{Dir: served, Log: logtest.Discard()})
			if oerr == nil {
				j.Close()
			}
			if (code == 0) != tc.ok || (oerr == nil) != tc.ok {
				t.Fatalf("verify exit %d, Open %v; want both to %s\n%s%s", code, oerr, map[bool]string{true: "accept", false: "refuse"}[tc.ok], out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) || !strings.Contains(oerr.Error(), w) {
					t.Errorf("want %q in both;\nverify: %s\nOpen: %v", w, errOut, oerr)
				}
			}
		})
	}
}

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
	j, oerr := journal.Open(journal.Options{Dir: served, Log: logtest.Discard()})
	if oerr == nil {
		j.Close()
		t.Fatal("Open accepted a journal missing its last 3 durable records")
	}
	code, out, errOut := runMain("verify", "--journal", dir)
	if code == 0 {
		t.Fatalf("verify exit 0 (OK) on a journal that Open refuses (%v):\n%s%s", oerr, out, errOut)
	}
	want := "records " + strconv.FormatInt(last-2, 10) + ".." + strconv.FormatInt(last, 10) + " are missing"
	if !strings.Contains(errOut, want) || !strings.Contains(oerr.Error(), want) {
		t.Errorf("want %q in both;\nverify: %s\nOpen: %v", want, errOut, oerr)
	}
}

func writeSnapshotFile(t *testing.T, dir string, seq int64, e *engines) {
	t.Helper()
	if err := writeSnap(dir, seq, e); err != nil {
		t.Fatal(err)
	}
}

// TestNotAJournal: folders that hold no journal are named as such.
func TestNotAJournal(t *testing.T) {
	data := t.TempDir()
	writeJournal(t, filepath.Join(data, "journal"), newLoadGen(1, 2, 2).commands(10), 1<<20)
	file := filepath.Join(data, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	cases := []struct {
		name, dir, want string
	}{
		{"data_dir_instead_of_journal", data, "did you mean --journal " + filepath.Join(data, "journal")},
		{"empty_folder", t.TempDir(), "is empty"},
		{"missing_folder", filepath.Join(data, "nope"), "no such file"},
		{"a_file", file, "is a file"},
		{"unrelated_folder", filepath.Join(data, "journal", "..", ".."), "holds no journal segments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, verb := range [][]string{{"verify"}, {"trail"}, {"book", "--symbol", "AAPL"}, {"diff", tc.dir}} {
				args := append(append([]string{}, verb...), "--journal", tc.dir)
				code, _, errOut := runMain(args...)
				if code != 1 || !strings.Contains(errOut, tc.want) {
					t.Errorf("%v: exit %d, stderr %q; want 1 and %q", verb, code, errOut, tc.want)
				}
			}
		})
	}
}

// TestUndecodableRecordIsLocated: a record with a valid CRC that is not a
// command is reported with its file and exact offset.
func TestUndecodableRecordIsLocated(t *testing.T) {
	dir := t.TempDir()
	cmds := newLoadGen(3, 2, 2).commands(500)
	cmds[321].Kind = 99
	writeJournal(t, dir, cmds, 16<<10)
	src, err := openSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	file, off := src.place(322)
	code, _, errOut := runMain("verify", "--journal", dir)
	want := file + " at offset " + strconv.FormatInt(off, 10) + ": seq 322: undecodable command"
	if code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("exit %d, stderr %q; want %q", code, errOut, want)
	}
	// The offset is where the frame is.
	b, _ := os.ReadFile(file)
	var c matcher.Command
	if err := c.Decode(b[off+frameBytes : off+recordBytes]); err == nil || c.Seq != 322 {
		t.Fatalf("offset %d does not hold seq 322's record (seq %d, %v)", off, c.Seq, err)
	}
}

// TestJournalBeginningAfterSeq1: a standby seeded from its primary's
// snapshot keeps a journal that begins after seq 1, with the snapshot
// before it. Every verb says to start from the snapshot, and does with
// --from-snapshot.
func TestJournalBeginningAfterSeq1(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	cmds := newLoadGen(7, 3, 4).commands(3000)
	writeJournal(t, dir, cmds, 64<<10)
	segs := segmentFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("want at least 3 segments, have %d", len(segs))
	}
	first, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(segs[1]), ".seg"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(segs[0])
	writeSnapshot(t, dir, testVenue(t), 2, cmds, first-1)
	for _, verb := range [][]string{{"verify"}, {"trail"}, {"book", "--symbol", "MSFT"}} {
		code, _, errOut := runMain(append(verb, "--journal", dir)...)
		if code == 0 || !strings.Contains(errOut, "--from-snapshot") {
			t.Errorf("%s without --from-snapshot: exit %d, %q", verb[0], code, errOut)
		}
		code, out, errOut := runMain(append(verb, "--journal", dir, "--from-snapshot")...)
		if code != 0 {
			t.Errorf("%s --from-snapshot: exit %d\n%s%s", verb[0], code, out, errOut)
		}
	}
}

// A damaged DURABLE mark (not 16 bytes, or its complement disagrees) is
// refused by Open, so verify reports it as a problem, naming the file.
func TestVerifyAgreesWithOpenOnADamagedDurableMark(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	writeJournal(t, dir, newLoadGen(7, 3, 4).commands(100), 64<<10)
	if err := os.WriteFile(filepath.Join(dir, journal.DurableName), []byte{1, 2, 3, 4, 5}, 0o644); err != nil {
		t.Fatal(err)
	}
	served := filepath.Join(t.TempDir(), "journal")
	copyDir(t, dir, served)
	if j, err := journal.Open(journal.Options{Dir: served, Log: logtest.Discard()}); err == nil {
		j.Close()
		t.Fatal("Open accepted a damaged DURABLE mark")
	}
	code, out, errOut := runMain("verify", "--journal", dir)
	if code == 0 || !strings.Contains(errOut, journal.DurableName) {
		t.Fatalf("verify exit %d on a damaged DURABLE mark that Open refuses:\n%s%s", code, out, errOut)
	}
}
