package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	qfconfig "github.com/quickfixgo/quickfix/config"
	filelog "github.com/quickfixgo/quickfix/log/file"
	filestore "github.com/quickfixgo/quickfix/store/file"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestReadmeSettingsBlock: the broker settings block in README.md is taken
// by a QuickFIX engine as it stands (quickfixgo's parser, file store and
// file log), names the default configuration's FIX address and CompIDs,
// and logs on to the exchange over FIX 4.4 and, with BeginString changed as
// the README says, FIX 4.2. The exchange listens at the block's failover
// address and nothing at the first, so the logon also shows the engine
// moving on to the second address. One order then gets its New.
func TestReadmeSettingsBlock(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := iniBlock(t, string(readme))
	def := config.Default()
	for _, begin := range []string{"FIX.4.4", "FIX.4.2"} {
		t.Run(begin, func(t *testing.T) {
			text := strings.Replace(block, "BeginString=FIX.4.4", "BeginString="+begin, 1)
			settings, err := quickfix.ParseSettings(strings.NewReader(text))
			if err != nil {
				t.Fatalf("quickfix.ParseSettings of the README's block: %v", err)
			}
			sessions := settings.SessionSettings()
			if len(sessions) != 1 {
				t.Fatalf("the README's block has %d sessions, want 1", len(sessions))
			}
			var sid quickfix.SessionID
			var ss *quickfix.SessionSettings
			for sid, ss = range sessions {
			}
			global := settings.GlobalSettings()
			want := map[string]string{
				qfconfig.SocketConnectHost: strings.Split(def.FIX.Listen, ":")[0],
				qfconfig.SocketConnectPort: strings.Split(def.FIX.Listen, ":")[1],
				qfconfig.ResetOnLogon:      "Y",
			}
			for k, v := range want {
				if got, _ := global.Setting(k); got != v {
					t.Errorf("block: %s=%q, want %q", k, got, v)
				}
			}
			if sid.TargetCompID != def.FIX.SenderCompID {
				t.Errorf("block: TargetCompID=%q, want %q", sid.TargetCompID, def.FIX.SenderCompID)
			}
			cfg := def
			cfg.FIX.Sessions = append([]config.Session(nil), def.FIX.Sessions...)
			known := false
			for i := range cfg.FIX.Sessions {
				if cfg.FIX.Sessions[i].TargetCompID == sid.SenderCompID {
					cfg.FIX.Sessions[i].BeginString, known = begin, true
				}
			}
			if !known {
				t.Fatalf("block: SenderCompID=%q is not a session of the default configuration", sid.SenderCompID)
			}
			for _, k := range []string{qfconfig.SocketConnectHost + "1", qfconfig.SocketConnectPort + "1"} {
				if !global.HasSetting(k) && !ss.HasSetting(k) {
					t.Fatalf("block: no failover address (%s)", k)
				}
			}

			// The exchange at the failover address; the first one answers nothing.
			cfg.DataDir = t.TempDir()
			cfg.FIX.Listen = fixtest.FreeAddr(t)
			n, err := node.Start(cfg, node.Options{Log: logtest.New(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Stop()
			dead := fixtest.FreeAddr(t)
			for k, addr := range map[string]string{"": dead, "1": cfg.FIX.Listen} {
				host, port, _ := strings.Cut(addr, ":")
				global.Set(qfconfig.SocketConnectHost+k, host)
				global.Set(qfconfig.SocketConnectPort+k, port)
			}
			t.Chdir(t.TempDir()) // FileStorePath and FileLogPath are relative
			logs, err := filelog.NewLogFactory(settings)
			if err != nil {
				t.Fatal(err)
			}
			app := &readmeApp{loggedOn: make(chan struct{}, 1), reports: make(chan *quickfix.Message, 16)}
			ini, err := quickfix.NewInitiator(app, filestore.NewStoreFactory(settings), settings, logs)
			if err != nil {
				t.Fatalf("quickfixgo initiator from the README's block: %v", err)
			}
			if err := ini.Start(); err != nil {
				t.Fatal(err)
			}
			defer ini.Stop()
			select {
			case <-app.loggedOn:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: no logon through the failover address within 30 s", sid)
			}
			order := quickfix.NewMessage()
			order.Header.SetString(tag.MsgType, "D")
			for k, v := range map[quickfix.Tag]string{tag.ClOrdID: "R1", tag.HandlInst: "1", tag.Symbol: "AAPL", tag.Side: "1",
				tag.OrderQty: "10", tag.OrdType: "2", tag.Price: "100.01", tag.TimeInForce: "0",
				tag.TransactTime: time.Now().UTC().Format("20060102-15:04:05.000")} {
				order.Body.SetString(k, v)
			}
			if err := quickfix.SendToTarget(order, sid); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-app.reports:
				fixtest.Expect(t, "the order's report", m, map[quickfix.Tag]string{
					tag.MsgType: "8", tag.ClOrdID: "R1", tag.OrdStatus: "0", tag.LeavesQty: "10"})
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: no report for the order within 30 s", sid)
			}
		})
	}
}

// iniBlock returns the README's one ```ini block.
func iniBlock(t *testing.T, readme string) string {
	t.Helper()
	parts := strings.Split(readme, "```ini\n")
	if len(parts) != 2 {
		t.Fatalf("README.md has %d ```ini blocks, want 1", len(parts)-1)
	}
	block, _, ok := strings.Cut(parts[1], "```")
	if !ok {
		t.Fatal("README.md: the ```ini block does not end")
	}
	return block
}

// readmeApp is the broker's application: it notes the logon and passes
// on every application message.
type readmeApp struct {
	loggedOn chan struct{}
	reports  chan *quickfix.Message
}

func (a *readmeApp) OnCreate(quickfix.SessionID) {}
func (a *readmeApp) OnLogon(quickfix.SessionID) {
	select {
	case a.loggedOn <- struct{}{}:
	default:
	}
}
func (a *readmeApp) OnLogout(quickfix.SessionID)                       {}
func (a *readmeApp) ToAdmin(*quickfix.Message, quickfix.SessionID)     {}
func (a *readmeApp) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }
func (a *readmeApp) FromAdmin(*quickfix.Message, quickfix.SessionID) quickfix.MessageRejectError {
	return nil
}
func (a *readmeApp) FromApp(m *quickfix.Message, _ quickfix.SessionID) quickfix.MessageRejectError {
	a.reports <- m
	return nil
}
