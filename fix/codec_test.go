package fix

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// wire turns "8=FIX.4.4|35=0|..." into a message with BodyLength and CheckSum.
func wire(s string) []byte {
	s = strings.ReplaceAll(s, "|", "\x01")
	head, rest, _ := strings.Cut(s, "\x01")
	msg := fmt.Sprintf("%s\x019=%d\x01%s", head, len(rest), rest)
	return fmt.Appendf(nil, "%s10=%03d\x01", msg, checksum([]byte(msg)))
}

func TestFrame(t *testing.T) {
	good := wire("8=FIX.4.4|35=0|34=2|49=TW|52=20240102-03:04:05.678|56=ISLD|")
	badSum := bytes.Replace(bytes.Clone(good), []byte("10="), []byte("10=9"), 1)
	badSum = append(badSum[:len(badSum)-5], '\x01') // 10=9dd: a wrong three-digit sum
	short := bytes.Replace(bytes.Clone(good), []byte("9=49"), []byte("9=30"), 1)
	long := bytes.Replace(bytes.Clone(good), []byte("9=49"), []byte("9=60"), 1)
	for _, tc := range []struct {
		name   string
		in     []byte
		status frameStatus
		n      int
	}{
		{"whole_message", good, frameOK, len(good)},
		{"two_messages_in_one_read", append(bytes.Clone(good), good...), frameOK, len(good)},
		{"split_across_reads", good[:len(good)-3], frameNeedMore, 0},
		{"only_the_begin_string", []byte("8=FIX.4"), frameNeedMore, 0},
		{"wrong_checksum_dropped", badSum, frameGarbled, len(badSum)},
		{"body_length_too_short_drops_the_message", short, frameGarbled, len(short)},
		{"body_length_too_long_swallows_the_next", append(bytes.Clone(long), good...), frameGarbled, len(long) + len(good)},
		{"garbage_before_a_message", append([]byte("xx\x01"), good...), frameGarbled, 3},
		{"garbage_only", []byte("hello world"), frameGarbled, 11},
		{"no_body_length", []byte("8=FIX.4.4\x0135=0\x01"), frameGarbled, 1},
		{"body_length_not_a_number", []byte("8=FIX.4.4\x019=x1\x01"), frameGarbled, 1},
		{"body_length_huge", []byte("8=FIX.4.4\x019=99999999\x01"), frameGarbled, 1},
		{"body_length_over_the_limit", []byte("8=FIX.4.4\x019=70000\x01"), frameGarbled, 1},
		{"begin_string_without_soh", []byte("8=FIX.4.4FIX.4.4FIX.4.4"), frameGarbled, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, n, why := frame(tc.in, 64<<10)
			if status != tc.status || n != tc.n {
				t.Fatalf("frame = %v, %d (%s); want %v, %d", status, n, why, tc.status, tc.n)
			}
		})
	}
}

func TestParse(t *testing.T) {
	var m Message
	raw := wire("8=FIX.4.4|35=D|34=7|49=TW|52=20240102-03:04:05.678|56=ISLD|97=Y|11=abc|38=100|95=3|96=a\x01b|")
	if err := m.parse(raw); err != nil {
		t.Fatal(err)
	}
	if string(m.MsgType()) != "D" || m.SeqNum() != 7 || !m.PossResend() || m.PossDup() {
		t.Fatalf("header: type %q seq %d possResend %v", m.MsgType(), m.SeqNum(), m.PossResend())
	}
	if v, _ := m.Get(11); string(v) != "abc" {
		t.Fatalf("ClOrdID %q", v)
	}
	if v, _ := m.Get(96); string(v) != "a\x01b" {
		t.Fatalf("RawData %q: a data field may hold SOH", v)
	}
	for _, bad := range []string{
		"8=FIX.4.4|35=0|34=2|4garbled9=TW|52=20240102-03:04:05|56=ISLD|",
		"8=FIX.4.4|34=2|35=0|49=TW|52=20240102-03:04:05|56=ISLD|",
		"8=FIX.4.4|35=0|34=2|49TW|",
		"8=FIX.4.4|35=|34=2|",
	} {
		if err := m.parse(wire(bad)); err == nil {
			t.Errorf("parse(%q) accepted a garbled message", bad)
		}
	}
	if err := m.parse(wire("8=FIX.4.4|35=0|34=2|-1=HI|0=X|")); err != nil {
		t.Errorf("negative and zero tags are parsed (and rejected later as invalid): %v", err)
	}
}

func TestAddDecimal(t *testing.T) {
	for _, tc := range []struct {
		units int64
		scale int
		want  string
	}{{12345, 2, "123.45"}, {5, 2, "0.05"}, {-5, 3, "-0.005"}, {100, 0, "100"}, {0, 2, "0.00"}, {7, 1, "0.7"}} {
		var f Fields
		f.AddDecimal(44, tc.units, tc.scale)
		if got := string(f.Bytes()); got != "44="+tc.want+"\x01" {
			t.Errorf("AddDecimal(%d, %d) = %q, want %q", tc.units, tc.scale, got, tc.want)
		}
	}
}

