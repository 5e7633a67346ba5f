package journal

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// frameOffsets returns the offset and seq of every frame in a healthy
// segment, and where its records end (the file's size but for the active
// segment, which is zero-filled after its last record).
func frameOffsets(t *testing.T, path string) (offs []int64, seqs []int64, size int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for p := headerBytes; p < len(b); {
		if allZero(b[p:min(p+frameBytes, len(b))]) {
			return offs, seqs, int64(p) // the zero-filled rest of the active segment
		}
		n := int(binary.LittleEndian.Uint32(b[p+4:]))
		offs = append(offs, int64(p))
		seqs = append(seqs, int64(binary.LittleEndian.Uint64(b[p+8:])))
		p += frameBytes + n
	}
	return offs, seqs, int64(len(b))
}

// damageCase damages a healthy journal of several segments. seg is the index
// of the segment to damage (-1 means the last). It returns what recovery
// must report: a corruption at (file, offset), or a torn tail that leaves
// lastSeq as the journal's end.
type damageCase struct {
	name string
	seg  int
	// do damages path (whose frames are at offs with seqs) and returns the
	// expected offset of a CorruptError, or -1 with the expected last seq
	// when the damage is a torn tail.
	do func(t *testing.T, path string, offs, seqs []int64, size int64) (wantOff, wantLast int64)
}

func flipAt(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	f.ReadAt(b, off)
	b[0] ^= 0x5a
	f.WriteAt(b, off)
}

func zeroAt(t *testing.T, path string, off, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteAt(make([]byte, n), off)
}

// frameAt is the index of the frame that holds byte off.
func frameAt(offs []int64, off int64) int {
	i := 0
	for i+1 < len(offs) && offs[i+1] <= off {
		i++
	}
	return i
}

func flipPayload(k func(n int) int) func(*testing.T, string, []int64, []int64, int64) (int64, int64) {
	return func(t *testing.T, p string, offs, seqs []int64, size int64) (int64, int64) {
		i := k(len(offs))
		flipAt(t, p, offs[i]+frameBytes+3)
		return offs[i], 0
	}
}

func middle(n int) int   { return n / 2 }
func firstFrame(int) int { return 0 }

