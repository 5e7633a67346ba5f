package journal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// readBufBytes is the read buffer of a segment scan: large enough that the
// per-read cost vanishes, small enough to stay in L2 on most machines.
const readBufBytes = 1 << 20

// segReader is a forward-only window over a segment stream (a plain file or a
// zstd decoder), so that records can be handed out as slices of the buffer.
type segReader struct {
	r      io.Reader
	buf    []byte
	lo, hi int   // unread bytes are buf[lo:hi]
	off    int64 // segment offset of buf[lo]
	eof    bool
	err    error // a read error other than EOF
}

func newSegReader(r io.Reader, buf []byte) *segReader {
	if len(buf) < readBufBytes {
		buf = make([]byte, readBufBytes)
	}
	return &segReader{r: r, buf: buf}
}

// fill tries to buffer at least n unread bytes and returns how many there are;
// fewer than n means the stream ended (or failed: see s.err).
func (s *segReader) fill(n int) int {
	for s.hi-s.lo < n && !s.eof {
		if n > len(s.buf) {
			nb := make([]byte, max(n, 2*len(s.buf)))
			s.hi = copy(nb, s.buf[s.lo:s.hi])
			s.lo, s.buf = 0, nb
		} else if len(s.buf)-s.lo < n || s.hi == len(s.buf) {
			s.hi = copy(s.buf, s.buf[s.lo:s.hi])
			s.lo = 0
		}
		m, err := s.r.Read(s.buf[s.hi:])
		s.hi += m
		if err == io.EOF {
			s.eof = true
		} else if err != nil {
			s.err, s.eof = err, true
		}
	}
	return s.hi - s.lo
}

func (s *segReader) skip(n int) {
	s.lo += n
	s.off += int64(n)
}

// scanEnd says where a segment scan stopped.
type scanEnd struct {
	firstSeq  int64  // from the header (0 when the header is damaged)
	lastSeq   int64  // last whole record's seq; firstSeq-1 when there is none
	goodOff   int64  // offset just past the last whole record (or the header)
	damage    string // empty when the segment ended cleanly at goodOff
	damageOff int64
	// hard damage cannot be a torn write: a record with a valid CRC but the
	// wrong seq, or a header that names another seq than the file name.
	hard bool
	// zeroTail: the segment ends cleanly at goodOff followed only by zeros,
	// the unwritten part of a preallocated segment (see Journal.roll).
	zeroTail bool
}

// zeroToEnd reads on to the end of the stream and reports whether every
// byte from the current position on is zero. It consumes what it reads, so
// the scan ends after it; a read error leaves s.err set and returns false.
func (s *segReader) zeroToEnd() bool {
	for {
		if !allZero(s.buf[s.lo:s.hi]) {
			return false
		}
		s.skip(s.hi - s.lo)
		if s.eof {
			return s.err == nil
		}
		s.fill(1)
	}
}

// allZero reports whether b holds only zero bytes, eight at a time.
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// scanSegment verifies one segment from its start: header, then every frame's
// CRC and seq (which must run on from the header's first seq). It calls fn for
// records with seq >= fromSeq; rec is only valid until fn returns, and while
// fn runs s.off is the offset of rec's frame. Damage is
// (and a failed read, which is never taken for a torn tail) is reported in the
// result; the error is fn's own.
func scanSegment(s *segReader, wantFirst, fromSeq int64, fn func(seq int64, rec []byte) error) (scanEnd, error) {
	var end scanEnd
	if s.fill(headerBytes) < headerBytes {
		if s.err != nil {
			return readFailed(end, s), nil
		}
		if s.hi-s.lo == 0 {
			end.damage = "empty segment"
		} else {
			end.damage = "truncated segment header"
		}
		return end, nil
	}
	if allZero(s.buf[s.lo : s.lo+headerBytes]) {
		if s.zeroToEnd() {
			end.damage = "empty segment" // a spare renamed in, never written
			return end, nil
		}
		if s.err != nil {
			return readFailed(end, s), nil
		}
		end.damage = "zeroed segment header with data after it"
		return end, nil
	}
	first, reason := checkHeader(s.buf[s.lo : s.lo+headerBytes])
	if reason != "" {
		end.damage = reason
		return end, nil
	}
	if first != wantFirst {
		end.damage = fmt.Sprintf("segment header names first seq %d, file name %d", first, wantFirst)
		end.hard = true
		return end, nil
	}
	s.skip(headerBytes)
	end.firstSeq, end.lastSeq, end.goodOff = first, first-1, headerBytes
	return scanFrames(s, end, fromSeq, fn)
}

