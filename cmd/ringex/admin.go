package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/node"
)

// serveAdmin opens the node's operator endpoint (replication.admin, also
// without replication: the end of day needs it): one line in ("promote",
// "status" or "endofday"), one line out. It listens on loopback addresses
// only by convention of the config; it has no authentication, so it must
// never face a network brokers can reach.
func serveAdmin(cfg config.Config, n *node.Node) (stop func()) {
	if cfg.Replication.Admin == "" {
		return func() {}
	}
	ln, err := net.Listen("tcp", cfg.Replication.Admin)
	if err != nil {
		log.Printf("ringex: admin endpoint %s not opened: %v", cfg.Replication.Admin, err)
		return func() {}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				switch strings.TrimSpace(line) {
				case "promote":
					log.Printf("ringex: promotion requested on the admin endpoint by %s", c.RemoteAddr())
					if epoch, err := n.Promote(); err != nil {
						fmt.Fprintf(c, "error %v\n", err)
					} else {
						fmt.Fprintf(c, "ok primary epoch %d\n", epoch)
					}
				case "endofday":
					log.Printf("ringex: end of the trading day requested on the admin endpoint by %s", c.RemoteAddr())
					if seq, err := n.EndOfDay(); err != nil {
						fmt.Fprintf(c, "error %v\n", err)
					} else {
						fmt.Fprintf(c, "ok end of day at sequence %d\n", seq)
					}
				case "status":
					st, ok := n.ReplicationStats()
					if !ok {
						fmt.Fprintf(c, "error replication is off\n")
						return
					}
					fmt.Fprintf(c, "ok role %s epoch %d lastSeq %d degraded %v inSync %v standbyConnected %v standbyAcked %d\n",
						st.Role, st.Epoch, st.LastSeq, st.Degraded, st.InSync, st.Standby.Connected, st.Standby.Acked)
				default:
					fmt.Fprintf(c, "error unknown command %q: want promote, status or endofday\n", strings.TrimSpace(line))
				}
			}()
		}
	}()
	return func() { ln.Close() }
}

// adminMain runs `ringex promote`, `ringex status` and `ringex endofday`.
func adminMain(cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("admin", config.Default().Replication.Admin, "the node's admin `host:port` (replication.admin)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ringex %s [--admin host:port]\n", cmd)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "ringex %s: %v\n", cmd, err)
		return 1
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(c, "%s\n", cmd)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		fmt.Fprintf(stderr, "ringex %s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprint(stdout, line)
	if !strings.HasPrefix(line, "ok") {
		return 1
	}
	return 0
}
