package tcp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/tcp/seqnum"
)

type fixedISN seqnum.Value

func (f fixedISN) ISN(time.Duration, Tuple) seqnum.Value { return seqnum.Value(f) }

// listen makes the harness a server: the tuple is seen from B's side and
// the listener picks ISS 300.
func (h *harness) listen() {
	h.t.Helper()
	h.tup = Tuple{Local: addrB, Remote: addrA}
	l, err := NewListener(h.cfg, addrB, NewSecrets([16]byte{1, 2, 3}))
	if err != nil {
		h.t.Fatal(err)
	}
	l.SetISNSource(fixedISN(300))
	h.l = l
}

// RFC 9293 §3.5 Figure 6 (basic three-way handshake), active side, with
// the Linux profile's options: the SYN carries mss, sackOK, TS, nop,
// wscale 8 in Linux's byte layout, and the window is 65535 (what Linux
// sends with tcp_rmem[1] = 540000; TestSYNMatchesKernel checks it against
// the kernel). The first ACK offers the whole initial window: half the
// buffer rounded down to whole segments, 268640, rounded up to the scale
// unit, 1050<<8 (TestHandshakeMatchesKernel checks that too).
func TestActiveOpenLinuxOptions(t *testing.T) {
	h := newHarness(t, Linux())
	h.dial()
	syn := h.out("SYN-SENT --> <SEQ=100><CTL=SYN><WND=65535><MSS=1460><SACKOK><WS=8>")
	if !syn.opts.HasTS || syn.opts.TSEcr != 0 {
		t.Fatalf("SYN timestamps %+v", syn.opts)
	}
	var b [40]byte
	n, err := syn.opts.Encode(b[:])
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 8}
	binary.BigEndian.PutUint32(want[8:], syn.opts.TSVal)
	if !bytes.Equal(b[:n], want) {
		t.Fatalf("SYN options % x\n want % x", b[:n], want)
	}
	h.advance(10 * time.Millisecond)
	h.in("<SEQ=300><ACK=101><CTL=SYN,ACK><WND=65535><MSS=1400><SACKOK><TS=7000," + itoa(syn.opts.TSVal) + "><WS=7>")
	ack := h.out("ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK><WND=1050><TS=" + itoa(syn.opts.TSVal+10) + ",7000>")
	n, _ = ack.opts.Encode(b[:])
	if !bytes.Equal(b[:4], []byte{1, 1, 8, 10}) || n != 12 {
		t.Fatalf("ACK options % x, want nop,nop,TS", b[:n])
	}
	in := h.c.Info()
	if in.SndMSS != 1400-12 || in.SndWscale != 7 || in.RcvWscale != 8 || !in.SACK || !in.Timestamps || in.SndWnd != 65535 {
		t.Fatalf("negotiated %+v", in)
	}
	if in.RTT != 10*time.Millisecond {
		t.Fatalf("handshake RTT %v", in.RTT)
	}
	if h.c.TakeEvents()&EventEstablished == 0 {
		t.Fatal("no established event")
	}
	if c := h.c.cnt; c.ActiveOpens != 1 || c.CurrEstab != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func itoa(v uint32) string { return string(appendUint(nil, v)) }

