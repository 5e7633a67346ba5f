package matcher

// CombineHashes folds the state hashes of P engines, in partition order, into
// the one hash a checkpoint records. The node, the standby and `ringex
// replay` all combine with it, so they agree whenever their engines do.
func CombineHashes(hashes []uint64) uint64 {
	const k = 0x9E3779B97F4A7C15
	h := uint64(len(hashes)) * k
	for _, x := range hashes {
		h = (h ^ x) * k
		h ^= h >> 29
	}
	return h
}
