package journal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ringex/ringex/internal/logtest"
)

// FuzzDamage overwrites and truncates a segment of a small journal at will and
// checks the promise of recovery: no panic; either a *CorruptError, or a
// journal whose every record is the one that was written, contiguous from 1.
func FuzzDamage(f *testing.F) {
	f.Add(uint8(0), uint16(100), []byte{0xff}, uint16(0))
	f.Add(uint8(1), uint16(30), []byte{0, 0, 0, 0}, uint16(0))
	f.Add(uint8(1), uint16(0), []byte{}, uint16(77))
	f.Add(uint8(2), uint16(5), []byte("RGXJ"), uint16(3))
	f.Fuzz(func(t *testing.T, seg uint8, off uint16, patch []byte, cut uint16) {
		dir := t.TempDir()
		j, err := Open(Options{Dir: dir, SegmentBytes: 2048, Sync: SyncNone, Log: logtest.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		write(t, j, 1, 60, 4)
		j.Close()
		segs, _ := listHot(dir)
		path := filepath.Join(dir, segName(segs[int(seg)%len(segs)]))
		b, _ := os.ReadFile(path)
		if int(off) < len(b) {
			copy(b[off:], patch)
		}
		if cut > 0 && int(cut) < len(b) {
			b = b[:len(b)-int(cut)]
		}
		os.WriteFile(path, b, 0o644)

		j, err = Open(Options{Dir: dir, SegmentBytes: 2048, Log: logtest.Discard()})
		var ce *CorruptError
		if err != nil {
			if !errors.As(err, &ce) {
				t.Fatalf("Open failed without a CorruptError: %v", err)
			}
			return
		}
		last := j.LastSeq()
		j.Close()
		next := int64(1)
		err = Read(dir, 1, func(seq int64, rec []byte) error {
			if seq != next || !bytes.Equal(rec, record(seq)) {
				t.Fatalf("Read gave a wrong record at seq %d (want seq %d)", seq, next)
			}
			next++
			return nil
		})
		if err != nil || next-1 != last {
			t.Fatalf("after a clean Open, Read to %d of %d: %v", next-1, last, err)
		}
	})
}
