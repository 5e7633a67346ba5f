package bench

import (
	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is one run: its settings, its counts and its latency
// distributions. Latencies are nanoseconds from the planned send time
// (open loop) or from the send (closed loop, RateAsked 0).
type Result struct {
	Name        string  `json:"name"`
	Mode        string  `json:"mode"`   // "journal", "pipeline" or "fix"
	Target      string  `json:"target"` // what answered: ringex, responder, quickfixgo, an address
	Sync        string  `json:"sync,omitempty"`
	BeginString string  `json:"beginString,omitempty"`
	RateAsked   float64 `json:"rateAsked"` // requests/s; 0: as fast as the in-flight bound allows
	Sessions    int     `json:"sessions"`
	Inflight    int     `json:"inflight"` // bound over all sessions
	DurationSec float64 `json:"durationSec"`
	WarmupSec   float64 `json:"warmupSec"`
	WakeGridNs  int64   `json:"wakeGridNs,omitempty"` // the senders' wake-up grid (Schedule); 0: each at its planned time

	Sent       int64   `json:"sent"`       // requests written, warm-up included
	Answered   int64   `json:"answered"`   // requests answered, warm-up included
	Measured   int64   `json:"measured"`   // answered requests planned after the warm-up
	Achieved   float64 `json:"achieved"`   // measured answers per second of the measured window
	Unsent     int64   `json:"unsent"`     // planned before the end but never sent: the load fell behind
	Unanswered int64   `json:"unanswered"` // sent and never answered within the drain time
	Rejects    int64   `json:"rejects"`    // orders rejected (ExecType 8), session or business rejects
	CxlRejects int64   `json:"cxlRejects"` // cancel/replace refused: usually too late (the order traded), an ordinary outcome
	Errors     int64   `json:"errors"`     // Rejects + Unanswered
	Note       string  `json:"note,omitempty"`

	Ack     Percentiles `json:"ack"`     // new order → New (or Rejected)
	Fill    Percentiles `json:"fill"`    // crossing new order → its first fill
	Amend   Percentiles `json:"amend"`   // cancel/replace → Canceled/Replaced or OrderCancelReject
	SendLag Percentiles `json:"sendLag"` // planned → written: the generator's own delay

	Hists map[string]*hdrhistogram.Histogram `json:"-"` // "ack", "fill", "amend", "sendlag"
}

func (r *Result) finish(hists map[string]*hdrhistogram.Histogram) {
	r.Hists = hists
	r.Ack = Summarize(hists["ack"])
	r.Fill = Summarize(hists["fill"])
	r.Amend = Summarize(hists["amend"])
	r.SendLag = Summarize(hists["sendlag"])
	r.Errors = r.Rejects + r.Unanswered
}
