package gateway

import (
	"fmt"

	"github.com/quickfixgo/quickfix"
)

// eventLogFactory gives quickfixgo logs that write session events (logon,
// logout, resend, disconnect) as one line each and drop the per-message
// traffic: an exchange logs per session event, not per order.
type eventLogFactory struct{ logf func(string, ...any) }

func (f eventLogFactory) Create() (quickfix.Log, error) { return eventLog{f.logf, "fix"}, nil }

func (f eventLogFactory) CreateSessionLog(sid quickfix.SessionID) (quickfix.Log, error) {
	return eventLog{f.logf, "fix: " + sid.String()}, nil
}

type eventLog struct {
	logf   func(string, ...any)
	prefix string
}

func (l eventLog) OnIncoming([]byte) {}
func (l eventLog) OnOutgoing([]byte) {}
func (l eventLog) OnEvent(s string)  { l.logf("%s: %s", l.prefix, s) }
func (l eventLog) OnEventf(format string, args ...any) {
	l.logf("%s: %s", l.prefix, fmt.Sprintf(format, args...))
}
