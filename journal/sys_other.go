//go:build !linux

package journal

import "os"

func datasync(f *os.File) error { return f.Sync() }

// lockDir is advisory only on Linux; elsewhere the operator keeps one writer.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(dir+"/LOCK", os.O_CREATE|os.O_RDWR, 0o644)
}
