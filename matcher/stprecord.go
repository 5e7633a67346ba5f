package matcher

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
)

// KindSTP journals the self-trade prevention settings (STPRecord), so
// that a replay matches every order under the settings in force when it
// ran, whatever the config of the node replaying, and a new setting
// applies from its record on. Before FIX opens, a node whose journal does
// not say its config's settings yet journals a venue record followed by
// an account record for each name with a mode of its own and a firm
// record for each firm whose prevention spans the firm (node/stp.go).
// Until the first KindSTP record an engine runs its Config's settings, as
// a journal written before the record did. Every match partition applies
// it (Route); it causes no event.
const KindSTP Kind = 23 // STPRecord; 22 is KindSymbolScale's

// STPForm says what one KindSTP record sets.
type STPForm uint8

const (
	// STPFormVenue sets the venue's mode (Config.STP's place) and clears
	// every account's mode by name and every firm's scope (to
	// STPScopeAccount): the first record of a set.
	STPFormVenue STPForm = 0
	// STPFormAccount sets the mode of the account bound to Name, now or
	// when its binding comes (Config.NamedSTP's place).
	STPFormAccount STPForm = 1
	// STPFormFirm sets the scope of the firm named Name (FirmSTP.Name).
	STPFormFirm STPForm = 2
)

// STPRecord is the content of a KindSTP record.
//
//	Command field   Side  Type           ClOrdID, then OrigClOrdID
//	holds           Form  Mode or Scope  Name (account or firm; none for the venue)
//
// Every other field is zero (Seq and TimeNs are set at ingress).
type STPRecord struct {
	Form  STPForm
	Mode  STPMode  // STPFormVenue, STPFormAccount
	Scope STPScope // STPFormFirm
	Name  string
}

// Command is the record that journals s; it fails when s is unfit.
func (s STPRecord) Command() (Command, error) {
	c := Command{Kind: KindSTP, Side: Side(s.Form)}
	ok := false
	switch s.Form {
	case STPFormVenue:
		ok, c.Type = s.Scope == 0 && s.Name == "" && s.Mode <= STPDecrement, OrdType(s.Mode)
	case STPFormAccount:
		ok, c.Type = s.Scope == 0 && checkFirmName(s.Name) == nil && s.Mode <= STPDecrement, OrdType(s.Mode)
	case STPFormFirm:
		ok, c.Type = s.Mode == 0 && checkFirmName(s.Name) == nil && s.Scope <= STPScopeFirm, OrdType(s.Scope)
	}
	if !ok {
		return Command{}, fmt.Errorf("matcher: stp record: form %d, mode %d, scope %d, name %q", s.Form, s.Mode, s.Scope, s.Name)
	}
	putRecordName(&c, s.Name)
	return c, nil
}

// STPRecordOf reads a KindSTP record; ok is false for another kind or a
// record STPRecord.Command does not write.
func STPRecordOf(c *Command) (s STPRecord, ok bool) {
	if c.Kind != KindSTP || c.Account != 0 || c.Symbol != 0 || c.Price != 0 || c.Qty != 0 || c.OrderID != 0 ||
		c.TIF != 0 || c.STP != 0 || c.Owner != 0 || c.STPGroup != 0 {
		return s, false
	}
	name, ok := recordName(c)
	if !ok {
		return s, false
	}
	s = STPRecord{Form: STPForm(c.Side), Name: name}
	if s.Form == STPFormFirm {
		s.Scope = STPScope(c.Type)
	} else {
		s.Mode = STPMode(c.Type)
	}
	_, err := s.Command()
	return s, err == nil
}

// STPSettings are the self-trade prevention settings in force in an
// engine, in a canonical form: Named ascending by name, FirmWide (the
// names of the firms whose scope is STPScopeFirm) ascending. Journaled
// is whether a KindSTP record set them (else they are the Config's).
type STPSettings struct {
	Journaled bool
	Venue     STPMode
	Named     []NamedSTP
	FirmWide  []string
}

// STPSettingsOf is the settings an engine built with cfg starts with
// (Journaled false).
func STPSettingsOf(cfg Config) STPSettings {
	s := STPSettings{Venue: cfg.STP, Named: slices.Clone(cfg.NamedSTP)}
	slices.SortFunc(s.Named, func(a, b NamedSTP) int { return cmp.Compare(a.Name, b.Name) })
	for _, f := range cfg.Firms {
		if f.Scope == STPScopeFirm {
			s.FirmWide = append(s.FirmWide, f.Name)
		}
	}
	slices.Sort(s.FirmWide)
	return s
}

// Same reports whether s and o set the same modes and scopes (Journaled
// aside).
func (s STPSettings) Same(o STPSettings) bool {
	return s.Venue == o.Venue && slices.Equal(s.Named, o.Named) && slices.Equal(s.FirmWide, o.FirmWide)
}

