package ip

import (
	"bytes"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// held counts the buffers the Host keeps: fragments, packets waiting for
// ARP, looped-back datagrams.
func (h *Host) held() int {
	n := h.pendTotal
	for i := range h.frag.slots {
		for b := h.frag.slots[i].head; b != nil; b = b.Next {
			n++
		}
	}
	for b := h.loopHead; b != nil; b = b.Next {
		n++
	}
	return n
}

// checkingOut verifies every frame the Host sends and frees it.
type checkingOut struct {
	t    *testing.T
	pool *link.Pool
}

func (o checkingOut) Pool() *link.Pool { return o.pool }

func (o checkingOut) Send(b *link.Buf) {
	defer b.Free()
	e, err := wire.ParseEthernet(b.Bytes())
	if err != nil || e.Src() != macA {
		o.t.Fatalf("sent a bad frame %x", b.Bytes())
	}
	switch e.EtherType() {
	case wire.EtherTypeARP:
		if _, err := wire.ParseARP(e.Payload()); err != nil {
			o.t.Fatalf("sent bad ARP: %v", err)
		}
	case wire.EtherTypeIPv4:
		ip, err := wire.ParseIPv4(e.Payload())
		if err != nil || !ip.ChecksumValid() || ip.Src() != addrA || len(ip) > 1500 {
			o.t.Fatalf("sent bad IPv4 %x (%v)", e.Payload(), err)
		}
		if ip.Protocol() == wire.ProtoICMP && ip.FragOffset() == 0 && !ip.MoreFragments() {
			if m, err := wire.ParseICMPv4(ip.Payload()); err != nil || !m.ChecksumValid() {
				o.t.Fatalf("sent bad ICMP %x", ip.Payload())
			}
		}
	default:
		o.t.Fatalf("sent EtherType %#x", e.EtherType())
	}
}

// FuzzInput feeds two arbitrary frames into a Host (with a resolved
// neighbour, a transport, and an unresolved neighbour with a queued
// packet), then runs its timers out. Invariants: no panic, every frame
// sent is well formed, and every pool buffer is either back or accounted
// for by the Host.
func FuzzInput(f *testing.F) {
	udp := eth(macA, macB, wire.EtherTypeIPv4, ipv4(ipOpts{proto: 17, src: addrB, dst: addrA}, make([]byte, 12)))
	f.Add(pingFrame(1, 2, []byte("data")), udp)
	f.Add(eth(wire.BroadcastMAC(), macB, wire.EtherTypeARP, arpPkt(wire.ARPRequest, macB, addrB, wire.MAC{}, addrA)),
		eth(macA, macGW, wire.EtherTypeARP, arpPkt(wire.ARPReply, macGW, addrGW, macA, addrA)))
	f.Add(eth(wire.BroadcastMAC(), macGW, wire.EtherTypeARP, arpPkt(wire.ARPRequest, macGW, addrGW, wire.MAC{}, addrGW)), udp)
	payload := pattern(64)
	f.Add(fragFrame(5, payload, frag{0, 32, true}), fragFrame(5, payload, frag{32, 32, false}))
	f.Add(fragFrame(5, payload, frag{0, 32, true}), fragFrame(5, payload, frag{24, 40, false}))
	f.Add(fragFrame(5, payload, frag{8, 16, true}), fragFrame(5, payload, frag{8, 16, true}))
	big := pattern(3000) // over a link buffer: joined in the reassembly pool
	f.Add(fragFrame(6, big, frag{0, 1480, true}), fragFrame(6, big, frag{1480, 1520, false}))
	f.Add(eth(macA, macB, wire.EtherTypeIPv4, ipv4(ipOpts{proto: 99, src: addrB, dst: addrA}, []byte("x"))), []byte{})
	f.Add(eth(macA, macB, wire.EtherTypeIPv4, ipv4(ipOpts{proto: 1, src: remote, dst: addrA}, echo(8, 1, 1, nil))), []byte{1})
	icmpErr := make([]byte, 100)
	n, _ := wire.PutICMPv4Error(icmpErr, 3, 4, 1280, ipv4(ipOpts{proto: 17, src: addrA, dst: remote}, make([]byte, 8)))
	f.Add(eth(macA, macGW, wire.EtherTypeIPv4, ipv4(ipOpts{proto: 1, src: addrGW, dst: addrA}, icmpErr[:n])), udp)
	f.Fuzz(func(t *testing.T, f1, f2 []byte) {
		pool := link.MustPool(link.PoolConfig{Count: 64})
		out := checkingOut{t, pool}
		// A small reassembly pool: two fragments of up to a link buffer
		// each may need it.
		h := hostA(t, func(c *Config) { c.MTU = 1500; c.Frag.BufSize = 4096; c.Frag.Buffers = 2 })
		h.Register(17, &nopTransport{})
		h.Register(6, &sink{})
		learnBWith(t, h, out)
		h.Output(0, addrGW, 17, bufFrom(pool, make([]byte, 8)), out) // queued behind ARP
		base := h.held()
		if pool.InUse() != base {
			t.Fatalf("setup: %d in use, %d held", pool.InUse(), base)
		}
		for i, fr := range [][]byte{f1, f2} {
			if len(fr) > pool.BufSize() {
				fr = fr[:pool.BufSize()]
			}
			h.Input(time.Duration(i)*time.Millisecond, bufFrom(pool, fr), out)
			if in, held := pool.InUse(), h.held(); in != held {
				t.Fatalf("after frame %d: %d buffers in use, host holds %d", i, in, held)
			}
		}
		for now := time.Second; now < 3*time.Minute; {
			h.Tick(now, out)
			d, ok := h.NextDeadline()
			if !ok {
				break
			}
			now = max(now, d)
		}
		if in := pool.InUse(); in != 0 || h.held() != 0 || h.ReasmPool().InUse() != 0 {
			t.Fatalf("after timers: %d buffers in use, host holds %d, %d reassembly buffers in use",
				in, h.held(), h.ReasmPool().InUse())
		}
	})
}

func bufFrom(pool *link.Pool, p []byte) *link.Buf {
	b := pool.Get()
	copy(b.Extend(len(p)), p)
	return b
}

// learnBWith resolves B through an ARP reply sent over out.
func learnBWith(t *testing.T, h *Host, out Output) {
	h.Output(0, addrB, 17, bufFrom(out.Pool(), make([]byte, 8)), out)
	h.Input(0, bufFrom(out.Pool(), eth(macA, macB, wire.EtherTypeARP, arpPkt(wire.ARPReply, macB, addrB, macA, addrA))), out)
	if h.NeighState(addrB) != NeighReachable {
		t.Fatal("B not resolved")
	}
}

// FuzzReassembly interprets its input as a stream of fragments of one
// datagram (3 bytes each: offset/8, length/8, more-fragments) and checks
// the deliveries against the reference model, with exact data.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 4, 1, 4, 4, 0})                   // two halves
	f.Add([]byte{4, 4, 0, 0, 4, 1})                   // reversed
	f.Add([]byte{0, 4, 1, 0, 4, 1, 4, 4, 0})          // duplicate
	f.Add([]byte{0, 4, 1, 3, 5, 0, 4, 4, 0})          // overlap
	f.Add([]byte{0, 4, 1, 2, 2, 0, 4, 4, 0, 0, 9, 0}) // bad length, then whole
	f.Add([]byte{32, 16, 0, 0, 16, 1, 16, 16, 1})     // 404 bytes: joined in the pool
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 3*64 {
			ops = ops[:3*64]
		}
		// Link buffers of 256 bytes hold any one fragment (at most 128
		// bytes of payload) but not most datagrams (up to 512): those are
		// joined in the reassembly pool.
		pool := link.MustPool(link.PoolConfig{Count: 128, Size: 256, Headroom: 64})
		c := &collector{pool: pool}
		h := hostA(t, func(c *Config) { c.Frag.NoTimeExceeded = true; c.Frag.BufSize = 576; c.Frag.Buffers = 1 })
		s := &sink{}
		h.Register(17, s)
		payload := pattern(8 * 64)
		ref := refReasm{total: -1}
		want := 0
		for i := 0; i+3 <= len(ops); i += 3 {
			fr := frag{off: 8 * int(ops[i]%48), n: 8 * int(ops[i+1]%17), mf: ops[i+2]&1 == 1}
			if fr.mf && fr.n == 0 {
				continue // a bad fragment: dropped before reassembly, not modelled
			}
			if done, _ := ref.add(fr); done {
				want++
			}
			h.Input(0, bufOf(t, pool, fragFrame(1, payload, fr)), c)
			if len(s.data) != want {
				t.Fatalf("op %d %+v: %d deliveries, reference %d", i/3, fr, len(s.data), want)
			}
			if want > 0 {
				last := s.data[want-1]
				if !bytes.Equal(last, payload[:len(last)]) {
					t.Fatalf("op %d: wrong data", i/3)
				}
			}
		}
		h.Tick(time.Hour, c)
		if pool.InUse() != 0 || h.ReasmPool().InUse() != 0 || h.Counters().ReasmNoBuffer != 0 {
			t.Fatalf("%d buffers in use, %d reassembly buffers; counters %+v", pool.InUse(), h.ReasmPool().InUse(), h.Counters())
		}
	})
}
