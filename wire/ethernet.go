package wire

import (
	"encoding/binary"
	"fmt"
)

// Ethernet constants.
const (
	EthernetHeaderLen = 14     // destination, source, EtherType
	VLANTagLen        = 4      // one 802.1Q or 802.1ad tag
	EtherTypeIPv4     = 0x0800 // Internet Protocol version 4
	EtherTypeARP      = 0x0806 // Address Resolution Protocol
	EtherTypeVLAN     = 0x8100 // 802.1Q customer VLAN tag (C-tag)
	EtherTypeQinQ     = 0x88a8 // 802.1ad service VLAN tag (S-tag)
	EtherTypeIPv6     = 0x86dd // Internet Protocol version 6
)

var (
	errEthernetShort  = fmt.Errorf("%w: Ethernet header needs 14 bytes", ErrTruncated)
	errEthernetTag    = fmt.Errorf("%w: Ethernet VLAN tag cut short", ErrTruncated)
	errEthernetBuild  = fmt.Errorf("%w: Ethernet builder needs 14 bytes", ErrShortBuffer)
	errEthernetVBuild = fmt.Errorf("%w: tagged Ethernet builder needs 18 bytes", ErrShortBuffer)
	errEthernetVID    = fmt.Errorf("%w: VLAN ID above 4095", ErrUnsupported)
)

// Ethernet is a view of an Ethernet II frame (without the FCS): the MAC
// header, up to two VLAN tags, and the payload. The payload may end in
// link padding; the network-layer parsers trim it.
//
// Tagging: an outer 802.1Q (0x8100) or 802.1ad (0x88a8) tag is skipped, and
// then one more 802.1Q tag (QinQ). EtherType reports the type after the
// tags. A frame with a third tag parses, with EtherType 0x8100, and is left
// to the caller to drop. EtherType values below 0x0600 are IEEE 802.3
// lengths (LLC frames); they are reported as they are.
type Ethernet []byte

// ParseEthernet checks that b holds the MAC header and any VLAN tags it
// announces, and returns the frame as a view.
func ParseEthernet(b []byte) (Ethernet, error) {
	if len(b) < EthernetHeaderLen {
		return nil, errEthernetShort
	}
	if t := binary.BigEndian.Uint16(b[12:14]); t == EtherTypeVLAN || t == EtherTypeQinQ {
		if len(b) < EthernetHeaderLen+VLANTagLen {
			return nil, errEthernetTag
		}
		if binary.BigEndian.Uint16(b[16:18]) == EtherTypeVLAN && len(b) < EthernetHeaderLen+2*VLANTagLen {
			return nil, errEthernetTag
		}
	}
	return Ethernet(b), nil
}

// Dst is the destination MAC address.
func (e Ethernet) Dst() MAC { return MAC(e[0:6]) }

// Src is the source MAC address.
func (e Ethernet) Src() MAC { return MAC(e[6:12]) }

// tags is the number of VLAN tags ParseEthernet accepted (0, 1 or 2).
func (e Ethernet) tags() int {
	if len(e) < EthernetHeaderLen+VLANTagLen {
		return 0
	}
	if t := binary.BigEndian.Uint16(e[12:14]); t != EtherTypeVLAN && t != EtherTypeQinQ {
		return 0
	}
	if len(e) >= EthernetHeaderLen+2*VLANTagLen && binary.BigEndian.Uint16(e[16:18]) == EtherTypeVLAN {
		return 2
	}
	return 1
}

// HeaderLen is the length of the MAC header including VLAN tags: 14, 18 or
// 22.
func (e Ethernet) HeaderLen() int { return EthernetHeaderLen + VLANTagLen*e.tags() }

// EtherType is the type of the payload, after any VLAN tags.
func (e Ethernet) EtherType() uint16 {
	n := e.HeaderLen()
	return binary.BigEndian.Uint16(e[n-2 : n])
}

// VLAN reports the VLAN ID (the low 12 bits of the TCI) of the outermost
// tag, and whether the frame is tagged at all. For a double-tagged frame
// InnerVLAN gives the inner (customer) tag.
func (e Ethernet) VLAN() (id uint16, ok bool) {
	if e.tags() == 0 {
		return 0, false
	}
	return binary.BigEndian.Uint16(e[14:16]) & 0x0fff, true
}

// InnerVLAN reports the VLAN ID of the inner tag of a double-tagged (QinQ)
// frame, and whether there is one.
func (e Ethernet) InnerVLAN() (id uint16, ok bool) {
	if e.tags() != 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(e[18:20]) & 0x0fff, true
}

// VLANPriority is the 802.1p priority code point (the top 3 bits of the
// TCI) of the outermost tag, 0 when untagged.
func (e Ethernet) VLANPriority() uint8 {
	if e.tags() == 0 {
		return 0
	}
	return e[14] >> 5
}

// Payload is everything after the MAC header and tags.
func (e Ethernet) Payload() []byte { return e[e.HeaderLen():] }

// SetDst sets the destination address.
func (e Ethernet) SetDst(m MAC) { copy(e[0:6], m[:]) }

// SetSrc sets the source address.
func (e Ethernet) SetSrc(m MAC) { copy(e[6:12], m[:]) }

// PutEthernet writes an untagged Ethernet header into b and returns 14.
func PutEthernet(b []byte, dst, src MAC, etherType uint16) (int, error) {
	if len(b) < EthernetHeaderLen {
		return 0, errEthernetBuild
	}
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	binary.BigEndian.PutUint16(b[12:14], etherType)
	return EthernetHeaderLen, nil
}

// PutEthernetVLAN writes an Ethernet header with one 802.1Q tag (VLAN ID
// vid, priority pcp in its low 3 bits) into b and returns 18.
func PutEthernetVLAN(b []byte, dst, src MAC, vid uint16, pcp uint8, etherType uint16) (int, error) {
	if len(b) < EthernetHeaderLen+VLANTagLen {
		return 0, errEthernetVBuild
	}
	if vid > 0x0fff {
		return 0, errEthernetVID
	}
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	binary.BigEndian.PutUint16(b[12:14], EtherTypeVLAN)
	binary.BigEndian.PutUint16(b[14:16], uint16(pcp&7)<<13|vid)
	binary.BigEndian.PutUint16(b[16:18], etherType)
	return EthernetHeaderLen + VLANTagLen, nil
}
