package bench

import (
	"errors"
	"io"

	"github.com/ringex/ringex/journal"
)

// RunFIXTarget runs cfg against target: "ringex" (a node started here and
// stopped after), "responder", "quickfixgo", "ordermatch" or
// "ordermatch-mem" (the peer with its file or memory store, started by
// scripts/ordermatch.sh and stopped after; FIX 4.2 and a new-only mix with
// Day takers, PeerMix, are required), or an address.
func RunFIXTarget(target string, cfg FIXConfig, name string, sync journal.SyncMode, logw io.Writer) (*Result, error) {
	cfg.Name, cfg.Target = name, target
	if cfg.BeginString == "" {
		cfg.BeginString = "FIX.4.4"
	}
	switch target {
	case "ringex":
		s, err := StartSelf(cfg.BeginString, cfg.SenderIDs, sync, logw)
		if err != nil {
			return nil, err
		}
		cfg.Addr, cfg.TargetID, cfg.Symbols = s.Addr, s.Target, s.Symbols
		r, err := RunFIX(cfg)
		if r != nil {
			r.Sync = sync.String()
		}
		return r, errors.Join(err, s.Stop())
	case "responder":
		s, err := StartResponder("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer s.Stop()
		cfg.Addr = s.Addr()
		return RunFIX(cfg)
	case "quickfixgo":
		q, err := StartQuickfixgoBaseline(cfg.BeginString, cfg.TargetID, cfg.SenderIDs)
		if err != nil {
			return nil, err
		}
		defer q.Stop()
		cfg.Addr = q.Addr()
		return RunFIX(cfg)
	case "ordermatch", "ordermatch-mem":
		if cfg.BeginString != "FIX.4.2" || (cfg.Streams == nil && (!cfg.Mix.NewOnly() || !cfg.Mix.DayTakers)) {
			return nil, errors.New("ordermatch speaks FIX.4.2 and trades new Day limit orders only: run it with --begin FIX.4.2 and the peer mix")
		}
		o, err := StartOrdermatch(peerStore(target), cfg.SenderIDs)
		if err != nil {
			return nil, err
		}
		cfg.Addr, cfg.TargetID = o.Addr(), OrdermatchCompID
		r, err := RunFIX(cfg)
		return r, errors.Join(err, o.Stop())
	default:
		cfg.Addr = target
		return RunFIX(cfg)
	}
}
