package node

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ringex/ringex/config"
	"github.com/ringex/ringex/internal/logtest"
	"github.com/ringex/ringex/matcher"
)

// gatePublisher blocks the publish stage on its first event until open is
// closed.
type gatePublisher struct {
	once    sync.Once
	entered chan struct{}
	open    chan struct{}
}

func (g *gatePublisher) Publish(ev *matcher.Event) {
	g.once.Do(func() {
		close(g.entered)
		<-g.open
	})
}

// An operator's deposit whose record is journaled but not yet settled
// when the pipeline fails (a lost lease, a journal error, a standby that
// never acknowledged) is never published: Funds must return an error then,
// not wait for ever on the publish stage's answer (submitOperator).
func TestFundsReturnsWhenThePipelineFails(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Snapshot = config.Snapshot{}
	cfg.FIX.Listen = "127.0.0.1:0"
	cfg.Risk = config.Risk{Mode: config.RiskModeSpot, CashUnit: "0.01"}
	pub := &gatePublisher{entered: make(chan struct{}), open: make(chan struct{})}
	n, err := Start(cfg, Options{Log: logtest.New(t), Publisher: pub})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	// A sell with no inventory: the risk stage refuses it, and its Rejected
	// event blocks the publish stage in the publisher.
	c := matcher.Command{Kind: matcher.KindNew, Account: 1, Symbol: 1, Side: matcher.Sell, Type: matcher.Limit, Qty: 1, Price: 100}
	if err := n.Submit(&c); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pub.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the publish stage never published the first event")
	}
	done := make(chan error, 1)
	go func() {
		_, err := n.Funds(false, "BROKER01", "cash", "100")
		done <- err
	}()
	// Let the deposit reach the ring and the journal, then fail the pipeline
	// as holdForLease or the journal would, and let the publish stage go.
	deadline := time.Now().Add(30 * time.Second)
	for n.journal.LastSeq() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	n.fail(errors.New("review4: the term ended"))
	close(pub.open)
	select {
	case err := <-done:
		if err == nil {
			t.Error("Funds reported a deposit applied on a pipeline that failed before settling it")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Funds still waits 20 s after the pipeline failed: submitOperator waits for ever on a record the publish stage will never settle")
	}
}
