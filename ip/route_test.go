package ip

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

func TestRouting(t *testing.T) {
	h := hostA(t, func(c *Config) {
		c.Routes = []Route{
			{Prefix: netip.MustParsePrefix("192.168.0.0/16"), Gateway: netip.MustParseAddr("10.0.0.20")},
			{Prefix: netip.MustParsePrefix("192.168.5.0/24"), Gateway: netip.MustParseAddr("10.0.0.21")},
			// Same length as the connected prefix: the connected one wins.
			{Prefix: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.MustParseAddr("10.0.0.22")},
		}
	})
	for _, c := range []struct{ dst, nh string }{
		{"10.0.0.3", "10.0.0.3"},     // on-link
		{"10.0.0.255", "10.0.0.255"}, // subnet broadcast
		{"255.255.255.255", "255.255.255.255"},
		{"192.168.1.1", "10.0.0.20"}, // static route
		{"192.168.5.1", "10.0.0.21"}, // longer static route
		{"8.8.8.8", "10.0.0.1"},      // default gateway
	} {
		nh, err := h.NextHop(netip.MustParseAddr(c.dst))
		if err != nil || nh != netip.MustParseAddr(c.nh) {
			t.Errorf("NextHop(%s) = %v, %v; want %s", c.dst, nh, err, c.nh)
		}
		src, err := h.SourceFor(netip.MustParseAddr(c.dst))
		if err != nil || src != addrA {
			t.Errorf("SourceFor(%s) = %v, %v", c.dst, src, err)
		}
	}
	noGW := hostA(t, func(c *Config) { c.Gateway = netip.Addr{} })
	if _, err := noGW.SourceFor(remote); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("SourceFor without gateway: %v, want ErrNoRoute", err)
	}
	if _, err := noGW.NextHop(netip.MustParseAddr("::1")); !errors.Is(err, ErrBadAddress) {
		t.Fatalf("NextHop(::1): %v", err)
	}
}

