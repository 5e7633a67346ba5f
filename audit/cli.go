package audit

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/matcher"
)

// Usage is the help of `ringex replay`.
const Usage = `ringex replay: audit an exchange from its journal alone, on any machine.

The journal holds every command the exchange accepted, in sequence, with its
ingress time. Replay feeds them to the same matcher, partitioned the same
way, and so rebuilds every execution, every book and every state hash.

Usage:
  ringex replay verify --journal DIR [flags]
      Read every copy of every segment (hot, and zstd-archived) and every
      snapshot; check CRCs and sequence continuity; replay every command;
      recompute every checkpoint's state hash and compare every snapshot
      with the replayed state. Prints a summary (records, time span,
      symbols, brokers, the first problem with its file and offset). A
      progress line shows on a terminal. Exit status 0 only if everything
      holds, 1 if not.

  ringex replay trail --journal DIR [filters] [--format csv|json] [--out FILE]
      The audit trail: every command and every event it caused (accepted,
      fill, cancelled, replaced, rejected, cancel_rejected, expired, with the
      reason), with sequence, ingress time, broker, ClOrdID, order id, exec
      id, symbol, side, and prices and quantities as decimals. A block or
      unblock row of an account for its firm's block reads firm in
      ord_type (empty: the account's own). An event row is kept when it
      matches every filter given; a command row when it or any of its
      events does.

  ringex replay book --journal DIR --symbol S [--at TIME|SEQ] [--depth N]
      The depth of book of S after record SEQ, or as of TIME (after every
      record up to the first one stamped later), or at the end of the
      journal: each level with its orders in time priority.

  ringex replay account --journal DIR --broker B [--at TIME|SEQ]
      The balances of broker B after record SEQ, or as of TIME, or at the end
      of the journal, replayed through the risk stage (give the --config the
      node ran with: risk.mode limits or spot): blocked or not, open orders,
      and with spot its cash and inventories with what its orders hold.

  ringex replay diff DIR_A DIR_B [flags]
      Replay two journals (say, a primary's and a standby's) side by side:
      the first seq where their records differ, the first seq where the
      outcomes of replaying them differ, their state hashes at the end, and
      which one is longer. Exit status 0 only if they are identical.

Flags of every verb:
  --journal DIR        the journal folder (<dataDir>/journal of the node)
  --config FILE        the venue's configuration, for symbol names, tick and
                       lot sizes and the partition count (default: the
                       embedded one, as 'ringex config' prints it); brokers
                       are named by the CompIDs the journal binds them to
  --partitions N       match partitions to replay with (default: the
                       config's match.partitions; snapshots and checkpoint
                       records carry their own, and verify uses those)
  --from-snapshot      start from the newest snapshot that precedes what is
                       asked for instead of seq 1; the answers are the same
  --tz ZONE            the zone of times given without one: UTC (default),
                       Local, or an IANA name (America/New_York)

verify:
  --allow-torn-tail    accept bytes after the last whole record of the last
                       segment (a crash mid-write) as a note, not a problem

trail:
  --format csv|json    CSV with a header row (default), or JSON lines
  --out FILE           write there instead of standard output
  --symbol S[,S...]    only these symbols
  --broker B[,B...]    only these brokers (TargetCompID, or account number)
  --clordid ID[,ID...] only orders with this ClOrdID or OrigClOrdID
  --order N[,N...]     only these exchange order ids
  --from-time T        ingress time at or after T
  --to-time T          ingress time at or before T
  --from-seq N         seq at or after N
  --to-seq N           seq at or before N

book:
  --symbol S           the symbol (required)
  --at TIME|SEQ        a seq (digits only) or a time; default: the end
  --depth N            levels per side (default: all)
  --format text|json   (default text)

account:
  --broker B           the broker: TargetCompID, or account number (required);
                       @fees: the venue's fee account, the fees collected
  --at TIME|SEQ        a seq (digits only) or a time; default: the end

Times: RFC 3339 (2026-03-02T10:31:02.5Z), 2026-03-02 10:31:02, the FIX form
20260302-10:31:02.500, a time of day (10:31:02) on the day of the journal's
first record, or @NANOS since the Unix epoch. Without a zone they are in
--tz (default UTC). All output times are UTC.
`

