package tcp

import (
	"errors"
	"testing"
	"time"
)

// Nagle (RFC 896 with Minshall's refinement, as Linux): a small segment
// goes at once when no small segment is unacknowledged; further small data
// waits for the ACK; full segments always go. PSH marks each write's end.
func TestNagle(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.write(100)
	h.out("<SEQ=101><ACK=301><CTL=PSH,ACK><LEN=100>")
	h.write(100)
	h.none()
	h.write(2000)
	h.out("<SEQ=201><ACK=301><CTL=ACK><LEN=1460>")
	h.none()
	h.in("<SEQ=301><ACK=201><CTL=ACK>")
	h.out("<SEQ=1661><ACK=301><CTL=PSH,ACK><LEN=640>")
	h.none()
}

// With NoDelay every write goes out at once.
func TestNoDelay(t *testing.T) {
	cfg := testConfig()
	cfg.NoDelay = true
	h := newHarness(t, cfg)
	h.established("")
	h.write(100)
	h.out("<SEQ=101><CTL=PSH,ACK><LEN=100>")
	h.write(100)
	h.out("<SEQ=201><CTL=PSH,ACK><LEN=100>")
	// Toggling Nagle back on holds the next small write.
	h.c.SetNoDelay(h.now, false, h.rec)
	h.write(10)
	h.none()
	h.c.SetNoDelay(h.now, true, h.rec)
	h.out("<SEQ=301><CTL=PSH,ACK><LEN=10>")
}

// Cork holds partial segments until uncorked (or 200 ms pass); full
// segments still go.
func TestCork(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.c.SetCork(h.now, true, h.rec)
	h.write(1000)
	h.none()
	h.write(1000)
	h.out("<SEQ=101><CTL=ACK><LEN=1460>")
	h.none()
	h.c.SetCork(h.now, false, h.rec)
	h.out("<SEQ=1561><CTL=PSH,ACK><LEN=540>")
	h.c.SetCork(h.now, true, h.rec)
	h.in("<SEQ=301><ACK=2101><CTL=ACK>")
	h.write(100)
	h.advance(300 * time.Millisecond)
	h.out("@200ms <SEQ=2101><CTL=PSH,ACK><LEN=100>")
	h.none()
}

// Zero window: the persist timer sends Linux's probe (SEQ=SND.UNA-1, no
// data) at RTO, doubling; a window update resumes sending.
func TestPersistProbes(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.in("<SEQ=301><ACK=101><CTL=ACK><WND=0>")
	h.write(500)
	h.none()
	h.advance(3100 * time.Millisecond)
	for _, at := range []string{"@200ms", "@600ms", "@1.4s", "@3s"} {
		h.out(at + " <SEQ=100><ACK=301><CTL=ACK>")
		h.in("<SEQ=301><ACK=101><CTL=ACK><WND=0>") // the peer answers, window still shut
	}
	h.none()
	h.in("<SEQ=301><ACK=101><CTL=ACK><WND=1000>")
	h.out("<SEQ=101><CTL=PSH,ACK><LEN=500>")
	if _, ok := h.c.Deadline(); !ok || h.c.isArmed(timerPersist) {
		t.Fatal("persist timer still armed or RTO not armed")
	}
	if h.c.cnt.TCPWinProbe != 4 {
		t.Fatal(h.c.cnt.TCPWinProbe)
	}
}

