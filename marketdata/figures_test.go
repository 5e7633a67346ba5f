package marketdata_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ringex/ringex/bench"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestFiguresSubscriberCost is a measurement, not a test: it runs only
// with RINGEX_MD_FIGURES=1, e.g.
//
//	RINGEX_MD_FIGURES=1 go test -run FiguresSubscriberCost -v -timeout 20m ./marketdata
//
// Closed-loop FIX order throughput (bench.RunFIX, 8 sessions with 100
// orders in flight each, the default crossing mix, journal fsync per batch)
// against an exchange in this process, with no market-data subscriber and
// with 8, each a FIX session subscribed to every symbol's whole book and
// trades (incremental). The subscribers are raw sockets that read and
// count, so their own cost is small; they share the machine's cores with
// the exchange and the load generator. Runs alternate, and each pair's
// ratio is reported, with the process's CPU time per order answered: on a
// machine shared with other work, throughput moves with the neighbours'
// load, CPU per order much less.
func TestFiguresSubscriberCost(t *testing.T) {
	if os.Getenv("RINGEX_MD_FIGURES") == "" {
		t.Skip("set RINGEX_MD_FIGURES=1 to measure (minutes)")
	}
	rounds, _ := strconv.Atoi(os.Getenv("RINGEX_MD_ROUNDS"))
	if rounds < 1 {
		rounds = 3
	}
	var ratios, cpuRatios []float64
	for round := 1; round <= rounds; round++ {
		var got [2]*bench.Result
		var cpu [2]time.Duration
		var updates int64
		order := []int{0, 1}
		if round%2 == 0 {
			order = []int{1, 0} // alternate, so a drift of the machine's load favours neither
		}
		for _, k := range order {
			r, u, c := subscriberRun(t, 8*k)
			got[k], cpu[k] = r, c
			if k == 1 {
				updates = u
			}
		}
		ratios = append(ratios, got[1].Achieved/got[0].Achieved)
		perOrder := func(k int) float64 { return float64(cpu[k].Microseconds()) / float64(got[k].Answered) }
		cpuRatios = append(cpuRatios, perOrder(1)/perOrder(0))
		t.Logf("round %d: 0 subscribers %.0f orders/s (ack p50 %v p99 %v, %.1f µs CPU an order); 8 subscribers %.0f orders/s (ack p50 %v p99 %v, %.1f µs CPU an order), %d X received in all; throughput ratio %.3f",
			round, got[0].Achieved, time.Duration(got[0].Ack.P50), time.Duration(got[0].Ack.P99), perOrder(0),
			got[1].Achieved, time.Duration(got[1].Ack.P50), time.Duration(got[1].Ack.P99), perOrder(1), updates, ratios[len(ratios)-1])
	}
	slices.Sort(ratios)
	slices.Sort(cpuRatios)
	t.Logf("throughput with 8 subscribers / with none, median of %d rounds: %.3f (min %.3f, max %.3f)", rounds, ratios[len(ratios)/2], ratios[0], ratios[len(ratios)-1])
	t.Logf("process CPU an order with 8 subscribers / with none, median: %.3f (min %.3f, max %.3f)", cpuRatios[len(cpuRatios)/2], cpuRatios[0], cpuRatios[len(cpuRatios)-1])
}

// subscriberRun is one run with subs subscribers: its result, the
// incremental refreshes they received, and the CPU time the whole process
// (exchange, generator, subscribers) took during the load.
func subscriberRun(t *testing.T, subs int) (*bench.Result, int64, time.Duration) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	traders := bench.SenderIDs("BROKER", 8)
	for i := 1; i <= subs; i++ {
		cfg.FIX.Sessions = append(cfg.FIX.Sessions, config.Session{BeginString: "FIX.4.4", TargetCompID: fmt.Sprintf("MD%02d", i)})
	}
	n, err := node.Start(cfg, node.Options{Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	var symbols []string
	for _, s := range cfg.Symbols {
		symbols = append(symbols, s.Name)
	}
	var updates atomic.Int64
	for i := 1; i <= subs; i++ {
		c := rawSubscribe(t, cfg.FIX.Listen, fmt.Sprintf("MD%02d", i), symbols)
		defer c.Close()
		go countX(c, &updates)
	}
	cpu0 := processCPU()
	r, err := bench.RunFIX(bench.FIXConfig{Name: fmt.Sprintf("%d subscribers", subs), Target: "ringex", Addr: cfg.FIX.Listen,
		SenderIDs: traders, TargetID: cfg.FIX.SenderCompID, Symbols: symbols, InflightMax: 100,
		Duration: 6 * time.Second, Warmup: time.Second, Drain: 3 * time.Second, Mix: bench.DefaultMix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	cpu := processCPU() - cpu0
	time.Sleep(200 * time.Millisecond)
	return r, updates.Load(), cpu
}

// processCPU is the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawSubscribe logs session sender on over a plain socket and subscribes
// to every symbol's whole book and trades; it returns once the snapshots
// have come.
func rawSubscribe(t *testing.T, addr, sender string, symbols []string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(frame(sender, "A", 1, "98=0\x01108=30\x01141=Y\x01"))
	body := "262=all\x01263=1\x01264=0\x01265=1\x01267=3\x01269=0\x01269=1\x01269=2\x01146=" + strconv.Itoa(len(symbols)) + "\x01"
	for _, s := range symbols {
		body += "55=" + s + "\x01"
	}
	c.Write(frame(sender, "V", 2, body))
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for seen := 0; seen < len(symbols); {
		line, err := r.ReadBytes('\x01')
		if err != nil {
			t.Fatalf("%s: no snapshots: %v", sender, err)
		}
		if bytes.Equal(line, []byte("35=W\x01")) {
			seen++
		}
	}
	c.SetReadDeadline(time.Time{})
	return &bufConn{c, r}
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// countX reads until the connection closes, counting incremental refreshes.
func countX(c net.Conn, n *atomic.Int64) {
	buf := make([]byte, 1<<16)
	var carry []byte
	for {
		k, err := c.Read(buf)
		chunk := append(carry, buf[:k]...)
		n.Add(int64(bytes.Count(chunk, []byte("\x0135=X\x01"))))
		carry = append(carry[:0], chunk[max(0, len(chunk)-5):]...)
		if err == io.EOF || err != nil {
			return
		}
	}
}

func frame(sender, msgType string, seq int, body string) []byte {
	b := "35=" + msgType + "\x0134=" + strconv.Itoa(seq) + "\x0149=" + sender + "\x0152=" +
		time.Now().UTC().Format("20060102-15:04:05.000") + "\x0156=RINGEX\x01" + body
	head := "8=FIX.4.4\x019=" + strconv.Itoa(len(b)) + "\x01"
	sum := 0
	for _, ch := range []byte(head + b) {
		sum += int(ch)
	}
	return []byte(fmt.Sprintf("%s%s10=%03d\x01", head, b, sum%256))
}
