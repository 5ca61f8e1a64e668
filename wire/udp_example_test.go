package wire_test

import (
	"fmt"
	"net/netip"

	"github.com/ustack/ustack/wire"
)

// Building a UDP/IPv4 frame back to front into one buffer, then parsing it
// the way the receive path does.
func ExamplePutUDPHeader() {
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	payload := []byte("hello")
	frame := make([]byte, 128)

	// Ethernet, then IPv4, then UDP, each header written where it goes.
	eth, _ := wire.PutEthernet(frame, wire.MAC{2, 0, 0, 0, 0, 2}, wire.MAC{2, 0, 0, 0, 0, 1}, wire.EtherTypeIPv4)
	ipLen := wire.IPv4MinHeaderLen + wire.UDPHeaderLen + len(payload)
	ip, _ := wire.PutIPv4(frame[eth:], &wire.IPv4Header{
		TotalLen: uint16(ipLen), DF: true, TTL: wire.IPv4DefaultTTL, Protocol: wire.ProtoUDP, Src: src, Dst: dst,
	})
	udp := frame[eth+ip : eth+ipLen]
	wire.PutUDPHeader(udp, 40000, 7, len(payload))
	copy(udp[wire.UDPHeaderLen:], payload)
	wire.UDP(udp).SetChecksum4(src.As4(), dst.As4())
	frame = frame[:max(eth+ipLen, 60)] // pad to the Ethernet minimum

	// Receive: each view narrows to its payload; the padding is dropped.
	e, _ := wire.ParseEthernet(frame)
	h, _ := wire.ParseIPv4(e.Payload())
	u, _ := wire.ParseUDP(h.Payload())
	fmt.Println(e.Src(), "->", e.Dst(), fmt.Sprintf("%#04x", e.EtherType()))
	fmt.Println(h.Src(), "->", h.Dst(), "ttl", h.TTL(), "header ok", h.ChecksumValid())
	fmt.Println(u.SrcPort(), "->", u.DstPort(), "checksum ok", u.ChecksumValid4(h.Src4(), h.Dst4()))
	fmt.Printf("%q\n", u.Payload())
	// Output:
	// 02:00:00:00:00:01 -> 02:00:00:00:00:02 0x0800
	// 192.0.2.1 -> 192.0.2.2 ttl 64 header ok true
	// 40000 -> 7 checksum ok true
	// "hello"
}
