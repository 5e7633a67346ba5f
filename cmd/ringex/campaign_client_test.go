package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// campaignClient is one broker of the delivery campaign: a raw FIX 4.4
// session over TCP that survives the exchange's restarts by logging on again,
// sends a mixed order flow while logged on, and keeps the record the checker
// needs: every ExecutionReport, OrderCancelReject and OrderMassCancelReport
// read off the wire, with its MsgSeqNum, PossDupFlag(43) and PossResend(97).
// (A FIX engine such as quickfixgo drops a resent copy below the expected
// MsgSeqNum before the application sees it, so it cannot say what arrived
// twice; this client records everything and applies the session rules
// itself.)
//
// A reset client logs on with ResetSeqNumFlag=Y after every restart, as a
// broker that fails over does. A resend client keeps both sequence numbers
// across the exchange's restarts (here, in the test process) and asks for
// every gap with a ResendRequest, at Logon and in session. Both answer the
// exchange's ResendRequest with a SequenceReset-GapFill: orders are never
// sent twice, so every ClOrdID the journal holds was sent once.
type campaignClient struct {
	name  string
	reset bool
	addrs []string   // tried in turn: a pair's standby does not listen
	rng   *rand.Rand // the sender goroutine's only
	away  *rand.Rand // the connection loop's only: how long to stay away
	// dial connects to an address; nil: net.DialTimeout with 1 s (the
	// partition tests dial from a network namespace).
	dial func(addr string) (net.Conn, error)

	mu       sync.Mutex // guards everything below, and the writes
	conn     net.Conn
	peer     string // conn's remote address
	loggedOn bool
	logons   int
	outSeq   int // next MsgSeqNum to send
	inNext   int // next MsgSeqNum expected
	lastRead time.Time
	ids      int                  // ClOrdIDs used
	live     map[string]liveOrder // orders believed open, by current ClOrdID
	replaces map[string]liveOrder // sent replaces, by new ClOrdID
	got      []campaignReport     // everything received, in order
	sent     map[string]int       // messages sent, by what
	acks     map[string]int64     // OrderID of each acknowledged order, by ClOrdID
	counts   struct{ resendAsked, gapFilled, tooLow, rejects int }
	logouts  []string // Text of every Logout received
	bounces  int
	unsent   []string      // the last sends that reached no socket, and why (a stuck drain names them)
	marked   string        // where and when the marker orders went
	recent   []string      // the last messages read, any type, in short
	stop     chan struct{} // ends the connection loop
	stopSend chan struct{} // ends the sends
	done     chan struct{}
	closing  sync.Once
}

// liveOrder is what a cancel or replace must repeat of an open order.
type liveOrder struct {
	sym, side, tif string
	px, qty        int // cents, shares
}

// campaignReport is one report as read: header flags and the fields the
// checker compares with the journal.
type campaignReport struct {
	msgType, execID, orderID, clOrdID, execType, ordStatus string
	msgSeqNum                                              int
	possDup, possResend                                    bool
	from                                                   string // the node's address it came from
	text                                                   string // Text(58)
}

func newCampaignClient(name string, reset bool, addrs []string, seed uint64) *campaignClient {
	return &campaignClient{name: name, reset: reset, addrs: addrs, rng: rand.New(rand.NewPCG(seed, 15)),
		away:   rand.New(rand.NewPCG(seed, 16)),
		outSeq: 1, inNext: 1, live: map[string]liveOrder{}, replaces: map[string]liveOrder{},
		sent: map[string]int{}, acks: map[string]int64{},
		stop: make(chan struct{}), stopSend: make(chan struct{}), done: make(chan struct{})}
}

// start runs the connection loop and the sender.
func (c *campaignClient) start(interval time.Duration) {
	go c.connectLoop()
	go c.sendLoop(interval)
}

// connectLoop connects, logs on and reads until the connection ends, then
// stays away for up to half a second (while the others trade with its
// orders) and connects again, until stop.
func (c *campaignClient) connectLoop() {
	defer close(c.done)
	for i := 0; ; i++ {
		select {
		case <-c.stop:
			return
		default:
		}
		var conn net.Conn
		var err error
		if c.dial != nil {
			conn, err = c.dial(c.addrs[i%len(c.addrs)])
		} else {
			conn, err = net.DialTimeout("tcp", c.addrs[i%len(c.addrs)], time.Second)
		}
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if c.session(conn) {
			i-- // the same address first next time
		}
		select {
		case <-c.stop:
		case <-time.After(time.Duration(c.away.IntN(500)) * time.Millisecond):
		}
	}
}

