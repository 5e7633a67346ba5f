package marketdata_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ringex/ringex/bench"
	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/node"
)

// TestFiguresAckToX is a measurement, not a test: it runs only with
// RINGEX_MD_FIGURES=1, e.g.
//
//	RINGEX_MD_FIGURES=1 go test -run FiguresAckToX -v -timeout 20m ./marketdata
//
// An X carries no order id, so each probe order is made findable in it by
// its price: PROBE sends Day buy orders on IBM, one at a time, the i-th at
// 100.00 + i ticks, so each makes a new bid level that no other order
// touches. MDPROBE, a market-data-only session subscribed to IBM's whole
// book (incremental), reads the X that adds that level. Both read raw
// sockets in this process on loopback and take the time when a message's
// first field is read. Reported, all from the same probes: order → ack,
// order → X (HDR histograms), and ack → X, signed (the two readers are
// separate goroutines, so an X can be read before its ack), as exact
// percentiles of the sorted differences. The run is done twice: idle,
// and beside bench.RunFIX's closed loop (8 sessions × 100 in flight, the
// default crossing mix, on the other 7 symbols), whose own ack latency is
// reported from the same run.
func TestFiguresAckToX(t *testing.T) {
	if os.Getenv("RINGEX_MD_FIGURES") == "" {
		t.Skip("set RINGEX_MD_FIGURES=1 to measure (minutes)")
	}
	for _, load := range []bool{false, true} {
		r := ackToXRun(t, load)
		a, x := bench.Summarize(r.ack), bench.Summarize(r.toX)
		slices.Sort(r.ackToX)
		early, _ := slices.BinarySearch(r.ackToX, 0)
		at := func(q float64) time.Duration { return time.Duration(r.ackToX[int(q*float64(len(r.ackToX)-1))]) }
		t.Logf("load %v: %d probes (%d X not seen within 2 s): order → ack p50 %v p99 %v; order → X p50 %v p99 %v; ack → X p50 %v p99 %v min %v max %v (%d of the X read before their ack)",
			load, a.Count, r.lost, time.Duration(a.P50), time.Duration(a.P99), time.Duration(x.P50), time.Duration(x.P99),
			at(0.50), at(0.99), at(0), at(1), early)
		if r.load != nil {
			t.Logf("load %v: the closed loop beside it: %.0f orders/s, ack p50 %v p99 %v", load, r.load.Achieved,
				time.Duration(r.load.Ack.P50), time.Duration(r.load.Ack.P99))
		}
	}
}

const probesMax = 5000

// probeResult is one run's probes: order → ack and order → X in ns, ack →
// X signed in ns, the probes whose X did not come, and the load's result
// when there was one.
type probeResult struct {
	ack, toX *hdrhistogram.Histogram
	ackToX   []int64
	lost     int
	load     *bench.Result
}

