package bench

import (
	"net"
	"strconv"
	"sync/atomic"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"
)

// QuickfixgoBaseline is a bare quickfixgo v0.9.10 acceptor that answers
// each order at once (ExecutionReport New for D, Canceled for F, Replaced
// for G): no ring, no journal, no matching. Memory store, no log, no data
// dictionary: its fastest configuration. The same load against it and
// against ringex shows what everything ringex adds costs, and what its own
// FIX layer saves.
type QuickfixgoBaseline struct {
	acceptor *quickfix.Acceptor
	addr     string
}

// StartQuickfixgoBaseline listens on a free local port for sessions from
// each of senders (their SenderCompIDs) towards target.
func StartQuickfixgoBaseline(beginString, target string, senders []string) (*QuickfixgoBaseline, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	settings := quickfix.NewSettings()
	g := settings.GlobalSettings()
	g.Set(config.SocketAcceptHost, "127.0.0.1")
	g.Set(config.SocketAcceptPort, strconv.Itoa(port))
	for _, s := range senders {
		ss := quickfix.NewSessionSettings()
		ss.Set(config.BeginString, beginString)
		ss.Set(config.SenderCompID, target)
		ss.Set(config.TargetCompID, s)
		ss.Set(config.ResetOnLogon, "Y")
		ss.Set(config.HeartBtInt, "30")
		if _, err := settings.AddSession(ss); err != nil {
			return nil, err
		}
	}
	a, err := quickfix.NewAcceptor(&qfAnswerer{}, quickfix.NewMemoryStoreFactory(), settings, quickfix.NewNullLogFactory())
	if err != nil {
		return nil, err
	}
	if err := a.Start(); err != nil {
		return nil, err
	}
	return &QuickfixgoBaseline{acceptor: a, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, nil
}

// Addr is the listening address.
func (q *QuickfixgoBaseline) Addr() string { return q.addr }

// Stop stops the acceptor.
func (q *QuickfixgoBaseline) Stop() { q.acceptor.Stop() }

type qfAnswerer struct{ execID atomic.Int64 }

func (*qfAnswerer) OnCreate(quickfix.SessionID)                       {}
func (*qfAnswerer) OnLogon(quickfix.SessionID)                        {}
func (*qfAnswerer) OnLogout(quickfix.SessionID)                       {}
func (*qfAnswerer) ToAdmin(*quickfix.Message, quickfix.SessionID)     {}
func (*qfAnswerer) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }
func (*qfAnswerer) FromAdmin(*quickfix.Message, quickfix.SessionID) quickfix.MessageRejectError {
	return nil
}

func (q *qfAnswerer) FromApp(m *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	msgType, _ := m.Header.GetString(35)
	execType := ""
	switch msgType {
	case "D":
		execType = "0"
	case "F":
		execType = "4"
	case "G":
		execType = "5"
	default:
		return nil
	}
	er := quickfix.NewMessage()
	er.Header.SetString(35, "8")
	exec := strconv.FormatInt(q.execID.Add(1), 10)
	for _, tag := range []quickfix.Tag{11, 41, 55, 54} {
		if v, err := m.Body.GetString(tag); err == nil {
			er.Body.SetString(tag, v)
		}
	}
	er.Body.SetString(37, exec)
	er.Body.SetString(17, exec)
	if id.BeginString == "FIX.4.2" {
		er.Body.SetString(20, "0")
	}
	er.Body.SetString(150, execType)
	status := execType
	if execType == "5" {
		status = "0"
	}
	er.Body.SetString(39, status)
	er.Body.SetString(151, "0")
	er.Body.SetString(14, "0")
	er.Body.SetString(6, "0")
	quickfix.SendToTarget(er, id)
	return nil
}
