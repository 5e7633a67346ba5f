package fixaccept

import (
	"fmt"
	"regexp"
)

// timeTags hold times an acceptor writes for itself: OrigTime(42),
// SendingTime(52), TransactTime(60), OrigSendingTime(122). In them any
// expected timestamp stands for "a timestamp": the suite writes zeros, or a
// stale literal (14e_IncorrectEnumValue expects 52=20020619-16:14:10), or
// <TIME> (SessionReset), and the suite's own runner matches all of those by
// pattern.
var timeTags = map[string]bool{"42": true, "52": true, "60": true, "122": true}

var (
	timestampPattern     = regexp.MustCompile(`^[0-9]{8}-[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3}|\.[0-9]{6}|\.[0-9]{9})?$`)
	zeroTimestampPattern = regexp.MustCompile(`^0{8}-00:00:00(\.0+)?$`)
	timeTokenPattern     = regexp.MustCompile(`^<TIME([+-][0-9]+)?>$`)
)

// matchesAnyTime reports whether an expected value is a time wildcard.
func matchesAnyTime(tag, want string) bool {
	return zeroTimestampPattern.MatchString(want) || timeTokenPattern.MatchString(want) ||
		(timeTags[tag] && timestampPattern.MatchString(want))
}

// compareMessage compares a received message with an E line, field by field
// in order. BodyLength(9) and CheckSum(10) are left out on both sides: the
// scenario's values are those of the original engine's output, and
// readMessage has already checked that the received ones are right for the
// bytes received. It returns "" when they match, else the first difference.
func compareMessage(want string, got []byte) string {
	wantFields := withoutLengthAndChecksum(splitFields(want))
	gotFields := withoutLengthAndChecksum(splitFields(string(got)))
	for i, w := range wantFields {
		if i >= len(gotFields) {
			return fmt.Sprintf("message ends after %d fields; want %s=%s next", len(gotFields), w.tag, w.value)
		}
		g := gotFields[i]
		if g.tag != w.tag {
			return fmt.Sprintf("field %d: want %s=%s, got %s=%s", i+1, w.tag, w.value, g.tag, g.value)
		}
		if g.value == w.value {
			continue
		}
		if matchesAnyTime(w.tag, w.value) {
			if timestampPattern.MatchString(g.value) {
				continue
			}
			return fmt.Sprintf("field %d: want a UTC timestamp in %s, got %q", i+1, w.tag, g.value)
		}
		return fmt.Sprintf("field %d: want %s=%s, got %s=%s", i+1, w.tag, w.value, g.tag, g.value)
	}
	if len(gotFields) > len(wantFields) {
		g := gotFields[len(wantFields)]
		return fmt.Sprintf("unexpected field %d: %s=%s", len(wantFields)+1, g.tag, g.value)
	}
	return ""
}

func withoutLengthAndChecksum(fields []tagValue) []tagValue {
	out := fields[:0:0]
	for _, f := range fields {
		if f.tag != "9" && f.tag != "10" {
			out = append(out, f)
		}
	}
	return out
}