// RFC 6298: the RTO doubles on each expiry (5.5), only the first
// unacknowledged segment is resent (5.4), and (Karn) the ACK of a
// retransmitted segment yields no sample, so the backed-off RTO stays
// until a fresh segment is timed.
func TestRTOBackoffAndKarn(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.write(1000)
	h.out("@0s <SEQ=101><CTL=PSH,ACK><LEN=1000>")
	h.advance(1500 * time.Millisecond)
	h.out("@200ms <SEQ=101><CTL=PSH,ACK><LEN=1000>")
	h.out("@600ms <SEQ=101><CTL=PSH,ACK><LEN=1000>")
	h.out("@1.4s <SEQ=101><CTL=PSH,ACK><LEN=1000>")
	h.none()
	h.in("<SEQ=301><ACK=1101><CTL=ACK>")
	if rto := h.c.Info().RTO; !near(rto, 1600*time.Millisecond) {
		t.Fatalf("RTO after ACK of a retransmission = %v, want the backed-off 1.6s", rto)
	}
	h.write(100)
	h.out("@1.5s <SEQ=1101><CTL=PSH,ACK><LEN=100>")
	h.advance(50 * time.Millisecond)
	h.in("<SEQ=301><ACK=1201><CTL=ACK>")
	in := h.c.Info()
	if in.Backoff != 0 || in.RTT >= 50*time.Millisecond || in.RTO != 200*time.Millisecond+in.RTT {
		t.Fatalf("after a clean sample: %+v", in)
	}
	if h.c.cnt.TCPTimeouts != 3 || h.c.cnt.RetransSegs != 3 {
		t.Fatalf("counters %+v", *h.c.cnt)
	}
}

// tcp_retries2 = 15: the connection gives up 924.6 s after the first
// transmission, after 15 retransmissions, with ETIMEDOUT and no RST.
func TestRetries2GiveUp(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.write(10)
	h.out("<SEQ=101><CTL=PSH,ACK><LEN=10>")
	h.advance(924599 * time.Millisecond)
	if n := len(h.rec.segs); n != 15 || h.c.State() != Established {
		t.Fatalf("%d retransmissions, state %v", n, h.c.State())
	}
	if last := h.rec.segs[14].at; !near(last, 804600*time.Millisecond) {
		t.Fatalf("last retransmission at %v", last)
	}
	h.rec.segs = nil
	h.advance(2 * time.Millisecond)
	h.none()
	if h.c.State() != Closed || !errors.Is(h.c.Err(), ErrTimeout) || h.c.cnt.TCPAbortOnTimeout != 1 {
		t.Fatalf("state %v err %v", h.c.State(), h.c.Err())
	}
}

// RFC 5482 user timeout: unacknowledged data for longer than it aborts the
// connection, the RTO timer being clamped to fire then.
func TestUserTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.UserTimeout = time.Second
	h := newHarness(t, cfg)
	h.established("")
	h.write(10)
	h.out("@0s <SEQ=101><CTL=PSH,ACK><LEN=10>")
	h.advance(2 * time.Second)
	h.out("@200ms <SEQ=101><CTL=PSH,ACK><LEN=10>")
	h.out("@600ms <SEQ=101><CTL=PSH,ACK><LEN=10>")
	h.none()
	if h.c.State() != Closed || !errors.Is(h.c.Err(), ErrTimeout) {
		t.Fatalf("state %v err %v", h.c.State(), h.c.Err())
	}
}

