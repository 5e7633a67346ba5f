package fixaccept

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fix writes a message with '|' for SOH, as the tests below do.
func fix(s string) string { return strings.ReplaceAll(s, "|", "\x01") }

func TestFrame(t *testing.T) {
	for _, tc := range []struct {
		name, line, want string
	}{
		{"adds_length_and_checksum",
			"8=FIX.4.2|35=0|34=2|49=TW|52=20240101-00:00:00|56=ISLD|",
			"8=FIX.4.2|9=45|35=0|34=2|49=TW|52=20240101-00:00:00|56=ISLD|10=%s|"},
		{"keeps_a_wrong_body_length",
			"8=FIX.4.2|9=40|35=A|34=1|49=TW|52=20240101-00:00:00|56=ISLD|98=0|108=30|",
			"8=FIX.4.2|9=40|35=A|34=1|49=TW|52=20240101-00:00:00|56=ISLD|98=0|108=30|10=%s|"},
		{"keeps_a_wrong_checksum",
			"8=FIX.4.2|35=0|34=2|49=TW|52=20240101-00:00:00|56=ISLD|10=256|",
			"8=FIX.4.2|9=45|35=0|34=2|49=TW|52=20240101-00:00:00|56=ISLD|10=256|"},
		{"keeps_a_garbled_message_whole",
			"8=FIX.4.2|9=52|35=0|34=2|4garbled9=TW|52=20240101-00:00:00|56=ISLD|10=0|",
			"8=FIX.4.2|9=52|35=0|34=2|4garbled9=TW|52=20240101-00:00:00|56=ISLD|10=0|"},
		{"sends_fields_out_of_order_as_written",
			"35=0|8=FIX.4.2|9=29|34=2|49=TW|52=20240101-00:00:00|56=ISLD|10=121|",
			"35=0|8=FIX.4.2|9=29|34=2|49=TW|52=20240101-00:00:00|56=ISLD|10=121|"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(frame(fix(tc.line)))
			want := fix(tc.want)
			if strings.Contains(want, "%s") {
				body := want[:strings.LastIndex(want, "10=")]
				want = fmt.Sprintf(want, fmt.Sprintf("%03d", checksum([]byte(body))))
			}
			if got != want {
				t.Fatalf("frame:\n got %s\nwant %s", printable(got), printable(want))
			}
		})
	}
}

func TestFramedMessageReadsBack(t *testing.T) {
	b := frame(fix("8=FIX.4.4|35=D|34=2|49=TW|52=20240101-00:00:00|56=ISLD|11=ID|21=3|40=1|54=1|55=INTC|"))
	got, err := readMessage(bufio.NewReader(bytes.NewReader(b)))
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("readMessage(frame(...)) = %s, %v", printable(got), err)
	}
}

func TestReadMessageRejectsDamage(t *testing.T) {
	good := string(frame(fix("8=FIX.4.2|35=0|34=2|49=ISLD|52=20240101-00:00:00|56=TW|")))
	for _, tc := range []struct{ name, in, reason string }{
		{"wrong_checksum", good[:len(good)-4] + "999\x01", "CheckSum"},
		{"length_off_field_boundary", strings.Replace(good, "9=45", "9=44", 1), "field boundary"},
		{"no_begin_string", "35=0\x01" + good, "BeginString"},
		{"length_not_a_number", strings.Replace(good, "9=45", "9=x", 1), "BodyLength"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readMessage(bufio.NewReader(strings.NewReader(tc.in)))
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err = %v, want one about %s", err, tc.reason)
			}
		})
	}
}

func TestSubstituteTimes(t *testing.T) {
	now := time.Date(2024, 2, 29, 23, 59, 30, 123e6, time.UTC)
	got := substituteTimes(fix("52=<TIME>|122=<TIME+10>|60=<TIME-121>|112=<TIME>|"), now)
	want := fix("52=20240229-23:59:30.123|122=20240229-23:59:40.123|60=20240229-23:57:29.123|112=20240229-23:59:30.123|")
	if got != want {
		t.Fatalf("got %s, want %s", printable(got), printable(want))
	}
}

