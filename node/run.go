package node

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/replica"
)

// RunOptions adjust Run; the zero value runs the FIX gateway and nothing
// beside each node.
type RunOptions struct {
	Options // passed to every Start
	// Serving, when set, is called with each node Run starts (the first and
	// every one after a restart in place); Run calls the function it
	// returns before it stops that node. `ringex serve` opens its admin
	// endpoint here, so the endpoint always reaches the node now running.
	Serving func(*Node) (stop func())
}

// Run is `ringex serve`'s supervisor: it starts a node with cfg and runs it
// until ctx is done, then stops it and returns what Stop returns. A node
// that stops on its own (Done) for a reason a restart in place resolves is
// started again on the same data dir:
//   - replica.BehindError: a standby further behind than its primary's
//     journal reaches installs the snapshot the primary sent;
//   - replica.StepDownError: a primary that yielded to the primary serving
//     at its peer starts again as its standby;
//   - replica.DivergedError: an old primary rejoining sets aside what it
//     journaled that its successor lacks (never acknowledged to anyone).
//
// Any other failure, at start or after, ends Run with that error.
func Run(ctx context.Context, cfg config.Config, opts RunOptions) error {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if cfg.Cluster.On() {
		return runShard(ctx, cfg, opts) // etcd decides the role (shard_run.go)
	}
	log := opts.Log.With("component", "node")
	for {
		n, err := Start(cfg, opts.Options)
		if err != nil {
			return err
		}
		stopServing := func() {}
		if opts.Serving != nil {
			stopServing = opts.Serving(n)
		}
		select {
		case <-ctx.Done():
			log.Info("stopping")
			stopServing()
			return n.Stop()
		case <-n.Done():
		}
		stopServing()
		n.Stop()
		if err := restartInPlace(cfg, n.FailErr(), opts.Log); err != nil {
			return err
		}
	}
}

// restartInPlace prepares the data dir for the next start after a node
// stopped on its own with failErr, and says so; an error when failErr is
// not one a restart resolves, or the preparation failed.
func restartInPlace(cfg config.Config, failErr error, base *slog.Logger) error {
	log := base.With("component", "node")
	journalDir := filepath.Join(cfg.DataDir, "journal")
	var behind *replica.BehindError
	if errors.As(failErr, &behind) {
		// Further behind than the primary's journal reaches: the primary
		// sent its snapshot. The old journal is set aside and a new one
		// begins after the snapshot; the next start restores it.
		if _, err := replica.InstallSnapshot(journalDir, behind, base); err != nil {
			return err
		}
		log.Warn("restarting to follow the primary from its snapshot", "primary", cfg.Replication.Primary, "seq", behind.Seq)
		return nil
	}
	var down *replica.StepDownError
	if errors.As(failErr, &down) {
		// Two primaries met (this one restarted while its standby was
		// promoting itself) and this one yielded: it acknowledged
		// nothing in its epoch. The next start probes the peer, finds
		// it serving and follows it; its welcome says what to discard.
		log.Warn("restarting as the standby of the primary", "primary", down.Peer)
		return nil
	}
	var div *replica.DivergedError
	if !errors.As(failErr, &div) {
		if failErr == nil {
			return errors.New("the node stopped on its own without saying why")
		}
		return failErr
	}
	// An old primary rejoining (started as standby, or as primary and
	// finding its successor serving): what it journaled after the last
	// seq its successor has was never acknowledged to anyone; set it
	// aside. The next start probes the peer again.
	if _, err := replica.Truncate(journalDir, div.Keep, base); err != nil {
		return err
	}
	if err := replica.ResetHistory(cfg.DataDir, div.Primary); err != nil {
		return err
	}
	log.Warn("restarting to follow the primary after discarding seqs", "primary", cfg.Replication.Primary, "first_seq", div.Keep+1, "last_seq", div.Last)
	return nil
}
