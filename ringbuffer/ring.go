package ringbuffer

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	disruptor "github.com/smarty/go-disruptor"
)

// ErrClosed is returned by Claim once the ring has been closed or has failed.
// Err tells which, and why.
var ErrClosed = errors.New("ringbuffer: closed")

// DefaultCapacity is the number of slots when Options.Capacity is zero.
const DefaultCapacity = 16384

// maxCapacity bounds the slot array; go-disruptor keeps laps in an int32.
const maxCapacity = 1 << 30

const cacheLine = 64

// minSequencerCapacity is the least capacity go-disruptor's sequencer is
// given; see New. A variable so that a test can make the gate lag.
var minSequencerCapacity uint32 = 4096

// Options configure a Ring. The zero value is a single-writer ring of
// DefaultCapacity slots with the hybrid wait.
type Options struct {
	// Capacity is the number of slots, a power of two; 0 means DefaultCapacity.
	Capacity uint32
	// Writers > 1 lets any number of goroutines Claim and Publish
	// concurrently. With 0 or 1, Claim and Publish must come from one
	// goroutine at a time, in claim order.
	Writers int
	// Wait is the strategy of every stage goroutine and of writers waiting
	// for room.
	Wait WaitStrategy
	// OnFail, if set, is called once, with the error, when the pipeline
	// fails (Fail, or a handler's panic as a *PanicError), on the goroutine
	// that failed it: the place to say so in a log.
	OnFail func(error)
}

// Ring is a sequenced pipeline of stages over a ring of slots of type T.
// T must be a fixed-size type without pointers: slots are reused in place,
// lap after lap, and the garbage collector never scans them.
type Ring[T any] struct {
	slots []T
	pipe
}

// pipe is everything of a Ring that does not depend on the slot type. Its
// fields are grouped by who writes them, each group on its own cache lines:
// a stage spinning on the stop flags must not miss its cache every time a
// writer counts a claim.
type pipe struct {
	// Set by New, then only read.
	mask       int64
	capacity   int64
	wait       WaitStrategy
	onFail     func(error)
	nudgeAt    int64
	commitMask int64 // one writer: go-disruptor hears of every commitMask+1'th publish
	multi      bool  // several writers
	dis        disruptor.Disruptor
	gate       *gate
	published  []atomic.Int64 // published[i&mask] == i once sequence i is published
	stages     []*stage
	listeners  []*listener
	last       *stage
	writers    int
	_          [cacheLine]byte

	// Written by every Claim and Publish.
	claims atomic.Int64 // Claims let through, plus closedBit once Claim refuses
	_      [cacheLine - 8]byte

	// Written by writers on their slow path.
	cachedTail   atomic.Int64 // a recent position of the last stage
	backPressure atomic.Uint64
	reserveWaits atomic.Uint64
	_            [cacheLine - 24]byte

	// Written once or twice in the ring's life, read by every waiting loop.
	failed      atomic.Bool
	stopping    atomic.Bool  // set by Close: listeners exit past drainTarget
	drainTarget atomic.Int64 // last published sequence once Close stopped accepting
	_           [cacheLine - 16]byte

	roomSig signal // writers waiting for room park here; the last stage notifies

	errMu         sync.Mutex // guards failure and letThrough
	failure       error
	letThrough    int64 // claims let through before closedBit was set
	startOnce     sync.Once
	closeOnce     sync.Once
	listenersDone sync.WaitGroup
	gateDone      chan struct{}
}

// closedBit in pipe.claims makes Claim refuse. Claim adds one to claims and
// tests the bit in a single atomic step; whoever sets the bit first (Close or
// Fail) learns from the same step how many claims were let through, and as
// each of those reserves exactly one sequence, Close then waits until that
// many sequences are published. No claim slips between the two.
const closedBit = 1 << 62

