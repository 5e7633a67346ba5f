package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DurableName is the file, inside the journal folder, that keeps the
// highest seq a Commit has made durable: 16 bytes, the seq (u64 LE) then
// its bitwise complement, rewritten in place after each Commit's fsync
// (SyncBatch, SyncInterval; SyncNone makes nothing durable and writes no
// mark). The write is not fsynced itself: a power loss may leave an older
// mark, never a newer one, since it is written only after the fsync of the
// records it names.
//
// Recovery holds the journal's end against it, against the newest
// snapshot's seq, and against Options.Reported (what the caller's
// counterparties may have been told of): a record at or below any of them
// was durable, so a crash cannot have torn it. A journal that ends below
// them lost durable (so possibly acknowledged) records, a zeroed or cut
// end included, and Open refuses it with a *CorruptError naming the last
// segment, the offset where its records end, and the missing seqs, unless
// Options.StartFromLastGood; then Missing says which seqs they were, and
// the caller must never use them again.
//
// An empty or missing DURABLE (a new journal, one whose file was created
// and never written back before a power loss, or one from before the
// file) proves nothing and is read as 0; so are 16 zero bytes, which a
// power loss can leave of the first write on filesystems that extend a
// file's size before its data reach the disk. One that holds a damaged
// mark (1 to 15 bytes, or a complement that does not match) is refused: a
// crash does not leave that (the 16 bytes are rewritten in place, within
// one sector),
// so something else damaged the journal folder, and reading it as 0 would
// let a zeroed end go as a torn tail. Under Options.StartFromLastGood it
// is logged loudly and set aside, and the snapshots and Options.Reported
// are the evidence; the next Commit rewrites it.
const DurableName = "DURABLE"

// durableMark is the open DURABLE file and a buffer for its writes.
type durableMark struct {
	f      *os.File
	buf    [16]byte
	damage string // why the mark Open read proves nothing; "" when sound or new
}

// openDurable opens (or creates) dir's DURABLE file and reads its mark: 0
// when the file is new, or damaged (then recovery refuses, checkDurable).
func openDurable(dir string) (*durableMark, int64, error) {
	path := filepath.Join(dir, DurableName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("journal: %w", err)
	}
	m := &durableMark{f: f}
	n, _ := f.ReadAt(m.buf[:], 0)
	seq, ok := parseMark(m.buf[:n])
	switch {
	case n > 0 && n < len(m.buf):
		m.damage = fmt.Sprintf("%d bytes, not %d", n, len(m.buf))
	case !ok:
		m.damage = "its seq and complement disagree"
	}
	return m, seq, nil
}

// parseMark reads a DURABLE file's bytes: 0 for a new (short) file or 16
// zero bytes (a first write a power loss cut: no mark); ok is false when
// the seq and its complement disagree (the mark proves nothing).
func parseMark(b []byte) (seq int64, ok bool) {
	if len(b) < 16 {
		return 0, true
	}
	v, check := binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:16])
	if v == 0 && check == 0 {
		return 0, true
	}
	if v != ^check || v > 1<<62 {
		return 0, false
	}
	return int64(v), true
}

// durableMarkSize is the DURABLE file's length: the seq and its complement.
const durableMarkSize = 16

// DurableSeq reads the DURABLE mark of the journal in dir without changing
// anything: the highest seq a Commit made durable, 0 when there is no mark
// (no file, an empty one, or 16 zero bytes).
// A journal that ends below it lost durable records, and Open refuses it
// (see DurableName). A damaged mark (1 to 15 bytes, or a complement that
// disagrees) is an error, as Open refuses it unless
// Options.StartFromLastGood. A reader beside a live Journal reads the mark
// before the records: the mark is only written after them.
func DurableSeq(dir string) (int64, error) {
	path := filepath.Join(dir, DurableName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("journal: %w", err)
	}
	if len(b) > 0 && len(b) < durableMarkSize {
		return 0, fmt.Errorf("journal: %s is damaged (%d bytes, not %d): it says nothing about which records were durable", path, len(b), durableMarkSize)
	}
	seq, ok := parseMark(b)
	if !ok {
		return 0, fmt.Errorf("journal: %s is damaged (its seq and complement disagree): it says nothing about which records were durable", path)
	}
	return seq, nil
}

