package bench

import (
	"errors"
	"strconv"
	"time"
)

// The initiator side of FIX, as small as a load generator needs: encode a
// message with header and trailer, frame inbound bytes, and read the few
// tags an answer is matched by. Package fix exports its acceptor and a
// Fields writer but not the framing or an initiator, so this is the bench's
// own; it allocates nothing per message.

const soh = 0x01

// encoder appends whole FIX messages of one session to a buffer.
type encoder struct {
	begin, sender, target string
	seq                   int
	body                  []byte // scratch: 35= up to the end of the body
	tsSec                 int64  // second of the cached timestamp
	ts                    []byte // "YYYYMMDD-HH:MM:SS.sss"
}

// timestamp returns now as a FIX UTCTimestamp with milliseconds, formatting
// the date part once per second.
func (e *encoder) timestamp(now time.Time) []byte {
	now = now.UTC()
	if sec := now.Unix(); sec != e.tsSec || e.ts == nil {
		e.tsSec = sec
		e.ts = now.AppendFormat(e.ts[:0], "20060102-15:04:05.000")
		return e.ts
	}
	ms := now.Nanosecond() / 1e6
	n := len(e.ts)
	e.ts[n-3], e.ts[n-2], e.ts[n-1] = byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10)
	return e.ts
}

// start begins a message of msgType in the scratch body; add fields with
// the add methods, then finish.
func (e *encoder) start(msgType string, now time.Time) {
	b := append(e.body[:0], "35="...)
	b = append(b, msgType...)
	b = append(b, "\x0149="...)
	b = append(b, e.sender...)
	b = append(b, "\x0156="...)
	b = append(b, e.target...)
	b = append(b, "\x0134="...)
	b = strconv.AppendInt(b, int64(e.seq), 10)
	b = append(b, "\x0152="...)
	b = append(b, e.timestamp(now)...)
	e.body = append(b, soh)
	e.seq++
}

func (e *encoder) tag(t int) {
	e.body = strconv.AppendInt(e.body, int64(t), 10)
	e.body = append(e.body, '=')
}

func (e *encoder) str(t int, v string) {
	e.tag(t)
	e.body = append(append(e.body, v...), soh)
}

func (e *encoder) bytes(t int, v []byte) {
	e.tag(t)
	e.body = append(append(e.body, v...), soh)
}

func (e *encoder) int(t int, v int64) {
	e.tag(t)
	e.body = append(strconv.AppendInt(e.body, v, 10), soh)
}

func (e *encoder) char(t int, c byte) {
	e.tag(t)
	e.body = append(e.body, c, soh)
}

// id writes prefix followed by the decimal k: a ClOrdID.
func (e *encoder) id(t int, prefix string, k int64) {
	e.tag(t)
	e.body = append(e.body, prefix...)
	e.body = append(strconv.AppendInt(e.body, k, 10), soh)
}

// price writes ticks as a decimal with two places (tick size 0.01).
func (e *encoder) price(t int, ticks int64) {
	e.tag(t)
	e.body = strconv.AppendInt(e.body, ticks/100, 10)
	c := ticks % 100
	e.body = append(e.body, '.', byte('0'+c/10), byte('0'+c%10), soh)
}

// finish appends the message (header, scratch body, checksum) to dst.
func (e *encoder) finish(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, "8="...)
	dst = append(dst, e.begin...)
	dst = append(dst, "\x019="...)
	dst = strconv.AppendInt(dst, int64(len(e.body)), 10)
	dst = append(dst, soh)
	dst = append(dst, e.body...)
	var sum uint
	for _, c := range dst[start:] {
		sum += uint(c)
	}
	sum &= 0xff
	return append(dst, '1', '0', '=', byte('0'+sum/100), byte('0'+sum/10%10), byte('0'+sum%10), soh)
}

var errGarbled = errors.New("garbled FIX message")

// maxBodyLength bounds what the reader buffers for one message.
const maxBodyLength = 1 << 16

// frameMsg finds the first whole message in buf: n > 0 is its length, n ==
// 0 means read more. A wrong BodyLength or CheckSum is an error: the
// counterparty of a benchmark does not send garbage, and if it does the
// run should say so.
func frameMsg(buf []byte) (n int, err error) {
	if len(buf) < 16 {
		return 0, nil
	}
	if buf[0] != '8' || buf[1] != '=' {
		return 0, errGarbled
	}
	i := 2
	for i < len(buf) && buf[i] != soh {
		i++
	}
	if i+3 >= len(buf) {
		return 0, nil
	}
	if buf[i+1] != '9' || buf[i+2] != '=' {
		return 0, errGarbled
	}
	j, bodyLen := i+3, 0
	for ; j < len(buf) && buf[j] != soh; j++ {
		if buf[j] < '0' || buf[j] > '9' || bodyLen > maxBodyLength {
			return 0, errGarbled
		}
		bodyLen = bodyLen*10 + int(buf[j]-'0')
	}
	if j >= len(buf) {
		return 0, nil
	}
	end := j + 1 + bodyLen // start of 10=
	if end+7 > len(buf) {
		return 0, nil
	}
	t := buf[end:]
	if t[0] != '1' || t[1] != '0' || t[2] != '=' || t[6] != soh {
		return 0, errGarbled
	}
	var sum uint
	for _, c := range buf[:end] {
		sum += uint(c)
	}
	if int(sum&0xff) != int(t[3]-'0')*100+int(t[4]-'0')*10+int(t[5]-'0') {
		return 0, errGarbled
	}
	return end + 7, nil
}

// answer is what the load generator reads of an inbound message.
type answer struct {
	msgType  []byte
	clOrdID  []byte
	execType byte
	testReq  []byte // TestReqID(112) of a TestRequest
	text     []byte
}

// nextField reads the tag=value field at msg[i:] and returns the index of
// the next one. Hot path: no allocation; v is a slice of msg.
func nextField(msg []byte, i int) (tag int, v []byte, next int) {
	for i < len(msg) && msg[i] != '=' {
		tag = tag*10 + int(msg[i]-'0')
		i++
	}
	i = min(i+1, len(msg)) // a field without '=' ends the message
	j := i
	for j < len(msg) && msg[j] != soh {
		j++
	}
	return tag, msg[i:j], j + 1
}

// scan reads the tags of msg that an answer is matched by. Hot path.
func (a *answer) scan(msg []byte) {
	*a = answer{}
	for i := 0; i < len(msg); {
		var tag int
		var v []byte
		tag, v, i = nextField(msg, i)
		switch tag {
		case 35:
			a.msgType = v
		case 11:
			a.clOrdID = v
		case 150:
			if len(v) > 0 {
				a.execType = v[0]
			}
		case 112:
			a.testReq = v
		case 58:
			a.text = v
		}
	}
}

// idIndex parses a ClOrdID written by encoder.id with prefix; ok is false
// for any other id (an answer to another run).
func idIndex(id []byte, prefix string) (k int64, ok bool) {
	if len(id) <= len(prefix) || string(id[:len(prefix)]) != prefix {
		return 0, false
	}
	for _, c := range id[len(prefix):] {
		if c < '0' || c > '9' {
			return 0, false
		}
		k = k*10 + int64(c-'0')
	}
	return k, true
}
