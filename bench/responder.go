package bench

import (
	"net"
	"sync"
	"time"
)

// Responder is the trivial acceptor that measures the load generator's own
// ceiling: raw TCP, no session checks, no store, no matching. It answers a
// Logon with a Logon, a TestRequest with a Heartbeat, a Logout with a
// Logout, and each order message at once with an ExecutionReport: New for
// D, Canceled for F, Replaced for G. Everything parsed from one read is
// answered with one write, the way ringex's acceptor batches.
type Responder struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// StartResponder listens on addr ("127.0.0.1:0" for a free port).
func StartResponder(addr string) (*Responder, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &Responder{ln: ln, conns: map[net.Conn]bool{}}
	r.wg.Go(r.accept)
	return r, nil
}

// Addr is the listening address.
func (r *Responder) Addr() string { return r.ln.Addr().String() }

// Stop closes the listener and every connection and waits for them.
func (r *Responder) Stop() {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Responder) accept() {
	for {
		nc, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns[nc] = true
		r.mu.Unlock()
		r.wg.Go(func() {
			serveResponder(nc)
			r.mu.Lock()
			delete(r.conns, nc)
			r.mu.Unlock()
			nc.Close()
		})
	}
}

// inbound is what the responder reads of a message.
type inbound struct {
	msgType, begin, sender, target, clOrdID, origClOrdID, symbol, side, qty, testReq []byte
}

func (in *inbound) scan(msg []byte) {
	*in = inbound{}
	for i := 0; i < len(msg); {
		var tag int
		var v []byte
		tag, v, i = nextField(msg, i)
		switch tag {
		case 8:
			in.begin = v
		case 35:
			in.msgType = v
		case 49:
			in.sender = v
		case 56:
			in.target = v
		case 11:
			in.clOrdID = v
		case 41:
			in.origClOrdID = v
		case 55:
			in.symbol = v
		case 54:
			in.side = v
		case 38:
			in.qty = v
		case 112:
			in.testReq = v
		}
	}
}

func serveResponder(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	buf := make([]byte, 1<<20)
	out := make([]byte, 0, 64<<10)
	var in inbound
	var e encoder
	var execID int64
	r, w := 0, 0
	for {
		n, err := frameMsg(buf[r:w])
		if err != nil {
			return
		}
		if n > 0 {
			in.scan(buf[r : r+n])
			r += n
			if e.begin == "" {
				e = encoder{begin: string(in.begin), sender: string(in.target), target: string(in.sender), seq: 1}
			}
			now := time.Now()
			if len(in.msgType) != 1 {
				continue
			}
			switch t := in.msgType[0]; t {
			case 'A':
				e.start("A", now)
				e.char(98, '0')
				e.int(108, 30)
				out = e.finish(out)
			case '1':
				e.start("0", now)
				e.bytes(112, in.testReq)
				out = e.finish(out)
			case '5':
				e.start("5", now)
				out = e.finish(out)
				nc.Write(out)
				return
			case 'D', 'F', 'G':
				execID++
				e.start("8", now)
				e.int(37, execID)
				e.int(17, execID)
				e.bytes(11, in.clOrdID)
				if t != 'D' {
					e.bytes(41, in.origClOrdID)
				}
				if e.begin == "FIX.4.2" {
					e.char(20, '0')
				}
				switch t {
				case 'D':
					e.char(150, '0')
					e.char(39, '0')
				case 'F':
					e.char(150, '4')
					e.char(39, '4')
				case 'G':
					e.char(150, '5')
					e.char(39, '0')
				}
				e.bytes(55, in.symbol)
				e.bytes(54, in.side)
				e.char(151, '0')
				e.char(14, '0')
				e.char(6, '0')
				out = e.finish(out)
			}
			continue
		}
		if len(out) > 0 {
			if _, err := nc.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
		if r == w {
			r, w = 0, 0
		} else if w > len(buf)/2 {
			w = copy(buf, buf[r:w])
			r = 0
		}
		m, err := nc.Read(buf[w:])
		w += m
		if err != nil && m == 0 {
			return
		}
	}
}
