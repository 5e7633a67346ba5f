package cluster

import (
	"encoding/json"
	"fmt"
	"strconv"
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
}

// syncValue is the value of /ringex/<shard>/sync, the sync set: every
// member named in Members (the leader Leader of term Token among them)
// holds every record that term acknowledged. Seq is the leader's last
// shipped seq when it put the set, for the operator.
type syncValue struct {
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

func parseSeq(key string, raw []byte) (int64, error) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cluster: etcd key %s holds %q, not a durable seq", key, raw)
	}
	return n, nil
}