func TestTimestamp(t *testing.T) {
	now := time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.UTC)
	b := appendTimestamp(nil, now)
	if string(b) != "20240229-23:59:58.123" {
		t.Fatalf("appendTimestamp = %s", b)
	}
	ns, ok := parseTimestamp(b)
	if !ok || ns != now.Truncate(time.Millisecond).UnixNano() {
		t.Fatalf("parseTimestamp(%s) = %d %v", b, ns, ok)
	}
	for _, bad := range []string{"20040415", "2004-04-15 10:00:00", "20041315-10:00:00", "20040415-10:00:00.1"} {
		if _, ok := parseTimestamp([]byte(bad)); ok {
			t.Errorf("parseTimestamp(%q) accepted", bad)
		}
	}
}

// FuzzFrameParse feeds arbitrary bytes through framing, parsing and
// validation, as the reader does: it must never panic, never loop, and
// whatever it accepts must re-frame as exactly the same bytes.
func FuzzFrameParse(f *testing.F) {
	f.Add(wire("8=FIX.4.4|35=D|34=2|49=TW|52=20240102-03:04:05.678|56=ISLD|11=ID|21=1|40=1|54=1|55=X|60=20240102-03:04:05|"))
	f.Add(wire("8=FIX.4.4|35=D|34=2|49=TW|52=20240102-03:04:05|56=ISLD|11=ID|386=3|336=A|336=B|40=1|40=2|"))
	f.Add([]byte("8=FIX.4.4\x019=5\x0135=0\x0110=000\x01"))
	f.Add([]byte("8=FIX.4.4\x019=99999\x0135=0\x01"))
	f.Add(append(wire("8=FIX.4.2|35=0|34=1|-1=x|0=|"), "garbage\x018=FIX"...))
	dict, err := NewDictionary("FIX.4.4")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var m Message
		var seen tagSet
		buf := in
		for steps := 0; len(buf) > 0; steps++ {
			if steps > len(in)+1 {
				t.Fatal("framing does not make progress")
			}
			status, n, _ := frame(buf, 4096)
			if status == frameNeedMore {
				break
			}
			if n <= 0 || n > len(buf) {
				t.Fatalf("frame consumed %d of %d bytes", n, len(buf))
			}
			if status == frameOK {
				if s2, n2, _ := frame(buf[:n], 4096); s2 != frameOK || n2 != n {
					t.Fatalf("a framed message does not frame alone")
				}
				if m.parse(buf[:n]) == nil {
					dict.validate(&m, dict.messages[string(m.MsgType())], &seen)
					for i := range m.Len() {
						m.Field(i)
					}
				}
			}
			buf = buf[n:]
		}
	})
}

var nosBytes = wire("8=FIX.4.4|35=D|34=1234|49=TW|52=20240102-03:04:05.678|56=ISLD|11=ORD-000001234|21=1|38=100|40=2|44=101.25|54=1|55=SYM7|59=0|60=20240102-03:04:05.678|")

// BenchmarkParseNewOrderSingle frames, parses and validates one
// NewOrderSingle and reads the fields a gateway needs.
func BenchmarkParseNewOrderSingle(b *testing.B) {
	dict, _ := NewDictionary("FIX.4.4")
	def := dict.messages["D"]
	var m Message
	var seen tagSet
	b.ReportAllocs()
	b.SetBytes(int64(len(nosBytes)))
	for b.Loop() {
		if st, n, _ := frame(nosBytes, 64<<10); st != frameOK || n != len(nosBytes) {
			b.Fatal("frame")
		}
		if err := m.parse(nosBytes); err != nil {
			b.Fatal(err)
		}
		if r := dict.validate(&m, def, &seen); r.reason >= 0 {
			b.Fatal(reasonText(r.reason))
		}
		m.Get(11)
		m.Get(38)
		m.Get(44)
		m.Get(55)
	}
}

// BenchmarkWriteExecutionReport builds an ExecutionReport body and encodes
// the whole message (header, BodyLength, CheckSum) into a reused buffer.
func BenchmarkWriteExecutionReport(b *testing.B) {
	var body Fields
	buf := make([]byte, 0, 512)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		body.Reset()
		body.AddString(37, "O-1234567")
		body.AddString(11, "ORD-000001234")
		body.AddString(17, "E-1234567")
		body.AddChar(150, '0')
		body.AddChar(39, '0')
		body.AddString(55, "SYM7")
		body.AddChar(54, '1')
		body.AddDecimal(38, 100, 0)
		body.AddDecimal(44, 10125, 2)
		body.AddDecimal(151, 100, 0)
		body.AddDecimal(14, 0, 0)
		body.AddDecimal(6, 0, 2)
		body.AddTime(60, now)
		buf = appendMessage(buf[:0], "FIX.4.4", "ISLD", "TW", "8", 1234, now, nil, nil, body.Bytes())
	}
	b.SetBytes(int64(len(buf)))
}
