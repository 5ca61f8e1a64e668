package tcp

import (
	"net/netip"
	"testing"
	"time"
)

// Behaviour that connection churn leans on: timestamps that keep growing
// across a host's successive connections, and holding a connection's
// output while the application answers.

// Secrets.Dial keys the timestamp offset on the address pair, as Linux
// does: successive connections to one host, from any port, carry TSvals
// that grow with the clock, so a peer holding an earlier connection on the
// same ports in TIME-WAIT accepts the new SYN (RFC 6191) rather than
// answering it with an ACK (then RST and a one-second SYN retransmission).
func TestSecretsDialTimestampsMonotonicPerHost(t *testing.T) {
	s := NewSecrets([16]byte{1, 2, 3})
	cfg := Linux()
	tsvalAt := func(now time.Duration, port uint16) uint32 {
		rec := &recorder{now: &now}
		tup := Tuple{Local: netip.AddrPortFrom(addrA.Addr(), port), Remote: addrB}
		if _, err := s.Dial(now, cfg, tup, rec); err != nil {
			t.Fatal(err)
		}
		if len(rec.segs) != 1 || !rec.segs[0].opts.HasTS {
			t.Fatal("no SYN with a timestamp")
		}
		return rec.segs[0].opts.TSVal
	}
	ts0 := tsvalAt(time.Second, 40000)
	if d := tsvalAt(time.Second+5*time.Millisecond, 40001) - ts0; d != 5 {
		t.Fatalf("another port 5 ms later: TSval moved by %d, want 5", d)
	}
	if d := tsvalAt(time.Second+70*time.Millisecond, 40000) - ts0; d != 70 {
		t.Fatalf("the same ports 70 ms later: TSval moved by %d, want 70", d)
	}
	// The ISN still follows RFC 6528 for the 4-tuple.
	tup := Tuple{Local: netip.AddrPortFrom(addrA.Addr(), 40000), Remote: addrB}
	now := 3 * time.Second
	rec := &recorder{now: &now}
	c, err := s.Dial(now, cfg, tup, rec)
	if err != nil {
		t.Fatal(err)
	}
	if c.iss != s.ISN(now, tup) {
		t.Fatalf("ISS %d, want the RFC 6528 ISN %d", c.iss, s.ISN(now, tup))
	}
}

// While held, writes and a close queue up; releasing the hold sends them
// as one write would: here the data and the FIN in one segment.
func TestSetHoldMergesWritesAndFIN(t *testing.T) {
	cfg := testConfig()
	cfg.NoDelay = true
	h := newHarness(t, cfg)
	h.established("")
	h.c.SetHold(h.now, true, h.rec)
	h.write(3)
	h.write(4)
	h.c.Close(h.now, h.rec)
	h.none()
	h.c.SetHold(h.now, false, h.rec)
	h.out("FIN-WAIT-1 --> <SEQ=101><ACK=301><CTL=FIN,PSH,ACK><LEN=7>")
	h.none()
}

// Listener.InputRun leaves what the handshake-completing segment owes
// (the ACK of the data riding on it) to the caller's EndRun, so it can go
// out with the application's answer; Input sends it at once.
func TestListenerInputRunDefersTheACK(t *testing.T) {
	h := newHarness(t, testConfig())
	h.listen()
	h.in("<SEQ=100><CTL=SYN>")
	h.out("<SEQ=300><ACK=101><CTL=SYN,ACK>")
	s, buf := h.seg("<SEQ=101><ACK=301><CTL=PSH,ACK><LEN=5>")
	c := h.l.InputRun(h.now, h.tup.Local, h.tup.Remote, s, buf, h.rec)
	if c == nil || c.State() != Established || c.Buffered() != 5 {
		t.Fatalf("handshake not completed with the data queued: %v", c)
	}
	h.none()
	h.c = c
	p := []byte("answer")
	if _, err := c.Write(h.now, p, h.rec); err != nil {
		t.Fatal(err)
	}
	h.out("<SEQ=301><ACK=106><CTL=PSH,ACK><LEN=6>")
	c.EndRun(h.now, h.rec)
	h.none() // the ACK rode on the answer
}
