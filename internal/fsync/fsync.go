// Package fsync holds the one way ringex makes a directory's entries
// durable (a created, renamed or removed file survives a crash only once
// its directory is fsynced). The journal, replica and the FIX session
// stores call it.
package fsync

import (
	"fmt"
	"os"
)

// Dir fsyncs directory dir.
func Dir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
