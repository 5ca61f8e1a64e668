package ip

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/ustack/ustack/wire"
)

// Every drop reason is counted in its own field (and its MIB aggregate),
// nothing is sent, and the buffer goes back to the pool.
func TestInputDropReasons(t *testing.T) {
	udp := func(o ipOpts) []byte { o.proto = 17; return ipv4(o, make([]byte, 8)) }
	good := ipOpts{src: addrB, dst: addrA}
	withIP := func(p []byte) []byte { return eth(macA, macB, wire.EtherTypeIPv4, p) }
	mutate := func(p []byte, f func([]byte), fixSum bool) []byte {
		f(p)
		if fixSum {
			wire.IPv4(p).SetChecksum()
		}
		return p
	}
	vlan := make([]byte, 18+28)
	wire.PutEthernetVLAN(vlan, macA, macB, 5, 0, wire.EtherTypeARP)
	cases := []struct {
		name   string
		frame  []byte
		fields []string
	}{
		{"short frame", make([]byte, 10), []string{"EthInTruncated"}},
		{"other MAC", eth(wire.MAC{2, 9, 9, 9, 9, 9}, macB, wire.EtherTypeIPv4, udp(good)), []string{"EthInNotForUs"}},
		{"multicast MAC", eth(wire.MAC{1, 0, 0x5e, 0, 0, 1}, macB, wire.EtherTypeIPv4, udp(good)), []string{"EthInNotForUs"}},
		{"multicast src MAC", eth(macA, wire.MAC{1, 2, 3, 4, 5, 6}, wire.EtherTypeIPv4, udp(good)), []string{"EthInBadSrc"}},
		{"own src MAC", eth(macA, macA, wire.EtherTypeIPv4, udp(good)), []string{"EthInBadSrc"}},
		{"VLAN tagged", vlan, []string{"EthInTagged"}},
		{"IPv6", eth(macA, macB, wire.EtherTypeIPv6, make([]byte, 40)), []string{"EthInUnknownType"}},
		{"IPv4 short", withIP(make([]byte, 12)), []string{"InReceives", "InTruncatedPkts"}},
		{"bad version", withIP(mutate(udp(good), func(p []byte) { p[0] = 0x65 }, true)), []string{"InReceives", "InBadVersion", "InHdrErrors"}},
		{"IHL 4", withIP(mutate(udp(good), func(p []byte) { p[0] = 0x44 }, false)), []string{"InReceives", "InBadHeaderLen", "InHdrErrors"}},
		{"total length beyond frame", withIP(mutate(udp(good), func(p []byte) { p[3] = 200 }, true)), []string{"InReceives", "InTruncatedPkts"}},
		{"total length below header", withIP(mutate(udp(good), func(p []byte) { p[2], p[3] = 0, 10 }, true)), []string{"InReceives", "InBadHeaderLen", "InHdrErrors"}},
		{"bad checksum", withIP(mutate(udp(good), func(p []byte) { p[10] ^= 1 }, false)), []string{"InReceives", "InCsumErrors", "InHdrErrors"}},
		{"not our address", withIP(udp(ipOpts{src: addrB, dst: netip.MustParseAddr("10.0.0.9")})), []string{"InReceives", "InNotForUs", "InAddrErrors"}},
		{"unicast in L2 broadcast", eth(wire.BroadcastMAC(), macB, wire.EtherTypeIPv4, udp(good)), []string{"InReceives", "InNotForUs", "InAddrErrors"}},
		{"multicast dst", withIP(udp(ipOpts{src: addrB, dst: netip.MustParseAddr("224.0.0.1")})), []string{"InReceives", "InNotForUs", "InAddrErrors"}},
		{"broadcast src", withIP(udp(ipOpts{src: netip.MustParseAddr("10.0.0.255"), dst: addrA})), []string{"InReceives", "InMartianSrc", "InAddrErrors"}},
		{"multicast src", withIP(udp(ipOpts{src: netip.MustParseAddr("224.1.1.1"), dst: addrA})), []string{"InReceives", "InMartianSrc", "InAddrErrors"}},
		{"own src", withIP(udp(ipOpts{src: addrA, dst: addrA})), []string{"InReceives", "InMartianSrc", "InAddrErrors"}},
		{"loopback src", withIP(udp(ipOpts{src: netip.MustParseAddr("127.0.0.1"), dst: addrA})), []string{"InReceives", "InMartianSrc", "InAddrErrors"}},
		{"unspecified src unicast", withIP(udp(ipOpts{src: netip.IPv4Unspecified(), dst: addrA})), []string{"InReceives", "InMartianSrc", "InAddrErrors"}},
		{"ragged fragment", withIP(ipv4(ipOpts{src: addrB, dst: addrA, proto: 17, mf: true}, make([]byte, 13))), []string{"InReceives", "InBadFragment", "InHdrErrors"}},
		{"fragment past 64K", withIP(ipv4(ipOpts{src: addrB, dst: addrA, proto: 17, off: 65528}, make([]byte, 16))), []string{"InReceives", "InBadFragment", "InHdrErrors"}},
		{"ICMP truncated", withIP(ipv4(ipOpts{src: addrB, dst: addrA, proto: 1}, []byte{8, 0, 0})), []string{"InReceives", "InDelivers", "InMsgs", "InErrors"}},
		{"ARP truncated", eth(macA, macB, wire.EtherTypeARP, make([]byte, 20)), []string{"ArpIn", "ArpInBad"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCollector(t)
			h := hostA(t, nil)
			h.Register(17, &sink{})
			h.Input(0, bufOf(t, c.pool, tc.frame), c)
			if f := c.take(); len(f) != 0 {
				t.Fatalf("sent %d frames", len(f))
			}
			want := map[string]bool{"EthInFrames": true}
			for _, f := range tc.fields {
				want[f] = true
			}
			v := reflect.ValueOf(h.Counters())
			for i := range v.NumField() {
				name := v.Type().Field(i).Name
				got := v.Field(i).Uint()
				if want[name] && got != 1 || !want[name] && got != 0 {
					t.Errorf("%s = %d, want %v", name, got, want[name])
				}
			}
			checkPool(t, c.pool, 0)
		})
	}
}