// Main runs `ringex replay` with args (after "replay") and returns the
// process exit status: 0 success, 1 a failed check or a damaged journal,
// 2 a usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, Usage)
		return 2
	}
	verb, rest := args[0], args[1:]
	switch verb {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, Usage)
		return 0
	case "verify":
		return cmdVerify(rest, stdout, stderr)
	case "trail":
		return cmdTrail(rest, stdout, stderr)
	case "book":
		return cmdBook(rest, stdout, stderr)
	case "diff":
		return cmdDiff(rest, stdout, stderr)
	case "account":
		return cmdAccount(rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "ringex replay: unknown verb %q (want verify, trail, book, account or diff)\n\n%s", verb, Usage)
	return 2
}

// common holds the flags every verb takes.
type common struct {
	fs           *flag.FlagSet
	verb         string
	journal      string
	configPath   string
	partitions   int
	fromSnapshot bool
	tz           string
	args         []string // positional arguments
	venue        *Venue
	loc          *time.Location
	stderr       io.Writer
}

func newCommon(verb string, stderr io.Writer) *common {
	c := &common{fs: flag.NewFlagSet("replay "+verb, flag.ContinueOnError), verb: verb, stderr: stderr}
	c.fs.SetOutput(io.Discard)
	c.fs.StringVar(&c.journal, "journal", "", "")
	c.fs.StringVar(&c.configPath, "config", "", "")
	c.fs.IntVar(&c.partitions, "partitions", 0, "")
	c.fs.BoolVar(&c.fromSnapshot, "from-snapshot", false, "")
	c.fs.StringVar(&c.tz, "tz", "UTC", "")
	return c
}

// parse parses args and loads the venue; it returns an exit status when the
// verb must stop (help: 0, usage error: 2, bad config: 1).
func (c *common) parse(args []string, stdout io.Writer, needJournal bool) (int, bool) {
	// Flags and positional arguments may interleave (diff A B --config F).
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, Usage)
				return 0, false
			}
			return c.usage("%v", err), false
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		c.args = append(c.args, args[0])
		args = args[1:]
	}
	if needJournal && c.journal == "" {
		if len(c.args) != 1 {
			return c.usage("--journal DIR is required"), false
		}
		c.journal, c.args = c.args[0], nil
	}
	if needJournal && len(c.args) > 0 {
		return c.usage("unexpected argument %q", c.args[0]), false
	}
	if c.partitions < 0 || c.partitions > maxPartitions {
		return c.usage("--partitions %d: want 1 to %d", c.partitions, maxPartitions), false
	}
	loc, err := time.LoadLocation(c.tz)
	if err != nil {
		return c.usage("--tz %q: %v", c.tz, err), false
	}
	c.loc = loc
	cfg, err := config.LoadOrDefault(c.configPath)
	if err != nil {
		return c.fail(err), false
	}
	if c.venue, err = VenueOf(cfg); err != nil {
		return c.fail(err), false
	}
	if needJournal {
		c.venue.LoadBindings(c.journal)
	}
	return 0, true
}

func (c *common) usage(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "ringex replay %s: %s\n\n%s", c.verb, fmt.Sprintf(format, args...), Usage)
	return 2
}

func (c *common) fail(err error) int {
	fmt.Fprintf(c.stderr, "ringex replay %s: %v\n", c.verb, err)
	return 1
}

