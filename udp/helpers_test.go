package udp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

var (
	self = netip.MustParseAddr("10.0.0.2")
	peer = netip.MustParseAddr("10.0.0.1")
)

// fakeNet records what the table sends.
type fakeNet struct {
	out         []netip.Addr // destinations of Output
	outErr      error
	unreachable int
	lastCode    uint8
}

func (f *fakeNet) Output(now time.Duration, dst netip.Addr, proto uint8, b *link.Buf, out ip.Output) error {
	b.Free()
	if f.outErr != nil {
		return f.outErr
	}
	f.out = append(f.out, dst)
	return nil
}

func (f *fakeNet) SendUnreachable(now time.Duration, p *ip.Packet, b *link.Buf, code uint8, out ip.Output) {
	f.unreachable++
	f.lastCode = code
	b.Free()
}

// sink is a Receiver that keeps what it is given.
type sink struct {
	ep    *Endpoint
	calls int
	bufs  []*link.Buf
}

func (s *sink) Receive(head, tail *link.Buf, n int) {
	s.calls++
	got := 0
	for b := head; b != nil; b = b.Next {
		s.bufs = append(s.bufs, b)
		got++
		if b.Next == nil && b != tail {
			panic("list does not end at tail")
		}
	}
	if got != n {
		panic("count mismatch")
	}
}

// drain frees everything received and releases its charge.
func (s *sink) drain() {
	for _, b := range s.bufs {
		b.Next = nil
		c := Charge(b)
		b.Free()
		s.ep.Release(c)
	}
	s.bufs = s.bufs[:0]
}

func newTable(t testing.TB, cfg Config) (*Table, *fakeNet) {
	t.Helper()
	f := &fakeNet{}
	tb, err := New(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	return tb, f
}

func bind(t testing.TB, tb *Table, port uint16) (*Endpoint, *sink) {
	t.Helper()
	s := &sink{}
	e := NewEndpoint(s)
	s.ep = e
	if err := tb.Bind(e, netip.Addr{}, port); err != nil {
		t.Fatal(err)
	}
	return e, s
}

var testPool = link.MustPool(link.PoolConfig{Count: 256, Size: 2048})

// datagram makes a buffer as the IP layer delivers it: an IPv4 header in
// the headroom, data starting at the UDP header, with a correct checksum.
func datagram(t testing.TB, pool *link.Pool, src, dst netip.AddrPort, payload []byte) (*link.Buf, *ip.Packet) {
	t.Helper()
	b := pool.Get()
	if b == nil {
		t.Fatal("pool empty")
	}
	if err := Build(b, src, dst, payload); err != nil {
		t.Fatal(err)
	}
	b.Flags = 0 // as if from a link that verified nothing
	hdr := b.Prepend(wire.IPv4MinHeaderLen)
	wire.PutIPv4(hdr, &wire.IPv4Header{TotalLen: uint16(b.Len()), TTL: 64, Protocol: wire.ProtoUDP, Src: src.Addr(), Dst: dst.Addr()})
	b.TrimFront(wire.IPv4MinHeaderLen)
	return b, &ip.Packet{Src: src.Addr(), Dst: dst.Addr(), Proto: wire.ProtoUDP, TTL: 64, HeaderLen: wire.IPv4MinHeaderLen}
}

type nopOut struct{}

func (nopOut) Send(b *link.Buf) { b.Free() }
func (nopOut) Pool() *link.Pool { return testPool }