func TestCompareMessage(t *testing.T) {
	const got = "8=FIX.4.2|9=61|35=A|34=1|49=ISLD|52=20240101-12:00:00.123|56=TW|98=0|108=30|10=123|"
	for _, tc := range []struct{ name, want, reason string }{
		{"zero_time_matches_any", "8=FIX.4.2|9=61|35=A|34=1|49=ISLD|52=00000000-00:00:00.000|56=TW|98=0|108=30|10=0|", ""},
		{"zero_time_without_millis_matches", "8=FIX.4.2|9=61|35=A|34=1|49=ISLD|52=00000000-00:00:00|56=TW|98=0|108=30|10=0|", ""},
		{"stale_sending_time_matches", "8=FIX.4.2|9=61|35=A|34=1|49=ISLD|52=20020619-16:14:10|56=TW|98=0|108=30|10=0|", ""},
		{"time_token_matches", "8=FIX.4.2|35=A|34=1|49=ISLD|52=<TIME>|56=TW|98=0|108=30|", ""},
		{"length_and_checksum_not_compared", "8=FIX.4.2|9=1|35=A|34=1|49=ISLD|52=00000000-00:00:00.000|56=TW|98=0|108=30|10=210|", ""},
		{"length_and_checksum_may_be_absent", "8=FIX.4.2|35=A|34=1|49=ISLD|52=00000000-00:00:00.000|56=TW|98=0|108=30|", ""},
		{"wrong_value", "8=FIX.4.2|35=A|34=2|49=ISLD|52=00000000-00:00:00.000|56=TW|98=0|108=30|", "field 3: want 34=2, got 34=1"},
		{"wrong_order", "8=FIX.4.2|35=A|49=ISLD|34=1|52=00000000-00:00:00.000|56=TW|98=0|108=30|", "field 3: want 49=ISLD, got 34=1"},
		{"missing_field", "8=FIX.4.2|35=A|34=1|49=ISLD|52=00000000-00:00:00.000|56=TW|98=0|108=30|141=Y|", "want 141=Y next"},
		{"extra_field", "8=FIX.4.2|35=A|34=1|49=ISLD|52=00000000-00:00:00.000|56=TW|98=0|", "unexpected field 8: 108=30"},
		{"time_in_other_tag_is_literal", "8=FIX.4.2|35=A|34=1|49=ISLD|52=00000000-00:00:00.000|56=TW|98=20240101-12:00:00|108=30|", "want 98=20240101-12:00:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reason := compareMessage(fix(tc.want), []byte(fix(got)))
			if (tc.reason == "") != (reason == "") || !strings.Contains(reason, tc.reason) {
				t.Fatalf("compare: %q, want %q", reason, tc.reason)
			}
		})
	}
	if reason := compareMessage(fix("8=FIX.4.2|35=0|52=00000000-00:00:00.000|"), []byte(fix("8=FIX.4.2|9=5|35=0|52=now|10=000|"))); !strings.Contains(reason, "want a UTC timestamp") {
		t.Fatalf("a zero time matched a non-time: %q", reason)
	}
}

func TestParse(t *testing.T) {
	def := "# comment\r\n\r\ni1,CONNECT\r\nI1,8=FIX.4.2\x0135=A\x01\r\nE1,8=FIX.4.2\x0135=A\x01\r\n  \r\ni2,CONNECT\r\ne2,DISCONNECT\r\niDISCONNECT"
	s, err := Parse("x", strings.NewReader(def))
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{
		{Line: 3, Kind: Connect, Conn: 1},
		{Line: 4, Kind: Send, Conn: 1, Text: "8=FIX.4.2\x0135=A\x01"},
		{Line: 5, Kind: Expect, Conn: 1, Text: "8=FIX.4.2\x0135=A\x01"},
		{Line: 7, Kind: Connect, Conn: 2},
		{Line: 8, Kind: ExpectDisconnect, Conn: 2},
		{Line: 9, Kind: Disconnect, Conn: 1},
	}
	if got := s.Steps[4].String(); got != "e2,DISCONNECT" {
		t.Errorf("Step.String() = %q, want e2,DISCONNECT", got)
	}
	if !slices.Equal(s.Steps, want) || s.BeginString != "FIX.4.2" {
		t.Fatalf("steps %v (%s), want %v", s.Steps, s.BeginString, want)
	}
	for _, bad := range []string{
		"iCONNECT\neCONNECT",
		"iCONNECT\ni1,SET_SESSION FIX.4.2:ISLD->TW",
		"iCONNECT\nI8=FIX.4.2\x0135=A",
		"iCONNECT\nX8=FIX.4.2\x01",
		"I8=FIX.4.2\x0135=A\x01",
	} {
		if _, err := Parse("bad", strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%q) accepted it", printable(bad))
		}
	}
}

func TestLoadSuites(t *testing.T) {
	for dir, version := range map[string]string{"fix42": "FIX.4.2", "fix44": "FIX.4.4"} {
		scenarios, err := Load(filepath.Join("../../testdata/fix-acceptance", dir))
		if err != nil {
			t.Fatal(err)
		}
		if len(scenarios) < 58 {
			t.Errorf("%s: %d scenarios, want at least 58", dir, len(scenarios))
		}
		byName := map[string]Scenario{}
		for _, s := range scenarios {
			byName[s.Name] = s
			if s.BeginString != version {
				t.Errorf("%s/%s: BeginString %q, want %s", dir, s.Name, s.BeginString, version)
			}
		}
		// The timer-driven scenarios must go first when run in parallel.
		if w, w4a := timerWait(byName["6_SendTestRequest"]), timerWait(byName["4a_NoDataSentDuringHeartBtInt"]); w <= w4a || w4a == 0 || timerWait(byName["2a_MsgSeqNumCorrect"]) != 0 {
			t.Errorf("%s: timerWait 6_SendTestRequest %v, 4a %v", dir, w, w4a)
		}
	}
}

