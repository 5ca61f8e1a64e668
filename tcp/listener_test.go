package tcp

import (
	"testing"
	"time"
)

// Half-open connections: a retransmitted SYN gets the SYN,ACK again; the
// SYN,ACK is retransmitted at 1, 3, 7, 15 and 31 s (SynAckRetries 5) and
// the half-open dropped at 63 s.
func TestListenerHalfOpenLifetime(t *testing.T) {
	h := newHarness(t, testConfig())
	h.listen()
	h.in("<SEQ=100><CTL=SYN>")
	h.out("@0s <SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.in("<SEQ=100><CTL=SYN>")
	h.out("@0s <SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.advance(62 * time.Second)
	for _, at := range []string{"@1s", "@3s", "@7s", "@15s", "@31s"} {
		h.out(at + " <SEQ=300><ACK=101><CTL=SYN,ACK>")
	}
	h.none()
	if h.l.SynQueueLen() != 1 {
		t.Fatal("half-open dropped early")
	}
	h.advance(time.Second)
	if h.l.SynQueueLen() != 0 {
		t.Fatal("half-open not dropped after the last retry")
	}
	h.none()
	// Its late ACK now matches nothing: RST (§3.10.7.2).
	h.in("<SEQ=101><ACK=301><CTL=ACK>")
	h.out("<SEQ=301><CTL=RST>")
	if h.c != nil {
		t.Fatal("connection from a dropped half-open")
	}
}

// RFC 9293 §3.10.7.2 in LISTEN: RST ignored, ACK reset, and a RST for a
// half-open removes it.
func TestListenerResets(t *testing.T) {
	h := newHarness(t, testConfig())
	h.listen()
	h.in("<SEQ=100><CTL=RST>")
	h.none()
	h.in("<SEQ=100><ACK=555><CTL=ACK>")
	h.out("<SEQ=555><CTL=RST>")
	h.in("<SEQ=100><CTL=SYN>")
	h.out("<SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.in("<SEQ=101><CTL=RST>")
	h.none()
	if h.l.SynQueueLen() != 0 || h.l.Counters().EmbryonicRsts != 1 {
		t.Fatal("RST did not remove the half-open")
	}
	// A closed listener resets everything.
	h.l.Close(h.now, h.rec)
	h.in("<SEQ=100><CTL=SYN>")
	h.out("<SEQ=0><ACK=101><CTL=RST,ACK>")
}

// Data on the handshake-completing ACK is delivered; events fire once and
// Peek/Consume give a zero-copy view.
func TestListenerDataOnACKAndEvents(t *testing.T) {
	h := newHarness(t, testConfig())
	h.listen()
	h.in("<SEQ=100><CTL=SYN><MSS=1460>")
	h.out("<SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.in("ESTABLISHED <-- <SEQ=101><ACK=301><CTL=ACK><LEN=50>")
	h.out("<SEQ=301><ACK=151><CTL=ACK>")
	ev := h.c.TakeEvents()
	if ev&EventEstablished == 0 || ev&EventReadable == 0 || h.c.TakeEvents() != 0 {
		t.Fatalf("events %b", ev)
	}
	if !h.c.Readable() || !h.c.Writable() {
		t.Fatal("readiness")
	}
	v := h.c.Peek()
	if len(v) != 50 || v[0] != byte(101) || v[49] != byte(150) {
		t.Fatalf("peek %d bytes", len(v))
	}
	if n := h.c.Consume(h.now, 20, h.rec); n != 20 || h.c.Buffered() != 30 {
		t.Fatal("consume")
	}
	h.readAll(121, 30)
	if h.c.Readable() || h.pool.InUse() != 0 {
		t.Fatal("still readable or buffer held")
	}
}

// A new SYN for a TIME-WAIT connection's tuple starts a new incarnation
// through the listener with the ISS the TIME-WAIT connection chose.
func TestListenerReopenFromTimeWait(t *testing.T) {
	h := newHarness(t, testConfig())
	h.listen()
	h.in("<SEQ=100><CTL=SYN>")
	h.out("<SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.in("<SEQ=101><ACK=301><CTL=ACK>")
	h.l.Accept()
	h.c.Close(h.now, h.rec)
	h.out("<SEQ=301><ACK=101><CTL=FIN,ACK>")
	h.in("<SEQ=101><ACK=302><CTL=FIN,ACK>")
	h.out("TIME-WAIT --> <SEQ=302><ACK=102><CTL=ACK>")
	s, buf := h.seg("<SEQ=90000><CTL=SYN>")
	iss, ok := h.c.AcceptSYNInTimeWait(h.now, s)
	if !ok {
		t.Fatal("SYN refused")
	}
	h.c = nil
	if c := h.l.InputISS(h.now, h.tup.Local, h.tup.Remote, s, buf, h.rec, iss); c != nil {
		t.Fatal("handshake cannot be complete yet")
	}
	h.out("<SEQ=" + itoa(uint32(iss)) + "><ACK=90001><CTL=SYN,ACK>")
}
