package matcher

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
)

// KindBindAccount binds an account id to a broker's name for good: from
// that record on, Account is that broker's and no other's. The node
// journals one for each configured session not yet bound, before FIX opens
// (node/accounts.go), so the journal alone names every account. Every
// match partition applies it (Route) and keeps the binding, so
// every engine's snapshot carries all of them and the state hash covers
// them. It causes no event. The record's layout is AccountBinding's.
const KindBindAccount Kind = 9

// MaxAccountName is the longest name a binding holds: the ClOrdID and
// OrigClOrdID fields of the record together.
const MaxAccountName = 2 * IDLen

// FirstNamedAccount is the first id of a firm's named account (FIX
// Account, tag 1): the node binds them from here on, in the order they
// first appear, while a session's own account is bound below it (the next
// free id when its CompID is first bound). The two never meet, so a
// session added later never finds its id taken.
const FirstNamedAccount = 1024

// MaxBoundAccounts bounds the bindings one engine keeps (and a snapshot
// may list): far more than the sessions of any venue.
const MaxBoundAccounts = 1 << 16

// AccountBinding is the content of a KindBindAccount record: account id
// Account (never 0) belongs to the broker Name (its FIX SenderCompID, 1 to
// MaxAccountName bytes, no zero byte).
//
// In the Command: Kind = KindBindAccount, Account = Account, and Name in
// ClOrdID then OrigClOrdID, zero-padded; every other field is zero. Seq and
// TimeNs are set at ingress as for any command.
type AccountBinding struct {
	Account uint32
	Name    string
}

// Check reports what makes b unfit for a record, or nil.
func (b AccountBinding) Check() error {
	switch {
	case b.Account == 0:
		return fmt.Errorf("matcher: account binding of %q: account id 0", b.Name)
	case len(b.Name) == 0 || len(b.Name) > MaxAccountName:
		return fmt.Errorf("matcher: account %d: name %q is %d bytes, want 1 to %d", b.Account, b.Name, len(b.Name), MaxAccountName)
	case bytes.IndexByte([]byte(b.Name), 0) >= 0:
		return fmt.Errorf("matcher: account %d: name %q holds a zero byte", b.Account, b.Name)
	}
	return nil
}

// Command is the record that journals b; it fails when b is unfit (Check).
func (b AccountBinding) Command() (Command, error) {
	if err := b.Check(); err != nil {
		return Command{}, err
	}
	c := Command{Kind: KindBindAccount, Account: b.Account}
	putRecordName(&c, b.Name)
	return c, nil
}

// putRecordName writes name, at most MaxAccountName bytes, into a record
// that names an account or a firm: ClOrdID, then on into OrigClOrdID,
// zero-padded (an account binding, a firm's block).
func putRecordName(c *Command, name string) {
	n := copy(c.ClOrdID[:], name)
	copy(c.OrigClOrdID[:], name[n:])
}

// recordName reads what putRecordName wrote; ok is false for a zero byte
// inside the name.
func recordName(c *Command) (string, bool) {
	var name [MaxAccountName]byte
	copy(name[:], c.ClOrdID[:])
	copy(name[IDLen:], c.OrigClOrdID[:])
	return paddedName(name[:])
}

// paddedName reads a name written zero-padded into b; ok is false for a
// zero byte inside the name (recordName, a symbol scale record's name).
func paddedName(b []byte) (string, bool) {
	n := bytes.IndexByte(b, 0)
	if n < 0 {
		n = len(b)
	}
	if bytes.Count(b[n:], []byte{0}) != len(b)-n {
		return "", false
	}
	return string(b[:n]), true
}

// BindingOf reads the binding a KindBindAccount record holds; ok is false
// for another kind or a record no AccountBinding.Command writes (a zero
// account, an empty name, a zero byte inside it, another field set).
func BindingOf(c *Command) (b AccountBinding, ok bool) {
	if c.Kind != KindBindAccount || c.OrderID != 0 || c.Price != 0 || c.Qty != 0 || c.Symbol != 0 ||
		c.Side != 0 || c.Type != 0 || c.TIF != 0 {
		return b, false
	}
	name, ok := recordName(c)
	if !ok {
		return b, false
	}
	b = AccountBinding{Account: c.Account, Name: name}
	return b, b.Check() == nil
}

// bindings are the engine's account bindings, ascending by account. A
// binding never changes: a record that would rebind a bound account, or
// bind a bound name to a second account, is ignored (the node never
// journals one: it refuses such a config first), so the first binding
// stands in every replay.
type bindings []AccountBinding

// bind applies a KindBindAccount record. Cold path: a few per start.
func (bs *bindings) bind(c *Command) {
	b, ok := BindingOf(c)
	if !ok || len(*bs) >= MaxBoundAccounts {
		return
	}
	i, found := slices.BinarySearchFunc(*bs, b.Account, func(x AccountBinding, a uint32) int { return cmp.Compare(x.Account, a) })
	if found || slices.ContainsFunc(*bs, func(x AccountBinding) bool { return x.Name == b.Name }) {
		return
	}
	*bs = slices.Insert(*bs, i, b)
}

// applyBinding applies a KindBindAccount record: the binding, and the
// firm and mode the config gives its name (resolve). Cold path.
func (e *Engine) applyBinding(c *Command) {
	n := len(e.bound)
	e.bound.bind(c)
	if len(e.bound) > n {
		b, _ := BindingOf(c)
		e.resolve(b)
	}
}

// Bindings returns a copy of the engine's account bindings, ascending by
// account. Every engine of a node holds the same ones.
func (e *Engine) Bindings() []AccountBinding { return slices.Clone(e.bound) }

// Bindings are the node's account bindings: every engine holds them all.
func (ps Partitions) Bindings() []AccountBinding { return ps[0].Bindings() }

// appendTo writes the snapshot's bindings section (version 3 only):
// u32 n, then n × (ascending account): u32 account | u8 len | name.
func (bs bindings) appendTo(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(bs)))
	for _, b := range bs {
		dst = binary.LittleEndian.AppendUint32(dst, b.Account)
		dst = append(dst, byte(len(b.Name)))
		dst = append(dst, b.Name...)
	}
	return dst
}

// loadBindings reads the bindings section of a version 3 or 4 snapshot
// (version 4 may have none).
func (e *Engine) loadBindings(r *snapReader, version uint32) error {
	n := r.count(4 + 1 + 1)
	if r.err == nil && ((n == 0 && version == snapVersionBindings) || n > MaxBoundAccounts) {
		return r.fail("%d account bindings in a version %d snapshot (1 to %d)", n, version, MaxBoundAccounts)
	}
	bs := make(bindings, 0, n)
	names := make(map[string]bool, n)
	for range n {
		a := r.u32()
		name := string(r.take(int(r.u8())))
		if r.err != nil {
			return r.err
		}
		b := AccountBinding{Account: a, Name: name}
		if b.Check() != nil || names[name] || (len(bs) > 0 && a <= bs[len(bs)-1].Account) {
			return r.fail("account binding %d %q: invalid, out of order or repeated", a, name)
		}
		names[name] = true
		bs = append(bs, b)
	}
	e.bound = bs
	for _, b := range bs {
		e.resolve(b)
	}
	return nil
}
