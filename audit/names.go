package audit

import (
	"strconv"

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

func kindName(k matcher.Kind) string {
	switch k {
	case matcher.KindNew:
		return "new"
	case matcher.KindCancel:
		return "cancel"
	case matcher.KindReplace:
		return "replace"
	case matcher.KindMassCancel:
		return "mass_cancel"
	}
	if n := checkpointKindName(k); n != "" {
		return n
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// execTypeStatus gives the FIX 4.4 MsgType, ExecType (150) and OrdStatus
// (39) the gateway sends for an event (gateway/outbound.go: a cancel reject
// is an OrderCancelReject, MsgType 9, with no ExecType).
func execTypeStatus(ev *matcher.Event) (msgType, execType, ordStatus string) {
	status := "0"
	switch {
	case ev.LeavesQty == 0 && ev.CumQty > 0:
		status = "2"
	case ev.CumQty > 0:
		status = "1"
	}
	switch ev.Type {
	case matcher.EvAccepted:
		return "8", "0", status
	case matcher.EvFill:
		return "8", "F", status
	case matcher.EvCancelled:
		return "8", "4", "4"
	case matcher.EvReplaced:
		return "8", "5", status
	case matcher.EvRejected:
		return "8", "8", "8"
	case matcher.EvExpired:
		return "8", "C", "C"
	case matcher.EvCancelRejected:
		if ev.OrderID == 0 {
			return "9", "", "8"
		}
		return "9", "", status
	}
	return "8", "I", status
}