// Records are the KindSTP records that put s in force: a venue record,
// then an account record for each named mode and a firm record for each
// firm-wide firm (a firm without a name cannot be named in one).
func (s STPSettings) Records() ([]Command, error) {
	rs := []STPRecord{{Form: STPFormVenue, Mode: s.Venue}}
	for _, a := range s.Named {
		rs = append(rs, STPRecord{Form: STPFormAccount, Mode: a.Mode, Name: a.Name})
	}
	for _, f := range s.FirmWide {
		rs = append(rs, STPRecord{Form: STPFormFirm, Scope: STPScopeFirm, Name: f})
	}
	out := make([]Command, 0, len(rs))
	for _, r := range rs {
		c, err := r.Command()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// STPSettings are the settings in force. Cold path: call it only while no
// command is being applied to the engine.
func (e *Engine) STPSettings() STPSettings {
	s := STPSettings{Journaled: e.stpRec, Venue: e.stp, Named: slices.Clone(e.named)}
	slices.SortFunc(s.Named, func(a, b NamedSTP) int { return cmp.Compare(a.Name, b.Name) })
	for i, f := range e.cfg.Firms {
		if e.firmWide[i+1] {
			s.FirmWide = append(s.FirmWide, f.Name)
		}
	}
	slices.Sort(s.FirmWide)
	return s
}

// applySTP puts a KindSTP record in force; an unfit one changes nothing.
// Cold path: a few records per start.
func (e *Engine) applySTP(cmd *Command) {
	s, ok := STPRecordOf(cmd)
	if !ok {
		return
	}
	e.stpRec = true
	switch s.Form {
	case STPFormVenue:
		e.stp, e.named = s.Mode, nil
		clear(e.firmWide)
	case STPFormAccount:
		i := slices.IndexFunc(e.named, func(a NamedSTP) bool { return a.Name == s.Name })
		if i < 0 {
			e.named = append(e.named, NamedSTP{Name: s.Name})
			i = len(e.named) - 1
		}
		e.named[i].Mode = s.Mode
	case STPFormFirm:
		for i, f := range e.cfg.Firms {
			if f.Name == s.Name {
				e.firmWide[i+1] = s.Scope == STPScopeFirm
			}
		}
	}
	e.resolveSTP()
}

// resolveSTP rebuilds every account's mode: Config.AccountSTP's, then
// each bound account's by its name (the named modes in force). Cold path.
func (e *Engine) resolveSTP() {
	e.stpBy = e.stpBy[:0]
	for _, a := range e.cfg.AccountSTP {
		e.setSTP(a.Account, a.Mode)
	}
	for _, b := range e.bound {
		e.resolve(b)
	}
}

// appendSTP writes the stp section of a version 8 snapshot (the venue's
// mode is the header's):
//
//	u32 n, n × (ascending name): u8 len | name | u8 mode
//	u32 m, m × (ascending name): u8 len | firm name   (the firm-wide firms)
func (e *Engine) appendSTP(dst []byte) []byte {
	s := e.STPSettings()
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s.Named)))
	for _, a := range s.Named {
		dst = append(append(append(dst, byte(len(a.Name))), a.Name...), byte(a.Mode))
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s.FirmWide)))
	for _, f := range s.FirmWide {
		dst = append(append(dst, byte(len(f))), f...)
	}
	return dst
}

// loadSTP reads the stp section of a version 8 snapshot, after the
// bindings: the settings a record put in force (the venue's mode read
// from the header), each bound account's mode resolved again. A firm the
// Config no longer lists is passed over: its scope has nobody to apply to.
func (e *Engine) loadSTP(r *snapReader, venue STPMode) error {
	e.stpRec, e.stp, e.named = true, venue, nil
	clear(e.firmWide)
	prev := ""
	for i := range r.count(1 + 1 + 1) {
		name := string(r.take(int(r.u8())))
		mode := STPMode(r.u8())
		if r.err != nil {
			return r.err
		}
		if checkFirmName(name) != nil || mode > STPDecrement || (i > 0 && name <= prev) {
			return r.fail("stp of account %q: mode %d, invalid name, or out of order", name, mode)
		}
		prev = name
		e.named = append(e.named, NamedSTP{Name: name, Mode: mode})
	}
	prev = ""
	for i := range r.count(1 + 1) {
		name := string(r.take(int(r.u8())))
		if r.err != nil {
			return r.err
		}
		if checkFirmName(name) != nil || (i > 0 && name <= prev) {
			return r.fail("firm-wide stp of firm %q: invalid name, or out of order", name)
		}
		prev = name
		for j, f := range e.cfg.Firms {
			if f.Name == name {
				e.firmWide[j+1] = true
			}
		}
	}
	e.resolveSTP()
	return r.err
}

// skipSTP passes over the stp section of a version 8 snapshot.
func (r *snapReader) skipSTP() {
	for range r.count(3) {
		r.take(int(r.u8()) + 1)
	}
	for range r.count(2) {
		r.take(int(r.u8()))
	}
}
