package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/node"
)

// The account commands travel on the admin endpoint as one line,
// "account TOKEN [ref=REF] [wait=MS] VERB COMPID [ASSET AMOUNT]", TOKEN
// "-" when there is none: the token comes first so that it is never
// mistaken for an argument. REF is the request's reference (a retry sends
// the same one, and is never applied twice), MS how long the node waits
// for the outcome (default accountWait).

const accountUsage = `Usage: ringex account deposit|withdraw [--admin host:port] [--token T] [--ref R] [--timeout D] ACCOUNT ASSET AMOUNT
       ringex account show [--admin host:port] [--token T] ACCOUNT
       ringex account block|unblock [--admin host:port] [--token T] [--ref R] [--timeout D] ACCOUNT|FIRM

ACCOUNT is a session's TargetCompID (its own account) or a firm's account
name (config firms[].accounts, FIX Account tag 1). Moves an account's
balances at the node at --admin (risk.mode "spot"): ASSET is
"cash" (AMOUNT a decimal of the quote asset, whole risk.cashUnit) or a symbol
(AMOUNT in shares, whole lots). A deposit or withdrawal goes through the ring
like an order: journaled, replicated and replayed; a withdrawal of more than
is free (not held by working orders) is refused. Prints the node's answer
("ok deposit at sequence N"). show prints whether the account is blocked
(by its own block, its firm's, or both), its open orders and, with "spot",
its cash, inventory and what its working orders hold. block is the kill
switch (risk.mode "limits" or "spot"): new orders and replaces are refused
from then on, and every working order is cancelled, GTC included: of the
session (whatever account its orders are for), of the firm's account
(whichever session placed them), or, for a firm's name (firms[].name), of
every session and account of the firm. unblock lets it trade again. An
account's own block and its firm's are independent: the firm's unblock
leaves blocked the members blocked on their own (the answer names them),
and an account's unblock leaves it blocked by its blocked firm (the answer
says so). ACCOUNT @fees is the venue's fee account, where risk.feeBps
collects: show prints its cash, withdraw ... cash AMOUNT takes the
fees out; it takes no deposit and no inventory.

Every deposit, withdrawal, block and unblock carries a reference (--ref,
else a new one per invocation): the node applies one reference once per
account, and answers a repeat with the first one's outcome ("ok deposit at
sequence N, already applied (ref R)"). When no outcome comes within
--timeout (a sync primary holding acknowledgements, a lost connection) it
prints the reference and the command that asks again safely; exit status 3.
`

// accountWait is how long the node waits for an operator record's outcome
// when the request names no wait: less than the admin connection's
// deadline (serveAdmin), so the answer still reaches an older CLI.
const accountWait = 20 * time.Second

// maxAccountWait bounds the wait a request may ask for.
const maxAccountWait = 10 * time.Minute

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

// accountOptions takes the request's options, ref= and wait=, off the
// front of args.
func accountOptions(args []string) (ref string, wait time.Duration, rest []string, err error) {
	wait = accountWait
	for len(args) > 0 {
		switch k, v, _ := strings.Cut(args[0], "="); k {
		case "ref":
			ref = v
		case "wait":
			ms, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil || ms < 1 || time.Duration(ms)*time.Millisecond > maxAccountWait {
				return "", 0, nil, fmt.Errorf("wait=%s: want 1 to %d milliseconds", v, maxAccountWait.Milliseconds())
			}
			wait = time.Duration(ms) * time.Millisecond
		default:
			return ref, wait, args, nil
		}
		args = args[1:]
	}
	return ref, wait, args, nil
}

// answerAccount runs an account command on n and answers with one line:
// "ok ...", or "error ..." (with "outcome pending" and the ref when the
// record is journaled and its outcome was not known within the wait).
func answerAccount(c net.Conn, n *node.Node, args []string) {
	ref, wait, args, err := accountOptions(args)
	if err != nil {
		fmt.Fprintf(c, "error %v\n", err)
		return
	}
	c.SetDeadline(time.Now().Add(wait + 10*time.Second)) // the answer comes after the wait at the latest
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var seq int64
	switch {
	case len(args) == 2 && (args[0] == "block" || args[0] == "unblock"):
		cmdLog().Info("admin command requested", "command", "account "+strings.Join(args, " "), "ref", ref, "remote", c.RemoteAddr().String())
		seq, err = n.BlockRef(ctx, ref, args[1], args[0] == "unblock")
	case len(args) >= 2 && args[0] == "show":
		s, err := n.AccountShow(args[1])
		if err != nil {
			fmt.Fprintf(c, "error %v\n", err)
			return
		}
		fmt.Fprintf(c, "ok %s\n", s)
		return
	case len(args) == 4 && (args[0] == "deposit" || args[0] == "withdraw"):
		cmdLog().Info("admin command requested", "command", "account "+strings.Join(args, " "), "ref", ref, "remote", c.RemoteAddr().String())
		seq, err = n.FundsRef(ctx, ref, args[0] == "withdraw", args[1], args[2], args[3])
	default:
		fmt.Fprintf(c, "error account %q: want deposit|withdraw COMPID ASSET AMOUNT, or show|block|unblock COMPID\n", strings.Join(args, " "))
		return
	}
	if re := (*node.RepeatError)(nil); errors.As(err, &re) {
		fmt.Fprintf(c, "ok %s at sequence %d, already applied (ref %s): nothing applied again\n", args[0], re.Seq, re.Ref)
		return
	}
	if err != nil {
		fmt.Fprintf(c, "error %v\n", err)
		return
	}
	fmt.Fprintf(c, "ok %s at sequence %d%s\n", args[0], seq, stillBlocked(n, args[0], args[1]))
}