func cmdVerify(args []string, stdout, stderr io.Writer) int {
	c := newCommon("verify", stderr)
	allowTorn := c.fs.Bool("allow-torn-tail", false, "")
	if code, ok := c.parse(args, stdout, true); !ok {
		return code
	}
	o := VerifyOptions{Dir: c.journal, Venue: c.venue, Partitions: c.partitions, FromSnapshot: c.fromSnapshot, AllowTornTail: *allowTorn}
	if IsTerminal(stderr) {
		o.Progress = stderr
	}
	r, err := Verify(o)
	if err != nil {
		return c.fail(err)
	}
	r.Print(stdout, c.venue)
	if !r.OK() {
		fmt.Fprintf(stderr, "ringex replay verify: FAILED: %d problem(s); first: %v\n", r.ProblemCount, &r.Problems[0])
		return 1
	}
	return 0
}

// Print writes the report as an operator reads it.
func (r *Report) Print(w io.Writer, v *Venue) {
	status := "OK"
	if !r.OK() {
		status = "FAILED"
	}
	fmt.Fprintf(w, "ringex replay verify: %s\n", status)
	copies := ""
	if r.Copies > 0 {
		copies = fmt.Sprintf(", %d archived copies of hot ones checked", r.Copies)
	}
	fmt.Fprintf(w, "  journal      %s: %d segment(s), %d from the archive%s; %d snapshot(s)\n", r.Dir, r.Segments, r.Archived, copies, r.Snapshots)
	if r.Records > 0 {
		var kinds []string
		for _, k := range slices.Sorted(mapKeys(r.Kinds)) {
			kinds = append(kinds, fmt.Sprintf("%d %s", r.Kinds[k], k))
		}
		fmt.Fprintf(w, "  records      seqs %d..%d: %d commands (%s)\n", r.FirstSeq, r.LastSeq, r.Records, strings.Join(kinds, ", "))
		fmt.Fprintf(w, "  time span    %s .. %s (%v)\n", fmtTime(r.FirstNs), fmtTime(r.LastNs), time.Duration(r.LastNs-r.FirstNs))
		fmt.Fprintf(w, "  symbols      %d: %s\n", len(r.Symbols), countsByName(r.Symbols, v.SymbolName))
		fmt.Fprintf(w, "  brokers      %d: %s\n", len(r.Brokers), countsByName(r.Brokers, v.BrokerName))
		fmt.Fprintf(w, "  outcomes     %d events, %d trades\n", r.Events, r.Fills/2)
	} else {
		fmt.Fprintf(w, "  records      none\n")
	}
	fmt.Fprintf(w, "  checkpoints  %d recorded, %d hashes recomputed and equal\n", r.Checkpoints, r.CheckpointsOK)
	fmt.Fprintf(w, "  snapshots    %d, %d equal to the replayed state\n", r.Snapshots, r.SnapshotsOK)
	if r.StartSnapshot > 0 {
		fmt.Fprintf(w, "  started      from the snapshot at seq %d\n", r.StartSnapshot)
	}
	if r.TimeStepsBack > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d command(s) stamped earlier than the one before (ingress writers interleave)", r.TimeStepsBack))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note         %s\n", n)
	}
	if r.OK() {
		fmt.Fprintf(w, "  problems     none\n")
	} else {
		fmt.Fprintf(w, "  problems     %d; the first %d:\n", r.ProblemCount, min(len(r.Problems), 10))
		for i := range r.Problems[:min(len(r.Problems), 10)] {
			fmt.Fprintf(w, "    %v\n", &r.Problems[i])
		}
	}
	rate := float64(r.Records) / max(r.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "  replayed     %d commands in %v (%.2f M/s), partitions %v\n", r.Records, r.Elapsed.Round(time.Millisecond), rate/1e6, r.Passes)
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func countsByName(m map[uint32]int64, name func(uint32) string) string {
	var parts []string
	for _, id := range slices.Sorted(mapKeys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", name(id), m[id]))
	}
	return strings.Join(parts, ", ")
}

