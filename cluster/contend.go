package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// NotChosenError is Contend's answer when this member is not the one to
// take the shard now: a leader holds it, a handoff names another member,
// this member is not in the sync set, or another candidate is more complete.
type NotChosenError struct {
	Reason string
	Leader bool  // a leader holds the shard
	rev    int64 // etcd revision the decision read; Lead watches from after it
}

func (e *NotChosenError) Error() string { return "cluster: not chosen to lead: " + e.Reason }

// LeaderInfo is who leads a shard.
type LeaderInfo struct {
	Name     string
	ReplAddr string
	Token    Token
	Lease    clientv3.LeaseID
}

// ErrNoLeader: no member leads the shard.
var ErrNoLeader = errors.New("cluster: the shard has no leader")

// shardState is what Contend decides on, read in one transaction.
type shardState struct {
	rev     int64
	leader  *mvccpb.KeyValue
	handoff *handoffValue
	sync    *SyncSet
}

func (m *Member) readState(ctx context.Context) (shardState, error) {
	resp, err := m.cli.Txn(ctx).Then(
		clientv3.OpGet(m.keys.leader+"/", clientv3.WithFirstCreate()...),
		clientv3.OpGet(m.keys.handoff),
		clientv3.OpGet(m.keys.sync)).Commit()
	if err != nil {
		return shardState{}, fmt.Errorf("cluster: read the state of shard %s: %w", m.cfg.Shard, err)
	}
	s := shardState{rev: resp.Header.Revision}
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		s.leader = kvs[0]
	}
	if kvs := resp.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 {
		s.handoff = new(handoffValue)
		if err := decode(m.keys.handoff, kvs[0].Value, s.handoff); err != nil {
			return s, err
		}
	}
	if kvs := resp.Responses[2].GetResponseRange().Kvs; len(kvs) > 0 {
		if s.sync, err = decodeSync(m.keys.sync, kvs[0].Value); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Contend tries once to take the shard, and only if this member is the one
// that should:
//   - no leader holds it (a key of this member's own that no Leadership
//     holds is dropped first);
//   - a live handoff names this member: it campaigns at once; or one names
//     another: it defers;
//   - a sync set stands and does not name this member (it may lack
//     records the last leader acknowledged): it defers; only a member of
//     the set, a handoff, or Override takes the shard (outsideSync);
//   - otherwise it posts its Position (the newest epoch of its history and
//     its durable seq) under candidates/<name>, waits Settle for the
//     others, and campaigns only if it is the most complete (the newest
//     epoch; of equal epochs the highest seq; equal positions: the lowest
//     name). Having won, it reads the candidates again and resigns if a
//     more complete one posted late.
//
// It returns the won term, or a *NotChosenError, or an etcd error.
func (m *Member) Contend(ctx context.Context) (*Leadership, error) {
	return m.contend(ctx, false)
}

// Override takes the shard when no leader holds it, whatever the sync set
// and the other candidates say, and clears the set: 'ringex
// promote --force', by which an operator accepts losing what only the lost
// primary holds.
func (m *Member) Override(ctx context.Context) (*Leadership, error) {
	return m.contend(ctx, true)
}

func (m *Member) contend(ctx context.Context, force bool) (*Leadership, error) {
	if err := m.Err(); err != nil {
		return nil, err
	}
	if l := m.leading.Load(); l != nil {
		return nil, fmt.Errorf("cluster: member %s leads shard %s already (token %d)", m.cfg.Name, m.cfg.Shard, l.token)
	}
	s, err := m.readState(ctx)
	if err != nil {
		return nil, err
	}
	if s.leader != nil && clientv3.LeaseID(s.leader.Lease) == m.lease {
		m.dropOwnLeaderKeys(ctx)
		if s, err = m.readState(ctx); err != nil {
			return nil, err
		}
	}
	if s.leader != nil {
		var v leaderValue
		_ = decode(string(s.leader.Key), s.leader.Value, &v)
		return nil, &NotChosenError{Reason: fmt.Sprintf("member %s leads (token %d)", v.Name, s.leader.CreateRevision), Leader: true, rev: s.rev}
	}
	handedTo := s.handoff != nil && s.handoff.To == m.cfg.Name
	if handedTo && !force {
		if err := m.handedShort(s); err != nil {
			return nil, err
		}
	}
	if !force && !handedTo {
		if s.handoff != nil {
			return nil, &NotChosenError{Reason: fmt.Sprintf("leader %s handed the shard to %s", s.handoff.From, s.handoff.To), rev: s.rev}
		}
		if err := m.outsideSync(s); err != nil {
			return nil, err
		}
	}
	var at Position
	if !force && !handedTo {
		if at, err = m.standFor(ctx); err != nil {
			return nil, err
		}
	}
	l, err := m.campaign(ctx)
	if err != nil {
		return nil, err
	}
	if !force && !handedTo {
		if err := m.checkNoBetter(ctx, at); err != nil {
			l.Resign(ctx)
			return nil, err
		}
	}
	return l, m.settled(ctx, l, force || handedTo, handedTo && !force)
}

// handedShort refuses a live handoff to this member's name when this
// member holds less than the handoff was decided on: the seq its leader
// saw the target hold, or the standing sync set's seq. The target was
// started again, on an empty disk or an older backup, under the same
// name. It defers; once the handoff key lapses (Config.HandoffTTL) the
// election chooses among the members that hold what was acknowledged.
func (m *Member) handedShort(s shardState) error {
	need := s.handoff.Seq
	if s.sync != nil && s.sync.Seq > need {
		need = s.sync.Seq
	}
	if at := m.position(); at.Seq < need {
		return &NotChosenError{Reason: fmt.Sprintf("leader %s handed shard %s to %s holding seq %d, but this member's journal ends at seq %d (started again on an empty disk or an older backup?): it waits for the handoff to lapse and an election",
			s.handoff.From, m.cfg.Shard, m.cfg.Name, need, at.Seq), rev: s.rev}
	}
	return nil
}

// standFor posts this member's Position as a candidate, waits Settle, and
// returns it if no other candidate is more complete.
func (m *Member) standFor(ctx context.Context) (Position, error) {
	at := m.position()
	key := m.keys.candidates + m.cfg.Name
	if _, err := m.cli.Put(ctx, key, encode(at), clientv3.WithLease(m.lease)); err != nil {
		return at, fmt.Errorf("cluster: post candidacy %s = %v: %w", key, at, err)
	}
	select {
	case <-ctx.Done():
		return at, ctx.Err()
	case <-time.After(m.cfg.Settle):
	}
	if err := m.checkNoBetter(ctx, at); err != nil {
		m.cli.Delete(ctx, key)
		return at, err
	}
	return at, nil
}

// checkNoBetter reads the candidates and returns a *NotChosenError naming a
// more complete one, if any: a higher Position (newer epoch, or the same
// epoch and a higher seq), or the same Position and a lower name.
func (m *Member) checkNoBetter(ctx context.Context, at Position) error {
	resp, err := m.cli.Get(ctx, m.keys.candidates, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("cluster: read the candidates of shard %s: %w", m.cfg.Shard, err)
	}
	for _, kv := range resp.Kvs {
		name := strings.TrimPrefix(string(kv.Key), m.keys.candidates)
		var other Position
		if err := decode(string(kv.Key), kv.Value, &other); err != nil {
			return err
		}
		if at.Less(other) || (other == at && name < m.cfg.Name) {
			return &NotChosenError{Reason: fmt.Sprintf("candidate %s holds %v, this member (%s) %v", name, other, m.cfg.Name, at), rev: resp.Header.Revision}
		}
	}
	return nil
}

// settled clears what the election consumed, if the term still leads: the
// candidacies, and after a handoff or an override the handoff key and the
// sync set (the new leader puts its own before it acknowledges). After a
// handoff (handed) the set becomes {this member} of the new term instead
// of none: the handoff waited until this member held everything the old
// leader acknowledged, and until the new leader puts its own, no member
// lacking it may take the shard by election, even if the new leader
// acknowledges nothing and stops with no standby.
func (m *Member) settled(ctx context.Context, l *Leadership, clear, handed bool) error {
	ops := []clientv3.Op{clientv3.OpDelete(m.keys.candidates, clientv3.WithPrefix())}
	if clear {
		ops = append(ops, clientv3.OpDelete(m.keys.handoff), clientv3.OpDelete(m.keys.sync))
	}
	if handed {
		v := SyncSet{Leader: m.cfg.Name, Token: l.token, Members: []string{m.cfg.Name}, Seq: m.position().Seq}
		ops[len(ops)-1] = clientv3.OpPut(m.keys.sync, encode(v))
	}
	resp, err := m.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(l.key), "=", int64(l.token))).
		Then(ops...).Commit()
	if err == nil && !resp.Succeeded {
		err = fmt.Errorf("%w: term %d ended as it began", ErrNotLeader, l.token)
	}
	if err != nil {
		l.Resign(ctx)
		return fmt.Errorf("cluster: shard %s: clear the candidacies after winning: %w", m.cfg.Shard, err)
	}
	return nil
}

