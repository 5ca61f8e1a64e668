package udp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// quietNet is a Network that records nothing (so it allocates nothing).
type quietNet struct{}

func (quietNet) Output(now time.Duration, dst netip.Addr, proto uint8, b *link.Buf, out ip.Output) error {
	b.Free()
	return nil
}

func (quietNet) SendUnreachable(now time.Duration, p *ip.Packet, b *link.Buf, code uint8, out ip.Output) {
	b.Free()
}

// consumer reads every datagram it is given as a socket would.
type consumer struct {
	ep *Endpoint
	n  int
}

func (c *consumer) Receive(head, tail *link.Buf, n int) {
	for b := head; b != nil; {
		next := b.Next
		b.Next = nil
		_, payload := Datagram(b)
		c.n += len(payload)
		charge := Charge(b)
		b.Free()
		c.ep.Release(charge)
		b = next
	}
}

// The receive path (Deliver, Flush, Datagram, Release) and the send path
// (Build, Output) allocate nothing.
func TestHotPathsDoNotAllocate(t *testing.T) {
	tb, err := New(Config{}, quietNet{})
	if err != nil {
		t.Fatal(err)
	}
	c := &consumer{}
	e := NewEndpoint(c)
	c.ep = e
	if err := tb.Bind(e, netip.Addr{}, 7); err != nil {
		t.Fatal(err)
	}
	src, dst := netip.AddrPortFrom(peer, 40000), netip.AddrPortFrom(self, 7)
	payload := make([]byte, 512)
	pkt := &ip.Packet{Src: peer, Dst: self, Proto: wire.ProtoUDP, HeaderLen: wire.IPv4MinHeaderLen}
	allocs := testing.AllocsPerRun(1000, func() {
		b := testPool.Get()
		if err := Build(b, src, dst, payload); err != nil {
			panic(err)
		}
		b.Flags = 0 // verify the checksum on the way in
		b.Prepend(wire.IPv4MinHeaderLen)
		b.TrimFront(wire.IPv4MinHeaderLen)
		tb.Deliver(0, pkt, b, nopOut{})
		tb.Flush()
	})
	if allocs != 0 {
		t.Fatalf("receive path: %v allocations per datagram", allocs)
	}
	if c.n != 1001*512 || tb.Counters().InDatagrams != 1001 {
		t.Fatalf("consumed %d bytes, counters %+v", c.n, tb.Counters())
	}
	allocs = testing.AllocsPerRun(1000, func() {
		b := testPool.Get()
		if err := Build(b, dst, src, payload); err != nil {
			panic(err)
		}
		if err := tb.Output(0, e, peer, b, nopOut{}); err != nil {
			panic(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("send path: %v allocations per datagram", allocs)
	}
	if testPool.InUse() != 0 {
		t.Fatalf("%d buffers leaked", testPool.InUse())
	}
}

func BenchmarkDeliverFlush(b *testing.B) {
	tb, _ := New(Config{}, quietNet{})
	c := &consumer{}
	e := NewEndpoint(c)
	c.ep = e
	tb.Bind(e, netip.Addr{}, 7)
	src, dst := netip.AddrPortFrom(peer, 40000), netip.AddrPortFrom(self, 7)
	payload := make([]byte, 64)
	pkt := &ip.Packet{Src: peer, Dst: self, Proto: wire.ProtoUDP, HeaderLen: wire.IPv4MinHeaderLen}
	b.ReportAllocs()
	for b.Loop() {
		buf := testPool.Get()
		Build(buf, src, dst, payload)
		tb.Deliver(0, pkt, buf, nopOut{})
		tb.Flush()
	}
}
