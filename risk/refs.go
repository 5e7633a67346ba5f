package risk

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/ringex/ringex/matcher"
)

// The operator's request references (issue 19). An operator's record (a
// deposit, a withdrawal, a block, an unblock) may carry the reference of
// the request that wrote it (matcher.Funds.Key, matcher.AccountBlock.Key):
// `ringex account` makes one per invocation, and a retry sends the same.
// The state remembers the last MaxOperatorRefs keyed records, each by its
// reference and account, with its sequence, outcome and request (kind,
// symbol, amount); a keyed record whose reference and account it
// remembers from another record is refused and changes nothing: with
// ReasonOperatorRepeat when it asks what the first one asked (a retry),
// with ReasonOperatorRefConflict when it asks something else (the
// reference reused for another request, which is never "applied"). A
// reference names one request venue-wide: a keyed record whose reference
// the state remembers for another account is refused with
// ReasonOperatorRefConflict too, unless both are blocks (or both
// unblocks): a firm's block journals one record per member with the
// request's reference (refTable.other). Like every other rule
// this is decided by Check (refsChecked) and settled by the settle half
// (refsSettled, which the snapshot and so the state hash hold), so a
// replay, a standby and a promoted standby refuse the same retries.
// Records without a reference (every one written before references
// existed) are never remembered nor refused.

// MaxOperatorRefs is how many keyed operator records the state remembers,
// the oldest forgotten first: a retry after that many newer keyed records
// is applied again. A constant, not a setting: the refusals are a
// function of the journal alone.
const MaxOperatorRefs = 4096

// refKey names one operator request: its reference and the account its
// record is for (a firm's block is one record per account, all with the
// request's reference).
type refKey struct {
	ref     matcher.ClOrdID
	account uint32
}

// RefOutcome is what the state remembers of a keyed operator record: its
// sequence, the risk stage's decision (ReasonNone: applied) and what it
// asked.
type RefOutcome struct {
	Seq     int64
	Reason  matcher.Reason
	Request RefRequest
}

// RefRequest is what a keyed operator record asked: its kind (a deposit,
// a withdrawal, a block, an unblock), for a block or an unblock whose it
// is (Firm: the account's firm's, matcher.AccountBlock.Firm, else the
// account's own) and, for a deposit or a withdrawal, its symbol (0: cash)
// and amount (zero for a block). Two records with one reference and
// account are the same request when these are equal: an account's own
// block and its firm's block are two requests.
type RefRequest struct {
	Kind   matcher.Kind
	Firm   bool
	Symbol uint32
	Amount int64
}

// RequestOf is what operator record c asks.
func RequestOf(c *matcher.Command) RefRequest {
	b, _ := matcher.BlockOf(c) // zero for a deposit or a withdrawal
	return RefRequest{Kind: c.Kind, Firm: b.Firm, Symbol: c.Symbol, Amount: c.Qty}
}

// refTable is a bounded map of references, in the order they came: once
// full, a new one takes the place of the oldest (order[head]). byRef
// indexes it by reference alone: how many of its keys hold each, and the
// account of the newest of them (the last to be forgotten).
type refTable struct {
	order []refKey
	head  int
	at    map[refKey]RefOutcome
	byRef map[matcher.ClOrdID]refUse
}

// refUse is a reference's entry in refTable.byRef.
type refUse struct {
	n    int
	last uint32 // the account of the newest key with the reference
}

func (t *refTable) get(k refKey) (RefOutcome, bool) {
	o, ok := t.at[k]
	return o, ok
}

// put remembers k with o: a new k as the newest (forgetting the oldest
// when full), a known one in its place.
func (t *refTable) put(k refKey, o RefOutcome) {
	if t.at == nil {
		t.at, t.byRef = map[refKey]RefOutcome{}, map[matcher.ClOrdID]refUse{}
	}
	if _, ok := t.at[k]; !ok {
		if len(t.order) < MaxOperatorRefs {
			t.order = append(t.order, k)
		} else {
			old := t.order[t.head]
			delete(t.at, old)
			if u := t.byRef[old.ref]; u.n > 1 {
				t.byRef[old.ref] = refUse{n: u.n - 1, last: u.last}
			} else {
				delete(t.byRef, old.ref)
			}
			t.order[t.head] = k
			t.head = (t.head + 1) % MaxOperatorRefs
		}
		t.byRef[k.ref] = refUse{n: t.byRef[k.ref].n + 1, last: k.account}
	}
	t.at[k] = o
}

