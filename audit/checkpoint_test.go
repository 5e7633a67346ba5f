package audit

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
	"github.com/ringex/ringex/node"
)

// withCheckpoints inserts a checkpoint after each seq in at, and its hash
// record two commands later, computed with p partitions, renumbering the
// stream as the node's sequencer would. corrupt names checkpoints whose
// journaled hash is wrong.
func withCheckpoints(t *testing.T, v *Venue, p int, cmds []matcher.Command, at map[int64]bool, corrupt map[int64]bool) []matcher.Command {
	t.Helper()
	e, err := newEngines(v.spec(), p)
	if err != nil {
		t.Fatal(err)
	}
	var out []matcher.Command
	type due struct {
		seq  int64
		hash uint64
		in   int
	}
	var pending []due
	add := func(c matcher.Command) {
		c.Seq = int64(len(out) + 1)
		if len(out) > 0 {
			c.TimeNs = max(c.TimeNs, out[len(out)-1].TimeNs)
		}
		e.apply(&c)
		out = append(out, c)
	}
	for _, c := range cmds {
		add(c)
		if at[c.Seq] {
			add(matcher.Command{Kind: matcher.KindCheckpoint})
			s := out[len(out)-1].Seq
			h := e.hash()
			if corrupt[s] {
				h ^= 1
			}
			pending = append(pending, due{seq: s, hash: h, in: 2})
		}
		for i := 0; i < len(pending); i++ {
			if pending[i].in--; pending[i].in < 0 {
				add(matcher.CheckpointHash{Checkpoint: pending[i].seq, Hash: pending[i].hash, Partitions: p}.Command())
				pending = append(pending[:i], pending[i+1:]...)
				i--
			}
		}
	}
	return out
}

func TestVerifyRecomputesCheckpointHashes(t *testing.T) {
	v := testVenue(t)
	base := newLoadGen(21, 4, 4).commands(4000)
	at := map[int64]bool{500: true, 1500: true, 2500: true, 3500: true}
	cases := []struct {
		name     string
		p        int // partitions the node ran with
		corrupt  bool
		ok       bool
		verified int64
		want     string
	}{
		{"hashes_agree", 2, false, true, 4, "4 recorded, 4 hashes recomputed and equal"},
		{"node_ran_one_partition", 1, false, true, 4, "partitions [2 1]"},
		{"one_hash_differs", 2, true, false, 3, "the journal records"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var corrupt map[int64]bool
			cmds := withCheckpoints(t, v, tc.p, base, at, nil)
			if tc.corrupt {
				var cp int64
				for _, c := range cmds {
					if c.Kind == matcher.KindCheckpoint && cp == 0 && c.Seq > 2000 {
						cp = c.Seq
					}
				}
				corrupt = map[int64]bool{cp: true}
				cmds = withCheckpoints(t, v, tc.p, base, at, corrupt)
			}
			dir := t.TempDir()
			writeJournal(t, dir, cmds, 64<<10)
			r, err := Verify(VerifyOptions{Dir: dir, Venue: v})
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() != tc.ok || r.Checkpoints != 4 || r.CheckpointsOK != tc.verified {
				t.Fatalf("ok %v, %d checkpoints, %d verified; problems %v", r.OK(), r.Checkpoints, r.CheckpointsOK, r.Problems)
			}
			var out bytes.Buffer
			r.Print(&out, v)
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("summary lacks %q:\n%s", tc.want, out.String())
			}
			if !tc.ok && (r.Problems[0].File == "" || r.Problems[0].Offset <= 0) {
				t.Fatalf("problem not located: %+v", r.Problems[0])
			}
			// Checkpoints change nothing in the trail's outcomes.
			rows := trailJSON(t, TrailOptions{Dir: dir, Venue: v})
			marks := 0
			for _, row := range rows {
				if w := row["what"]; w == "checkpoint" || w == "checkpoint_hash" {
					marks++
				}
			}
			if marks != 8 {
				t.Fatalf("trail shows %d checkpoint rows, want 8", marks)
			}
		})
	}
}

type countingPublisher struct{ n atomic.Int64 }

func (c *countingPublisher) Publish(*matcher.Event) { c.n.Add(1) }

// TestVerifyALiveNodesCheckpoints: a node takes checkpoints (snapshot files
// and journaled hashes) under load; verify recomputes every one of them and
// finds every snapshot equal to the replayed state, and trails from those
// snapshots equal trails from seq 1.
func TestVerifyALiveNodesCheckpoints(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Journal.Sync = journal.SyncNone
	cfg.Snapshot.EveryCommands, cfg.Snapshot.EverySec = 1000, 0
	pub := &countingPublisher{}
	n, err := node.Start(cfg, node.Options{Log: logtest.Discard(), Publisher: pub})
	if err != nil {
		t.Fatal(err)
	}
	gen := newLoadGen(77, 6, 8)
	for burst := 0; burst < 8; burst++ {
		for range 1500 {
			c := gen.next()
			if err := n.Submit(&c); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(250 * time.Millisecond) // the checkpointer looks every 100 ms
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	v, _ := VenueOf(cfg)
	dir := cfg.DataDir + "/journal"
	r, err := Verify(VerifyOptions{Dir: dir, Venue: v})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Checkpoints < 4 || r.CheckpointsOK < r.Checkpoints-1 || r.Snapshots == 0 || r.SnapshotsOK != r.Snapshots {
		var out bytes.Buffer
		r.Print(&out, v)
		t.Fatalf("verify of the node's journal:\n%s", out.String())
	}
	if r.Events != pub.n.Load() {
		t.Fatalf("replay produced %d events, the node published %d", r.Events, pub.n.Load())
	}
	t.Logf("%d commands, %d checkpoints (%d hashes verified), %d snapshots equal", r.Records, r.Checkpoints, r.CheckpointsOK, r.SnapshotsOK)
	// Start the trails just past the oldest snapshot the node kept and near
	// the end. Where the snapshots fell depends on how fast the checkpointer
	// saw each burst (it keeps journal.SnapshotsKept), so a fixed distance
	// from the end could leave no snapshot before it on a slow machine.
	src, err := openSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.loadSnapshots(); err != nil || len(src.snaps) == 0 {
		t.Fatalf("snapshots of the node's journal: %v, %d found", err, len(src.snaps))
	}
	oldest := src.snaps[0].seq
	for _, f := range []Filter{{FromSeq: oldest + 1}, {FromSeq: max(r.LastSeq-100, oldest+1)}} {
		var a, b bytes.Buffer
		if _, err := Trail(&a, TrailOptions{Dir: dir, Venue: v, Filter: f}); err != nil {
			t.Fatal(err)
		}
		st, err := Trail(&b, TrailOptions{Dir: dir, Venue: v, Filter: f, FromSnapshot: true})
		if err != nil {
			t.Fatal(err)
		}
		if st.Snapshot == 0 || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("from seq %d: trail from the snapshot at %d differs (%d and %d bytes)", f.FromSeq, st.Snapshot, a.Len(), b.Len())
		}
	}
	if r2, err := Verify(VerifyOptions{Dir: dir, Venue: v, FromSnapshot: true}); err != nil || !r2.OK() || r2.StartSnapshot == 0 {
		t.Fatalf("verify from a snapshot: %v %+v", err, r2)
	}
}
