package risk

import "github.com/ringex/ringex/matcher"

// Step runs cmd through Check, engines and the settle half, one after the
// other, as a sequential replay does, and appends to out the events the
// node's publish stage hands on for it: the refusal (a refused replace's
// from its order's engine, Partitions.RefuseReplace), or the engines'
// events. Its decisions are the live pipeline's (see the package doc).
func (s *State) Step(cmd *matcher.Command, engines matcher.Partitions, out []matcher.Event) ([]matcher.Event, Hold) {
	h := s.Check(cmd)
	if Reducible(cmd, h.Reason) {
		id, cum := engines.Target(cmd)
		h = s.CheckExact(cmd, id, cum)
	}
	s.Apply(cmd, h)
	n := len(out)
	switch {
	case h.Reason == matcher.ReasonNone:
		out = engines.Apply(cmd, out)
	case cmd.Kind == matcher.KindReplace:
		out = engines.RefuseReplace(cmd, h.Reason, out)
	default:
		if ev, ok := RefusalEvent(cmd, h); ok {
			out = append(out, ev)
		}
	}
	for i := n; i < len(out); i++ {
		s.Event(&out[i])
	}
	s.Done()
	return out, h
}