// resumeSegment is scanSegment of a segment whose header and records
// before next were verified by an earlier scan, which ended at s.off: it
// verifies the frames from there on, the first of which must be seq next.
func resumeSegment(s *segReader, first, next int64, fn func(seq int64, rec []byte) error) (scanEnd, error) {
	end := scanEnd{firstSeq: first, lastSeq: next - 1, goodOff: s.off}
	return scanFrames(s, end, next, fn)
}

// scanFrames verifies a segment's frames from s.off on, where end (a
// whole record or the header ends there) says the next seq is
// end.lastSeq+1, and calls fn for records with seq >= fromSeq.
func scanFrames(s *segReader, end scanEnd, fromSeq int64, fn func(seq int64, rec []byte) error) (scanEnd, error) {
	next := end.lastSeq + 1
	for {
		avail := s.fill(frameBytes)
		if avail < frameBytes {
			if s.err != nil {
				return readFailed(end, s), nil
			}
			if avail > 0 {
				end.damage, end.damageOff = fmt.Sprintf("truncated frame header (%d bytes)", avail), s.off
			}
			return end, nil
		}
		b := s.buf[s.lo:s.hi]
		if allZero(b[:frameBytes]) {
			at := s.off
			if s.zeroToEnd() {
				end.zeroTail = true // the unwritten rest of a preallocated segment
				return end, nil
			}
			if s.err != nil {
				return readFailed(end, s), nil
			}
			end.damage, end.damageOff = "zeroed frame header with data after it", at
			return end, nil
		}
		n := int(binary.LittleEndian.Uint32(b[4:8]))
		if n > MaxRecordBytes {
			end.damage, end.damageOff = fmt.Sprintf("record length %d over the limit", n), s.off
			return end, nil
		}
		if avail < frameBytes+n {
			if avail = s.fill(frameBytes + n); avail < frameBytes+n {
				if s.err != nil {
					return readFailed(end, s), nil
				}
				end.damage, end.damageOff = fmt.Sprintf("truncated record (%d of %d bytes)", avail, frameBytes+n), s.off
				return end, nil
			}
			b = s.buf[s.lo:s.hi]
		}
		if crc32.Update(0, castagnoli, b[4:frameBytes+n]) != binary.LittleEndian.Uint32(b[0:4]) {
			end.damage, end.damageOff = "crc mismatch", s.off
			return end, nil
		}
		if seq := int64(binary.LittleEndian.Uint64(b[8:16])); seq != next {
			end.damage, end.damageOff = fmt.Sprintf("sequence gap: expected seq %d, found %d", next, seq), s.off
			end.hard = true
			return end, nil
		}
		if next >= fromSeq {
			if err := fn(next, b[frameBytes:frameBytes+n:frameBytes+n]); err != nil {
				return end, err
			}
		}
		s.skip(frameBytes + n)
		end.lastSeq, end.goodOff = next, s.off
		next++
	}
}

// validFrameAfter reports whether tail (the bytes of a segment from a damage
// point to its end) holds, at any offset past its first byte, a whole frame
// with a valid CRC and a seq after lastSeq. Such a frame means the damage is
// not a torn tail: records that were written after it would be lost. It
// returns the offset of the first such frame within tail.
func validFrameAfter(tail []byte, lastSeq int64) (int, bool) {
	// A frame is at least frameBytes long, so no later seq can exceed this.
	maxSeq := lastSeq + int64(len(tail)/frameBytes) + 1
	for p := 1; p+frameBytes <= len(tail); p++ {
		seq := int64(binary.LittleEndian.Uint64(tail[p+8 : p+16]))
		if seq <= lastSeq || seq > maxSeq {
			continue
		}
		if _, _, ok := frameOK(tail[p:]); ok {
			return p, true
		}
	}
	return 0, false
}

// readFailed reports a read error (an I/O error, or a damaged zstd stream) as
// hard damage at the offset where the stream stopped yielding bytes.
func readFailed(end scanEnd, s *segReader) scanEnd {
	end.damage = "read failed: " + s.err.Error()
	end.damageOff = s.off + int64(s.hi-s.lo)
	end.hard = true
	return end
}
