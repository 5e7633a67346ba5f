package marketdata_test

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	qfconfig "github.com/quickfixgo/quickfix/config"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

const wait = 10 * time.Second

// mdClient is a broker's quickfixgo initiator that keeps every application
// message as received, bytes and all: market data carries repeating
// groups, which a quickfixgo message without a data dictionary flattens.
type mdClient struct {
	t        *testing.T
	init     *quickfix.Initiator
	sid      quickfix.SessionID
	inbox    chan []field
	loggedOn chan struct{}
	rejects  chan string // the session Rejects it sends: a message its data dictionary refused
}

type field struct {
	tag int
	val string
}

func dialMD(t *testing.T, addr, begin, sender string) *mdClient {
	t.Helper()
	return dialMDWith(t, addr, begin, sender, nil)
}

// dialMDWith is dialMD with more session settings (a DataDictionary).
func dialMDWith(t *testing.T, addr, begin, sender string, more map[string]string) *mdClient {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	settings := quickfix.NewSettings()
	ss := quickfix.NewSessionSettings()
	for k, v := range map[string]string{
		qfconfig.BeginString: begin, qfconfig.SenderCompID: sender, qfconfig.TargetCompID: "RINGEX",
		qfconfig.SocketConnectHost: host, qfconfig.SocketConnectPort: port, qfconfig.HeartBtInt: "30",
		qfconfig.ReconnectInterval: "1", qfconfig.ResetOnLogon: "Y",
	} {
		ss.Set(k, v)
	}
	for k, v := range more {
		ss.Set(k, v)
	}
	sid, err := settings.AddSession(ss)
	if err != nil {
		t.Fatal(err)
	}
	c := &mdClient{t: t, sid: sid, inbox: make(chan []field, 4096), loggedOn: make(chan struct{}, 1), rejects: make(chan string, 64)}
	if c.init, err = quickfix.NewInitiator(c, quickfix.NewMemoryStoreFactory(), settings, quickfix.NewNullLogFactory()); err != nil {
		t.Fatal(err)
	}
	if err := c.init.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.init.Stop)
	select {
	case <-c.loggedOn:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no logon within 20 s", sid)
	}
	return c
}

// request sends a MarketDataRequest: id, SubscriptionRequestType, depth,
// MDUpdateType (-1: none), entry types, symbols.
func (c *mdClient) request(id string, subType byte, depth, updateType int, types string, syms ...string) {
	c.t.Helper()
	c.requestBook(id, subType, depth, updateType, "", types, syms...)
}

// requestBook is request with AggregatedBook (266): "N" asks for the
// book by order; "": absent.
func (c *mdClient) requestBook(id string, subType byte, depth, updateType int, aggregated, types string, syms ...string) {
	c.t.Helper()
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, "V")
	m.Body.SetString(tag.MDReqID, id)
	m.Body.SetString(tag.SubscriptionRequestType, string(subType))
	m.Body.SetInt(tag.MarketDepth, depth)
	if updateType >= 0 {
		m.Body.SetInt(tag.MDUpdateType, updateType)
	}
	if aggregated != "" {
		m.Body.SetString(tag.AggregatedBook, aggregated)
	}
	types42 := quickfix.NewRepeatingGroup(tag.NoMDEntryTypes, quickfix.GroupTemplate{quickfix.GroupElement(tag.MDEntryType)})
	for _, ty := range types {
		types42.Add().SetString(tag.MDEntryType, string(ty))
	}
	m.Body.SetGroup(types42)
	related := quickfix.NewRepeatingGroup(tag.NoRelatedSym, quickfix.GroupTemplate{quickfix.GroupElement(tag.Symbol)})
	for _, s := range syms {
		related.Add().SetString(tag.Symbol, s)
	}
	m.Body.SetGroup(related)
	if err := quickfix.SendToTarget(m, c.sid); err != nil {
		c.t.Fatalf("send V: %v", err)
	}
}

// order sends a Day limit order.
func (c *mdClient) order(id, sym, side, qty, px string) {
	c.t.Helper()
	c.orderTIF(id, sym, side, qty, px, "0")
}

func (c *mdClient) orderTIF(id, sym, side, qty, px, tif string) {
	c.t.Helper()
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, "D")
	for _, kv := range [][2]any{{tag.ClOrdID, id}, {tag.Symbol, sym}, {tag.Side, side}, {tag.OrderQty, qty},
		{tag.OrdType, "2"}, {tag.Price, px}, {tag.TimeInForce, tif}, {tag.HandlInst, "1"},
		{tag.TransactTime, time.Now().UTC().Format("20060102-15:04:05.000")}} {
		m.Body.SetString(kv[0].(quickfix.Tag), kv[1].(string))
	}
	if err := quickfix.SendToTarget(m, c.sid); err != nil {
		c.t.Fatalf("send D: %v", err)
	}
}

