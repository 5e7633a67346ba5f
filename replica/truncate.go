package replica

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ringex/ringex/internal/fsync"
	"github.com/ringex/ringex/journal"
)

// Truncate discards the records after keep from the journal in dir, for a
// standby whose journal diverged from the primary's (DivergedError). The
// journal package appends only, so the records 1..keep are copied through
// its public API into a new folder, the snapshots at or before keep are
// copied beside them, and the new folder replaces the old one, which is kept
// as <dir>.diverged-<unix ns> for an operator to inspect: nothing is
// deleted. The journal must not be open. Returns the kept folder's name.
//
// A journal that begins after seq 1 (InstallSnapshot) is cut the same way
// from its first seq; one that begins after keep+1 holds nothing the
// primary agrees with, so it is set aside whole and the standby starts
// empty (the primary then sends it a snapshot).
func Truncate(dir string, keep int64, log *slog.Logger) (string, error) {
	start := time.Now()
	first, err := journal.FirstSeq(dir)
	if err != nil {
		return "", fmt.Errorf("replica: truncate: %w", err)
	}
	first = max(first, 1)
	if first > keep+1 {
		aside, err := swapDir(dir, fmt.Sprintf("%s.diverged-%d", dir, time.Now().UnixNano()), "", false)
		if err != nil {
			return "", fmt.Errorf("replica: truncate: %w", err)
		}
		log.With("component", "replica").Warn("the journal begins after the seq it must be cut at: it is kept whole aside, and the standby starts empty",
			"dir", dir, "first_seq", first, "keep_seq", keep, "aside", aside)
		return aside, nil
	}
	tmp := dir + ".cut"
	if err := os.RemoveAll(tmp); err != nil {
		return "", fmt.Errorf("replica: truncate: %w", err)
	}
	j, err := journal.Open(journal.Options{Dir: tmp, FirstSeq: first, Log: log})
	if err != nil {
		return "", fmt.Errorf("replica: truncate: %w", err)
	}
	const batch = 1 << 16
	n := 0
	err = journal.Read(dir, first, func(seq int64, rec []byte) error {
		if seq > keep {
			return errStop
		}
		if err := j.Append(seq, rec); err != nil {
			return err
		}
		if n++; n%batch == 0 {
			return j.Commit()
		}
		return nil
	})
	if err == nil || errors.Is(err, errStop) {
		err = j.Commit()
	}
	if cerr := j.Close(); err == nil {
		err = cerr
	}
	if err == nil && int64(n) != keep-first+1 {
		err = fmt.Errorf("copied %d records from seq %d, want %d (the journal ends before %d)", n, first, keep-first+1, keep)
	}
	if err == nil {
		err = copySnapshots(dir, tmp, keep)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("replica: truncate %s at seq %d: %w", dir, keep, err)
	}
	aside, err := swapDir(dir, fmt.Sprintf("%s.diverged-%d", dir, time.Now().UnixNano()), tmp, false)
	if err != nil {
		return "", fmt.Errorf("replica: truncate: %w", err)
	}
	log.With("component", "replica").Warn("journal cut; the diverged journal is kept aside", "dir", dir, "keep_seq", keep,
		"took", time.Since(start).Round(time.Millisecond), "aside", aside)
	return aside, nil
}

// copySnapshots copies the snapshot files (journal's documented names,
// snap-<seq 20 digits>.snap) at or before keep.
func copySnapshots(from, to string, keep int64) error {
	ents, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "snap-") || !strings.HasSuffix(name, ".snap") {
			continue
		}
		seq, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(name, "snap-"), ".snap"), 10, 64)
		if err != nil || seq > keep {
			continue
		}
		if err := copyFile(filepath.Join(from, name), filepath.Join(to, name)); err != nil {
			return err
		}
	}
	return fsync.Dir(to)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
