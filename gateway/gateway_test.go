package gateway_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
)

const wait = 10 * time.Second

// exchange stands in for the ring behind the gateway: it sequences each
// command, applies it to a real matcher.Engine and publishes the events, all
// under one lock, as the pipeline's single publish goroutine would.
type exchange struct {
	mu     sync.Mutex
	gw     *gateway.Gateway
	engine *matcher.Engine
	seq    int64
	evs    []matcher.Event
	cmds   []matcher.Command
	addr   string // the FIX port, where a helper keeps it
	// holding keeps the commands submitted (held) unapplied and
	// unpublished, as a journal not yet durable would, until release;
	// refusing, when set, is Submit's error: the ring takes nothing.
	holding  bool
	held     []matcher.Command
	refusing error
}

func (x *exchange) Submit(cmd *matcher.Command) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.refusing != nil {
		return x.refusing
	}
	x.seq++
	cmd.Seq, cmd.TimeNs = x.seq, time.Now().UnixNano()
	x.cmds = append(x.cmds, *cmd)
	if x.holding {
		x.held = append(x.held, *cmd)
		return nil
	}
	x.apply(cmd)
	return nil
}

func (x *exchange) apply(cmd *matcher.Command) {
	x.evs = x.engine.Apply(cmd, x.evs[:0])
	for i := range x.evs {
		x.gw.Publish(&x.evs[i])
	}
}

// release applies and publishes the held commands: now durable.
func (x *exchange) release() {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := range x.held {
		x.apply(&x.held[i])
	}
	x.held, x.holding = nil, false
}

func (x *exchange) commands() []matcher.Command {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]matcher.Command(nil), x.cmds...)
}

// orders is commands without the gateway's journaled refusals
// (matcher.KindReject): what an engine acts on.
func (x *exchange) orders() []matcher.Command {
	var out []matcher.Command
	for _, c := range x.commands() {
		if c.Kind != matcher.KindReject {
			out = append(out, c)
		}
	}
	return out
}

var symbols = []string{"AAPL", "IBM"}

func start(t *testing.T, opts gateway.Options) (*exchange, string) {
	t.Helper()
	return startEngine(t, opts, matcher.Config{}, nil)
}

// startEngine is start with the engine built from mc (its symbols set
// here) and given the commands first (account bindings, say).
func startEngine(t *testing.T, opts gateway.Options, mc matcher.Config, first []matcher.Command) (*exchange, string) {
	t.Helper()
	cent, err := gateway.ParseScale("0.01")
	if err != nil {
		t.Fatal(err)
	}
	specs := []matcher.SymbolSpec{}
	for i, name := range symbols {
		opts.Symbols = append(opts.Symbols, gateway.Symbol{Name: name, Tick: cent, Lot: gateway.ScaleOf(1)})
		specs = append(specs, matcher.SymbolSpec{ID: uint32(i + 1)})
	}
	if opts.Sessions == nil {
		opts.Sessions = []gateway.Session{
			{BeginString: "FIX.4.4", TargetCompID: "BROKER01", CancelOnDisconnect: true},
			{BeginString: "FIX.4.4", TargetCompID: "BROKER02", CancelOnDisconnect: true},
			{BeginString: "FIX.4.2", TargetCompID: "BROKER42", CancelOnDisconnect: true},
		}
	}
	opts.Listen, opts.SenderCompID, opts.StoreDir, opts.Log = "127.0.0.1:0", "RINGEX", t.TempDir(), logtest.New(t)
	mc.Symbols = specs
	x := &exchange{engine: matcher.New(mc)}
	for i := range first {
		x.seq++
		first[i].Seq = x.seq
		x.engine.Apply(&first[i], nil)
	}
	gw, err := gateway.New(opts, x)
	if err != nil {
		t.Fatal(err)
	}
	x.gw = gw
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Stop)
	return x, gw.Addr().String()
}

var check = fixtest.Expect