func cmdTrail(args []string, stdout, stderr io.Writer) int {
	c := newCommon("trail", stderr)
	format := c.fs.String("format", "csv", "")
	out := c.fs.String("out", "", "")
	symbols := c.fs.String("symbol", "", "")
	brokers := c.fs.String("broker", "", "")
	clords := c.fs.String("clordid", "", "")
	orders := c.fs.String("order", "", "")
	fromTime := c.fs.String("from-time", "", "")
	toTime := c.fs.String("to-time", "", "")
	fromSeq := c.fs.Int64("from-seq", 0, "")
	toSeq := c.fs.Int64("to-seq", 0, "")
	if code, ok := c.parse(args, stdout, true); !ok {
		return code
	}
	o := TrailOptions{Dir: c.journal, Venue: c.venue, Partitions: c.partitions, FromSnapshot: c.fromSnapshot, Format: *format}
	f := &o.Filter
	f.FromSeq, f.ToSeq = *fromSeq, *toSeq
	var err error
	if f.Symbols, err = setOf(*symbols, c.venue.SymbolID); err != nil {
		return c.usage("--symbol: %v", err)
	}
	if f.Brokers, err = setOf(*brokers, c.venue.BrokerID); err != nil {
		return c.usage("--broker: %v", err)
	}
	if f.ClOrdIDs, err = setOf(*clords, clOrdIDArg); err != nil {
		return c.usage("--clordid %v", err)
	}
	if f.OrderIDs, err = setOf(*orders, orderIDArg); err != nil {
		return c.usage("--order %v", err)
	}
	for _, t := range []struct {
		flag, val string
		dst       *int64
	}{{"--from-time", *fromTime, &f.FromNs}, {"--to-time", *toTime, &f.ToNs}} {
		if t.val == "" {
			continue
		}
		if *t.dst, err = c.parseTime(t.val); err != nil {
			return c.usage("%s: %v", t.flag, err)
		}
	}
	w := stdout
	if *out != "" {
		fh, err := os.Create(*out)
		if err != nil {
			return c.fail(err)
		}
		defer fh.Close()
		w = fh
	}
	if IsTerminal(stderr) && (*out != "" || !IsTerminal(stdout)) {
		o.Progress = stderr
	}
	t0 := time.Now()
	st, err := Trail(w, o)
	if err != nil {
		return c.fail(err)
	}
	from := "seq 1"
	if st.Snapshot != 0 {
		from = fmt.Sprintf("the snapshot at seq %d", st.Snapshot)
	}
	fmt.Fprintf(stderr, "ringex replay trail: %d commands replayed from %s (%d events); %d rows written in %v\n",
		st.Commands, from, st.Events, st.Rows, time.Since(t0).Round(time.Millisecond))
	return 0
}

// setOf reads a filter flag's comma-separated list into the set of what
// key makes of each item: nil (no filter) for an empty list, and key's
// error for the first item it refuses.
func setOf[K comparable](list string, key func(string) (K, error)) (map[K]bool, error) {
	var set map[K]bool
	for _, s := range splitList(list) {
		k, err := key(s)
		if err != nil {
			return nil, err
		}
		if set == nil {
			set = map[K]bool{}
		}
		set[k] = true
	}
	return set, nil
}

func clOrdIDArg(s string) (matcher.ClOrdID, error) {
	id, ok := matcher.MakeClOrdID(s)
	if !ok {
		return id, fmt.Errorf("%q: 1 to %d characters", s, matcher.IDLen)
	}
	return id, nil
}

func orderIDArg(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q: want a positive order id", s)
	}
	return id, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseTime reads a time in one of the forms the help lists.
func (c *common) parseTime(s string) (int64, error) {
	if ns, ok := strings.CutPrefix(s, "@"); ok {
		return strconv.ParseInt(ns, 10, 64)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "20060102-15:04:05.999999999", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, c.loc); err == nil {
			return t.UnixNano(), nil
		}
	}
	if tod, err := time.ParseInLocation("15:04:05.999999999", s, time.UTC); err == nil {
		first, err := FirstTime(c.journal)
		if err != nil {
			return 0, fmt.Errorf("time of day %q needs the journal's first record: %w", s, err)
		}
		day := time.Unix(0, first).In(c.loc)
		t := time.Date(day.Year(), day.Month(), day.Day(), tod.Hour(), tod.Minute(), tod.Second(), tod.Nanosecond(), c.loc)
		return t.UnixNano(), nil
	}
	return 0, fmt.Errorf("%q is not a time (see 'ringex replay --help')", s)
}

