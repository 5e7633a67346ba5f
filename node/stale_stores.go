package node

import (
	"cmp"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// staleStoresKept is how many FIX session-store folders of earlier terms
// (fix.epoch-N-stale, moved aside at each promotion by openGateway) a node
// keeps: the newest ones, by N. They are kept only for an operator to
// look at after a failover; nothing reads them.
const staleStoresKept = 3

// pruneStaleStores removes from dataDir all but the newest staleStoresKept
// fix.epoch-N-stale folders and logs each removal; a failure to remove one
// is logged and changes nothing else. Cold path: once per promotion.
func pruneStaleStores(dataDir string, log *slog.Logger) {
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		log.Warn("listing the data dir for stale FIX session stores failed", "dir", dataDir, "err", err)
		return
	}
	type stale struct {
		epoch uint64
		name  string
	}
	var found []stale
	for _, e := range entries {
		name := e.Name()
		num, ok := strings.CutPrefix(name, "fix.epoch-")
		if !ok || !e.IsDir() {
			continue
		}
		num, ok = strings.CutSuffix(num, "-stale")
		epoch, err := strconv.ParseUint(num, 10, 64)
		if ok && err == nil {
			found = append(found, stale{epoch, name})
		}
	}
	slices.SortFunc(found, func(a, b stale) int { return cmp.Compare(b.epoch, a.epoch) }) // newest first
	for _, s := range found[min(len(found), staleStoresKept):] {
		path := filepath.Join(dataDir, s.name)
		if err := os.RemoveAll(path); err != nil {
			log.Warn("removing stale FIX session stores failed", "path", path, "err", err)
			continue
		}
		log.Info("removed stale FIX session stores (the newest are kept)", "path", path, "kept", staleStoresKept)
	}
}
