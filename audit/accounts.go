package audit

import (
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// Brokers are named by the journal itself: a node binds each account id to
// its session's TargetCompID with a matcher.KindBindAccount record before
// the account's first order (node/accounts.go), and every snapshot carries
// the bindings made before it. So replay names every broker without the
// config that wrote the journal, on any machine, whatever order its
// session list has now. The config's session list (account i+1 is its
// i-th session) names accounts only in a journal that binds none: one
// written before bindings existed.

// LoadBindings gives v the account bindings the journal in dir holds: those
// of its newest sound snapshot the journal continues, read from its bytes
// (matcher.SnapshotBindings: whatever config wrote it, so with or without
// --config), then every binding record after it (or after its first record
// when there is no such snapshot). It reads no further than the first
// damage, if any: the verb that runs next reports that damage with its
// place, and the bindings before it still hold.
func (v *Venue) LoadBindings(dir string) {
	src, err := openSource(dir)
	if err != nil {
		return // the verb says why
	}
	from := src.segs[0].First
	if src.loadSnapshots() == nil {
		for i := len(src.snaps) - 1; i >= 0; i-- {
			sf := &src.snaps[i]
			if sf.damage != "" || sf.seq < from-1 {
				continue
			}
			if bs, err := matcher.SnapshotBindings(sf.data); err == nil {
				v.bind(bs)
				from = sf.seq + 1
				break
			}
		}
	}
	var cmd matcher.Command
	journal.Read(dir, from, func(_ int64, rec []byte) error {
		if cmd.Decode(rec) == nil && cmd.Kind == matcher.KindBindAccount {
			if b, ok := matcher.BindingOf(&cmd); ok {
				v.bind([]matcher.AccountBinding{b})
			}
		}
		return nil
	})
}

// bind records bindings; the first binding of an account stands, as in
// the engines.
func (v *Venue) bind(bs []matcher.AccountBinding) {
	if v.bound == nil {
		v.bound = make(map[uint32]string, len(bs))
	}
	for _, b := range bs {
		if _, ok := v.bound[b.Account]; !ok {
			v.bound[b.Account] = b.Name
		}
	}
}
