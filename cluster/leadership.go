package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Leadership is one term of a member's leadership of its shard: won by
// Contend, ended by Resign, Handoff, the loss of the lease or the deletion
// of its key. Safe for concurrent use.
type Leadership struct {
	m     *Member
	key   string // the election key, /ringex/<shard>/leader/<lease id>
	token Token
	guard Guard

	stopWatch context.CancelFunc
	leaving   atomic.Pointer[error] // why this member is deleting the key itself (Resign, Handoff)
	once      sync.Once
	lost      chan struct{}
	err       error // why lost closed; written before close(lost)
}

// Errors a Leadership ends with (Err).
var (
	ErrResigned  = errors.New("cluster: leadership resigned")
	ErrHandedOff = errors.New("cluster: leadership handed off")
	ErrKeyGone   = errors.New("cluster: leader key deleted or replaced in etcd")
)

// ErrNotLeader: an operation that needs the leadership found it ended.
var ErrNotLeader = errors.New("cluster: not the shard's leader")

// Token returns the term's fencing token: the create revision of its leader
// key. It goes into the epoch history as the term's epoch number and into
// every replication frame of the term.
func (l *Leadership) Token() Token { return l.token }

// Guard returns the term's lease guard: the acknowledging stage checks it
// once per batch.
func (l *Leadership) Guard() *Guard { return &l.guard }

// Lost is closed when the leadership has ended for good (Err says why). The
// guard is fenced before it closes.
func (l *Leadership) Lost() <-chan struct{} { return l.lost }

// Err says why Lost closed; nil while it is open.
func (l *Leadership) Err() error {
	select {
	case <-l.lost:
		return l.err
	default:
		return nil
	}
}

// newLeadership starts a term whose election key was created at token.
func (m *Member) newLeadership(key string, token Token) *Leadership {
	ctx, cancel := context.WithCancel(m.ctx)
	l := &Leadership{m: m, key: key, token: token, lost: make(chan struct{}), stopWatch: cancel}
	l.guard.extend(m.leaseDeadline.Load())
	m.leading.Store(l)
	l.guard.extend(m.leaseDeadline.Load()) // a keep-alive answered in between
	if !m.goLoop(func() { l.watchKey(ctx) }) {
		l.end(ErrClosed)
	}
	if m.Err() != nil {
		l.end(m.Err())
	}
	return l
}

// end ends the term: fence the guard, then say so.
func (l *Leadership) end(err error) {
	l.once.Do(func() {
		l.guard.fence()
		l.m.leading.CompareAndSwap(l, nil)
		l.err = err
		l.stopWatch()
		close(l.lost)
	})
}

// keyGone ends the term because its key went: for the reason this member
// deleted it, if it did.
func (l *Leadership) keyGone(detail string) {
	if why := l.leaving.Load(); why != nil {
		l.end(*why)
		return
	}
	l.end(fmt.Errorf("%w: %s (token %d)%s", ErrKeyGone, l.key, l.token, detail))
}

// leave fences the guard and records why this member is about to delete
// its own key.
func (l *Leadership) leave(why error) {
	l.guard.fence()
	l.leaving.Store(&why)
}

// watchKey ends the term when its key is deleted or replaced: by Resign or
// Handoff, by the lease's expiry, or by an operator.
func (l *Leadership) watchKey(ctx context.Context) {
	rev := int64(l.token)
	for ctx.Err() == nil {
		wch := l.m.cli.Watch(ctx, l.key, clientv3.WithRev(rev))
		for wr := range wch {
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete || ev.Kv.CreateRevision != int64(l.token) {
					l.keyGone("")
					return
				}
			}
			rev = wr.Header.Revision + 1
		}
		// The watch broke (compaction, a lost stream): look at the key.
		if ctx.Err() != nil {
			return
		}
		resp, err := l.m.cli.Get(ctx, l.key)
		if err != nil {
			continue
		}
		if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != int64(l.token) {
			l.keyGone("")
			return
		}
		rev = resp.Header.Revision + 1
	}
}

// Resign ends the term: the guard is fenced first, then the leader key is
// deleted if it is still this term's. A failed delete (etcd unreachable)
// leaves the term ended here but the key in etcd, where it blocks the next
// election until it is deleted or the lease expires: call Resign again,
// or Close the member.
func (l *Leadership) Resign(ctx context.Context) error {
	l.leave(ErrResigned)
	_, err := l.m.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(l.key), "=", int64(l.token))).
		Then(clientv3.OpDelete(l.key)).Commit()
	l.end(ErrResigned)
	if err != nil {
		return fmt.Errorf("cluster: resign %s (token %d): %w", l.key, l.token, err)
	}
	return nil
}

