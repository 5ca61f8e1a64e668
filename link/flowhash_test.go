package link_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/ustack/ustack/link"
)

// tcpFrame builds an Ethernet/IPv4/TCP frame for src -> dst, with a VLAN
// tag when vlan is set and ihl 32-bit words of IP header (5 = no options).
func tcpFrame(src, dst netip.AddrPort, vlan bool, ihl int) []byte {
	f := make([]byte, 0, 128)
	f = append(f, 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1) // dst, src MAC
	if vlan {
		f = append(f, 0x81, 0x00, 0x00, 0x07)
	}
	f = append(f, 0x08, 0x00)
	ip := make([]byte, ihl*4)
	ip[0] = 0x40 | byte(ihl)
	binary.BigEndian.PutUint16(ip[2:4], uint16(ihl*4+20))
	ip[6] = 0x40 // DF
	ip[8] = 64
	ip[9] = 6
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:16], s[:])
	copy(ip[16:20], d[:])
	f = append(f, ip...)
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:2], src.Port())
	binary.BigEndian.PutUint16(tcp[2:4], dst.Port())
	tcp[12] = 5 << 4
	tcp[13] = 0x10
	return append(f, tcp...)
}

var (
	client = netip.MustParseAddrPort("10.0.0.1:40000")
	server = netip.MustParseAddrPort("10.0.0.2:80")
)

// refTuple is the slow, obvious parser FlowHash is checked against: it
// walks the headers field by field and returns the 4-tuple and the offset
// of the IP header.
func refTuple(f []byte) (src, dst netip.AddrPort, l3 int, ok bool) {
	if len(f) < 14 {
		return
	}
	l3 = 14
	et := int(f[12])<<8 | int(f[13])
	if et == 0x8100 {
		if len(f) < 18 {
			return
		}
		et = int(f[16])<<8 | int(f[17])
		l3 = 18
	}
	if et != 0x0800 || len(f) < l3+20 {
		return
	}
	version, ihl := f[l3]>>4, int(f[l3]&15)*4
	proto := f[l3+9]
	mf := f[l3+6]&0x20 != 0
	fragOff := (int(f[l3+6])&0x1f)<<8 | int(f[l3+7])
	if version != 4 || ihl < 20 || proto != 6 || mf || fragOff != 0 || len(f) < l3+ihl+20 {
		return
	}
	sa := netip.AddrFrom4([4]byte(f[l3+12 : l3+16]))
	da := netip.AddrFrom4([4]byte(f[l3+16 : l3+20]))
	t := l3 + ihl
	sp := uint16(f[t])<<8 | uint16(f[t+1])
	dp := uint16(f[t+2])<<8 | uint16(f[t+3])
	return netip.AddrPortFrom(sa, sp), netip.AddrPortFrom(da, dp), l3, true
}

// swapped returns a copy of f (which refTuple accepted) with the IP
// addresses and TCP ports exchanged: the same flow, other direction.
func swapped(f []byte, l3 int) []byte {
	g := append([]byte(nil), f...)
	ip := g[l3:]
	var a [4]byte
	copy(a[:], ip[12:16])
	copy(ip[12:16], ip[16:20])
	copy(ip[16:20], a[:])
	t := ip[int(ip[0]&15)*4:]
	t[0], t[1], t[2], t[3] = t[2], t[3], t[0], t[1]
	return g
}

func TestFlowHashSymmetric(t *testing.T) {
	for _, ihl := range []int{5, 6, 15} {
		for _, vlan := range []bool{false, true} {
			h1, ok1 := link.FlowHash(tcpFrame(client, server, vlan, ihl))
			h2, ok2 := link.FlowHash(tcpFrame(server, client, vlan, ihl))
			if !ok1 || !ok2 || h1 != h2 {
				t.Errorf("ihl %d vlan %v: %#x,%v one way, %#x,%v the other", ihl, vlan, h1, ok1, h2, ok2)
			}
		}
	}
}

func TestFlowHashVLANSameAsUntagged(t *testing.T) {
	for p := uint16(1000); p < 1100; p++ {
		c := netip.AddrPortFrom(client.Addr(), p)
		h1, ok1 := link.FlowHash(tcpFrame(c, server, false, 5))
		h2, ok2 := link.FlowHash(tcpFrame(c, server, true, 5))
		if !ok1 || !ok2 || h1 != h2 {
			t.Fatalf("port %d: untagged %#x,%v tagged %#x,%v", p, h1, ok1, h2, ok2)
		}
	}
}

func TestFlowHashDistinguishesFlows(t *testing.T) {
	// Different tuples should (almost always) hash apart: no collisions
	// among a few thousand flows differing in one field.
	seen := map[uint32]string{}
	add := func(name string, src, dst netip.AddrPort) {
		h, ok := link.FlowHash(tcpFrame(src, dst, false, 5))
		if !ok {
			t.Fatalf("%s: not ok", name)
		}
		if prev, dup := seen[h]; dup {
			t.Errorf("%s and %s collide at %#x", name, prev, h)
		}
		seen[h] = name
	}
	for i := 0; i < 1000; i++ {
		add("sport", netip.AddrPortFrom(client.Addr(), uint16(20000+i)), server)
		add("dport", client, netip.AddrPortFrom(server.Addr(), uint16(20000+i)))
		a := client.Addr().As4()
		a[2], a[3] = byte(i>>8), byte(i)
		add("saddr", netip.AddrPortFrom(netip.AddrFrom4(a), 1), server)
	}
}