// TestOrderEntry is the broker's view of order entry, message by message.
func TestOrderEntry(t *testing.T) {
	_, addr := start(t, gateway.Options{})
	a := fixtest.Dial(t, addr, "FIX.4.4", "BROKER01", "RINGEX")
	defer a.Close()
	b := fixtest.Dial(t, addr, "FIX.4.4", "BROKER02", "RINGEX")
	defer b.Close()

	t.Run("resting_limit_order_acknowledged", func(t *testing.T) {
		a.Send("D", tag.ClOrdID, "A1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "100", tag.OrdType, "2", tag.Price, "10.00")
		check(t, "new", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "0", tag.OrdStatus: "0",
			tag.ClOrdID: "A1", tag.LeavesQty: "100", tag.CumQty: "0", tag.Price: "10.00", tag.TimeInForce: "0"})
	})
	t.Run("replace_reduces_quantity", func(t *testing.T) {
		a.Send("G", tag.OrigClOrdID, "A1", tag.ClOrdID, "A2", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "80", tag.OrdType, "2", tag.Price, "10.00")
		check(t, "replaced", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "5", tag.OrdStatus: "0",
			tag.ClOrdID: "A2", tag.OrigClOrdID: "A1", tag.OrderQty: "80", tag.LeavesQty: "80"})
	})
	t.Run("status_request_reports_the_order_as_it_stands", func(t *testing.T) {
		a.Send("H", tag.ClOrdID, "A2", tag.Symbol, "AAPL", tag.Side, "2")
		check(t, "status", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "I", tag.OrdStatus: "0",
			tag.ClOrdID: "A2", tag.OrderQty: "80", tag.LeavesQty: "80", tag.CumQty: "0"})
	})
	t.Run("status_of_an_unknown_order", func(t *testing.T) {
		a.Send("H", tag.ClOrdID, "NOPE", tag.Symbol, "AAPL", tag.Side, "2")
		check(t, "status unknown", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "I", tag.OrdStatus: "8", tag.Text: "unknown order"})
	})
	t.Run("another_broker_cannot_cancel_it", func(t *testing.T) {
		b.Send("F", tag.OrigClOrdID, "A2", tag.ClOrdID, "B0", tag.Symbol, "AAPL", tag.Side, "2")
		check(t, "cancel reject", b.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.ClOrdID: "B0", tag.OrigClOrdID: "A2",
			tag.CxlRejResponseTo: "1", tag.CxlRejReason: "1"})
	})
	t.Run("market_order_takes_and_reports_both_sides", func(t *testing.T) {
		b.Send("D", tag.ClOrdID, "B1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "30", tag.OrdType, "1")
		check(t, "taker new", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B1", tag.OrdType: "1"})
		check(t, "taker fill", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.OrdStatus: "2", tag.LastQty: "30", tag.LastPx: "10.00", tag.AvgPx: "10.00"})
		check(t, "maker fill", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.OrdStatus: "1", tag.ClOrdID: "A2",
			tag.LastQty: "30", tag.CumQty: "30", tag.LeavesQty: "50"})
	})
	t.Run("ioc_remainder_expires", func(t *testing.T) {
		b.Send("D", tag.ClOrdID, "B2", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "70", tag.OrdType, "2", tag.Price, "10.00", tag.TimeInForce, "3")
		check(t, "ioc new", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "B2"})
		check(t, "ioc fill", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.OrdStatus: "1", tag.LastQty: "50", tag.LeavesQty: "20"})
		check(t, "ioc expired", b.Next(wait), map[quickfix.Tag]string{tag.ExecType: "C", tag.OrdStatus: "C", tag.CumQty: "50", tag.LeavesQty: "0"})
		check(t, "maker filled", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.OrdStatus: "2", tag.CumQty: "80", tag.LeavesQty: "0"})
	})
	t.Run("cancel_of_filled_order_too_late", func(t *testing.T) {
		a.Send("F", tag.OrigClOrdID, "A2", tag.ClOrdID, "A3", tag.Symbol, "AAPL", tag.Side, "2")
		check(t, "too late", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "9", tag.CxlRejReason: "0", tag.OrigClOrdID: "A2"})
	})
	t.Run("duplicate_clordid_rejected", func(t *testing.T) {
		a.Send("D", tag.ClOrdID, "A1", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "11.00")
		check(t, "duplicate", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.OrdStatus: "8", tag.OrdRejReason: "6"})
	})
	t.Run("clordid_too_long_rejected", func(t *testing.T) {
		a.Send("D", tag.ClOrdID, "X123456789012345678901234", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "5", tag.OrdType, "2", tag.Price, "11.00")
		check(t, "too long", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.OrdRejReason: "11"})
	})
	t.Run("market_order_with_price_rejected", func(t *testing.T) {
		a.Send("D", tag.ClOrdID, "A9", tag.Symbol, "AAPL", tag.Side, "2", tag.OrderQty, "5", tag.OrdType, "1", tag.Price, "11.00")
		check(t, "market with price", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "8", tag.OrdRejReason: "99"})
	})
}

