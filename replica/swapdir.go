package replica

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ringex/ringex/internal/fsync"
)

// swapDir renames the folder dir to aside, then, unless next is "", renames
// next to dir, and fsyncs their parent folder last, once: aside and next
// must sit beside dir (the callers name them dir plus a suffix), so that one
// fsync makes both renames durable before the caller reports the swap. The
// callers' crash safety rests on this order; nothing is deleted. It returns
// the name dir was kept under: aside, or "" when dir does not exist and
// missingOK (next still takes dir's name); a missing dir is otherwise an
// error. The errors name the paths (os.Rename's both, fsync.Dir's the
// folder), which the callers' messages rely on.
func swapDir(dir, aside, next string, missingOK bool) (string, error) {
	if err := os.Rename(dir, aside); missingOK && errors.Is(err, fs.ErrNotExist) {
		aside = ""
	} else if err != nil {
		return "", err
	}
	if next != "" {
		if err := os.Rename(next, dir); err != nil {
			return "", err
		}
	}
	if err := fsync.Dir(filepath.Dir(dir)); err != nil {
		return "", err
	}
	return aside, nil
}
