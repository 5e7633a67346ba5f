package audit

import "github.com/ringex/ringex/matcher"

// A checkpoint is journaled as two records (node/checkpoint.go writes them,
// matcher owns their fields):
//
//   - a KindCheckpoint command at seq S: engines apply nothing; every
//     partition's Hash and Snapshot are taken right after it;
//   - later, a KindCheckpointHash command at seq T > S, a
//     matcher.CheckpointHash naming S, the partition count P and
//     matcher.CombineHashes of the P partitions' hashes at S. Engines
//     apply nothing.
//   - a KindCheckpointHash record naming no checkpoint (Partitions 0)
//     marks a seq whose record was lost (node/missing.go) and is passed over.

// checkpointOf reports whether cmd marks a checkpoint (its seq is S).
func checkpointOf(cmd *matcher.Command) bool { return cmd.Kind == matcher.KindCheckpoint }

// checkpointHashOf reads a checkpoint-hash record (matcher.CheckpointHashOf):
// the checkpoint's seq, the hash the node computed and the partition count
// it used.
func checkpointHashOf(cmd *matcher.Command) (seq int64, hash uint64, p int, ok bool) {
	h, ok := matcher.CheckpointHashOf(cmd)
	if !ok || h.Partitions <= 0 {
		return 0, 0, 0, false
	}
	return h.Checkpoint, h.Hash, h.Partitions, true
}