func appendUint(b []byte, v uint32) []byte {
	if v >= 10 {
		b = appendUint(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

// Options are used only when both sides sent them (RFC 7323 §2.2, §3.2;
// RFC 2018 §2): a peer without options gets a 536-byte MSS and no
// scaling.
func TestActiveOpenNoPeerOptions(t *testing.T) {
	h := newHarness(t, Linux())
	h.dial()
	h.out("SYN-SENT --> <SEQ=100><CTL=SYN>")
	h.in("<SEQ=300><ACK=101><CTL=SYN,ACK><WND=1000>")
	ack := h.out("ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK><WND=65535>")
	if ack.opts.HasTS || ack.opts.NumSACK != 0 {
		t.Fatalf("options after no-option handshake: %+v", ack.opts)
	}
	in := h.c.Info()
	if in.SndMSS != 536 || in.WindowScaling || in.SACK || in.Timestamps || in.SndWnd != 1000 {
		t.Fatalf("info %+v", in)
	}
}

// RFC 9293 §3.5, the passive side: LISTEN → SYN-RECEIVED → ESTABLISHED,
// with the SYN,ACK echoing only the options the peer offered, in Linux's
// order.
func TestPassiveOpen(t *testing.T) {
	h := newHarness(t, Linux())
	h.listen()
	h.in("<SEQ=100><CTL=SYN><WND=65535><MSS=1460><SACKOK><TS=500,0><WS=7>")
	sa := h.out("<SEQ=300><ACK=101><CTL=SYN,ACK><WND=65535><MSS=1460><SACKOK><WS=8>")
	if !sa.opts.HasTS || sa.opts.TSEcr != 500 {
		t.Fatalf("SYN,ACK TS %+v", sa.opts)
	}
	if h.l.SynQueueLen() != 1 {
		t.Fatal("no half-open")
	}
	h.advance(5 * time.Millisecond)
	h.in("<SEQ=101><ACK=301><CTL=ACK><WND=512><TS=505," + itoa(sa.opts.TSVal) + ">")
	if h.c == nil || h.c.State() != Established {
		t.Fatal("handshake did not complete")
	}
	h.none()
	if h.l.AcceptQueueLen() != 1 || h.l.Accept() != h.c || h.l.SynQueueLen() != 0 {
		t.Fatal("accept queue")
	}
	in := h.c.Info()
	if in.SndWnd != 512<<7 || in.SndMSS != 1448 || in.RTT != 5*time.Millisecond {
		t.Fatalf("info %+v", in)
	}
	if h.l.Counters().PassiveOpens != 1 {
		t.Fatal("PassiveOpens")
	}
}

// A SYN without options gets a SYN,ACK without SACK, TS or window scale.
func TestPassiveOpenPlainSYN(t *testing.T) {
	h := newHarness(t, Linux())
	h.listen()
	h.in("<SEQ=100><CTL=SYN><WND=8192>")
	sa := h.out("<SEQ=300><ACK=101><CTL=SYN,ACK><MSS=1460>")
	if sa.opts.SACKPermitted || sa.opts.HasTS || sa.opts.HasWScale {
		t.Fatalf("options echoed that were not offered: %+v", sa.opts)
	}
}

// RFC 9293 §3.5 Figure 7: simultaneous open. Both SYNs cross; each side
// answers with SYN,ACK from SYN-RECEIVED and is ESTABLISHED on the ACK.
func TestSimultaneousOpen(t *testing.T) {
	h := newHarness(t, testConfig())
	h.dial()
	h.out("SYN-SENT --> <SEQ=100><CTL=SYN>")
	h.in("SYN-RECEIVED <-- <SEQ=300><CTL=SYN><MSS=1460>")
	h.out("SYN-RECEIVED --> <SEQ=100><ACK=301><CTL=SYN,ACK>")
	h.in("ESTABLISHED <-- <SEQ=301><ACK=101><CTL=ACK>")
	h.none()
	if h.c.cnt.RetransSegs != 0 {
		t.Fatal("SYN,ACK of a simultaneous open counted as a retransmission")
	}
}

// SYN retransmission: 1 s initial RTO, doubling, SynRetries (5) times, and
// ETIMEDOUT at 63 s.
func TestSYNRetriesThenTimeout(t *testing.T) {
	h := newHarness(t, testConfig())
	h.dial()
	h.out("@0s SYN-SENT --> <SEQ=100><CTL=SYN>")
	h.advance(62 * time.Second)
	for _, at := range []string{"@1s", "@3s", "@7s", "@15s", "@31s"} {
		h.out(at + " <SEQ=100><CTL=SYN>")
	}
	h.none()
	if h.c.State() != SynSent {
		t.Fatal("gave up early")
	}
	h.advance(time.Second)
	h.none()
	if h.c.State() != Closed || !errors.Is(h.c.Err(), ErrTimeout) {
		t.Fatalf("state %v err %v", h.c.State(), h.c.Err())
	}
	if _, ok := h.c.Deadline(); ok {
		t.Fatal("timer armed after close")
	}
	if h.c.cnt.TCPSynRetrans != 5 || h.c.cnt.AttemptFails != 1 {
		t.Fatalf("counters %+v", *h.c.cnt)
	}
}

// A RST acknowledging our SYN refuses the connection (§3.10.7.3); an
// unacceptable ACK in SYN-SENT is answered with <SEQ=SEG.ACK><CTL=RST>.
func TestSynSentRST(t *testing.T) {
	h := newHarness(t, testConfig())
	h.dial()
	h.out("<SEQ=100><CTL=SYN>")
	h.in("SYN-SENT <-- <SEQ=300><ACK=5000><CTL=ACK>")
	h.out("<SEQ=5000><CTL=RST>")
	h.in("SYN-SENT <-- <SEQ=0><ACK=5000><CTL=RST,ACK>") // unacceptable ACK: ignored
	h.none()
	h.in("CLOSED <-- <SEQ=0><ACK=101><CTL=RST,ACK>")
	h.none()
	if !errors.Is(h.c.Err(), ErrConnRefused) {
		t.Fatal(h.c.Err())
	}
}

// RFC 9293 §3.10.7.1: a segment to no connection gets a RST.
func TestRespondNoConn(t *testing.T) {
	h := newHarness(t, testConfig())
	var r Responder
	s, _ := h.seg("<SEQ=300><ACK=101><CTL=ACK><LEN=10>")
	r.Respond(h.now, h.tup, s, h.rec)
	h.out("<SEQ=101><CTL=RST>")
	s, buf := h.seg("<SEQ=300><CTL=SYN>")
	buf.Free()
	RespondNoConn(h.now, h.tup, s, h.rec)
	h.out("<SEQ=0><ACK=301><CTL=RST,ACK>")
	s, _ = h.seg("<SEQ=300><CTL=FIN><LEN=5>")
	r.Respond(h.now, h.tup, s, h.rec)
	h.out("<SEQ=0><ACK=306><CTL=RST,ACK>")
	s, _ = h.seg("<SEQ=300><CTL=RST>")
	r.Respond(h.now, h.tup, s, h.rec)
	h.none()
}

// Linux's SYN,ACK option bytes: mss, then sackOK packed with TS, nop,
// wscale; and an IPv6 path advertises MTU-60.
func TestSynAckLayoutAndIPv6MSS(t *testing.T) {
	h := newHarness(t, Linux())
	h.listen()
	h.in("<SEQ=100><CTL=SYN><MSS=1460><SACKOK><TS=500,0><WS=7>")
	sa := h.out("<SEQ=300><ACK=101><CTL=SYN,ACK><MSS=1460>")
	var b [40]byte
	n, err := sa.opts.Encode(b[:])
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0x01, 0xf4, 1, 3, 3, 8}
	binary.BigEndian.PutUint32(want[8:], sa.opts.TSVal)
	if !bytes.Equal(b[:n], want) {
		t.Fatalf("SYN,ACK options % x\n want % x", b[:n], want)
	}

	h6 := newHarness(t, Linux())
	h6.tup = Tuple{Local: netip.MustParseAddrPort("[2001:db8::1]:40000"), Remote: netip.MustParseAddrPort("[2001:db8::2]:80")}
	h6.dial()
	h6.out("<SEQ=100><CTL=SYN><MSS=1440>")
}

// A user MSS (TCP_MAXSEG) lowers the advertised MSS and caps what is sent
// even when the peer allows more.
func TestUserMSS(t *testing.T) {
	cfg := testConfig()
	cfg.MSS = 1000
	h := newHarness(t, cfg)
	h.dial()
	h.out("<SEQ=100><CTL=SYN><MSS=1000>")
	h.in("<SEQ=300><ACK=101><CTL=SYN,ACK><MSS=1460>")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	h.write(2500)
	h.out("<SEQ=101><LEN=1000>")
	h.out("<SEQ=1101><LEN=1000>")
	h.out("<SEQ=2101><LEN=500>")
	if h.c.Info().SndMSS != 1000 {
		t.Fatal(h.c.Info().SndMSS)
	}
}