// ackToXRun is one run, with the closed-loop load beside it when load is
// set.
func ackToXRun(t *testing.T, load bool) probeResult {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.FIX.Listen = fixtest.FreeAddr(t)
	cfg.FIX.Sessions = append(cfg.FIX.Sessions,
		config.Session{BeginString: "FIX.4.4", TargetCompID: "PROBE"},
		config.Session{BeginString: "FIX.4.4", TargetCompID: "MDPROBE", MarketDataOnly: true})
	n, err := node.Start(cfg, node.Options{Log: logtest.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	sub := rawSubscribe(t, cfg.FIX.Listen, "MDPROBE", []string{"IBM"})
	defer sub.Close()
	seen := make(chan xSeen, 64)
	go readX(sub, seen)
	trader := rawLogon(t, cfg.FIX.Listen, "PROBE")
	defer trader.Close()

	done := make(chan *bench.Result, 1)
	probeFor := 10 * time.Second
	if load {
		probeFor = 6 * time.Second
		go func() {
			r, err := bench.RunFIX(bench.FIXConfig{Name: "load", Target: "ringex", Addr: cfg.FIX.Listen,
				SenderIDs: bench.SenderIDs("BROKER", 8), TargetID: cfg.FIX.SenderCompID,
				Symbols:     []string{"AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META"},
				InflightMax: 100, Duration: 8 * time.Second, Warmup: time.Second, Drain: 3 * time.Second, Mix: bench.DefaultMix(1, 0)})
			if err != nil {
				t.Error(err)
			}
			done <- r
		}()
		time.Sleep(1500 * time.Millisecond) // past the load's warm-up
	}
	r := probeResult{ack: bench.NewHist(), toX: bench.NewHist()}
	probe(t, trader, seen, probeFor, &r)
	if load {
		r.load = <-done
	}
	return r
}

// probe sends the probe orders one at a time for up to d and records
// their latencies in r.
func probe(t *testing.T, c *rawConn, seen <-chan xSeen, d time.Duration, r *probeResult) {
	end := time.Now().Add(d)
	for i := 0; i < probesMax && time.Now().Before(end); i++ {
		cents := 10000 + i
		sent := time.Now()
		c.send("D", fmt.Sprintf("11=P%d\x0155=IBM\x0154=1\x0138=1\x0140=2\x0144=%d.%02d\x0159=0\x0121=1\x0160=%s\x01",
			i, cents/100, cents%100, sent.UTC().Format("20060102-15:04:05.000")))
		acked := c.awaitAck(t, "P"+strconv.Itoa(i))
		bench.Record(r.ack, acked.Sub(sent).Nanoseconds())
		for waiting := true; waiting; {
			select {
			case x := <-seen:
				if x.cents == cents {
					bench.Record(r.toX, x.at.Sub(sent).Nanoseconds())
					r.ackToX = append(r.ackToX, x.at.Sub(acked).Nanoseconds())
					waiting = false
				}
			case <-time.After(2 * time.Second):
				r.lost++
				waiting = false
			}
		}
	}
}

// xSeen is a new bid level read in an X, and when its message began.
type xSeen struct {
	cents int
	at    time.Time
}

// readX reads X messages until the connection closes and hands on each
// new bid level (279=0 269=0) with its price in cents.
func readX(c net.Conn, out chan<- xSeen) {
	r := bufio.NewReader(c)
	var start time.Time
	var isX, isNew, isBid bool
	for {
		f, err := r.ReadBytes('\x01')
		if err != nil {
			return
		}
		switch {
		case bytes.HasPrefix(f, []byte("8=")):
			start, isX = time.Now(), false
		case bytes.Equal(f, []byte("35=X\x01")):
			isX = true
		case bytes.HasPrefix(f, []byte("279=")):
			isNew = bytes.Equal(f, []byte("279=0\x01"))
		case bytes.HasPrefix(f, []byte("269=")):
			isBid = bytes.Equal(f, []byte("269=0\x01"))
		case isX && isNew && isBid && bytes.HasPrefix(f, []byte("270=")):
			whole, frac, _ := bytes.Cut(bytes.TrimSuffix(f[4:], []byte{1}), []byte("."))
			w, _ := strconv.Atoi(string(whole))
			fr, _ := strconv.Atoi(string(frac))
			out <- xSeen{cents: w*100 + fr, at: start}
		}
	}
}

// rawConn is a trader's FIX 4.4 session over a plain socket.
type rawConn struct {
	net.Conn
	r      *bufio.Reader
	sender string
	seq    int
}

func rawLogon(t *testing.T, addr, sender string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawConn{Conn: nc, r: bufio.NewReader(nc), sender: sender}
	c.send("A", "98=0\x01108=30\x01141=Y\x01")
	for {
		f, err := c.r.ReadBytes('\x01')
		if err != nil {
			t.Fatalf("%s: no Logon: %v", sender, err)
		}
		if bytes.Equal(f, []byte("35=A\x01")) {
			return c
		}
	}
}

func (c *rawConn) send(msgType, body string) {
	c.seq++
	c.Write(frame(c.sender, msgType, c.seq, body))
}

// awaitAck reads until the ExecutionReport New of clOrdID and returns when
// that message began.
func (c *rawConn) awaitAck(t *testing.T, clOrdID string) time.Time {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var start time.Time
	var mine bool
	want := []byte("11=" + clOrdID + "\x01")
	for {
		f, err := c.r.ReadBytes('\x01')
		if err != nil {
			t.Fatalf("%s: no ack of %s: %v", c.sender, clOrdID, err)
		}
		switch {
		case bytes.HasPrefix(f, []byte("8=")):
			start, mine = time.Now(), false
		case bytes.Equal(f, want):
			mine = true
		case mine && bytes.Equal(f, []byte("150=0\x01")):
			return start
		case mine && bytes.Equal(f, []byte("150=8\x01")):
			t.Fatalf("%s: %s rejected", c.sender, clOrdID)
		}
	}
}
