package main

import (
	"fmt"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/httpd"
	"github.com/ringex/ringex/node"
)

// web is `ringex serve`'s operator web endpoint (http.listen): open for
// the whole process, so /livez answers across restarts in place, and
// attached to each node node.Run starts.
type web struct{ srv *httpd.Server }

// openWeb opens the endpoint, with the runtime profiles when profiles
// (serve --pprof); a port that cannot be opened is logged and the
// exchange serves without it, as without the admin endpoint.
func openWeb(cfg config.Config, profiles bool) web {
	if cfg.HTTP.Listen == "" {
		return web{}
	}
	srv, err := httpd.Listen(cfg.HTTP.Listen)
	if err != nil {
		cmdLog().Warn("HTTP listener not opened; serving without metrics, health and status page", "err", err)
		return web{}
	}
	cmdLog().Info("metrics, health and status page", "url", fmt.Sprintf("http://%s/", srv.Addr()))
	if profiles {
		srv.ServeProfiles()
		cmdLog().Warn("runtime profiles served (--pprof): anyone who reaches this listener can profile the process", "url", fmt.Sprintf("http://%s/debug/pprof/", srv.Addr()))
	}
	return web{srv}
}

// serving is node.RunOptions.Serving: the admin endpoint, and the web
// endpoint reading n.
func (w web) serving(cfg config.Config, n *node.Node) (stop func()) {
	stopAdmin := serveAdmin(cfg, n)
	if w.srv != nil {
		w.srv.Attach(n)
	}
	return func() {
		if w.srv != nil {
			w.srv.Detach()
		}
		stopAdmin()
	}
}

func (w web) close() {
	if w.srv != nil {
		w.srv.Close()
	}
}

// serveWebFlags applies serve's --http to cfg; an error names the flag
// refused.
func serveWebFlags(cfg *config.Config, httpListen string) error {
	if httpListen != "" {
		cfg.HTTP.Listen = httpListen
		if err := cfg.Check(); err != nil {
			return fmt.Errorf("--http: %w", err)
		}
	}
	return nil
}
