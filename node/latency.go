package node

import (
	"sync"
	"time"

	"github.com/ringex/ringex/internal/lathist"
)

// latencyLogEvery is how often a serving node logs where its time went.
const latencyLogEvery = time.Minute

// latency is the node's own account of where an order's time goes inside
// it, so that an operator reads it from the log of a live exchange, not
// only from a benchmark: every latencyLogEvery while commands flow, and
// once more at Stop, one line with
//
//   - ring → publish, per command: from its ingress time (stamped as the
//     gateway claims its slot) to the publish stage handing its events to
//     the FIX sessions; what the ring, the journal, the match and the
//     wake-ups between them add to an acknowledgement;
//   - journal write + fsync, per batch, and the records per batch
//     (a standby: per frame its Receiver journals).
//
// A standby records no ring → publish time (its ingress times are its
// primary's); its journal figures are the Receiver's commits, one per
// frame (receiverCommitted). What is outside,
// reading and parsing the FIX message before the claim and writing the
// report after publish, is what `ringex bench fix` adds on top.
//
// The histograms have two readers, the log line and Latency (the metrics
// endpoint): take moves what they counted into both a running total and
// the log's interval, under mu, off the hot path.
type latency struct {
	pipeline lathist.Hist // ns, per command (publish stage)
	commit   lathist.Hist // ns, per journal batch (journal stage)
	batch    lathist.Hist // records per journal batch (journal stage)
	replAck  lathist.Hist // ns, per batch: a sync primary's wait for its standby (replicate handler); not logged
	since    time.Time    // start of the interval being counted
	stop     chan struct{}
	done     chan struct{}

	mu       sync.Mutex
	total    [4]lathist.Snapshot // pipeline, commit, batch, replAck since Start; under mu
	interval [4]lathist.Snapshot // the same since the last log line; under mu
}

// take moves what the histograms counted into the totals and the interval.
// Call it with mu held.
func (l *latency) take() {
	for i, h := range [4]*lathist.Hist{&l.pipeline, &l.commit, &l.batch, &l.replAck} {
		s := h.Take()
		l.total[i].Add(s)
		l.interval[i].Add(s)
	}
}

// Latency returns, each counted since the node started: the ring →
// publish latency (ns, per command), the journal write+fsync time (ns,
// per batch), the records per journal batch, and a sync primary's wait
// for its standby's acknowledgement (ns, per batch).
func (n *Node) Latency() (pipeline, commit, batch, replicationAck *lathist.Snapshot) {
	l := &n.lat
	l.mu.Lock()
	defer l.mu.Unlock()
	l.take()
	t := l.total
	return &t[0], &t[1], &t[2], &t[3]
}

// startLatencyLog starts the periodic log line.
func (n *Node) startLatencyLog() {
	l := &n.lat
	l.since, l.stop, l.done = time.Now(), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.done)
		t := time.NewTicker(latencyLogEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				n.logLatency()
			case <-l.stop:
				return
			}
		}
	}()
}

// stopLatencyLog stops the periodic line and logs the last interval; call
// it once the ring has drained.
func (n *Node) stopLatencyLog() {
	if n.lat.stop == nil {
		return
	}
	close(n.lat.stop)
	<-n.lat.done
	n.logLatency()
}

// logLatency logs the interval since the last line, if anything passed.
func (n *Node) logLatency() {
	l := &n.lat
	l.mu.Lock()
	l.take()
	in := l.interval
	l.interval = [4]lathist.Snapshot{}
	l.mu.Unlock()
	pipe, commit, batch := &in[0], &in[1], &in[2]
	now := time.Now()
	over := now.Sub(l.since).Round(time.Second)
	l.since = now
	if pipe.Count == 0 && commit.Count == 0 {
		return
	}
	d := func(s *lathist.Snapshot, q float64) time.Duration {
		return time.Duration(s.Quantile(q)).Round(time.Microsecond)
	}
	n.log.Info("latency", "over", over, "commands", pipe.Count,
		"publish_p50", d(pipe, 0.5), "publish_p99", d(pipe, 0.99), "publish_p999", d(pipe, 0.999), "publish_max", time.Duration(pipe.Max).Round(time.Microsecond),
		"batches", commit.Count, "batch_records_p50", batch.Quantile(0.5), "batch_records_p99", batch.Quantile(0.99),
		"fsync_p50", d(commit, 0.5), "fsync_p99", d(commit, 0.99), "fsync_p999", d(commit, 0.999), "fsync_max", time.Duration(commit.Max).Round(time.Microsecond))
}