// other is the outcome of a remembered record with k's reference for
// another account than k's, when a record asking q for k's account, which
// t does not remember, would reuse the reference for another request: ok
// is false when the reference is not remembered, or when both are blocks
// (or both unblocks) of one kind of block, firms' or own: the records of
// one firm's block (one per member, all with the request's reference; a
// journal written before AccountBlock.Firm has them as own blocks). An
// account's own block and a firm's block are two requests. A deposit or
// a withdrawal names one account, so its reference on another account's
// record is always another request.
func (t *refTable) other(k refKey, q RefRequest) (RefOutcome, bool) {
	u, ok := t.byRef[k.ref]
	if !ok || u.last == k.account {
		return RefOutcome{}, false
	}
	o := t.at[refKey{ref: k.ref, account: u.last}]
	if (q.Kind == matcher.KindBlock || q.Kind == matcher.KindUnblock) && o.Request.Kind == q.Kind && o.Request.Firm == q.Firm {
		return RefOutcome{}, false
	}
	return o, true
}

// each calls fn on every reference, oldest first.
func (t *refTable) each(fn func(refKey, RefOutcome)) {
	for i := range t.order {
		k := t.order[(t.head+i)%len(t.order)]
		fn(k, t.at[k])
	}
}

// clone is a copy of t that shares nothing with it, oldest first.
func (t *refTable) clone() refTable {
	var c refTable
	t.each(func(k refKey, o RefOutcome) { c.put(k, o) })
	return c
}

// refs is the state's part of it: Check's table, and the settle half's,
// which other goroutines read under mu (OperatorRef).
type refs struct {
	checked refTable // Check's goroutine only
	mu      sync.Mutex
	settled refTable // written by the settle half under mu
}

// refOf is the request of operator record c: ok is false for another
// kind, and for a record with no reference.
func refOf(c *matcher.Command) (refKey, bool) {
	switch c.Kind {
	case matcher.KindDeposit, matcher.KindWithdraw, matcher.KindBlock, matcher.KindUnblock:
		return refKey{ref: c.OrigClOrdID, account: c.Account}, c.OrigClOrdID != (matcher.ClOrdID{})
	}
	return refKey{}, false
}

// refChecked is Check's decision on operator record c's reference:
// ReasonOperatorRepeat when the state remembers it from another record
// that asked the same, ReasonOperatorRefConflict when from one that asked
// something else, else ReasonNone, and c's reference is remembered as
// c's. Check may be called again on c (a refusal that depends on the
// view): its own reference, at its own sequence, is no repeat. Cold
// path: the operator's records only.
func (s *State) refChecked(c *matcher.Command) matcher.Reason {
	k, ok := refOf(c)
	if !ok {
		return matcher.ReasonNone
	}
	if o, ok := s.refs.checked.get(k); ok && o.Seq != c.Seq {
		if o.Request != RequestOf(c) {
			return matcher.ReasonOperatorRefConflict
		}
		return matcher.ReasonOperatorRepeat
	} else if !ok {
		if _, clash := s.refs.checked.other(k, RequestOf(c)); clash {
			return matcher.ReasonOperatorRefConflict
		}
	}
	s.refs.checked.put(k, RefOutcome{Seq: c.Seq, Request: RequestOf(c)})
	return matcher.ReasonNone
}

// refusedByRef reports whether reason is refChecked's refusal: such a
// record is not remembered (the first one stays).
func refusedByRef(reason matcher.Reason) bool {
	return reason == matcher.ReasonOperatorRepeat || reason == matcher.ReasonOperatorRefConflict
}

// settleRef is the settle half remembering keyed operator record c's
// outcome, h's: a repeat or a conflicting reuse is not remembered (the
// first one stays). Cold path: it takes the lock OperatorRef reads under,
// for the operator's records only.
func (s *State) settleRef(c *matcher.Command, h Hold) {
	k, ok := refOf(c)
	if !ok || refusedByRef(h.Reason) {
		return
	}
	s.refs.mu.Lock()
	s.refs.settled.put(k, RefOutcome{Seq: c.Seq, Reason: h.Reason, Request: RequestOf(c)})
	s.refs.mu.Unlock()
}

// OperatorRef is the outcome of the operator record for account with
// reference ref, as the settle half has settled it; ok is false when the
// state does not remember one (none settled yet, or forgotten). Any
// goroutine. Cold path: it takes a lock.
func (s *State) OperatorRef(account uint32, ref matcher.ClOrdID) (RefOutcome, bool) {
	s.refs.mu.Lock()
	defer s.refs.mu.Unlock()
	return s.refs.settled.get(refKey{ref: ref, account: account})
}

