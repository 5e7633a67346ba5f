package bench

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// QuickFIX/C++'s ordermatch example is the peer exchange: a matching engine
// behind a FIX 4.2 acceptor, built from Debian's packages by
// scripts/ordermatch.sh (no QuickFIX source lives in this repository). The
// script builds it, writes its session config and starts and stops it; this
// file only calls the script, so the config is written in one place.

// OrdermatchCompID is the peer's SenderCompID, the bench's TargetCompID.
const OrdermatchCompID = "ORDERMATCH"

// OrdermatchScript is the script's path, relative to the repository root
// (where make runs the bench); RINGEX_ORDERMATCH_SCRIPT overrides it.
func OrdermatchScript() string {
	if s := os.Getenv("RINGEX_ORDERMATCH_SCRIPT"); s != "" {
		return s
	}
	return filepath.Join("scripts", "ordermatch.sh")
}

// ordermatchBinary is where the script builds the variant for store
// ("file": the example as shipped; "memory": its Application under a
// MemoryStore main); ORDERMATCH_DIR overrides the folder, as for the script.
func ordermatchBinary(store string) string {
	dir := os.Getenv("ORDERMATCH_DIR")
	if dir == "" {
		dir = filepath.Join("bin", "peer")
	}
	if store == "memory" {
		return filepath.Join(dir, "ordermatch-mem")
	}
	return filepath.Join(dir, "ordermatch")
}

// OrdermatchBuilt reports whether the script and the binary for store are
// there, so a suite can run the peer without building anything.
func OrdermatchBuilt(store string) bool {
	if _, err := os.Stat(OrdermatchScript()); err != nil {
		return false
	}
	st, err := os.Stat(ordermatchBinary(store))
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// BuildOrdermatch runs the script's build (apt-get install of the
// packages when missing, then g++), its output to w.
func BuildOrdermatch(w io.Writer) error {
	cmd := exec.Command("bash", OrdermatchScript(), "build")
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s build: %w", OrdermatchScript(), err)
	}
	return nil
}

// Ordermatch is one running instance of the peer, with its own run folder
// (config, store, log) and a free port.
type Ordermatch struct {
	addr string
	env  []string
	dir  string
}

// StartOrdermatch starts the peer with store "file" or "memory" and one
// session per sender.
func StartOrdermatch(store string, senders []string) (*Ordermatch, error) {
	if !OrdermatchBuilt(store) {
		return nil, fmt.Errorf("ordermatch (%s store) is not built: run %s build (make peer)", store, OrdermatchScript())
	}
	dir, err := os.MkdirTemp("", "ringex-ordermatch-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	o := &Ordermatch{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir,
		env: append(os.Environ(), "ORDERMATCH_RUN="+dir, "ORDERMATCH_PORT="+strconv.Itoa(port),
			"ORDERMATCH_STORE="+store, "ORDERMATCH_COMPID="+OrdermatchCompID,
			"ORDERMATCH_SENDERS="+strings.Join(senders, ","))}
	if out, err := o.script("start"); err != nil {
		o.Stop()
		return nil, fmt.Errorf("ordermatch start: %w: %s", err, out)
	}
	return o, nil
}

func (o *Ordermatch) script(verb string) (string, error) {
	cmd := exec.Command("bash", OrdermatchScript(), verb)
	cmd.Env = o.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// Addr is the address it accepts on.
func (o *Ordermatch) Addr() string { return o.addr }

// Stop stops it and removes its run folder.
func (o *Ordermatch) Stop() error {
	out, err := o.script("stop")
	os.RemoveAll(o.dir)
	if err != nil {
		return fmt.Errorf("ordermatch stop: %w: %s", err, out)
	}
	return nil
}
