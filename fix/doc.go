// Package fix is ringex's FIX 4.2/4.4 acceptor: the session layer that
// brokers' FIX engines log on to, and the codec that reads their order
// messages and writes the exchange's answers. It owns framing, checksums,
// sequence numbers, logon, heartbeats, resend, rejects, the per-session
// store and the batching of output to the socket. It knows nothing of
// orders, books or the ring: the gateway turns a Message into a command and
// a result into Fields. Standard library only.
//
// # Codec
//
// Inbound bytes are framed QuickFIX style: a message starts with 8=, its
// second field is BodyLength(9), CheckSum(10) must sit exactly BodyLength
// bytes later and match. A wrong CheckSum or BodyLength, a non-numeric tag,
// a field without '=' or a message whose first three fields are not 8, 9,
// 35 is garbled: it is logged and ignored, not counted, and its MsgSeqNum
// will be asked for again. Messages split over reads or packed several to a
// read are handled; BodyLength is bounded (Config.MaxMessageSize) so a
// hostile length cannot make the reader buffer without bound. A Message is a
// list of field offsets into the read buffer: Get, GetInt and Field return
// slices of it, valid during Application.FromApp only. Fields builds an
// outbound body into a reused buffer. Neither allocates per message
// (BenchmarkParseNewOrderSingle, BenchmarkWriteExecutionReport).
//
// Every inbound message is checked against a Dictionary (built in for
// FIX.4.2 and FIX.4.4, extensible): MsgType, required fields, header fields
// after the body, empty values, invalid tag numbers, values outside a
// field's enumeration, number and timestamp formats, repeated tags,
// fields not defined for the message, repeating-group counts (MsgType
// twice is a repeated tag, wherever the second one is). Each is
// answered with a session Reject (SessionRejectReason and RefTagID) before
// the application sees the message. A valid MsgType the dictionary does not
// define is answered with BusinessMessageReject 380=3.
//
// # Session layer
//
// Behaviour follows QuickFIX, which the acceptance suite encodes:
//
//   - Logon: only a configured BeginString + SenderCompID + TargetCompID,
//     a valid Logon with SendingTime within Config.MaxLatency, and the
//     configured Password(554) if any. A refused Logon is logged and gets
//     a Logout whose Text says why (unknown SenderCompID, wrong
//     TargetCompID or BeginString, SendingTime, an invalid field, wrong
//     password, session already logged on, back-off), then the connection
//     closes; a refusal is answered outside any session (MsgSeqNum 1,
//     not stored: a stranger who names a broker's CompID uses none of its
//     sequence numbers), and a Logon whose CompIDs cannot be
//     read, or a first message that is not a Logon, is closed without a
//     word. This differs from the QuickFIX acceptance suite, which wants
//     those closed silently (six scenarios, listed in conformance_test.go).
//     The Logon is answered with the broker's HeartBtInt; one that is not
//     a whole number of seconds from 0 to 3600 is refused with a Logout
//     naming HeartBtInt(108).
//     ResetSeqNumFlag(141)=Y, or SessionConfig.ResetOnLogon, starts both
//     sequence numbers at 1; a 141=Y Logon during the session resets it in
//     place.
//   - Before a Logon is answered a connection is bounded: at most
//     Config.MaxPendingLogons of them (1024; one more is closed at once,
//     logged at most once a second with a count), each reading into a
//     buffer of Config.MaxLogonBytes (8 KiB; a longer first message is
//     closed), for at most Config.LogonTimeout. So connections that never
//     log on hold at most 8 MiB of buffers by default; the full read
//     buffer (2 × MaxMessageSize) is allocated only once logged on.
//     Measured on the 2-core shared dev VM, acceptor and clients in one
//     process: 5,000 connections each sending 64 KB of a Logon that never
//     ends took RSS from 10 to 18 MB, 15 MB once closed (before these
//     bounds: 9 to 360 MB, still 360 MB once closed); 5,000 sending 4 KB
//     of one, 1,024 of them kept, from 9 to 29 MB.
//   - Failed logons back off (backoff.go): 5 in a row (a wrong password,
//     or a CompID no session has) from one remote address are free; each
//     one after them refuses logons from that address (wrong passwords:
//     and for that CompID from that address) for Config.LogonBackoff
//     (1 s), doubling with each further failure up to 5 min, whatever
//     their password, with a Logout saying until when. Never per CompID
//     alone: the right password from an address that has not failed logs
//     on. A successful logon clears the counts. At most 4,096 addresses
//     and 4,096 (CompID, address) pairs are tracked.
//   - MsgSeqNum too high: a ResendRequest (once per gap) and the message is
//     kept until the gap is filled, then processed in order. Too low
//     without PossDupFlag: Logout "MsgSeqNum too low, expecting N but
//     received M" and disconnect. Too low with PossDupFlag: ignored if
//     OrigSendingTime(122) is present and not after SendingTime, else a
//     Reject (and Logout for the SendingTime problem).
//   - ResendRequest: the stored application messages again with
//     PossDupFlag=Y and OrigSendingTime, session messages (and the types
//     Config.NotResent names: market data) replaced by
//     SequenceReset-GapFill. SequenceReset: GapFill moves the expected
//     number forward; Reset mode sets it; a lower NewSeqNo is rejected.
//   - Heartbeat after HeartBtInt without output; TestRequest after 1.2
//     HeartBtInt without input (TestReqID TEST); disconnect after another
//     1.2 HeartBtInt without an answer. TestRequest is answered with its
//     TestReqID.
//   - A session that marks messages (SendMarked) sends a TestRequest of
//     its own (TestReqID C and a number) 200 ms after it wrote application
//     messages that no answer covers, one at a time: its Heartbeat answer
//     confirms that the broker's engine processed them (delivery.go). A
//     broker that is not silent but leaves it unanswered for 2 HeartBtInt
//     (at least 5 s) gets a Logout "TestRequest C<n> unanswered for Ns".
//   - Wrong CompID or SendingTime off by MaxLatency or more: Reject, then
//     Logout. Wrong BeginString: Logout. Our Logout waits
//     Config.LogoutTimeout for the answer; theirs is answered, then we
//     disconnect.
//   - Optional TLS (Config.TLS or CertFile/KeyFile); optional throttle per
//     session (BusinessMessageReject when exceeded).
//
// Each connection has one reader goroutine, which owns all inbound state,
// runs the timers (as read deadlines) and calls the Application. Each
// session has one writer goroutine: Send encodes the message under a short
// per-session lock into the session's queue and wakes the writer, which
// takes everything queued, appends it to the store with one write and then
// to the socket with one write. Many messages queued for one session go out
// in one write; Send never waits for the network. A session whose unsent
// application output passes Config.OutQueueMaxBytes is a slow consumer:
// its connection is closed (OnLogout follows), what it had queued stays in
// the store, and the broker gets it by ResendRequest when it logs on again.
// A resend is not counted: the writer streams it from the store a piece
// at a time (stream.go; a piece is half the bound, at most 1 MiB), each
// once the one before is written, after what was queued before the
// ResendRequest and before what is queued after it (MsgSeqNums above its
// range), which waits behind it and is all the bound counts. So a broker
// that asks for a day of reports and reads them gets them all, in order,
// and one that stops reading is disconnected once the reports sent since
// its request pass the bound (or its socket takes nothing for
// writeTimeout, 30 s). A sequence reset's carry-over is streamed the same
// way.
// Config.MayDeliver, when set, is asked right before each socket write,
// and its deadline bounds the write (a deadline moved back reaches a write
// under way through Acceptor.CutWrites); while it says no the writer keeps
// the queue (stored, in order) and asks again every millisecond, and only
// our Logout goes out (what was queued before it stays stored, for
// resend; after a write cut short in the middle of a message, not even
// the Logout: the connection closes). A stream holds no lock while it
// writes, so a broker that asks for a long resend and stops reading holds
// up only itself.
//
// Where a connection begins and ends, the steps the other goroutines could
// come between are one step (TestResetLogonReplyIsSeqOne and the other
// tests in handover_test.go): a sequence reset, the Logon reply and the
// logged-on state; queueing our Logout and no longer sending the broker
// application messages (they are stored, for resend: written after the
// Logout they would be dropped by its engine yet counted delivered). A
// connection stays the session's until its reader has persisted the
// inbound MsgSeqNum and OnLogout has returned; a broker reconnecting
// meanwhile waits for that, up to LogonTimeout, so two readers never share
// a session and OnLogout (cancel-on-disconnect) never follows the next
// connection's OnLogon. Once Stop has begun no session takes a connection;
// our Logout, queued while a long resend waits on the socket, ends that
// resend (what of it was encoded goes before the Logout, the rest not at
// all); a Logon is checked against the time it was read, not the time
// its connection was taken.
//
// # What survives a restart, and how durable it is
//
// With Config.StoreDir set, each session keeps two files (see store): every
// outbound message since the last sequence reset, and the next inbound
// MsgSeqNum; and a third, .acked, the acknowledged watermark and the
// delivered mark (see delivery.go). NewAcceptor reads them back: the next
// outbound MsgSeqNum is the last stored message's plus one, resend works
// for messages sent before the restart, and a Logon below the stored
// inbound number is "too low".
// Application messages sent while a broker is disconnected take a MsgSeqNum
// and are stored, for resend after it logs on. A torn last record is
// truncated on open; damage before it is an error naming file and offset.
//
// A sequence reset (141=Y, ResetOnLogon) empties the store but drops
// nothing the broker has not had: every stored application message its
// TCP stack has not acknowledged, or, in a session that marks messages,
// its engine has not confirmed (delivery.go: sent while it was away, in
// flight when a connection ended, read but not processed) goes out again right after the Logon
// reply, in order, with the next MsgSeqNums, its header and body as stored
// and PossResend(97)=Y; the new store holds them under those numbers.
// Across a restart what was acknowledged is known from a watermark kept
// beside the store (a third file, .acked, written when a connection ends
// and at most once a second, not fsynced): messages above it, up to about
// a second's worth more than needed after a crash, count as not had, and
// their reports as not delivered (Session.Delivered) until the broker
// acknowledges them again.
//
// Nothing is fsynced per message. The writer appends each batch to the
// store before sending it, so anything a broker can have received is in
// the page cache: a crash of the process loses nothing. fsync happens at
// Logout, sequence reset and Stop, so an operating-system crash or power
// loss can lose what was written since. Losing outbound messages that way
// means the broker sees MsgSeqNum too low and the session must be reset by
// the operator; losing inbound progress means we ask for a resend and get
// PossDup copies of orders already accepted, which is safe only because
// the exchange journals every order command and rejects a duplicate
// ClOrdID, rebuilt from the journal.
//
// # API
//
//	a, err := fix.NewAcceptor(fix.Config{Addr: ":9878", SenderCompID: "RINGEX",
//		StoreDir: "/var/lib/ringex/fix",
//		Sessions: []fix.SessionConfig{{BeginString: "FIX.4.4", TargetCompID: "BROKER1", Password: "…"}},
//	}, gateway)
//	err = a.Start()
//	defer a.Stop()
//
// The gateway implements Application: OnLogon, OnLogout and FromApp, all on
// the session's reader goroutine; FromApp gets a Message valid during the
// call, to be parsed into a fixed-size command without allocating. The
// publish stage answers from its own goroutine with Session.Send(msgType,
// *Fields), reusing one Fields. Acceptor.Session finds a session by
// BeginString and TargetCompID, for example to intern it at start-up.
//
// # Conformance and speed
//
// TestConformance plays the QuickFIX acceptance suite's FIX.4.2 and FIX.4.4
// server scenarios (testdata/fix-acceptance) against this acceptor with an
// echo application: FIX.4.2 52 of 58 pass, FIX.4.4 53 of 59; the 6 others
// in each are refused logons, which get a Logout with the reason here, on
// purpose, where the suite expects a bare disconnect.
// BenchmarkOrderRoundTrip compares the acceptor with a bare quickfixgo one;
// docs/performance.md has the figures.
package fix
