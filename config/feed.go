package config

import (
	"fmt"
	"net"
	"net/netip"
)

// Feed is the by-order binary market-data feed (package feed): messages
// over UDP to the addresses in Send and to receivers that join through
// the TCP recovery service, which also retransmits and snapshots. Off by
// default.
type Feed struct {
	Enabled        bool     `json:"enabled"`
	Recovery       string   `json:"recovery"`       // TCP host:port of the recovery service
	Send           []string `json:"send"`           // UDP ip:port that always get the feed: unicast, or a multicast group
	QueuePackets   int      `json:"queuePackets"`   // packets waiting for the sender; past it they are dropped
	HeartbeatMs    int      `json:"heartbeatMs"`    // the longest silence before a heartbeat
	RetainMessages int      `json:"retainMessages"` // messages the recovery service keeps for retransmission
}

func (f *Feed) check() error {
	if !f.Enabled {
		return nil
	}
	if _, _, err := net.SplitHostPort(f.Recovery); err != nil {
		return fmt.Errorf("feed.recovery %q: %v", f.Recovery, err)
	}
	for i, s := range f.Send {
		if _, err := netip.ParseAddrPort(s); err != nil {
			return fmt.Errorf("feed.send[%d] %q: want ip:port: %v", i, s, err)
		}
	}
	if f.QueuePackets < 1 || f.QueuePackets > 1<<20 || f.HeartbeatMs < 1 || f.RetainMessages < 1 {
		return fmt.Errorf("feed.queuePackets (1 to %d), feed.heartbeatMs and feed.retainMessages must be positive", 1<<20)
	}
	return nil
}
