package tcp

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

// RFC 5961 §3.2: a RST exactly at RCV.NXT resets; one elsewhere in the
// window draws a challenge ACK; one outside the window is dropped.
func TestRSTChallengeACK(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.in("ESTABLISHED <-- <SEQ=1000><CTL=RST>")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	h.in("ESTABLISHED <-- <SEQ=200000><CTL=RST>")
	h.none()
	h.in("CLOSED <-- <SEQ=301><CTL=RST>")
	h.none()
	if !errors.Is(h.c.Err(), ErrConnReset) || h.c.cnt.EstabResets != 1 || h.c.cnt.CurrEstab != 0 {
		t.Fatalf("err %v counters %+v", h.c.Err(), *h.c.cnt)
	}
	if h.c.TakeEvents()&EventError == 0 {
		t.Fatal("no error event")
	}
}

// RFC 5961 §4.2: any SYN in a synchronized state draws a challenge ACK
// and changes nothing.
func TestSYNChallengeACK(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.in("ESTABLISHED <-- <SEQ=301><CTL=SYN>")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	h.in("ESTABLISHED <-- <SEQ=5><CTL=SYN>") // out of window too
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	if h.c.cnt.TCPSYNChallenge != 1 || h.c.cnt.TCPChallengeACK != 1 {
		t.Fatalf("counters %+v", *h.c.cnt)
	}
}

// Challenge ACKs share a per-stack budget (ChallengeACKLimit per second).
func TestChallengeACKRateLimit(t *testing.T) {
	cfg := testConfig()
	cfg.ChallengeACKLimit = 2
	h := newHarness(t, cfg)
	h.established("")
	for i := 0; i < 5; i++ {
		h.in("<SEQ=1000><CTL=RST>")
	}
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	h.none()
	h.advance(time.Second)
	h.in("<SEQ=1000><CTL=RST>")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	if h.c.cnt.TCPACKSkippedChallenge != 3 {
		t.Fatal(h.c.cnt.TCPACKSkippedChallenge)
	}
}

// RFC 5961 §5.2: an ACK of data never sent is answered and dropped; an
// ACK older than SND.UNA-MAX.SND.WND draws a challenge ACK.
func TestACKRangeCheck(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.in("<SEQ=301><ACK=5000><CTL=ACK><LEN=10>")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	if h.c.Buffered() != 0 {
		t.Fatal("data of an unacceptable ACK was queued")
	}
	h.in("<SEQ=301><ACK=4000000000><CTL=ACK>")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	if h.c.cnt.TCPChallengeACK != 1 {
		t.Fatal("no challenge ACK for an ancient ACK")
	}
}

// An unacceptable segment (RFC 9293 §3.10.7.4 table) gets an ACK; an old
// duplicate gets a D-SACK when SACK is on.
func TestUnacceptableSegment(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.in("<SEQ=100000><ACK=101><CTL=ACK><LEN=10>")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	h.none()
}

// RFC 7323 §5.3: a segment with a TSval older than TS.Recent is dropped
// and acknowledged (PAWSEstab); after 24 days of idleness TS.Recent is no
// longer trusted (§5.5).
func TestPAWS(t *testing.T) {
	h := newHarness(t, Linux())
	h.dial()
	syn := h.out("<SEQ=100><CTL=SYN>")
	h.in("<SEQ=300><ACK=101><CTL=SYN,ACK><MSS=1460><TS=1000," + itoa(syn.opts.TSVal) + ">")
	h.out("<SEQ=101><ACK=301><CTL=ACK><TS=" + itoa(syn.opts.TSVal) + ",1000>")
	h.in("<SEQ=301><ACK=101><CTL=ACK><LEN=10><TS=1001,0>")
	h.out("<SEQ=101><ACK=311><CTL=ACK>")
	h.in("<SEQ=311><ACK=101><CTL=ACK><LEN=10><TS=900,0>")
	a := h.out("<SEQ=101><ACK=311><CTL=ACK>")
	if a.opts.TSEcr != 1001 || h.c.Buffered() != 10 || h.c.cnt.PAWSEstab != 1 {
		t.Fatalf("PAWS: ecr %d buffered %d", a.opts.TSEcr, h.c.Buffered())
	}
	h.advance(25 * 24 * time.Hour)
	h.in("<SEQ=311><ACK=101><CTL=ACK><LEN=10><TS=900,0>")
	h.out("<SEQ=101><ACK=321><CTL=ACK>")
}