// Handoff gives the shard to member to ('ringex promote <node>'): the guard
// is fenced first (nothing more is acknowledged under this term), then one
// transaction, if this term still leads and to is a member, writes the
// handoff key naming to and deletes the leader key. Other members defer to
// to while the handoff key lives (Config.HandoffTTL, on a lease of its
// own). The caller makes sure first that to holds every record this term
// acknowledged (in sync mode it does), up to held, which the handoff key
// keeps: a process that joins under to's name holding less (to started
// again on an empty disk or an older backup) does not take the shard by
// it (Contend). Handoff ends the term whatever the outcome, once it has
// fenced the guard.
func (l *Leadership) Handoff(ctx context.Context, to string, held int64) error {
	m := l.m
	if to == m.cfg.Name {
		return fmt.Errorf("cluster: handoff of shard %s to %s: it leads already", m.cfg.Shard, to)
	}
	member := m.keys.members + to
	if resp, err := m.cli.Get(ctx, member, clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("cluster: handoff of shard %s: look up member %s: %w", m.cfg.Shard, to, err)
	} else if resp.Count == 0 {
		return fmt.Errorf("cluster: handoff of shard %s: %s is not a member (no key %s)", m.cfg.Shard, to, member)
	}
	l.leave(ErrHandedOff)
	g, err := m.cli.Grant(ctx, int64((m.cfg.HandoffTTL+time.Second-1)/time.Second))
	if err != nil {
		l.end(ErrResigned)
		return fmt.Errorf("cluster: handoff of shard %s to %s: grant the handoff lease: %w", m.cfg.Shard, to, err)
	}
	resp, err := m.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(l.key), "=", int64(l.token)),
			clientv3.Compare(clientv3.CreateRevision(member), ">", 0)).
		Then(clientv3.OpPut(m.keys.handoff, encode(handoffValue{To: to, From: m.cfg.Name, Token: l.token, Seq: held}), clientv3.WithLease(g.ID)),
			clientv3.OpDelete(l.key)).Commit()
	switch {
	case err != nil:
		l.end(ErrResigned)
		return fmt.Errorf("cluster: handoff of shard %s to %s, outcome unknown: %w (this member acknowledges no more; Resign frees the key if the handoff did not)", m.cfg.Shard, to, err)
	case !resp.Succeeded:
		m.cli.Revoke(ctx, g.ID)
		l.Resign(ctx)
		return fmt.Errorf("cluster: handoff of shard %s to %s refused: this term (token %d) no longer leads or %s left the shard; resigned", m.cfg.Shard, to, l.token, to)
	}
	l.end(ErrHandedOff)
	return nil
}

// campaign runs the etcd election (concurrency.Election over the member's
// lease) and returns the term it won. It waits at most Settle: a member
// that is not first in line gives up its place rather than queue, since
// whoever takes the shard next must be chosen afresh (Contend).
func (m *Member) campaign(ctx context.Context) (*Leadership, error) {
	e := concurrency.NewElection(m.session, m.keys.leader)
	cctx, cancel := context.WithTimeout(ctx, m.cfg.Settle)
	err := e.Campaign(cctx, encode(leaderValue{Name: m.cfg.Name, ReplAddr: m.cfg.ReplAddr}))
	cancel()
	if err != nil {
		m.dropOwnLeaderKeys(context.WithoutCancel(ctx))
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, &NotChosenError{Reason: "another member took the election first"}
		}
		return nil, fmt.Errorf("cluster: campaign for shard %s: %w", m.cfg.Shard, err)
	}
	return m.newLeadership(e.Key(), Token(e.Rev())), nil
}

// dropOwnLeaderKeys deletes election keys under this member's lease that no
// Leadership holds: left by a campaign whose outcome the member did not
// learn. Left there, they would make the member leader in etcd's eyes while
// it acknowledges nothing, until its lease ends.
func (m *Member) dropOwnLeaderKeys(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.TTL)
	defer cancel()
	resp, err := m.cli.Get(ctx, m.keys.leader+"/", clientv3.WithPrefix())
	if err != nil {
		return
	}
	for _, kv := range resp.Kvs {
		if clientv3.LeaseID(kv.Lease) != m.lease {
			continue
		}
		if l := m.leading.Load(); l != nil && l.key == string(kv.Key) {
			continue
		}
		m.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(string(kv.Key)), "=", kv.CreateRevision)).
			Then(clientv3.OpDelete(string(kv.Key))).Commit()
	}
}
