package fixaccept

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// standardHeartBtInt is the heartbeat the suite assumes. A scenario that
// logs on with a shorter one (108=2, 108=6) is about timers: it waits for
// heartbeats and test requests that the acceptor sends on its own.
const standardHeartBtInt = 30 * time.Second

// Options tune a run. The zero value is usable.
type Options struct {
	// ExpectTimeout bounds the wait for each expected message and for an
	// expected disconnect. Default 5 s. On a connection whose Logon asked
	// for a HeartBtInt shorter than 30 s, the wait is at least twice that
	// interval plus a second, long enough for a heartbeat or test request
	// the acceptor sends on its own (4a_NoDataSentDuringHeartBtInt,
	// 6_SendTestRequest) and for the disconnect after an unanswered test
	// request, which comes 1.2 intervals after it.
	ExpectTimeout time.Duration
	// DialTimeout bounds each connect. Default 5 s.
	DialTimeout time.Duration
	// Now gives the time substituted for <TIME>. Default time.Now.
	Now func() time.Time
	// Trace, when set, is told each message sent and received, with SOH
	// shown as '|': for reading what happened in a failing scenario.
	Trace func(format string, args ...any)
}

func (o Options) withDefaults() Options {
	if o.ExpectTimeout <= 0 {
		o.ExpectTimeout = 5 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Trace == nil {
		o.Trace = func(string, ...any) {}
	}
	return o
}

// Result is the outcome of one scenario.
type Result struct {
	Name    string
	Passed  bool
	Err     error // nil when Passed; otherwise a *StepError, or the failure to start
	Elapsed time.Duration
	// Transcript is what crossed the wire, one message a line: "1> ..." sent
	// and "1< ..." received on connection 1, SOH shown as '|'.
	Transcript []string
}

// StepError is the first step of a scenario that did not go as written.
type StepError struct {
	Line   int    // line in the .def file
	Step   string // the line, SOH shown as '|'
	Reason string // what went wrong: the first differing field, a timeout, a closed connection
	Got    string // the message received instead, if any, SOH shown as '|'
}

func (e *StepError) Error() string {
	s := fmt.Sprintf("line %d: %s\n    step: %s", e.Line, e.Reason, e.Step)
	if e.Got != "" {
		s += "\n    got:  " + e.Got
	}
	return s
}

// Run plays scenario s against the acceptor at addr over TCP and reports
// whether every step happened as written. It stops at the first step that
// did not, and closes its connections before returning. The acceptor must be
// fresh: the scenarios assume a session that has not been used.
func Run(ctx context.Context, addr string, s Scenario, opts Options) Result {
	start := time.Now()
	p := &player{ctx: ctx, addr: addr, opts: opts.withDefaults(), conns: make(map[int]*clientConn)}
	defer p.closeAll()
	r := Result{Name: s.Name, Passed: true}
	for _, step := range s.Steps {
		if err := ctx.Err(); err != nil {
			r.Passed, r.Err = false, p.fail(step, "run cancelled: "+err.Error(), nil)
			break
		}
		if err := p.play(step); err != nil {
			r.Passed, r.Err = false, err
			break
		}
	}
	r.Elapsed, r.Transcript = time.Since(start), p.transcript
	return r
}

type clientConn struct {
	nc         net.Conn
	r          *bufio.Reader
	heartBtInt time.Duration // from the Logon sent on it; zero before one
}

type player struct {
	ctx        context.Context
	addr       string
	opts       Options
	conns      map[int]*clientConn
	transcript []string
}

// transcriptLinesMax bounds a transcript; the longest scenario has about 40.
const transcriptLinesMax = 1000

func (p *player) record(conn int, dir string, msg []byte) {
	line := fmt.Sprintf("%d%s %s", conn, dir, printable(msg))
	p.opts.Trace("%s", line)
	if len(p.transcript) < transcriptLinesMax {
		p.transcript = append(p.transcript, line)
	}
}

func (p *player) play(step Step) error {
	c := p.conns[step.Conn]
	if step.Kind != Connect && c == nil {
		return p.fail(step, fmt.Sprintf("connection %d is not open", step.Conn), nil)
	}
	switch step.Kind {
	case Connect:
		return p.connect(step)
	case Disconnect:
		c.nc.Close()
		delete(p.conns, step.Conn)
		return nil
	case Send:
		return p.send(c, step)
	case Expect:
		return p.expect(c, step)
	case ExpectDisconnect:
		err := p.expectDisconnect(c, step)
		c.nc.Close()
		delete(p.conns, step.Conn)
		return err
	}
	return p.fail(step, "unknown step kind "+step.Kind.String(), nil)
}

func (p *player) connect(step Step) error {
	if old := p.conns[step.Conn]; old != nil {
		old.nc.Close()
	}
	d := net.Dialer{Timeout: p.opts.DialTimeout}
	nc, err := d.DialContext(p.ctx, "tcp", p.addr)
	if err != nil {
		return p.fail(step, "connect: "+err.Error(), nil)
	}
	p.conns[step.Conn] = &clientConn{nc: nc, r: bufio.NewReader(nc)}
	return nil
}

func (p *player) send(c *clientConn, step Step) error {
	text := substituteTimes(step.Text, p.opts.Now())
	if hb := logonHeartBtInt(text); hb > 0 {
		c.heartBtInt = hb
	}
	b := frame(text)
	p.record(step.Conn, ">", b)
	c.nc.SetWriteDeadline(time.Now().Add(p.opts.ExpectTimeout))
	if _, err := c.nc.Write(b); err != nil {
		return p.fail(step, "send: "+err.Error(), nil)
	}
	return nil
}

func (p *player) expect(c *clientConn, step Step) error {
	wait := p.wait(c)
	c.nc.SetReadDeadline(time.Now().Add(wait))
	msg, err := readMessage(c.r)
	if len(msg) > 0 {
		p.record(step.Conn, "<", msg)
	}
	if err != nil {
		return p.fail(step, describeReadError(err, wait, len(msg)), msg)
	}
	if reason := compareMessage(step.Text, msg); reason != "" {
		return p.fail(step, reason, msg)
	}
	return nil
}

// expectDisconnect passes when the acceptor closes the connection (EOF or a
// reset) before sending anything more. Data instead of the close fails the
// step, as it does in the suite's own runner.
func (p *player) expectDisconnect(c *clientConn, step Step) error {
	wait := p.wait(c)
	c.nc.SetReadDeadline(time.Now().Add(wait))
	if _, err := c.r.Peek(1); err != nil {
		if isClosed(err) {
			return nil
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return p.fail(step, fmt.Sprintf("connection still open after %v", wait), nil)
		}
		return p.fail(step, "read: "+err.Error(), nil)
	}
	msg, _ := readMessage(c.r)
	p.record(step.Conn, "<", msg)
	return p.fail(step, "want the connection closed, got data", msg)
}

func (p *player) wait(c *clientConn) time.Duration {
	wait := p.opts.ExpectTimeout
	if c.heartBtInt > 0 && c.heartBtInt < standardHeartBtInt {
		wait = max(wait, 2*c.heartBtInt+time.Second)
	}
	if d, ok := p.ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	return wait
}

func (p *player) fail(step Step, reason string, got []byte) *StepError {
	return &StepError{Line: step.Line, Step: step.String(), Reason: reason, Got: printable(got)}
}

func (p *player) closeAll() {
	for n, c := range p.conns {
		c.nc.Close()
		delete(p.conns, n)
	}
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

func describeReadError(err error, wait time.Duration, partial int) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) && partial == 0:
		return fmt.Sprintf("no message within %v", wait)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("incomplete message after %v", wait)
	case isClosed(err) && partial == 0:
		return "connection closed by the acceptor"
	case isClosed(err):
		return "connection closed in the middle of a message"
	}
	return "malformed message from the acceptor: " + err.Error()
}
