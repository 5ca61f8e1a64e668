package ip

import (
	"errors"
	"net/netip"
	"testing"
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
