package journal

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringex/ringex/internal/logtest"
)

var crashKills = flag.Int("crash.kills", 30, "SIGKILLs in TestCrashSIGKILL")

const crashDirEnv = "RINGEX_JOURNAL_CRASH_DIR"

// crashChild is the process that TestCrashSIGKILL kills: it opens the journal
// (recovering it), then appends batches of random size as fast as it can and
// prints "ack N" once Commit has returned for a batch ending at seq N. It runs
// until it is killed.
func crashChild(dir string, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	opts := Options{Dir: dir, SegmentBytes: 32 << 10, Archive: true, HotRetentionMs: 1, Log: logtest.Discard()}
	opts.Sync = []SyncMode{SyncBatch, SyncInterval, SyncNone}[rng.IntN(3)]
	j, err := Open(opts)
	if err != nil {
		fmt.Printf("open failed: %v\n", err)
		os.Exit(3)
	}
	out := bufio.NewWriterSize(os.Stdout, 64)
	seq := j.LastSeq()
	for {
		n := 1 + rng.IntN(64)
		for range n {
			seq++
			if err := j.Append(seq, record(seq)); err != nil {
				fmt.Printf("append failed: %v\n", err)
				os.Exit(3)
			}
		}
		if err := j.Commit(); err != nil {
			fmt.Printf("commit failed: %v\n", err)
			os.Exit(3)
		}
		if rng.IntN(50) == 0 {
			if err := WriteSnapshot(dir, seq, uint64(seq), record(seq)); err != nil {
				fmt.Printf("snapshot failed: %v\n", err)
				os.Exit(3)
			}
		}
		fmt.Fprintf(out, "ack %d\n", seq)
		out.Flush() // one write per ack: what the parent reads was acknowledged
	}
}

// TestCrashSIGKILL kills a process appending to the journal at random moments
// (mid-write, mid-fsync, mid-roll, mid-archive, mid-snapshot), many times, and
// checks after each restart that every acknowledged record is there, in order,
// with nothing after a gap.
func TestCrashSIGKILL(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		seed, _ := strconv.ParseUint(os.Getenv(crashDirEnv+"_SEED"), 10, 64)
		crashChild(dir, seed)
		return
	}
	kills := *crashKills
	if testing.Short() {
		kills = 5
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	acked, torn := int64(0), 0
	for k := 0; k < kills; k++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSIGKILL$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, fmt.Sprintf("%s_SEED=%d", crashDirEnv, rng.Uint64()))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill after the first ack plus a random delay, so the child is loaded.
		killAt := time.Duration(rng.IntN(40_000)) * time.Microsecond
		var timer <-chan time.Time
		hung := time.After(2 * time.Minute)
		for alive := true; alive; {
			select {
			case <-hung:
				cmd.Process.Signal(syscall.SIGKILL)
				t.Fatalf("kill %d: child made no progress for 2 minutes", k)
			case line, ok := <-lines:
				if !ok {
					alive = false
					break
				}
				if !strings.HasPrefix(line, "ack ") {
					t.Fatalf("kill %d: child said %q", k, line)
				}
				n, _ := strconv.ParseInt(line[4:], 10, 64)
				if n <= acked {
					t.Fatalf("kill %d: ack %d after ack %d", k, n, acked)
				}
				acked = n
				if timer == nil {
					timer = time.After(killAt)
				}
			case <-timer:
				cmd.Process.Signal(syscall.SIGKILL)
				timer = nil
			}
		}
		cmd.Wait()
		tore := false
		if k%3 == 2 {
			tore = tearTail(t, dir, rng)
		}
		if checkAfterCrash(t, dir, acked, k) {
			torn++
		} else if tore {
			t.Fatalf("kill %d: a torn tail was added and recovery did not report it", k)
		}
	}
	hot, _ := listHot(dir)
	arc, _ := listSuffix(dir+"/"+ArchiveDirName, archiveSuffix)
	t.Logf("%d kills (%d left a torn tail), %d records acknowledged and found; %d hot and %d archived segments",
		kills, torn, acked, len(hot), len(arc))
}

// checkAfterCrash recovers the journal and reads it whole: every record up to
// the last acknowledged one must be there, contiguous from seq 1. It reports
// whether recovery truncated a torn tail.
func checkAfterCrash(t *testing.T, dir string, acked int64, k int) bool {
	t.Helper()
	lg := &testLog{}
	j, err := Open(Options{Dir: dir, Log: lg.Logger()})
	if err != nil {
		t.Fatalf("kill %d: Open after crash: %v", k, err)
	}
	last := j.LastSeq()
	j.Close()
	if last < acked {
		t.Fatalf("kill %d: journal ends at %d, but %d was acknowledged (log %q)", k, last, acked, lg.All())
	}
	first, readLast, err := readAll(t, dir, 1)
	if err != nil {
		t.Fatalf("kill %d: Read after crash: %v", k, err)
	}
	if acked > 0 && (first != 1 || readLast != last) {
		t.Fatalf("kill %d: Read gave %d..%d, journal ends at %d", k, first, readLast, last)
	}
	return lg.Has("torn tail")
}

// tearTail writes what a torn write can leave after the last whole record of
// the last segment: zeros, garbage, or the first part of the next frame. It
// reports whether recovery must see a torn tail: zeros over the zero-filled
// rest of the segment are no damage at all.
func tearTail(t *testing.T, dir string, rng *rand.Rand) bool {
	t.Helper()
	segs, _ := listHot(dir)
	if len(segs) == 0 {
		return false
	}
	path := filepath.Join(dir, segName(segs[len(segs)-1]))
	var src segSource
	end, err := scanPath(&src, path, segs[len(segs)-1], false)
	src.close()
	if end.damage == "empty segment" {
		return false // killed between creating a segment and writing to it
	}
	if err != nil || end.damage != "" {
		t.Fatalf("tearTail: %s before tearing: %v %q", path, err, end.damage)
	}
	var junk []byte
	switch rng.IntN(3) {
	case 0:
		junk = make([]byte, 1+rng.IntN(300))
	case 1:
		junk = make([]byte, 1+rng.IntN(300))
		for i := range junk {
			junk[i] = byte(rng.Uint32())
		}
	default:
		rec := record(1 << 40)
		frame := make([]byte, frameBytes+len(rec))
		copy(frame[frameBytes:], rec)
		putFrame(frame, 1<<40, len(rec))
		junk = frame[:1+rng.IntN(len(frame)-1)]
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(junk, end.goodOff)
	f.Close()
	return !allZero(junk)
}
