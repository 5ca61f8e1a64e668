package tcp

import (
	"testing"
	"time"
)

// establishedRTT is established() with a SACK-capable peer 10 ms away.
func (h *harness) establishedRTT() {
	h.t.Helper()
	h.dial()
	h.out("<SEQ=100><CTL=SYN>")
	h.advance(10 * time.Millisecond)
	h.in("<SEQ=300><ACK=101><CTL=SYN,ACK><WND=65535><MSS=1460><SACKOK>")
	h.out("ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK>")
}

// A lost tail segment is resent by the tail loss probe instead of an RTO:
// with one segment outstanding the probe timeout, 2·SRTT + 200 ms, is
// capped at the RTO (210 ms after the last ACK), and the probe replaces the
// timeout (no backoff, no cwnd collapse). Its ACK counts it as a repaired
// loss.
func TestTailLossProbe(t *testing.T) {
	h := newHarness(t, testConfig())
	h.establishedRTT()
	h.write(3 * 1460)
	h.out("@10ms <SEQ=101><LEN=1460>")
	h.out("@10ms <SEQ=1561><LEN=1460>")
	h.out("@10ms <SEQ=3021><LEN=1460>")
	h.advance(10 * time.Millisecond)
	h.in("<SEQ=301><ACK=3021><CTL=ACK>") // the third segment was lost
	h.advance(300 * time.Millisecond)
	h.out("@230ms <SEQ=3021><CTL=PSH,ACK><LEN=1460>")
	h.none()
	h.in("<SEQ=301><ACK=4481><CTL=ACK>")
	if h.c.cnt.TCPLossProbes != 1 || h.c.cnt.TCPLossProbeRecovery != 1 || h.c.cnt.TCPTimeouts != 0 {
		t.Fatalf("counters %+v", *h.c.cnt)
	}
}

// A loss in the middle of a short flight: the probe's SACK starts recovery
// at once (early retransmit), well before the RTO.
func TestTLPThenEarlyRetransmit(t *testing.T) {
	h := newHarness(t, testConfig())
	h.establishedRTT()
	h.write(3 * 1460)
	for i := 0; i < 3; i++ {
		h.out("<LEN=1460>")
	}
	h.advance(10 * time.Millisecond)
	h.in("<SEQ=301><ACK=1561><CTL=ACK>") // segments 2 and 3 are lost
	h.advance(22 * time.Millisecond)
	h.out("@42ms <SEQ=3021><CTL=PSH,ACK><LEN=1460>")
	h.advance(10 * time.Millisecond)
	h.in("<SEQ=301><ACK=1561><CTL=ACK><SACK=3021-4481>")
	h.out("@52ms <SEQ=1561><LEN=1460>")
	h.in("<SEQ=301><ACK=4481><CTL=ACK>")
	if in := h.c.Info(); in.InRecovery || in.InFlight != 0 || h.c.cnt.TCPTimeouts != 0 {
		t.Fatalf("info %+v", in)
	}
}
