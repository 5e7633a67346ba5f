package replica

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// PeerState is what a primary's replication port says of its node.
type PeerState struct {
	Primary bool   // a primary's Sender answered; the fields below are its
	Epoch   uint64 // its current epoch
	Shipped int64  // the last seq it has shipped
	// Published is the last seq whose events its publish stage handed to
	// the FIX sessions (SenderOptions.Published): what it has acknowledged.
	// PublishedUnknown when the answer did not say (a ringex from before
	// the field).
	Published int64
	History   []Epoch // its epoch history
}

// PublishedUnknown is PeerState.Published of an answer that does not carry it.
const PublishedUnknown = -1

// Current is the newest entry of the history, its current term; the zero
// Epoch when the history is empty.
func (p PeerState) Current() Epoch {
	if len(p.History) == 0 {
		return Epoch{}
	}
	return p.History[len(p.History)-1]
}

// CanYield reports whether the primary ours could become the standby of the
// primary theirs without losing a record it acknowledged: theirs knows
// every epoch ours does (else it refuses ours as stale), and whatever ours
// acknowledged in its current term (a term is one run as primary: every
// start and every promotion begins one) is among the records the two
// journals share (agreement), so that what ours discards when it follows
// was never reported to anyone.
//
// Records of ours's earlier terms are not counted: a restarted node does
// not know which of them its earlier run acknowledged. In sync mode, the
// mode with automatic failover, every one it did acknowledge reached the
// standby, so those theirs lacks were not; with async they may have been,
// and are lost as on any rejoin of an old primary.
func CanYield(ours, theirs PeerState) bool {
	if ours.Published == PublishedUnknown {
		return false
	}
	keep, newer := agreement(theirs.History, ours.History, ours.Published)
	return !newer && (ours.Published < ours.Current().FirstSeq || keep >= ours.Published)
}

// StepsDown decides, for a primary in state ours that probed its peer and
// found the primary theirs serving there, whether ours must step down and
// follow theirs. Both primaries evaluate it on the other's answer, so they
// agree, and at most one of them steps down:
//
//   - one that cannot yield without discarding records it acknowledged
//     (CanYield) never steps down;
//   - one that can steps down if the other cannot, or if both can and the
//     other's current term ranks higher (Epoch.Outranks).
//
// An answer that does not say what the peer published counts as a peer
// that cannot yield. When neither can (both acknowledged records the other
// lacks: possible only where a primary may go on alone, with mode async,
// onStandbyLost async or a promoted primary), neither steps down: a split
// brain only an operator can end (SplitBrain).
func StepsDown(ours, theirs PeerState) bool {
	if !CanYield(ours, theirs) {
		return false
	}
	return !CanYield(theirs, ours) || theirs.Current().Outranks(ours.Current())
}

// SplitBrain reports whether two primaries have each acknowledged records
// the other lacks: neither may step down by itself.
func SplitBrain(ours, theirs PeerState) bool {
	return !CanYield(ours, theirs) && !CanYield(theirs, ours)
}

// OlderThan reports whether ours holds an epoch the primary's history lacks:
// the primary is then the stale one, and it refuses a node with history
// ours as its standby.
func (p PeerState) OlderThan(ours []Epoch) bool {
	_, newer := agreement(p.History, ours, 0)
	return newer
}

// StepDownError stops a primary that found another primary serving at its
// peer and yielded to it (StepsDown). The peer holds every record it
// acknowledged, so nobody was told of the records it has and the peer
// lacks: starting again as the peer's standby (the start probes the peer,
// finds it serving, and the welcome says what to discard: DivergedError)
// loses nothing a broker saw.
type StepDownError struct {
	Peer         string // the peer's replication host:port
	Ours, Theirs Epoch  // the two current terms
	Published    int64  // the last seq this primary acknowledged: the peer has every record up to it
	// PeerMustStay: the peer cannot follow this node (CanYield): it
	// acknowledged records this node lacks, did not say what it
	// published, or knows an epoch this node does not. Otherwise both
	// could, and the peer's term ranks higher.
	PeerMustStay bool
}

func (e *StepDownError) Error() string {
	why := "its term ranks higher"
	if e.PeerMustStay {
		why = "it cannot follow this node: it acknowledged records this node lacks, or knows a later epoch"
	}
	return fmt.Sprintf("replica: stepped down for the primary at %s, epoch %d term %016x (%s); this primary, epoch %d term %016x from seq %d, acknowledged nothing the peer lacks (published to seq %d)",
		e.Peer, e.Theirs.Epoch, e.Theirs.Term, why, e.Ours.Epoch, e.Ours.Term, e.Ours.FirstSeq, e.Published)
}

// Probe asks the replication port at addr whether a primary serves there,
// without disturbing it: it sends one probe frame (its header carrying
// epoch, the prober's, for the primary's log), and the primary's Sender
// answers with its history and closes the connection; its standby's
// connection, acknowledged seq and sync state are untouched. A node about
// to start as primary probes its peer first, so that an old primary that
// comes back follows its successor instead of opening a term beside it.
//
// Primary is false with a nil error when the connection is refused:
// nothing listens there (a standby opens no replication port, a stopped
// node none). Any other failure within timeout (no route, no answer, an
// answer that is not a Sender's, as from a ringex that predates probes) is
// an error, and the caller cannot tell whether a primary serves there. A
// Sender of another ProtocolVersion is a *VersionError: something serves
// there, and this node cannot follow it.
func Probe(addr string, epoch uint64, timeout time.Duration) (PeerState, error) {
	deadline := time.Now().Add(timeout)
	c, err := net.DialTimeout("tcp", addr, timeout)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return PeerState{}, nil
	}
	if err != nil {
		return PeerState{}, fmt.Errorf("replica: probe %s: %w", addr, err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	var fw frameWriter
	fw.begin(typeProbe, epoch)
	if _, err := c.Write(fw.finish()); err != nil {
		return PeerState{}, fmt.Errorf("replica: probe %s: %w", addr, err)
	}
	f, err := newFrameReader(c).next()
	var ver *VersionError
	if errors.As(err, &ver) {
		return PeerState{}, fmt.Errorf("replica: probe %s: %w", addr, err)
	}
	if err != nil {
		return PeerState{}, fmt.Errorf("replica: probe %s: no answer: %w", addr, err)
	}
	if f.typ == typeRefuse {
		return PeerState{}, fmt.Errorf("replica: probe %s: %w", addr, refused(f.body))
	}
	if f.typ != typeAnswer {
		return PeerState{}, fmt.Errorf("replica: probe %s: answered with a type %d frame", addr, f.typ)
	}
	br := bodyReader{b: f.body}
	p := PeerState{Primary: true, Epoch: f.epoch, Shipped: int64(br.u64()), History: br.history(), Published: PublishedUnknown}
	if br.err == nil && len(br.b) > 0 {
		p.Published = int64(br.u64()) // an answer from before the field ends after the history
	}
	if br.err != nil {
		return PeerState{}, fmt.Errorf("replica: probe %s: %w", addr, br.err)
	}
	return p, nil
}
