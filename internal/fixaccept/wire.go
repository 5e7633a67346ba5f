package fixaccept

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// timeLayout is how <TIME> is written: UTCTimestamp with milliseconds. The
// suite's own runner writes whole seconds, which makes <TIME+121> up to a
// second less than 121 s ahead, so that 2o_SendingTimeValueOutOfRange can
// land inside the acceptor's 120 s window and fail by chance.
const timeLayout = "20060102-15:04:05.000"

var timeToken = regexp.MustCompile(`<TIME([+-][0-9]+)?>`)

// substituteTimes replaces <TIME>, <TIME+N> and <TIME-N> with now, now+N s
// and now-N s.
func substituteTimes(text string, now time.Time) string {
	return timeToken.ReplaceAllStringFunc(text, func(tok string) string {
		t := now
		if m := timeToken.FindStringSubmatch(tok); m[1] != "" {
			n, _ := strconv.Atoi(m[1]) // the pattern admits only a signed integer
			t = t.Add(time.Duration(n) * time.Second)
		}
		return t.UTC().Format(timeLayout)
	})
}

// frame turns an I line into the bytes the client sends. The runner adds
// BodyLength(9) after BeginString and CheckSum(10) at the end, except where
// the line carries its own: a 9 field anywhere in the message, or a 10 field
// last, is the scenario sending a deliberately wrong length or checksum
// (1d_InvalidLogonLengthInvalid, 2d_GarbledMessage, 2m_BodyLengthValueNotCorrect,
// 3b_InvalidChecksum), and is kept as written. A line that does not start
// with BeginString (2t_FirstThreeFieldsOutOfOrder) is sent exactly as written.
func frame(text string) []byte {
	if !strings.HasPrefix(text, "8=") {
		return []byte(text)
	}
	head, rest, _ := strings.Cut(text, string(soh))
	head += string(soh)

	fields := splitFields(rest)
	hasLength, hasChecksum := false, false
	for _, f := range fields {
		if f.tag == "9" {
			hasLength = true
		}
	}
	checksumField := ""
	if n := len(fields); n > 0 && fields[n-1].tag == "10" {
		hasChecksum = true
		i := strings.LastIndex(rest[:len(rest)-1], string(soh)) + 1
		rest, checksumField = rest[:i], rest[i:]
	}

	var b bytes.Buffer
	b.WriteString(head)
	if !hasLength {
		b.WriteString("9=")
		b.WriteString(strconv.Itoa(len(rest)))
		b.WriteByte(soh)
	}
	b.WriteString(rest)
	if hasChecksum {
		b.WriteString(checksumField)
	} else {
		fmt.Fprintf(&b, "10=%03d\x01", checksum(b.Bytes()))
	}
	return b.Bytes()
}

func checksum(b []byte) int {
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	return sum % 256
}

// Bounds on what the acceptor may send. No message in the suite comes near;
// they stop a broken acceptor from making the runner read forever.
const (
	headFieldBytesMax = 32
	bodyBytesMax      = 1 << 20
)

// readMessage reads one whole FIX message: BeginString, BodyLength, the body
// of that length, CheckSum. It checks the framing and the checksum, so a
// received message's 9 and 10 are verified here rather than compared with
// the scenario's values.
func readMessage(r *bufio.Reader) ([]byte, error) {
	var msg []byte
	begin, err := readField(r, headFieldBytesMax)
	msg = append(msg, begin...)
	if err != nil {
		return msg, err
	}
	if !bytes.HasPrefix(begin, []byte("8=")) {
		return msg, fmt.Errorf("message does not start with BeginString(8)")
	}
	length, err := readField(r, headFieldBytesMax)
	msg = append(msg, length...)
	if err != nil {
		return msg, err
	}
	n, convErr := strconv.Atoi(string(bytes.TrimSuffix(bytes.TrimPrefix(length, []byte("9=")), []byte{soh})))
	if !bytes.HasPrefix(length, []byte("9=")) || convErr != nil || n <= 0 || n > bodyBytesMax {
		return msg, fmt.Errorf("second field is not a usable BodyLength(9)")
	}
	body := make([]byte, n)
	got, err := io.ReadFull(r, body)
	msg = append(msg, body[:got]...)
	if err != nil {
		return msg, err
	}
	if body[n-1] != soh {
		return msg, fmt.Errorf("BodyLength(9)=%d does not end on a field boundary", n)
	}
	trailer, err := readField(r, headFieldBytesMax)
	msg = append(msg, trailer...)
	if err != nil {
		return msg, err
	}
	want := fmt.Sprintf("10=%03d\x01", checksum(msg[:len(msg)-len(trailer)]))
	if string(trailer) != want {
		return msg, fmt.Errorf("CheckSum(10): got %q, computed %q", printable(trailer), printable(want))
	}
	return msg, nil
}

// readField reads up to and including the next SOH, at most max bytes.
func readField(r *bufio.Reader, max int) ([]byte, error) {
	var field []byte
	for len(field) < max {
		c, err := r.ReadByte()
		if err != nil {
			return field, err
		}
		field = append(field, c)
		if c == soh {
			return field, nil
		}
	}
	return field, fmt.Errorf("field longer than %d bytes", max)
}