// Lead contends until this member takes the shard, ctx ends, or the member
// is lost. Between tries it waits for a change under the shard's election,
// handoff, sync and candidate keys (a watch: no etcd traffic while nothing
// changes), and at most 5*TTL while no leader holds the shard.
func (m *Member) Lead(ctx context.Context) (*Leadership, error) {
	said := ""
	for {
		l, err := m.Contend(ctx)
		var nc *NotChosenError
		switch {
		case err == nil:
			return l, nil
		case m.Err() != nil:
			return nil, m.Err()
		case m.ctx.Err() != nil:
			return nil, ErrClosed
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.As(err, &nc):
			if !nc.Leader && nc.Reason != said { // no leader, and not this member: say why, once per reason
				said = nc.Reason
				m.log.Info("waiting: no leader", "why", err.Error())
			}
			m.waitChange(ctx, nc.rev, nc.Leader)
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			// The keep-alive loop will find it too; say so now.
			return nil, fmt.Errorf("%w: %v", ErrLeaseLost, err)
		default: // etcd unreachable, or a key that does not decode
			m.log.Warn("campaign failed; trying again", "err", err)
			select {
			case <-ctx.Done():
			case <-m.ctx.Done():
			case <-m.done:
			case <-time.After(m.cfg.TTL):
			}
		}
	}
}

