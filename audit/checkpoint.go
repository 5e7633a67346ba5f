package audit

import "github.com/ringex/ringex/matcher"

// This file is the one place that knows how checkpoints are journaled
// (node/checkpoint.go writes them):
//
//   - a KindCheckpoint command at seq S: engines apply nothing; every
//     partition's Hash and Snapshot are taken right after it;
//   - later, a KindCheckpointHash command at seq T > S with OrderID = S,
//     Price = int64(hash), Qty = P, where hash is matcher.CombineHashes of
//     the P partitions' hashes at S. Engines apply nothing.
//   - a KindCheckpointHash command with Qty 0 names no checkpoint: it marks
//     a seq whose record was lost (node/missing.go) and is passed over.

func isCheckpointKind(k matcher.Kind) bool { return checkpointKindName(k) != "" }

// checkpointKindName names the two checkpoint kinds in the trail.
func checkpointKindName(k matcher.Kind) string {
	switch k {
	case matcher.KindCheckpoint:
		return "checkpoint"
	case matcher.KindCheckpointHash:
		return "checkpoint_hash"
	}
	return ""
}

// checkpointOf reports whether cmd marks a checkpoint (its seq is S).
func checkpointOf(cmd *matcher.Command) bool { return cmd.Kind == matcher.KindCheckpoint }

// checkpointHashOf reads a checkpoint-hash record: the checkpoint's seq, the
// hash the node computed and the partition count it used.
func checkpointHashOf(cmd *matcher.Command) (seq int64, hash uint64, p int, ok bool) {
	if cmd.Kind != matcher.KindCheckpointHash || cmd.Qty <= 0 {
		return 0, 0, 0, false
	}
	return cmd.OrderID, uint64(cmd.Price), int(cmd.Qty), true
}
