package bench

import (
	"errors"
	"io"
)

// RunFIXTarget runs cfg against target: "ringex" (a node started here and
// stopped after), "responder", "quickfixgo", or an address.
func RunFIXTarget(target string, cfg FIXConfig, name, sync string, logw io.Writer) (*Result, error) {
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
			r.Sync = sync
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
	default:
		cfg.Addr = target
		return RunFIX(cfg)
	}
}