// A good datagram reaches its transport trimmed to the L4 header, padding
// removed, with its metadata.
func TestDeliverToTransport(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	s := &sink{}
	h.Register(17, s)
	payload := []byte{0, 1, 0, 2, 0, 10, 0, 0, 'h', 'i'}
	f := eth(macA, macB, wire.EtherTypeIPv4, ipv4(ipOpts{id: 42, ttl: 1, tos: 0x2e, proto: 17, src: addrB, dst: addrA}, payload))
	f = append(f, make([]byte, 20)...)
	h.Input(0, bufOf(t, c.pool, f), c)
	if len(s.pkts) != 1 {
		t.Fatal("not delivered")
	}
	p := s.pkts[0]
	if p.Src != addrB || p.Dst != addrA || p.Proto != 17 || p.TTL != 1 || p.TOS != 0x2e || p.ID != 42 ||
		p.HeaderLen != 20 || p.Broadcast || p.Reassembled || p.SrcMAC != [6]byte(macB) || string(s.data[0]) != string(payload) {
		t.Fatalf("packet %+v data %x", p, s.data[0])
	}
	// Subnet broadcast is delivered, marked.
	h.Input(0, bufOf(t, c.pool, eth(wire.BroadcastMAC(), macB, wire.EtherTypeIPv4,
		ipv4(ipOpts{proto: 17, src: addrB, dst: netip.MustParseAddr("10.0.0.255")}, payload))), c)
	if len(s.pkts) != 2 || !s.pkts[1].Broadcast {
		t.Fatal("broadcast not delivered as such")
	}
	if cn := h.Counters(); cn.InDelivers != 2 || cn.InReceives != 2 {
		t.Fatalf("counters %+v", cn)
	}
	checkPool(t, c.pool, 0)
}

// Datagrams to our own address loop back through Tick.
func TestLoopback(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	s := &sink{}
	h.Register(17, s)
	if err := h.Output(5, addrA, 17, bufOf(t, c.pool, []byte("12345678")), c); err != nil {
		t.Fatal(err)
	}
	if len(c.take()) != 0 || len(s.pkts) != 0 {
		t.Fatal("looped datagram sent or delivered synchronously")
	}
	d, ok := h.NextDeadline()
	if !ok || d != 5 {
		t.Fatalf("deadline %v %v", d, ok)
	}
	h.Tick(5, c)
	if len(s.pkts) != 1 || s.pkts[0].Src != addrA || string(s.data[0]) != "12345678" {
		t.Fatalf("loopback delivery %+v", s.pkts)
	}
	checkPool(t, c.pool, 0)
}
