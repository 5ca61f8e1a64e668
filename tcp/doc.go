// Package tcp is ustack's sans-I/O TCP engine: the connection state machine
// of RFC 9293 with the extensions Linux speaks on the wire (RFC 7323 window
// scaling, timestamps and PAWS; RFC 2018 SACK; RFC 5961 blind-attack
// defences; RFC 6298 retransmission timing; RFC 5681/6582 congestion control
// and NewReno recovery; delayed and quick ACKs; Nagle; persist and
// keepalive probing; RFC 5482 user timeout; SACK-based recovery paced by
// PRR, tail loss probes, D-SACK undo), a Listener with SYN and accept
// queues and SYN cookies, and Linux-named counters.
//
// The engine never starts a goroutine, takes a lock or reads a clock. Every
// entry point takes now, the caller's monotonic time, and emits segments
// through an Output the caller implements; Deadline tells the caller when to
// call OnTimer next. A Conn is owned by one goroutine (a shard) at a time.
//
// Receive path: Input takes ownership of the *link.Buf carrying the segment.
// In-order payload stays in that buffer on the receive queue (zero copy) until
// Read copies it out, after which the buffer is freed. Send path: Write copies
// into a bounded send ring; segments are emitted as header, options and up to
// two payload slices that the Output copies into a transmit frame.
//
// Segmentation offload: with Config.GSOMaxSize set and an Output that
// implements GSOOutput, the contiguous full-sized segments one send pass
// decides leave as one super-segment for the link to cut (TSO/GSO); the
// pieces are exactly the segments sent without offload (gso.go). On
// receive, InputRun and EndRun let the glue feed a run of in-order
// segments (GRO) and answer it with one ACK.
//
// Defaults follow Linux (see Linux and LINUX-WIRE.md); every one of them is a
// Config field.
package tcp

// # Driving the engine (what the glue does)
//
//   - Receive: parse the TCP header and options into a Segment (Payload
//     aliasing the frame's *link.Buf), look the 4-tuple up; a Conn gets
//     Conn.Input; otherwise a Listener on the local address gets
//     Listener.Input (which returns the new Conn when a handshake
//     completes, to be entered in the table); otherwise Responder.Respond
//     answers with a RST (RFC 9293 §3.10.7.1). A SYN for a TIME-WAIT Conn
//     goes to Conn.AcceptSYNInTimeWait first and, if accepted, to
//     Listener.InputISS.
//   - TIME-WAIT: a Conn in TIME-WAIT that nothing but the glue can reach
//     any more can move into a TimeWaitTable (Add), a compact record
//     that answers segments exactly as the Conn would; the Conn is then
//     CLOSED and goes back to the cache (Release). Look the tuple up in
//     the table when the 4-tuple table misses; a SYN goes to
//     TimeWaitTable.AcceptSYN first, anything else to
//     TimeWaitTable.Input; call Expire at the table's Deadline.
//   - Send: Output.Send gets the tuple, header, options and payload; the
//     glue copies them into a transmit frame and computes the checksum.
//   - Time: after every call, Deadline (Conn and Listener) says when to
//     call OnTimer next; re-arm the shard's timer wheel from it.
//   - Application: Write, Read (or Peek/Consume), CloseWrite, Close,
//     Abort; TakeEvents returns the pending EventReadable/EventWritable/
//     EventEstablished/EventClosed/EventError bits once per burst.
//   - Forget a Conn when State() is Closed, after the application's Close
//     (or Abort), which releases any receive buffers still queued.
//   - Active open: Dial with an ISS from Secrets.ISN.
//
// # Not implemented
//
// RACK's time-based loss detection (losses are found by SACK/dupack
// thresholds with early retransmit, tail loss probes, lost-retransmission
// detection and the RTO; spurious ones are undone by D-SACK), F-RTO, ECN,
// TCP Fast Open, MD5 signatures, urgent data (URG is ignored), path MTU
// discovery, slow start after idle, receive-buffer autotuning, pacing,
// Linux's TSO autosizing and deferral (a super-segment is as large as the
// windows and GSOMaxSize allow; the cut segments are the same either way),
// and Linux's truesize-based receive memory
// accounting (windows are payload bytes against half the buffer, Linux's
// default scaling ratio; small in-order segments are coalesced into the
// tail frame).
//
// # Checked against Linux
//
// Besides the RFC-trace unit tests, kernel_interop_test.go (root, network
// namespaces) reads the kernel's own SYN, SYN,ACK and third segment off a
// TAP device and requires the engine's to match them byte for byte
// (timestamps aside), and moves data both ways with the kernel's TCP.