// waitChange waits for a change after rev to the keys that decide an
// election; while no leader holds the shard, at most 5*TTL. While one
// does (led), a change of the sync set alone decides nothing (Contend
// defers to the leader first) and is not waited for: the leader puts it
// again as its members' journals grow, and each standby would otherwise
// read the shard's state after each put.
func (m *Member) waitChange(ctx context.Context, rev int64, led bool) {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func(ctx context.Context) {
		select {
		case <-m.done: // the lease is lost: Lead returns
		case <-m.ctx.Done(): // closed
		case <-ctx.Done():
		}
		stop()
	}(ctx)
	if !led {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*m.cfg.TTL)
		defer cancel()
	}
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev+1))
	}
	own := m.keys.candidates + m.cfg.Name
	for wr := range m.cli.Watch(ctx, m.keys.root, opts...) {
		for _, ev := range wr.Events {
			k := string(ev.Kv.Key)
			if !strings.HasPrefix(k, m.keys.members) && k != m.keys.poll && k != own && (!led || k != m.keys.sync) {
				return
			}
		}
	}
}

// Leader returns who leads the shard, or ErrNoLeader.
func (m *Member) Leader(ctx context.Context) (LeaderInfo, error) {
	s, err := m.readState(ctx)
	if err != nil {
		return LeaderInfo{}, err
	}
	return leaderInfo(s.leader)
}

func leaderInfo(kv *mvccpb.KeyValue) (LeaderInfo, error) {
	if kv == nil {
		return LeaderInfo{}, ErrNoLeader
	}
	var v leaderValue
	if err := decode(string(kv.Key), kv.Value, &v); err != nil {
		return LeaderInfo{}, err
	}
	return LeaderInfo{Name: v.Name, ReplAddr: v.ReplAddr, Token: Token(kv.CreateRevision), Lease: clientv3.LeaseID(kv.Lease)}, nil
}

// Observe follows who leads the shard: it sends the current leader (zero
// LeaderInfo: none) and then each change, until ctx ends or the member is
// closed. A standby follows the ReplAddr it is given. Between changes it
// holds one watch and makes no request.
func (m *Member) Observe(ctx context.Context) <-chan LeaderInfo {
	ch := make(chan LeaderInfo)
	go func() {
		defer close(ch)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(m.ctx, cancel)() // closing the member ends it too
		var last *LeaderInfo
		for ctx.Err() == nil {
			resp, err := m.cli.Get(ctx, m.keys.leader+"/", clientv3.WithFirstCreate()...)
			if err != nil {
				select { // etcd unreachable: the client waits for it; try again
				case <-ctx.Done():
				case <-time.After(m.cfg.TTL / 10):
				}
				continue
			}
			var kv *mvccpb.KeyValue
			if len(resp.Kvs) > 0 {
				kv = resp.Kvs[0]
			}
			info, err := leaderInfo(kv)
			if err != nil && !errors.Is(err, ErrNoLeader) {
				m.log.Warn("leader key does not decode", "err", err)
			}
			if last == nil || *last != info {
				select {
				case ch <- info:
				case <-ctx.Done():
					return
				}
				last = &info
			}
			wctx, wcancel := context.WithCancel(ctx)
			for wr := range m.cli.Watch(wctx, m.keys.leader+"/", clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
				if len(wr.Events) > 0 {
					break
				}
			}
			wcancel()
		}
	}()
	return ch
}
