package ustack_test

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/wire"
)

// rawPeer is a TCP peer written by hand: it sends the segments a test
// composes to a Manual stack over link/mem (as 10.0.0.2) and collects
// what the stack sends back, answering ARP on the way.
type rawPeer struct {
	t    *testing.T
	s    *ustack.Stack
	l    *mem.Link
	now  time.Duration
	port uint16 // the peer's port; the stack's is 80
	got  []rawSeg
}

// rawSeg is a segment the stack sent.
type rawSeg struct {
	seq, ack uint32
	flags    wire.TCPFlags
	opts     wire.TCPOptions
	n        int // payload bytes
}

// newRawPeer starts a Manual stack at 10.0.0.1 with an event listener on
// port 80 that answers one byte and closes (cpsEchoServer): the stack
// closes first, so TIME-WAIT is its own.
func newRawPeer(t *testing.T) *rawPeer {
	t.Helper()
	la, lb := mem.Pair(mem.WithPool(link.PoolConfig{Count: 256}))
	p := &rawPeer{t: t, l: lb, port: 40000}
	s, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24"), Manual: true,
		Clock: clockFunc(func() time.Duration { return p.now }), Rand: rand.NewChaCha8([32]byte{7})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p.s = s
	if _, err := s.ListenEvents(80, cpsEchoServer{}); err != nil {
		t.Fatal(err)
	}
	return p
}

// send delivers one segment from the peer and steps the stack.
func (p *rawPeer) send(seq, ack uint32, flags wire.TCPFlags, opts *wire.TCPOptions, payload []byte) {
	p.t.Helper()
	b := p.l.Pool().Get()
	f := b.Extend(wire.EthernetHeaderLen + wire.IPv4MinHeaderLen + 60 + len(payload))
	wire.PutEthernet(f, mem.DefaultMACA, mem.DefaultMACB, wire.EtherTypeIPv4)
	seg := f[wire.EthernetHeaderLen+wire.IPv4MinHeaderLen:]
	if opts == nil {
		opts = &wire.TCPOptions{}
	}
	h := wire.TCPHeader{SrcPort: p.port, DstPort: 80, Seq: seq, Ack: ack, Flags: flags, Window: 65535}
	n, err := wire.PutTCPSegment4(seg, &h, opts, payload, nil, addrB.As4(), addrA.As4())
	if err != nil {
		p.t.Fatal(err)
	}
	wire.PutIPv4(f[wire.EthernetHeaderLen:], &wire.IPv4Header{TotalLen: uint16(wire.IPv4MinHeaderLen + n), TTL: 64, Protocol: wire.ProtoTCP, Src: addrB, Dst: addrA})
	b.SetLen(wire.EthernetHeaderLen + wire.IPv4MinHeaderLen + n)
	if p.l.Send([]*link.Buf{b}) != 1 {
		p.t.Fatal("link refused the frame")
	}
	p.step()
}

// step runs the stack at the current time and takes in what it sent.
func (p *rawPeer) step() {
	p.t.Helper()
	for range 10 {
		p.s.Step(p.now)
		if !p.recv() {
			return
		}
	}
}

// recv reads the stack's frames; it reports whether it answered an ARP
// request (the stack then has something to send).
func (p *rawPeer) recv() (answered bool) {
	var bufs [32]*link.Buf
	for {
		n := p.l.Recv(bufs[:])
		if n == 0 {
			return answered
		}
		for _, b := range bufs[:n] {
			f := b.Bytes()
			eth, err := wire.ParseEthernet(f)
			if err != nil {
				p.t.Fatal(err)
			}
			switch eth.EtherType() {
			case wire.EtherTypeARP:
				a, err := wire.ParseARP(f[wire.EthernetHeaderLen:])
				if err == nil && a.Op() == wire.ARPRequest && a.TargetIP4() == addrB.As4() {
					r := p.l.Pool().Get()
					d := r.Extend(wire.EthernetHeaderLen + 28)
					wire.PutEthernet(d, mem.DefaultMACA, mem.DefaultMACB, wire.EtherTypeARP)
					wire.PutARP(d[wire.EthernetHeaderLen:], wire.ARPReply, mem.DefaultMACB, addrB, a.SenderMAC(), addrA)
					if p.l.Send([]*link.Buf{r}) != 1 {
						r.Free()
					}
					answered = true
				}
			case wire.EtherTypeIPv4:
				ipb := f[wire.EthernetHeaderLen:]
				if ipb[9] == wire.ProtoTCP {
					th, err := wire.ParseTCP(ipb[int(ipb[0]&0xf)*4:])
					if err != nil {
						p.t.Fatal(err)
					}
					if th.DstPort() != p.port {
						break
					}
					s := rawSeg{seq: th.Seq(), ack: th.Ack(), flags: th.Flags(), n: len(th.Payload())}
					if err := wire.ParseTCPOptions(th.Options(), &s.opts); err != nil {
						p.t.Fatal(err)
					}
					p.got = append(p.got, s)
				}
			}
			b.Free()
		}
	}
}