// TestFIX42Session: a FIX.4.2 broker gets 4.2 reports (ExecTransType, ExecType
// 1/2 for fills).
func TestFIX42Session(t *testing.T) {
	_, addr := start(t, gateway.Options{})
	seller := fixtest.Dial(t, addr, "FIX.4.4", "BROKER01", "RINGEX")
	defer seller.Close()
	c := fixtest.Dial(t, addr, "FIX.4.2", "BROKER42", "RINGEX")
	defer c.Close()
	seller.Send("D", tag.ClOrdID, "S1", tag.Symbol, "IBM", tag.Side, "2", tag.OrderQty, "10", tag.OrdType, "2", tag.Price, "5.00")
	seller.Next(wait)
	c.Send("D", tag.ClOrdID, "C1", tag.HandlInst, "1", tag.Symbol, "IBM", tag.Side, "1", tag.OrderQty, "4", tag.OrdType, "2", tag.Price, "5.00")
	check(t, "4.2 new", c.Next(wait), map[quickfix.Tag]string{tag.ExecTransType: "0", tag.ExecType: "0", tag.OrdStatus: "0"})
	check(t, "4.2 fill", c.Next(wait), map[quickfix.Tag]string{tag.ExecTransType: "0", tag.ExecType: "2", tag.OrdStatus: "2", tag.LastQty: "4"})
	check(t, "4.4 partial", seller.Next(wait), map[quickfix.Tag]string{tag.ExecType: "F", tag.OrdStatus: "1"})
}

