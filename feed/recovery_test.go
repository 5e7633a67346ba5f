package feed

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// TestRecoveryRefusesBadRequests: a request the service cannot serve gets
// an answer saying why, and the connection goes on serving.
func TestRecoveryRefusesBadRequests(t *testing.T) {
	x := newExchange(t, 11, 1)
	for range 50 {
		x.submit(x.randomCommand())
	}
	c, err := Dial(x.startServer(16, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	none := func(*Message) error { return nil }
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"retransmit_nothing", func() error { _, err := c.Retransmit(1, 0, none); return err }, "want seq >= 1 and 1 to"},
		{"retransmit_from_seq_0", func() error { _, err := c.Retransmit(0, 5, none); return err }, "want seq >= 1"},
		{"retransmit_too_many", func() error { _, err := c.Retransmit(1, RetransmitMax+1, none); return err }, "want seq >= 1 and 1 to"},
		{"retransmit_past_seq_2^64", func() error { _, err := c.Retransmit(math.MaxUint64-5, 10, none); return err }, "not past seq 2^64-1"},
		{"join_without_a_feed", func() error { return c.Join(4000) }, "sends no UDP feed"},
		{"reserved_bytes_set", func() error {
			var b [requestSize]byte
			b[0], b[2], b[4] = ReqRetransmit, 7, 1
			binary.LittleEndian.PutUint64(b[8:], 1)
			if _, err := c.conn.Write(b[:]); err != nil {
				return err
			}
			_, err := c.answer(none)
			return err
		}, "reserved bytes 00 07 00, want zero"},
		{"unknown_kind", func() error {
			if err := c.request('Q', 0, 0); err != nil {
				return err
			}
			_, err := c.answer(none)
			return err
		}, "unknown request kind 81"},
	} {
		if err := tc.do(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	_, next := x.tr.Next()
	var got uint64
	end, err := c.Retransmit(next-3, 10, func(*Message) error { got++; return nil })
	if err != nil || got != 3 || end != next {
		t.Fatalf("a range past the end: %d messages, ending at %d (want 3, %d): %v", got, end, next, err)
	}
}

// TestReplayRefusesAJournalWithoutItsStart: a feed whose origin is the
// journal's start (JournalStart) is numbered from seq 1; a journal whose
// first records are gone cannot give it, and says so.
func TestReplayRefusesAJournalWithoutItsStart(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(journal.Options{Dir: dir, FirstSeq: 10, Sync: journal.SyncNone, Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	r, err := NewReplayer(dir, JournalStart(testEngineConfig(matcher.STPNone), 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Advance(nil); err == nil || !strings.Contains(err.Error(), "begins at seq 10") {
		t.Fatalf("Advance: %v, want an error saying the journal begins at seq 10", err)
	}
}

// TestRecoveryClientThatNeverReadsHoldsNoOtherClient: a recovery client
// that asks for a long retransmission and then never reads its socket
// (a hung receiver, or a hostile one: the service listens on the
// network) must not hold back other recovery clients. Here one asks for
// every kept message and reads nothing; another then asks for a
// snapshot, and must get it.
func TestRecoveryClientThatNeverReadsHoldsNoOtherClient(t *testing.T) {
	x := newExchange(t, 5, matcher.STPNone)
	for i := range 50000 { // an Add and a Delete each: 100000 messages, 7.2 MB
		cl, _ := matcher.MakeClOrdID(fmt.Sprintf("r%d", i))
		x.submit(matcher.Command{Kind: matcher.KindNew, Symbol: 1, Account: 1, ClOrdID: cl, Side: matcher.Buy,
			Type: matcher.Limit, TIF: matcher.Day, Price: 100, Qty: 1})
		x.submit(matcher.Command{Kind: matcher.KindCancel, Symbol: 1, Account: 1, OrderID: x.seq, ClOrdID: cl})
	}
	_, next := x.tr.Next()
	addr := x.startServer(1<<17, nil)

	stuck, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	stuck.(*net.TCPConn).SetReadBuffer(4096)
	var req [requestSize]byte
	req[0] = ReqRetransmit
	binary.LittleEndian.PutUint32(req[4:], uint32(next-1))
	binary.LittleEndian.PutUint64(req[8:], 1)
	if _, err := stuck.Write(req[:]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // let the service begin writing; it never gets far

	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.Snapshot(func(*Message) error { return nil })
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no snapshot in 15 s: the recovery service is held by a client that does not read (Server.retransmit writes under mu, with no write deadline)")
	}
}

// TestRecoveryJoinsAreBounded: each Join request adds a UDP destination
// that every packet is written to, and one connection may send as many as
// it likes, each a new port: the sender's list (copied whole at every
// join) and its writes per packet grow without bound, on a service that
// listens on the network. One connection asks 5000 times here.
func TestRecoveryJoinsAreBounded(t *testing.T) {
	x := newExchange(t, 5, matcher.STPNone)
	x.submit(x.randomCommand())
	pub, err := NewPublisher(PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	c, err := Dial(x.startServer(16, pub.Join))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	refused := 0
	for port := 1000; port < 6000; port++ {
		if c.Join(port) != nil {
			refused++
		}
	}
	if n := len(*pub.dests.Load()); n > 64 {
		t.Fatalf("one recovery connection made the feed go to %d UDP destinations (%d joins refused)", n, refused)
	}
}

// TestClientGivesUpOnAServiceThatNeverAnswers: a recovery service that
// takes the request and says nothing is an error after the client's
// Timeout, not a hang (`ringex md` is such a client).
func TestClientGivesUpOnAServiceThatNeverAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	end := make(chan struct{})
	defer close(end)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			var b [requestSize]byte
			c.Read(b[:])
			<-end // never answers
		}
	}()
	c, err := Dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Timeout = 200 * time.Millisecond
	done := make(chan error, 1)
	go func() {
		_, err := c.Snapshot(func(*Message) error { return nil })
		done <- err
	}()
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Snapshot from a silent service: %v, want a timeout", err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("Snapshot from a silent service still waiting after 8 s, its Timeout 200 ms")
	}
}

// TestRecoveryServesNothingPastPublished: beside a live node the service
// serves only records the node has published (ServerConfig.Published), in
// a retransmission (kept or replayed) and in a snapshot, though the
// journal holds more: a durable record not acknowledged may be set aside
// when the term is lost. A request past the bound gets what there is and
// an end below what it asked ("not yet"), never a hang; the bound moving
// on serves the rest; an error from Published refuses the request.
func TestRecoveryServesNothingPastPublished(t *testing.T) {
	x := newExchange(t, 17, matcher.STPNone)
	for range 200 {
		x.submit(x.randomCommand())
	}
	var published atomic.Int64
	published.Store(120)
	var refuse atomic.Bool
	addr := x.startServerWith(ServerConfig{RetainMax: 16, Published: func() (int64, error) {
		if refuse.Load() {
			return 0, errors.New("this node is a standby")
		}
		return published.Load(), nil
	}})
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	upTo := func(seq int64) (want []Message, next uint64) {
		next = 1
		for _, m := range x.live {
			if m.JournalSeq <= seq {
				want, next = append(want, m), m.Seq+1
			}
		}
		return want, next
	}
	retransmit := func(name string, from uint64, count uint32, want []Message, wantEnd uint64) {
		t.Helper()
		var got []Message
		end, err := c.Retransmit(from, count, func(m *Message) error { got = append(got, *m); return nil })
		if err != nil || end != wantEnd || !slices.Equal(got, want) {
			t.Fatalf("%s: retransmit %d from seq %d: %d messages ending at %d, %v; want %d ending at %d",
				name, count, from, len(got), end, err, len(want), wantEnd)
		}
	}

	want, next := upTo(120)
	if next == uint64(len(x.live))+1 {
		t.Fatal("records 121..200 put nothing on the feed: the test shows nothing")
	}
	retransmit("kept_range_to_published", next-5, 100, want[next-6:], next) // the tail keeps 16
	retransmit("replayed_from_start", 1, RetransmitMax, want, next)         // older than kept: replayed
	retransmit("all_past_published", next+3, 10, nil, next)
	resume, err := c.Snapshot(func(m *Message) error {
		if m.JournalSeq > 120 {
			return fmt.Errorf("snapshot message of journal seq %d, published 120", m.JournalSeq)
		}
		return nil
	})
	if err != nil || resume != next {
		t.Fatalf("snapshot at published 120: resume seq %d, %v; want %d", resume, err, next)
	}

	published.Store(200)
	retransmit("bound_moved_on", next, RetransmitMax, x.live[next-1:], uint64(len(x.live))+1)

	refuse.Store(true)
	if _, err := c.Retransmit(1, 10, func(*Message) error { return nil }); err == nil || !strings.Contains(err.Error(), "standby") {
		t.Fatalf("retransmit while Published refuses: %v, want its error", err)
	}
	if _, err := c.Snapshot(func(*Message) error { return nil }); err == nil || !strings.Contains(err.Error(), "standby") {
		t.Fatalf("snapshot while Published refuses: %v, want its error", err)
	}
}

// TestReceiverRejoinsAfterItsConnectionCloses: a receiver's recovery
// connection closes (the node stopped); Check says so without waiting.
// Over a new connection, Rejoin brings the book on by retransmission when
// the service's feed goes on in the receiver's session: every message
// missed is applied, no new snapshot, and the book is the matcher's.
func TestReceiverRejoinsAfterItsConnectionCloses(t *testing.T) {
	x := newExchange(t, 11, matcher.STPNone)
	for range 50 {
		x.submit(x.randomCommand())
	}
	serve := func() (*Server, *Client) {
		s, err := NewServer(ServerConfig{Dir: x.dir, Origin: JournalStart(x.cfg, 2)})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go s.Serve(ln)
		t.Cleanup(s.Close)
		c, err := Dial(ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return s, c
	}
	s1, c1 := serve()
	r := &Receiver{Book: NewBook(), Rec: c1}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c1.Check(); err != nil {
		t.Fatalf("Check on an open connection: %v", err)
	}
	for range 30 {
		x.submit(x.randomCommand())
	}
	s1.Close()
	for i := 0; c1.Check() == nil; i++ {
		if i == 500 {
			t.Fatal("Check still says the connection is open 5 s after the service closed it")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, c2 := serve()
	before := r.Next()
	if err := r.Rejoin(c2); err != nil {
		t.Fatal(err)
	}
	if _, next := x.tr.Next(); r.Next() != next || r.Snapshots != 1 || r.Recovered != next-before {
		t.Fatalf("after Rejoin: next %d (want %d), %d snapshots (want 1), %d recovered (want %d)", r.Next(), next, r.Snapshots, r.Recovered, next-before)
	}
	x.sameBooks(r.Book, "the rejoined receiver")
}

// TestRecoveryServesAfterTheJournalsFirstSegmentsLeave: the service
// follows the journal on its own, so the records it has passed may leave
// the journal (hot retention, then the archive moved to cold storage)
// before anyone asks. Here it runs beside a standby, which numbers the
// feed and refuses requests; the journal's first segments are then
// removed, and the node is promoted. At once the service answers a
// snapshot (the matcher's books), serves the range it keeps exactly as the
// live feed numbered it, goes on with what the journal adds, and refuses
// a range no longer held anywhere, naming the oldest seq it holds.
func TestRecoveryServesAfterTheJournalsFirstSegmentsLeave(t *testing.T) {
	x := newExchangeSegments(t, 23, matcher.STPNone, 4096) // about 40 records a segment
	for range 300 {
		x.submit(x.randomCommand())
	}
	var standby atomic.Bool
	standby.Store(true)
	var published atomic.Int64
	published.Store(x.seq)
	const retain = 64
	s, err := NewServer(ServerConfig{Dir: x.dir, Origin: JournalStart(x.cfg, 2), RetainMax: retain, FollowEvery: 10 * time.Millisecond,
		Published: func() (int64, error) {
			if standby.Load() {
				return published.Load(), errors.New("this node is a standby")
			}
			return published.Load(), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for i := 0; ; i++ {
		s.mu.Lock()
		at := s.tail.JournalSeq()
		s.mu.Unlock()
		if at == x.seq {
			break
		}
		if i == 1000 {
			t.Fatalf("the service followed the journal to seq %d in 10 s, not to %d", at, x.seq)
		}
		time.Sleep(10 * time.Millisecond)
	}
	segs, err := journal.Segments(x.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 5 {
		t.Fatalf("300 commands filled %d segments of 4 KiB, want 5 or more", len(segs))
	}
	for _, sg := range segs[:3] {
		if err := os.Remove(sg.Hot); err != nil {
			t.Fatal(err)
		}
	}
	standby.Store(false)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	c, err := Dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := &Receiver{Book: NewBook(), Rec: c}
	if err := r.Start(); err != nil {
		t.Fatalf("snapshot after the journal's first %d records left: %v", segs[3].First-1, err)
	}
	x.sameBooks(r.Book, "the book from the snapshot")
	for range 50 {
		x.submit(x.randomCommand())
	}
	published.Store(x.seq)
	next := uint64(len(x.live)) + 1
	from := next - retain
	var got []Message
	end, err := c.Retransmit(from, retain, func(m *Message) error { got = append(got, *m); return nil })
	if err != nil || end != next || !slices.Equal(got, x.live[from-1:]) {
		t.Fatalf("retransmit %d from seq %d: %d messages ending at %d, %v; want the %d the live feed sent, ending at %d", retain, from, len(got), end, err, retain, next)
	}
	_, err = c.Retransmit(1, 10, func(*Message) error { return nil })
	if want := fmt.Sprintf("holds seqs from %d only", from); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("retransmit seqs 1 to 10, whose records are gone: %v; want a refusal saying it %s", err, want)
	}
}
