// Package fixaccept plays the QuickFIX acceptance scenarios (the FIX.4.2 and
// FIX.4.4 server sets in testdata/fix-acceptance) against a FIX acceptor
// over real TCP, and says which pass. It is the conformance bar of the
// FIX layer: whatever session layer serves ringex's brokers runs these in
// `make test`.
// It owns the .def format and the rules for comparing messages; it knows
// nothing of the acceptor it tests beyond an address, and nothing of orders.
//
// # Using it
//
// A test supplies a StartFunc that starts a fresh acceptor for one scenario
// and returns its address and a stop function, then calls RunSuite:
//
//	func TestConformance(t *testing.T) {
//		fixaccept.RunSuite(t, "../../testdata/fix-acceptance/fix44", startMyAcceptor,
//			fixaccept.SuiteOptions{Parallel: 8, KnownFailures: map[string]string{
//				"3b_InvalidChecksum": "why it fails today",
//			}})
//	}
//
// RunSuite reports one subtest per scenario and ends with "N passed, N
// failed". A failure that KnownFailures does not name fails the test, with
// the step's line, the first differing field, the message received and the
// whole transcript; a named one is logged; a named one that passes is logged
// so that the list shrinks. `go test -run 'TestConformance/2d_'` plays only
// the scenarios it selects. Load, Run and RunAll do the same work without
// package testing.
//
// The acceptor each scenario expects: SenderCompID ISLD, TargetCompID TW,
// the scenario's BeginString (Scenario.BeginString), ResetOnLogon=Y,
// HeartBtInt 30, validation against the FIX data dictionary, and an echo
// application that
//   - sends NewOrderSingle (D) and SecurityDefinition (d) back with the
//     session's own header, keeping PossResend(97) when it was set
//     (19b_PossResendMessageThatHasNotBeenSent);
//   - drops a PossResend=Y message whose ClOrdID it has already echoed since
//     logon (19a_PossResendMessageThatHAsAlreadyBeenSent);
//   - answers any other application message with BusinessMessageReject,
//     380=3 Unsupported Message Type (2r_UnregisteredMsgType).
//
// Messages are compared as QuickFIX engines write them: BeginString,
// BodyLength, MsgType, then the other header fields in ascending tag order,
// then the body in ascending tag order (15_HeaderAndBodyFieldsOrderedDifferently
// sends a body out of order and expects it back sorted).
//
// Each scenario gets its own acceptor, because each assumes a session never
// used. Scenarios run Parallel at a time, the ones that wait on the
// acceptor's timers first.
//
// # How a scenario is played
//
//   - iCONNECT, i2,CONNECT: dial the acceptor (connection 1 when unnumbered).
//     iDISCONNECT: close from our side.
//   - I lines: <TIME> becomes the current UTC time with milliseconds,
//     <TIME+N> and <TIME-N> N seconds later or earlier. BodyLength(9) is
//     added after BeginString and CheckSum(10) at the end, except that a 9
//     field anywhere or a 10 field last is the scenario's own deliberately
//     wrong value and is sent as written (1d_InvalidLogonLengthInvalid,
//     2d_GarbledMessage, 2m_BodyLengthValueNotCorrect, 3b_InvalidChecksum); a
//     line that does not start with 8= (2t_FirstThreeFieldsOutOfOrder) goes
//     out byte for byte. Consecutive I lines may share a TCP segment; 2m
//     relies on that.
//   - E lines: read the next whole message (8, 9, body of that length, 10),
//     check that its BodyLength and CheckSum are right for its bytes, then
//     compare every other field with the line, in order, tag and value;
//     missing or extra fields fail. The line's own 9 and 10 are ignored.
//     Expected timestamps written as zeros or as <TIME>, and any timestamp in
//     OrigTime(42), SendingTime(52), TransactTime(60) or OrigSendingTime(122),
//     match any well-formed UTC timestamp, as in the suite's own runner
//     (14e_IncorrectEnumValue expects 52=20020619-16:14:10).
//   - eDISCONNECT: the acceptor must close the connection (EOF or reset)
//     without sending anything more.
//
// Each wait for a message or a close lasts Options.ExpectTimeout (5 s). On a
// connection whose Logon asked for a HeartBtInt under 30 s the wait is at
// least 2×HeartBtInt+1 s, long enough for a heartbeat or test request that
// the acceptor sends unprompted, and for the disconnect that follows an
// unanswered test request. Only 4a_NoDataSentDuringHeartBtInt and
// 6_SendTestRequest (HeartBtInt 6) wait on timers; the thirteen scenarios
// that log on with HeartBtInt 2 finish long before it matters.
//
// # Results against quickfixgo v0.9.10 (the baseline)
//
// TestQuickfixgoBaseline runs both sets against a bare quickfixgo acceptor
// (memory store, quickfixgo's own spec/FIX42.xml and spec/FIX44.xml data
// dictionaries from the module cache, the echo application above):
//
//	FIX.4.2  57 passed, 1 failed (58 scenarios)
//	FIX.4.4  58 passed, 1 failed (59 scenarios)
//
// The one failure in each, 3b_InvalidChecksum, is a quickfixgo bug:
// v0.9.10 never checks an inbound CheckSum(10), so a message with a wrong
// checksum is processed instead of ignored, the correct copy that follows is
// "MsgSeqNum too low", and the session logs out.
//
// Without a data dictionary quickfixgo passes 45 and 46: it no longer
// rejects unknown tags, missing required fields, tags not defined for the
// message type, bad enum values, bad formats, fields out of order, repeated
// tags, wrong group counts or unknown MsgTypes (14a–14i, 2q,
// RejectResentMessage, ReverseRoute, ReverseRouteWithEmptyRoutingTags). A
// session layer of ours needs the dictionary's knowledge to pass those.
//
// The package's tests take about 37 s (race detector on, 2 cores), both sets
// side by side, 8 scenarios at a time each. 6_SendTestRequest alone takes
// 34 s of HeartBtInt-6 timers and 4a_NoDataSentDuringHeartBtInt 13 s; every
// other scenario takes about 1 s, almost all of it quickfixgo's session
// waiting for the next whole second before it starts.
package fixaccept