var damageCases = []damageCase{
	{"flip_payload_first_segment", 0, flipPayload(middle)},
	{"flip_payload_middle_segment", 4, flipPayload(middle)},
	{"flip_crc_middle_segment", 4, func(t *testing.T, p string, offs, _ []int64, _ int64) (int64, int64) {
		flipAt(t, p, offs[1])
		return offs[1], 0
	}},
	{"flip_length_middle_segment", 4, func(t *testing.T, p string, offs, _ []int64, _ int64) (int64, int64) {
		flipAt(t, p, offs[2]+5)
		return offs[2], 0
	}},
	{"flip_seq_first_frame_middle_segment", 4, func(t *testing.T, p string, offs, _ []int64, _ int64) (int64, int64) {
		flipAt(t, p, offs[0]+8)
		return offs[0], 0
	}},
	{"flip_header_middle_segment", 4, func(t *testing.T, p string, _, _ []int64, _ int64) (int64, int64) {
		flipAt(t, p, 9)
		return 0, 0
	}},
	{"flip_payload_last_segment_not_last_record", -1, flipPayload(middle)},
	{"flip_first_record_last_segment", -1, flipPayload(firstFrame)},
	{"flip_header_last_segment_records_follow", -1, func(t *testing.T, p string, _, _ []int64, _ int64) (int64, int64) {
		flipAt(t, p, 1)
		return 0, 0
	}},
	{"flip_last_record_is_torn", -1, func(t *testing.T, p string, offs, seqs []int64, _ int64) (int64, int64) {
		i := len(offs) - 1
		flipAt(t, p, offs[i]+frameBytes)
		return -1, seqs[i] - 1
	}},
	{"truncate_last_segment_mid_record_is_torn", -1, func(t *testing.T, p string, offs, seqs []int64, _ int64) (int64, int64) {
		i := len(offs) - 2
		os.Truncate(p, offs[i]+frameBytes+1)
		return -1, seqs[i] - 1
	}},
	{"truncate_last_segment_mid_frame_header_is_torn", -1, func(t *testing.T, p string, offs, seqs []int64, _ int64) (int64, int64) {
		i := len(offs) - 3
		os.Truncate(p, offs[i]+7)
		return -1, seqs[i] - 1
	}},
	{"truncate_last_segment_at_boundary_is_clean", -1, func(t *testing.T, p string, offs, seqs []int64, _ int64) (int64, int64) {
		i := len(offs) - 2
		os.Truncate(p, offs[i])
		return -2, seqs[i] - 1
	}},
	{"truncate_last_segment_header_is_torn", -1, func(t *testing.T, p string, _, seqs []int64, _ int64) (int64, int64) {
		os.Truncate(p, 10)
		return -1, seqs[0] - 1
	}},
	{"empty_last_segment_is_clean", -1, func(t *testing.T, p string, _, seqs []int64, _ int64) (int64, int64) {
		os.Truncate(p, 0)
		return -2, seqs[0] - 1
	}},
	{"zeroed_tail_of_last_segment_is_torn", -1, func(t *testing.T, p string, offs, seqs []int64, size int64) (int64, int64) {
		i := len(offs) - 3
		zeroAt(t, p, offs[i]+4, size-offs[i]-4)
		return -1, seqs[i] - 1
	}},
	{"zeros_after_last_record_are_the_unwritten_rest", -1, func(t *testing.T, p string, _, seqs []int64, size int64) (int64, int64) {
		os.Truncate(p, size+8192)
		return -2, seqs[len(seqs)-1]
	}},
	{"last_segment_cut_at_its_last_record_is_clean", -1, func(t *testing.T, p string, _, seqs []int64, size int64) (int64, int64) {
		os.Truncate(p, size)
		return -2, seqs[len(seqs)-1]
	}},
	{"garbage_after_the_zeros_of_last_segment_is_torn", -1, func(t *testing.T, p string, _, seqs []int64, size int64) (int64, int64) {
		os.Truncate(p, size+8192)
		flipAt(t, p, size+5000)
		return -1, seqs[len(seqs)-1]
	}},
	{"zeroed_frame_header_in_last_segment_records_follow", -1, func(t *testing.T, p string, offs, _ []int64, _ int64) (int64, int64) {
		i := len(offs) - 3
		zeroAt(t, p, offs[i], frameBytes)
		return offs[i], 0
	}},
	{"zeroed_block_in_last_segment_records_follow", -1, func(t *testing.T, p string, offs, _ []int64, _ int64) (int64, int64) {
		zeroAt(t, p, offs[3]+10, 200)
		return offs[3], 0
	}},
	{"zeroed_block_first_segment", 0, func(t *testing.T, p string, offs, _ []int64, _ int64) (int64, int64) {
		zeroAt(t, p, 1000, 512)
		return offs[frameAt(offs, 1000)], 0
	}},
	{"zeroed_block_middle_segment", 4, func(t *testing.T, p string, offs, _ []int64, size int64) (int64, int64) {
		zeroAt(t, p, size-600, 512)
		return offs[frameAt(offs, size-600)], 0
	}},
	{"truncate_first_segment_mid_record", 0, func(t *testing.T, p string, offs, _ []int64, _ int64) (int64, int64) {
		os.Truncate(p, offs[5]+20)
		return offs[5], 0
	}},
	{"truncate_middle_segment_header", 4, func(t *testing.T, p string, _, _ []int64, _ int64) (int64, int64) {
		os.Truncate(p, 10)
		return 0, 0
	}},
	{"rewritten_seq_with_valid_crc_last_segment", -1, func(t *testing.T, p string, offs, _ []int64, _ int64) (int64, int64) {
		b, _ := os.ReadFile(p)
		i := len(offs) - 1
		o := offs[i]
		n := int(binary.LittleEndian.Uint32(b[o+4:]))
		putFrame(b[o:], int64(binary.LittleEndian.Uint64(b[o+8:]))+5, n)
		os.WriteFile(p, b, 0o644)
		return o, 0
	}},
}