// bounce logs out: the exchange cancels the broker's Day orders
// (cancel-on-disconnect) and keeps their reports, and its GTC orders may
// trade, until it logs on again. The broker reads on until the exchange's
// Logout, as a FIX engine does, so nothing the exchange sent before it is
// lost in flight; a connection the exchange does not close is closed after
// 5 s.
func (c *campaignClient) bounce() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil || !c.loggedOn {
		return
	}
	c.sendLocked(0, "5", 58, "campaign bounce")
	c.loggedOn = false
	c.bounces++
	conn := c.conn
	time.AfterFunc(5*time.Second, func() { conn.Close() })
}

// session logs on over conn and reads until it ends; it reports whether
// the Logon was answered.
func (c *campaignClient) session(conn net.Conn) bool {
	c.mu.Lock()
	select {
	case <-c.stop:
		c.mu.Unlock()
		conn.Close()
		return false
	default:
	}
	logons := c.logons
	c.conn, c.peer = conn, conn.RemoteAddr().String()
	if c.reset {
		c.outSeq, c.inNext = 1, 1
		c.sendLocked(0, "A", 98, 0, 108, 30, 141, "Y")
	} else {
		c.sendLocked(0, "A", 98, 0, 108, 30)
	}
	c.mu.Unlock()
	r := bufio.NewReader(conn)
	for {
		m, err := readFIX(r)
		if err != nil {
			break
		}
		c.handle(m)
	}
	conn.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn, c.loggedOn = nil, false
	return c.logons > logons
}

// close ends the sends and the connection, and waits for the loop.
func (c *campaignClient) close() {
	c.closing.Do(func() {
		c.stopSending()
		close(c.stop)
		c.mu.Lock()
		if c.conn != nil {
			c.conn.Close()
		}
		c.mu.Unlock()
	})
	<-c.done
}

func (c *campaignClient) stopSending() {
	select {
	case <-c.stopSend:
	default:
		close(c.stopSend)
	}
}

// sendLocked writes one message; seq 0 takes the next outbound MsgSeqNum,
// another value is a resent number (a GapFill's). A failed write is left
// to the reader, which sees the connection end.
func (c *campaignClient) sendLocked(seq int, msgType string, tv ...any) {
	if c.conn == nil {
		c.noteUnsent(msgType, "no connection")
		return
	}
	if seq == 0 {
		seq = c.outSeq
		c.outSeq++
	}
	now := time.Now().UTC().Format("20060102-15:04:05.000")
	var body bytes.Buffer
	fmt.Fprintf(&body, "35=%s\x0149=%s\x0156=RINGEX\x0134=%d\x0152=%s\x01", msgType, c.name, seq, now)
	if msgType == "4" {
		fmt.Fprintf(&body, "43=Y\x01122=%s\x01", now)
	}
	for i := 0; i+1 < len(tv); i += 2 {
		fmt.Fprintf(&body, "%v=%v\x01", tv[i], tv[i+1])
	}
	msg := fmt.Appendf(nil, "8=FIX.4.4\x019=%d\x01%s", body.Len(), body.Bytes())
	sum := 0
	for _, b := range msg {
		sum += int(b)
	}
	msg = fmt.Appendf(msg, "10=%03d\x01", sum%256)
	c.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.conn.Write(msg); err != nil {
		c.noteUnsent(msgType, fmt.Sprintf("MsgSeqNum %d to %s: %v", seq, c.peer, err))
	}
}

// noteUnsent keeps the last few sends that reached no socket.
func (c *campaignClient) noteUnsent(msgType, why string) {
	if len(c.unsent) == 8 {
		c.unsent = c.unsent[1:]
	}
	c.unsent = append(c.unsent, fmt.Sprintf("%s 35=%s: %s", time.Now().Format("15:04:05.000"), msgType, why))
}