// awaitView asks for snapshots of sym's entry types until one's entries
// read want, and fails the test after about 4 s: market data follows the
// acknowledgements (the publish stage hands it on after the batch's
// reports), so the view may not hold what a report just told.
func (c *mdClient) awaitView(types, sym, want string) {
	c.t.Helper()
	var got string
	for i := range 200 {
		c.request("view"+strconv.Itoa(i), '0', 0, -1, types, sym)
		if got = strings.Join(entries(c.next("W"), 269), "|"); got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("%s: market data for %s shows %q, want %q", c.sid, sym, got, want)
}

// next returns the next message of msgType, skipping others (execution
// reports), or fails the test.
func (c *mdClient) next(msgType string) []field {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case m := <-c.inbox:
			if get(m, 35) == msgType {
				return m
			}
		case <-deadline:
			c.t.Fatalf("%s: no %s within %v", c.sid, msgType, wait)
			return nil
		}
	}
}

func get(m []field, t int) string {
	for _, f := range m {
		if f.tag == t {
			return f.val
		}
	}
	return ""
}

// entries are m's repeating-group entries that start at delim, each as
// "tag=val tag=val", the header and trailer left out.
func entries(m []field, delim int) []string {
	var out []string
	for _, f := range m {
		switch {
		case f.tag == 10:
		case f.tag == delim:
			out = append(out, strconv.Itoa(f.tag)+"="+f.val)
		case len(out) > 0:
			out[len(out)-1] += " " + strconv.Itoa(f.tag) + "=" + f.val
		}
	}
	return out
}

func startExchange(t *testing.T) string {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.FIX.Sessions[2].BeginString = "FIX.4.2"
	cfg.FIX.Sessions[3].MarketDataByOrder = true // BROKER04
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatalf("start exchange: %v", err)
	}
	t.Cleanup(func() { n.Stop() })
	return cfg.FIX.Listen
}

// TestSubscribeOverFIX: brokers on FIX 4.4 and FIX 4.2 subscribe with a
// quickfixgo initiator, get a snapshot of the books they name, then an
// incremental refresh for every change: a new level, a change of its
// size, a trade and the level's delete; a second request in the same session takes another
// view; an unsubscribed request hears no more.
func TestSubscribeOverFIX(t *testing.T) {
	for _, begin := range []string{quickfix.BeginStringFIX44, quickfix.BeginStringFIX42} {
		t.Run(strings.ReplaceAll(begin, ".", ""), func(t *testing.T) {
			addr := startExchange(t)
			sender := "BROKER01"
			if begin == quickfix.BeginStringFIX42 {
				sender = "BROKER03"
			}
			md := dialMD(t, addr, begin, sender)
			trader := dialMD(t, addr, quickfix.BeginStringFIX44, "BROKER02")

			trader.order("S1", "AAPL", "2", "100", "101.25")
			trader.next("8")
			md.awaitView("1", "AAPL", "269=1 270=101.25 271=100")
			md.request("book", '1', 0, 1, "012", "AAPL", "MSFT")
			w := md.next("W")
			if get(w, 55) != "AAPL" || get(w, 262) != "book" || strings.Join(entries(w, 269), "|") != "269=1 270=101.25 271=100" {
				t.Fatalf("snapshot of AAPL: %v", w)
			}
			if w := md.next("W"); get(w, 55) != "MSFT" || get(w, 268) != "0" {
				t.Fatalf("snapshot of MSFT: %v", w)
			}
			md.request("top", '1', 1, 1, "01", "AAPL")
			md.next("W")

			trader.order("S2", "AAPL", "2", "50", "101.25")
			wantX(t, md, "book", "279=1 269=1 55=AAPL 270=101.25 271=150")
			wantX(t, md, "top", "279=1 269=1 55=AAPL 270=101.25 271=150")
			trader.order("B1", "AAPL", "1", "150", "101.25") // takes the whole level
			wantX(t, md, "book", "279=0 269=2 55=AAPL 270=101.25 271=100|279=0 269=2 55=AAPL 270=101.25 271=50|279=2 269=1 55=AAPL 270=101.25")
			wantX(t, md, "top", "279=2 269=1 55=AAPL 270=101.25")

			md.request("book", '2', 0, 1, "012", "AAPL", "MSFT")
			// The session's requests are served in order: once this
			// snapshot is back, the unsubscribe has taken effect (the
			// trader's order comes on another connection, so without it
			// the order could pass the unsubscribe).
			md.request("after-unsubscribe", '0', 1, -1, "0", "MSFT")
			md.next("W")
			trader.order("B2", "AAPL", "1", "10", "99")
			wantX(t, md, "top", "279=0 269=0 55=AAPL 270=99.00 271=10")
			md.request("snap", '0', 0, -1, "0", "AAPL")
			if w := md.next("W"); strings.Join(entries(w, 269), "|") != "269=0 270=99.00 271=10" {
				t.Fatalf("snapshot after the trade: %v", w)
			}
		})
	}
}

