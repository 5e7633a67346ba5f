package audit

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/matcher"
)

func TestHelpExplainsEveryVerbAndFlag(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"verify", "--help"}, {"trail", "-h"}} {
		code, out, _ := runMain(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		for _, w := range []string{"verify", "trail", "book", "diff", "--journal", "--config", "--partitions", "--from-snapshot",
			"--allow-torn-tail", "--format", "--out", "--symbol", "--broker", "--clordid", "--order", "--from-time", "--to-time",
			"--from-seq", "--to-seq", "--at", "--depth", "--tz"} {
			if !strings.Contains(out, w) {
				t.Errorf("%v: help does not mention %s", args, w)
			}
		}
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"verify"}, {"verify", "--bogus"}, {"book", "--journal", "x"}, {"diff", "a"}, {"trail", "--journal", "x", "--symbol", "NOPE"}} {
		if code, _, errOut := runMain(args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want a usage error (2)", args, code, errOut)
		}
	}
}

func TestDiffFindsTheFirstDifference(t *testing.T) {
	cmds := newLoadGen(11, 3, 3).commands(3000)
	a, same, short, changed, retimed := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	writeJournal(t, a, cmds, 64<<10)
	writeJournal(t, same, cmds, 32<<10) // other segment boundaries, same records
	writeJournal(t, short, cmds[:2500], 64<<10)
	alt := append([]matcher.Command(nil), cmds...)
	// A different price at seq 1234, on an order that trades: the records
	// and the outcomes differ there.
	k := 1233
	for alt[k].Kind != matcher.KindNew || alt[k].Type != matcher.Limit {
		k++
	}
	alt[k].Price += 3
	writeJournal(t, changed, alt, 64<<10)
	// Only the ingress time of one command differs.
	re := append([]matcher.Command(nil), cmds...)
	re[2000].TimeNs++
	writeJournal(t, retimed, re, 64<<10)

	v := testVenue(t)
	cases := []struct {
		name          string
		b             string
		same          bool
		record, outc  int64
		lastA, lastB  int64
		hashesEqual   bool
		wantInSummary string
	}{
		{"identical", same, true, 0, 0, 3000, 3000, true, "identical: 3000 records"},
		{"standby_behind", short, false, 0, 0, 3000, 2500, true, "seqs 2501..3000 are only in A"},
		{"one_price_changed", changed, false, int64(k + 1), int64(k + 1), 3000, 3000, false, "first record difference at seq " + strconv.Itoa(k+1)},
		{"one_time_changed", retimed, false, 2001, 2001, 3000, 3000, true, "first outcome difference at seq 2001"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Diff(DiffOptions{DirA: a, DirB: tc.b, Venue: v})
			if err != nil {
				t.Fatal(err)
			}
			if d.Same() != tc.same || d.FirstRecordDiff != tc.record || d.FirstOutcomeDiff != tc.outc || d.LastA != tc.lastA || d.LastB != tc.lastB {
				t.Fatalf("diff: same %v, record %d, outcome %d, last %d/%d", d.Same(), d.FirstRecordDiff, d.FirstOutcomeDiff, d.LastA, d.LastB)
			}
			if (d.HashA == d.HashB) != tc.hashesEqual {
				t.Fatalf("state hashes %016x / %016x", d.HashA, d.HashB)
			}
			code, out, _ := runMain("diff", a, tc.b)
			if (code == 0) != tc.same || !strings.Contains(out, tc.wantInSummary) {
				t.Fatalf("exit %d, output:\n%s", code, out)
			}
		})
	}
}

func TestTimesAndSeqsOnTheCommandLine(t *testing.T) {
	dir, cmds, _ := fixture(t)
	at := time.Unix(0, cmds[2999].TimeNs).UTC()
	forms := []string{
		at.Format(time.RFC3339Nano),
		at.Format("2006-01-02 15:04:05.999999999"),
		at.Format("20060102-15:04:05.999999999"),
		at.Format("15:04:05.999999999"),
		"@" + strconv.FormatInt(cmds[2999].TimeNs, 10),
	}
	var first string
	for _, f := range forms {
		code, out, errOut := runMain("book", "--journal", dir, "--symbol", "MSFT", "--at", f)
		if code != 0 {
			t.Fatalf("--at %q: exit %d: %s", f, code, errOut)
		}
		if !strings.Contains(out, "after seq 3000 ") {
			t.Fatalf("--at %q: %s", f, out)
		}
		if first == "" {
			first = out
		} else if out != first {
			t.Fatalf("--at %q gives another book", f)
		}
	}
	code, out, _ := runMain("book", "--journal", dir, "--symbol", "MSFT", "--at", "3000", "--format", "json")
	if code != 0 || !strings.Contains(out, `"seq": 3000`) || !strings.Contains(out, `"orders"`) {
		t.Fatalf("book json: exit %d\n%s", code, out)
	}
	if code, _, errOut := runMain("book", "--journal", dir, "--symbol", "MSFT", "--at", "99999"); code != 1 || !strings.Contains(errOut, "ends at seq 6000") {
		t.Fatalf("book past the end: exit %d, %s", code, errOut)
	}
	outFile := filepath.Join(t.TempDir(), "trail.csv")
	code, _, errOut := runMain("trail", "--journal", dir, "--broker", "BROKER02,BROKER03", "--symbol", "AAPL", "--from-time", forms[3], "--to-seq", "3500", "--out", outFile)
	if code != 0 {
		t.Fatalf("trail: exit %d: %s", code, errOut)
	}
}

func TestProgressOnlyOnATerminal(t *testing.T) {
	var buf strings.Builder
	if IsTerminal(&buf) {
		t.Fatal("a buffer is not a terminal")
	}
	p := newProgress(&buf, "verify", 1<<20)
	p.last = p.last.Add(-time.Second)
	p.tick(1 << 18)
	p.done()
	if out := buf.String(); !strings.Contains(out, "verify:  25.0%") || !strings.HasSuffix(out, "\r\x1b[K") {
		t.Fatalf("progress line %q", out)
	}
	var nilP *progress
	nilP.tick(1 << 16) // no terminal: no progress, no panic
	nilP.done()
}
