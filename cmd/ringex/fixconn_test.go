package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// fixConn is a broker's FIX 4.4 session in a few lines, for the failover
// tests: it logs on with ResetSeqNumFlag=Y (as a broker failing over does),
// sends orders without waiting, and hands every application message it
// reads to a channel. Unlike fixtest.Client it never fails a test: a read
// that times out or a connection that dies is an answer (nil), which is
// what a test needs to know which orders were acknowledged when a primary
// was killed.
type fixConn struct {
	c      net.Conn
	sender string
	mu     sync.Mutex // guards seq and writes
	seq    int
	msgs   chan map[int]string
	done   chan struct{}
}

// dialFIX connects and logs on, retrying the connection until deadline (a
// standby's acceptor opens only when it is promoted).
func dialFIX(addr, sender string, deadline time.Time) (*fixConn, error) {
	var c net.Conn
	var err error
	for {
		c, err = net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(5 * time.Millisecond)
	}
	f := &fixConn{c: c, sender: sender, msgs: make(chan map[int]string, 1<<16), done: make(chan struct{})}
	logon := make(chan error, 1)
	go f.read(logon)
	f.send("A", 98, "0", 108, "30", 141, "Y")
	select {
	case err := <-logon:
		if err != nil {
			c.Close()
			return nil, err
		}
		return f, nil
	case <-time.After(time.Until(deadline) + time.Second):
		c.Close()
		return nil, errors.New("no logon answer")
	}
}

func (f *fixConn) close() { f.c.Close() }

// send writes one message of type msgType with tag, value pairs.
func (f *fixConn) send(msgType string, tv ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	var body bytes.Buffer
	fmt.Fprintf(&body, "35=%s\x0149=%s\x0156=RINGEX\x0134=%d\x0152=%s\x01", msgType, f.sender, f.seq,
		time.Now().UTC().Format("20060102-15:04:05.000"))
	for i := 0; i+1 < len(tv); i += 2 {
		fmt.Fprintf(&body, "%v=%v\x01", tv[i], tv[i+1])
	}
	msg := fmt.Appendf(nil, "8=FIX.4.4\x019=%d\x01%s", body.Len(), body.Bytes())
	sum := 0
	for _, b := range msg {
		sum += int(b)
	}
	msg = fmt.Appendf(msg, "10=%03d\x01", sum%256)
	f.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := f.c.Write(msg)
	return err
}

// order sends a resting limit order (sell, day) with the given ClOrdID.
func (f *fixConn) order(clOrdID string, px int) error {
	return f.send("D", 11, clOrdID, 55, "AAPL", 54, "2", 38, "10", 40, "2", 44, strconv.Itoa(px), 59, "0",
		60, time.Now().UTC().Format("20060102-15:04:05.000"))
}

// next returns the next application message, or nil after timeout or when
// the connection has ended and everything read was taken.
func (f *fixConn) next(timeout time.Duration) map[int]string {
	select {
	case m := <-f.msgs:
		return m
	default:
	}
	select {
	case m := <-f.msgs:
		return m
	case <-f.done:
		select {
		case m := <-f.msgs:
			return m
		default:
			return nil
		}
	case <-time.After(timeout):
		return nil
	}
}

func (f *fixConn) read(logon chan<- error) {
	defer close(f.done)
	r := bufio.NewReader(f.c)
	loggedOn := false
	for {
		m, err := readFIX(r)
		if err != nil {
			if !loggedOn {
				logon <- err
			}
			return
		}
		switch m[35] {
		case "A":
			loggedOn = true
			logon <- nil
		case "1":
			f.send("0", 112, m[112])
		case "5":
			if !loggedOn {
				logon <- fmt.Errorf("logged out: %s", m[58])
			}
			return
		case "0", "2", "3", "4":
		default:
			f.msgs <- m
		}
	}
}

// readFIX reads one message: "8=...|9=N|" then N bytes, then "10=xxx|".
func readFIX(r *bufio.Reader) (map[int]string, error) {
	head, err := r.ReadString(0x01) // 8=FIX.4.4
	if err != nil {
		return nil, err
	}
	lenField, err := r.ReadString(0x01)
	if err != nil {
		return nil, err
	}
	if len(lenField) < 4 || lenField[:2] != "9=" {
		return nil, fmt.Errorf("after %q: %q is not BodyLength", head, lenField)
	}
	n, err := strconv.Atoi(lenField[2 : len(lenField)-1])
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n+7)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	m := map[int]string{}
	for _, f := range bytes.Split(buf[:n], []byte{0x01}) {
		k, v, ok := bytes.Cut(f, []byte("="))
		if !ok {
			continue
		}
		if t, err := strconv.Atoi(string(k)); err == nil {
			m[t] = string(v)
		}
	}
	return m, nil
}
