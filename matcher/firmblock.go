package matcher

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
)

// Firm block records are the operator's kill switch for a firm (risk modes
// limits and spot): a KindBlockFirm records that the firm named is
// blocked, a KindUnblockFirm that it is not any more. They block nothing
// by themselves: the node journals the firm's AccountBlock (KindBlock,
// Firm set) for each account of the firm after it, and on every start and
// promotion one for each account its config lists in a blocked firm that
// does not hold it yet (a session or account added to the firm later), so
// that every refusal still comes from a journaled block of the account.
// The firm's unblock journals the firm's KindUnblock of each, which
// leaves an account's own block (block.go). The firm's name is
// journaled because its membership is config, not journal: what the
// journal keeps is which firms stay blocked.
//
// Every match partition applies them (RouteAll) and keeps the blocked
// firms' names, like the account bindings: rebuilt by replay, carried by
// every engine's snapshot (version 6, or 7 with bands), covered by the
// state hash, and streamed to a standby like any record. They cause no
// event; the risk stage passes them.
const (
	KindBlockFirm   Kind = 17
	KindUnblockFirm Kind = 18
)

// MaxBlockedFirms bounds the blocked firms one engine keeps (and a
// snapshot may list): far more than the firms of any venue.
const MaxBlockedFirms = 1 << 12

// FirmBlock is the content of a KindBlockFirm or KindUnblockFirm record:
// the firm's name (config firms[].name, 1 to MaxAccountName bytes, no
// zero byte).
//
// In the Command: Kind, and Firm in ClOrdID then OrigClOrdID,
// zero-padded, as an AccountBinding's name; every other field is zero
// (Seq and TimeNs are set at ingress).
type FirmBlock struct {
	Unblock bool
	Firm    string
}

// Command is the record that journals b; it fails for a name no record
// can hold.
func (b FirmBlock) Command() (Command, error) {
	if err := checkFirmName(b.Firm); err != nil {
		return Command{}, err
	}
	c := Command{Kind: KindBlockFirm}
	if b.Unblock {
		c.Kind = KindUnblockFirm
	}
	putRecordName(&c, b.Firm)
	return c, nil
}

func checkFirmName(name string) error {
	if len(name) == 0 || len(name) > MaxAccountName || bytes.IndexByte([]byte(name), 0) >= 0 {
		return fmt.Errorf("matcher: firm block record: firm name %q: want 1 to %d bytes, no zero byte", name, MaxAccountName)
	}
	return nil
}

// FirmBlockOf reads a KindBlockFirm or KindUnblockFirm record; ok is
// false for another kind or a record FirmBlock.Command does not write.
func FirmBlockOf(c *Command) (b FirmBlock, ok bool) {
	if (c.Kind != KindBlockFirm && c.Kind != KindUnblockFirm) || c.Account != 0 || c.OrderID != 0 || c.Price != 0 ||
		c.Qty != 0 || c.Symbol != 0 || c.Side != 0 || c.Type != 0 || c.TIF != 0 {
		return b, false
	}
	name, ok := recordName(c)
	if !ok {
		return b, false
	}
	b = FirmBlock{Unblock: c.Kind == KindUnblockFirm, Firm: name}
	return b, checkFirmName(b.Firm) == nil
}

// blockedFirms are the names of the firms blocked, ascending.
type blockedFirms []string

// apply applies a KindBlockFirm or KindUnblockFirm record. A block of a
// blocked firm, an unblock of one that is not, and a record past
// MaxBlockedFirms change nothing. Cold path: the operator's.
func (fs *blockedFirms) apply(c *Command) {
	b, ok := FirmBlockOf(c)
	if !ok {
		return
	}
	i, found := slices.BinarySearch(*fs, b.Firm)
	switch {
	case b.Unblock && found:
		*fs = slices.Delete(*fs, i, i+1)
	case !b.Unblock && !found && len(*fs) < MaxBlockedFirms:
		*fs = slices.Insert(*fs, i, b.Firm)
	}
}

// BlockedFirms returns the names of the firms the journal has blocked and
// not unblocked, ascending. Every engine of a node holds the same ones.
func (e *Engine) BlockedFirms() []string { return slices.Clone(e.firms) }

// BlockedFirms are the node's blocked firms: every engine holds them all.
func (ps Partitions) BlockedFirms() []string { return ps[0].BlockedFirms() }

// appendTo writes the snapshot's blocked firms section (versions 6 and
// 7): u32 n, then n × (ascending name): u8 len | name.
func (fs blockedFirms) appendTo(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(fs)))
	for _, f := range fs {
		dst = append(dst, byte(len(f)))
		dst = append(dst, f...)
	}
	return dst
}

// loadBlockedFirms reads the blocked firms section of a version 6
// snapshot, which has one at least, or of a version 7 one (written for
// its bands), which may have none.
func (r *snapReader) loadBlockedFirms(version uint32) (blockedFirms, error) {
	n := r.count(1 + 1)
	if r.err == nil && ((n == 0 && version == snapVersionFirms) || n > MaxBlockedFirms) {
		return nil, r.fail("%d blocked firms in a version %d snapshot (1 to %d)", n, version, MaxBlockedFirms)
	}
	fs := make(blockedFirms, 0, n)
	for range n {
		name := string(r.take(int(r.u8())))
		if r.err != nil {
			return nil, r.err
		}
		if checkFirmName(name) != nil || (len(fs) > 0 && name <= fs[len(fs)-1]) {
			return nil, r.fail("blocked firm %q: invalid, out of order or repeated", name)
		}
		fs = append(fs, name)
	}
	return fs, nil
}