// advance moves time forward by d, stepping the stack at every deadline
// on the way.
func (p *rawPeer) advance(d time.Duration) {
	p.t.Helper()
	end := p.now + d
	for {
		next := p.s.Step(p.now)
		p.recv()
		if next > end || next <= p.now {
			if next <= p.now {
				continue // the stack has more to do now
			}
			break
		}
		p.now = next
	}
	p.now = end
	p.step()
}

// take returns the segments the stack sent since the last take.
func (p *rawPeer) take() []rawSeg {
	g := p.got
	p.got = nil
	return g
}

// one returns the single segment the stack sent, or fails.
func (p *rawPeer) one(what string) rawSeg {
	p.t.Helper()
	g := p.take()
	if len(g) != 1 {
		p.t.Fatalf("%s: the stack sent %d segments (%+v), want 1", what, len(g), g)
	}
	return g[0]
}

// none checks that the stack sent nothing.
func (p *rawPeer) none(what string) {
	p.t.Helper()
	if g := p.take(); len(g) != 0 {
		p.t.Fatalf("%s: the stack sent %+v, want nothing", what, g)
	}
}

func (p *rawPeer) stats() ustack.TCPStats {
	p.t.Helper()
	st, err := p.s.TCPStats()
	if err != nil {
		p.t.Fatal(err)
	}
	return st
}

// twConn is what the peer knows of a connection it took to TIME-WAIT.
type twConn struct {
	ts      bool
	tsVal   uint32 // the peer's next TSval
	srvTS   uint32 // the stack's last TSval
	sndNxt  uint32 // the stack's SND.NXT (its FIN acknowledged)
	peerNxt uint32 // the peer's next sequence number (1003)
}

// opts are the peer's options for a segment: a timestamp when on.
func (c *twConn) opts() *wire.TCPOptions {
	if !c.ts {
		return nil
	}
	c.tsVal++
	return &wire.TCPOptions{HasTS: true, TSVal: c.tsVal, TSEcr: c.srvTS}
}

// toTimeWait opens a connection from the peer (ISS 1000), sends one
// byte, takes the answer and the stack's FIN, and sends its own FIN: the
// stack is in TIME-WAIT, its last ACK checked, and the connection is a
// compact record.
func (p *rawPeer) toTimeWait(ts bool) *twConn {
	p.t.Helper()
	c := &twConn{ts: ts, tsVal: 5000}
	syn := &wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasWScale: true, WScale: 7}
	if ts {
		syn.HasTS, syn.TSVal = true, c.tsVal
	}
	cached := ustack.CachedConns(p.s)
	p.send(1000, 0, wire.TCPFlagSYN, syn, nil)
	sa := p.one("SYN")
	if sa.flags != wire.TCPFlagSYN|wire.TCPFlagACK || sa.ack != 1001 || sa.opts.HasTS != ts {
		p.t.Fatalf("SYN answered with %+v", sa)
	}
	c.srvTS = sa.opts.TSVal
	p.send(1001, sa.seq+1, wire.TCPFlagACK|wire.TCPFlagPSH, c.opts(), []byte("x"))
	var fin rawSeg
	for _, s := range p.take() {
		if s.flags&wire.TCPFlagFIN != 0 {
			fin = s
		}
	}
	if fin.flags&wire.TCPFlagFIN == 0 || fin.seq+uint32(fin.n) != sa.seq+2 {
		p.t.Fatalf("no answer and FIN (SYN,ACK %+v, FIN %+v)", sa, fin)
	}
	c.srvTS = fin.opts.TSVal
	c.sndNxt = sa.seq + 3
	before := p.stats().TimeWait
	p.send(1002, c.sndNxt, wire.TCPFlagFIN|wire.TCPFlagACK, c.opts(), nil)
	c.peerNxt = 1003
	if a := p.one("FIN"); a.flags != wire.TCPFlagACK || a.seq != c.sndNxt || a.ack != c.peerNxt {
		p.t.Fatalf("FIN answered with %+v", a)
	}
	if st := p.stats(); st.TimeWait != before+1 {
		p.t.Fatalf("TIME-WAIT %d, want %d", st.TimeWait, before+1)
	}
	// The Conn went back to the cache: a compact record holds the
	// TIME-WAIT.
	if ustack.CachedConns(p.s) != cached+1 {
		p.t.Fatal("the TIME-WAIT connection kept its Conn")
	}
	return c
}