// FirstTime returns the ingress time of the journal's first record.
func FirstTime(dir string) (int64, error) {
	src, err := openSource(dir)
	if err != nil {
		return 0, err
	}
	ns := recordTime(src, src.segs[0].First)
	if ns == 0 {
		return 0, fmt.Errorf("%s: cannot read its first record", dir)
	}
	return ns, nil
}

func cmdBook(args []string, stdout, stderr io.Writer) int {
	c := newCommon("book", stderr)
	symbol := c.fs.String("symbol", "", "")
	at := c.fs.String("at", "", "")
	depth := c.fs.Int("depth", 0, "")
	format := c.fs.String("format", "text", "")
	if code, ok := c.parse(args, stdout, true); !ok {
		return code
	}
	if *symbol == "" {
		return c.usage("--symbol is required")
	}
	if *format != "text" && *format != "json" {
		return c.usage("--format %q: want text or json", *format)
	}
	id, err := c.venue.SymbolID(*symbol)
	if err != nil {
		return c.usage("--symbol: %v", err)
	}
	m, err := c.moment(*at, stdout, stderr)
	if err != nil {
		return c.usage("%v", err)
	}
	bk, err := BookAt(BookOptions{Moment: m, Symbol: id})
	if err != nil {
		return c.fail(err)
	}
	if *format == "json" {
		return c.done(bk.WriteJSON(stdout, c.venue, *depth))
	}
	return c.done(bk.WriteText(stdout, c.venue, *depth))
}

