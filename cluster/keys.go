package cluster

import (
	"encoding/json"
	"fmt"
)

// keys are one shard's key names; the layout is drawn in doc.go.
type keys struct {
	shard      string
	root       string // "/ringex/<shard>/": every key of the shard is under it
	leader     string // election prefix; the election adds "/<lease id, hex>"
	members    string // + name
	candidates string // + name
	sync       string
	handoff    string
	poll       string
}

func keysFor(shard string) keys {
	root := "/ringex/" + shard + "/"
	return keys{
		shard:      shard,
		root:       root,
		leader:     root + "leader",
		members:    root + "members/",
		candidates: root + "candidates/",
		sync:       root + "sync",
		handoff:    root + "handoff",
		poll:       root + "poll",
	}
}

// leaderValue is the value of the leader's election key.
type leaderValue struct {
	Name     string `json:"name"`
	ReplAddr string `json:"repl"`
}

// memberValue is the value of /ringex/<shard>/members/<name>.
type memberValue struct {
	Name       string `json:"name"`
	ReplAddr   string `json:"repl"`
	DurableSeq int64  `json:"durableSeq"`
	Epoch      Token  `json:"epoch"`
}

// SyncSet is a shard's standing sync set, the value of
// /ringex/<shard>/sync: every member named in Members (the leader Leader
// of term Token first) holds every record that term acknowledged. Seq is
// a seq every member it names holds durably (the lowest the leader knew
// of among them when it put the set; the leader puts the same set again
// as that grows): the election refuses a member of the set whose journal
// ends before it (outsideSync).
type SyncSet struct {
	Leader  string   `json:"leader"`
	Token   Token    `json:"token"`
	Members []string `json:"members"`
	Seq     int64    `json:"seq"`
}

// handoffValue is the value of /ringex/<shard>/handoff: leader From, in
// term Token, handed the shard to member To.
type handoffValue struct {
	To    string `json:"to"`
	From  string `json:"from"`
	Token Token  `json:"token"`
	Seq   int64  `json:"seq,omitempty"` // what to was shown to hold
}

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("cluster: encode %T: %v", v, err)) // plain structs of strings and ints always encode
	}
	return string(b)
}

func decode(key string, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("cluster: etcd key %s holds %q, not a %T: %w", key, raw, v, err)
	}
	return nil
}

// Position is how far a member's journal reaches, as candidates compare
// it (the value of /ringex/<shard>/candidates/<name>): the newest epoch of
// its history, then its durable seq.
type Position struct {
	Token Token `json:"epoch"`
	Seq   int64 `json:"seq"`
}

// Less orders positions as Raft orders logs, by last term and then by last
// index: a journal whose history reaches a newer term holds that term's
// acknowledged records, however many records an older term's deposed
// leader journaled after its lease ran out (never acknowledged, and cut
// away when it follows again).
func (p Position) Less(o Position) bool {
	return p.Token < o.Token || (p.Token == o.Token && p.Seq < o.Seq)
}

func (p Position) String() string { return fmt.Sprintf("epoch %d seq %d", p.Token, p.Seq) }
