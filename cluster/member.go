package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Config is one member's place in one shard.
type Config struct {
	Endpoints []string // etcd client URLs, e.g. http://127.0.0.1:2379
	Shard     string   // the shard's name: [A-Za-z0-9._-]{1,64}
	Name      string   // this node's name, unique in the shard: [A-Za-z0-9._-]{1,64}
	// ReplAddr is the host:port where standbys connect while this member
	// leads; it goes into the leader's value, so a standby finds its
	// primary through etcd.
	ReplAddr string
	// TTL is the lease's time to live, whole seconds, at least 1 s (etcd
	// may raise it to its minimum; the guard uses what etcd grants).
	TTL time.Duration
	// Margin is how long before the earliest possible lease expiry the
	// guard runs out; 0: TTL/5 + TTL/100 (see Guard). Must be under TTL/2.
	Margin time.Duration
	// Settle is how long a candidate waits, after posting its durable
	// seq, for other candidates to post theirs; 0: TTL/2.
	Settle time.Duration
	// HandoffTTL bounds how long other members defer to a handoff's
	// target; 0: 2*TTL.
	HandoffTTL time.Duration
	// DurableSeq returns the newest seq this node's journal has made
	// durable; it is read when the member becomes a candidate and when a
	// status is polled, never per batch. nil reads as 0.
	DurableSeq func() int64
	// Epoch returns the newest epoch of this node's epoch history (the
	// token of the last term whose records its journal holds); read with
	// DurableSeq, before it, into the member's Position. nil reads as 0.
	Epoch func() Token
	// Log gets keep-alive failures and recoveries (one record per
	// transition) and the loss of the lease; nil: slog.Default(). The
	// member adds component=cluster, member and shard.
	Log *slog.Logger
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (c *Config) check() error {
	switch {
	case len(c.Endpoints) == 0:
		return errors.New("cluster: no etcd endpoints")
	case !namePattern.MatchString(c.Shard):
		return fmt.Errorf("cluster: shard name %q: want 1 to 64 of A-Z a-z 0-9 . _ -", c.Shard)
	case !namePattern.MatchString(c.Name):
		return fmt.Errorf("cluster: member name %q: want 1 to 64 of A-Z a-z 0-9 . _ -", c.Name)
	case c.TTL < time.Second || c.TTL%time.Second != 0:
		return fmt.Errorf("cluster: lease TTL %v: want whole seconds, at least 1s", c.TTL)
	case c.Margin < 0 || c.Margin >= c.TTL/2:
		return fmt.Errorf("cluster: guard margin %v: want 0 (default) or under TTL/2 (%v)", c.Margin, c.TTL/2)
	}
	return nil
}

// Member is one node's membership of a shard: an etcd client and a lease
// kept alive by the member's own loop. Its keys (member record, candidacy,
// leader key) live under that lease. Safe for concurrent use.
type Member struct {
	cfg     Config
	keys    keys
	cli     *clientv3.Client
	log     *slog.Logger
	lease   clientv3.LeaseID
	session *concurrency.Session // the lease, for concurrency.Election; refreshed by keepAlive, not by the session
	margin  time.Duration

	leaseDeadline atomic.Int64 // like Guard.deadline: when the lease may have expired, less the margin
	lastSentNs    atomic.Int64 // when the newest answered keep-alive was sent, since clockBase
	leading       atomic.Pointer[Leadership]
	frozen        atomic.Bool // tests: stop sending keep-alives, as a frozen process would

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the lease is lost for good
	err    error         // why done closed; written before close(done)

	mu     sync.Mutex // guards closed, and loops.Add against Close's Wait
	closed bool
	loops  sync.WaitGroup

	registered int64 // the revision of the register put; answerPolls watches from after it

	knownMu sync.Mutex             // guards known
	known   map[string]KnownMember // by name: watchMembers keeps it
}

// ErrClosed: the member was closed.
var ErrClosed = errors.New("cluster: member closed")

// goLoop runs f on its own goroutine, which Close waits for; false when the
// member is closed already.
func (m *Member) goLoop(f func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.loops.Add(1)
	go func() {
		defer m.loops.Done()
		f()
	}()
	return true
}

// ErrLeaseLost: the member's lease expired or was revoked; its keys are
// gone, its leadership (if any) has ended, and it must Join again.
var ErrLeaseLost = errors.New("cluster: lease lost")

// Join connects to etcd, grants the member's lease, starts its keep-alive
// loop and registers the member under /ringex/<shard>/members/<name>. A
// name still held by another lease (another process, or this node's
// previous run until its lease expires) makes Join wait, until ctx ends;
// so does an etcd that does not answer, which is logged (grantLease).
func Join(ctx context.Context, cfg Config) (*Member, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Margin == 0 {
		cfg.Margin = cfg.TTL/5 + cfg.TTL/100
	}
	if cfg.Settle == 0 {
		cfg.Settle = cfg.TTL / 2
	}
	if cfg.HandoffTTL == 0 {
		cfg.HandoffTTL = 2 * cfg.TTL
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: cfg.Endpoints,
		// HTTP/2 pings, not etcd requests: they find a dead connection
		// (a partition) so the client moves to another endpoint. etcd
		// refuses pings more often than every 5 s (--grpc-keepalive-min-time).
		DialKeepAliveTime: max(cfg.TTL, 10*time.Second), DialKeepAliveTimeout: 5 * time.Second,
		// gRPC's own reconnect backoff grows to 2 minutes: a primary
		// would find etcd back long after its lease expired. Retry a
		// connection at least every TTL/4 (a TCP connect, no request).
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: cfg.TTL / 4},
			MinConnectTimeout: max(cfg.TTL/4, time.Second),
		})},
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to etcd %v: %w", cfg.Endpoints, err)
	}
	m := &Member{cfg: cfg, keys: keysFor(cfg.Shard), cli: cli, log: cfg.Log, margin: cfg.Margin, done: make(chan struct{})}
	if m.log == nil {
		m.log = slog.Default()
	}
	m.log = m.log.With("component", "cluster", "member", cfg.Name, "shard", cfg.Shard)
	if err := m.grant(ctx); err != nil {
		cli.Close()
		return nil, err
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.goLoop(m.keepAlive)
	if err := m.register(ctx); err != nil {
		m.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	m.goLoop(m.answerPolls)
	m.goLoop(m.watchMembers)
	return m, nil
}

// grant creates the lease and the concurrency.Session over it. The session
// is orphaned at once: its own keep-alive stream would close after one TTL
// without an answer, even while the lease lives on in an etcd that is
// merely unreachable, and it cannot say when a request was sent. keepAlive
// refreshes the lease instead, and only a lease etcd says is gone ends the
// member.
func (m *Member) grant(ctx context.Context) error {
	sent, g, err := m.grantLease(ctx)
	if err != nil {
		return err
	}
	m.lease = g.ID
	m.refreshed(sent, g.TTL)
	s, err := concurrency.NewSession(m.cli, concurrency.WithLease(g.ID), concurrency.WithTTL(int(g.TTL)))
	if err != nil {
		return fmt.Errorf("cluster: session over lease %x: %w", g.ID, err)
	}
	s.Orphan()
	m.session = s
	return nil
}

// grantLogEvery bounds how often grantLease says that etcd still does not
// answer: the first failed attempt is logged, then one line at most every
// grantLogEvery.
const grantLogEvery = 10 * time.Second

// grantLease asks etcd for the member's lease, one attempt of at most a
// TTL at a time, until etcd answers or ctx ends; it returns when the
// answered request was sent. Each failed attempt is logged, at most one
// line every grantLogEvery, naming the endpoints and the error, so that a
// node whose etcd is out of reach at start says so.
func (m *Member) grantLease(ctx context.Context) (time.Time, *clientv3.LeaseGrantResponse, error) {
	var loggedAt time.Time
	for attempt := 1; ; attempt++ {
		sent := time.Now()
		actx, cancel := context.WithTimeout(ctx, m.cfg.TTL)
		g, err := m.cli.Grant(actx, int64(m.cfg.TTL/time.Second))
		cancel()
		if err == nil {
			if attempt > 1 {
				m.log.Info("etcd answered: lease granted", "etcd", strings.Join(m.cfg.Endpoints, ","), "attempts", attempt)
			}
			return sent, g, nil
		}
		err = fmt.Errorf("cluster: grant a %v lease for member %s of shard %s: %w", m.cfg.TTL, m.cfg.Name, m.cfg.Shard, err)
		if ctx.Err() != nil {
			return sent, nil, err
		}
		if now := time.Now(); now.Sub(loggedAt) >= grantLogEvery {
			loggedAt = now
			m.log.Warn("etcd did not answer; not joined, trying again", "etcd", strings.Join(m.cfg.Endpoints, ","), "attempt", attempt,
				"connection", m.cli.ActiveConnection().GetState().String(), "err", err, "retry_every", m.cfg.TTL)
		}
		select { // an attempt that failed at once waits out its TTL
		case <-ctx.Done():
			return sent, nil, err
		case <-time.After(time.Until(sent.Add(m.cfg.TTL))):
		}
	}
}

// refreshed records a keep-alive (or the grant) sent at sent and answered
// with ttlSec: the lease lives at least until sent + ttl.
func (m *Member) refreshed(sent time.Time, ttlSec int64) {
	d := sinceBase(sent) + int64(time.Duration(ttlSec)*time.Second-m.margin)
	m.lastSentNs.Store(sinceBase(sent))
	m.leaseDeadline.Store(d)
	if l := m.leading.Load(); l != nil {
		l.guard.extend(d)
	}
}

// keepAlive refreshes the lease every TTL/3 with one KeepAliveOnce, timing
// each from when its request was sent (see Guard). The steady-state etcd
// traffic of a member is this loop: 3 requests per TTL. While etcd does not
// answer it retries every TTL/10; the guard runs out meanwhile and comes
// back with the first answer. Only etcd saying the lease is gone ends it.
func (m *Member) keepAlive() {
	every := m.cfg.TTL / 3
	failing := false
	for {
		wait := every
		if !m.frozen.Load() {
			sent := time.Now()
			ctx, cancel := context.WithTimeout(m.ctx, every)
			resp, err := m.cli.KeepAliveOnce(ctx, m.lease)
			cancel()
			switch {
			case err == nil && failing && !m.confirmLeading():
				wait = m.cfg.TTL / 10 // the guard stays out until the key is confirmed
			case err == nil:
				if failing {
					m.log.Info("etcd answers keep-alives again", "lease", fmt.Sprintf("%x", int64(m.lease)))
				}
				m.refreshed(sent, resp.TTL)
				failing = false
				wait = every - time.Since(sent)
			case errors.Is(err, rpctypes.ErrLeaseNotFound):
				m.lose(fmt.Errorf("%w: etcd no longer holds lease %x of member %s (expired or revoked)", ErrLeaseLost, m.lease, m.cfg.Name))
				return
			case m.ctx.Err() != nil:
				return
			default:
				if !failing {
					m.log.Warn("keep-alive failed; the lease may expire unless etcd answers", "lease", fmt.Sprintf("%x", int64(m.lease)), "err", err,
						"expires", clockBase.Add(time.Duration(m.leaseDeadline.Load())+m.margin).Format(time.RFC3339Nano))
				}
				failing = true
				wait = m.cfg.TTL / 10
			}
		}
		select {
		case <-m.ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// confirmLeading, after etcd was out of reach, checks that the leader key
// is still this term's before the keep-alive revives the guard: while this
// member could not hear, the key may have been deleted by hand and another
// member elected, and the watch that would say so may not have caught up.
// One request per recovery, none in steady state. False: etcd did not
// answer, and the guard stays out.
func (m *Member) confirmLeading() bool {
	l := m.leading.Load()
	if l == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.TTL/3)
	defer cancel()
	resp, err := m.cli.Get(ctx, l.key)
	if err != nil {
		return false // cannot tell yet: the guard stays out
	}
	if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != int64(l.token) {
		l.keyGone(", found gone after etcd came back")
	}
	return true
}

// lose ends the member: its lease is gone, and with it any leadership.
func (m *Member) lose(err error) {
	select {
	case <-m.done:
		return
	default:
	}
	m.err = err
	if l := m.leading.Load(); l != nil {
		l.end(err)
	}
	m.log.Warn("membership ended: the lease is lost", "err", err)
	close(m.done)
}

// Done is closed when the member's lease is lost for good (Err says why):
// its leadership, if any, has ended and it must Join again.
func (m *Member) Done() <-chan struct{} { return m.done }

// Err says why Done closed; nil while it is open.
func (m *Member) Err() error {
	select {
	case <-m.done:
		return m.err
	default:
		return nil
	}
}

// Name returns the member's name.
func (m *Member) Name() string { return m.cfg.Name }

// Margin returns the guard margin in force (Config.Margin, or its
// default): a guard runs out this long before the lease's earliest expiry.
func (m *Member) Margin() time.Duration { return m.margin }

// Lease returns the member's lease id.
func (m *Member) Lease() clientv3.LeaseID { return m.lease }

// LeaseDeadline returns the instant by which the member's lease may have
// expired, less the guard's margin, unless a keep-alive extends it: a
// leader's guard runs out then too. One atomic load, no etcd round trip.
func (m *Member) LeaseDeadline() time.Time {
	return clockBase.Add(time.Duration(m.leaseDeadline.Load()))
}

// Close resigns any leadership, stops the keep-alives, revokes the lease
// (so its keys go at once rather than after the TTL) and closes the client.
func (m *Member) Close(ctx context.Context) error {
	var errs []error
	if l := m.leading.Load(); l != nil {
		errs = append(errs, l.Resign(ctx))
	}
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.loops.Wait()
	if _, err := m.cli.Revoke(ctx, m.lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		errs = append(errs, fmt.Errorf("cluster: revoke lease %x of member %s: %w", m.lease, m.cfg.Name, err))
	}
	errs = append(errs, m.cli.Close())
	return errors.Join(errs...)
}

// position reads the node's Position: the epoch first, so that a node
// that cuts its journal and then adopts a newer history is never seen with
// the new epoch and the old, longer journal.
func (m *Member) position() Position {
	var p Position
	if m.cfg.Epoch != nil {
		p.Token = m.cfg.Epoch()
	}
	if m.cfg.DurableSeq != nil {
		p.Seq = m.cfg.DurableSeq()
	}
	return p
}

// KnownMember is a member's record as this member last heard it: what
// that member last published (at its Join and at each status poll), and
// when this member heard it (at the latest, when its watch began).
type KnownMember struct {
	Name       string
	DurableSeq int64
	Epoch      Token
	Heard      time.Time
}

// Members returns the shard's members as this member last heard of them,
// by name: one watch on members/ keeps them, so a call costs etcd nothing
// (a node's status page reads it on every scrape). A seq is as fresh as
// the last status poll ('ringex status --etcd', a handoff): members
// publish only when asked.
func (m *Member) Members() []KnownMember {
	m.knownMu.Lock()
	out := make([]KnownMember, 0, len(m.known))
	for _, k := range m.known {
		out = append(out, k)
	}
	m.knownMu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// watchMembers keeps m.known: it reads members/ once, then follows it with
// one watch, reading it again when the watch breaks (compaction, a lost
// stream), until the member closes.
func (m *Member) watchMembers() {
	for m.ctx.Err() == nil {
		resp, err := m.cli.Get(m.ctx, m.keys.members, clientv3.WithPrefix())
		if err != nil {
			select { // etcd unreachable: try again
			case <-m.ctx.Done():
			case <-time.After(m.cfg.TTL / 10):
			}
			continue
		}
		known := map[string]KnownMember{}
		for _, kv := range resp.Kvs {
			m.heard(known, kv.Key, kv.Value)
		}
		m.knownMu.Lock()
		m.known = known
		m.knownMu.Unlock()
		for wr := range m.cli.Watch(m.ctx, m.keys.members, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
			m.knownMu.Lock()
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					delete(m.known, strings.TrimPrefix(string(ev.Kv.Key), m.keys.members))
				} else {
					m.heard(m.known, ev.Kv.Key, ev.Kv.Value)
				}
			}
			m.knownMu.Unlock()
		}
	}
}

// heard records a members/ key's value in known; one that does not decode
// is logged and left out.
func (m *Member) heard(known map[string]KnownMember, key, value []byte) {
	var v memberValue
	if err := decode(string(key), value, &v); err != nil {
		m.log.Warn("member record left out: it does not decode", "key", string(key), "err", err)
		return
	}
	known[v.Name] = KnownMember{Name: v.Name, DurableSeq: v.DurableSeq, Epoch: v.Epoch, Heard: time.Now()}
}
