package risk

// SnapshotMode is the mode the snapshot b (State.Snapshot) was taken
// with: its second byte in every version (snapshot.go's layout). ok is
// false when b is too short, has no version, or names no mode of a risk
// stage (limits or spot: a venue with mode none has no risk state).
// Restore checks the mode itself; this lets a caller that holds no
// State, or one of another mode, say what a snapshot was taken with.
func SnapshotMode(b []byte) (m Mode, ok bool) {
	if len(b) < 2 || b[0] == 0 {
		return 0, false
	}
	m = Mode(b[1])
	return m, m == ModeLimits || m == ModeSpot
}