// wantX waits for the next incremental refresh and checks it is for id
// and carries want (entries joined by |).
func wantX(t *testing.T, c *mdClient, id, want string) {
	t.Helper()
	x := c.next("X")
	if got := strings.Join(entries(x, 279), "|"); get(x, 262) != id || got != want {
		t.Fatalf("X for %s: got %s: %s, want %s", id, get(x, 262), got, want)
	}
}

// TestRequestRejectsOverFIX: each request the exchange does not serve is
// answered with MarketDataRequestReject (Y), its MDReqID, the
// MDReqRejReason FIX gives for it and a Text, on FIX 4.4 and 4.2 alike;
// nothing else is sent.
func TestRequestRejectsOverFIX(t *testing.T) {
	addr := startExchange(t)
	for _, c := range []struct {
		begin, sender string
	}{{quickfix.BeginStringFIX44, "BROKER01"}, {quickfix.BeginStringFIX42, "BROKER03"}} {
		md := dialMD(t, addr, c.begin, c.sender)
		md.request("live", '1', 0, 1, "01", "AAPL")
		md.next("W")
		for _, r := range []struct {
			name, id          string
			subType           byte
			depth, updateType int
			types             string
			syms              []string
			reason, text      string
		}{
			{"unknown_symbol", "r1", '1', 0, 1, "01", []string{"AAPL", "NOPE"}, "0", "unknown symbol NOPE"},
			{"duplicate_MDReqID", "live", '1', 0, 1, "01", []string{"MSFT"}, "1", "duplicate MDReqID live"},
			{"unsupported_depth", "r2", '1', 101, 1, "01", []string{"AAPL"}, "5", "MarketDepth 101 not supported"},
			{"unsupported_entry_type", "r3", '1', 0, 1, "06", []string{"AAPL"}, "8", "MDEntryType 6 not supported"},
			{"unsupported_update_type", "r4", '1', 0, 2, "0", []string{"AAPL"}, "6", "MDUpdateType 2 not supported"},
			{"unsupported_subscription_type", "r5", '9', 0, 1, "0", []string{"AAPL"}, "4", "SubscriptionRequestType 9 not supported"},
			{"unsubscribe_unknown", "r6", '2', 0, 1, "0", []string{"AAPL"}, "", "no subscription with MDReqID r6"},
		} {
			md.request(r.id, r.subType, r.depth, r.updateType, r.types, r.syms...)
			y := md.next("Y")
			if get(y, 262) != r.id || get(y, 281) != r.reason || !strings.HasPrefix(get(y, 58), r.text) {
				t.Errorf("%s %s: Y %v, want MDReqID %s, MDReqRejReason %q, Text %q…", c.begin, r.name, y, r.id, r.reason, r.text)
			}
		}
		// A session not configured with marketDataByOrder asks for a
		// book by order.
		md.requestBook("r7", '1', 0, 1, "N", "01", "AAPL")
		if y := md.next("Y"); get(y, 262) != "r7" || get(y, 281) != "7" || !strings.HasPrefix(get(y, 58), "books by order are not served") {
			t.Errorf("%s by order, not configured: Y %v, want MDReqRejReason 7", c.begin, y)
		}
		select {
		case m := <-md.inbox:
			t.Errorf("%s: unexpected %v after the rejects", c.begin, m)
		case <-time.After(200 * time.Millisecond):
		}
	}
	// One that is asks for a book by order of the first levels only.
	md := dialMD(t, addr, quickfix.BeginStringFIX44, "BROKER04")
	md.requestBook("r8", '1', 5, 1, "N", "01", "AAPL")
	if y := md.next("Y"); get(y, 262) != "r8" || get(y, 281) != "5" || !strings.HasPrefix(get(y, 58), "a book by order is served whole") {
		t.Errorf("by order, depth 5: Y %v, want MDReqRejReason 5", y)
	}
}

// quickfix.Application

