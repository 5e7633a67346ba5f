package node_test

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"

	"github.com/ringex/ringex/internal/fixtest"
	"github.com/ringex/ringex/matcher"
)

// rawFIX encodes one FIX 4.4 message from BROKER01 to RINGEX with
// MsgSeqNum seq and the body fields given as "tag=value|..." text.
func rawFIX(msgType string, seq int, body string) []byte {
	inner := fmt.Sprintf("35=%s\x0149=BROKER01\x0156=RINGEX\x0134=%d\x0152=%s\x01%s", msgType, seq,
		time.Now().UTC().Format("20060102-15:04:05.000"), strings.ReplaceAll(body, "|", "\x01"))
	msg := fmt.Appendf(nil, "8=FIX.4.4\x019=%d\x01%s", len(inner), inner)
	sum := 0
	for _, b := range msg {
		sum += int(b)
	}
	return fmt.Appendf(msg, "10=%03d\x01", sum%256)
}

// TestFillSurvivesALogonThatKeepsSequenceNumbersAfterAFailover:
// BROKER01's GTC buy is filled while it is away, and the primary fails
// over. BROKER01's FIX engine keeps its sequence numbers, as most do: it
// logs on to the new primary with MsgSeqNum 5 and no ResetSeqNumFlag,
// expecting the exchange's next message to be 7. The new primary answers
// with MsgSeqNum 1 (a promotion starts every session again), so the
// engine does what README and docs/operations.md say it will: it logs
// out ("MsgSeqNum too low") without processing anything after the
// Logon reply, and logs on again with ResetSeqNumFlag=Y.
// The broker expects the fill after that second Logon (PossResend=Y): its
// engine never processed it. The promoted node sends its pending resends
// right after the first Logon reply and the broker's kernel acknowledges
// the bytes; before the fix that counted the fill as delivered, and the
// 141=Y Logon carried over only what the TCP stack never acknowledged.
// Now a connection the broker logs out of before sending anything else
// counts nothing it acknowledged (fix/delivery.go, refused).
func TestFillSurvivesALogonThatKeepsSequenceNumbersAfterAFailover(t *testing.T) {
	var logP, logS logLines
	cfgP := replCfg(t.TempDir(), "primary", "")
	cfgP.FIX.Listen = fixtest.FreeAddr(t)
	p := startFIXNode(t, cfgP, &logP, "P")
	s, cfgS := startFIXStandby(t, cfgP, p, &logS)
	sellSeq := fillWhileAway(t, p, cfgP.FIX.Listen)
	waitUntil(t, "the standby has the fill and hears BROKER01's mark below it", func() bool {
		st, _ := s.ReplicationStats()
		return lastSeq(s) == lastSeq(p) && st.PrimaryPublished >= lastSeq(p) && len(st.PrimaryDelivered) > 1 &&
			st.PrimaryDelivered[1] > 0 && st.PrimaryDelivered[1] <= sellSeq*matcher.ExecIDStride
	})
	failOver(t, p, s)

	nc, err := net.Dial("tcp", cfgS.FIX.Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(rawFIX("A", 5, "98=0|108=30|")); err != nil {
		t.Fatal(err)
	}
	// The bytes reach the broker's machine (its kernel acknowledges them);
	// its engine stops at the Logon reply's MsgSeqNum 1.
	var got []byte
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(wait)
	for !bytes.Contains(got, []byte("\x01150=F\x01")) && time.Now().Before(deadline) {
		nc.SetReadDeadline(deadline)
		n, err := nc.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if !bytes.Contains(got, []byte("\x0135=A\x01")) {
		t.Fatalf("no Logon reply from the new primary: %q", got)
	}
	if !bytes.Contains(got, []byte("\x01150=F\x01")) {
		t.Fatalf("the new primary did not send the pending fill after the Logon reply (the scenario needs it to): %q", got)
	}
	nc.Write(rawFIX("5", 6, "58=MsgSeqNum too low, expecting 7 but received 1|"))
	time.Sleep(100 * time.Millisecond) // let the Logout reach the acceptor before the socket closes
	nc.Close()

	b1 := fixtest.Dial(t, cfgS.FIX.Listen, quickfix.BeginStringFIX44, "BROKER01", "RINGEX")
	defer b1.Close()
	awaitReport(t, "BROKER01 after its 141=Y Logon on the new primary: the fill its engine never processed", b1,
		map[quickfix.Tag]string{tag.MsgType: "8", tag.ExecType: "F", tag.ClOrdID: "GTC1", tag.PossResend: "Y"})
}