func TestFlowHashNotOK(t *testing.T) {
	base := tcpFrame(client, server, false, 5)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), base...)) }
	cases := map[string][]byte{
		"empty":          nil,
		"short eth":      base[:13],
		"eth only":       base[:14],
		"short ip":       base[:14+19],
		"short tcp":      base[:14+20+19],
		"vlan short":     tcpFrame(client, server, true, 5)[:17],
		"arp":            mod(func(b []byte) []byte { b[12], b[13] = 0x08, 0x06; return b }),
		"ipv6":           mod(func(b []byte) []byte { b[12], b[13] = 0x86, 0xdd; return b }),
		"qinq outer":     mod(func(b []byte) []byte { b[12], b[13] = 0x88, 0xa8; return b }),
		"version 6":      mod(func(b []byte) []byte { b[14] = 0x65; return b }),
		"ihl 4":          mod(func(b []byte) []byte { b[14] = 0x44; return b }),
		"ihl past end":   mod(func(b []byte) []byte { b[14] = 0x4f; return b }),
		"udp":            mod(func(b []byte) []byte { b[14+9] = 17; return b }),
		"icmp":           mod(func(b []byte) []byte { b[14+9] = 1; return b }),
		"more fragments": mod(func(b []byte) []byte { b[14+6] = 0x20; return b }),
		"frag offset":    mod(func(b []byte) []byte { b[14+6], b[14+7] = 0, 1; return b }),
		"frag offset hi": mod(func(b []byte) []byte { b[14+6] = 0x10; return b }),
	}
	for name, f := range cases {
		if h, ok := link.FlowHash(f); ok {
			t.Errorf("%s: ok with hash %#x", name, h)
		}
		for _, n := range []int{2, 4, 7} {
			if q := link.SteerQueue(f, n); q != 0 {
				t.Errorf("%s: SteerQueue(n=%d) = %d, want 0", name, n, q)
			}
		}
	}
	// DF alone is not a fragment.
	if _, ok := link.FlowHash(base); !ok {
		t.Error("DF-only frame not ok")
	}
}

func TestSteerQueueSmallN(t *testing.T) {
	f := tcpFrame(client, server, false, 5)
	for _, n := range []int{-5, 0, 1} {
		if q := link.SteerQueue(f, n); q != 0 {
			t.Errorf("SteerQueue(n=%d) = %d, want 0", n, q)
		}
	}
	h, _ := link.FlowHash(f)
	for _, n := range []int{2, 3, 64, 1 << 30} {
		if q, want := link.SteerQueue(f, n), int(uint64(h)%uint64(n)); q != want {
			t.Errorf("SteerQueue(n=%d) = %d, want %d", n, q, want)
		}
	}
}

// TestSteerSpread checks that consecutive source ports of one client
// spread evenly: within ±5% of an even share on every queue.
func TestSteerSpread(t *testing.T) {
	const ports = 10000
	for _, dst := range []netip.AddrPort{server, netip.MustParseAddrPort("192.168.1.1:443")} {
		for _, n := range []int{2, 4} {
			counts := make([]int, n)
			for i := 0; i < ports; i++ {
				c := netip.AddrPortFrom(client.Addr(), uint16(32768+i))
				counts[link.SteerQueue(tcpFrame(c, dst, false, 5), n)]++
			}
			even := ports / n
			for q, c := range counts {
				if c < even*95/100 || c > even*105/100 {
					t.Errorf("dst %v n=%d: queue %d got %d of %d, want %d±5%% (all: %v)", dst, n, q, c, ports, even, counts)
				}
			}
		}
	}
}

func TestFlowHashNoAllocs(t *testing.T) {
	f := tcpFrame(client, server, true, 5)
	var sink int
	if a := testing.AllocsPerRun(100, func() {
		sink += link.SteerQueue(f, 4)
		h, _ := link.FlowHash(f)
		sink += int(h)
	}); a != 0 {
		t.Fatalf("%v allocs per run, want 0", a)
	}
	_ = sink
}

func FuzzFlowHash(f *testing.F) {
	f.Add(tcpFrame(client, server, false, 5))
	f.Add(tcpFrame(server, client, true, 5))
	f.Add(tcpFrame(client, server, false, 7))
	f.Add(tcpFrame(client, server, false, 5)[:40])
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0, 0, 0, 8, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := link.FlowHash(b)
		src, dst, l3, rok := refTuple(b)
		if ok != rok {
			t.Fatalf("FlowHash ok=%v, reference parser ok=%v", ok, rok)
		}
		if q := link.SteerQueue(b, 4); q < 0 || q >= 4 || (!ok && q != 0) {
			t.Fatalf("SteerQueue = %d", q)
		}
		if !ok {
			return
		}
		if h2, ok2 := link.FlowHash(swapped(b, l3)); !ok2 || h2 != h {
			t.Fatalf("reverse direction: %#x,%v want %#x", h2, ok2, h)
		}
		// The hash depends on the 4-tuple only: a canonical frame for
		// the same tuple hashes the same.
		if h3, _ := link.FlowHash(tcpFrame(src, dst, false, 5)); h3 != h {
			t.Fatalf("canonical frame for %v->%v: %#x want %#x", src, dst, h3, h)
		}
	})
}

func BenchmarkFlowHash(b *testing.B) {
	f := tcpFrame(client, server, true, 5)
	var sink int
	b.ReportAllocs()
	for b.Loop() {
		sink += link.SteerQueue(f, 4)
	}
	_ = sink
}
