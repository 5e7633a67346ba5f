package replica

import (
	"fmt"
	"net"
)

// RefuseCode says why a primary refused a peer. It travels in the refuse
// frame beside the reason, and a standby acts on it, never on the
// reason's text, which is for the operator.
type RefuseCode uint32

const (
	// RefuseStale: the standby's history holds an epoch this primary
	// lacks. A newer primary exists, or existed, and this one never learns
	// a later epoch while it serves; following it would lose what the newer
	// one acknowledged. Which node serves is the operator's decision (or
	// this primary's, to step down), so the standby stops: final.
	RefuseStale RefuseCode = 1
	// RefuseNoSnapshot: the standby is behind what the primary's journal
	// holds, and no snapshot beside it is recent enough to send. It heals
	// at the primary's next checkpoint: the standby asks again.
	RefuseNoSnapshot RefuseCode = 2
	// RefuseVersion: the peer's frames carry another ProtocolVersion.
	// Asking again cannot help: final.
	RefuseVersion RefuseCode = 3
	// RefuseFull: the primary serves MaxStandbys standbys already. It
	// heals when one leaves: the standby asks again. A standby of a
	// release that predates the code takes it as unknown, which asks
	// again too.
	RefuseFull RefuseCode = 4
)

// Final reports whether a standby refused with c stops instead of asking
// again. A code this node does not know (from a newer primary of the same
// protocol version) is not final.
func (c RefuseCode) Final() bool { return c == RefuseStale || c == RefuseVersion }

func (c RefuseCode) String() string {
	switch c {
	case RefuseStale:
		return "stale primary"
	case RefuseNoSnapshot:
		return "no snapshot"
	case RefuseVersion:
		return "protocol version"
	case RefuseFull:
		return "standbys full"
	}
	return fmt.Sprintf("refusal %d", uint32(c))
}

// staleRefusal ends the reason of a RefuseStale refusal, for the operator
// reading either log.
const staleRefusal = "this primary is stale and must not serve"

// RefusedError says that the primary refused this standby (Code, and its
// Reason for the operator). Final (Code.Final) says that asking again
// cannot help: Run returns it. A refusal that is not final may heal (the
// primary lacks a snapshot the standby needs until its next checkpoint,
// or a code a newer primary gives that this standby does not know): Run
// logs it and asks again, with a capped backoff, instead of returning.
type RefusedError struct {
	Code   RefuseCode
	Reason string
	Final  bool
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("replica: the primary refused this standby (%s): %s", e.Code, e.Reason)
}

// refusal writes a refuse frame's body: | code u32 | reason (UTF-8) |.
func (w *frameWriter) refusal(code RefuseCode, reason string) {
	w.u32(uint32(code))
	w.buf = append(w.buf, reason...)
}

// refused reads a refuse frame's body.
func refused(body []byte) error {
	br := bodyReader{b: body}
	code := RefuseCode(br.u32())
	if br.err != nil {
		return fmt.Errorf("refuse frame: %w", br.err)
	}
	return &RefusedError{Code: code, Reason: string(br.b), Final: code.Final()}
}

// refuse logs why the peer on c is not served, tells it in a refuse frame,
// and returns the refusal as the connection's error; the caller closes the
// connection. A failed write is not reported: the peer, told or not, is
// dropped the same way.
func (s *Sender) refuse(c net.Conn, epoch uint64, code RefuseCode, reason string) error {
	s.log.Warn("REFUSING a peer", "remote", c.RemoteAddr().String(), "code", code.String(), "reason", reason)
	var fw frameWriter
	fw.begin(typeRefuse, epoch)
	fw.refusal(code, reason)
	c.Write(fw.finish())
	return &RefusedError{Code: code, Reason: reason, Final: code.Final()}
}
