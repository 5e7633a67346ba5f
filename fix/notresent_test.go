package fix

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestResendGapFillsNotResentTypes: messages of a type in Config.NotResent
// (market data) are replaced on resend by a SequenceReset-GapFill, as
// session messages are; the reports around them are resent as ever. The
// store holds a Heartbeat in place of each, so its MsgSeqNum survives a
// restart and its bytes are not kept.
func TestResendGapFillsNotResentTypes(t *testing.T) {
	app := newSendApp()
	dir := t.TempDir()
	cfg := Config{StoreDir: dir, NotResent: []string{"W", "X"}, Sessions: []SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "TW"}}}
	a := startAcceptor(t, cfg, app)
	c := dialClient(t, a.addr, "FIX.4.4", "TW", nil)
	c.logon("")
	s := <-app.logons
	for _, m := range []struct{ msgType, id string }{{"8", "E1"}, {"W", "M1"}, {"X", "M2"}, {"8", "E2"}} {
		var body Fields
		body.AddString(17, m.id)
		if err := s.Send(m.msgType, &body); err != nil {
			t.Fatal(err)
		}
	}
	for seq, want := range []string{2: "8 E1", 3: "W M1", 4: "X M2", 5: "8 E2"} {
		if want == "" {
			continue
		}
		if m := c.next(); m.SeqNum() != seq || string(m.MsgType())+" "+fieldOf(m, 17) != want {
			t.Fatalf("message %s, want seq %d, MsgType and 17 %q", printable(m.Bytes()), seq, want)
		}
	}
	c.send("2", "7=2|16=0|")
	if m := c.next(); string(m.MsgType()) != "8" || m.SeqNum() != 2 || !m.PossDup() || fieldOf(m, 17) != "E1" {
		t.Fatalf("resent first report: %s", printable(m.Bytes()))
	}
	if m := c.next(); string(m.MsgType()) != "4" || m.SeqNum() != 3 || fieldOf(m, 123) != "Y" || fieldOf(m, 36) != "5" {
		t.Fatalf("market data not gap-filled: %s", printable(m.Bytes()))
	}
	if m := c.next(); string(m.MsgType()) != "8" || m.SeqNum() != 5 || fieldOf(m, 17) != "E2" {
		t.Fatalf("resent second report: %s", printable(m.Bytes()))
	}
	a.Stop()
	raw, err := os.ReadFile(filepath.Join(dir, storeName("FIX.4.4", "ISLD", "TW")+".msgs"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("17=M")) || !bytes.Contains(raw, []byte("17=E2")) {
		t.Errorf("the store keeps market data or lacks a report: %q", printable(raw))
	}
	b := startAcceptor(t, cfg, newSendApp())
	if out, _ := b.Session("FIX.4.4", "TW").NextSeqNums(); out != 7 {
		t.Errorf("after a restart the next MsgSeqNum is %d, want 7 (after the Logout)", out)
	}
}
