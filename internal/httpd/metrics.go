package httpd

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringex/ringex/internal/lathist"
	"github.com/ringex/ringex/node"
)

// The metrics, every one read from the node at scrape time (docs/operations.md
// lists them). Names follow Prometheus: ringex_ prefix, base units,
// counters end in _total.
var (
	dUp         = desc("ringex_node_running", "1 while a node runs behind the endpoint, 0 while it starts, stops or restarts in place.")
	dRole       = desc("ringex_role", "1 for the node's replication role: primary, standby, or single (no replication).", "role")
	dServing    = desc("ringex_serving_fix", "1 while the node's FIX acceptor takes orders.")
	dReady      = desc("ringex_ready", "1 while /readyz answers 200.")
	dStopped    = desc("ringex_pipeline_stopped", "1 once the pipeline has stopped on a failure: the node accepts nothing more.")
	dEpoch      = desc("ringex_epoch", "The replication epoch (0 without replication).")
	dLag        = desc("ringex_stage_lag_slots", "Published ring slots the stage has not passed yet (ring cursor minus the stage's sequence).", "stage")
	dEvents     = desc("ringex_stage_events_total", "Ring slots the stage has passed; for writers, slots published.", "stage")
	dBatches    = desc("ringex_stage_batches_total", "Handler calls of the stage, all its handlers together.", "stage")
	dParks      = desc("ringex_stage_parks_total", "Times a handler of the stage went to sleep waiting for work.", "stage")
	dBackPress  = desc("ringex_ring_backpressure_total", "Claims that waited for room in the ring (it was full).")
	dAck        = desc("ringex_ack_latency_seconds", "Per command, from its ring claim (ingress) to the publish stage handing its reports to the FIX sessions: ring, journal fsync, match and wake-ups.")
	dCommit     = desc("ringex_journal_commit_seconds", "Per journal batch: write plus fsync.")
	dBatchRecs  = desc("ringex_journal_batch_records", "Records per journal batch (one write and one fsync each).")
	dLastSeq    = desc("ringex_journal_last_seq", "The last durable journal sequence.")
	dSegments   = desc("ringex_journal_segments", "Journal segments on disk: hot files, and compressed copies in the archive.", "copy")
	dJBytes     = desc("ringex_journal_bytes", "Bytes of the hot journal segment files.")
	dCommands   = desc("ringex_commands_total", "Commands past the publish stage, by kind.", "kind")
	dRejects    = desc("ringex_rejects_total", "Orders and cancels refused, by reason; source gateway: before the ring (never journaled), matcher: by the engine.", "source", "reason")
	dFills      = desc("ringex_fills_total", "Fill reports: one per side of each trade.")
	dLoggedOn   = desc("ringex_fix_sessions_logged_on", "FIX sessions logged on now.")
	dSession    = desc("ringex_fix_session_logged_on", "1 while the session is logged on.", "session")
	dQueued     = desc("ringex_fix_outbound_queue_bytes", "Bytes queued for the session's socket (the slow-consumer bound counts these).", "session")
	dResends    = desc("ringex_fix_resend_requests_total", "ResendRequests received from the broker.", "session")
	dReplLag    = desc("ringex_replication_lag_records", "Primary: records shipped that the standby has not acknowledged as durable.")
	dReplAck    = desc("ringex_replication_ack_seconds", "Sync primary, per batch: the wait for the standby's acknowledgement.")
	dReplConn   = desc("ringex_replication_standby_connected", "Primary: 1 while a standby is connected.")
	dSilent     = desc("ringex_replication_primary_silence_seconds", "Standby: time since the last frame from its primary (0 before the first connection); a failover follows replication.failoverMs of silence.")
	dCaughtUp   = desc("ringex_replication_caught_up", "Standby: 1 once it has reached its primary's last seq on this connection.")
	dDegraded   = desc("ringex_replication_degraded", "Sync primary: 1 while it acknowledges without its standby (onStandbyLost async).")
	dDegrades   = desc("ringex_replication_degradations_total", "Times a sync primary went on without its standby.")
	dConns      = desc("ringex_replication_connections_total", "Primary: standby handshakes completed.")
	dPromotions = desc("ringex_replication_promotions_total", "Times this process's standby was promoted to primary (a failover to it).")
	dSplit      = desc("ringex_replication_split_brain", "1 when this primary found another primary at its peer and neither can step down.")
	dShard      = desc("ringex_shard_info", "1, labelled with the shard led through etcd, this node's member name and the leader etcd named (\"\" while none is known).", "shard", "member", "leader")
	dLeading    = desc("ringex_shard_leading", "Shard led through etcd: 1 while this node serves as the primary of a term.")
	dToken      = desc("ringex_shard_fencing_token", "Shard led through etcd: the fencing token (epoch) of the term this node leads, or the newest it has seen.")
	dLeaseLeft  = desc("ringex_shard_lease_remaining_seconds", "Shard led through etcd: time until the guard runs out unless a keep-alive extends it (a leader: its term's guard; a standby: its member lease less the same margin); 0 once out.")
	dMayAck     = desc("ringex_shard_may_acknowledge", "Shard led through etcd: 1 while this node leads, its guard is valid and no handoff holds acknowledgements.")
	dHandoff    = desc("ringex_shard_handoff_in_progress", "Shard led through etcd: 1 while a handoff (ringex promote NODE) holds this primary's acknowledgements.")
	dAlone      = desc("ringex_shard_alone_marked", "Shard led through etcd: 1 while this primary's sync set in etcd is itself alone (it acknowledges what no standby holds).")
	dSnapshots  = desc("ringex_snapshot_duration_seconds", "Snapshot files written, and the time spent writing them.")
)