// OperatorRefElsewhere is the outcome of a settled operator record with
// reference ref for another account, when a record asking q for account
// would reuse ref for another request (refTable.other: a block's ref on
// another block of the same kind, firm's or own, is a firm's member); ok
// is false when it would not, or when the state remembers a record for
// account with ref (OperatorRef answers then). Any goroutine. Cold path:
// it takes a lock.
func (s *State) OperatorRefElsewhere(account uint32, ref matcher.ClOrdID, q RefRequest) (RefOutcome, bool) {
	s.refs.mu.Lock()
	defer s.refs.mu.Unlock()
	k := refKey{ref: ref, account: account}
	if _, ok := s.refs.settled.get(k); ok {
		return RefOutcome{}, false
	}
	return s.refs.settled.other(k, q)
}

// firmRef reports whether t remembers a firm's block or unblock record
// (the snapshot's version says it: version 5). Cold path.
func (t *refTable) firmRef() bool {
	for _, o := range t.at {
		if o.Request.Firm {
			return true
		}
	}
	return false
}

// appendRefs appends t to dst as the references section of a snapshot of
// version v (snapshot.go): u32 r, then r entries, oldest first, each the
// 24-byte reference, u32 account, i64 seq, u8 reason (the record's
// outcome), then u8 kind, in version 5 u8 firm (1: a firm's block or
// unblock, else 0), u32 symbol and i64 amount (its request: RefRequest).
// r is 0 for an empty t. Versions before 5 have no firm byte: t holds no
// firm's record then (Snapshot). Cold path.
func (t *refTable) appendRefs(dst []byte, v byte) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, uint32(len(t.order)))
	t.each(func(k refKey, o RefOutcome) {
		dst = append(dst, k.ref[:]...)
		dst = le.AppendUint32(dst, k.account)
		dst = le.AppendUint64(dst, uint64(o.Seq))
		dst = append(dst, byte(o.Reason), byte(o.Request.Kind))
		if v >= snapVersionFirmRef {
			firm := byte(0)
			if o.Request.Firm {
				firm = 1
			}
			dst = append(dst, firm)
		}
		dst = le.AppendUint32(dst, o.Request.Symbol)
		dst = le.AppendUint64(dst, uint64(o.Request.Amount))
	})
	return dst
}

// restoreRefs reads the references section (appendRefs) of a snapshot of
// version v into s, a fresh state. A short read leaves r.err for the
// caller.
func (s *State) restoreRefs(r *reader, v byte) error {
	n := int(r.u32())
	if r.err == nil && n > MaxOperatorRefs {
		return fmt.Errorf("risk snapshot: %d operator references (at most %d)", n, MaxOperatorRefs)
	}
	for range n {
		var k refKey
		copy(k.ref[:], r.take(matcher.IDLen))
		k.account = r.u32()
		o := RefOutcome{Seq: r.i64(), Reason: matcher.Reason(r.u8())}
		o.Request.Kind = matcher.Kind(r.u8())
		firm := byte(0)
		if v >= snapVersionFirmRef {
			firm = r.u8()
		}
		o.Request.Symbol, o.Request.Amount, o.Request.Firm = r.u32(), r.i64(), firm == 1
		if r.err != nil {
			return nil
		}
		if firm > 1 || (o.Request.Firm && o.Request.Kind != matcher.KindBlock && o.Request.Kind != matcher.KindUnblock) {
			return fmt.Errorf("risk snapshot: operator reference %q of account %d at seq %d (%v): firm %d, want 0, or 1 for a block or an unblock", k.ref.String(), k.account, o.Seq, o.Request.Kind, firm)
		}
		if _, dup := s.refs.settled.get(k); dup || k.ref == (matcher.ClOrdID{}) || o.Seq < 1 ||
			o.Reason >= matcher.NumReasons || refusedByRef(o.Reason) {
			return fmt.Errorf("risk snapshot: operator reference %q of account %d at seq %d (%v): empty, repeated or not a record's outcome", k.ref.String(), k.account, o.Seq, o.Reason)
		}
		if _, ok := refOf(&matcher.Command{Kind: o.Request.Kind, OrigClOrdID: k.ref}); !ok {
			return fmt.Errorf("risk snapshot: operator reference %q of account %d at seq %d: kind %v is not an operator's request", k.ref.String(), k.account, o.Seq, o.Request.Kind)
		}
		if first, clash := s.refs.settled.other(k, o.Request); clash {
			return fmt.Errorf("risk snapshot: operator reference %q of account %d at seq %d (%v) is the reference of another account's request at seq %d (%v)",
				k.ref.String(), k.account, o.Seq, o.Request.Kind, first.Seq, first.Request.Kind)
		}
		s.refs.settled.put(k, o)
	}
	return nil
}
