package ip

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

type nopTransport struct{ n int }

func (t *nopTransport) Deliver(now time.Duration, p *Packet, b *link.Buf, out Output) {
	t.n++
	b.Free()
}

type nopEcho struct{ n int }

func (e *nopEcho) EchoReply(now time.Duration, from netip.Addr, id, seq uint16, data []byte) { e.n++ }

func allocSetup(t testing.TB) (*Host, discard) {
	c := newCollector(t)
	h := hostA(t, nil)
	learnB(t, h, 0, c)
	return h, discard{c.pool}
}

func TestAllocsEcho(t *testing.T) {
	h, out := allocSetup(t)
	frame := pingFrame(1, 2, make([]byte, 56))
	n := testing.AllocsPerRun(200, func() {
		b := out.pool.Get()
		copy(b.Extend(len(frame)), frame)
		h.Input(time.Second, b, out)
	})
	if n != 0 {
		t.Fatalf("echo request->reply: %v allocs per run", n)
	}
	if h.Counters().OutEchoReps < 200 {
		t.Fatal("replies not sent")
	}
	checkPool(t, out.pool, 0)
}

func TestAllocsDeliver(t *testing.T) {
	h, out := allocSetup(t)
	tr := &nopTransport{}
	h.Register(17, tr)
	var er nopEcho
	h.SetEchoReplyHandler(&er)
	udp := eth(macA, macB, wire.EtherTypeIPv4, ipv4(ipOpts{proto: 17, src: addrB, dst: addrA}, make([]byte, 100)))
	rep := eth(macA, macB, wire.EtherTypeIPv4, ipv4(ipOpts{proto: 1, src: addrB, dst: addrA}, echo(0, 1, 1, nil)))
	n := testing.AllocsPerRun(200, func() {
		for _, f := range [][]byte{udp, rep} {
			b := out.pool.Get()
			copy(b.Extend(len(f)), f)
			h.Input(time.Second, b, out)
		}
	})
	if n != 0 {
		t.Fatalf("IPv4 input to transport: %v allocs per run", n)
	}
	if tr.n < 200 || er.n < 200 {
		t.Fatal("not delivered")
	}
	checkPool(t, out.pool, 0)
}

func TestAllocsOutput(t *testing.T) {
	h, out := allocSetup(t)
	n := testing.AllocsPerRun(200, func() {
		b := out.pool.Get()
		b.Extend(200)
		if err := h.Output(time.Second, addrB, 17, b, out); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("Output to a reachable neighbour: %v allocs per run", n)
	}
	checkPool(t, out.pool, 0)
}

func BenchmarkEcho(b *testing.B) {
	h, out := allocSetup(b)
	frame := pingFrame(1, 2, make([]byte, 56))
	b.ReportAllocs()
	for b.Loop() {
		buf := out.pool.Get()
		copy(buf.Extend(len(frame)), frame)
		h.Input(time.Second, buf, out)
	}
}

func BenchmarkDeliver(b *testing.B) {
	h, out := allocSetup(b)
	h.Register(17, &nopTransport{})
	f := eth(macA, macB, wire.EtherTypeIPv4, ipv4(ipOpts{proto: 17, src: addrB, dst: addrA}, make([]byte, 1400)))
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		buf := out.pool.Get()
		copy(buf.Extend(len(f)), f)
		h.Input(time.Second, buf, out)
	}
}

func BenchmarkOutput(b *testing.B) {
	h, out := allocSetup(b)
	b.ReportAllocs()
	for b.Loop() {
		buf := out.pool.Get()
		buf.Extend(1400)
		h.Output(time.Second, addrB, 17, buf, out)
	}
}

// Reassembly, outbound fragmentation and ARP answering allocate nothing
// either.
func TestAllocsFragmentsAndARP(t *testing.T) {
	h, out := allocSetup(t)
	h.Register(17, &nopTransport{})
	payload := pattern(3000)
	f1 := fragFrame(1, payload, frag{0, 1000, true})
	f2 := fragFrame(1, payload, frag{1000, 800, false})
	arpReq := eth(wire.BroadcastMAC(), macB, wire.EtherTypeARP, arpPkt(wire.ARPRequest, macB, addrB, wire.MAC{}, addrA))
	in := func(f []byte) {
		b := out.pool.Get()
		copy(b.Extend(len(f)), f)
		h.Input(time.Second, b, out)
	}
	if n := testing.AllocsPerRun(100, func() { in(f1); in(f2) }); n != 0 {
		t.Fatalf("reassembly: %v allocs per run", n)
	}
	if n := testing.AllocsPerRun(100, func() { in(arpReq) }); n != 0 {
		t.Fatalf("ARP reply: %v allocs per run", n)
	}
	m := hostA(t, func(c *Config) { c.MTU = 576 })
	learnB(t, m, 0, newCollector(t))
	if n := testing.AllocsPerRun(100, func() {
		b := out.pool.Get()
		b.Extend(1800)
		if err := m.Output(time.Second, addrB, 17, b, out); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("fragmentation: %v allocs per run", n)
	}
	checkPool(t, out.pool, 0)
}
