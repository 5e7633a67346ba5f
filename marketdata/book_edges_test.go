package marketdata_test

import (
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"
)

// nextXs reads n X messages and returns each one's entries by MDReqID.
func nextXs(c *mdClient, n int) map[string]string {
	out := map[string]string{}
	for range n {
		x := c.next("X")
		out[get(x, 262)] += strings.Join(entries(x, 279), "|")
	}
	return out
}

// TestBookByOrderFilledOnEntryAndBothViews: an order filled in full on
// entry never rests, so a book by order hears only the delete of the
// order it took; an order that fills in part rests with what is left, a
// new at its price; one session subscribed by order and by price at once
// hears each in its own terms.
func TestBookByOrderFilledOnEntryAndBothViews(t *testing.T) {
	addr := startExchange(t)
	md := dialMD(t, addr, quickfix.BeginStringFIX44, "BROKER04")
	trader := dialMD(t, addr, quickfix.BeginStringFIX44, "BROKER02")
	md.requestBook("ob", '1', 0, 1, "N", "01", "AAPL")
	md.next("W")
	md.request("px", '1', 0, 1, "01", "AAPL")
	md.next("W")

	trader.order("S1", "AAPL", "2", "10", "101.25")
	s1 := get(trader.next("8"), 37)
	if got, want := nextXs(md, 2), map[string]string{
		"ob": "279=0 269=1 55=AAPL 270=101.25 271=10 37=" + s1,
		"px": "279=0 269=1 55=AAPL 270=101.25 271=10",
	}; got["ob"] != want["ob"] || got["px"] != want["px"] {
		t.Fatalf("S1 rests: got %v, want %v", got, want)
	}

	trader.order("B1", "AAPL", "1", "10", "101.25") // takes all of S1, never rests
	for range 3 {
		trader.next("8")
	}
	if got, want := nextXs(md, 2), map[string]string{
		"ob": "279=2 269=1 55=AAPL 270=101.25 37=" + s1,
		"px": "279=2 269=1 55=AAPL 270=101.25",
	}; got["ob"] != want["ob"] || got["px"] != want["px"] {
		t.Fatalf("B1 filled on entry: got %v, want %v", got, want)
	}

	trader.order("S2", "AAPL", "2", "10", "101.30")
	s2 := get(trader.next("8"), 37)
	nextXs(md, 2)
	trader.order("B2", "AAPL", "1", "15", "101.30") // takes S2, rests 5
	b2 := get(trader.next("8"), 37)
	for range 2 {
		trader.next("8")
	}
	if got, want := nextXs(md, 2), map[string]string{
		"ob": "279=2 269=1 55=AAPL 270=101.30 37=" + s2 + "|279=0 269=0 55=AAPL 270=101.30 271=5 37=" + b2,
		"px": "279=0 269=0 55=AAPL 270=101.30 271=5|279=2 269=1 55=AAPL 270=101.30", // bids first

	}; got["ob"] != want["ob"] || got["px"] != want["px"] {
		t.Fatalf("B2 fills in part and rests: got %v, want %v", got, want)
	}
}
