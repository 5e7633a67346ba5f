package fixaccept

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// soh separates FIX fields on the wire and in .def files.
const soh = '\x01'

// Limits on what a .def file may hold. The suite's largest file has about
// 80 lines of 200 bytes; these bounds only stop a corrupt file from running
// away with memory.
const (
	defLineBytesMax = 64 << 10
	defStepsMax     = 10_000
	connMax         = 9
)

// StepKind says what one line of a scenario does.
type StepKind int

const (
	// Connect opens connection Step.Conn to the acceptor (iCONNECT, i2,CONNECT).
	Connect StepKind = iota + 1
	// Disconnect closes connection Step.Conn from the client side (iDISCONNECT).
	Disconnect
	// Send writes Step.Text to the acceptor (I lines), after <TIME> substitution
	// and, unless the line carries its own, BodyLength(9) and CheckSum(10).
	Send
	// Expect reads the acceptor's next message and compares it with Step.Text
	// (E lines).
	Expect
	// ExpectDisconnect waits for the acceptor to close the connection with no
	// further data (eDISCONNECT).
	ExpectDisconnect
)

func (k StepKind) String() string {
	switch k {
	case Connect:
		return "connect"
	case Disconnect:
		return "disconnect"
	case Send:
		return "send"
	case Expect:
		return "expect"
	case ExpectDisconnect:
		return "expect disconnect"
	}
	return "StepKind(" + strconv.Itoa(int(k)) + ")"
}

// Step is one line of a scenario.
type Step struct {
	Line int // 1-based line number in the .def file
	Kind StepKind
	Conn int    // connection number, 1 when the line names none
	Text string // Send and Expect: the message as written, fields ending in SOH
}

// String writes the step as its .def line, SOH shown as '|'.
func (s Step) String() string {
	var code, rest string
	switch s.Kind {
	case Connect:
		code, rest = "i", "CONNECT"
	case Disconnect:
		code, rest = "i", "DISCONNECT"
	case ExpectDisconnect:
		code, rest = "e", "DISCONNECT"
	case Send:
		code, rest = "I", printable(s.Text)
	case Expect:
		code, rest = "E", printable(s.Text)
	default:
		return s.Kind.String()
	}
	if s.Conn != 1 {
		code += strconv.Itoa(s.Conn) + ","
	}
	return code + rest
}

// Scenario is one parsed .def file.
type Scenario struct {
	Name        string // file name without ".def", e.g. "2d_GarbledMessage"
	Path        string // file it was read from; empty when parsed from a reader
	BeginString string // FIX version of the session under test, e.g. "FIX.4.2"
	Steps       []Step
}

// Load parses every .def file in dir, sorted by name.
func Load(dir string) ([]Scenario, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.def"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("load %s: no .def files", dir)
	}
	sort.Strings(paths)
	scenarios := make([]Scenario, 0, len(paths))
	versions := map[string]int{}
	for _, path := range paths {
		s, err := ParseFile(path)
		if err != nil {
			return nil, err
		}
		scenarios = append(scenarios, s)
		if hasExpect(s) {
			versions[s.BeginString]++
		}
	}
	// A directory is one version's suite; a scenario that never hears from
	// the acceptor takes the version of those that do.
	common, n := "", 0
	for v, count := range versions {
		if count > n || (count == n && v < common) {
			common, n = v, count
		}
	}
	for i := range scenarios {
		if common != "" && !hasExpect(scenarios[i]) {
			scenarios[i].BeginString = common
		}
	}
	return scenarios, nil
}

func hasExpect(s Scenario) bool {
	for _, step := range s.Steps {
		if step.Kind == Expect {
			return true
		}
	}
	return false
}

// ParseFile parses one .def file.
func ParseFile(path string) (Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return Scenario{}, err
	}
	defer f.Close()
	s, err := Parse(strings.TrimSuffix(filepath.Base(path), ".def"), f)
	if err != nil {
		return Scenario{}, fmt.Errorf("parse %s: %w", path, err)
	}
	s.Path = path
	return s, nil
}

