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
	Primary bool    // a primary's Sender answered; the fields below are its
	Epoch   uint64  // its current epoch
	Shipped int64   // the last seq it has shipped
	History []Epoch // its epoch history
}

// OlderThan reports whether ours holds an epoch the primary's history lacks:
// the primary is then the stale one, and it refuses a node with history
// ours as its standby.
func (p PeerState) OlderThan(ours []Epoch) bool {
	_, newer := agreement(p.History, ours, 0)
	return newer
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
// an error, and the caller cannot tell whether a primary serves there.
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
	if err != nil {
		return PeerState{}, fmt.Errorf("replica: probe %s: no answer: %w", addr, err)
	}
	if f.typ != typeAnswer {
		return PeerState{}, fmt.Errorf("replica: probe %s: answered with a type %d frame", addr, f.typ)
	}
	br := bodyReader{b: f.body}
	p := PeerState{Primary: true, Epoch: f.epoch, Shipped: int64(br.u64()), History: br.history()}
	if br.err != nil {
		return PeerState{}, fmt.Errorf("replica: probe %s: %w", addr, br.err)
	}
	return p, nil
}
