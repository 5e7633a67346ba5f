package main

import (
	"bufio"
	"context"
	"crypto/subtle"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/ringex/ringex/cluster"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/node"
)

// adminTokenEnv holds the admin token for `ringex serve` (over
// replication.adminToken) and for the admin commands (the --token
// default), so it need not appear on a command line.
const adminTokenEnv = "RINGEX_ADMIN_TOKEN"

// serveAdmin opens the node's operator endpoint (replication.admin, also
// without replication: the end of day needs it): one line in ("promote",
// "status" or "endofday", then the token when replication.adminToken is
// set), one line out. Without a token it must listen on loopback only
// (config.Check refuses anything else); with one, a command without it is
// refused and logged. The token travels in clear: beyond one machine,
// tunnel the endpoint (ssh, a VPN).
func serveAdmin(cfg config.Config, n *node.Node) (stop func()) {
	if cfg.Replication.Admin == "" {
		return func() {}
	}
	ln, err := net.Listen("tcp", cfg.Replication.Admin)
	if err != nil {
		cmdLog().Warn("admin endpoint not opened", "listen", cfg.Replication.Admin, "err", err)
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
				cmd, token, _ := strings.Cut(strings.TrimSpace(line), " ")
				var args []string
				var to string // handoff: "handoff NODE [token]"
				switch cmd {
				case "account":
					token, args = accountLine(token) // account.go
				case "handoff":
					to, token, _ = strings.Cut(token, " ")
				}
				if want := cfg.Replication.AdminToken; want != "" && subtle.ConstantTimeCompare([]byte(token), []byte(want)) != 1 {
					cmdLog().Warn("admin command REFUSED: no or wrong admin token", "command", cmd, "remote", c.RemoteAddr().String())
					fmt.Fprintf(c, "error unauthorized: this endpoint wants the admin token (--token or %s)\n", adminTokenEnv)
					return
				}
				switch cmd {
				case "promote":
					answer(c, "promotion", n.OperatorPromote, "primary epoch")
				case "override":
					answer(c, "forced promotion", n.ForcePromote, "primary epoch")
				case "handoff":
					answer(c, "handoff to "+to, func() (int64, error) { return n.Handoff(to) }, "handed off; it holds seq")
				case "endofday":
					answer(c, "end of the trading day", n.EndOfDay, "end of day at sequence")
				case "account":
					answerAccount(c, n, args)
				case "status":
					st, ok := n.ReplicationStats()
					if !ok {
						fmt.Fprintf(c, "error replication is off\n")
						return
					}
					fmt.Fprintf(c, "ok role %s epoch %d lastSeq %d degraded %v inSync %v standbyConnected %v standbyAcked %d peerPrimary %v splitBrain %v\n",
						st.Role, st.Epoch, st.LastSeq, st.Degraded, st.InSync, st.Standby.Connected, st.Standby.Acked, st.PeerPrimary, st.SplitBrain)
					writeShardStatus(c, n.Status().Shard)
				default:
					fmt.Fprintf(c, "error unknown command %q: want promote, status, endofday or account\n", cmd)
				}
			}()
		}
	}()
	return func() { ln.Close() }
}

// writeShardStatus follows the status line, on a node of a shard led
// through etcd, with the shard as the node sees it (no etcd round trip):
// one line for the shard, then one per member, its durable seq and the
// newest epoch of its history as it last published them (heardAgoMs 0:
// this node, live). Keys differ from the first line's, so that the whole
// answer reads as one list of key-value pairs.
func writeShardStatus(w io.Writer, sh *node.ShardStatus) {
	if sh == nil {
		return
	}
	role, leader := "standby", sh.Leader
	if sh.Leading {
		role = "primary"
	}
	if leader == "" {
		leader = "-"
	}
	syncSet := "-"
	if len(sh.SyncSet) > 0 {
		syncSet = strings.Join(sh.SyncSet, ",")
	}
	fmt.Fprintf(w, "shard %s member %s shardRole %s leader %s token %d leaseLeftMs %d mayAcknowledge %v handoff %v syncSet %s\n",
		sh.Shard, sh.Member, role, leader, sh.Token, int64(sh.LeaseRemainingSeconds*1000), sh.MayAcknowledge, sh.Handoff, syncSet)
	for _, m := range sh.Members {
		fmt.Fprintf(w, "member %s durableSeq %d historyEpoch %d heardAgoMs %d\n", m.Name, m.DurableSeq, m.Epoch, int64(m.HeardSecondsAgo*1000))
	}
}

// answer runs an admin command that changes the node (promote, endofday),
// logging who asked for it, and replies with one line: "error" and why, or
// "ok", the result and its number.
func answer[T int64 | uint64](c net.Conn, what string, do func() (T, error), result string) {
	cmdLog().Info("admin command requested", "command", what, "remote", c.RemoteAddr().String())
	v, err := do()
	if err != nil {
		fmt.Fprintf(c, "error %v\n", err)
		return
	}
	fmt.Fprintf(c, "ok %s %d\n", result, v)
}