func (c *mdClient) OnCreate(quickfix.SessionID) {}
func (c *mdClient) OnLogon(quickfix.SessionID) {
	select {
	case c.loggedOn <- struct{}{}:
	default:
	}
}
func (c *mdClient) OnLogout(quickfix.SessionID) {}
func (c *mdClient) ToAdmin(m *quickfix.Message, _ quickfix.SessionID) {
	if mt, _ := m.MsgType(); mt == "3" {
		ref, _ := m.Body.GetString(tag.RefTagID)
		text, _ := m.Body.GetString(tag.Text)
		select {
		case c.rejects <- "RefTagID " + ref + ": " + text:
		default:
		}
	}
}
func (c *mdClient) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }
func (c *mdClient) FromAdmin(*quickfix.Message, quickfix.SessionID) quickfix.MessageRejectError {
	return nil
}
func (c *mdClient) FromApp(m *quickfix.Message, _ quickfix.SessionID) quickfix.MessageRejectError {
	var fs []field
	for _, f := range bytes.Split(bytes.TrimSuffix(m.Bytes(), []byte{1}), []byte{1}) {
		k, v, _ := bytes.Cut(f, []byte("="))
		n, _ := strconv.Atoi(string(k))
		fs = append(fs, field{n, string(v)})
	}
	c.inbox <- fs
	return nil
}

// TestSnapshotAfterRestart: the books a restarted exchange rebuilds from
// its journal are the books its market data shows: an order that rested
// before the restart is in the snapshot, and so is the last trade's price
// (its size is not known to the new process).
func TestSnapshotAfterRestart(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	trader := dialMD(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02")
	// GTC: a restart cancels the Day orders of sessions that cancel on disconnect.
	trader.orderTIF("S1", "MSFT", "2", "30", "250.5", "1")
	trader.orderTIF("B1", "MSFT", "1", "10", "250.5", "1")
	trader.orderTIF("B2", "MSFT", "1", "7", "249", "1")
	for range 5 { // S1 new; B1 new, its fill and S1's; B2 new
		trader.next("8")
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	n, err = node.Start(cfg, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	md := dialMD(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01")
	md.request("after", '0', 0, -1, "012", "MSFT")
	w := md.next("W")
	if got := strings.Join(entries(w, 269), "|"); got != "269=0 270=249.00 271=7|269=1 270=250.50 271=20|269=2 270=250.50" {
		t.Fatalf("snapshot after the restart: %s", got)
	}
}

// TestMarketDataAfterFailover: a standby keeps its market data's books from
// the events it applies, so once promoted it serves them at once: a
// broker that subscribes to the new primary gets the books the old one
// had, then the changes the new one makes.
func TestMarketDataAfterFailover(t *testing.T) {
	repl := func(role, primary string) config.Config {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.FIX.Listen = fixtest.FreeAddr(t)
		if err := cfg.Replication.Role.UnmarshalText([]byte(role)); err != nil {
			t.Fatal(err)
		}
		cfg.Replication.Listen, cfg.Replication.Primary, cfg.Replication.Admin = "127.0.0.1:0", primary, ""
		cfg.Replication.HeartbeatMs = 20
		return cfg
	}
	cfgP := repl("primary", "")
	p, err := node.Start(cfgP, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	cfgS := repl("standby", p.ReplicationAddr().String())
	s, err := node.Start(cfgS, node.Options{Log: logtest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	trader := dialMD(t, cfgP.FIX.Listen, quickfix.BeginStringFIX44, "BROKER02")
	trader.order("S1", "IBM", "2", "40", "180")
	trader.order("B1", "IBM", "1", "15", "180")
	for range 4 { // S1 new; B1 new, its fill and S1's
		trader.next("8")
	}
	last := func(n *node.Node) int64 { st, _ := n.ReplicationStats(); return st.LastSeq }
	for deadline := time.Now().Add(60 * time.Second); last(s) < last(p); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the standby has seq %d, the primary %d", last(s), last(p))
		}
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	md := dialMD(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01")
	md.request("ibm", '1', 0, 1, "012", "IBM")
	w := md.next("W")
	if got := strings.Join(entries(w, 269), "|"); got != "269=1 270=180.00 271=25|269=2 270=180.00 271=15" {
		t.Fatalf("snapshot on the promoted standby: %s", got)
	}
	buyer := dialMD(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER03")
	buyer.order("B2", "IBM", "1", "5", "180")
	wantX(t, md, "ibm", "279=0 269=2 55=IBM 270=180.00 271=5|279=1 269=1 55=IBM 270=180.00 271=20")
}