// Parse reads a scenario in the .def format: one step per line, '#' starts a
// comment, blank lines are ignored, lines may end in CRLF. A step line is
// 'i', 'I', 'E' or 'e', then an optional connection number and comma
// ("i2,CONNECT"), then "CONNECT" or "DISCONNECT" (i, e) or a message (I, E).
func Parse(name string, r io.Reader) (Scenario, error) {
	s := Scenario{Name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), defLineBytesMax)
	for lineNum := 1; sc.Scan(); lineNum++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || line[0] == '#' {
			continue
		}
		step, err := parseStep(lineNum, line)
		if err != nil {
			return Scenario{}, err
		}
		if len(s.Steps) == defStepsMax {
			return Scenario{}, fmt.Errorf("line %d: more than %d steps", lineNum, defStepsMax)
		}
		s.Steps = append(s.Steps, step)
	}
	if err := sc.Err(); err != nil {
		return Scenario{}, err
	}
	if len(s.Steps) == 0 || s.Steps[0].Kind != Connect {
		return Scenario{}, fmt.Errorf("first step is not a client connect (iCONNECT)")
	}
	s.BeginString = sessionBeginString(s.Steps)
	return s, nil
}

func parseStep(lineNum int, line string) (Step, error) {
	step := Step{Line: lineNum, Conn: 1}
	body := line[1:]
	if n := strings.IndexByte(body, ','); n > 0 && isDigits(body[:n]) {
		c, err := strconv.Atoi(body[:n])
		if err != nil || c < 1 || c > connMax {
			return Step{}, fmt.Errorf("line %d: connection number %q not in 1..%d", lineNum, body[:n], connMax)
		}
		step.Conn = c
		body = body[n+1:]
	}
	switch line[0] {
	case 'i', 'e':
		word := strings.TrimSpace(body)
		switch {
		case line[0] == 'i' && word == "CONNECT":
			step.Kind = Connect
		case line[0] == 'i' && word == "DISCONNECT":
			step.Kind = Disconnect
		case line[0] == 'e' && word == "DISCONNECT":
			step.Kind = ExpectDisconnect
		default:
			// eCONNECT (the acceptor dials us) and SET_SESSION belong to
			// the initiator-side suite, which ringex does not run.
			return Step{}, fmt.Errorf("line %d: unsupported step %q", lineNum, line)
		}
	case 'I', 'E':
		if !strings.HasPrefix(body, "8=") && !strings.Contains(body, "\x018=") {
			return Step{}, fmt.Errorf("line %d: message has no BeginString(8): %q", lineNum, printable(body))
		}
		if body[len(body)-1] != soh {
			return Step{}, fmt.Errorf("line %d: message does not end in SOH: %q", lineNum, printable(body))
		}
		step.Kind = Send
		if line[0] == 'E' {
			step.Kind = Expect
		}
		step.Text = body
	default:
		return Step{}, fmt.Errorf("line %d: unknown step %q", lineNum, line)
	}
	return step, nil
}

// sessionBeginString guesses the FIX version of the session under test: that
// of the acceptor's first expected message, else that of the client's first
// message. A scenario that only sends a wrong version
// (1d_InvalidLogonWrongBeginString) guesses wrong; Load corrects it.
func sessionBeginString(steps []Step) string {
	for _, kind := range []StepKind{Expect, Send} {
		for _, step := range steps {
			if step.Kind == kind {
				return beginString(step.Text)
			}
		}
	}
	return ""
}

// beginString returns the value of field 8 in a .def message, wherever it is.
func beginString(text string) string {
	for _, f := range splitFields(text) {
		if f.tag == "8" {
			return f.value
		}
	}
	return ""
}

// logonHeartBtInt returns HeartBtInt(108) of a Logon(35=A) message, or zero
// when text is another message or has no usable 108.
func logonHeartBtInt(text string) time.Duration {
	logon, seconds := false, 0
	for _, f := range splitFields(text) {
		switch f.tag {
		case "35":
			logon = f.value == "A"
		case "108":
			if n, err := strconv.Atoi(f.value); err == nil && n > 0 && n < 3600 {
				seconds = n
			}
		}
	}
	if !logon {
		return 0
	}
	return time.Duration(seconds) * time.Second
}

type tagValue struct{ tag, value string }

// splitFields splits SOH-terminated tag=value fields. A field with no '='
// keeps its whole text as the tag and an empty value; garbled fields are
// part of the suite and are compared as written.
func splitFields(text string) []tagValue {
	text = strings.TrimSuffix(text, string(soh))
	if text == "" {
		return nil
	}
	parts := strings.Split(text, string(soh))
	fields := make([]tagValue, len(parts))
	for i, p := range parts {
		tag, value, _ := strings.Cut(p, "=")
		fields[i] = tagValue{tag, value}
	}
	return fields
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// printable shows SOH as '|', the convention of FIX logs.
func printable[T string | []byte](b T) string {
	return string(bytes.ReplaceAll([]byte(b), []byte{soh}, []byte{'|'}))
}