// expectACK checks that the stack answered with its TIME-WAIT ACK.
func (p *rawPeer) expectACK(what string, c *twConn) rawSeg {
	p.t.Helper()
	a := p.one(what)
	if a.flags != wire.TCPFlagACK || a.seq != c.sndNxt || a.ack != c.peerNxt || a.n != 0 || a.opts.HasTS != c.ts {
		p.t.Fatalf("%s: answered with %+v, want <SEQ=%d><ACK=%d><CTL=ACK>", what, a, c.sndNxt, c.peerNxt)
	}
	if c.ts && a.opts.TSEcr == 0 {
		p.t.Fatalf("%s: no echo of the peer's timestamp", what)
	}
	return a
}

// A connection in TIME-WAIT that nothing outside the stack can reach is
// kept as a compact record (its Conn back in the cache at once) and
// behaves on the wire as before: the peer's retransmitted FIN is
// acknowledged and restarts 2*MSL, and the entry is freed 2*MSL after
// the last FIN, counted in TW.
func TestTimeWaitCompactRetransmittedFIN(t *testing.T) {
	for _, ts := range []bool{true, false} {
		p := newRawPeer(t)
		c := p.toTimeWait(ts)
		p.advance(30 * time.Second)
		p.none("30 s of TIME-WAIT")
		p.send(1002, c.sndNxt, wire.TCPFlagFIN|wire.TCPFlagACK, c.opts(), nil)
		p.expectACK("retransmitted FIN", c)
		p.advance(31 * time.Second) // past the first 2*MSL
		if st := p.stats(); st.TimeWait != 1 || st.Conns != 1 {
			t.Fatalf("ts=%v: TIME-WAIT %d (table %d) 61 s in, after a FIN at 30 s", ts, st.TimeWait, st.Conns)
		}
		p.advance(29*time.Second - time.Millisecond)
		if st := p.stats(); st.TimeWait != 1 {
			t.Fatalf("ts=%v: TIME-WAIT ended before 2*MSL after the last FIN", ts)
		}
		p.advance(2 * time.Millisecond)
		st := p.stats()
		if st.TimeWait != 0 || st.Conns != 0 || st.Counters.TW != 1 {
			t.Fatalf("ts=%v: after 2*MSL: TIME-WAIT %d, table %d, TW %d", ts, st.TimeWait, st.Conns, st.Counters.TW)
		}
		p.none("expiry")
		// Gone: the tuple now gets a reset.
		p.send(1002, c.sndNxt, wire.TCPFlagFIN|wire.TCPFlagACK, nil, nil)
		if r := p.one("FIN after expiry"); r.flags&wire.TCPFlagRST == 0 {
			t.Fatalf("ts=%v: FIN after expiry answered with %+v", ts, r)
		}
	}
}

// Old duplicates and out-of-window segments are answered with an ACK (a
// D-SACK block reporting duplicate data); PAWS drops an old timestamp
// with an ACK; an RST out of the window changes nothing and one at
// RCV.NXT ends TIME-WAIT at once, silently.
func TestTimeWaitCompactDuplicatesAndRST(t *testing.T) {
	for _, ts := range []bool{true, false} {
		p := newRawPeer(t)
		c := p.toTimeWait(ts)
		p.advance(time.Second)
		p.send(1001, c.sndNxt, wire.TCPFlagACK|wire.TCPFlagPSH, c.opts(), []byte("x")) // the request again
		a := p.expectACK("duplicate request", c)
		if a.opts.NumSACK != 1 || a.opts.SACK[0] != (wire.SACKBlock{Left: 1001, Right: 1002}) {
			t.Fatalf("ts=%v: duplicate answered without its D-SACK block: %+v", ts, a.opts)
		}
		p.send(c.peerNxt+1<<30, c.sndNxt, wire.TCPFlagACK, c.opts(), nil)
		p.expectACK("out-of-window ACK", c)
		if ts {
			p.advance(time.Second) // past the out-of-window ACK rate limit
			p.send(c.peerNxt, c.sndNxt, wire.TCPFlagACK, &wire.TCPOptions{HasTS: true, TSVal: 10, TSEcr: c.srvTS}, nil)
			p.expectACK("old timestamp (PAWS)", c)
			if st := p.stats(); st.Counters.PAWSEstab != 1 {
				t.Fatalf("PAWSEstab = %d", st.Counters.PAWSEstab)
			}
		}
		p.send(c.peerNxt+1<<30, 0, wire.TCPFlagRST, nil, nil)
		p.none("RST out of the window")
		if st := p.stats(); st.TimeWait != 1 {
			t.Fatalf("ts=%v: an RST out of the window ended TIME-WAIT", ts)
		}
		p.send(c.peerNxt, 0, wire.TCPFlagRST, nil, nil)
		p.none("RST")
		if st := p.stats(); st.TimeWait != 0 || st.Conns != 0 {
			t.Fatalf("ts=%v: after the RST: TIME-WAIT %d, table %d", ts, st.TimeWait, st.Conns)
		}
		if n := p.l.Pool().InUse(); n != 0 {
			t.Fatalf("ts=%v: %d frame buffers held", ts, n)
		}
	}
}

