package ip

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/wire"
)

// fragNeeded is a router's "fragmentation needed" about our datagram orig.
func fragNeeded(mtu uint16, orig []byte) []byte {
	msg := make([]byte, 600)
	n, _ := wire.PutICMPv4Error(msg, wire.ICMPv4DestUnreach, wire.ICMPv4FragNeeded, mtu, orig)
	return eth(macA, macGW, wire.EtherTypeIPv4, ipv4(ipOpts{proto: 1, src: addrGW, dst: addrA}, msg[:n]))
}

func TestPathMTUDiscovery(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	udp := &sink{}
	h.Register(17, udp)
	h.Output(0, remote, 17, bufOf(t, c.pool, make([]byte, 8)), c) // resolves the gateway
	h.Input(0, bufOf(t, c.pool, eth(macA, macGW, wire.EtherTypeARP, arpPkt(wire.ARPReply, macGW, addrGW, macA, addrA))), c)
	if h.NeighState(addrGW) != NeighReachable {
		t.Fatal("gateway not resolved")
	}
	if h.PathMTU(0, remote) != 1500 {
		t.Fatal("initial path MTU")
	}
	big := ipv4(ipOpts{proto: 17, src: addrA, dst: remote, df: true}, make([]byte, 1400))
	h.Input(time.Second, bufOf(t, c.pool, fragNeeded(1280, big)), c)
	if got := h.PathMTU(time.Second, remote); got != 1280 || udp.errs[0].MTU != 1280 || h.Counters().PMTUUpdates != 1 {
		t.Fatalf("path MTU %d, reported %d", got, udp.errs[0].MTU)
	}
	if h.PathMTU(time.Second, netip.MustParseAddr("198.51.100.1")) != 1500 {
		t.Fatal("other destinations affected")
	}
	// DFWant now fragments to 1280; TCP (DFDo) is refused.
	c.take()
	if err := h.Output(2*time.Second, remote, 17, bufOf(t, c.pool, make([]byte, 1400)), c); err != nil {
		t.Fatal(err)
	}
	f := c.take()
	if len(f) != 2 {
		t.Fatalf("%d frames, want 2 fragments", len(f))
	}
	for _, fr := range f {
		if _, ip := parseSent(t, fr); len(ip) > 1280 || ip.DontFragment() {
			t.Fatalf("fragment of %d bytes, DF %v", len(ip), ip.DontFragment())
		}
	}
	if err := h.Output(2*time.Second, remote, wire.ProtoTCP, bufOf(t, c.pool, make([]byte, 1400)), c); !errors.Is(err, ErrMsgSize) {
		t.Fatalf("TCP over the path MTU: %v", err)
	}
	// Reports at or above the path MTU are ignored; tiny ones are raised
	// to MinPMTU; 0 (pre-RFC 1191 router) picks the plateau below the
	// datagram's length.
	h.Input(3*time.Second, bufOf(t, c.pool, fragNeeded(1400, big)), c)
	if h.PathMTU(3*time.Second, remote) != 1280 {
		t.Fatal("raised by a report above the path MTU")
	}
	h.Input(3*time.Second, bufOf(t, c.pool, fragNeeded(100, big)), c)
	if got := h.PathMTU(3*time.Second, remote); got != 552 {
		t.Fatalf("tiny report gave %d, want MinPMTU 552", got)
	}
	other := netip.MustParseAddr("198.51.100.1")
	h.Input(3*time.Second, bufOf(t, c.pool, fragNeeded(0, ipv4(ipOpts{proto: 17, src: addrA, dst: other, df: true}, make([]byte, 1480)))), c)
	if got := h.PathMTU(3*time.Second, other); got != 1492 {
		t.Fatalf("plateau %d, want 1492", got)
	}
	// Learnt values expire after PMTUExpires.
	if got := h.PathMTU(3*time.Second+10*time.Minute, remote); got != 1500 {
		t.Fatalf("after expiry %d", got)
	}
	checkPool(t, c.pool, 0)
}
