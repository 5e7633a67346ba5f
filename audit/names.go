package audit

import (
	"strconv"

	"github.com/ringex/ringex/gateway"
	"github.com/ringex/ringex/matcher"
)

func sideName(s matcher.Side) string {
	switch s {
	case matcher.Buy:
		return "buy"
	case matcher.Sell:
		return "sell"
	case 0:
		return ""
	}
	return "side(" + strconv.Itoa(int(s)) + ")"
}

// rejectSide is the side of a gateway's refusal: the Side as sent when it
// is 1 buy or 2 sell; none for another value or for a mass cancel, whose
// record keeps its MassCancelRequestType there.
func rejectSide(r *matcher.GatewayReject) string {
	if r.Request == 'q' {
		return ""
	}
	switch r.Side {
	case '1':
		return sideName(matcher.Buy)
	case '2':
		return sideName(matcher.Sell)
	}
	return ""
}

// rejectSymbol is the symbol of a gateway's refusal: the venue's name for
// its id, or else the unlisted symbol the broker's report echoed
// (gateway.RejectSymbol).
func rejectSymbol(v *Venue, r *matcher.GatewayReject) string {
	if r.Symbol != 0 {
		return v.SymbolName(r.Symbol)
	}
	return string(gateway.RejectSymbol(r))
}

func ordTypeName(t matcher.OrdType) string {
	switch t {
	case matcher.Limit:
		return "limit"
	case matcher.Market:
		return "market"
	case 0:
		return ""
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

func tifName(t matcher.TIF) string {
	switch t {
	case matcher.Day:
		return "day"
	case matcher.GTC:
		return "gtc"
	case matcher.IOC:
		return "ioc"
	case matcher.FOK:
		return "fok"
	}
	return "tif(" + strconv.Itoa(int(t)) + ")"
}

// execTypeStatus gives the FIX 4.4 MsgType, ExecType (150) and OrdStatus
// (39) the gateway sends for an event: gateway.ReportCodes, as text.
func execTypeStatus(ev *matcher.Event) (msgType, execType, ordStatus string) {
	msgType, et, os := gateway.ReportCodes(ev, false)
	return msgType, codeText(et), codeText(os)
}

func codeText(c byte) string {
	if c == 0 {
		return ""
	}
	return string(rune(c))
}

// riskModeName is a risk venue record's mode as risk.mode writes it.
func riskModeName(m uint8) string {
	switch m {
	case 0:
		return "none"
	case 1:
		return "limits"
	case 2:
		return "spot"
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}
