// Package fixtest is test support: a broker's FIX client on a real
// quickfixgo initiator over TCP, that tests drive message by message.
package fixtest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"
	"github.com/quickfixgo/tag"
)

// Client is one broker session against an exchange.
type Client struct {
	t         testing.TB
	initiator *quickfix.Initiator
	sid       quickfix.SessionID
	inbox     chan *quickfix.Message
	loggedOn  chan struct{}
	logouts   chan string // Text(58) of each Logout the exchange sent
	rejects   chan string // each session Reject the client sent: a message its data dictionary refused
}

// Option adjusts a client's quickfixgo session settings (TLS, password).
type Option func(*quickfix.SessionSettings)

// WithTLS makes the client connect over TLS, trusting the PEM certificate in
// caFile for serverName.
func WithTLS(caFile, serverName string) Option {
	return func(ss *quickfix.SessionSettings) {
		ss.Set(config.SocketUseSSL, "Y")
		ss.Set(config.SocketCAFile, caFile)
		ss.Set(config.SocketServerName, serverName)
	}
}

// WithDataDictionary makes the client validate what it receives against
// the FIX data dictionary file at path (StockDictionary), as a broker's
// engine does: a message it refuses is answered with a session Reject
// (Rejects) and never reaches the client's inbox.
func WithDataDictionary(path string) Option {
	return func(ss *quickfix.SessionSettings) { ss.Set(config.DataDictionary, path) }
}

// quickfixDir is the module directory of quickfixgo, asked of `go list`
// once per test binary.
var quickfixDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/quickfixgo/quickfix").Output()
	return strings.TrimSpace(string(out)), err
})

// StockDictionary is the path of a FIX data dictionary file ("FIX42.xml",
// "FIX44.xml") that ships with quickfixgo (the module the tests build
// with), as a broker's engine uses it unchanged.
func StockDictionary(t testing.TB, file string) string {
	t.Helper()
	dir, err := quickfixDir()
	if err != nil {
		t.Fatalf("fixtest: locate quickfixgo: %v", err)
	}
	path := filepath.Join(dir, "spec", file)
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// Dial logs a FIX session on to addr as sender, towards target, and waits
// for the logon to complete.
func Dial(t testing.TB, addr, beginString, sender, target string, opts ...Option) *Client {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	settings := quickfix.NewSettings()
	ss := quickfix.NewSessionSettings()
	ss.Set(config.BeginString, beginString)
	ss.Set(config.SenderCompID, sender)
	ss.Set(config.TargetCompID, target)
	ss.Set(config.SocketConnectHost, host)
	ss.Set(config.SocketConnectPort, port)
	ss.Set(config.HeartBtInt, "30")
	ss.Set(config.ReconnectInterval, "1")
	ss.Set(config.ResetOnLogon, "Y")
	for _, o := range opts {
		o(ss)
	}
	sid, err := settings.AddSession(ss)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{t: t, sid: sid, inbox: make(chan *quickfix.Message, 1024), loggedOn: make(chan struct{}, 1), logouts: make(chan string, 16),
		rejects: make(chan string, 1024)}
	c.initiator, err = quickfix.NewInitiator(c, quickfix.NewMemoryStoreFactory(), settings, quickfix.NewNullLogFactory())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.initiator.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.loggedOn:
	case <-time.After(20 * time.Second):
		t.Fatalf("fixtest: %s: no logon within 20 s", sid)
	}
	return c
}

// Close logs out and stops the initiator.
func (c *Client) Close() { c.initiator.Stop() }

// Send sends an application message built from tag=value pairs, e.g.
// Send("D", tag.ClOrdID, "A1", tag.Symbol, "AAPL", ...).
func (c *Client) Send(msgType string, fields ...any) {
	c.t.Helper()
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, msgType)
	for i := 0; i+1 < len(fields); i += 2 {
		t, ok := fields[i].(quickfix.Tag)
		if !ok {
			c.t.Fatalf("fixtest: field %d is %T, want quickfix.Tag", i, fields[i])
		}
		m.Body.SetString(t, fmt.Sprint(fields[i+1]))
	}
	if _, ok := fieldsHave(fields, tag.TransactTime); !ok && (msgType == "D" || msgType == "F" || msgType == "G" || msgType == "q") {
		m.Body.SetString(tag.TransactTime, time.Now().UTC().Format("20060102-15:04:05.000"))
	}
	if err := quickfix.SendToTarget(m, c.sid); err != nil {
		c.t.Fatalf("fixtest: send %s: %v", msgType, err)
	}
}

func fieldsHave(fields []any, want quickfix.Tag) (any, bool) {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == want {
			return fields[i+1], true
		}
	}
	return nil, false
}

// Next returns the next application message the exchange sent, or fails the
// test after timeout.
func (c *Client) Next(timeout time.Duration) *quickfix.Message {
	c.t.Helper()
	select {
	case m := <-c.inbox:
		return m
	case <-time.After(timeout):
		c.t.Fatalf("fixtest: %s: no message within %v", c.sid, timeout)
		return nil
	}
}

// NextValid is Next for a client that validates with a data dictionary
// (WithDataDictionary): it fails the test at once with the session Reject
// the client sent when its dictionary refused a message instead.
func (c *Client) NextValid(timeout time.Duration) *quickfix.Message {
	c.t.Helper()
	select {
	case m := <-c.inbox:
		return m
	case r := <-c.rejects:
		c.t.Fatalf("fixtest: %s: its data dictionary refused a message (session Reject, %s)", c.sid, r)
	case <-time.After(timeout):
		c.t.Fatalf("fixtest: %s: no message within %v", c.sid, timeout)
	}
	return nil
}