// Fast retransmit on the third duplicate ACK and NewReno recovery (RFC
// 6582): a partial ACK resends the next hole at once, the full ACK ends
// recovery with cwnd = ssthresh.
func TestFastRetransmitNewReno(t *testing.T) {
	cfg := testConfig()
	cfg.CongestionControl = "newreno"
	h := newHarness(t, cfg)
	h.established("")
	h.write(10 * 1460)
	for i := 0; i < 10; i++ {
		h.out("<SEQ=" + itoa(101+1460*uint32(i)) + "><LEN=1460>")
	}
	h.none()
	cwnd0 := h.c.Info().Cwnd
	// Segments 2 and 4 are lost; 1 arrives, then 3, 5..10 produce dupacks.
	h.advance(10 * time.Millisecond)
	h.in("<SEQ=301><ACK=1561><CTL=ACK>")
	h.none() // slow start grew cwnd but nothing is queued
	h.in("<SEQ=301><ACK=1561><CTL=ACK>")
	h.in("<SEQ=301><ACK=1561><CTL=ACK>")
	h.none()
	h.in("<SEQ=301><ACK=1561><CTL=ACK>")
	h.out("<SEQ=1561><CTL=ACK><LEN=1460>")
	in := h.c.Info()
	if !in.InRecovery || in.Ssthresh != 9*1460/2 || h.c.cnt.TCPFastRetrans != 1 {
		t.Fatalf("entering recovery: %+v (cwnd before %d)", in, cwnd0)
	}
	for i := 0; i < 4; i++ {
		h.in("<SEQ=301><ACK=1561><CTL=ACK>")
	}
	h.none()
	// Partial ACK: up to the second hole at 4481.
	h.in("<SEQ=301><ACK=4481><CTL=ACK>")
	h.out("<SEQ=4481><CTL=ACK><LEN=1460>")
	if !h.c.Info().InRecovery {
		t.Fatal("partial ACK ended recovery")
	}
	h.in("<SEQ=301><ACK=14701><CTL=ACK>")
	in = h.c.Info()
	if in.InRecovery || in.Cwnd != in.Ssthresh || in.InFlight != 0 {
		t.Fatalf("after full ACK: %+v", in)
	}
	if _, ok := h.c.Deadline(); ok {
		t.Fatal("timer armed with nothing in flight")
	}
}

// Keepalive: after KeepIdle of silence a probe (SEQ=SND.UNA-1) every
// KeepIntvl; an answer resets the count; KeepCnt unanswered probes reset
// the connection with ETIMEDOUT.
func TestKeepalive(t *testing.T) {
	cfg := testConfig()
	cfg.KeepAlive = true
	cfg.KeepIdle = 10 * time.Second
	cfg.KeepIntvl = time.Second
	cfg.KeepCnt = 3
	h := newHarness(t, cfg)
	h.established("")
	h.advance(10 * time.Second)
	h.out("@10s <SEQ=100><ACK=301><CTL=ACK>")
	h.in("<SEQ=301><ACK=101><CTL=ACK>")
	h.advance(10*time.Second - time.Millisecond)
	h.none() // the answer restarted the idle period
	h.advance(10 * time.Second)
	h.out("@20s <SEQ=100><ACK=301><CTL=ACK>")
	h.out("@21s <SEQ=100><ACK=301><CTL=ACK>")
	h.out("@22s <SEQ=100><ACK=301><CTL=ACK>")
	h.out("@23s <SEQ=101><ACK=301><CTL=RST,ACK>")
	h.none()
	if h.c.State() != Closed || !errors.Is(h.c.Err(), ErrTimeout) {
		t.Fatalf("state %v err %v", h.c.State(), h.c.Err())
	}
}

// Linux: close with unread data resets; data arriving after close resets;
// SO_LINGER 0 resets; a reset connection answers data with RST.
func TestCloseResets(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.in("<SEQ=301><ACK=101><CTL=ACK><LEN=100>")
	h.out("<SEQ=101><ACK=401><CTL=ACK>")
	h.c.Close(h.now, h.rec)
	h.out("CLOSED --> <SEQ=101><ACK=401><CTL=RST,ACK>")
	if h.c.cnt.TCPAbortOnClose != 1 || h.pool.InUse() != 0 {
		t.Fatal("unread data not discarded or not counted")
	}
	h.in("<SEQ=401><ACK=101><CTL=ACK><LEN=10>")
	h.out("<SEQ=101><CTL=RST>")

	h = newHarness(t, testConfig())
	h.established("")
	h.c.Close(h.now, h.rec)
	h.out("FIN-WAIT-1 --> <SEQ=101><CTL=FIN,ACK>")
	h.in("FIN-WAIT-2 <-- <SEQ=301><ACK=102><CTL=ACK>")
	h.in("<SEQ=301><ACK=102><CTL=ACK><LEN=10>")
	h.out("CLOSED --> <SEQ=102><ACK=301><CTL=RST,ACK>")
	if h.c.cnt.TCPAbortOnData != 1 {
		t.Fatal("TCPAbortOnData")
	}

	cfg := testConfig()
	cfg.LingerZero = true
	h = newHarness(t, cfg)
	h.established("")
	h.c.Close(h.now, h.rec)
	h.out("CLOSED --> <SEQ=101><ACK=301><CTL=RST,ACK>")
}

