package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The sync set (/ringex/<shard>/sync) names the members that hold every
// record the leader of its term acknowledged: the leader, and the standbys
// whose acknowledgement it waits for. The leader puts it before the first
// acknowledgement of its term, and again before each change: a standby
// joins once it holds everything shipped (then the leader counts it), and
// a standby that stopped acknowledging leaves before anything is
// acknowledged without it. The set {leader} says that leader acknowledges
// what no standby may hold (an async primary, or a sync one gone on
// alone). The key has no lease: it outlives the leader, so that when the
// leader dies no member outside the set, which may lack acknowledged
// records, takes the shard by election (outsideSync); among those in it
// the most complete wins as always. An override ('ringex promote --force')
// clears it, a handoff makes it {the new leader} (settled), and the new
// leader puts its own.

// SetSync puts the sync set of this term: standbys are the members besides
// the leader that hold every record the term acknowledged, and seq one
// that each of them and the leader holds durably (no more than the lowest
// durable seq among them, and no less than the last acknowledged, or the
// election may refuse a member that holds everything). The node calls it
// before the term's first acknowledgement, before each change of the set,
// and with the same standbys to advance seq as they hold more (a member
// restarted on an older backup is then refused even after a crash); never
// per batch. It fails, and the node must not count the new set, when
// etcd is unreachable or the term has ended: the put is conditional on
// this term's leader key, so a deposed leader cannot write the set.
func (l *Leadership) SetSync(ctx context.Context, standbys []string, seq int64) error {
	m := l.m
	members := append([]string{m.cfg.Name}, standbys...)
	v := SyncSet{Leader: m.cfg.Name, Token: l.token, Members: members, Seq: seq}
	resp, err := m.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(l.key), "=", int64(l.token))).
		Then(clientv3.OpPut(m.keys.sync, encode(v))).Commit()
	if err != nil {
		return fmt.Errorf("cluster: put the sync set of shard %s to {%s} at seq %d: %w", m.cfg.Shard, strings.Join(members, ", "), seq, err)
	}
	if !resp.Succeeded {
		l.keyGone("")
		return fmt.Errorf("%w: put the sync set of shard %s: term %d has ended", ErrNotLeader, m.cfg.Shard, l.token)
	}
	return nil
}

// outsideSync is Contend's rule for the sync set: a member the standing
// set does not name may lack records its leader acknowledged, and is not
// chosen. Nor is a member it names whose journal ends before the set's
// Seq, which every member it names holds: it was started again on an
// empty disk, or on an older backup, under the same name, and lacks what
// the set says it holds.
func (m *Member) outsideSync(s shardState) error {
	if s.sync == nil {
		return nil
	}
	if slices.Contains(s.sync.Members, m.cfg.Name) {
		if at := m.position(); at.Seq == 0 && s.sync.Seq > 0 {
			return &NotChosenError{Reason: fmt.Sprintf("the sync set of term %d names this member (%s) at seq %d, but its journal is empty (a new disk?): it lacks what was acknowledged; only another member of the set, a handoff or an override may take the shard",
				s.sync.Token, m.cfg.Name, s.sync.Seq), rev: s.rev}
		} else if at.Seq < s.sync.Seq {
			return &NotChosenError{Reason: fmt.Sprintf("the sync set of term %d names this member (%s) at seq %d, but its journal ends at seq %d (an old backup?): it lacks what was acknowledged; only another member of the set, a handoff or an override may take the shard",
				s.sync.Token, m.cfg.Name, s.sync.Seq, at.Seq), rev: s.rev}
		}
		return nil
	}
	return &NotChosenError{Reason: fmt.Sprintf("the sync set of term %d is {%s} (leader %s, seq %d): this member is not in it and may lack what was acknowledged; only a member of it, a handoff or an override may take the shard",
		s.sync.Token, strings.Join(s.sync.Members, ", "), s.sync.Leader, s.sync.Seq), rev: s.rev}
}

func decodeSync(key string, raw []byte) (*SyncSet, error) {
	v := new(SyncSet)
	if err := decode(key, raw, v); err != nil {
		return nil, err
	}
	if len(v.Members) == 0 || v.Members[0] != v.Leader {
		return nil, fmt.Errorf("cluster: etcd key %s holds %q: a sync set must name its leader first", key, raw)
	}
	return v, nil
}
