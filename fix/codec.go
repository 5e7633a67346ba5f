package fix

import (
	"bytes"
	"errors"
	"strconv"
	"time"
)

const soh = 0x01

// beginStringMax bounds BeginString ("FIX.4.4" and the like) while framing.
const beginStringMax = 16

// bodyLengthDigitsMax bounds the digits of BodyLength(9).
const bodyLengthDigitsMax = 7

// frameStatus is what framing found at the front of a read buffer.
type frameStatus uint8

const (
	frameNeedMore frameStatus = iota // no whole message yet: read more
	frameOK                          // buf[:n] is one message with a right BodyLength and CheckSum
	frameGarbled                     // buf[:n] is garbage or a damaged message: discard it
)

// Why framing discarded bytes; constant strings so that the hot path does not allocate.
const (
	garbledNoStart     = "no BeginString(8) at the start"
	garbledBeginString = "BeginString(8) too long or not terminated"
	garbledNoLength    = "second field is not BodyLength(9)"
	garbledLength      = "BodyLength(9) is not a number or too large"
	garbledBodyLength  = "BodyLength(9) does not match where CheckSum(10) is"
	garbledChecksum    = "CheckSum(10) is wrong"
	garbledTooLong     = "no CheckSum(10) within the maximum message size"
)

// frame finds the first message in buf, QuickFIX style: a message starts
// with "8=", its second field is BodyLength(9), and CheckSum(10) must start
// exactly BodyLength bytes after it and hold the sum of every byte before it.
// When CheckSum(10) is not where BodyLength says, everything up to the next
// CheckSum field after that point is one damaged message and is discarded,
// so a wrong BodyLength costs that message and, if it pointed into the next
// one, that one too, never a resynchronisation in the middle of a message.
// maxBody bounds BodyLength and how far frame looks for a CheckSum.
//
// Hot path: called once per inbound message; allocates nothing.
func frame(buf []byte, maxBody int) (status frameStatus, n int, why string) {
	if len(buf) < 2 {
		return frameNeedMore, 0, ""
	}
	if buf[0] != '8' || buf[1] != '=' {
		if i := bytes.Index(buf, []byte("\x018=")); i >= 0 {
			return frameGarbled, i + 1, garbledNoStart
		}
		if buf[len(buf)-1] == soh || buf[len(buf)-1] == '8' {
			return frameGarbled, len(buf) - 1, garbledNoStart // keep a possible start
		}
		return frameGarbled, len(buf), garbledNoStart
	}
	e := bytes.IndexByte(buf[2:min(len(buf), 2+beginStringMax)], soh)
	if e < 0 {
		if len(buf) >= 2+beginStringMax {
			return frameGarbled, 1, garbledBeginString
		}
		return frameNeedMore, 0, ""
	}
	p := 2 + e + 1
	if len(buf) < p+2 {
		return frameNeedMore, 0, ""
	}
	if buf[p] != '9' || buf[p+1] != '=' {
		return frameGarbled, 1, garbledNoLength
	}
	p += 2
	length, digits := 0, 0
	for {
		if p >= len(buf) {
			return frameNeedMore, 0, ""
		}
		c := buf[p]
		if c == soh {
			break
		}
		if c < '0' || c > '9' || digits == bodyLengthDigitsMax {
			return frameGarbled, 1, garbledLength
		}
		length = length*10 + int(c-'0')
		digits++
		p++
	}
	if digits == 0 || length > maxBody {
		return frameGarbled, 1, garbledLength
	}
	bodyEnd := p + 1 + length
	// Fast path: CheckSum exactly where BodyLength says.
	if bodyEnd+7 <= len(buf) && buf[bodyEnd-1] == soh && buf[bodyEnd] == '1' && buf[bodyEnd+1] == '0' && buf[bodyEnd+2] == '=' && buf[bodyEnd+6] == soh {
		d0, d1, d2 := buf[bodyEnd+3], buf[bodyEnd+4], buf[bodyEnd+5]
		if isDigit(d0) && isDigit(d1) && isDigit(d2) {
			if int(d0-'0')*100+int(d1-'0')*10+int(d2-'0') == checksum(buf[:bodyEnd]) {
				return frameOK, bodyEnd + 7, ""
			}
			return frameGarbled, bodyEnd + 7, garbledChecksum
		}
	}
	if bodyEnd > len(buf) {
		return frameNeedMore, 0, ""
	}
	// Damaged: discard through the end of the next CheckSum field.
	from := bodyEnd - 1
	limit := min(len(buf), bodyEnd+maxBody)
	i := bytes.Index(buf[from:limit], []byte("\x0110="))
	if i < 0 {
		if limit < len(buf) || len(buf)-bodyEnd >= maxBody {
			return frameGarbled, bodyEnd, garbledTooLong
		}
		return frameNeedMore, 0, ""
	}
	end := from + i + 4
	j := bytes.IndexByte(buf[end:min(len(buf), end+8)], soh)
	if j < 0 {
		if len(buf)-end >= 8 {
			return frameGarbled, end, garbledBodyLength
		}
		return frameNeedMore, 0, ""
	}
	end += j + 1
	if from+1 == bodyEnd && end == bodyEnd+7 {
		return frameGarbled, end, garbledChecksum
	}
	return frameGarbled, end, garbledBodyLength
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// checksum is the FIX CheckSum of b: the sum of its bytes modulo 256.
func checksum(b []byte) int {
	var s uint
	for _, c := range b {
		s += uint(c)
	}
	return int(s & 0xff)
}

// A Message is one parsed inbound message: its raw bytes and the position of
// every field, in the order received. Values are slices of the read buffer:
// a Message handed to Application.FromApp is valid only during the call.
// The zero value is ready for parse.
type Message struct {
	raw    []byte
	fields []field // every field, 8, 9 and 10 included
	// positions of fields the session layer reads on every message; -1 when absent
	iSeq, iSender, iTarget, iSendingTime, iPossDup, iPossResend, iOrigTime int16
	seqNum                                                                 int // -1 when 34 is absent or not a positive number
}

type field struct {
	tag        int32
	start, end int32 // value bounds in raw
}

// errGarbled means a framed message cannot be read as fields: a tag that is
// not a number, a field without '=', or the first three fields or the last
// not 8, 9, 35 and 10. Such a message is ignored, like a bad checksum.
var errGarbled = errors.New("garbled message")

// dataLengthTag maps a data field (whose value may hold SOH) to the field
// that gives its length.
func dataLengthTag(tag int) int {
	switch tag {
	case 89:
		return 93
	case 91:
		return 90
	case 96:
		return 95
	case 213:
		return 212
	case 349:
		return 348
	case 351:
		return 350
	case 353:
		return 352
	case 355:
		return 354
	case 357:
		return 356
	case 359:
		return 358
	case 361:
		return 360
	case 363:
		return 362
	case 365:
		return 364
	case 446:
		return 445
	case 619:
		return 618
	case 622:
		return 621
	}
	return 0
}

// Parse reads raw, a sequence of tag=value fields each ending in SOH, into
// m, keeping raw without copying it. It checks field syntax only, not
// framing or a dictionary: it is for tools and tests that hand the gateway a
// message the session layer never saw (the gateway's fuzz target).
func (m *Message) Parse(raw []byte) error { return m.parse(raw) }

// parse reads a framed message into m. m keeps raw, without copying it.
//
// Hot path: allocates nothing once m.fields has grown to the largest message.
func (m *Message) parse(raw []byte) error {
	m.raw = raw
	m.fields = m.fields[:0]
	m.iSeq, m.iSender, m.iTarget, m.iSendingTime, m.iPossDup, m.iPossResend, m.iOrigTime = -1, -1, -1, -1, -1, -1, -1
	m.seqNum = -1
	p := 0
	for p < len(raw) {
		tag, neg, digits := 0, false, 0
		q := p
		if raw[q] == '-' {
			neg = true
			q++
		}
		for q < len(raw) && isDigit(raw[q]) {
			if digits < 9 {
				tag = tag*10 + int(raw[q]-'0')
			}
			digits++
			q++
		}
		if digits == 0 || digits > 9 || q >= len(raw) || raw[q] != '=' {
			return errGarbled
		}
		if neg {
			tag = -tag
		}
		q++
		var end int
		if lt := dataLengthTag(tag); lt != 0 && len(m.fields) > 0 && int(m.fields[len(m.fields)-1].tag) == lt {
			prev := m.fields[len(m.fields)-1]
			n, ok := atoi(raw[prev.start:prev.end])
			if !ok || n < 0 || q+n >= len(raw) || raw[q+n] != soh {
				return errGarbled
			}
			end = q + n
		} else {
			i := bytes.IndexByte(raw[q:], soh)
			if i < 0 {
				return errGarbled
			}
			end = q + i
		}
		idx := int16(min(len(m.fields), 1<<15-1))
		m.fields = append(m.fields, field{tag: int32(tag), start: int32(q), end: int32(end)})
		switch tag {
		case tagMsgSeqNum:
			if m.iSeq < 0 {
				m.iSeq = idx
				if n, ok := atoi(raw[q:end]); ok {
					m.seqNum = n
				}
			}
		case tagSenderCompID:
			if m.iSender < 0 {
				m.iSender = idx
			}
		case tagTargetCompID:
			if m.iTarget < 0 {
				m.iTarget = idx
			}
		case tagSendingTime:
			if m.iSendingTime < 0 {
				m.iSendingTime = idx
			}
		case tagPossDupFlag:
			if m.iPossDup < 0 {
				m.iPossDup = idx
			}
		case tagPossResend:
			if m.iPossResend < 0 {
				m.iPossResend = idx
			}
		case tagOrigSendingTime:
			if m.iOrigTime < 0 {
				m.iOrigTime = idx
			}
		}
		p = end + 1
	}
	n := len(m.fields)
	if n < 4 || m.fields[0].tag != tagBeginString || m.fields[1].tag != tagBodyLength ||
		m.fields[2].tag != tagMsgType || m.fields[n-1].tag != tagCheckSum || m.fields[2].start == m.fields[2].end {
		return errGarbled
	}
	return nil
}

// atoi reads a non-negative decimal of at most 18 digits.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// Bytes is the whole message as received.
func (m *Message) Bytes() []byte { return m.raw }

// BeginString is the value of BeginString(8).
func (m *Message) BeginString() []byte { return m.value(0) }

// MsgType is the value of MsgType(35).
func (m *Message) MsgType() []byte { return m.value(2) }

// SeqNum is MsgSeqNum(34), or -1 when it is absent or not a number.
func (m *Message) SeqNum() int { return m.seqNum }

// PossDup reports PossDupFlag(43)=Y.
func (m *Message) PossDup() bool { return m.flag(m.iPossDup) }

// PossResend reports PossResend(97)=Y.
func (m *Message) PossResend() bool { return m.flag(m.iPossResend) }

// Len is the number of fields, BeginString, BodyLength and CheckSum included.
func (m *Message) Len() int { return len(m.fields) }

// Field returns the i-th field in the order received.
func (m *Message) Field(i int) (tag int, value []byte) {
	return int(m.fields[i].tag), m.value(i)
}

// Get returns the value of the first field with tag.
//
// Hot path: a scan of the fields; allocates nothing.
func (m *Message) Get(tag int) ([]byte, bool) {
	for i := range m.fields {
		if int(m.fields[i].tag) == tag {
			return m.value(i), true
		}
	}
	return nil, false
}

// GetInt returns the first field with tag as a non-negative integer; ok is
// false when it is absent or not one.
func (m *Message) GetInt(tag int) (v int, ok bool) {
	b, ok := m.Get(tag)
	if !ok {
		return 0, false
	}
	return atoi(b)
}

func (m *Message) value(i int) []byte {
	f := m.fields[i]
	return m.raw[f.start:f.end:f.end]
}

func (m *Message) idx(i int16) []byte {
	if i < 0 {
		return nil
	}
	return m.value(int(i))
}

func (m *Message) flag(i int16) bool {
	v := m.idx(i)
	return len(v) == 1 && v[0] == 'Y'
}

// Fields builds the body (or extra header fields) of an outbound message:
// tag=value pairs appended in the order given. Reuse one with Reset: once its
// buffer has grown, building a message allocates nothing. Not safe for
// concurrent use.
type Fields struct {
	b []byte
}

// Reset empties f, keeping its buffer.
func (f *Fields) Reset() { f.b = f.b[:0] }

// Bytes is the encoded fields, each ending in SOH.
func (f *Fields) Bytes() []byte { return f.b }

// AddFields appends the fields of g, as encoded: a repeating group built
// once and sent in several messages. No allocation once f has grown.
func (f *Fields) AddFields(g *Fields) { f.b = append(f.b, g.b...) }

// Len is the encoded length in bytes.
func (f *Fields) Len() int { return len(f.b) }

func (f *Fields) tag(tag int) {
	f.b = strconv.AppendInt(f.b, int64(tag), 10)
	f.b = append(f.b, '=')
}

// AddString appends tag=v.
func (f *Fields) AddString(tag int, v string) {
	f.tag(tag)
	f.b = append(f.b, v...)
	f.b = append(f.b, soh)
}

// AddBytes appends tag=v.
func (f *Fields) AddBytes(tag int, v []byte) {
	f.tag(tag)
	f.b = append(f.b, v...)
	f.b = append(f.b, soh)
}

// AddInt appends tag=v in decimal.
func (f *Fields) AddInt(tag int, v int64) {
	f.tag(tag)
	f.b = strconv.AppendInt(f.b, v, 10)
	f.b = append(f.b, soh)
}

// AddChar appends a one-character value.
func (f *Fields) AddChar(tag int, c byte) {
	f.tag(tag)
	f.b = append(f.b, c, soh)
}

// AddBool appends Y or N.
func (f *Fields) AddBool(tag int, v bool) {
	c := byte('N')
	if v {
		c = 'Y'
	}
	f.AddChar(tag, c)
}

// AddDecimal appends units×10^-scale as a FIX decimal: AddDecimal(44, 12345, 2)
// writes 44=123.45. Prices in ticks and quantities in lots convert here, with
// no floating point.
func (f *Fields) AddDecimal(tag int, units int64, scale int) {
	f.tag(tag)
	if scale <= 0 {
		f.b = strconv.AppendInt(f.b, units, 10)
		f.b = append(f.b, soh)
		return
	}
	u := uint64(units)
	if units < 0 {
		f.b = append(f.b, '-')
		u = uint64(-units)
	}
	scale = min(scale, 18)
	var tmp [48]byte
	i := len(tmp)
	for range scale {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
	}
	i--
	tmp[i] = '.'
	for {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	f.b = append(f.b, tmp[i:]...)
	f.b = append(f.b, soh)
}

// AddTime appends t as a UTCTimestamp with milliseconds.
func (f *Fields) AddTime(tag int, t time.Time) {
	f.tag(tag)
	f.b = appendTimestamp(f.b, t)
	f.b = append(f.b, soh)
}

// appendTimestamp writes YYYYMMDD-HH:MM:SS.sss in UTC.
func appendTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(b,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10),
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), byte('0'+d/10), byte('0'+d%10), '-',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}

// parseTimestamp reads a UTCTimestamp: YYYYMMDD-HH:MM:SS with an optional
// fraction of 3, 6 or 9 digits. It returns nanoseconds since the Unix epoch.
//
// Hot path: allocates nothing.
func parseTimestamp(b []byte) (int64, bool) {
	if len(b) != 17 && len(b) != 21 && len(b) != 24 && len(b) != 27 {
		return 0, false
	}
	if b[8] != '-' || b[11] != ':' || b[14] != ':' {
		return 0, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range b[i : i+n] {
			if !isDigit(c) {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(4, 2)
	d, ok3 := num(6, 2)
	h, ok4 := num(9, 2)
	mi, ok5 := num(12, 2)
	s, ok6 := num(15, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return 0, false
	}
	frac := 0
	if len(b) > 17 {
		if b[17] != '.' {
			return 0, false
		}
		n := len(b) - 18
		f, ok := num(18, n)
		if !ok {
			return 0, false
		}
		for ; n < 9; n++ {
			f *= 10
		}
		frac = f
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, frac, time.UTC).UnixNano(), true
}