// TestCancelOnDisconnect: a broker that drops has its Day orders cancelled
// and its GTC orders left resting.
func TestCancelOnDisconnect(t *testing.T) {
	x, addr := start(t, gateway.Options{})
	a := fixtest.Dial(t, addr, "FIX.4.4", "BROKER01", "RINGEX")
	a.Send("D", tag.ClOrdID, "DAY", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "9.00", tag.TimeInForce, "0")
	a.Next(wait)
	a.Send("D", tag.ClOrdID, "GTC", tag.Symbol, "IBM", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "9.00", tag.TimeInForce, "1")
	a.Next(wait)
	a.Close()
	deadline := time.Now().Add(wait)
	for {
		cmds := x.commands()
		last := cmds[len(cmds)-1]
		if last.Kind == matcher.KindMassCancel {
			if last.Account != 1 || last.TIF != matcher.Day || last.Symbol != 0 {
				t.Fatalf("cancel-on-disconnect command %+v: want account 1, Day scope, all symbols", last)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mass cancel after the session dropped: %+v", cmds)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := x.engine.RestingOrders(); got != 1 {
		t.Fatalf("%d orders rest after cancel-on-disconnect, want 1 (the GTC one)", got)
	}
}

// TestMassCancel: an OrderMassCancelRequest cancels every order of the
// session (GTC too), then reports how many.
func TestMassCancel(t *testing.T) {
	_, addr := start(t, gateway.Options{})
	a := fixtest.Dial(t, addr, "FIX.4.4", "BROKER01", "RINGEX")
	defer a.Close()
	a.Send("D", tag.ClOrdID, "D1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "9.00", tag.TimeInForce, "0")
	a.Next(wait)
	a.Send("D", tag.ClOrdID, "G1", tag.Symbol, "IBM", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "9.00", tag.TimeInForce, "1")
	a.Next(wait)

	a.Send("q", tag.ClOrdID, "M0", tag.MassCancelRequestType, "1", tag.Symbol, "ZZZZ")
	check(t, "unknown symbol", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "r", tag.ClOrdID: "M0",
		tag.MassCancelResponse: "0", tag.MassCancelRejectReason: "1"})

	a.Send("q", tag.ClOrdID, "M1", tag.MassCancelRequestType, "7")
	check(t, "day cancelled", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "D1"})
	check(t, "gtc cancelled", a.Next(wait), map[quickfix.Tag]string{tag.ExecType: "4", tag.ClOrdID: "G1"})
	check(t, "report", a.Next(wait), map[quickfix.Tag]string{tag.MsgType: "r", tag.ClOrdID: "M1",
		tag.MassCancelRequestType: "7", tag.MassCancelResponse: "7", tag.TotalAffectedOrders: "2"})
}

// TestTLSSession: a broker connects over TLS with the exchange's certificate.
func TestTLSSession(t *testing.T) {
	certFile, keyFile := selfSignedCert(t)
	_, addr := start(t, gateway.Options{CertFile: certFile, KeyFile: keyFile})
	c := fixtest.Dial(t, addr, "FIX.4.4", "BROKER01", "RINGEX", fixtest.WithTLS(certFile, "localhost"))
	defer c.Close()
	c.Send("D", tag.ClOrdID, "T1", tag.Symbol, "AAPL", tag.Side, "1", tag.OrderQty, "1", tag.OrdType, "2", tag.Price, "1.00")
	check(t, "new over TLS", c.Next(wait), map[quickfix.Tag]string{tag.ExecType: "0", tag.ClOrdID: "T1"})
}

func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ringex test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestStatusOfFinishedOrders: an OrderStatusRequest for an order that
// filled, was cancelled or expired is answered with its final state, in
// FIX 4.4 (ExecType I) and FIX 4.2 (ExecTransType 3, ExecType = OrdStatus);
// an order the broker never had is refused as unknown, even when another
// broker has one of that ClOrdID. Each case's orders leave the books empty,
// so the cases do not meet.
func TestStatusOfFinishedOrders(t *testing.T) {
	_, addr := start(t, gateway.Options{})
	clients := map[string]*fixtest.Client{
		"a":  fixtest.Dial(t, addr, "FIX.4.4", "BROKER01", "RINGEX"),
		"b":  fixtest.Dial(t, addr, "FIX.4.4", "BROKER02", "RINGEX"),
		"42": fixtest.Dial(t, addr, "FIX.4.2", "BROKER42", "RINGEX"),
	}
	for _, c := range clients {
		defer c.Close()
	}
	// A step is one message and how many reports each broker gets for it.
	type step struct {
		who, msgType string
		fields       []any
		reports      map[string]int
	}
	newOrder := func(who, cl, sym, side, qty, px string, more ...any) step {
		f := append([]any{tag.ClOrdID, cl, tag.HandlInst, "1", tag.Symbol, sym, tag.Side, side, tag.OrderQty, qty,
			tag.OrdType, "2", tag.Price, px}, more...)
		return step{who: who, msgType: "D", fields: f, reports: map[string]int{who: 1}}
	}
	cancel := func(who, cl, orig, sym, side string) step {
		return step{who: who, msgType: "F", fields: []any{tag.OrigClOrdID, orig, tag.ClOrdID, cl, tag.Symbol, sym, tag.Side, side},
			reports: map[string]int{who: 1}}
	}
	trades := func(s step, reports map[string]int) step { s.reports = reports; return s }
	statusOf := func(cl, sym, side string) []any { return []any{tag.ClOrdID, cl, tag.Symbol, sym, tag.Side, side} }

	cases := []struct {
		name  string
		setup []step
		asker string
		ask   []any
		order string // the asked order, whose OrderID the answer must carry ("": none)
		want  map[quickfix.Tag]string
	}{
		{name: "after_full_fill",
			setup: []step{newOrder("a", "F1", "AAPL", "2", "10", "10.00"),
				trades(newOrder("b", "G1", "AAPL", "1", "10", "10.00"), map[string]int{"b": 2, "a": 1})},
			asker: "a", ask: statusOf("F1", "AAPL", "2"), order: "F1",
			want: map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "I", tag.OrdStatus: "2", tag.ClOrdID: "F1",
				tag.Symbol: "AAPL", tag.Side: "2", tag.OrderQty: "10", tag.Price: "10.00", tag.CumQty: "10",
				tag.LeavesQty: "0", tag.AvgPx: "10.00", tag.OrdType: "2", tag.TimeInForce: "0"}},
		{name: "after_fills_at_two_prices",
			setup: []step{newOrder("a", "P1", "IBM", "2", "4", "5.00"), newOrder("a", "P2", "IBM", "2", "6", "5.10"),
				trades(newOrder("b", "Q1", "IBM", "1", "10", "5.10", tag.TimeInForce, "1"), map[string]int{"b": 3, "a": 2})},
			asker: "b", ask: statusOf("Q1", "IBM", "1"), order: "Q1",
			want: map[quickfix.Tag]string{tag.ExecType: "I", tag.OrdStatus: "2", tag.ClOrdID: "Q1", tag.Side: "1",
				tag.OrderQty: "10", tag.Price: "5.10", tag.CumQty: "10", tag.LeavesQty: "0", tag.AvgPx: "5.06", tag.TimeInForce: "1"}},
		{name: "after_cancel",
			setup: []step{newOrder("a", "X1", "AAPL", "1", "5", "9.00"), cancel("a", "X2", "X1", "AAPL", "1")},
			asker: "a", ask: statusOf("X1", "AAPL", "1"), order: "X1",
			want: map[quickfix.Tag]string{tag.ExecType: "I", tag.OrdStatus: "4", tag.ClOrdID: "X1", tag.OrderQty: "5",
				tag.Price: "9.00", tag.CumQty: "0", tag.LeavesQty: "0", tag.AvgPx: "0", tag.Text: "cancelled on request"}},
		{name: "after_ioc_expiry",
			setup: []step{newOrder("a", "R1", "AAPL", "2", "3", "11.00"),
				trades(newOrder("b", "I1", "AAPL", "1", "8", "11.00", tag.TimeInForce, "3"), map[string]int{"b": 3, "a": 1})},
			asker: "b", ask: statusOf("I1", "AAPL", "1"), order: "I1",
			want: map[quickfix.Tag]string{tag.ExecType: "I", tag.OrdStatus: "C", tag.ClOrdID: "I1", tag.OrderQty: "8",
				tag.CumQty: "3", tag.LeavesQty: "0", tag.AvgPx: "11.00", tag.TimeInForce: "3"}},
		{name: "by_order_id",
			asker: "a", ask: statusOf("F1", "AAPL", "2"), order: "F1",
			want: map[quickfix.Tag]string{tag.ExecType: "I", tag.OrdStatus: "2", tag.ClOrdID: "F1", tag.CumQty: "10"}},
		{name: "another_brokers_filled_order_is_unknown",
			asker: "b", ask: statusOf("F1", "AAPL", "2"),
			want: map[quickfix.Tag]string{tag.ExecType: "I", tag.OrdStatus: "8", tag.ClOrdID: "F1", tag.CumQty: "0",
				tag.Text: "unknown order"}},
		{name: "never_used_clordid_is_unknown",
			asker: "a", ask: statusOf("NEVER", "AAPL", "1"),
			want: map[quickfix.Tag]string{tag.ExecType: "I", tag.OrdStatus: "8", tag.ClOrdID: "NEVER", tag.Text: "unknown order"}},
		{name: "replaced_then_cancelled_answers_by_its_latest_clordid",
			setup: []step{newOrder("a", "Y1", "AAPL", "1", "5", "8.00"),
				{who: "a", msgType: "G", fields: []any{tag.OrigClOrdID, "Y1", tag.ClOrdID, "Y2", tag.Symbol, "AAPL", tag.Side, "1",
					tag.OrderQty, "4", tag.OrdType, "2", tag.Price, "8.00"}, reports: map[string]int{"a": 1}},
				cancel("a", "Y3", "Y2", "AAPL", "1")},
			asker: "a", ask: statusOf("Y2", "AAPL", "1"), order: "Y1",
			want: map[quickfix.Tag]string{tag.ExecType: "I", tag.OrdStatus: "4", tag.ClOrdID: "Y2", tag.OrderQty: "4"}},
		{name: "clordid_replaced_away_is_refused",
			asker: "a", ask: statusOf("Y1", "AAPL", "1"),
			want: map[quickfix.Tag]string{tag.ExecType: "I", tag.OrdStatus: "8", tag.ClOrdID: "Y1",
				tag.Text: "ClOrdID was replaced: ask by the order's current ClOrdID or its OrderID"}},
		{name: "fix42_after_fill",
			setup: []step{newOrder("a", "F42", "IBM", "2", "2", "6.00"),
				trades(newOrder("42", "K1", "IBM", "1", "2", "6.00"), map[string]int{"42": 2, "a": 1})},
			asker: "42", ask: statusOf("K1", "IBM", "1"), order: "K1",
			want: map[quickfix.Tag]string{tag.ExecTransType: "3", tag.ExecType: "2", tag.OrdStatus: "2", tag.ClOrdID: "K1",
				tag.CumQty: "2", tag.LeavesQty: "0", tag.AvgPx: "6.00"}},
		{name: "fix42_after_cancel",
			setup: []step{newOrder("42", "K2", "IBM", "1", "2", "4.00"), cancel("42", "K3", "K2", "IBM", "1")},
			asker: "42", ask: statusOf("K2", "IBM", "1"), order: "K2",
			want: map[quickfix.Tag]string{tag.ExecTransType: "3", tag.ExecType: "4", tag.OrdStatus: "4", tag.CumQty: "0", tag.LeavesQty: "0"}},
		{name: "fix42_after_ioc_expiry",
			setup: []step{trades(newOrder("42", "K4", "IBM", "1", "2", "3.00", tag.TimeInForce, "3"), map[string]int{"42": 2})},
			asker: "42", ask: statusOf("K4", "IBM", "1"), order: "K4",
			want: map[quickfix.Tag]string{tag.ExecTransType: "3", tag.ExecType: "C", tag.OrdStatus: "C", tag.CumQty: "0", tag.LeavesQty: "0"}},
		{name: "fix42_another_brokers_order_is_unknown",
			asker: "42", ask: statusOf("F1", "AAPL", "2"),
			want: map[quickfix.Tag]string{tag.ExecTransType: "3", tag.ExecType: "8", tag.OrdStatus: "8", tag.Text: "unknown order"}},
	}
	orderIDs := map[string]string{} // ClOrdID -> OrderID from its first report
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i, s := range tc.setup {
				clients[s.who].Send(s.msgType, s.fields...)
				for who, n := range s.reports {
					for range n {
						got := fixtest.Fields(clients[who].Next(wait))
						if _, seen := orderIDs[got[tag.ClOrdID]]; !seen && got[tag.ExecType] == "0" {
							orderIDs[got[tag.ClOrdID]] = got[tag.OrderID]
						}
						if got[tag.MsgType] != "8" || got[tag.OrdStatus] == "8" {
							t.Fatalf("setup step %d: %s got %v", i, who, got)
						}
					}
				}
			}
			ask := tc.ask
			if tc.name == "by_order_id" {
				ask = []any{tag.ClOrdID, "ANY", tag.OrderID, orderIDs["F1"], tag.Symbol, "AAPL", tag.Side, "2"}
			}
			c := clients[tc.asker]
			c.Send("H", ask...)
			got := check(t, "status", c.Next(wait), tc.want)
			if tc.order != "" && (got[tag.OrderID] == "" || got[tag.OrderID] != orderIDs[tc.order]) {
				t.Errorf("status OrderID %q, want %q (the order's)", got[tag.OrderID], orderIDs[tc.order])
			}
			for who, cl := range clients {
				if who != tc.asker {
					cl.Quiet(10 * time.Millisecond) // nothing leaks to another broker
				}
			}
		})
	}
}
