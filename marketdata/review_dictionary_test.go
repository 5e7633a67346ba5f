package marketdata_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	qfconfig "github.com/quickfixgo/quickfix/config"
	"github.com/quickfixgo/tag"
)

// stockDictionary is the path of a FIX data dictionary (file) that ships
// with quickfixgo (the module this test already builds with), as a broker
// engine uses it unchanged.
func stockDictionary(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/quickfixgo/quickfix").Output()
	if err != nil {
		t.Fatalf("locate quickfixgo: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "spec", file)
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReviewStockFIX44DictionaryAcceptsSnapshot: the issue asks for
// market data to "real FIX clients", FIX 4.2 and 4.4. A broker's engine
// validates what it receives against its FIX version's dictionary; the
// FIX 4.4 MarketDataSnapshotFullRefresh (W) has no RptSeq(83) in its body
// and its NoMDEntries group has no RptSeq either (as the FIX44.xml that
// quickfixgo ships defines it). The package doc admits RptSeq sits "as FIX
// 5.0 has it" and that "FIX 4.2 and 4.4 dictionaries need the tag
// added". A quickfixgo initiator with its stock FIX44.xml subscribes to a
// book: it must get the W. Today quickfixgo refuses the W with a session
// Reject ("Tag not defined for this message type", tag 83) and the broker
// sees no market data at all; the existing FIX tests pass only because
// their initiator runs without a data dictionary.
func TestReviewStockFIX44DictionaryAcceptsSnapshot(t *testing.T) {
	addr := startExchange(t)
	host, port, _ := net.SplitHostPort(addr)
	settings := quickfix.NewSettings()
	ss := quickfix.NewSessionSettings()
	for k, v := range map[string]string{
		qfconfig.BeginString: quickfix.BeginStringFIX44, qfconfig.SenderCompID: "BROKER01", qfconfig.TargetCompID: "RINGEX",
		qfconfig.SocketConnectHost: host, qfconfig.SocketConnectPort: port, qfconfig.HeartBtInt: "30",
		qfconfig.ReconnectInterval: "1", qfconfig.ResetOnLogon: "Y",
		qfconfig.DataDictionary: stockDictionary(t, "FIX44.xml"),
	} {
		ss.Set(k, v)
	}
	sid, err := settings.AddSession(ss)
	if err != nil {
		t.Fatal(err)
	}
	c := &mdClient{t: t, sid: sid, inbox: make(chan []field, 4096), loggedOn: make(chan struct{}, 1)}
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
		t.Fatal("no logon within 20 s")
	}
	m := quickfix.NewMessage()
	m.Header.SetString(tag.MsgType, "V")
	m.Body.SetString(tag.MDReqID, "stock")
	m.Body.SetString(tag.SubscriptionRequestType, "1")
	m.Body.SetInt(tag.MarketDepth, 0)
	m.Body.SetInt(tag.MDUpdateType, 1)
	types := quickfix.NewRepeatingGroup(tag.NoMDEntryTypes, quickfix.GroupTemplate{quickfix.GroupElement(tag.MDEntryType)})
	types.Add().SetString(tag.MDEntryType, "0")
	types.Add().SetString(tag.MDEntryType, "1")
	m.Body.SetGroup(types)
	related := quickfix.NewRepeatingGroup(tag.NoRelatedSym, quickfix.GroupTemplate{quickfix.GroupElement(tag.Symbol)})
	related.Add().SetString(tag.Symbol, "AAPL")
	m.Body.SetGroup(related)
	if err := quickfix.SendToTarget(m, sid); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-c.inbox:
		if get(w, 35) != "W" {
			t.Fatalf("got %v, want the W", w)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a FIX 4.4 broker with quickfixgo's stock FIX44.xml got no MarketDataSnapshotFullRefresh within 5 s: " +
			"its engine refuses the W (RptSeq(83) is not a field of the FIX 4.4 W) and answers it with a session Reject")
	}
}
