package bench

import (
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/node"
)

// Self is a ringex node started in-process for a benchmark, on a temporary
// data dir and a free port, with one FIX session per sender.
type Self struct {
	Node    *node.Node
	Addr    string
	Target  string   // the exchange's CompID
	Symbols []string // symbol names, in config order
	dir     string
}

// StartSelf starts a node on the default configuration with the given
// sessions and journal sync mode. Its log goes to logw (nil: discarded).
func StartSelf(beginString string, senders []string, sync journal.SyncMode, logw io.Writer) (*Self, error) {
	dir, err := os.MkdirTemp("", "ringex-bench-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.FIX.Listen = addr
	cfg.FIX.Sessions = nil
	for _, s := range senders {
		cfg.FIX.Sessions = append(cfg.FIX.Sessions, config.Session{BeginString: beginString, TargetCompID: s})
	}
	setSync(&cfg, sync)
	if logw == nil {
		logw = io.Discard
	}
	n, err := node.Start(cfg, node.Options{Log: slog.New(slog.NewTextHandler(logw, nil))})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Self{Node: n, Addr: addr, Target: cfg.FIX.SenderCompID, dir: dir}
	for _, sym := range cfg.Symbols {
		s.Symbols = append(s.Symbols, sym.Name)
	}
	return s, nil
}

// setSync sets the node's journal sync mode (interval: every 2 ms unless
// the config says otherwise).
func setSync(cfg *config.Config, mode journal.SyncMode) {
	cfg.Journal.Sync = mode
	if mode == journal.SyncInterval && cfg.Journal.SyncIntervalMs <= 0 {
		cfg.Journal.SyncIntervalMs = 2
	}
}

// Stop stops the node and removes its data dir.
func (s *Self) Stop() error {
	err := s.Node.Stop()
	os.RemoveAll(s.dir)
	return err
}
