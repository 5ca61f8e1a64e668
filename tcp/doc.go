// Package tcp is ustack's sans-I/O TCP engine: the connection state machine
// of RFC 9293 with the extensions Linux speaks on the wire (RFC 7323 window
// scaling, timestamps and PAWS; RFC 2018 SACK; RFC 5961 blind-attack
// defences; RFC 6298 retransmission timing; RFC 5681/6582 congestion control
// and NewReno recovery; delayed and quick ACKs; Nagle; persist and
// keepalive probing; RFC 5482 user timeout), a Listener with SYN and accept
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
// Defaults follow Linux (see Linux and LINUX-WIRE.md); every one of them is a
// Config field.
package tcp
