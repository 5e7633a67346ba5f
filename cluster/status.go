package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// register puts the member's record under its lease, once no other lease
// holds the name.
func (m *Member) register(ctx context.Context) error {
	key := m.keys.members + m.cfg.Name
	for {
		resp, err := m.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, m.record(), clientv3.WithLease(m.lease))).
			Else(clientv3.OpGet(key)).Commit()
		if err != nil {
			return fmt.Errorf("cluster: register %s: %w", key, err)
		}
		if resp.Succeeded {
			m.registered = resp.Header.Revision
			return nil
		}
		holder := clientv3.LeaseID(resp.Responses[0].GetResponseRange().Kvs[0].Lease)
		m.log.Warn("member name held by another lease (another process, or this node's previous run until its lease expires): waiting", "holder_lease", fmt.Sprintf("%x", int64(holder)))
		if err := m.waitDeleted(ctx, key, resp.Header.Revision+1); err != nil {
			return fmt.Errorf("cluster: register %s: held by lease %x: %w", key, holder, err)
		}
	}
}

func (m *Member) record() string {
	p := m.position()
	return encode(memberValue{Name: m.cfg.Name, ReplAddr: m.cfg.ReplAddr, DurableSeq: p.Seq, Epoch: p.Token})
}

// waitDeleted waits until key is deleted at or after rev.
func (m *Member) waitDeleted(ctx context.Context, key string, rev int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for wr := range m.cli.Watch(ctx, key, clientv3.WithRev(rev)) {
		for _, ev := range wr.Events {
			if ev.Type == clientv3.EventTypeDelete {
				return nil
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("watch on %s ended", key)
}

// answerPolls re-puts the member's record, with its durable seq, whenever a
// status poll bumps the poll key: members publish their seqs only when
// asked, so steady state stays keep-alives only. It watches from the
// revision after its registration, and after a broken watch from the
// revision after the last poll it saw, so that no poll goes unanswered
// (one made before its watch began included); a poll compacted away is
// answered once anyway.
func (m *Member) answerPolls() {
	key := m.keys.members + m.cfg.Name
	next := m.registered + 1
	for m.ctx.Err() == nil {
		for wr := range m.cli.Watch(m.ctx, m.keys.poll, clientv3.WithRev(next)) {
			if wr.CompactRevision != 0 {
				next = wr.CompactRevision
			} else if len(wr.Events) == 0 {
				continue
			} else {
				next = wr.Events[len(wr.Events)-1].Kv.ModRevision + 1
			}
			ctx, cancel := context.WithTimeout(m.ctx, m.cfg.TTL)
			_, err := m.cli.Put(ctx, key, m.record(), clientv3.WithLease(m.lease))
			cancel()
			if err != nil && m.ctx.Err() == nil {
				m.log.Warn("answering a status poll failed", "key", key, "err", err)
			}
		}
		select {
		case <-m.ctx.Done():
		case <-time.After(m.cfg.TTL / 10):
		}
	}
}

// Status is a shard as etcd sees it ('ringex status').
type Status struct {
	Shard      string
	Leader     string // "" when none
	LeaderRepl string
	Token      Token
	// LeaseLeft is what etcd says is left of the leader's lease (whole
	// seconds: etcd's resolution); 0 without a leader.
	LeaseLeft time.Duration
	Members   []MemberStatus // by name
	// Sync is the standing sync set (nil: none): its members hold every
	// record its term acknowledged, and only they may take the shard by
	// election. A set of the leader alone says it acknowledges (or did,
	// when it was lost) records no standby holds.
	Sync      *SyncSet
	HandoffTo string // a handoff in progress names this member
}

// MemberStatus is one member's line of a Status.
type MemberStatus struct {
	Name       string
	ReplAddr   string
	DurableSeq int64
	// Epoch is the newest epoch of the member's history, published with
	// DurableSeq: Position() orders members by what they hold.
	Epoch Token
	// Fresh: the member answered this status's poll, so DurableSeq is
	// current; otherwise it is the seq it last published.
	Fresh bool
}

// Position is where the member's journal ends, as candidates compare it.
func (s MemberStatus) Position() Position { return Position{Token: s.Epoch, Seq: s.DurableSeq} }

// Status reads the shard's status, polling the members for their durable
// seqs and waiting up to wait for their answers.
func (m *Member) Status(ctx context.Context, wait time.Duration) (Status, error) {
	return readStatus(ctx, m.cli, m.keys, wait)
}

// ReadStatus reads the status of a shard as any etcd client can, without
// being a member: 'ringex status' pointed at etcd.
func ReadStatus(ctx context.Context, endpoints []string, shard string, wait time.Duration) (Status, error) {
	if !namePattern.MatchString(shard) {
		return Status{}, fmt.Errorf("cluster: shard name %q: want 1 to 64 of A-Z a-z 0-9 . _ -", shard)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: wait, Logger: zap.NewNop()})
	if err != nil {
		return Status{}, fmt.Errorf("cluster: connect to etcd %v: %w", endpoints, err)
	}
	defer cli.Close()
	return readStatus(ctx, cli, keysFor(shard), wait)
}

func readStatus(ctx context.Context, cli *clientv3.Client, k keys, wait time.Duration) (Status, error) {
	st := Status{Shard: k.shard}
	poll, err := cli.Put(ctx, k.poll, "")
	if err != nil {
		return st, fmt.Errorf("cluster: poll the members of shard %s: %w", k.shard, err)
	}
	var resp *clientv3.TxnResponse
	for end := time.Now().Add(wait); ; {
		resp, err = cli.Txn(ctx).Then(
			clientv3.OpGet(k.leader+"/", clientv3.WithFirstCreate()...),
			clientv3.OpGet(k.members, clientv3.WithPrefix()),
			clientv3.OpGet(k.sync), clientv3.OpGet(k.handoff)).Commit()
		if err != nil {
			return st, fmt.Errorf("cluster: read the status of shard %s: %w", k.shard, err)
		}
		if allFresh(resp, poll.Header.Revision) || time.Now().After(end) {
			break
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(wait / 20):
		}
	}
	return fillStatus(ctx, cli, k, st, resp, poll.Header.Revision)
}

func allFresh(resp *clientv3.TxnResponse, pollRev int64) bool {
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		if kv.ModRevision <= pollRev {
			return false
		}
	}
	return true
}

func fillStatus(ctx context.Context, cli *clientv3.Client, k keys, st Status, resp *clientv3.TxnResponse, pollRev int64) (Status, error) {
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		info, err := leaderInfo(kvs[0])
		if err != nil {
			return st, err
		}
		st.Leader, st.LeaderRepl, st.Token = info.Name, info.ReplAddr, info.Token
		ttl, err := cli.TimeToLive(ctx, info.Lease)
		if err != nil {
			return st, fmt.Errorf("cluster: time to live of leader %s's lease %x: %w", info.Name, info.Lease, err)
		}
		st.LeaseLeft = time.Duration(max(ttl.TTL, 0)) * time.Second
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		var v memberValue
		if err := decode(string(kv.Key), kv.Value, &v); err != nil {
			return st, err
		}
		st.Members = append(st.Members, MemberStatus{Name: v.Name, ReplAddr: v.ReplAddr, DurableSeq: v.DurableSeq, Epoch: v.Epoch, Fresh: kv.ModRevision > pollRev})
	}
	sort.Slice(st.Members, func(i, j int) bool { return strings.Compare(st.Members[i].Name, st.Members[j].Name) < 0 })
	if kvs := resp.Responses[2].GetResponseRange().Kvs; len(kvs) > 0 {
		v, err := decodeSync(k.sync, kvs[0].Value)
		if err != nil {
			return st, err
		}
		st.Sync = v
	}
	if kvs := resp.Responses[3].GetResponseRange().Kvs; len(kvs) > 0 {
		var v handoffValue
		if err := decode(k.handoff, kvs[0].Value, &v); err != nil {
			return st, err
		}
		st.HandoffTo = v.To
	}
	return st, nil
}

