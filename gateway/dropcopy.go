package gateway

import (
	"fmt"

	"github.com/ringex/ringex/fix"
)

// Drop copy. A session configured with Session.DropCopyOf takes no orders
// (FromApp answers every application message with a BusinessMessageReject)
// and gets a copy of every report the publish stage makes for the
// accounts it names: the same message, same ExecID, with
// CopyMsgIndicator(797)=Y in the header of an ExecutionReport where the
// session's FIX version has the tag (copyMark, reportHeader). FIX 4.2
// defines no tag 797, and a broker's engine validating with its stock
// FIX 4.2 dictionary refuses a message that carries it, so a FIX 4.2
// drop copy gets its copies without it, unless its session's
// CopyMsgIndicator says its dictionary adds the tag; nor does FIX 4.2
// have the OrderMassCancelReport, which it does not get
// (hasMassCancelReport). It needs no mark: a drop-copy session has no
// orders of its own, so every report it gets is a copy. The drop-copy
// session is an account of its own to the gateway: each copy is numbered
// by the copy account's own delivery marks, written to its own session
// store, held and resent (PossResend=Y) after a restart or a failover
// like a broker's own reports, because Publish, hold, toResend and flush
// treat it as one more account the event goes to. Which copy accounts an
// account's events go to is fixed in New (account.copies), so the
// publish stage looks up nothing per event.

const tagCopyMsgIndicator = 797 // header: a copy of a report sent to another session (drop copy)

// linkDropCopies fills account.copies and account.dropCopy from the
// sessions' DropCopyOf. Called by New.
func (g *Gateway) linkDropCopies() error {
	byCompID := make(map[string]uint32, len(g.opts.Sessions))
	for _, s := range g.opts.Sessions {
		byCompID[s.TargetCompID] = s.Account
		dropCopy := s.DropCopy || len(s.DropCopyOf) > 0
		g.accounts[s.Account].dropCopy = dropCopy
		g.accounts[s.Account].copyMark = dropCopy && (s.BeginString != fix42 || s.CopyMsgIndicator)
	}
	for _, s := range g.opts.Sessions {
		c := s.Account
		for _, name := range s.DropCopyOf {
			if name == "*" {
				for a := 1; a < len(g.accounts); a++ {
					if g.sessionOf(uint32(a)) != nil {
						g.addCopy(uint32(a), c)
					}
				}
				continue
			}
			a := byCompID[name]
			if a == 0 || g.accounts[a].dropCopy {
				return fmt.Errorf("gateway: session %s: dropCopyOf %q is not a broker session", s.TargetCompID, name)
			}
			g.addCopy(a, c)
		}
	}
	return nil
}

// addCopy makes drop-copy account c get account a's reports, once.
func (g *Gateway) addCopy(a, c uint32) {
	acct := &g.accounts[a]
	if acct.dropCopy {
		return
	}
	for _, have := range acct.copies {
		if have == c {
			return
		}
	}
	acct.copies = append(acct.copies, c)
}

var (
	resendHeader     = headerOf(true, false) // a report resent after a restart or a failover: 97=Y
	copyHeader       = headerOf(false, true) // a live copy: 797=Y
	copyResendHeader = headerOf(true, true)  // a copy resent after a restart or a failover: 97=Y, 797=Y
)

func headerOf(resent, copied bool) *fix.Fields {
	var f fix.Fields
	if resent {
		f.AddChar(tagPossResend, 'Y')
	}
	if copied {
		f.AddChar(tagCopyMsgIndicator, 'Y')
	}
	return &f
}

// reportHeader is the header of a report (msgType) to an account: a drop
// copy's ExecutionReport says 797=Y where its version has the tag
// (copyMark); one not live (resent after a restart or a failover) says
// 97=Y. No version defines 797 in an OrderCancelReject or an
// OrderMassCancelReport (FIX 4.4 has it in ExecutionReport,
// TradeCaptureReport and Confirmation only), and a stock engine refuses
// it there, so their copies carry none. Hot path (Publish): no
// allocation.
func reportHeader(copyMark bool, msgType string, live bool) *fix.Fields {
	copied := copyMark && msgType == "8"
	switch {
	case copied && live:
		return copyHeader
	case copied:
		return copyResendHeader
	case live:
		return nil
	}
	return resendHeader
}

// hasMassCancelReport says whether session s's FIX version has the
// OrderMassCancelReport (r): FIX 4.2 has none, and a stock FIX 4.2 engine
// answers one with a session Reject (Invalid MsgType), so a FIX 4.2 drop
// copy gets a mass cancel's Canceled ExecutionReports, not its report.
// Only a drop copy meets it: a FIX 4.2 broker has no
// OrderMassCancelRequest to ask for one. Hot path: no allocation.
func hasMassCancelReport(s *fix.Session) bool { return s.BeginString() != fix42 }

// WithCopied returns want (by account) with every account added whose
// reports a wanted drop-copy account copies: the events a journal rebuild
// must keep for those drop-copy accounts (node: regenerate). want is not
// changed. Cold path.
func (g *Gateway) WithCopied(want []bool) []bool {
	out := append([]bool(nil), want...)
	for a := 1; a < len(g.accounts) && a < len(out); a++ {
		for _, c := range g.accounts[a].copies {
			if int(c) < len(want) && want[c] {
				out[a] = true
			}
		}
	}
	return out
}
