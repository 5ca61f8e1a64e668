package ustack_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/wire"
)

// rawUDPFrame builds an Ethernet frame carrying a UDP datagram from
// 10.0.0.2:src (mem's second end) to the stack at 10.0.0.1:dst, with a
// correct checksum unless corrupt.
func rawUDPFrame(t *testing.T, l *mem.Link, srcPort, dstPort uint16, payload []byte, corrupt bool) *link.Buf {
	t.Helper()
	b := l.Pool().Get()
	n := wire.EthernetHeaderLen + wire.IPv4MinHeaderLen + wire.UDPHeaderLen + len(payload)
	f := b.Extend(n)
	wire.PutEthernet(f, mem.DefaultMACA, mem.DefaultMACB, wire.EtherTypeIPv4)
	ipb := f[wire.EthernetHeaderLen:]
	wire.PutIPv4(ipb, &wire.IPv4Header{TotalLen: uint16(len(ipb)), TTL: 64, Protocol: wire.ProtoUDP, Src: addrB, Dst: addrA})
	u := ipb[wire.IPv4MinHeaderLen:]
	wire.PutUDPHeader(u, srcPort, dstPort, len(payload))
	copy(u[wire.UDPHeaderLen:], payload)
	wire.UDP(u).SetChecksum4(addrB.As4(), addrA.As4())
	if corrupt {
		u[wire.UDPHeaderLen] ^= 0x40 // payload bit flip after the checksum
	}
	return b
}

// Datagrams with a bad checksum are dropped and counted (InCsumErrors,
// also InErrors); good ones from the same sender still get through.
func TestUDPChecksumErrorsCounted(t *testing.T) {
	la, lb := mem.Pair()
	s, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := listen(t, s, ":9999")
	for i, corrupt := range []bool{true, true, false} {
		b := rawUDPFrame(t, lb, 1000, 9999, []byte{'p', byte(i)}, corrupt)
		if lb.Send([]*link.Buf{b}) != 1 {
			t.Fatal("raw link refused the frame")
		}
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "p\x02" || from != netip.AddrPortFrom(addrB, 1000) {
		t.Fatalf("read %q from %v (%v), want the one good datagram", buf[:n], from, err)
	}
	k, _ := s.UDPCounters()
	if k.InCsumErrors != 2 || k.InErrors != 2 || k.InDatagrams != 1 {
		t.Fatalf("counters %+v, want 2 InCsumErrors (also InErrors) and 1 InDatagrams", k)
	}
}
