package replica

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawFrame reads one frame off c without the reader's checks, so that a
// test sees what a peer of any version would.
func rawFrame(t *testing.T, c net.Conn) (typ, version byte, body []byte) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitLong))
	var hdr [frameHeaderBytes]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatalf("frame header: %v", err)
	}
	body = make([]byte, binary.LittleEndian.Uint32(hdr[4:]))
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatalf("frame body: %v", err)
	}
	return hdr[8], hdr[9], body
}

// frameOfVersion builds a frame of type typ as a peer of version v would.
func frameOfVersion(typ byte, v byte, body func(*frameWriter)) []byte {
	var fw frameWriter
	fw.begin(typ, 1)
	fw.buf[9] = v
	if body != nil {
		body(&fw)
	}
	return fw.finish()
}

// TestPrimaryRefusesAPeerOfAnotherVersion: a standby's hello, or a probe,
// in frames of another protocol version (0: a ringex from before the
// field) is answered with a refuse frame coded RefuseVersion whose reason
// names both versions, and the connection never becomes the standby.
func TestPrimaryRefusesAPeerOfAnotherVersion(t *testing.T) {
	p := newPrimary(t, t.TempDir(), 0, 64)
	hello := frameOfVersion(typeHello, 0, func(fw *frameWriter) { fw.u64(0); fw.history(nil) })
	probe := frameOfVersion(typeProbe, 2, nil)
	for _, tc := range []struct {
		name  string
		frame []byte
		peer  string
	}{{"old_standby_hello", hello, "version 0"}, {"newer_probe", probe, "version 2"}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", p.s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			typ, version, body := rawFrame(t, c)
			if typ != typeRefuse || version != ProtocolVersion {
				t.Fatalf("answered with a type %d frame of version %d, want a refuse frame of version %d", typ, version, ProtocolVersion)
			}
			var ref *RefusedError
			if err := refused(body); !errors.As(err, &ref) || ref.Code != RefuseVersion || !ref.Final {
				t.Fatalf("refusal %v, want a final RefuseVersion", err)
			}
			if !strings.Contains(ref.Reason, tc.peer) || !strings.Contains(ref.Reason, "this primary version 1") {
				t.Fatalf("reason %q does not name both versions", ref.Reason)
			}
			if st := p.s.Stats(); st.Connections != 0 || st.Connected {
				t.Fatalf("a peer of another version became the standby: %+v", st)
			}
		})
	}
}

// fakePrimary listens on 127.0.0.1 and answers the first frame of each
// connection with reply (nil: none), as a primary of another release would.
func fakePrimary(t *testing.T, reply []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var hdr [frameHeaderBytes]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, c, int64(binary.LittleEndian.Uint32(hdr[4:]))); err != nil {
					return
				}
				c.Write(reply)
				io.Copy(io.Discard, c) // until the peer closes
			}()
		}
	}()
	return ln.Addr().String()
}

// TestStandbyStopsOnAPrimaryOfAnotherVersion: a standby welcomed in frames
// of another version (a primary that predates the check, which ignores the
// hello's version) stops with a *VersionError naming both versions; it
// does not ask again.
func TestStandbyStopsOnAPrimaryOfAnotherVersion(t *testing.T) {
	welcome := frameOfVersion(typeWelcome, 0, func(fw *frameWriter) { fw.u64(0); fw.history(nil) })
	sb := startStandby(t, t.TempDir(), fakePrimary(t, welcome))
	defer sb.j.Close()
	var ver *VersionError
	select {
	case err := <-sb.done:
		if !errors.As(err, &ver) || ver.Peer != 0 || ver.Ours != ProtocolVersion {
			t.Fatalf("standby ended with %v, want a VersionError 0 vs %d", err, ProtocolVersion)
		}
		if msg := err.Error(); !strings.Contains(msg, "version 0") || !strings.Contains(msg, "version 1") {
			t.Fatalf("error %q does not name both versions", msg)
		}
	case <-time.After(waitLong):
		sb.r.Stop()
		t.Fatalf("the standby kept following a primary of another version (logs %q)", sb.logs.All())
	}
}