// NextNew is Next past the copies the exchange carried over
// (PossResend=Y): reports of earlier orders that a client which left
// before the exchange had its engine confirm them (a TestRequest's
// answer, docs/design.md "Delivered means processed") gets again after
// it logs on anew. The answer to what the test sent next is not one.
func (c *Client) NextNew(timeout time.Duration) *quickfix.Message {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for range 10000 {
		m := c.Next(max(time.Until(deadline), time.Millisecond))
		if v, err := m.Header.GetString(97); err != nil || v != "Y" {
			return m
		}
	}
	c.t.Fatalf("fixtest: %s: only carried-over copies (PossResend=Y) within %v", c.sid, timeout)
	return nil
}

// Logout returns the Text of the next Logout the exchange sent, or fails
// the test after timeout.
func (c *Client) Logout(timeout time.Duration) string {
	c.t.Helper()
	select {
	case text := <-c.logouts:
		return text
	case <-time.After(timeout):
		c.t.Fatalf("fixtest: %s: no Logout within %v", c.sid, timeout)
		return ""
	}
}

// Rejects returns the session Rejects (MsgType 3) the client sent and not
// yet taken, at once, each as "RefSeqNum n RefTagID t: Text": the
// messages its data dictionary (WithDataDictionary) refused.
func (c *Client) Rejects() []string { return drain(c.rejects) }

// Drain returns the application messages received and not yet taken, at
// once.
func (c *Client) Drain() []*quickfix.Message { return drain(c.inbox) }

// drain returns what ch holds now, without waiting.
func drain[T any](ch chan T) []T {
	var out []T
	for {
		select {
		case v := <-ch:
			out = append(out, v)
		default:
			return out
		}
	}
}

// Quiet fails the test if a message arrives within d.
func (c *Client) Quiet(d time.Duration) {
	c.t.Helper()
	select {
	case m := <-c.inbox:
		c.t.Fatalf("fixtest: %s: unexpected message %v", c.sid, Fields(m))
	case <-time.After(d):
	}
}

// Fields returns a message's body, and its MsgType, PossDupFlag and
// PossResend and CopyMsgIndicator where present, as tag → value, for
// assertions.
func Fields(m *quickfix.Message) map[quickfix.Tag]string {
	out := map[quickfix.Tag]string{}
	for _, t := range m.Body.Tags() {
		if v, err := m.Body.GetString(t); err == nil {
			out[t] = v
		}
	}
	for _, t := range []quickfix.Tag{tag.MsgType, tag.PossDupFlag, tag.PossResend, tag.CopyMsgIndicator} {
		if v, err := m.Header.GetString(t); err == nil {
			out[t] = v
		}
	}
	return out
}

// Expect checks that m carries every field in want (tag → exact value),
// reporting each difference as an error naming who, and returns m's fields
// for further checks.
func Expect(t testing.TB, who string, m *quickfix.Message, want map[quickfix.Tag]string) map[quickfix.Tag]string {
	t.Helper()
	got := Fields(m)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: tag %d = %q, want %q (message %v)", who, k, got[k], v, got)
		}
	}
	return got
}

// FreeAddr returns a loopback address with a port nobody listens on now and
// that no earlier call in this process returned. The port is drawn from
// below the kernel's ephemeral range (32768-60999 on Linux), so neither a
// later ":0" listener nor an outgoing connection's local port can take it
// between this call and the moment the process under test binds it: asking
// the kernel for ":0" and closing it gave two tests the same port once.
func FreeAddr(t testing.TB) string {
	t.Helper()
	handed.Lock()
	defer handed.Unlock()
	if handed.ports == nil {
		handed.ports = map[int]bool{}
	}
	for range 1000 {
		port := 20000 + rand.IntN(12000)
		if handed.ports[port] {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		l.Close()
		handed.ports[port] = true
		return "127.0.0.1:" + strconv.Itoa(port)
	}
	t.Fatal("fixtest: no free loopback port in 20000-31999 after 1000 tries")
	return ""
}

var handed struct {
	sync.Mutex
	ports map[int]bool
}

// quickfix.Application

func (c *Client) OnCreate(quickfix.SessionID) {}
func (c *Client) OnLogon(quickfix.SessionID) {
	select {
	case c.loggedOn <- struct{}{}:
	default:
	}
}
func (c *Client) OnLogout(quickfix.SessionID) {}
func (c *Client) ToAdmin(m *quickfix.Message, _ quickfix.SessionID) {
	if t, _ := m.Header.GetString(tag.MsgType); t == "3" {
		seq, _ := m.Body.GetString(tag.RefSeqNum)
		ref, _ := m.Body.GetString(tag.RefTagID)
		text, _ := m.Body.GetString(tag.Text)
		select {
		case c.rejects <- "RefSeqNum " + seq + " RefTagID " + ref + ": " + text:
		default:
		}
	}
}
func (c *Client) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }
func (c *Client) FromAdmin(m *quickfix.Message, _ quickfix.SessionID) quickfix.MessageRejectError {
	if t, _ := m.Header.GetString(tag.MsgType); t == "5" {
		text, _ := m.Body.GetString(tag.Text)
		select {
		case c.logouts <- text:
		default:
		}
	}
	return nil
}
func (c *Client) FromApp(m *quickfix.Message, _ quickfix.SessionID) quickfix.MessageRejectError {
	cp := quickfix.NewMessage()
	m.CopyInto(cp)
	c.inbox <- cp
	return nil
}
