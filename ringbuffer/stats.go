package ringbuffer

// StageStats are the counters of one stage, or of the writers.
//
// Ring.Stats returns the writers first, named "writers", then one entry per
// stage in pipeline order.
type StageStats struct {
	Name     string
	Handlers int // handler goroutines; for the writers, Options.Writers
	// Events is the number of slots the stage has passed (every handler of
	// it); for the writers, the number of slots published in sequence.
	Events uint64
	// Batches is the number of Handle calls, all handlers together.
	Batches uint64
	// MeanBatch is the mean number of slots per Handle call.
	MeanBatch float64
	// Lag is how many published slots the stage has not passed yet.
	Lag int64
	// Parks counts the times a handler went to sleep waiting for work.
	Parks uint64
	// BackPressure, for the writers, counts the Claims that had to wait for
	// room: for the last stage to free a slot, or (rarely) for go-disruptor's
	// own wrap check.
	BackPressure uint64
}

// Stats returns the writers' counters and each stage's. It is safe to call
// while the ring runs; the figures are read one after another, not as one
// snapshot.
func (r *Ring[T]) Stats() []StageStats { return r.stats() }

func (p *pipe) stats() []StageStats {
	published := p.publishedFrom(p.last.position() + 1)
	out := make([]StageStats, 0, 1+len(p.stages))
	out = append(out, StageStats{
		Name:         "writers",
		Handlers:     p.writers,
		Events:       uint64(published + 1),
		BackPressure: p.backPressure.Load() + p.reserveWaits.Load(),
	})
	for _, s := range p.stages {
		st := StageStats{Name: s.name, Handlers: len(s.listeners)}
		pos := s.position()
		st.Events = uint64(pos + 1)
		st.Lag = max(published-pos, 0)
		var handled uint64
		for _, l := range s.listeners {
			handled += uint64(l.seq.Load() + 1) // every handler sees every slot
			st.Batches += l.batches.Load()
			st.Parks += l.parks.Load()
		}
		if st.Batches > 0 {
			st.MeanBatch = float64(handled) / float64(st.Batches)
		}
		out = append(out, st)
	}
	return out
}
