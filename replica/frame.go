package replica

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// MaxFrameBytes bounds a frame's body, so that a garbled length cannot make a
// reader allocate without limit.
const MaxFrameBytes = 16 << 20

const frameHeaderBytes = 20

// ProtocolVersion is the version of the wire format this package speaks,
// carried in every frame's header. A peer that speaks another is refused
// (RefuseVersion) or left (VersionError): frames of two versions are never
// mixed on a connection. Ringex before the field sent 0 there.
const ProtocolVersion = 1

// Frame types.
const (
	typeHello     = 1
	typeWelcome   = 2
	typeRecords   = 3
	typeAck       = 4
	typeHeartbeat = 5
	typeRefuse    = 6
	typeProbe     = 7
	typeAnswer    = 8
	typeSnapshot  = 9

	typeLast = typeSnapshot
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frame is one decoded frame; body aliases the reader's buffer until the next
// read.
type frame struct {
	typ   byte
	epoch uint64
	body  []byte
}

// frameWriter builds frames in a reused buffer.
type frameWriter struct {
	buf []byte
}

// begin starts a frame of type typ.
func (w *frameWriter) begin(typ byte, epoch uint64) {
	w.buf = append(w.buf[:0], make([]byte, frameHeaderBytes)...)
	w.buf[8] = typ
	w.buf[9] = ProtocolVersion
	binary.LittleEndian.PutUint64(w.buf[12:], epoch)
}

func (w *frameWriter) u32(v uint32) { w.buf = binary.LittleEndian.AppendUint32(w.buf, v) }
func (w *frameWriter) u64(v uint64) { w.buf = binary.LittleEndian.AppendUint64(w.buf, v) }
func (w *frameWriter) bytes(b []byte) {
	w.u32(uint32(len(b)))
	w.buf = append(w.buf, b...)
}

// finish fills in length and CRC and returns the whole frame.
func (w *frameWriter) finish() []byte {
	binary.LittleEndian.PutUint32(w.buf[4:], uint32(len(w.buf)-frameHeaderBytes))
	binary.LittleEndian.PutUint32(w.buf[0:], crc32.Checksum(w.buf[4:], castagnoli))
	return w.buf
}

// bodyLen is the body bytes written so far.
func (w *frameWriter) bodyLen() int { return len(w.buf) - frameHeaderBytes }

// frameReader reads frames from a buffered connection into a reused buffer.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// errFrame marks a frame that arrived whole but is not valid.
var errFrame = errors.New("replica: bad frame")

// VersionError is a frame from a peer that speaks another ProtocolVersion.
// Nothing else of the frame is read: its layout may differ.
type VersionError struct {
	Peer, Ours uint8
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("replica: the peer speaks replica protocol version %d, this node version %d: run the same ringex release on both nodes", e.Peer, e.Ours)
}

func (fr *frameReader) next() (frame, error) {
	var hdr [frameHeaderBytes]byte
	if _, err := io.ReadFull(fr.r, hdr[:]); err != nil {
		return frame{}, err
	}
	n := binary.LittleEndian.Uint32(hdr[4:])
	if n > MaxFrameBytes {
		return frame{}, fmt.Errorf("%w: body of %d bytes, over MaxFrameBytes", errFrame, n)
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	body := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, body); err != nil {
		return frame{}, err
	}
	crc := crc32.Update(crc32.Checksum(hdr[4:], castagnoli), castagnoli, body)
	if crc != binary.LittleEndian.Uint32(hdr[0:]) {
		return frame{}, fmt.Errorf("%w: crc mismatch on a %d-byte type %d frame", errFrame, n, hdr[8])
	}
	if hdr[9] != ProtocolVersion {
		return frame{}, &VersionError{Peer: hdr[9], Ours: ProtocolVersion}
	}
	if hdr[8] < typeHello || hdr[8] > typeLast {
		return frame{}, fmt.Errorf("%w: unknown type %d", errFrame, hdr[8])
	}
	return frame{typ: hdr[8], epoch: binary.LittleEndian.Uint64(hdr[12:]), body: body}, nil
}

// bodyReader decodes a body, remembering the first shortfall.
type bodyReader struct {
	b   []byte
	err error
}

func (r *bodyReader) u32() uint32 {
	if len(r.b) < 4 {
		r.short()
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *bodyReader) u64() uint64 {
	if len(r.b) < 8 {
		r.short()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *bodyReader) bytes() []byte {
	n := r.u32()
	if r.err != nil || uint64(n) > uint64(len(r.b)) {
		r.short()
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *bodyReader) short() {
	if r.err == nil {
		r.err = fmt.Errorf("%w: body too short", errFrame)
	}
	r.b = nil
}

// history encodes and decodes an epoch history inside a body.
func (w *frameWriter) history(h []Epoch) {
	w.u32(uint32(len(h)))
	for _, e := range h {
		w.u64(e.Epoch)
		w.u64(uint64(e.FirstSeq))
		w.u64(e.Term)
	}
}

func (r *bodyReader) history() []Epoch {
	n := r.u32()
	if n > maxEpochs {
		r.err = fmt.Errorf("%w: %d epochs, over %d", errFrame, n, maxEpochs)
		return nil
	}
	h := make([]Epoch, 0, n)
	for range n {
		h = append(h, Epoch{Epoch: r.u64(), FirstSeq: int64(r.u64()), Term: r.u64()})
	}
	return h
}
