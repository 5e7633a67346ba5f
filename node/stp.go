package node

// Self-trade prevention settings (match.stp, match.stpAccounts,
// firms[].stp, firms[].stpScope) are the matcher's, and journaled
// (matcher.KindSTP): before FIX opens, a node whose engines do not run its
// config's settings from a journaled record yet journals the set of
// records that puts them in force (a venue record, then one for each
// account with a mode of its own and each firm-wide firm), as it journals
// the bands (bands.go). So a change applies from the start that journals
// it on, and a replay, a standby and `ringex replay` match every order
// under the settings in force when it ran, whatever their config says. A
// journal written before the record replays under the config's settings
// up to the first one (EngineConfig), as it did.

import "github.com/ringex/ringex/matcher"

// stpToJournal returns the STP records that put the config's settings in
// force: none when a journaled record already put the same in force. Call
// it when nothing is in flight (before the ring starts, or at a
// promotion, when the pipeline is drained).
func (n *Node) stpToJournal() ([]matcher.Command, error) {
	want := matcher.STPSettingsOf(EngineConfig(n.cfg))
	have := n.partitions[0].engine.STPSettings() // every partition applies every record (Route)
	if have.Journaled && have.Same(want) {
		return nil, nil
	}
	return want.Records()
}