// AwaitPosition waits until member name holds want(): it asks the members
// to publish (a status poll), follows name's record with one watch, and
// asks again after each answer that falls short, no sooner than every
// after the last ask (and after a TTL without an answer), until ctx ends.
// It returns the durable seq name published. A handoff waits for its
// target so: one watch, and one poll per answer, instead of reading the
// whole status again and again.
func (m *Member) AwaitPosition(ctx context.Context, name string, want func() Position, every time.Duration) (int64, error) {
	key := m.keys.members + name
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := m.cli.Txn(ctx).Then(clientv3.OpPut(m.keys.poll, ""), clientv3.OpGet(key, clientv3.WithCountOnly())).Commit()
	if err != nil {
		return 0, fmt.Errorf("cluster: ask member %s of shard %s for its position: %w", name, m.cfg.Shard, err)
	}
	if resp.Responses[1].GetResponseRange().Count == 0 {
		return 0, fmt.Errorf("cluster: %s is not a member of shard %s (no key %s)", name, m.cfg.Shard, key)
	}
	wch := m.cli.Watch(ctx, key, clientv3.WithRev(resp.Header.Revision+1))
	asked, last := time.Now(), "no answer"
	for {
		var answered bool
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("cluster: %s did not reach %v (it holds %s): %w", name, want(), last, ctx.Err())
		case wr, ok := <-wch:
			if !ok || wr.Err() != nil {
				return 0, fmt.Errorf("cluster: follow member %s of shard %s: the watch ended (%v); it holds %s", name, m.cfg.Shard, wr.Err(), last)
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					return 0, fmt.Errorf("cluster: %s left shard %s (its key %s was deleted); it held %s", name, m.cfg.Shard, key, last)
				}
				var v memberValue
				if err := decode(key, ev.Kv.Value, &v); err != nil {
					return 0, err
				}
				at := Position{Token: v.Epoch, Seq: v.DurableSeq}
				if !at.Less(want()) {
					return v.DurableSeq, nil
				}
				last, answered = at.String(), true
			}
		case <-time.After(time.Until(asked.Add(m.cfg.TTL))):
		}
		if !answered && time.Since(asked) < m.cfg.TTL {
			continue
		}
		select {
		case <-ctx.Done():
			continue
		case <-time.After(time.Until(asked.Add(every))):
		}
		if _, err := m.cli.Put(ctx, m.keys.poll, ""); err != nil && ctx.Err() == nil {
			return 0, fmt.Errorf("cluster: ask member %s of shard %s for its position again: %w", name, m.cfg.Shard, err)
		}
		asked = time.Now()
	}
}