// An orphaned FIN-WAIT-2 ends after FinTimeout with a RST (Linux).
func TestFinWait2Timeout(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.c.Close(h.now, h.rec)
	h.out("<SEQ=101><CTL=FIN,ACK>")
	h.in("FIN-WAIT-2 <-- <SEQ=301><ACK=102><CTL=ACK>")
	h.advance(60 * time.Second)
	h.out("@60s CLOSED --> <SEQ=102><ACK=301><CTL=RST,ACK>")
}

// Write before the handshake completes is sent once ESTABLISHED.
func TestWriteDuringHandshake(t *testing.T) {
	h := newHarness(t, testConfig())
	h.dial()
	h.out("<SEQ=100><CTL=SYN>")
	h.write(10)
	h.none()
	h.in("<SEQ=300><ACK=101><CTL=SYN,ACK><MSS=1460>")
	h.out("ESTABLISHED --> <SEQ=101><ACK=301><CTL=PSH,ACK><LEN=10>")
	h.none()
}

// SACK-based recovery (RFC 6675 with PRR, RFC 6937): two holes in one
// window are both resent within the first round trip of recovery, before
// any partial ACK; SACKed data is never resent.
func TestSACKRecovery(t *testing.T) {
	cfg := testConfig()
	cfg.CongestionControl = "newreno"
	h := newHarness(t, cfg)
	h.established("<MSS=1460><SACKOK>")
	h.write(10 * 1460)
	for i := 0; i < 10; i++ {
		h.out("<SEQ=" + itoa(101+1460*uint32(i)) + "><LEN=1460>")
	}
	// Segments 2 (1561) and 4 (4481) are lost.
	h.in("<SEQ=301><ACK=1561><CTL=ACK>")
	h.in("<SEQ=301><ACK=1561><CTL=ACK><SACK=3021-4481>")
	h.in("<SEQ=301><ACK=1561><CTL=ACK><SACK=5941-7401,3021-4481>")
	h.none()
	h.in("<SEQ=301><ACK=1561><CTL=ACK><SACK=5941-8861,3021-4481>")
	h.out("<SEQ=1561><LEN=1460>")
	if in := h.c.Info(); !in.InRecovery || in.Sacked != 3*1460 {
		t.Fatalf("recovery %+v", in)
	}
	h.in("<SEQ=301><ACK=1561><CTL=ACK><SACK=5941-10321,3021-4481>")
	h.out("<SEQ=4481><LEN=1460>")
	h.in("<SEQ=301><ACK=1561><CTL=ACK><SACK=5941-11781,3021-4481>")
	h.in("<SEQ=301><ACK=1561><CTL=ACK><SACK=5941-13241,3021-4481>")
	h.in("<SEQ=301><ACK=1561><CTL=ACK><SACK=5941-14701,3021-4481>")
	h.none()
	h.in("<SEQ=301><ACK=4481><CTL=ACK><SACK=5941-14701>")
	h.none()
	h.in("<SEQ=301><ACK=14701><CTL=ACK>")
	in := h.c.Info()
	if in.InRecovery || in.Cwnd != in.Ssthresh || in.Sacked != 0 || h.c.cnt.TCPSackRecovery != 1 || h.c.cnt.TCPFastRetrans != 2 {
		t.Fatalf("after recovery %+v %+v", in, *h.c.cnt)
	}
}