// New builds a ring whose slots pass through the stages in the order given.
// Nothing runs until Start.
func New[T any](opts Options, stages ...Stage) (*Ring[T], error) {
	if err := checkSlotType(reflect.TypeFor[T]()); err != nil {
		return nil, err
	}
	capacity := opts.Capacity
	if capacity == 0 {
		capacity = DefaultCapacity
	}
	if capacity&(capacity-1) != 0 || capacity > maxCapacity {
		return nil, fmt.Errorf("ringbuffer: capacity %d is not a power of two up to %d", capacity, maxCapacity)
	}
	if opts.Wait != WaitHybrid && opts.Wait != WaitBusySpin {
		return nil, fmt.Errorf("ringbuffer: unknown wait strategy %d", int(opts.Wait))
	}
	if opts.Writers < 0 {
		return nil, fmt.Errorf("ringbuffer: %d writers", opts.Writers)
	}
	if len(stages) == 0 {
		return nil, errors.New("ringbuffer: no stages")
	}
	for i, s := range stages {
		if len(s.Handlers) == 0 {
			return nil, fmt.Errorf("ringbuffer: stage %d (%q) has no handlers", i, s.Name)
		}
		for j, h := range s.Handlers {
			if h == nil {
				return nil, fmt.Errorf("ringbuffer: stage %d (%q) handler %d is nil", i, s.Name, j)
			}
		}
	}

	r := &Ring[T]{slots: make([]T, capacity)}
	p := &r.pipe
	p.mask = int64(capacity) - 1
	p.capacity = int64(capacity)
	p.wait = opts.Wait
	p.onFail = opts.OnFail
	// go-disruptor's wrap check only has to stay out of the way of ours,
	// which is exact; a larger bound on small rings lets the gate sleep
	// for more than a few claims at a time.
	seqCapacity := max(capacity, minSequencerCapacity)
	p.nudgeAt = int64(seqCapacity) / 4
	p.writers = max(opts.Writers, 1)
	p.multi = p.writers > 1
	p.commitMask = int64(seqCapacity)/16 - 1
	p.gateDone = make(chan struct{})
	p.published = make([]atomic.Int64, capacity)
	for i := range p.published {
		p.published[i].Store(-1)
	}
	p.cachedTail.Store(-1)
	p.drainTarget.Store(-1)
	p.roomSig.init()
	p.gate = newGate(&p.roomSig)

	dis, err := disruptor.New(
		disruptor.Options.BufferCapacity(seqCapacity),
		disruptor.Options.WriterCount(uint8(min(p.writers, 255))),
		disruptor.Options.WaitStrategy(p.gate),
		disruptor.Options.NewHandlerGroup(p.gate),
	)
	if err != nil {
		return nil, fmt.Errorf("ringbuffer: go-disruptor: %w", err)
	}
	p.dis = dis
	p.buildStages(stages)
	return r, nil
}

// checkSlotType refuses slot types the garbage collector would have to scan.
func checkSlotType(t reflect.Type) error {
	if path := pointerPath(t); path != "" {
		return fmt.Errorf("ringbuffer: slot type %v holds a pointer (%s); slots must be pointer-free", t, path)
	}
	return nil
}

// pointerPath names the first pointer-carrying part of t, or returns "".
func pointerPath(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return ""
	case reflect.Array:
		if t.Len() == 0 {
			return ""
		}
		if path := pointerPath(t.Elem()); path != "" {
			return "element " + path
		}
		return ""
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if path := pointerPath(t.Field(i).Type); path != "" {
				return "field " + t.Field(i).Name + " " + path
			}
		}
		return ""
	}
	return t.String()
}

// Start starts the stage goroutines. Calling it again does nothing.
func (r *Ring[T]) Start() { r.start() }

// Claim reserves the next slot for the caller, who fills it through Slot and
// then must Publish it. It blocks while the ring is full; each Claim that had
// to wait counts as back-pressure in Stats. It returns ErrClosed once Close
// or Fail has been called, including to writers blocked in it when the ring
// fails. Hot path.
func (r *Ring[T]) Claim() (seq int64, err error) { return r.claim() }

// Slot returns the slot for seq: the writer's between Claim and Publish, a
// handler's inside Handle. Hot path.
func (r *Ring[T]) Slot(seq int64) *T { return &r.slots[seq&r.mask] }

// Publish makes the claimed slot visible to the first stage. Hot path.
func (r *Ring[T]) Publish(seq int64) { r.publish(seq) }

// Close stops accepting claims, waits for the claims already made to be
// published, lets every stage handle everything published, stops the
// goroutines and returns the failure that stopped the ring, if one did. It
// starts the ring if Start was never called, so that what was published
// drains. Closing again returns the same. A handler must not call Close (it
// would wait for itself); it calls Fail.
func (r *Ring[T]) Close() error { return r.close() }

// Fail stops the ring with err, for a handler whose failure makes going on
// wrong (the journal could not fsync). Claim returns ErrClosed from then on,
// writers blocked in Claim return ErrClosed, no stage starts another batch,
// and the batch of the handler that called Fail reaches no later stage.
// Close returns err. Only the first failure is kept.
func (r *Ring[T]) Fail(err error) { r.fail(err) }

// Err returns the failure that stopped the ring, or nil.
func (r *Ring[T]) Err() error { return r.err() }

func (r *pipe) start() {
	r.startOnce.Do(func() {
		go func() {
			defer close(r.gateDone)
			r.dis.Listen()
		}()
		r.listenersDone.Add(len(r.listeners))
		for _, l := range r.listeners {
			go func() {
				defer r.listenersDone.Done()
				l.run()
			}()
		}
	})
}

// claim: see Ring.Claim. Hot path.
func (r *pipe) claim() (int64, error) {
	if r.claims.Add(1)&closedBit != 0 {
		return -1, ErrClosed
	}
	seq := r.dis.TryReserve(1)
	if seq < 0 && !r.reserve(&seq) {
		return -1, ErrClosed
	}
	if seq-r.gate.real.Load() > r.nudgeAt && r.gate.nudge() {
		// The gate now waits on our P; a writer that never blocks would
		// keep it waiting until go-disruptor refuses the writer.
		runtime.Gosched()
	}
	wrap := seq - r.capacity
	if wrap > r.cachedTail.Load() && !r.awaitRoom(wrap) {
		// The ring failed while we waited. The sequence stays reserved and
		// unpublished; nothing waits for it any more.
		return -1, ErrClosed
	}
	return seq, nil
}

