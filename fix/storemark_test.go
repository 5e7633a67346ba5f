package fix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoredMarkSurvivesResetAndRestart: the stored mark outlives a
// sequence reset and a reopen; a new store holds 0; a damaged one is an
// error naming the file.
func TestStoredMarkSurvivesResetAndRestart(t *testing.T) {
	dir := t.TempDir()
	st, _, err := openStore(dir, "S")
	if err != nil {
		t.Fatal(err)
	}
	if st.markVal != 0 {
		t.Fatalf("a new store holds mark %d, want 0 (none of the application's messages)", st.markVal)
	}
	if err := st.writeMark(42 << 20); err != nil {
		t.Fatal(err)
	}
	st.clear()
	if err := st.reset(nil); err != nil {
		t.Fatal(err)
	}
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	if st, _, err = openStore(dir, "S"); err != nil {
		t.Fatal(err)
	}
	if st.markVal != 42<<20 {
		t.Errorf("mark after a reset and a reopen: %d, want %d", st.markVal, 42<<20)
	}
	st.close()
	if err := os.WriteFile(filepath.Join(dir, "S.mark"), []byte("0123456789abcdef"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err = openStore(dir, "S"); err == nil || !strings.Contains(err.Error(), "S.mark") {
		t.Errorf("open with a damaged mark: %v, want an error naming S.mark", err)
	}
}
