// Package httpd is a node's operator web endpoint (config http.listen):
// Prometheus metrics at /metrics, health at /livez and /readyz, and a live
// status page at / that polls its JSON at /status.json, and, only when
// the operator asks for it (ServeProfiles), Go's runtime profiles under
// /debug/pprof/. It reads the node
// through Source, at request time only, and changes nothing: it takes no
// command and holds no secret. It refuses to count anything itself on the
// hot path: every figure is one the node keeps (node.Status, node.Latency)
// or the ring's own sequences, read when asked.
//
// The server lives as long as the process; the node behind it may be
// replaced (a restart in place, node.Run): Attach and Detach say which
// node answers. While none is attached /livez still answers and /readyz
// says why it is not ready.
package httpd

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/ringex/ringex/internal/lathist"
	"github.com/ringex/ringex/node"
)

// Source is what the endpoint reads of a running node; *node.Node is one.
type Source interface {
	Status() node.Status
	Latency() (pipeline, commit, batch, replicationAck *lathist.Snapshot)
}

//go:embed page
var pageFS embed.FS

// Server is the endpoint. Its methods are safe from any goroutine.
type Server struct {
	src    atomic.Pointer[Source]
	ln     net.Listener
	srv    *http.Server
	mux    *http.ServeMux
	window *window
	wake   chan struct{} // Attach: sample the new node now
	stop   chan struct{}
	done   chan struct{}
}

// Listen opens the endpoint on addr and serves it until Close.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http endpoint %s: %w", addr, err)
	}
	s := &Server{ln: ln, window: &window{}, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{s}, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	page, _ := fs.Sub(pageFS, "page")
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok: alive") })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /status.json", s.statusJSON)
	mux.Handle("GET /", securityHeaders(http.FileServerFS(page)))
	s.mux = mux
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go s.srv.Serve(ln)
	go s.sample()
	return s, nil
}

// ServeProfiles adds Go's runtime profiles (net/http/pprof) under
// /debug/pprof/: a CPU profile of the running process, heap, goroutines,
// blocking and mutex contention, for `go tool pprof`. Off unless the
// operator asks (serve --pprof): a profile costs CPU while it runs and a
// goroutine dump shows the program's insides, so it is for a listener
// that only operators reach. Cold path: nothing runs until a request.
func (s *Server) ServeProfiles() {
	s.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	s.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	s.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// Addr is the address the endpoint listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Attach makes src the node the endpoint reads from.
func (s *Server) Attach(src Source) {
	s.src.Store(&src)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Detach leaves the endpoint without a node (it is stopping or
// restarting in place): /readyz answers 503.
func (s *Server) Detach() { s.src.Store(nil) }

func (s *Server) source() Source {
	if p := s.src.Load(); p != nil {
		return *p
	}
	return nil
}

// Close stops the endpoint: the listener at once, requests in flight
// within a few seconds.
func (s *Server) Close() error {
	close(s.stop)
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	return err
}

// Ready says whether st is a node that should get traffic, and why not:
// a primary (or a node without replication) serving FIX, or a standby
// that has reached its primary's last seq; never one whose pipeline
// stopped, nor the primary of a shard led through etcd that may not
// acknowledge now (its lease guard ran out, or a handoff holds it), nor
// a sync primary holding a batch past syncTimeoutMs for its standby's
// acknowledgement (onStandbyLost "wait"; a shard's sync set). A sync
// primary with no standby and nothing waiting stays ready.
func Ready(st *node.Status) (ok bool, why string) {
	sh := st.Shard
	switch {
	case st.Stopped != "":
		return false, "the pipeline stopped: " + st.Stopped
	case sh != nil && st.Role == "primary" && !sh.MayAcknowledge:
		return false, fmt.Sprintf("primary of shard %s under term %d, not acknowledging: %s", sh.Shard, sh.Token, sh.Why)
	case st.Role == "primary" && st.Replication != nil && st.Replication.Holding > 0:
		from := "its standby"
		if sh != nil {
			from = "its sync set"
		}
		return false, fmt.Sprintf("primary, holding acknowledgements: seq %d has waited past syncTimeoutMs for %s", st.Replication.Holding, from)
	case st.Role == "standby" && st.CaughtUp:
		return true, "standby, caught up with its primary"
	case st.Role == "standby":
		return false, "standby, not caught up with its primary (connecting or catching up)"
	case !st.ServingFIX:
		return false, st.Role + ", not serving FIX"
	}
	return true, st.Role + ", serving FIX"
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	src := s.source()
	if src == nil {
		http.Error(w, "not ready: no node running (starting, stopping or restarting in place)", http.StatusServiceUnavailable)
		return
	}
	st := src.Status()
	ok, why := Ready(&st)
	if !ok {
		http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok: "+why)
}

// securityHeaders keeps the page to its own origin: no external asset
// could load even if one were linked.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}