func TestOutputRoutesThroughGatewayOrOnLink(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	// Off-link: the ARP request is for the gateway.
	b := bufOf(t, c.pool, make([]byte, 8))
	if err := h.Output(0, remote, 17, b, c); err != nil {
		t.Fatal(err)
	}
	f := c.take()
	if len(f) != 1 {
		t.Fatalf("%d frames, want 1 ARP request", len(f))
	}
	if tpa := arpTarget(t, f[0]); tpa != addrGW {
		t.Fatalf("ARP request for %v, want gateway %v", tpa, addrGW)
	}
	// On-link: for the destination itself.
	if err := h.Output(0, addrB, 17, bufOf(t, c.pool, make([]byte, 8)), c); err != nil {
		t.Fatal(err)
	}
	if tpa := arpTarget(t, c.take()[0]); tpa != addrB {
		t.Fatalf("ARP request for %v, want %v", tpa, addrB)
	}
	// No route.
	noGW := hostA(t, func(c *Config) { c.Gateway = netip.Addr{} })
	err := noGW.Output(0, remote, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	if !errors.Is(err, ErrNoRoute) || noGW.Counters().OutNoRoutes != 1 {
		t.Fatalf("Output without route: %v, OutNoRoutes %d", err, noGW.Counters().OutNoRoutes)
	}
	// The two queued packets are still held by h.
	checkPool(t, c.pool, 2)
}

// Broadcast and multicast destinations need no ARP.
func TestOutputBroadcastMulticast(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	for _, tc := range []struct {
		dst string
		mac wire.MAC
	}{
		{"255.255.255.255", wire.BroadcastMAC()},
		{"10.0.0.255", wire.BroadcastMAC()},
		{"224.0.0.251", wire.MAC{0x01, 0, 0x5e, 0, 0, 0xfb}},
		{"239.129.2.3", wire.MAC{0x01, 0, 0x5e, 0x01, 2, 3}},
	} {
		if err := h.Output(0, netip.MustParseAddr(tc.dst), 17, bufOf(t, c.pool, make([]byte, 8)), c); err != nil {
			t.Fatal(err)
		}
		f := c.take()
		if len(f) != 1 {
			t.Fatalf("%s: %d frames", tc.dst, len(f))
		}
		if e, ip := parseSent(t, f[0]); e.Dst() != tc.mac || ip.Dst().String() != tc.dst {
			t.Fatalf("%s: sent to %v", tc.dst, e.Dst())
		}
	}
	if h.neigh.count != 0 {
		t.Fatal("neighbour entries made for broadcast/multicast")
	}
	checkPool(t, c.pool, 0)
}

func TestOutputErrors(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	if err := h.Output(0, netip.MustParseAddr("::1"), 17, bufOf(t, c.pool, make([]byte, 8)), c); !errors.Is(err, ErrBadAddress) {
		t.Fatalf("IPv6 destination: %v", err)
	}
	if err := h.Output(0, netip.IPv4Unspecified(), 17, bufOf(t, c.pool, make([]byte, 8)), c); !errors.Is(err, ErrBadAddress) {
		t.Fatalf("0.0.0.0: %v", err)
	}
	// No headroom left for the IPv4 header.
	b := bufOf(t, c.pool, make([]byte, 8))
	b.Prepend(b.Headroom())
	if err := h.Output(0, addrB, 17, b, c); !errors.Is(err, ErrNoBuffer) {
		t.Fatalf("no headroom: %v", err)
	}
	// Ping data larger than a buffer, with no reassembly pool to take a
	// larger one from; or larger than any datagram.
	np := hostA(t, func(c *Config) { c.Frag.Buffers = -1 })
	if err := np.Ping(0, addrB, 1, 1, make([]byte, 4096), c); !errors.Is(err, ErrNoBuffer) {
		t.Fatalf("huge ping: %v", err)
	}
	if err := h.Ping(0, addrB, 1, 1, make([]byte, 65535), c); !errors.Is(err, ErrNoBuffer) {
		t.Fatalf("ping over 64 KiB: %v", err)
	}
	checkPool(t, h.ReasmPool(), 0)
	checkPool(t, c.pool, 0)
	// Fragmenting with too few buffers: nothing is sent, all is freed.
	small := &collector{pool: link.MustPool(link.PoolConfig{Count: 3})}
	m := hostA(t, func(c *Config) { c.MTU = 576 })
	learnB(t, m, 0, small)
	small.take()
	err := m.Output(0, addrB, 17, bufOf(t, small.pool, make([]byte, 1800)), small)
	if !errors.Is(err, ErrNoBuffer) || len(small.take()) != 0 || m.Counters().FragFails != 1 {
		t.Fatalf("fragmenting without buffers: %v", err)
	}
	checkPool(t, small.pool, 0)
	// An empty pool: Ping fails, ARP cannot be sent but resolution goes on.
	var held []*link.Buf
	for b := small.pool.Get(); b != nil; b = small.pool.Get() {
		held = append(held, b)
	}
	if err := m.Ping(0, addrB, 1, 1, nil, small); !errors.Is(err, ErrNoBuffer) {
		t.Fatalf("empty pool ping: %v", err)
	}
	last := held[len(held)-1]
	held = held[:len(held)-1]
	last.Extend(8)
	m.Output(0, addrGW, 17, last, small) // ARP request has no buffer
	if m.NeighState(addrGW) != NeighIncomplete || len(small.take()) != 0 {
		t.Fatal("resolution did not start")
	}
	for _, b := range held {
		b.Free()
	}
	m.Tick(time.Second, small) // the retransmission gets a buffer
	if f := small.take(); len(f) != 1 || arpTarget(t, f[0]) != addrGW {
		t.Fatal("ARP request not retransmitted")
	}
}

func TestMappedAddressesAccepted(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	mapped := netip.AddrFrom16(addrB.As16())
	if nh, err := h.NextHop(mapped); err != nil || nh != addrB {
		t.Fatalf("NextHop(%v) = %v, %v", mapped, nh, err)
	}
	if err := h.Output(0, mapped, 17, bufOf(t, c.pool, make([]byte, 8)), c); err != nil {
		t.Fatal(err)
	}
	if h.NeighState(mapped) != NeighIncomplete {
		t.Fatal("NeighState(mapped)")
	}
}
