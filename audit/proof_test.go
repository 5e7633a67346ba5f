package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// proofCommands is how many orders, cancels and replaces the proof sends.
const proofCommands = 600

// TestTrailReproducesLiveExecutionReports is the audit tool's proof: a live
// exchange takes a seeded random load over real FIX sessions (orders that
// rest and that cross, cancels, replaces, several symbols and brokers); every
// ExecutionReport and OrderCancelReject each session receives is captured;
// then the trail replayed from the exchange's journal alone must give the
// same messages, to the same sessions, in the same order, field by field.
func TestTrailReproducesLiveExecutionReports(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.Snapshot.EveryCommands, cfg.Snapshot.EverySec = 100, 0 // checkpoints among the orders
	n, err := node.Start(cfg, node.Options{Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	v, err := VenueOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const brokers, symbols = 4, 3
	clients := make([]*fixtest.Client, brokers)
	for i := range clients {
		clients[i] = fixtest.Dial(t, cfg.FIX.Listen, quickfix.BeginStringFIX44, v.Brokers[i], cfg.FIX.SenderCompID)
		defer clients[i].Close()
	}
	got := make([][]map[quickfix.Tag]string, brokers) // per session, in arrival order

	gen := newLoadGen(20260302, symbols, brokers)
	gen.noMass = true // the gateway takes no mass cancel message yet
	for sent := 0; sent < proofCommands; {
		c := gen.next()
		k := c.Account - 1
		msgType, fields := fixMessage(v, &c)
		clients[k].Send(msgType, fields...)
		sent++
		// Wait for this command's own answer, keeping everything before it.
		for {
			m := fixtest.Fields(clients[k].Next(10 * time.Second))
			got[k] = append(got[k], m)
			if m[tag.ClOrdID] == c.ClOrdID.String() {
				break
			}
		}
	}
	// The rest (passive fills) is on its way; the journal says how much.
	want, lastSeq := expectedReports(t, cfg.DataDir+"/journal", v, brokers, 0)
	for k := range clients {
		for len(got[k]) < len(want[k]) {
			got[k] = append(got[k], fixtest.Fields(clients[k].Next(10*time.Second)))
		}
		clients[k].Quiet(200 * time.Millisecond)
	}
	for _, c := range clients {
		c.Close()
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	// Replay the stopped exchange's journal again: it is the record. What
	// was journaled after the sessions closed (cancel-on-disconnect) was
	// never sent to them.
	want, _ = expectedReports(t, cfg.DataDir+"/journal", v, brokers, lastSeq)
	kinds := map[string]int{}
	for k := range want {
		if len(got[k]) != len(want[k]) {
			t.Fatalf("%s: received %d messages, the trail has %d", v.Brokers[k], len(got[k]), len(want[k]))
		}
		for i := range want[k] {
			compareReport(t, fmt.Sprintf("%s message %d", v.Brokers[k], i+1), got[k][i], want[k][i])
			kinds[want[k][i][tag.MsgType]+"/"+want[k][i][tag.ExecType]]++
		}
	}
	if t.Failed() {
		return
	}
	// And the journal verifies: every checkpoint hash and snapshot the
	// exchange wrote under this load is what replay computes.
	r, err := Verify(VerifyOptions{Dir: cfg.DataDir + "/journal", Venue: v})
	if err != nil || !r.OK() || r.Checkpoints == 0 || r.CheckpointsOK == 0 || r.SnapshotsOK == 0 {
		var out bytes.Buffer
		r.Print(&out, v)
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
	// The load must have exercised what it claims to.
	for _, k := range []string{"8/0", "8/F", "8/4", "8/5", "9/"} {
		if kinds[k] == 0 {
			t.Errorf("no %s message in the proof load: %v", k, kinds)
		}
	}
	t.Logf("%d commands; messages compared field by field: %v; %d checkpoints verified, %d snapshots", proofCommands, kinds, r.CheckpointsOK, r.SnapshotsOK)
}

// fixMessage is the FIX message a broker sends for c.
func fixMessage(v *Venue, c *matcher.Command) (string, []any) {
	tick, lot := v.scales(c.Symbol)
	f := []any{tag.ClOrdID, c.ClOrdID.String(), tag.Symbol, v.SymbolName(c.Symbol), tag.Side, strconv.Itoa(int(c.Side))}
	terms := func() {
		f = append(f, tag.OrderQty, lot.Format(c.Qty), tag.TimeInForce, strconv.Itoa(int(c.TIF)))
		if c.Type == matcher.Market {
			f = append(f, tag.OrdType, "1")
		} else {
			f = append(f, tag.OrdType, "2", tag.Price, tick.Format(c.Price))
		}
	}
	switch c.Kind {
	case matcher.KindNew:
		terms()
		return "D", f
	case matcher.KindCancel:
		return "F", append(f, tag.OrigClOrdID, c.OrigClOrdID.String())
	case matcher.KindReplace:
		terms()
		return "G", append(f, tag.OrigClOrdID, c.OrigClOrdID.String())
	}
	panic("no FIX message for " + c.Kind.String())
}

var tifCodes = map[string]string{"day": "0", "gtc": "1", "ioc": "3", "fok": "4"}

// expectedReports replays the journal with the trail (as JSON lines, the
// tool's own output) and turns each event row into the FIX fields the
// gateway must have sent for it, per broker, in order.
func expectedReports(t *testing.T, dir string, v *Venue, brokers int, toSeq int64) ([][]map[quickfix.Tag]string, int64) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Trail(&buf, TrailOptions{Dir: dir, Venue: v, Format: "json", Filter: Filter{ToSeq: toSeq}})
	if err != nil {
		t.Fatalf("trail: %v", err)
	}
	want := make([][]map[quickfix.Tag]string, brokers)
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("trail line %q: %v", line, err)
		}
		if r["row"] != "event" {
			continue
		}
		s := func(k string) string { return r[k].(string) }
		acct, err := v.BrokerID(s("broker"))
		if err != nil || int(acct) > brokers {
			t.Fatalf("event for broker %q", s("broker"))
		}
		m := map[quickfix.Tag]string{tag.MsgType: s("msg_type"), tag.ClOrdID: s("clordid"), tag.OrdStatus: s("ord_status")}
		if o := s("orig_clordid"); o != "" {
			m[tag.OrigClOrdID] = o
		}
		orderID := s("order_id")
		if s("msg_type") == "9" {
			if orderID == "" {
				orderID = "NONE"
			}
			m[tag.OrderID] = orderID
			want[acct-1] = append(want[acct-1], m)
			continue
		}
		ns, _ := strconv.ParseInt(s("time_ns"), 10, 64)
		m[tag.OrderID] = orderID
		m[tag.ExecID] = s("exec_id")
		m[tag.ExecType] = s("exec_type")
		m[tag.Symbol] = s("symbol")
		m[tag.Side] = map[string]string{"buy": "1", "sell": "2"}[s("side")]
		m[tag.OrderQty] = s("qty")
		m[tag.CumQty] = s("cum_qty")
		m[tag.LeavesQty] = s("leaves_qty")
		m[tag.AvgPx] = s("avg_px")
		m[tag.TimeInForce] = tifCodes[s("tif")]
		m[tag.TransactTime] = time.Unix(0, ns).UTC().Format("20060102-15:04:05.000")
		if p := s("price"); p != "" {
			m[tag.Price] = p
		}
		if q := s("last_qty"); q != "" {
			m[tag.LastQty], m[tag.LastPx] = q, s("last_px")
		}
		want[acct-1] = append(want[acct-1], m)
	}
	return want, st.LastSeq
}

// compareReport checks every field the trail determines, and that the
// message carries no execution field the trail does not.
func compareReport(t *testing.T, who string, got, want map[quickfix.Tag]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: tag %d = %q, the trail says %q\n  received %v\n  trail    %v", who, k, got[k], w, got, want)
			return
		}
	}
	for _, k := range []quickfix.Tag{tag.OrigClOrdID, tag.Price, tag.LastQty, tag.LastPx} {
		if _, ok := want[k]; !ok && got[k] != "" {
			t.Errorf("%s: received tag %d = %q, the trail has none", who, k, got[k])
		}
	}
}