// Full data segments that also carry SACK blocks shrink so that options
// plus payload still fit the peer's MSS (the path MTU), as Linux's
// tcp_current_mss does.
func TestDataSegmentsFitWithSACKBlocks(t *testing.T) {
	h := newHarness(t, Linux())
	h.dial()
	syn := h.out("<SEQ=100><CTL=SYN>")
	h.in("<SEQ=300><ACK=101><CTL=SYN,ACK><MSS=1460><SACKOK><TS=1," + itoa(syn.opts.TSVal) + ">")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	h.in("<SEQ=1301><ACK=101><CTL=ACK><LEN=100><TS=2,0>")
	h.in("<SEQ=2301><ACK=101><CTL=ACK><LEN=100><TS=2,0>")
	h.rec.segs = nil
	h.write(5000)
	if len(h.rec.segs) == 0 {
		t.Fatal("nothing sent")
	}
	for _, s := range h.rec.segs {
		if n := s.opts.EncodedLen() + len(s.payload); n > 1460 {
			t.Fatalf("segment %s: %d bytes of options and payload exceed the MSS", s.format(), n)
		}
		if s.opts.NumSACK != 2 {
			t.Fatalf("segment %s does not report the two out-of-order ranges", s.format())
		}
	}
	if got := len(h.rec.segs[0].payload); got != 1448-4-16 {
		t.Fatalf("first segment carries %d bytes", got)
	}
}

// After an RTO pulls the resend point back, ACKs still carry the highest
// sequence number sent, which the peer (having received it) accepts.
func TestAckSequenceAfterRTO(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.write(3 * 1460)
	for i := 0; i < 3; i++ {
		h.out("<LEN=1460>")
	}
	h.advance(250 * time.Millisecond)
	h.out("@200ms <SEQ=101><LEN=1460>") // cwnd 1: only the first again
	h.none()
	h.in("<SEQ=301><ACK=101><CTL=ACK><LEN=10>")
	h.out("<SEQ=4481><ACK=311><CTL=ACK>")
}

// Reordering, not loss: segment 2 arrives late, after three SACKs set off
// a fast retransmit. The D-SACK for the retransmitted copy shows it was
// spurious: the window reduction is undone (RFC 3708, Linux DSACK undo)
// and the duplicate-ACK threshold rises to the reordering seen.
func TestDSACKUndoAndReordering(t *testing.T) {
	cfg := testConfig()
	cfg.CongestionControl = "newreno"
	h := newHarness(t, cfg)
	h.established("<MSS=1460><SACKOK>")
	h.write(10 * 1460)
	for i := 0; i < 10; i++ {
		h.out("<LEN=1460>")
	}
	h.in("<SEQ=301><ACK=1561><CTL=ACK>")
	before := h.c.Info().Cwnd
	h.in("<SEQ=301><ACK=1561><CTL=ACK><SACK=3021-4481>")
	h.in("<SEQ=301><ACK=1561><CTL=ACK><SACK=3021-5941>")
	h.in("<SEQ=301><ACK=1561><CTL=ACK><SACK=3021-7401>")
	h.out("<SEQ=1561><LEN=1460>")
	if h.c.Info().Cwnd >= before {
		t.Fatal("no reduction on fast retransmit")
	}
	// The late original fills the hole; then the copy is reported.
	h.in("<SEQ=301><ACK=7401><CTL=ACK>")
	h.in("<SEQ=301><ACK=7401><CTL=ACK><SACK=1561-3021>")
	in := h.c.Info()
	if in.Cwnd != before || in.InRecovery || h.c.cnt.TCPDSACKUndo != 1 || in.Reordering != 4 {
		t.Fatalf("after D-SACK: cwnd %d (before %d), reordering %d, %+v", in.Cwnd, before, in.Reordering, *h.c.cnt)
	}
}