// reserve retries go-disruptor's TryReserve until it hands out a sequence,
// and returns false if the ring fails first. With several writers a refusal
// may only mean that another writer won the race for the same sequence, so
// it retries at once a few times before it treats the refusal as the gate
// lagging behind, nudges it, and waits.
func (r *pipe) reserve(seq *int64) bool {
	const retries = 8
	counted := false
	for try := 0; ; try++ {
		if *seq = r.dis.TryReserve(1); *seq >= 0 {
			return true
		}
		if *seq == disruptor.ErrReservationSize {
			panic("ringbuffer: go-disruptor refuses a reservation of one slot")
		}
		if r.failed.Load() {
			return false
		}
		if try < retries {
			continue
		}
		if !counted {
			r.reserveWaits.Add(1)
			counted = true
		}
		r.gate.nudge()
		if !backoff(r.wait, try-retries) {
			continue
		}
		e := r.roomSig.prepare()
		r.gate.nudge()
		if *seq = r.dis.TryReserve(1); *seq >= 0 || r.failed.Load() {
			r.roomSig.cancel()
			if *seq >= 0 {
				return true
			}
			continue
		}
		r.roomSig.park(e)
	}
}

// awaitRoom waits until the last stage has passed wrap, the previous lap's
// use of the slot. It returns false if the ring failed meanwhile.
func (r *pipe) awaitRoom(wrap int64) bool {
	counted := false
	for try := 0; ; try++ {
		tail := r.last.position()
		if tail >= wrap {
			r.cachedTail.Store(tail)
			return true
		}
		if r.failed.Load() {
			return false
		}
		if !counted {
			r.backPressure.Add(1)
			counted = true
		}
		if !backoff(r.wait, try) {
			continue
		}
		e := r.roomSig.prepare()
		if r.last.position() >= wrap || r.failed.Load() {
			r.roomSig.cancel()
			continue
		}
		r.roomSig.park(e)
	}
}

// publish: see Ring.Publish. Hot path.
func (r *pipe) publish(seq int64) {
	r.published[seq&r.mask].Store(seq)
	if r.multi || seq&r.commitMask == r.commitMask {
		// go-disruptor's single-writer Commit(seq) also commits everything
		// before seq, so one writer tells it only now and then: the gate,
		// its only reader, needs to be roughly, not exactly, up to date.
		r.dis.Commit(seq, seq)
	}
	// If the first stage slept, it now waits on this writer's P and runs
	// when the writer blocks (or another P takes it). The writer does not
	// yield to it: a writer with a burst to send then hands the stage the
	// whole burst as one batch instead of one slot per round trip.
	r.stages[0].wake()
}

// publishedFrom returns the highest s >= from-1 such that every sequence in
// [from, s] is published.
func (r *pipe) publishedFrom(from int64) int64 {
	limit := from + r.capacity
	s := from
	for s < limit && r.published[s&r.mask].Load() == s {
		s++
	}
	return s - 1
}

func (r *pipe) close() error {
	r.closeOnce.Do(func() {
		r.start()
		// Claims already let through are published promptly by their
		// writers. If the ring fails meanwhile, nothing is drained and
		// nothing waits for them.
		claimed := r.stopClaims() - 1
		for !r.failed.Load() && r.publishedFrom(r.last.position()+1) < claimed {
			time.Sleep(20 * time.Microsecond)
		}
		r.drainTarget.Store(claimed)
		r.stopping.Store(true)
		r.wakeAll()
		r.listenersDone.Wait()
		_ = r.dis.Close()
		r.gate.close()
		<-r.gateDone
	})
	return r.err()
}

func (r *pipe) fail(err error) {
	if err == nil {
		err = errors.New("ringbuffer: Fail(nil)")
	}
	r.errMu.Lock()
	first := r.failure == nil
	if first {
		r.failure = err
	}
	r.errMu.Unlock()
	r.failed.Store(true)
	r.stopClaims()
	r.wakeAll()
	if first && r.onFail != nil {
		r.onFail(err)
	}
}

// stopClaims makes Claim refuse and returns how many claims it let through.
func (r *pipe) stopClaims() int64 {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if old := r.claims.Or(closedBit); old&closedBit == 0 {
		r.letThrough = old
	}
	return r.letThrough
}

func (r *pipe) err() error {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.failure
}

func (r *pipe) wakeAll() {
	r.roomSig.notify()
	for _, s := range r.stages {
		s.wake()
	}
}

// done tells a listener whose next sequence is next to exit.
func (r *pipe) done(next int64) bool {
	return r.failed.Load() || (r.stopping.Load() && next > r.drainTarget.Load())
}