// scripted is an acceptor stand-in: for each message it receives, reply
// says what to write back (messages with '|' for SOH, framed here) and
// whether to hang up after.
func scripted(t *testing.T, reply func(in string) (out []string, hangUp bool)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					msg, err := readMessage(r)
					if err != nil {
						return
					}
					out, hangUp := reply(printable(msg))
					var b []byte
					for _, m := range out {
						b = append(b, frame(fix(m))...)
					}
					c.Write(b)
					if hangUp {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

const logonLogout = `iCONNECT
I8=FIX.4.2|35=A|34=1|49=TW|52=<TIME>|56=ISLD|98=0|108=30|
E8=FIX.4.2|9=61|35=A|34=1|49=ISLD|52=00000000-00:00:00.000|56=TW|98=0|108=30|10=0|
I8=FIX.4.2|35=5|34=2|49=TW|52=<TIME>|56=ISLD|
E8=FIX.4.2|9=49|35=5|34=2|49=ISLD|52=00000000-00:00:00.000|56=TW|10=0|
eDISCONNECT
`

func acceptorTime() string { return time.Now().UTC().Format(timeLayout) }

func logonReply() string {
	return "8=FIX.4.2|35=A|34=1|49=ISLD|52=" + acceptorTime() + "|56=TW|98=0|108=30|"
}

func logoutReply(seq string) string {
	return "8=FIX.4.2|35=5|34=" + seq + "|49=ISLD|52=" + acceptorTime() + "|56=TW|"
}

// answer replies to a Logon with a Logon and to anything else with logout,
// then hangs up or not.
func answer(logout []string, hangUp bool) func(string) ([]string, bool) {
	return func(in string) ([]string, bool) {
		if strings.Contains(in, "|35=A|") {
			return []string{logonReply()}, false
		}
		return logout, hangUp
	}
}

func TestRunAgainstScriptedAcceptor(t *testing.T) {
	s, err := Parse("logon_logout", strings.NewReader(fix(logonLogout)))
	if err != nil {
		t.Fatal(err)
	}
	heartbeat := "8=FIX.4.2|35=0|34=3|49=ISLD|52=" + acceptorTime() + "|56=TW|"
	for _, tc := range []struct {
		name   string
		reply  func(in string) ([]string, bool)
		reason string // "" when the scenario must pass
		line   int
	}{
		{"conforming_acceptor_passes", answer([]string{logoutReply("2")}, true), "", 0},
		{"wrong_sequence_number", answer([]string{logoutReply("3")}, true), "field 3: want 34=2, got 34=3", 5},
		{"no_answer", func(string) ([]string, bool) { return nil, false }, "no message within", 3},
		{"hangs_up_instead_of_answering", func(string) ([]string, bool) { return nil, true }, "connection closed by the acceptor", 3},
		{"stays_connected_after_logout", answer([]string{logoutReply("2")}, false), "connection still open", 6},
		{"sends_more_before_hanging_up", answer([]string{logoutReply("2"), heartbeat}, true), "want the connection closed, got data", 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Run(t.Context(), scripted(t, tc.reply), s, Options{ExpectTimeout: 300 * time.Millisecond})
			if tc.reason == "" {
				if !r.Passed {
					t.Fatalf("failed: %v", r.Err)
				}
				return
			}
			se, ok := r.Err.(*StepError)
			if r.Passed || !ok || !strings.Contains(se.Reason, tc.reason) || se.Line != tc.line {
				t.Fatalf("result %+v, want a failure at line %d: %s", r, tc.line, tc.reason)
			}
		})
	}
}

func TestRunAllKeepsScenarioOrderAndStopsEachAcceptor(t *testing.T) {
	s, err := Parse("logon_logout", strings.NewReader(fix(logonLogout)))
	if err != nil {
		t.Fatal(err)
	}
	scenarios := []Scenario{s, s, s, s}
	scenarios[1].Name = "second"
	stopped := make(chan struct{}, len(scenarios))
	start := func(Scenario) (string, func(), error) {
		addr := scripted(t, answer([]string{logoutReply("2")}, true))
		return addr, func() { stopped <- struct{}{} }, nil
	}
	results := RunAll(context.Background(), scenarios, start, SuiteOptions{Parallel: 3})
	for i, r := range results {
		if !r.Passed || r.Name != scenarios[i].Name {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	if len(stopped) != len(scenarios) {
		t.Errorf("%d acceptors stopped, want %d", len(stopped), len(scenarios))
	}
}
