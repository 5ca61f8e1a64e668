package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ARP constants (RFC 826, Ethernet hardware and IPv4 protocol only).
const (
	ARPLen     = 28 // an Ethernet/IPv4 ARP packet
	ARPRequest = 1  // operation: request
	ARPReply   = 2  // operation: reply

	arpHTypeEthernet = 1
	arpHTypeIEEE802  = 6 // accepted as Ethernet, as Linux does (RFC 2625)
)

var (
	errARPShort   = fmt.Errorf("%w: ARP packet needs 28 bytes", ErrTruncated)
	errARPHType   = fmt.Errorf("%w: ARP hardware type is not Ethernet", ErrUnsupported)
	errARPPType   = fmt.Errorf("%w: ARP protocol type is not IPv4", ErrUnsupported)
	errARPLens    = fmt.Errorf("%w: ARP address lengths are not 6 and 4", ErrUnsupported)
	errARPOp      = fmt.Errorf("%w: ARP operation is neither request nor reply", ErrUnsupported)
	errARPBuild   = fmt.Errorf("%w: ARP builder needs 28 bytes", ErrShortBuffer)
	errARPBuildOp = fmt.Errorf("%w: ARP operation is neither request nor reply", ErrUnsupported)
	errARPBuildIP = fmt.Errorf("%w: ARP protocol address is not IPv4", ErrUnsupported)
)

// ARP is a view of an ARP request or reply for IPv4 over Ethernet.
type ARP []byte

// ParseARP checks that b holds a 28-byte ARP packet with hardware type
// Ethernet (1, or IEEE 802 (6), which Linux also accepts on Ethernet),
// protocol type IPv4 (0x0800), address lengths 6 and 4 and operation
// request or reply; anything else is ErrUnsupported. It returns
// the packet trimmed to 28 bytes (Ethernet padding dropped).
func ParseARP(b []byte) (ARP, error) {
	if len(b) < ARPLen {
		return nil, errARPShort
	}
	switch {
	case binary.BigEndian.Uint16(b[0:2]) != arpHTypeEthernet && binary.BigEndian.Uint16(b[0:2]) != arpHTypeIEEE802:
		return nil, errARPHType
	case binary.BigEndian.Uint16(b[2:4]) != EtherTypeIPv4:
		return nil, errARPPType
	case b[4] != 6 || b[5] != 4:
		return nil, errARPLens
	}
	if op := binary.BigEndian.Uint16(b[6:8]); op != ARPRequest && op != ARPReply {
		return nil, errARPOp
	}
	return ARP(b[:ARPLen]), nil
}

// Op is the operation, ARPRequest or ARPReply.
func (a ARP) Op() uint16 { return binary.BigEndian.Uint16(a[6:8]) }

// SenderMAC is the sender hardware address.
func (a ARP) SenderMAC() MAC { return MAC(a[8:14]) }

// SenderIP4 is the sender protocol address.
func (a ARP) SenderIP4() [4]byte { return [4]byte(a[14:18]) }

// SenderIP is the sender protocol address.
func (a ARP) SenderIP() netip.Addr { return netip.AddrFrom4(a.SenderIP4()) }

// TargetMAC is the target hardware address (zero in a request).
func (a ARP) TargetMAC() MAC { return MAC(a[18:24]) }

// TargetIP4 is the target protocol address.
func (a ARP) TargetIP4() [4]byte { return [4]byte(a[24:28]) }

// TargetIP is the target protocol address.
func (a ARP) TargetIP() netip.Addr { return netip.AddrFrom4(a.TargetIP4()) }

// IsGratuitous reports whether sender and target protocol addresses are
// the same: an announcement of the sender's own binding (RFC 5227).
func (a ARP) IsGratuitous() bool { return a.SenderIP4() == a.TargetIP4() }

// PutARP writes an Ethernet/IPv4 ARP packet into b and returns 28. op must
// be ARPRequest or ARPReply and spa, tpa IPv4 (or IPv4-mapped) addresses.
func PutARP(b []byte, op uint16, sha MAC, spa netip.Addr, tha MAC, tpa netip.Addr) (int, error) {
	if len(b) < ARPLen {
		return 0, errARPBuild
	}
	if op != ARPRequest && op != ARPReply {
		return 0, errARPBuildOp
	}
	if !(spa.Is4() || spa.Is4In6()) || !(tpa.Is4() || tpa.Is4In6()) {
		return 0, errARPBuildIP
	}
	b = b[:ARPLen]
	binary.BigEndian.PutUint16(b[0:2], arpHTypeEthernet)
	binary.BigEndian.PutUint16(b[2:4], EtherTypeIPv4)
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:8], op)
	s, t := spa.As4(), tpa.As4()
	copy(b[8:14], sha[:])
	copy(b[14:18], s[:])
	copy(b[18:24], tha[:])
	copy(b[24:28], t[:])
	return ARPLen, nil
}