// write records seq as durable. Hot path (once per Commit): one pwrite of
// 16 bytes to the page cache, no allocation.
func (m *durableMark) write(seq int64) error {
	binary.LittleEndian.PutUint64(m.buf[:8], uint64(seq))
	binary.LittleEndian.PutUint64(m.buf[8:], ^uint64(seq))
	if _, err := m.f.WriteAt(m.buf[:], 0); err != nil {
		return fmt.Errorf("write %s: %w", m.f.Name(), err)
	}
	return nil
}

// Missing returns the seqs, first to last, that were durable before Open
// and are gone from the journal (see DurableName); last is 0 when none.
// Open returns them only under Options.StartFromLastGood. The journal
// continues at first: the caller must not give these seqs to anything a
// counterparty may have seen again (ringex journals a marker for each).
func (j *Journal) Missing() (first, last int64) { return j.missing[0], j.missing[1] }

// durableEvidence is the highest seq known to have been durable: the
// DURABLE mark, or the newest snapshot's seq when higher (a snapshot is
// taken after the records it covers were committed). from names it.
func (j *Journal) durableEvidence() (seq int64, from string) {
	seq, from = j.markSeq, filepath.Join(j.opts.Dir, DurableName)
	if snaps, err := listSnapshots(j.opts.Dir); err == nil && len(snaps) > 0 && snaps[len(snaps)-1] > seq {
		seq, from = snaps[len(snaps)-1], filepath.Join(j.opts.Dir, snapName(snaps[len(snaps)-1]))
	}
	if j.opts.Reported > seq {
		seq, from = j.opts.Reported, j.opts.ReportedFrom
	}
	return seq, from
}

// checkDamagedMark refuses a damaged DURABLE (see DurableName), or under
// Options.StartFromLastGood logs loudly that it goes without it.
func (j *Journal) checkDamagedMark() error {
	if j.mark.damage == "" {
		return nil
	}
	path := j.mark.f.Name()
	if !j.opts.StartFromLastGood {
		return fmt.Errorf("journal: %s is damaged at offset 0 (%s): it can no longer tell durable records lost at the journal's end from a torn tail; "+
			"start with StartFromLastGood to go on without it, held against the snapshots and the session stores", path, j.mark.damage)
	}
	j.log.Warn("durable mark IS DAMAGED; STARTING WITHOUT IT ON OPERATOR REQUEST: the journal's end is held only against the newest snapshot and Options.Reported",
		"path", path, "damage", j.mark.damage)
	j.mark.damage = ""
	return nil
}

// checkDurable holds the journal's recovered end (the segment at path
// ends at lastSeq, its records at offset goodOff) against the evidence of
// what was durable. Records missing below it are refused, or, under
// Options.StartFromLastGood, recorded in Missing and logged loudly.
func (j *Journal) checkDurable(path string, goodOff, lastSeq int64) error {
	if err := j.checkDamagedMark(); err != nil {
		return err
	}
	seq, from := j.durableEvidence()
	if seq <= lastSeq {
		return nil
	}
	cerr := &CorruptError{File: path, Offset: goodOff, Reason: fmt.Sprintf(
		"the journal ends at seq %d, but %s shows seqs up to %d were durable (fsynced, possibly acknowledged): records %d..%d are missing, which a torn write cannot do",
		lastSeq, from, seq, lastSeq+1, seq)}
	if !j.opts.StartFromLastGood {
		return cerr
	}
	j.log.Warn(fmt.Sprintf("STARTING WITHOUT DURABLE RECORDS %d..%d ON OPERATOR REQUEST; the journal continues at seq %d, and those seqs must never be used again", lastSeq+1, seq, lastSeq+1),
		"first_seq", lastSeq+1, "last_seq", seq, "err", cerr)
	j.missing = [2]int64{lastSeq + 1, seq}
	return nil
}
