package feed

import (
	"testing"

	"github.com/ringex/ringex/journal"
	"github.com/ringex/ringex/matcher"
)

// benchJournal journals n random commands (helpers_test.go's stream) and
// returns the exchange and how many feed messages they made.
func benchJournal(b *testing.B, n int) (*exchange, uint64) {
	x := newExchange(b, 99, matcher.STPCancelResting)
	for range n {
		x.submit(x.randomCommand())
	}
	_, next := x.tr.Next()
	return x, next - 1
}

// BenchmarkRecoveryReplay is the recovery service retransmitting a whole
// journal's feed over TCP on loopback when the range is older than it
// keeps: it replays the journal from seq 1 (read, CRC, decode, match,
// translate) and packs and sends every message; the client decodes them.
func BenchmarkRecoveryReplay(b *testing.B) { benchRetransmit(b, 1) }

// BenchmarkRecoveryFromMemory is the same range served from the messages
// the service keeps.
func BenchmarkRecoveryFromMemory(b *testing.B) { benchRetransmit(b, 1<<20) }

func benchRetransmit(b *testing.B, retain int) {
	x, total := benchJournal(b, 100_000)
	c, err := Dial(x.startServer(retain, nil))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Retransmit(1, 1, func(*Message) error { return nil }); err != nil { // the service catches up
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var got uint64
		end, err := c.Retransmit(1, uint32(total), func(*Message) error { got++; return nil })
		if err != nil || got != total || end != total+1 {
			b.Fatalf("retransmitted %d of %d messages, ending at %d: %v", got, total, end, err)
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(total), "msgs/op")
}

// BenchmarkTranslate is the publish side's per-command work: events to
// messages. 0 allocs/op once the resting-order table has its size.
func BenchmarkTranslate(b *testing.B) {
	x := newExchange(b, 5, matcher.STPCancelResting)
	type rec struct {
		cmd matcher.Command
		evs []matcher.Event
	}
	var stream []rec
	for range 20_000 {
		cmd := x.randomCommand()
		x.submit(cmd)
		cmd.Seq = x.seq
		stream = append(stream, rec{cmd, append([]matcher.Event(nil), x.evs...)})
	}
	out := make([]Message, 0, 1024)
	tr := NewTranslator(4096)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if i == len(stream) {
			i, tr = 0, NewTranslator(4096)
		}
		out = tr.Command(&stream[i].cmd, stream[i].evs, out[:0])
		i++
	}
}

// BenchmarkFollowPass is one pass of the recovery service's follower
// (Server.follow) over the 1000 records appended since the last, in an
// active segment (the journal's default 64 MiB) that already holds
// 200,000: reading on from where the last pass ended (resume), and
// reading the segment from its start as the follower did before
// journal.ScanFrom (segment-start). Both apply the same 1000 records.
func BenchmarkFollowPass(b *testing.B) {
	for _, resume := range []bool{true, false} {
		name := "resume"
		if !resume {
			name = "segment-start"
		}
		b.Run(name, func(b *testing.B) {
			x, _ := benchJournal(b, 200_000)
			r, err := NewReplayer(x.dir, JournalStart(x.cfg, 2))
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Advance(nil); err != nil || r.JournalSeq() != x.seq {
				b.Fatalf("replayed to %d of %d: %v", r.JournalSeq(), x.seq, err)
			}
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				for range 1000 {
					x.submit(x.randomCommand())
				}
				if !resume {
					r.at = journal.Resume{}
				}
				b.StartTimer()
				if err := r.Advance(nil); err != nil || r.JournalSeq() != x.seq {
					b.Fatalf("followed to %d of %d: %v", r.JournalSeq(), x.seq, err)
				}
			}
		})
	}
}
