package journal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// The on-disk format; see the package doc for the drawing.
const (
	segMagic      = "RGXJ" // segment header magic
	snapMagic     = "RGXS" // snapshot header magic
	formatVersion = 1

	headerBytes = 24 // segment header: magic, version, flags, first seq, reserved, crc
	frameBytes  = 16 // record frame header: crc, length, seq

	// MaxRecordBytes bounds one record's payload. Records are small fixed-size
	// commands; the bound lets recovery reject a damaged length field at once.
	MaxRecordBytes = 1 << 20

	segSuffix     = ".seg"
	archiveSuffix = ".seg.zst"
	tmpSuffix     = ".tmp"

	// ArchiveDirName is the folder, inside the journal folder, that holds
	// compressed sealed segments. Put it on another disk with a mount or a
	// symlink: readers find it by this name.
	ArchiveDirName = "archive"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segName is the file name of the segment whose first record is firstSeq.
func segName(firstSeq int64) string {
	return fmt.Sprintf("%020d%s", firstSeq, segSuffix)
}

// parseSegName returns the first seq encoded in a segment file name (plain or
// archived); ok is false for any other file.
func parseSegName(name, suffix string) (firstSeq int64, ok bool) {
	if !strings.HasSuffix(name, suffix) {
		return 0, false
	}
	digits := strings.TrimSuffix(name, suffix)
	if len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// putHeader writes a segment header for firstSeq into b[:headerBytes].
func putHeader(b []byte, firstSeq int64) {
	copy(b[0:4], segMagic)
	binary.LittleEndian.PutUint16(b[4:6], formatVersion)
	binary.LittleEndian.PutUint16(b[6:8], 0) // flags
	binary.LittleEndian.PutUint64(b[8:16], uint64(firstSeq))
	binary.LittleEndian.PutUint32(b[16:20], 0) // reserved
	binary.LittleEndian.PutUint32(b[20:24], crc32.Checksum(b[0:20], castagnoli))
}

// checkHeader validates a segment header; it returns the first seq or a reason.
func checkHeader(b []byte) (firstSeq int64, reason string) {
	if string(b[0:4]) != segMagic {
		return 0, "bad segment magic"
	}
	if crc32.Checksum(b[0:20], castagnoli) != binary.LittleEndian.Uint32(b[20:24]) {
		return 0, "segment header crc mismatch"
	}
	if v := binary.LittleEndian.Uint16(b[4:6]); v != formatVersion {
		return 0, fmt.Sprintf("unsupported segment version %d", v)
	}
	return int64(binary.LittleEndian.Uint64(b[8:16])), ""
}

// putFrame writes the frame header for payload p (already at b[frameBytes:])
// and seq into b[:frameBytes]. The CRC covers length, seq and payload.
//
// Hot path: allocates nothing.
func putFrame(b []byte, seq int64, payloadLen int) {
	binary.LittleEndian.PutUint32(b[4:8], uint32(payloadLen))
	binary.LittleEndian.PutUint64(b[8:16], uint64(seq))
	binary.LittleEndian.PutUint32(b[0:4], crc32.Update(0, castagnoli, b[4:frameBytes+payloadLen]))
}

// frameOK reports whether b starts with a whole frame with a valid CRC; it
// returns the frame's seq and payload length. Used when scanning damage.
func frameOK(b []byte) (seq int64, n int, ok bool) {
	if len(b) < frameBytes {
		return 0, 0, false
	}
	n = int(binary.LittleEndian.Uint32(b[4:8]))
	if n > MaxRecordBytes || frameBytes+n > len(b) {
		return 0, 0, false
	}
	if crc32.Update(0, castagnoli, b[4:frameBytes+n]) != binary.LittleEndian.Uint32(b[0:4]) {
		return 0, 0, false
	}
	return int64(binary.LittleEndian.Uint64(b[8:16])), n, true
}

// CorruptError is damage that is not a torn tail: a bad CRC, a bad header or a
// sequence gap before the last whole record. The journal refuses to start on
// it unless Options.StartFromLastGood says otherwise.
type CorruptError struct {
	File   string // path of the damaged segment
	Offset int64  // byte offset of the damage in the (uncompressed) segment
	Reason string
	Seq    int64 // the record the damage hits, where a scan knows it; 0 otherwise
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal: segment %s: %s at offset %d", e.File, e.Reason, e.Offset)
}
