package audit

import "github.com/ringex/ringex/matcher"

// This file is the one place that knows how checkpoints are journaled:
//
//   - a KindCheckpoint command with Symbol 0 at seq S: engines apply nothing;
//   - later, a KindCheckpointHash command at seq T > S with OrderID = S,
//     Price = int64(hash), Qty = P, where hash combines the P partitions'
//     Engine.Hash() right after S.
//
// Until matcher defines KindCheckpoint, KindCheckpointHash and CombineHashes,
// the journal cannot hold checkpoints (Decode refuses unknown kinds), so the
// predicates below say "no" and combineHashes is a local stand-in used only
// for snapshots that replay itself writes (tests).

func isCheckpointKind(k matcher.Kind) bool { return checkpointKindName(k) != "" }

// checkpointKindName names the two checkpoint kinds in the trail.
func checkpointKindName(k matcher.Kind) string { return "" }

// checkpointOf reports whether cmd marks a checkpoint (its seq is S).
func checkpointOf(cmd *matcher.Command) bool { return false }

// checkpointHashOf reads a checkpoint-hash record: the checkpoint's seq, the
// hash the node computed and the partition count it used.
func checkpointHashOf(cmd *matcher.Command) (seq int64, hash uint64, p int, ok bool) {
	return 0, 0, 0, false
}

// combineHashes folds the partitions' hashes in partition order.
func combineHashes(hs []uint64) uint64 {
	const k = 0x9E3779B97F4A7C15
	h := uint64(len(hs)) * k
	for _, x := range hs {
		h = (h ^ x) * k
		h ^= h >> 29
	}
	return h
}