func (c *common) done(err error) int {
	if err != nil {
		return c.fail(err)
	}
	return 0
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func cmdDiff(args []string, stdout, stderr io.Writer) int {
	c := newCommon("diff", stderr)
	if code, ok := c.parse(args, stdout, false); !ok {
		return code
	}
	dirs := c.args
	if c.journal != "" {
		dirs = append([]string{c.journal}, dirs...)
	}
	if len(dirs) != 2 {
		return c.usage("want two journal folders, DIR_A DIR_B")
	}
	c.venue.LoadBindings(dirs[0]) // where they differ, B's records print with A's names
	d, err := Diff(DiffOptions{DirA: dirs[0], DirB: dirs[1], Venue: c.venue, Partitions: c.partitions})
	if err != nil {
		return c.fail(err)
	}
	d.Print(stdout, c.venue, dirs[0], dirs[1])
	if !d.Same() {
		return 1
	}
	return 0
}

// Print writes the result as an operator reads it.
func (d *DiffResult) Print(w io.Writer, v *Venue, dirA, dirB string) {
	if d.Same() {
		fmt.Fprintf(w, "ringex replay diff: identical: %d records, state hash %016x\n", d.Compared, d.HashA)
		return
	}
	fmt.Fprintf(w, "ringex replay diff: A and B differ\n")
	fmt.Fprintf(w, "  A  %s: last seq %d\n  B  %s: last seq %d\n", dirA, d.LastA, dirB, d.LastB)
	for _, p := range []struct {
		name string
		p    *Problem
	}{{"A", d.ProblemA}, {"B", d.ProblemB}} {
		if p.p != nil {
			fmt.Fprintf(w, "  %s is damaged: %v\n", p.name, p.p)
		}
	}
	if d.FirstRecordDiff != 0 {
		fmt.Fprintf(w, "  first record difference at seq %d\n    A: %s\n    B: %s\n", d.FirstRecordDiff, describe(v, &d.CmdA), describe(v, &d.CmdB))
	} else {
		fmt.Fprintf(w, "  records: the %d seqs present on both sides are identical\n", d.Compared)
	}
	if d.FirstOutcomeDiff != 0 {
		fmt.Fprintf(w, "  first outcome difference at seq %d\n    A: %s\n    B: %s\n", d.FirstOutcomeDiff, describeEvents(v, d.EventsA), describeEvents(v, d.EventsB))
	} else {
		fmt.Fprintf(w, "  outcomes: replaying the common seqs gives the same events\n")
	}
	rel := "equal"
	if d.HashA != d.HashB {
		rel = "different"
	}
	fmt.Fprintf(w, "  state after each side's last compared seq: A %016x, B %016x (%s)\n", d.HashA, d.HashB, rel)
	switch {
	case d.LastA > d.LastB:
		fmt.Fprintf(w, "  A is longer: seqs %d..%d are only in A\n", d.LastB+1, d.LastA)
	case d.LastB > d.LastA:
		fmt.Fprintf(w, "  B is longer: seqs %d..%d are only in B\n", d.LastA+1, d.LastB)
	}
}

func describe(v *Venue, c *matcher.Command) string {
	tick, lot := v.scales(c.Symbol)
	sym, side, reason := v.SymbolName(c.Symbol), sideName(c.Side), ""
	if r, ok := matcher.GatewayRejectOf(c); ok { // a gateway's refusal: its fields hold what the broker sent
		sym, side, reason = rejectSymbol(v, &r), rejectSide(&r), " "+r.Reason.String()
	}
	s := fmt.Sprintf("%s %s %s %s %s", fmtTime(c.TimeNs), c.Kind.String(), v.BrokerName(c.Account), sym, side)
	if c.Kind == matcher.KindNew || c.Kind == matcher.KindReplace {
		s += fmt.Sprintf(" %s %s %s", ordTypeName(c.Type), tifName(c.TIF), lot.Format(c.Qty))
		if c.Price != 0 {
			s += " @ " + tick.Format(c.Price)
		}
	}
	s += " ClOrdID " + strconv.Quote(c.ClOrdID.String())
	if c.OrigClOrdID != (matcher.ClOrdID{}) {
		s += " OrigClOrdID " + strconv.Quote(c.OrigClOrdID.String())
	}
	return s + reason
}

func describeEvents(v *Venue, evs []matcher.Event) string {
	parts := make([]string, len(evs))
	for i := range evs {
		ev := &evs[i]
		_, lot := v.scales(ev.Symbol)
		parts[i] = fmt.Sprintf("%s order %d leaves %s", ev.Type, ev.OrderID, lot.Format(ev.LeavesQty))
		if ev.Type == matcher.EvFill {
			tick, _ := v.scales(ev.Symbol)
			parts[i] += fmt.Sprintf(" (fill %s @ %s)", lot.Format(ev.LastQty), tick.Format(ev.LastPx))
		}
		if ev.Reason != matcher.ReasonNone {
			parts[i] += " " + ev.Reason.String()
		}
	}
	return fmt.Sprintf("%d event(s): %s", len(evs), strings.Join(parts, "; "))
}

// WriteText writes the book as a ladder: asks from the worst shown to the
// best, then bids from the best; each level's orders in time priority.
func (b *Book) WriteText(w io.Writer, v *Venue, depth int) error {
	tick, lot := v.scales(b.Symbol)
	last := "none"
	if b.LastTradePx != 0 {
		last = tick.Format(b.LastTradePx)
	}
	when := "before any record"
	if b.Seq > 0 {
		when = fmt.Sprintf("after seq %d (%s)", b.Seq, fmtTime(b.TimeNs))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "book %s %s; reference/last trade price %s\n", v.SymbolName(b.Symbol), when, last)
	asks, bids := cut(b.Asks, depth), cut(b.Bids, depth)
	level := func(sideName string, i int, lv *Level) {
		fmt.Fprintf(&sb, "%-4s %3d  %14s  qty %-10s %d order(s)\n", sideName, i+1, tick.Format(lv.Price), lot.Format(lv.Qty), len(lv.Orders))
		for k, o := range lv.Orders {
			fmt.Fprintf(&sb, "           %4d. order %-12d %-12s %-24s leaves %s of %s, %s\n",
				k+1, o.OrderID, v.BrokerName(o.Account), strconv.Quote(o.ClOrdID.String()), lot.Format(o.Leaves), lot.Format(o.Qty), tifName(o.TIF))
		}
	}
	if len(asks) == 0 {
		sb.WriteString("ask       (none)\n")
	}
	for i := len(asks) - 1; i >= 0; i-- {
		level("ask", i, &asks[i])
	}
	sb.WriteString("---- spread ----\n")
	for i := range bids {
		level("bid", i, &bids[i])
	}
	if len(bids) == 0 {
		sb.WriteString("bid       (none)\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func cut(l []Level, depth int) []Level {
	if depth > 0 && len(l) > depth {
		return l[:depth]
	}
	return l
}

type jsonOrder struct {
	OrderID string `json:"order_id"`
	Broker  string `json:"broker"`
	ClOrdID string `json:"clordid"`
	Leaves  string `json:"leaves_qty"`
	Qty     string `json:"qty"`
	CumQty  string `json:"cum_qty"`
	TIF     string `json:"tif"`
}

type jsonLevel struct {
	Price  string      `json:"price"`
	Qty    string      `json:"qty"`
	Orders []jsonOrder `json:"orders"`
}

type jsonBook struct {
	Symbol    string      `json:"symbol"`
	Seq       int64       `json:"seq"`
	Time      string      `json:"time"`
	LastTrade string      `json:"last_trade_px"`
	Bids      []jsonLevel `json:"bids"`
	Asks      []jsonLevel `json:"asks"`
}

// WriteJSON writes the book as one JSON object, levels best first.
func (b *Book) WriteJSON(w io.Writer, v *Venue, depth int) error {
	tick, lot := v.scales(b.Symbol)
	conv := func(ls []Level) []jsonLevel {
		out := []jsonLevel{}
		for _, lv := range cut(ls, depth) {
			jl := jsonLevel{Price: tick.Format(lv.Price), Qty: lot.Format(lv.Qty)}
			for _, o := range lv.Orders {
				jl.Orders = append(jl.Orders, jsonOrder{OrderID: strconv.FormatInt(o.OrderID, 10), Broker: v.BrokerName(o.Account),
					ClOrdID: o.ClOrdID.String(), Leaves: lot.Format(o.Leaves), Qty: lot.Format(o.Qty), CumQty: lot.Format(o.Cum), TIF: tifName(o.TIF)})
			}
			out = append(out, jl)
		}
		return out
	}
	jb := jsonBook{Symbol: v.SymbolName(b.Symbol), Seq: b.Seq, Bids: conv(b.Bids), Asks: conv(b.Asks)}
	if b.TimeNs != 0 {
		jb.Time = fmtTime(b.TimeNs)
	}
	if b.LastTradePx != 0 {
		jb.LastTrade = tick.Format(b.LastTradePx)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jb)
}

// parseAt reads --at: empty (the end), a seq, or a time (parseTime).
// moment is the replay the common flags and --at ask for, with a progress
// line on stderr when it is a terminal and stdout is not.
func (c *common) moment(at string, stdout, stderr io.Writer) (Moment, error) {
	m := Moment{Dir: c.journal, Venue: c.venue, Partitions: c.partitions, FromSnapshot: c.fromSnapshot}
	var err error
	if m.AtSeq, m.AtNs, err = c.parseAt(at); err != nil {
		return Moment{}, err
	}
	if IsTerminal(stderr) && !IsTerminal(stdout) {
		m.Progress = stderr
	}
	return m, nil
}

func (c *common) parseAt(at string) (seq, ns int64, err error) {
	switch {
	case at == "":
	case isDigits(at):
		seq, _ = strconv.ParseInt(at, 10, 64)
		if seq <= 0 {
			return 0, 0, fmt.Errorf("--at %s: sequences start at 1", at)
		}
	default:
		if ns, err = c.parseTime(at); err != nil {
			return 0, 0, fmt.Errorf("--at: %v", err)
		}
	}
	return seq, ns, nil
}