// SYN cookies: with the SYN queue (bounded by the listen backlog) full, a
// SYN gets a stateless cookie SYN,ACK; the ACK echoing it completes the
// connection with the MSS from the cookie and the window scale and
// SACK-permitted from the timestamp.
func TestSynCookies(t *testing.T) {
	cfg := Linux()
	cfg.Backlog = 1 // the SYN queue follows the backlog, as in Linux
	h := newHarness(t, cfg)
	h.listen()
	h.in("<SEQ=100><CTL=SYN><MSS=1460><SACKOK><TS=500,0><WS=7>")
	h.out("<SEQ=300><ACK=101><CTL=SYN,ACK>")
	// A second client: the SYN queue is full.
	h.tup.Remote = addrA2
	h.in("<SEQ=7000><CTL=SYN><MSS=1400><SACKOK><TS=900,0><WS=6>")
	sa := h.out("<SEQ=*><ACK=7001><CTL=SYN,ACK><MSS=1460><SACKOK><WS=8>")
	if h.l.SynQueueLen() != 1 || h.l.Counters().SyncookiesSent != 1 {
		t.Fatal("cookie not sent statelessly")
	}
	h.advance(3 * time.Millisecond)
	// A forged cookie is refused with a RST.
	h.in("<SEQ=7001><ACK=" + itoa(sa.hdr.Seq+2) + "><CTL=ACK><TS=903," + itoa(sa.opts.TSVal) + ">")
	h.out("<CTL=RST>")
	if h.c != nil || h.l.Counters().SyncookiesFailed != 1 {
		t.Fatal("forged cookie accepted")
	}
	h.in("<SEQ=7001><ACK=" + itoa(sa.hdr.Seq+1) + "><CTL=ACK><WND=100><TS=903," + itoa(sa.opts.TSVal) + "><LEN=20>")
	if h.c == nil || h.c.State() != Established {
		t.Fatal("cookie ACK did not establish")
	}
	in := h.c.Info()
	if in.PeerMSS != 1300 || in.SndMSS != 1288 || in.SndWscale != 6 || in.RcvWscale != 8 || !in.SACK || !in.Timestamps || in.SndWnd != 100<<6 {
		t.Fatalf("cookie connection %+v", in)
	}
	if h.c.Buffered() != 20 || h.l.Accept() != h.c || h.l.Counters().SyncookiesRecv != 1 {
		t.Fatal("data or accept queue")
	}
	h.readAll(7001, 20)
}

// The accept queue is bounded by Backlog: SYNs beyond it are dropped
// (ListenOverflows), and a completing ACK waits (the half-open stays).
func TestListenBacklogOverflow(t *testing.T) {
	cfg := testConfig()
	cfg.Backlog = 1
	h := newHarness(t, cfg)
	h.listen()
	h.in("<SEQ=100><CTL=SYN>")
	h.out("<SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.in("<SEQ=101><ACK=301><CTL=ACK>")
	if h.c == nil || h.l.AcceptQueueLen() != 1 {
		t.Fatal("first connection")
	}
	h.c = nil
	h.tup.Remote = addrA2
	h.in("<SEQ=100><CTL=SYN>")
	h.none()
	if h.l.Counters().ListenOverflows != 1 {
		t.Fatal("overflow not counted")
	}
	h.l.Accept()
	h.in("<SEQ=100><CTL=SYN>")
	h.out("<SEQ=300><ACK=101><CTL=SYN,ACK>")
	// SYN,ACK retransmission for the half-open: 1 s, then 2 s later.
	h.advance(3 * time.Second)
	h.out("@1s <SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.out("@3s <SEQ=300><ACK=101><CTL=SYN,ACK>")
}

// Empty out-of-window segments are answered at most once per 500 ms
// (Linux tcp_invalid_ratelimit), so two confused endpoints cannot trade
// ACKs forever; data segments are always answered.
func TestOutOfWindowACKRateLimit(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.in("<SEQ=200000><ACK=101><CTL=ACK>")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	h.in("<SEQ=200000><ACK=101><CTL=ACK>")
	h.none()
	h.in("<SEQ=200000><ACK=101><CTL=ACK><LEN=10>")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	h.advance(500 * time.Millisecond)
	h.in("<SEQ=200000><ACK=101><CTL=ACK>")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	if h.c.cnt.TCPACKSkippedSeq != 1 {
		t.Fatal(h.c.cnt.TCPACKSkippedSeq)
	}
}

// SYN cookies over IPv6: the MSS comes from the IPv6 table and the
// connection completes.
func TestSynCookiesIPv6(t *testing.T) {
	cfg := Linux()
	cfg.Backlog = 1
	h := newHarness(t, cfg)
	srv := netip.MustParseAddrPort("[2001:db8::2]:80")
	h.tup = Tuple{Local: srv, Remote: netip.MustParseAddrPort("[2001:db8::1]:40000")}
	l, err := NewListener(cfg, srv, NewSecrets([16]byte{4}))
	if err != nil {
		t.Fatal(err)
	}
	h.l = l
	h.in("<SEQ=100><CTL=SYN><MSS=1440><SACKOK><TS=500,0><WS=7>")
	h.out("<CTL=SYN,ACK><MSS=1440>")
	h.tup.Remote = netip.MustParseAddrPort("[2001:db8::3]:40001")
	h.in("<SEQ=7000><CTL=SYN><MSS=1440><SACKOK><TS=900,0><WS=7>")
	sa := h.out("<ACK=7001><CTL=SYN,ACK><MSS=1440><SACKOK><WS=8>")
	h.in("<SEQ=7001><ACK=" + itoa(sa.hdr.Seq+1) + "><CTL=ACK><TS=901," + itoa(sa.opts.TSVal) + ">")
	if h.c == nil || h.c.State() != Established {
		t.Fatal("IPv6 cookie ACK did not establish")
	}
	if in := h.c.Info(); in.PeerMSS != 1440 || in.SndMSS != 1428 || in.SndWscale != 7 || !in.SACK {
		t.Fatalf("cookie connection %+v", in)
	}
}
