package journal

import (
	"fmt"
	"os"
	"syscall"
)

// datasync makes a file's data (and its size) durable. fdatasync skips the
// inode times that fsync would also write.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// lockDir takes an exclusive advisory lock on dir/LOCK so that two processes
// never append to one journal.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir+"/LOCK", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %s is in use by another process: %w", dir, err)
	}
	return f, nil
}

// writeOut writes the dirty pages of [off, off+n) to disk and waits for them
// (sync_file_range), without an fsync's journal commit or device flush, so
// that an fdatasync of the same file by the journal's writer never has them
// to write: zeroer.step calls it after each piece of zeros.
func writeOut(f *os.File, off, n int64) error {
	const waitBefore, write, waitAfter = 1, 2, 4
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = syscall.SyncFileRange(int(fd), off, n, waitBefore|write|waitAfter)
	})
	if err != nil {
		return err
	}
	return serr
}

// statBuf is what unlinked reads into.
type statBuf = syscall.Stat_t

// unlinked reports whether f has lost its last name (its link count is 0):
// the file, or the folder, was deleted while open. st is the caller's, so
// that the check allocates nothing.
func unlinked(f *os.File, st *statBuf) (bool, error) {
	if err := syscall.Fstat(int(f.Fd()), st); err != nil {
		return false, err
	}
	return st.Nlink == 0, nil
}