// adminAbout says what each admin command does, for its usage.
var adminAbout = map[string]string{
	"promote": "Asks the node at --admin, a running standby, to promote itself to primary: it\nbegins a new epoch and opens FIX. Prints the node's answer (\"ok primary epoch N\").\n" +
		"In a shard led through etcd, name the node instead, after the flags (ringex\npromote --admin host:port NODE), and --admin the leader's endpoint: the leader\nwaits, acknowledging on, until NODE is near (within 1,000 records, at most 10 s),\nthen holds acknowledgements until NODE holds every record it journaled (at most\n2 s), and hands the shard to it in etcd (\"ok handed off; it holds seq S\").",
	"status": "Prints the replication state of the node at --admin: role, epoch, last\nsequence, whether it is degraded or in sync, and its standby's progress; on a\nnode of a shard led through etcd, then the shard as the node sees it (its role,\nthe leader, the token, its lease time left) and each member's durable seq and\nnewest epoch as last published (heardAgoMs).\n" +
		"With --etcd and --shard it prints the shard as etcd sees it instead: the leader,\nits token and lease time left, and each member's durable seq, polled now.",
	"endofday": "Ends the trading day now on the node at --admin: resting Day orders expire,\nGTC orders stay, ClOrdIDs may be used again (tradingDay.endUTC ends it every\nday on its own). Prints the sequence the day ended at.",
}

// adminMain runs `ringex promote`, `ringex status` and `ringex endofday`.
func adminMain(cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	addr := fs.String("admin", config.Default().Replication.Admin, "the node's admin `host:port` (replication.admin)")
	token := fs.String("token", "", "the admin `token` when the node sets replication.adminToken (default $"+adminTokenEnv+")")
	var etcd, shard *string
	var force *bool
	usage := fmt.Sprintf("Usage: ringex %s [--admin host:port] [--token T]\n\n%s\n", cmd, adminAbout[cmd])
	switch cmd {
	case "status":
		etcd = fs.String("etcd", "", "etcd client `URLs`, comma-separated: read the shard's status from etcd (with --shard)")
		shard = fs.String("shard", "", "the shard's `name` (cluster.shard), with --etcd")
		usage = "Usage: ringex status [--admin host:port] [--token T] | --etcd URLS --shard NAME\n\n" + adminAbout[cmd] + "\n"
	case "promote":
		force = fs.Bool("force", false, "shard led through etcd, on a standby's --admin: take the shard while no leader holds it, whatever\nthe sync set and the other candidates say (what only the lost primary acknowledged is lost)")
		usage = "Usage: ringex promote [--admin host:port] [--token T] [--force | NODE]\n\n" + adminAbout[cmd] + "\n"
	}
	fs.Usage = usageFunc(fs, usage)
	if code, stop := exitCode(parseFlags(fs, args, cmd == "promote", stdout, stderr)); stop {
		return code
	}
	if fs.NArg() > 1 {
		return exitCodeOf(usageError(fs, "unexpected argument %q", fs.Arg(1)))
	}
	if etcd != nil && *etcd != "" {
		return shardStatus(strings.Split(*etcd, ","), *shard, stdout, stderr)
	}
	if *token == "" {
		*token = os.Getenv(adminTokenEnv) // not the flag's default: --help would print it
	}
	switch {
	case cmd == "promote" && *force && fs.NArg() > 0:
		return exitCodeOf(usageError(fs, "--force promotes the node at --admin: name no node"))
	case cmd == "promote" && *force:
		cmd = "override"
	case cmd == "promote" && fs.NArg() == 1:
		cmd = "handoff " + fs.Arg(0)
	}
	c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "ringex %s: %v\n", cmd, err)
		return 1
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if *token != "" {
		fmt.Fprintf(c, "%s %s\n", cmd, *token)
	} else {
		fmt.Fprintf(c, "%s\n", cmd)
	}
	b, err := io.ReadAll(c) // the node closes after its answer: one line, or more for status
	if err != nil || len(b) == 0 {
		fmt.Fprintf(stderr, "ringex %s: no answer: %v\n", cmd, err)
		return 1
	}
	line := string(b)
	fmt.Fprint(stdout, line)
	if !strings.HasPrefix(line, "ok") {
		return 1
	}
	return 0
}

func exitCodeOf(err error) int {
	code, _ := exitCode(err)
	return code
}

// shardStatus prints a shard's status as etcd holds it: one line for the
// shard, then one per member.
func shardStatus(endpoints []string, shard string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := cluster.ReadStatus(ctx, endpoints, shard, time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "ringex status: %v\n", err)
		return 1
	}
	leader := st.Leader
	if leader == "" {
		leader = "-"
	}
	syncSet, syncToken, syncSeq := "-", int64(0), int64(0)
	if st.Sync != nil {
		syncSet, syncToken, syncSeq = strings.Join(st.Sync.Members, ","), int64(st.Sync.Token), st.Sync.Seq
	}
	fmt.Fprintf(stdout, "ok shard %s leader %s token %d leaseLeftMs %d syncSet %s syncToken %d syncSeq %d handoffTo %q\n",
		st.Shard, leader, st.Token, st.LeaseLeft.Milliseconds(), syncSet, syncToken, syncSeq, st.HandoffTo)
	for _, m := range st.Members {
		fmt.Fprintf(stdout, "member %s repl %s durableSeq %d historyEpoch %d fresh %v\n", m.Name, m.ReplAddr, m.DurableSeq, m.Epoch, m.Fresh)
	}
	return 0
}