// TestProbeOfAnotherVersion: a probe answered in frames of another version
// is a *VersionError, not a PeerState read from a layout it may not have.
func TestProbeOfAnotherVersion(t *testing.T) {
	answer := frameOfVersion(typeAnswer, 2, func(fw *frameWriter) { fw.u64(5); fw.history(nil); fw.u64(5) })
	_, err := Probe(fakePrimary(t, answer), 1, waitLong)
	var ver *VersionError
	if !errors.As(err, &ver) || ver.Peer != 2 || ver.Ours != ProtocolVersion {
		t.Fatalf("probe: %v, want a VersionError 2 vs %d", err, ProtocolVersion)
	}
}

// TestRefuseCodes: a standby acts on a refusal's code, whatever its text:
// a stale primary and another protocol version stop it, a missing
// snapshot and a code it does not know (from a newer primary) do not. The
// code and the reason survive the refuse frame; a body too short for the
// code is a bad frame.
func TestRefuseCodes(t *testing.T) {
	for _, tc := range []struct {
		code   RefuseCode
		reason string
		final  bool
	}{
		{RefuseStale, "the standby knows epoch 3, this primary only 1: " + staleRefusal, true},
		{RefuseNoSnapshot, "the standby needs seq 5, but this primary's journal begins at seq 300 (older segments were removed) and no valid snapshot is beside it", false},
		{RefuseVersion, "the peer speaks replica protocol version 0, this primary version 1", true},
		{RefuseCode(99), "a reason this standby has never heard of", false},
		{RefuseNoSnapshot, "a reason that says " + staleRefusal + " but is coded otherwise", false},
	} {
		var fw frameWriter
		fw.begin(typeRefuse, 1)
		fw.refusal(tc.code, tc.reason)
		f, err := newFrameReader(strings.NewReader(string(fw.finish()))).next()
		if err != nil {
			t.Fatal(err)
		}
		var ref *RefusedError
		if err := refused(f.body); !errors.As(err, &ref) || ref.Code != tc.code || ref.Reason != tc.reason || ref.Final != tc.final {
			t.Errorf("code %d %q: read back as %+v, want final %v", tc.code, tc.reason, ref, tc.final)
		}
	}
	if err := refused([]byte{1, 0}); !errors.Is(err, errFrame) {
		t.Errorf("a 2-byte refuse body: %v, want a bad frame", err)
	}
}

// TestRefusalCodesOnTheWire: the refusals a primary sends carry their code:
// a standby behind the journal with no snapshot to send is RefuseNoSnapshot
// (not final), one that knows a later epoch is RefuseStale (final).
func TestRefusalCodesOnTheWire(t *testing.T) {
	pdir := t.TempDir()
	jdir := pdir + "/journal"
	journalOfSmallSegments(t, jdir, 600)
	removeSegmentsBefore(t, jdir, 400)
	p := newPrimary(t, pdir, 0, 64)
	p.batch(10)
	for _, tc := range []struct {
		name    string
		history []Epoch
		code    RefuseCode
	}{
		{"behind_without_snapshot", nil, RefuseNoSnapshot},
		{"standby_knows_a_later_epoch", []Epoch{{Epoch: 1, FirstSeq: 1}, {Epoch: 5, FirstSeq: 2}}, RefuseStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", p.s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var fw frameWriter
			fw.begin(typeHello, 0)
			fw.u64(0)
			fw.history(tc.history)
			if _, err := c.Write(fw.finish()); err != nil {
				t.Fatal(err)
			}
			typ, _, body := rawFrame(t, c)
			var ref *RefusedError
			if err := refused(body); typ != typeRefuse || !errors.As(err, &ref) || ref.Code != tc.code || ref.Final != tc.code.Final() {
				t.Fatalf("type %d frame, refusal %v; want %s", typ, err, tc.code)
			}
		})
	}
}