// TestDamage damages each segment position in each way and checks that Open
// and Read agree: the right CorruptError (file and offset), or the torn tail
// truncated at the last whole record, and never a wrong record or a panic.
func TestDamage(t *testing.T) {
	for _, tc := range damageCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			j, _ := openT(t, dir, func(o *Options) { o.Sync = SyncNone }) // damage, not fsync, is under test
			write(t, j, 1, 400, 5)
			j.Close()
			segs, _ := listHot(dir)
			if len(segs) < 8 {
				t.Fatalf("only %d segments", len(segs))
			}
			idx := tc.seg
			if idx < 0 {
				idx = len(segs) - 1
			}
			path := filepath.Join(dir, segName(segs[idx]))
			offs, seqs, size := frameOffsets(t, path)
			wantOff, wantLast := tc.do(t, path, offs, seqs, size)

			lg := &testLog{}
			_, readLast, readErr := readAll(t, dir, 1)
			j, err := Open(Options{Dir: dir, Log: lg.Logger(), SegmentBytes: 4096})
			if wantOff >= 0 {
				for _, e := range []error{err, readErr} {
					var ce *CorruptError
					if !errors.As(e, &ce) {
						t.Fatalf("want a CorruptError, got %v", e)
					}
					if ce.File != path || ce.Offset != wantOff {
						t.Fatalf("error names %s at %d, want %s at %d: %v", ce.File, ce.Offset, path, wantOff, ce)
					}
					if !strings.Contains(ce.Error(), path) {
						t.Fatalf("message does not name the file: %v", ce)
					}
				}
				return
			}
			if err != nil || readErr != nil {
				t.Fatalf("torn tail: Open %v, Read %v", err, readErr)
			}
			defer j.Close()
			if j.LastSeq() != wantLast || readLast != wantLast {
				t.Fatalf("LastSeq %d, Read to %d, want %d", j.LastSeq(), readLast, wantLast)
			}
			if torn := wantOff == -1; torn != lg.Has("torn tail") {
				t.Fatalf("torn %v but log %q", torn, lg.All())
			}
			// The journal goes on from there.
			write(t, j, wantLast+1, wantLast+50, 4)
			if _, last, err := readAll(t, dir, 1); err != nil || last != wantLast+50 {
				t.Fatalf("after recovery: read to %d, %v", last, err)
			}
		})
	}
}

func TestSegmentGaps(t *testing.T) {
	for _, tc := range []struct {
		name string
		seg  int
	}{{"missing_second_segment", 1}, {"missing_middle_segment", 4}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			j, _ := openT(t, dir)
			write(t, j, 1, 400, 5)
			j.Close()
			segs, _ := listHot(dir)
			os.Remove(filepath.Join(dir, segName(segs[tc.seg])))
			next := filepath.Join(dir, segName(segs[tc.seg+1]))
			_, err := Open(Options{Dir: dir})
			_, _, rerr := readAll(t, dir, 1)
			for _, e := range []error{err, rerr} {
				var ce *CorruptError
				if !errors.As(e, &ce) || ce.File != next || ce.Offset != 0 || !strings.Contains(ce.Reason, "gap") {
					t.Fatalf("want a gap at %s, got %v", next, e)
				}
			}
		})
	}
}

func TestStartFromLastGood(t *testing.T) {
	dir := t.TempDir()
	j, _ := openT(t, dir)
	write(t, j, 1, 400, 5)
	j.Close()
	segs, _ := listHot(dir)
	path := filepath.Join(dir, segName(segs[4]))
	offs, seqs, _ := frameOffsets(t, path)
	flipAt(t, path, offs[3]+frameBytes)
	if _, err := Open(Options{Dir: dir}); err == nil {
		t.Fatal("opened a corrupt journal without the flag")
	}
	j, lg := openT(t, dir, func(o *Options) { o.StartFromLastGood = true })
	defer j.Close()
	if j.LastSeq() != seqs[3]-1 {
		t.Fatalf("LastSeq %d, want %d", j.LastSeq(), seqs[3]-1)
	}
	if !lg.Has("STARTING FROM LAST GOOD") || !lg.Has("quarantine") {
		t.Fatalf("not loud enough: %q", lg.All())
	}
	write(t, j, seqs[3], seqs[3]+100, 10)
	if _, last, err := readAll(t, dir, 1); err != nil || last != seqs[3]+100 {
		t.Fatalf("after start from last good: %d, %v", last, err)
	}
}