// A SYN newer than the TIME-WAIT incarnation (a higher timestamp, or
// without timestamps a higher sequence number) opens a new connection on
// the tuple, with an ISS beyond the old one; an older SYN is answered
// with the TIME-WAIT ACK and changes nothing.
func TestTimeWaitCompactReuse(t *testing.T) {
	for _, ts := range []bool{true, false} {
		p := newRawPeer(t)
		c := p.toTimeWait(ts)
		p.advance(time.Second)
		syn := func(seq, tsVal uint32) {
			var o *wire.TCPOptions
			if ts {
				o = &wire.TCPOptions{HasMSS: true, MSS: 1460, HasTS: true, TSVal: tsVal}
			}
			p.send(seq, 0, wire.TCPFlagSYN, o, nil)
		}
		oldSeq, newSeq := uint32(500), uint32(500) // below RCV.NXT: only the timestamp may decide
		if !ts {
			newSeq = 70000
		}
		syn(oldSeq, 100)
		p.expectACK("old SYN", c)
		if st := p.stats(); st.TimeWait != 1 {
			t.Fatalf("ts=%v: an old SYN ended TIME-WAIT", ts)
		}
		syn(newSeq, c.tsVal+1000)
		sa := p.one("new SYN")
		if sa.flags != wire.TCPFlagSYN|wire.TCPFlagACK || sa.ack != newSeq+1 || sa.seq != c.sndNxt+65537 {
			t.Fatalf("ts=%v: new SYN answered with %+v, want SYN,ACK from ISS %d", ts, sa, c.sndNxt+65537)
		}
		var o *wire.TCPOptions
		if ts {
			o = &wire.TCPOptions{HasTS: true, TSVal: c.tsVal + 1001, TSEcr: sa.opts.TSVal}
		}
		p.send(newSeq+1, sa.seq+1, wire.TCPFlagACK, o, nil)
		p.none("handshake")
		st := p.stats()
		if st.TimeWait != 0 || st.Conns != 1 || st.Counters.TCPTimeWaitReuse != 1 || st.Counters.CurrEstab != 1 {
			t.Fatalf("ts=%v: after reuse: TIME-WAIT %d, table %d, reuse %d, established %d",
				ts, st.TimeWait, st.Conns, st.Counters.TCPTimeWaitReuse, st.Counters.CurrEstab)
		}
	}
}

// Thousands of connections closed into TIME-WAIT hold little memory each
// — the compact record, not the Conn and endpoint — and every frame
// buffer is back in its pool.
func TestTimeWaitCompactMemory(t *testing.T) {
	n := newChurnSim(t)
	for range 300 { // the caches fill
		n.one(t)
	}
	stats := func() ustack.TCPStats {
		st, err := n.b.TCPStats()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	conns := 20000
	if testing.Short() {
		conns = 5000
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	tw0 := stats().TimeWait
	for range conns {
		n.one(t)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	tw := stats().TimeWait - tw0
	if tw < conns*9/10 {
		t.Fatalf("%d of %d connections in TIME-WAIT", tw, conns)
	}
	per := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(tw)
	t.Logf("%d more in TIME-WAIT: %.0f bytes of heap each", tw, per)
	if per > 256 {
		t.Fatalf("%.0f bytes of heap per TIME-WAIT connection, want at most 256", per)
	}
	n.w.RunFor(time.Millisecond)
	if a, b := n.pa.Pool().InUse(), n.pb.Pool().InUse(); a != 0 || b != 0 {
		t.Fatalf("frame buffers not returned: %d and %d in use", a, b)
	}
}