// handle applies the session rules to one inbound message and records it.
func (c *campaignClient) handle(m map[int]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastRead = time.Now()
	seq, _ := strconv.Atoi(m[34])
	if len(c.recent) == 8 {
		c.recent = c.recent[1:]
	}
	c.recent = append(c.recent, fmt.Sprintf("%s 35=%s 34=%d 11=%s 150=%s 58=%q", c.lastRead.Format("15:04:05.000"), m[35], seq, m[11], m[150], m[58]))
	switch m[35] {
	case "8", "9", "r":
		c.got = append(c.got, campaignReport{msgType: m[35], execID: m[17], orderID: m[37], clOrdID: m[11],
			execType: m[150], ordStatus: m[39], msgSeqNum: seq, possDup: m[43] == "Y", possResend: m[97] == "Y", from: c.peer, text: m[58]})
		c.track(m)
	}
	c.sequence(m, seq)
	switch m[35] {
	case "A":
		c.loggedOn = true
		c.logons++
	case "1":
		c.sendLocked(0, "0", 112, m[112])
	case "2":
		// Orders are not sent again: the gap is filled.
		begin, _ := strconv.Atoi(m[7])
		c.sendLocked(begin, "4", 123, "Y", 36, c.outSeq)
		c.counts.gapFilled++
	case "3":
		c.counts.rejects++
	case "5":
		c.logouts = append(c.logouts, m[58])
		c.loggedOn = false
		c.conn.Close() // the session ends here, whoever began the Logout
	}
}

// sequence checks MsgSeqNum: a gap is asked for at once (just the gap, so
// the copies arrive below the expected number, PossDupFlag=Y); a number too
// low without PossDupFlag is counted (a FIX engine would log out), and the
// session goes on from it.
func (c *campaignClient) sequence(m map[int]string, seq int) {
	if m[35] == "4" && m[123] != "Y" { // Reset mode: the next number, whatever this one's
		c.inNext, _ = strconv.Atoi(m[36])
		return
	}
	before := c.inNext
	switch {
	case seq == c.inNext:
		c.inNext++
	case seq > c.inNext:
		c.sendLocked(0, "2", 7, c.inNext, 16, seq-1)
		c.counts.resendAsked++
		c.inNext = seq + 1
	case m[43] == "Y": // a copy we asked for
	default:
		c.counts.tooLow++
		c.inNext = seq + 1
	}
	if m[35] == "4" && seq >= before {
		if next, _ := strconv.Atoi(m[36]); next > c.inNext {
			c.inNext = next
		}
	}
}

// track keeps the open orders a cancel or replace can name, from the
// reports (a lost report leaves one behind: its cancel is rejected).
func (c *campaignClient) track(m map[int]string) {
	if m[35] != "8" {
		return
	}
	if m[150] == "0" && m[37] != "NONE" {
		c.acks[m[11]], _ = strconv.ParseInt(m[37], 10, 64)
	}
	if m[150] == "5" {
		delete(c.live, m[41])
		if o, ok := c.replaces[m[11]]; ok {
			c.live[m[11]] = o
			delete(c.replaces, m[11])
		}
	}
	switch m[39] {
	case "2", "4", "8", "C":
		delete(c.live, m[11])
		delete(c.live, m[41])
	}
}

// sendLoop sends one message every interval while logged on.
func (c *campaignClient) sendLoop(interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-c.stopSend:
			return
		case <-tick.C:
		}
		c.mu.Lock()
		if c.loggedOn {
			c.sendOne()
		}
		c.mu.Unlock()
	}
}

var campaignSymbols = [...]string{"AAPL", "MSFT"}

// sendOne sends one message of the mix: GTC orders that rest, Day orders
// that rest, Day orders that cross the book, cancels and replaces of open
// orders.
func (c *campaignClient) sendOne() {
	c.ids++
	id := fmt.Sprintf("%s-%d", c.name[len(c.name)-2:], c.ids)
	op := c.rng.IntN(100)
	var target string
	if op >= 70 && len(c.live) > 0 {
		n := c.rng.IntN(len(c.live))
		for k := range c.live {
			if n == 0 {
				target = k
				break
			}
			n--
		}
	}
	switch {
	case target != "" && op < 85:
		o := c.live[target]
		delete(c.live, target)
		c.sendLocked(0, "F", 11, id, 41, target, 55, o.sym, 54, o.side, 38, o.qty, 60, fixNow())
		c.sent["cancel"]++
	case target != "":
		o := c.live[target]
		delete(c.live, target)
		o.px += 10 * (c.rng.IntN(5) - 2)
		o.qty = 10 * (1 + c.rng.IntN(10))
		c.replaces[id] = o
		c.sendLocked(0, "G", 11, id, 41, target, 55, o.sym, 54, o.side, 38, o.qty, 40, 2, 44, cents(o.px), 59, o.tif, 60, fixNow())
		c.sent["replace"]++
	case op < 25:
		c.order(id, c.resting("1"), "gtc")
	case op < 45:
		c.order(id, c.resting("0"), "day")
	default:
		c.order(id, c.crossing(), "cross")
	}
}

