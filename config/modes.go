package config

import "fmt"

// The modes a file names as strings are typed values here, parsed once when
// the file is read: code compares constants, never strings. Each type reads
// and writes the same JSON text (its String). A zero value whose text is ""
// is a mode the file left empty; Check refuses it where a mode is required.
// The journal's sync mode is journal.SyncMode, which owns its names.

// Role is replication.role: whether a node replicates, and as which.
type Role uint8

const (
	RoleNone    Role = iota // "": no replication
	RolePrimary             // "primary"
	RoleStandby             // "standby"
)

var roleText = []string{RoleNone: "", RolePrimary: "primary", RoleStandby: "standby"}

func (r Role) String() string               { return textOf(roleText, r) }
func (r Role) MarshalText() ([]byte, error) { return marshalText(roleText, r) }
func (r *Role) UnmarshalText(b []byte) error {
	return unmarshalText(roleText, r, b, "primary, standby or empty")
}

// ReplicationMode is replication.mode: whether the primary waits for its
// standby before telling a broker anything.
type ReplicationMode uint8

const (
	_         ReplicationMode = iota // "": not set
	ModeSync                         // "sync": a broker is told of nothing the standby has not made durable
	ModeAsync                        // "async": the primary does not wait; a failover loses what the standby had not received
)

var modeText = []string{"", ModeSync: "sync", ModeAsync: "async"}

func (m ReplicationMode) String() string               { return textOf(modeText, m) }
func (m ReplicationMode) MarshalText() ([]byte, error) { return marshalText(modeText, m) }
func (m *ReplicationMode) UnmarshalText(b []byte) error {
	return unmarshalText(modeText, m, b, "sync or async")
}

// StandbyLost is replication.onStandbyLost: what a sync primary does when
// its standby stops acknowledging.
type StandbyLost uint8

const (
	_         StandbyLost = iota // "": not set
	LostWait                     // "wait": acknowledge nothing until a standby is back
	LostAsync                    // "async": go on alone, loudly, until a standby catches up
)

var lostText = []string{"", LostWait: "wait", LostAsync: "async"}

func (l StandbyLost) String() string               { return textOf(lostText, l) }
func (l StandbyLost) MarshalText() ([]byte, error) { return marshalText(lostText, l) }
func (l *StandbyLost) UnmarshalText(b []byte) error {
	return unmarshalText(lostText, l, b, "wait or async")
}

// Wait is ring.wait: how the pipeline's goroutines wait for each other.
type Wait uint8

const (
	_          Wait = iota // "": not set
	WaitHybrid             // "hybrid": spin, yield, then park (the default)
	WaitSpin               // "spin": never park (dedicated cores only)
)

var waitText = []string{"", WaitHybrid: "hybrid", WaitSpin: "spin"}

func (w Wait) String() string                { return textOf(waitText, w) }
func (w Wait) MarshalText() ([]byte, error)  { return marshalText(waitText, w) }
func (w *Wait) UnmarshalText(b []byte) error { return unmarshalText(waitText, w, b, "hybrid or spin") }

// textOf is v's text in names, its values' texts by value.
func textOf[T ~uint8](names []string, v T) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%T(%d)", v, v)
}

func marshalText[T ~uint8](names []string, v T) ([]byte, error) {
	if int(v) >= len(names) {
		return nil, fmt.Errorf("%T(%d) has no name", v, v)
	}
	return []byte(names[v]), nil
}

func unmarshalText[T ~uint8](names []string, v *T, b []byte, want string) error {
	for i, n := range names {
		if n == string(b) {
			*v = T(i)
			return nil
		}
	}
	return fmt.Errorf("%q: want %s", b, want)
}

// RiskMode is risk.mode: the venue's pre-trade risk.
type RiskMode uint8

const (
	RiskModeNone   RiskMode = iota // "none": no risk stage (the default)
	RiskModeLimits                 // "limits": per-account order limits
	RiskModeSpot                   // "spot": limits, and cash and inventory reserved at entry
)

var riskText = []string{RiskModeNone: "none", RiskModeLimits: "limits", RiskModeSpot: "spot"}

func (m RiskMode) String() string               { return textOf(riskText, m) }
func (m RiskMode) MarshalText() ([]byte, error) { return marshalText(riskText, m) }
func (m *RiskMode) UnmarshalText(b []byte) error {
	return unmarshalText(riskText, m, b, "none, limits or spot")
}

// STP is a self-trade prevention mode (match.stp, match.stpAccounts[].mode):
// what happens when an incoming order would trade with a resting order of
// its own account.
type STP uint8

const (
	STPNone         STP = iota // "none": the account trades with itself
	STPCancelOldest            // "cancelOldest": cancel the resting order, keep matching
	STPCancelNewest            // "cancelNewest": cancel the rest of the incoming order
	STPCancelBoth              // "cancelBoth": cancel both
	STPDecrement               // "decrement": cancel the smaller order, take its quantity off the larger; nothing trades
)

var stpText = []string{STPNone: "none", STPCancelOldest: "cancelOldest", STPCancelNewest: "cancelNewest", STPCancelBoth: "cancelBoth", STPDecrement: "decrement"}

func (s STP) String() string               { return textOf(stpText, s) }
func (s STP) MarshalText() ([]byte, error) { return marshalText(stpText, s) }
func (s *STP) UnmarshalText(b []byte) error {
	return unmarshalText(stpText, s, b, "none, cancelOldest, cancelNewest, cancelBoth or decrement")
}
