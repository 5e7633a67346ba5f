package httpd

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/ringex/ringex/internal/lathist"
	"github.com/ringex/ringex/node"
)

const (
	windowSpan  = time.Minute     // "over the last minute" on the page
	sampleEvery = 5 * time.Second // the window's resolution
)

// window keeps a sample of the running totals every sampleEvery for the
// last windowSpan, so that a rate or a percentile "over the last minute"
// is the difference between now and the oldest sample.
type window struct {
	mu      sync.Mutex
	samples []sample // oldest first, at most windowSpan/sampleEvery+1
}

type sample struct {
	at       time.Time
	orders   uint64 // KindNew commands
	commands uint64 // all commands
	ack      *lathist.Snapshot
}

// sample records the node's totals every sampleEvery until Close.
func (s *Server) sample() {
	defer close(s.done)
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		if src := s.source(); src != nil {
			st := src.Status()
			s.window.add(takeSample(src, &st))
		} else {
			s.window.reset() // a new node's totals start again
		}
		select {
		case <-t.C:
		case <-s.wake:
			s.window.reset()
		case <-s.stop:
			return
		}
	}
}

func takeSample(src Source, st *node.Status) sample {
	sm := sample{at: time.Now()}
	sm.ack, _, _, _ = src.Latency()
	for _, c := range st.Commands {
		sm.commands += c.N
		if c.Name == "new" {
			sm.orders = c.N
		}
	}
	return sm
}

func (w *window) add(sm sample) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples = append(w.samples, sm)
	for len(w.samples) > 1 && sm.at.Sub(w.samples[0].at) > windowSpan {
		w.samples = w.samples[1:]
	}
}

func (w *window) reset() {
	w.mu.Lock()
	w.samples = nil
	w.mu.Unlock()
}

func (w *window) oldest() (sample, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.samples) == 0 {
		return sample{}, false
	}
	return w.samples[0], true
}

// statusView is /status.json: what the page shows.
type statusView struct {
	Now      time.Time
	Ready    bool
	ReadyWhy string
	Node     *node.Status `json:",omitempty"` // nil while no node runs
	Window   *windowView  `json:",omitempty"`
}

// windowView is the last minute (or less, just after a start).
type windowView struct {
	Seconds        float64
	OrdersPerSec   float64
	CommandsPerSec float64
	AckP50Micros   float64
	AckP99Micros   float64
	Acks           uint64
}

func (s *Server) statusJSON(w http.ResponseWriter, _ *http.Request) {
	v := statusView{Now: time.Now().UTC(), ReadyWhy: "no node running (starting, stopping or restarting in place)"}
	if src := s.source(); src != nil {
		st := src.Status()
		v.Node = &st
		v.Ready, v.ReadyWhy = Ready(&st)
		v.Window = s.window.view(takeSample(src, &st))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	enc.Encode(&v)
}

// view compares now with the oldest sample of the window.
func (w *window) view(now sample) *windowView {
	old, ok := w.oldest()
	if !ok || now.commands < old.commands {
		return nil // no sample yet, or it belongs to the node before a restart
	}
	secs := now.at.Sub(old.at).Seconds()
	v := &windowView{Seconds: secs}
	if secs > 0 {
		v.OrdersPerSec = float64(now.orders-old.orders) / secs
		v.CommandsPerSec = float64(now.commands-old.commands) / secs
	}
	diff := *now.ack
	diff.Sub(old.ack)
	v.Acks = diff.Count
	v.AckP50Micros = float64(diff.Quantile(0.5)) / 1e3
	v.AckP99Micros = float64(diff.Quantile(0.99)) / 1e3
	return v
}
