package fixaccept_test

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"

	"github.com/ringex/ringex/internal/fixaccept"
)

// suiteDir holds the QuickFIX acceptance scenarios, outside the repository.
const suiteDir = "../../testdata/fix-acceptance"

// TestQuickfixgoBaseline plays the FIX.4.2 and FIX.4.4 server scenarios
// against a bare quickfixgo v0.9.10 acceptor with an echo application: the
// baseline ringex's own session layer must beat. A scenario listed below
// fails here for the reason given; any other failure fails the test.
func TestQuickfixgoBaseline(t *testing.T) {
	specDir := quickfixgoSpecDir(t)
	for _, v := range []struct {
		name, dir, dict string
		known           map[string]string
	}{
		{"FIX42", "fix42", "FIX42.xml", knownFailuresFIX42},
		{"FIX44", "fix44", "FIX44.xml", knownFailuresFIX44},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(suiteDir, v.dir)
			opts := fixaccept.SuiteOptions{Parallel: 8, KnownFailures: v.known}
			fixaccept.RunSuite(t, dir, startQuickfixgo(filepath.Join(specDir, v.dict)), opts)
		})
	}
}

// quickfixgo v0.9.10 never checks an inbound CheckSum(10): its parser reads
// the field and moves on. A message with a wrong checksum is processed
// instead of ignored, so the good copy that follows is "MsgSeqNum too low"
// and the session logs out.
const checksumNotVerified = "quickfixgo does not verify inbound CheckSum(10): the bad-checksum message is processed, its resend is MsgSeqNum too low, logout"

var knownFailuresFIX42 = map[string]string{
	"3b_InvalidChecksum": checksumNotVerified,
}

var knownFailuresFIX44 = map[string]string{
	"3b_InvalidChecksum": checksumNotVerified,
}

// quickfixgoSpecDir finds quickfixgo's data dictionaries in the module cache.
func quickfixgoSpecDir(t *testing.T) string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/quickfixgo/quickfix").Output()
	if err != nil {
		t.Fatalf("locate quickfixgo module: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "spec")
}

// qualifier makes each acceptor's sessions distinct in quickfixgo's
// process-wide session registry, so that several acceptors for the same
// ISLD/TW session can run at once.
var qualifier atomic.Int64

// startQuickfixgo returns a StartFunc for a bare quickfixgo acceptor with a
// memory store, validating against the data dictionary at dictPath.
func startQuickfixgo(dictPath string) fixaccept.StartFunc {
	return func(s fixaccept.Scenario) (string, func(), error) {
		if s.BeginString == "" {
			return "", nil, fmt.Errorf("scenario %s sends no BeginString", s.Name)
		}
		var lastErr error
		for range 3 { // the free port can be taken before the acceptor binds it
			port, err := freePort()
			if err != nil {
				return "", nil, err
			}
			settings := quickfix.NewSettings()
			global := settings.GlobalSettings()
			global.Set(config.SocketAcceptHost, "127.0.0.1")
			global.Set(config.SocketAcceptPort, strconv.Itoa(port))
			session := quickfix.NewSessionSettings()
			session.Set(config.BeginString, s.BeginString)
			session.Set(config.SenderCompID, "ISLD")
			session.Set(config.TargetCompID, "TW")
			session.Set(config.SessionQualifier, strconv.FormatInt(qualifier.Add(1), 10))
			session.Set(config.ResetOnLogon, "Y")
			session.Set(config.HeartBtInt, "30")
			session.Set(config.DataDictionary, dictPath)
			if _, err := settings.AddSession(session); err != nil {
				return "", nil, err
			}
			a, err := quickfix.NewAcceptor(newEchoApp(), quickfix.NewMemoryStoreFactory(), settings, quickfix.NewNullLogFactory())
			if err != nil {
				return "", nil, err
			}
			if lastErr = a.Start(); lastErr != nil {
				a.Stop()
				continue
			}
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), a.Stop, nil
		}
		return "", nil, lastErr
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// echoApp is the application the scenarios assume (see the package comment):
// it sends NewOrderSingle and SecurityDefinition back with a fresh header,
// keeping PossResend; it drops a PossResend copy of an order whose ClOrdID it
// has already seen in this logon; any other application message gets a
// BusinessMessageReject.
type echoApp struct {
	mu   sync.Mutex
	seen map[string]bool // ClOrdIDs echoed since the last logon
}

func newEchoApp() *echoApp { return &echoApp{seen: map[string]bool{}} }

func (a *echoApp) OnCreate(quickfix.SessionID) {}

func (a *echoApp) OnLogon(quickfix.SessionID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = map[string]bool{}
}

func (a *echoApp) OnLogout(quickfix.SessionID)                       {}
func (a *echoApp) ToAdmin(*quickfix.Message, quickfix.SessionID)     {}
func (a *echoApp) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }

func (a *echoApp) FromAdmin(*quickfix.Message, quickfix.SessionID) quickfix.MessageRejectError {
	return nil
}

const (
	tagClOrdID    quickfix.Tag = 11
	tagMsgType    quickfix.Tag = 35
	tagPossResend quickfix.Tag = 97
)

func (a *echoApp) FromApp(msg *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	msgType, err := msg.MsgType()
	if err != nil {
		return err
	}
	if msgType != "D" && msgType != "d" {
		return quickfix.UnsupportedMessageType()
	}
	possResend, _ := msg.Header.GetString(tagPossResend)
	if clOrdID, err := msg.Body.GetString(tagClOrdID); err == nil {
		a.mu.Lock()
		dup := a.seen[clOrdID]
		a.seen[clOrdID] = true
		a.mu.Unlock()
		if dup && possResend == "Y" {
			return nil
		}
	}
	reply := quickfix.NewMessage()
	reply.Header.SetString(tagMsgType, msgType)
	if possResend == "Y" {
		reply.Header.SetString(tagPossResend, "Y")
	}
	msg.Body.CopyInto(&reply.Body.FieldMap)
	if err := quickfix.SendToTarget(reply, id); err != nil {
		panic(fmt.Sprintf("echo to %v: %v", id, err))
	}
	return nil
}