// metricNames are the names desc gave, for the test that docs/operations.md
// lists them all.
var metricNames []string

func desc(name, help string, labels ...string) *prometheus.Desc {
	metricNames = append(metricNames, name)
	return prometheus.NewDesc(name, help, labels, nil)
}

// Bucket bounds of the histograms in seconds (a lathist bucket counts
// under a bound only when its whole range is at or below it: a count is
// never overstated, a latency never understated), and in records.
var (
	secondBounds = []float64{1e-6, 2.5e-6, 5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
		1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5}
	recordBounds = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384}
)

// collector reads the attached node at each scrape. Unchecked (Describe
// sends nothing): which series exist depends on the node (its sessions,
// its role).
type collector struct{ s *Server }

func (collector) Describe(chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	src := c.s.source()
	if src == nil {
		ch <- gauge(dUp, 0)
		return
	}
	ch <- gauge(dUp, 1)
	st := src.Status()
	pipe, commit, batch, replAck := src.Latency()
	ready, _ := Ready(&st)
	ch <- gauge(dRole, 1, st.Role)
	ch <- gauge(dServing, b2f(st.ServingFIX))
	ch <- gauge(dReady, b2f(ready))
	ch <- gauge(dStopped, b2f(st.Stopped != ""))
	ch <- gauge(dEpoch, float64(st.Epoch))
	collectStages(ch, &st)
	ch <- histogram(dAck, pipe, secondBounds, 1e9)
	ch <- histogram(dCommit, commit, secondBounds, 1e9)
	ch <- histogram(dBatchRecs, batch, recordBounds, 1)
	ch <- gauge(dLastSeq, float64(st.Journal.LastSeq))
	ch <- gauge(dSegments, float64(st.Journal.Segments), "hot")
	ch <- gauge(dSegments, float64(st.Journal.Archived), "archive")
	ch <- gauge(dJBytes, float64(st.Journal.Bytes))
	collectCounts(ch, &st)
	collectSessions(ch, &st)
	collectReplication(ch, &st, replAck)
	collectShard(ch, st.Shard)
	ch <- prometheus.MustNewConstSummary(dSnapshots, st.Snapshots, st.SnapshotSeconds, nil)
}