// A retransmission lost again is found when data sent after it is SACKed,
// and resent at once, without waiting for the RTO.
func TestLostRetransmitResent(t *testing.T) {
	cfg := testConfig()
	cfg.CongestionControl = "newreno"
	h := newHarness(t, cfg)
	h.established("<MSS=1460><SACKOK>")
	h.write(30 * 1460)
	count1561 := func() int {
		n := 0
		for _, s := range h.rec.segs {
			if s.hdr.Seq == 1561 && len(s.payload) > 0 {
				n++
			}
		}
		return n
	}
	// Segment 2 (1561) is lost; every later segment arrives and is SACKed.
	h.in("<SEQ=301><ACK=1561><CTL=ACK>")
	high := uint32(3021)
	for i := 0; i < 20 && count1561() < 3; i++ {
		high += 1460
		h.in("<SEQ=301><ACK=1561><CTL=ACK><SACK=3021-" + itoa(high) + ">")
	}
	if n := count1561(); n != 3 {
		t.Fatalf("1561 sent %d times, want the original, a fast retransmission and one more", n)
	}
	if h.c.cnt.TCPLostRetransmit != 1 || h.c.cnt.TCPTimeouts != 0 {
		t.Fatalf("counters %+v", *h.c.cnt)
	}
}

// After Close, an unanswered connection gives up after OrphanRetries (8:
// 102.2 s) rather than Retries2.
func TestOrphanRetries(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.write(10)
	h.c.Close(h.now, h.rec)
	h.advance(102199 * time.Millisecond)
	if h.c.State() != FinWait1 {
		t.Fatalf("gave up early: %v", h.c.State())
	}
	h.advance(2 * time.Millisecond)
	if h.c.State() != Closed || !errors.Is(h.c.Err(), ErrTimeout) {
		t.Fatalf("state %v err %v", h.c.State(), h.c.Err())
	}
}

// SO_LINGER with a timeout: Close sends FIN; if data and FIN are still
// unacknowledged when it expires, the connection is reset.
func TestLingerTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.Linger = time.Second
	h := newHarness(t, cfg)
	h.established("")
	h.in("<SEQ=301><ACK=101><CTL=ACK><WND=0>") // the peer stops reading
	h.write(100)
	h.c.Close(h.now, h.rec)
	h.advance(1100 * time.Millisecond)
	h.out("@200ms <SEQ=100><CTL=ACK>") // zero-window probes
	h.out("@600ms <SEQ=100><CTL=ACK>")
	h.out("@1s <SEQ=101><CTL=RST,ACK>")
	h.none()
	if h.c.State() != Closed || h.c.cnt.TCPAbortOnLinger != 1 {
		t.Fatalf("state %v", h.c.State())
	}
}

// An orphaned connection facing a window that never opens gives up after
// OrphanRetries probes even though the peer answers each one.
func TestOrphanZeroWindowGivesUp(t *testing.T) {
	cfg := testConfig()
	cfg.OrphanRetries = 3
	h := newHarness(t, cfg)
	h.established("")
	h.in("<SEQ=301><ACK=101><CTL=ACK><WND=0>")
	h.write(100)
	h.c.Close(h.now, h.rec)
	for i := 0; i < 10 && h.c.State() != Closed; i++ {
		h.advance(10 * time.Second)
		h.in("<SEQ=301><ACK=101><CTL=ACK><WND=0>")
	}
	if h.c.State() != Closed || h.c.cnt.TCPWinProbe != 3 {
		t.Fatalf("state %v after %d probes", h.c.State(), h.c.cnt.TCPWinProbe)
	}
}

// PSH marks the end of each write and, inside a large write, appears at
// least every half of the peer's largest window (Linux forced push).
func TestForcedPush(t *testing.T) {
	cfg := testConfig()
	cfg.InitCwnd = 100
	h := newHarness(t, cfg)
	h.established("") // the peer's window is 65535
	h.write(60 * 1460)
	var psh []int
	for i, s := range h.rec.segs {
		if s.hdr.Flags&flagPSH != 0 {
			psh = append(psh, i)
		}
	}
	// 44 segments fit the window; the 23rd is the first to pass half of
	// it (23*1460 > 65535/2) and is pushed. The write's end is not sent.
	if len(h.rec.segs) != 44 || len(psh) != 1 || psh[0] != 22 {
		t.Fatalf("%d segments, PSH on %v", len(h.rec.segs), psh)
	}
}
