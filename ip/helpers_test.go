package ip

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

var (
	macA   = wire.MAC{0x02, 0, 0, 0, 0, 0xaa}
	macB   = wire.MAC{0x02, 0, 0, 0, 0, 0xbb}
	macGW  = wire.MAC{0x02, 0, 0, 0, 0, 0x01}
	addrA  = netip.MustParseAddr("10.0.0.2")
	addrB  = netip.MustParseAddr("10.0.0.3")
	addrGW = netip.MustParseAddr("10.0.0.1")
	remote = netip.MustParseAddr("192.0.2.7")
)

// collector is a fake Output: it copies every frame sent and frees the
// buffer, so pool accounting stays exact.
type collector struct {
	pool   *link.Pool
	frames [][]byte
}

func newCollector(t testing.TB) *collector {
	return &collector{pool: link.MustPool(link.PoolConfig{Count: 256})}
}

func (c *collector) Send(b *link.Buf) {
	c.frames = append(c.frames, append([]byte(nil), b.Bytes()...))
	b.Free()
}

func (c *collector) Pool() *link.Pool { return c.pool }

// take returns and forgets the frames collected so far.
func (c *collector) take() [][]byte {
	f := c.frames
	c.frames = nil
	return f
}

// discard is an Output that frees everything at once (for alloc tests).
type discard struct{ pool *link.Pool }

func (d discard) Send(b *link.Buf) { b.Free() }
func (d discard) Pool() *link.Pool { return d.pool }

func hostA(t testing.TB, mod func(*Config)) *Host {
	t.Helper()
	cfg := Config{
		Addr:    netip.MustParsePrefix("10.0.0.2/24"),
		Gateway: addrGW,
		MAC:     macA,
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// bufOf copies frame into a buffer of pool.
func bufOf(t testing.TB, pool *link.Pool, frame []byte) *link.Buf {
	t.Helper()
	b := pool.Get()
	if b == nil {
		t.Fatal("pool empty")
	}
	copy(b.Extend(len(frame)), frame)
	return b
}

func eth(dst, src wire.MAC, typ uint16, payload []byte) []byte {
	f := make([]byte, wire.EthernetHeaderLen+len(payload))
	wire.PutEthernet(f, dst, src, typ)
	copy(f[wire.EthernetHeaderLen:], payload)
	return f
}

func arpPkt(op uint16, sha wire.MAC, spa netip.Addr, tha wire.MAC, tpa netip.Addr) []byte {
	p := make([]byte, wire.ARPLen)
	wire.PutARP(p, op, sha, spa, tha, tpa)
	return p
}

type ipOpts struct {
	id       uint16
	df, mf   bool
	off      int
	ttl      uint8
	tos      uint8
	proto    uint8
	src, dst netip.Addr
}

func ipv4(o ipOpts, payload []byte) []byte {
	p := make([]byte, wire.IPv4MinHeaderLen+len(payload))
	if o.ttl == 0 {
		o.ttl = 64
	}
	h := wire.IPv4Header{TOS: o.tos, TotalLen: uint16(len(p)), ID: o.id, DF: o.df, MF: o.mf,
		FragOff: uint16(o.off), TTL: o.ttl, Protocol: o.proto, Src: o.src, Dst: o.dst}
	if _, err := wire.PutIPv4(p, &h); err != nil {
		panic(err)
	}
	copy(p[wire.IPv4MinHeaderLen:], payload)
	return p
}

func echo(typ uint8, id, seq uint16, data []byte) []byte {
	p := make([]byte, wire.ICMPv4HeaderLen+len(data))
	wire.PutICMPv4Echo(p, typ, id, seq, data)
	return p
}

// pingFrame is an echo request from B (on-link) to A.
func pingFrame(id, seq uint16, data []byte) []byte {
	return eth(macA, macB, wire.EtherTypeIPv4,
		ipv4(ipOpts{id: 77, proto: wire.ProtoICMP, src: addrB, dst: addrA}, echo(wire.ICMPv4Echo, id, seq, data)))
}

// learnB puts B into A's cache as REACHABLE (B answers A's request).
func learnB(t testing.TB, h *Host, now time.Duration, c *collector) {
	t.Helper()
	h.ConfirmNeigh(now, addrB)
	if h.NeighState(addrB) == NeighReachable {
		return
	}
	e := h.neigh.find(a4(addrB))
	if e == nil {
		e = h.newNeigh(now, a4(addrB))
		e.state = NeighIncomplete
	}
	h.Input(now, bufOf(t, c.pool, eth(macA, macB, wire.EtherTypeARP,
		arpPkt(wire.ARPReply, macB, addrB, macA, addrA))), c)
	if s := h.NeighState(addrB); s != NeighReachable {
		t.Fatalf("B is %v after its reply, want REACHABLE", s)
	}
}

// parse helpers for sent frames.
func parseSent(t testing.TB, f []byte) (wire.Ethernet, wire.IPv4) {
	t.Helper()
	e, err := wire.ParseEthernet(f)
	if err != nil {
		t.Fatalf("sent frame: %v", err)
	}
	if e.EtherType() != wire.EtherTypeIPv4 {
		return e, nil
	}
	ip, err := wire.ParseIPv4(e.Payload())
	if err != nil {
		t.Fatalf("sent IPv4: %v", err)
	}
	if !ip.ChecksumValid() {
		t.Fatalf("sent IPv4 header checksum invalid")
	}
	return e, ip
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }

// sink is a Transport that records deliveries and frees the buffer.
type sink struct {
	pkts  []Packet
	data  [][]byte
	errs  []ICMPError
	errL4 [][]byte
}

func (s *sink) Deliver(now time.Duration, p *Packet, b *link.Buf, out Output) {
	s.pkts = append(s.pkts, *p)
	s.data = append(s.data, append([]byte(nil), b.Bytes()...))
	b.Free()
}

func (s *sink) ICMPError(now time.Duration, e *ICMPError) {
	s.errs = append(s.errs, *e)
	s.errL4 = append(s.errL4, append([]byte(nil), e.L4...))
}

// checkPool fails when buffers are still out.
func checkPool(t testing.TB, p *link.Pool, want int) {
	t.Helper()
	if n := p.InUse(); n != want {
		t.Fatalf("pool has %d buffers in use, want %d", n, want)
	}
}

// arpOf parses a sent ARP frame.
func arpOf(t testing.TB, f []byte) (wire.Ethernet, wire.ARP) {
	t.Helper()
	e, err := wire.ParseEthernet(f)
	if err != nil || e.EtherType() != wire.EtherTypeARP {
		t.Fatalf("not an ARP frame: %x", f)
	}
	a, err := wire.ParseARP(e.Payload())
	if err != nil {
		t.Fatal(err)
	}
	return e, a
}

func arpTarget(t testing.TB, f []byte) netip.Addr {
	t.Helper()
	_, a := arpOf(t, f)
	return a.TargetIP()
}
