package node

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ringex/ringex/replica"
)

// A primary with a peer (replication.primary) probes it once at start
// (peerIsPrimary), but that leaves a window: the old primary, restarted
// while its standby has not yet promoted itself, finds nothing listening
// at the peer and begins a term; the standby's failover timer then fires
// and it begins another. So a primary with a peer and no standby connected
// goes on probing the peer every heartbeat (watchPeer). When a primary
// answers there, replica.StepsDown decides, the same way on both nodes,
// which of the two yields: one whose acknowledged records the other holds
// (it acknowledged nothing in its epoch), if the other acknowledged records
// it lacks or ranks higher. The one that yields stops with a
// replica.StepDownError (Done), and 'ringex serve' starts it again in
// place: it probes, finds the other serving and follows it, discarding
// what the other lacks (never acknowledged to anyone). Two primaries that
// have each acknowledged records the other lacks are a split brain:
// neither yields, both say so loudly and in ReplicationStats, and an
// operator must stop one.

// splitBrainLogEvery bounds how often a split brain is logged.
const splitBrainLogEvery = 5 * time.Second

// peerWatch is a primary's watch on its peer's replication port, started
// with its Sender (startSender) and stopped by stopReplication.
type peerWatch struct {
	stop        chan struct{}
	done        chan struct{}
	peerPrimary atomic.Bool // the last probe found a primary serving at the peer
	splitBrain  atomic.Bool // ... and both have acknowledged in their epochs
}

// startPeerWatch starts watchPeer for the primary whose Sender is s, when it
// has a peer to watch.
func (n *Node) startPeerWatch(s *replica.Sender) {
	if n.cfg.Replication.Primary == "" {
		return
	}
	w := &peerWatch{stop: make(chan struct{}), done: make(chan struct{})}
	n.repl.peer.Store(w)
	go n.watchPeer(w, s)
}

// halt stops the watch and waits for it (a step-down under way finishes).
func (w *peerWatch) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// watchPeer probes the peer every heartbeat while no standby is connected
// (a connected standby is the peer itself, following), and steps down when
// replica.StepsDown says this primary must. A probe that gets no answer
// within the timeout counts as no primary there until the next one.
func (n *Node) watchPeer(w *peerWatch, s *replica.Sender) {
	defer close(w.done)
	r, rc := n.repl, n.cfg.Replication
	every := time.Duration(rc.HeartbeatMs) * time.Millisecond
	timeout := max(2*every, 500*time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var loudAt time.Time
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		if s.Stats().Connected {
			w.peerPrimary.Store(false)
			w.splitBrain.Store(false)
			continue
		}
		theirs, err := replica.Probe(rc.Primary, r.history.Current(), timeout)
		if err != nil || !theirs.Primary {
			w.peerPrimary.Store(false)
			w.splitBrain.Store(false)
			continue
		}
		ours := replica.PeerState{Primary: true, Epoch: r.history.Current(), Shipped: s.Stats().Shipped,
			Published: r.published.Load(), History: r.history.Entries()}
		if replica.StepsDown(ours, theirs) {
			n.stepDown(s, ours, theirs)
			return
		}
		split := replica.SplitBrain(ours, theirs)
		w.splitBrain.Store(split)
		if !w.peerPrimary.Swap(true) && !split {
			n.log.Warn("the peer ALSO SERVES AS PRIMARY; this primary stays: the peer yields to it", "peer", rc.Primary,
				"peer_epoch", theirs.Current().Epoch, "peer_term", fmt.Sprintf("%016x", theirs.Current().Term), "peer_published", theirs.Published,
				"epoch", ours.Current().Epoch, "term", fmt.Sprintf("%016x", ours.Current().Term), "published", ours.Published)
		}
		if split && time.Since(loudAt) >= splitBrainLogEvery {
			loudAt = time.Now()
			n.log.Error("SPLIT BRAIN: this node and the peer are both primaries and each has acknowledged records the other lacks; neither steps down by itself: STOP ONE OF THEM, "+
				"and reconcile with the brokers what it acknowledged alone (it is set aside when it rejoins as standby)",
				"epoch", ours.Current().Epoch, "term", fmt.Sprintf("%016x", ours.Current().Term), "published", ours.Published, "peer", rc.Primary,
				"peer_epoch", theirs.Current().Epoch, "peer_term", fmt.Sprintf("%016x", theirs.Current().Term), "peer_published", theirs.Published)
		}
	}
}

// stepDown stops this primary for the one serving at its peer. The ring is
// failed first, so that no stage starts another batch, and drained of the
// batches in flight; only then is the published seq the decision rested on
// final. Should a batch have reached the publish stage between the decision
// and the fence, the node stops with an error that is not a StepDownError:
// restarting as standby might discard records a broker saw, so that is left
// to an operator.
func (n *Node) stepDown(s *replica.Sender, ours, theirs replica.PeerState) {
	r, peer := n.repl, n.cfg.Replication.Primary
	down := &replica.StepDownError{Peer: peer, Ours: ours.Current(), Theirs: theirs.Current(), Published: ours.Published,
		PeerMustStay: !replica.CanYield(theirs, ours)}
	n.log.Warn("STEPPING DOWN: this node stops serving (FIX sessions are disconnected) and starts again as that primary's standby", "why", down.Error())
	n.fail(down)
	s.Close() // wakes the replicate handler out of awaitAcked
	n.ring.Close()
	if p := r.published.Load(); p != ours.Published {
		err := fmt.Errorf("replication: while stepping down for the primary at %s, this primary acknowledged up to seq %d (the decision saw %d): "+
			"it does not rejoin as standby, which could discard acknowledged records; an operator must decide", peer, p, ours.Published)
		n.log.Warn("STEP-DOWN ABANDONED", "err", err)
		r.stopOnItsOwn(err)
		return
	}
	r.stopOnItsOwn(down)
}
