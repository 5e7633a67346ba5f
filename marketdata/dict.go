package marketdata

import "github.com/ringex/ringex/fix"

// The MarketDataRequest (V) each version's sessions accept: the request,
// its entry types, and its symbols with the Instrument fields a broker's
// engine commonly sends (only Symbol is looked at).
var requestSpec = map[string]string{
	"FIX.4.2": "262! 263! 264! 265 266 267!{269} 146!{55 65 48 22 167 207 336}",
	"FIX.4.4": "262! 263! 264! 265 266 286 546 547 267!{269} 146!{55 65 48 22 167 207 460 461}",
}

// Extend adds MarketDataRequest to d, a session's dictionary, and the
// types of its fields. Values are checked by Request, which answers a
// value it does not serve with MarketDataRequestReject rather than a
// session Reject.
func (f *Feed) Extend(d *fix.Dictionary) error {
	d.AddField(tagMDReqID, fix.TypeString)
	d.AddField(tagSubReqType, fix.TypeChar)
	d.AddField(tagMarketDepth, fix.TypeInt)
	d.AddField(tagMDUpdateType, fix.TypeInt)
	d.AddField(tagAggregatedBook, fix.TypeBool)
	d.AddField(tagNoMDEntryTypes, fix.TypeNumInGroup)
	d.AddField(tagMDEntryType, fix.TypeChar)
	d.AddField(tagNoRelatedSym, fix.TypeNumInGroup)
	return d.AddMessage("V", requestSpec[d.BeginString()])
}

// NotResent are the MsgTypes a session's resend replaces with
// SequenceReset-GapFill (fix.Config.NotResent): market data is stale once
// missed, and a broker that lost some asks for a snapshot again.
func (f *Feed) NotResent() []string { return []string{"W", "X", "Y"} }