// resting is an order priced away from the other side: buys 95.00-98.99,
// sells 101.00-104.99.
func (c *campaignClient) resting(tif string) liveOrder {
	o := liveOrder{sym: campaignSymbols[c.rng.IntN(len(campaignSymbols))], side: "1", tif: tif,
		px: 9500 + c.rng.IntN(400), qty: 10 * (1 + c.rng.IntN(10))}
	if c.rng.IntN(2) == 1 {
		o.side, o.px = "2", 10100+c.rng.IntN(400)
	}
	return o
}

// crossing is a Day order that takes from the other side (buy at 106, sell
// at 94); what it does not fill rests at the top.
func (c *campaignClient) crossing() liveOrder {
	o := liveOrder{sym: campaignSymbols[c.rng.IntN(len(campaignSymbols))], side: "1", tif: "0",
		px: 10600, qty: 10 * (1 + c.rng.IntN(5))}
	if c.rng.IntN(2) == 1 {
		o.side, o.px = "2", 9400
	}
	return o
}

func (c *campaignClient) order(id string, o liveOrder, what string) {
	c.live[id] = o
	c.sendLocked(0, "D", 11, id, 55, o.sym, 54, o.side, 38, o.qty, 40, 2, 44, cents(o.px), 59, o.tif, 60, fixNow())
	c.sent[what]++
}

func cents(px int) string { return fmt.Sprintf("%d.%02d", px/100, px%100) }

func fixNow() string { return time.Now().UTC().Format("20060102-15:04:05.000") }

// logonCount is how many Logon replies the client has had.
func (c *campaignClient) logonCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logons
}

// loggedOnSince says whether the client is logged on, after more than
// logons Logon replies.
func (c *campaignClient) loggedOnSince(logons int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loggedOn && c.logons > logons
}

// marker sends, while logged on, the n-th resting GTC order that ends the
// campaign's flow (a broker dropped before the last one was answered
// sends another); its acknowledgement (OrderID, the seq of its command)
// marks the drain. sent is false, and nothing is sent, while the client
// is not logged on; logons is the Logon count of the session it went on.
// A write that fails is kept in unsent (describe).
func (c *campaignClient) marker(n int) (id string, logons int, sent bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loggedOn {
		return "", c.logons, false
	}
	id = c.name[len(c.name)-2:] + "-END"
	if n > 1 {
		id += strconv.Itoa(n)
	}
	o := liveOrder{sym: "AAPL", side: "1", tif: "1", px: 5000, qty: 10}
	c.marked += fmt.Sprintf("%s MsgSeqNum %d to %s at %s; ", id, c.outSeq, c.peer, time.Now().Format("15:04:05.000"))
	c.order(id, o, "marker")
	return id, c.logons, true
}

// describe says where the client stands, for a drain that got no
// acknowledgement of the orders ids: its session, where the markers went,
// what it read about ids, and the last messages it read.
func (c *campaignClient) describe(ids ...string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: logged on %v to %s (%d logons, %d bounces), next MsgSeqNum out %d, in %d; last read %v ago; markers sent: %s\n",
		c.name, c.loggedOn, c.peer, c.logons, c.bounces, c.outSeq, c.inNext, time.Since(c.lastRead).Round(time.Millisecond), c.marked)
	fmt.Fprintf(&b, "  session rejects %d, resends asked %d, gaps filled %d, too low %d; logouts %q; sends that reached no socket %q\n",
		c.counts.rejects, c.counts.resendAsked, c.counts.gapFilled, c.counts.tooLow, c.logouts[max(0, len(c.logouts)-5):], c.unsent)
	for _, r := range c.got {
		if slices.Contains(ids, r.clOrdID) {
			fmt.Fprintf(&b, "  about %s: %+v\n", r.clOrdID, r)
		}
	}
	for _, r := range c.recent {
		fmt.Fprintf(&b, "  read: %s\n", r)
	}
	return b.String()
}

// ackOfAny is the highest OrderID any of the orders ids was acknowledged
// with, or 0.
func (c *campaignClient) ackOfAny(ids []string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	ack := int64(0)
	for _, id := range ids {
		ack = max(ack, c.acks[id])
	}
	return ack
}

// probe sends a TestRequest: its Heartbeat reveals a gap at the end.
func (c *campaignClient) probe() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sendLocked(0, "1", 112, "DRAIN")
}

// quietFor is how long nothing has been read.
func (c *campaignClient) quietFor() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Since(c.lastRead)
}