func collectStages(ch chan<- prometheus.Metric, st *node.Status) {
	for _, s := range st.Stages {
		ch <- counter(dEvents, float64(s.Events), s.Name)
		if s.Name == "writers" {
			ch <- counter(dBackPress, float64(s.BackPressure))
			continue
		}
		ch <- gauge(dLag, float64(s.Lag), s.Name)
		ch <- counter(dBatches, float64(s.Batches), s.Name)
		ch <- counter(dParks, float64(s.Parks), s.Name)
	}
}

func collectCounts(ch chan<- prometheus.Metric, st *node.Status) {
	if !st.Counting {
		return // http.listen empty: the node keeps none (only tests get here)
	}
	for _, k := range st.Commands {
		ch <- counter(dCommands, float64(k.N), k.Name)
	}
	for _, r := range st.GatewayRejects {
		ch <- counter(dRejects, float64(r.N), "gateway", r.Name)
	}
	for _, r := range st.Rejects {
		ch <- counter(dRejects, float64(r.N), "matcher", r.Name)
	}
	ch <- counter(dFills, float64(st.Fills))
}

func collectSessions(ch chan<- prometheus.Metric, st *node.Status) {
	on := 0
	for _, s := range st.Sessions {
		on += int(b2f(s.LoggedOn))
		ch <- gauge(dSession, b2f(s.LoggedOn), s.TargetCompID)
		ch <- gauge(dQueued, float64(s.QueuedBytes), s.TargetCompID)
		ch <- counter(dResends, float64(s.ResendRequests), s.TargetCompID)
	}
	ch <- gauge(dLoggedOn, float64(on))
}

func collectReplication(ch chan<- prometheus.Metric, st *node.Status, ack *lathist.Snapshot) {
	ch <- counter(dPromotions, float64(st.Promotions))
	r := st.Replication
	if r == nil {
		return
	}
	ch <- counter(dDegrades, float64(r.Degradations))
	if st.Role == "standby" {
		ch <- gauge(dCaughtUp, b2f(st.CaughtUp))
		ch <- gauge(dSilent, st.PrimarySilentSeconds)
		return
	}
	ch <- gauge(dReplLag, float64(max(r.Standby.Shipped-r.Standby.Acked, 0)))
	ch <- gauge(dReplConn, b2f(r.Standby.Connected))
	ch <- gauge(dDegraded, b2f(r.Degraded))
	ch <- gauge(dSplit, b2f(r.SplitBrain))
	ch <- counter(dConns, float64(r.Standby.Connections))
	ch <- histogram(dReplAck, ack, secondBounds, 1e9)
}

// collectShard: the shard led through etcd, as the node sees it without
// asking etcd; nothing on a node without one.
func collectShard(ch chan<- prometheus.Metric, sh *node.ShardStatus) {
	if sh == nil {
		return
	}
	ch <- gauge(dShard, 1, sh.Shard, sh.Member, sh.Leader)
	ch <- gauge(dLeading, b2f(sh.Leading))
	ch <- gauge(dToken, float64(sh.Token))
	ch <- gauge(dLeaseLeft, sh.LeaseRemainingSeconds)
	ch <- gauge(dMayAck, b2f(sh.MayAcknowledge))
	ch <- gauge(dHandoff, b2f(sh.Handoff))
	ch <- gauge(dAlone, b2f(len(sh.SyncSet) == 1))
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

// histogram turns a lathist total into a Prometheus histogram, its values
// divided by unit (1e9: ns to seconds).
func histogram(d *prometheus.Desc, s *lathist.Snapshot, bounds []float64, unit float64) prometheus.Metric {
	buckets := make(map[float64]uint64, len(bounds))
	for _, b := range bounds {
		buckets[b] = s.AtMost(int64(b * unit))
	}
	return prometheus.MustNewConstHistogram(d, s.Count, s.Sum()/unit, buckets)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
