package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/node"
)

// The account commands travel on the admin endpoint as one line,
// "account TOKEN VERB COMPID [ASSET AMOUNT]", TOKEN "-" when there is
// none: the token comes first so that it is never mistaken for an
// argument.

const accountUsage = `Usage: ringex account deposit|withdraw [--admin host:port] [--token T] ACCOUNT ASSET AMOUNT
       ringex account show [--admin host:port] [--token T] ACCOUNT
       ringex account block|unblock [--admin host:port] [--token T] ACCOUNT|FIRM

ACCOUNT is a session's TargetCompID (its own account) or a firm's account
name (config firms[].accounts, FIX Account tag 1). Moves an account's
balances at the node at --admin (risk.mode "spot"): ASSET is
"cash" (AMOUNT a decimal of the quote asset, whole risk.cashUnit) or a symbol
(AMOUNT in shares, whole lots). A deposit or withdrawal goes through the ring
like an order: journaled, replicated and replayed; a withdrawal of more than
is free (not held by working orders) is refused. Prints the node's answer
("ok deposit at sequence N"). show prints whether the account is blocked,
its open orders and, with "spot", its cash, inventory and what its working
orders hold. block is the kill switch (risk.mode "limits" or
"spot"): new orders and replaces are refused from then on, and every working
order is cancelled, GTC included: of the session (whatever account its
orders are for), of the firm's account (whichever session placed them), or,
for a firm's name (firms[].name), of every session and account of the firm.
unblock lets it trade again. ACCOUNT @fees is the venue's fee account, where
risk.feeBps collects: show prints its cash, withdraw ... cash AMOUNT takes the
fees out; it takes no deposit and no inventory.
`

// accountLine splits what follows "account" on the admin line into the
// token and the arguments.
func accountLine(rest string) (token string, args []string) {
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", nil
	}
	if token = f[0]; token == "-" {
		token = ""
	}
	return token, f[1:]
}

// answerAccount runs an account command on n and answers with one line.
func answerAccount(c net.Conn, n *node.Node, args []string) {
	if len(args) == 2 && (args[0] == "block" || args[0] == "unblock") {
		cmdLog().Info("admin command requested", "command", "account "+strings.Join(args, " "), "remote", c.RemoteAddr().String())
		seq, err := n.Block(args[1], args[0] == "unblock")
		if err != nil {
			fmt.Fprintf(c, "error %v\n", err)
			return
		}
		fmt.Fprintf(c, "ok %s at sequence %d\n", args[0], seq)
		return
	}
	if len(args) >= 2 && args[0] == "show" {
		s, err := n.AccountShow(args[1])
		if err != nil {
			fmt.Fprintf(c, "error %v\n", err)
			return
		}
		fmt.Fprintf(c, "ok %s\n", s)
		return
	}
	if len(args) != 4 || (args[0] != "deposit" && args[0] != "withdraw") {
		fmt.Fprintf(c, "error account %q: want deposit|withdraw COMPID ASSET AMOUNT, or show|block|unblock COMPID\n", strings.Join(args, " "))
		return
	}
	cmdLog().Info("admin command requested", "command", "account "+strings.Join(args, " "), "remote", c.RemoteAddr().String())
	seq, err := n.Funds(args[0] == "withdraw", args[1], args[2], args[3])
	if err != nil {
		fmt.Fprintf(c, "error %v\n", err)
		return
	}
	fmt.Fprintf(c, "ok %s at sequence %d\n", args[0], seq)
}

// accountMain runs `ringex account`.
func accountMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("account", flag.ContinueOnError)
	addr := fs.String("admin", config.Default().Replication.Admin, "the node's admin `host:port` (replication.admin)")
	token := fs.String("token", "", "the admin `token` when the node sets replication.adminToken (default $"+adminTokenEnv+")")
	fs.Usage = usageFunc(fs, accountUsage)
	verb := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verb, args = args[0], args[1:]
	}
	if code, stop := exitCode(parseFlags(fs, args, true, stdout, stderr)); stop {
		return code
	}
	want := map[string]int{"deposit": 3, "withdraw": 3, "show": 1, "block": 1, "unblock": 1}[verb]
	if want == 0 || fs.NArg() != want {
		code, _ := exitCode(usageError(fs, "want deposit|withdraw ACCOUNT ASSET AMOUNT, show ACCOUNT, or block|unblock ACCOUNT|FIRM; got %q", strings.Join(append([]string{verb}, fs.Args()...), " ")))
		return code
	}
	if *token == "" {
		*token = os.Getenv(adminTokenEnv)
	}
	if *token == "" {
		*token = "-"
	}
	c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "ringex account: %v\n", err)
		return 1
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(c, "account %s %s %s\n", *token, verb, strings.Join(fs.Args(), " "))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		fmt.Fprintf(stderr, "ringex account: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, line)
	if !strings.HasPrefix(line, "ok") {
		return 1
	}
	return 0
}