// stillBlocked is what the unblock of name leaves blocked, as the answer
// says it after its sequence (node/firmblock.go): a firm's members
// blocked on their own, or the block of an account's firm; "" for a
// block, and for an account's unblock that leaves it free.
func stillBlocked(n *node.Node, verb, name string) string {
	if verb != "unblock" {
		return ""
	}
	if members, ok := n.OwnBlockedMembers(name); ok {
		if len(members) == 0 {
			return fmt.Sprintf(": firm %s's block is lifted from each of its members; none is blocked on its own", name)
		}
		return fmt.Sprintf(": firm %s's block is lifted from each of its members; these stay blocked by their own block until unblocked by name: %s", name, strings.Join(members, " "))
	}
	switch firm, blocked := n.FirmBlockOf(name); {
	case blocked && firm != "":
		return fmt.Sprintf(": %s's own block is lifted; it stays blocked by firm %s's block until %s is unblocked", name, firm, firm)
	case blocked:
		return fmt.Sprintf(": %s's own block is lifted; it stays blocked by its firm's block", name)
	}
	return ""
}

// newOperatorRef is a reference for one invocation of `ringex account`:
// the time to the second and 32 random bits, 24 characters (a ClOrdID).
func newOperatorRef() string {
	var b [4]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// accountMain runs `ringex account`.
func accountMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("account", flag.ContinueOnError)
	addr := fs.String("admin", config.Default().Replication.Admin, "the node's admin `host:port` (replication.admin)")
	token := fs.String("token", "", "the admin `token` when the node sets replication.adminToken (default $"+adminTokenEnv+")")
	ref := fs.String("ref", "", "the request's `reference`, 1 to 24 letters, digits and ._:- (default: a new one): the node applies\none reference once per account; ask again with the one a timeout printed")
	timeout := fs.Duration("timeout", accountWait, "how long the node waits for the outcome (1ms to 10m)")
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
	if *timeout < time.Millisecond || *timeout > maxAccountWait {
		code, _ := exitCode(usageError(fs, "--timeout %v: want 1ms to %v", *timeout, maxAccountWait))
		return code
	}
	opts := ""
	if verb != "show" {
		if *ref == "" {
			*ref = newOperatorRef()
		}
		if strings.ContainsAny(*ref, " \t\r\n=") || len(*ref) > node.MaxOperatorRef {
			code, _ := exitCode(usageError(fs, "--ref %q: want 1 to %d letters, digits and ._:-", *ref, node.MaxOperatorRef))
			return code
		}
		opts = fmt.Sprintf("ref=%s wait=%d ", *ref, timeout.Milliseconds())
	}
	if *token == "" {
		*token = os.Getenv(adminTokenEnv)
	}
	if *token == "" {
		*token = "-"
	}
	// retry says how to learn the outcome of a request that may be
	// journaled: the same command with the same reference.
	retry := func(why string) int {
		fmt.Fprintf(stderr, "ringex account: %s: the outcome of ref %s is not known here; it is applied at most once. Ask again with the same ref to learn it:\n  ringex account %s --admin %s --ref %s %s\n",
			why, *ref, verb, *addr, *ref, strings.Join(fs.Args(), " "))
		return 3
	}
	c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "ringex account: %v\n", err)
		return 1 // nothing sent: nothing journaled
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(*timeout + 20*time.Second))
	fmt.Fprintf(c, "account %s %s%s %s\n", *token, opts, verb, strings.Join(fs.Args(), " "))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		if verb == "show" {
			fmt.Fprintf(stderr, "ringex account: %v\n", err)
			return 1
		}
		return retry(fmt.Sprintf("no answer (%v)", err))
	}
	fmt.Fprint(stdout, line)
	switch {
	case strings.HasPrefix(line, "ok"):
		return 0
	case strings.Contains(line, node.ErrOperatorPending.Error()):
		return retry("the node answered before the outcome")
	}
	return 1
}
