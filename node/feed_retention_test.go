package node_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/feed"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/node"
)

// TestFeedRecoveryAfterRetentionRemovedTheFirstSegments: a node with the
// binary feed on keeps its journal in 1 MiB segments, archives them and
// lets hot retention remove the archived ones before its newest snapshot.
// No receiver asks the recovery service anything until retention has
// removed the first hot segments, and the operator has moved their
// archived copies to cold storage (docs/operations.md allows it). The
// service must still serve: a snapshot, a recent range exactly as the
// live feed numbered it, and, for a range no longer held anywhere, a
// clear refusal naming the oldest seq it holds. With the archived copies
// back, the old range is served again, exactly, from the archive.
func TestFeedRecoveryAfterRetentionRemovedTheFirstSegments(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.FIX.Listen = t.TempDir(), fixtest.FreeAddr(t)
	cfg.Feed.Enabled, cfg.Feed.Recovery, cfg.Feed.HeartbeatMs, cfg.Feed.RetainMessages = true, fixtest.FreeAddr(t), 20, 1000
	cfg.Journal.SegmentMiB, cfg.Journal.Archive, cfg.Journal.HotRetentionHours = 1, true, 1
	cfg.Snapshot = config.Snapshot{EveryCommands: 5000}
	n, err := node.Start(cfg, node.Options{Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	jdir := filepath.Join(cfg.DataDir, "journal")
	segments := func() []journal.Segment {
		segs, err := journal.Segments(jdir)
		if err != nil {
			t.Fatal(err)
		}
		return segs
	}
	// Three sealed segments (about 10,000 records each) and the active one.
	for i := 0; len(segments()) < 4; i++ {
		if i == 100 {
			t.Fatalf("200,000 orders filled %d segments of 1 MiB, want 4", len(segments()))
		}
		trade(t, n, fmt.Sprintf("R%d-", i), 2000)
	}
	segs := segments()
	waitUntil(t, "the first segments archived and a snapshot after them", func() bool {
		s := segments()
		seq, _, _, ok, err := journal.LatestSnapshot(jdir)
		return err == nil && ok && seq >= segs[2].First-1 && s[0].Archived != "" && s[1].Archived != ""
	})
	segs = segments() // with the names of the archived copies, which the wait saw made
	waitPassed(t, n)  // every order submitted journaled and published

	want := replayMessages(t, cfg) // the feed as numbered from the hot segments, before retention
	if len(want) < 3000 {
		t.Fatalf("the journal put %d messages on the feed, want more than 3000 (retainMessages 1000)", len(want))
	}

	// Retention removes hot segments older than an hour: age the first two.
	old := time.Now().Add(-2 * time.Hour)
	for _, s := range segs[:2] {
		if err := os.Chtimes(s.Hot, old, old); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "retention removed the first two hot segments", func() bool {
		s := segments()
		return s[0].Hot == "" && s[1].Hot == ""
	})
	cold := t.TempDir()
	moveArchived := func(from, to string) {
		for _, s := range segs[:2] {
			name := filepath.Base(s.Archived)
			if err := os.Rename(filepath.Join(from, name), filepath.Join(to, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	arcDir := filepath.Join(jdir, journal.ArchiveDirName)
	moveArchived(arcDir, cold)

	c, err := feed.Dial(cfg.Feed.Recovery)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resume, err := c.Snapshot(func(*feed.Message) error { return nil })
	if err != nil {
		t.Fatalf("snapshot after retention removed the journal's first segments (seqs %d to %d): %v", segs[0].First, segs[2].First-1, err)
	}
	if resume <= want[len(want)-1].Seq {
		t.Fatalf("snapshot resumes at seq %d, before the %d messages the node has published", resume, len(want))
	}
	retransmit := func(from uint64, count uint32) ([]feed.Message, uint64, error) {
		var got []feed.Message
		end, err := c.Retransmit(from, count, func(m *feed.Message) error { got = append(got, *m); return nil })
		return got, end, err
	}
	from := uint64(len(want) - 500)
	got, end, err := retransmit(from, 500)
	if err != nil || end != from+500 || !slices.Equal(got, want[from-1:from+499]) {
		t.Fatalf("retransmit 500 from seq %d (kept in memory): %d messages ending at %d, %v; want the %d the feed numbered", from, len(got), end, err, 500)
	}
	_, _, err = retransmit(1, 100)
	if err == nil || !strings.Contains(err.Error(), "holds seqs from") || !strings.Contains(err.Error(), "take a snapshot") {
		t.Fatalf("retransmit seqs 1 to 100, whose records are gone from the journal and its archive: %v; want a refusal naming the oldest seq held", err)
	}

	moveArchived(cold, arcDir)
	got, end, err = retransmit(1, 3000)
	if err != nil || end != 3001 || !slices.Equal(got, want[:3000]) {
		t.Fatalf("retransmit 3000 from seq 1, its records in the archive only: %d messages ending at %d, %v; want the 3000 the feed numbered", len(got), end, err)
	}
}
