package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IP protocol numbers (the IPv4 Protocol field and the IPv6 Next Header
// field share one registry).
const (
	ProtoICMP   = 1  // ICMP for IPv4
	ProtoTCP    = 6  // TCP
	ProtoUDP    = 17 // UDP
	ProtoICMPv6 = 58 // ICMP for IPv6
)

// IPv4 constants.
const (
	IPv4MinHeaderLen = 20    // header without options
	IPv4MaxHeaderLen = 60    // IHL 15
	IPv4MaxTotalLen  = 65535 // largest total length
	IPv4DefaultTTL   = 64    // Linux net.ipv4.ip_default_ttl
)

var (
	errIPv4Short      = fmt.Errorf("%w: IPv4 header needs 20 bytes", ErrTruncated)
	errIPv4Version    = fmt.Errorf("%w: IPv4 version nibble is not 4", ErrBadVersion)
	errIPv4IHL        = fmt.Errorf("%w: IPv4 IHL below 5", ErrBadLength)
	errIPv4Options    = fmt.Errorf("%w: IPv4 options run past the buffer", ErrTruncated)
	errIPv4TotalShort = fmt.Errorf("%w: IPv4 total length below header length", ErrBadLength)
	errIPv4TotalLong  = fmt.Errorf("%w: IPv4 total length exceeds the buffer", ErrTruncated)
	errIPv4Build      = fmt.Errorf("%w: IPv4 builder needs 20 bytes", ErrShortBuffer)
	errIPv4BuildLen   = fmt.Errorf("%w: IPv4 total length below 20", ErrBadLength)
	errIPv4BuildFrag  = fmt.Errorf("%w: IPv4 fragment offset not a multiple of 8 below 65536", ErrBadLength)
	errIPv4BuildAddr  = fmt.Errorf("%w: address is not IPv4", ErrUnsupported)
)

// IPv4 is a view of an IPv4 datagram (RFC 791): the header with any
// options, then the payload, exactly TotalLen bytes in all. Options are
// not interpreted; Payload starts at IHL*4.
type IPv4 []byte

// ParseIPv4 checks the version, that the IHL is at least 5 and the header
// fits in b, and that the total length covers the header and fits in b.
// It returns the datagram trimmed to its total length (link padding
// dropped). The header checksum is not verified: see ChecksumValid.
func ParseIPv4(b []byte) (IPv4, error) {
	if len(b) < IPv4MinHeaderLen {
		return nil, errIPv4Short
	}
	if b[0]>>4 != 4 {
		return nil, errIPv4Version
	}
	hl := int(b[0]&0x0f) * 4
	if hl < IPv4MinHeaderLen {
		return nil, errIPv4IHL
	}
	if hl > len(b) {
		return nil, errIPv4Options
	}
	tl := int(binary.BigEndian.Uint16(b[2:4]))
	if tl < hl {
		return nil, errIPv4TotalShort
	}
	if tl > len(b) {
		return nil, errIPv4TotalLong
	}
	return IPv4(b[:tl]), nil
}

// ParseIPv4Partial is ParseIPv4 for a datagram that may have been cut
// short, such as the one quoted in an ICMP error: the header must be
// complete and consistent, but the view ends where b or the total length
// ends, whichever comes first.
func ParseIPv4Partial(b []byte) (IPv4, error) {
	if len(b) < IPv4MinHeaderLen {
		return nil, errIPv4Short
	}
	if b[0]>>4 != 4 {
		return nil, errIPv4Version
	}
	hl := int(b[0]&0x0f) * 4
	if hl < IPv4MinHeaderLen {
		return nil, errIPv4IHL
	}
	if hl > len(b) {
		return nil, errIPv4Options
	}
	tl := int(binary.BigEndian.Uint16(b[2:4]))
	if tl < hl {
		return nil, errIPv4TotalShort
	}
	return IPv4(b[:min(tl, len(b))]), nil
}

// HeaderLen is the header length in bytes, IHL*4 (20 to 60).
func (h IPv4) HeaderLen() int {
	// Parse guarantees 20 <= IHL*4 <= len(h); the clamp keeps Options and
	// Payload in bounds even if the IHL is rewritten after parsing.
	return min(max(int(h[0]&0x0f)*4, IPv4MinHeaderLen), len(h))
}

// TOS is the type-of-service byte (DSCP in the top six bits, ECN in the
// low two).
func (h IPv4) TOS() uint8 { return h[1] }

// TotalLen is the total length field: header plus payload.
func (h IPv4) TotalLen() int { return int(binary.BigEndian.Uint16(h[2:4])) }

// ID is the identification field.
func (h IPv4) ID() uint16 { return binary.BigEndian.Uint16(h[4:6]) }

// DontFragment reports the DF flag.
func (h IPv4) DontFragment() bool { return h[6]&0x40 != 0 }

// MoreFragments reports the MF flag.
func (h IPv4) MoreFragments() bool { return h[6]&0x20 != 0 }

// FragOffset is the fragment offset in bytes (the field times 8).
func (h IPv4) FragOffset() int { return int(binary.BigEndian.Uint16(h[6:8])&0x1fff) * 8 }

// IsFragment reports whether the datagram is part of a fragmented one: MF
// is set or the offset is non-zero.
func (h IPv4) IsFragment() bool { return binary.BigEndian.Uint16(h[6:8])&0x3fff != 0 }

// TTL is the time-to-live field.
func (h IPv4) TTL() uint8 { return h[8] }

// Protocol is the protocol of the payload (ProtoTCP, ProtoUDP, ...).
func (h IPv4) Protocol() uint8 { return h[9] }

// Checksum is the header checksum field as stored.
func (h IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(h[10:12]) }

// Src4 is the source address.
func (h IPv4) Src4() [4]byte { return [4]byte(h[12:16]) }

// Dst4 is the destination address.
func (h IPv4) Dst4() [4]byte { return [4]byte(h[16:20]) }

// Src is the source address.
func (h IPv4) Src() netip.Addr { return netip.AddrFrom4(h.Src4()) }

// Dst is the destination address.
func (h IPv4) Dst() netip.Addr { return netip.AddrFrom4(h.Dst4()) }

// Options is the raw options area between the fixed header and IHL*4,
// empty when IHL is 5.
func (h IPv4) Options() []byte { return h[IPv4MinHeaderLen:h.HeaderLen()] }

// Payload is the data after the header, up to the total length.
func (h IPv4) Payload() []byte { return h[h.HeaderLen():] }

// ChecksumValid reports whether the header checksum verifies.
func (h IPv4) ChecksumValid() bool { return Checksum(h[:h.HeaderLen()]) == 0 }

// SetTOS sets the type-of-service byte. The checksum is not updated.
func (h IPv4) SetTOS(tos uint8) { h[1] = tos }

// SetTotalLen sets the total length field. The checksum is not updated.
func (h IPv4) SetTotalLen(n uint16) { binary.BigEndian.PutUint16(h[2:4], n) }

// SetID sets the identification field. The checksum is not updated.
func (h IPv4) SetID(id uint16) { binary.BigEndian.PutUint16(h[4:6], id) }

// SetTTL sets the TTL. The checksum is not updated; see DecTTL.
func (h IPv4) SetTTL(ttl uint8) { h[8] = ttl }

// DecTTL decrements a non-zero TTL by one and updates the checksum
// incrementally (RFC 1624), as a forwarding hop does. It returns the new
// TTL; a TTL already zero is left alone.
func (h IPv4) DecTTL() uint8 {
	if h[8] == 0 {
		return 0
	}
	old := binary.BigEndian.Uint16(h[8:10])
	h[8]--
	binary.BigEndian.PutUint16(h[10:12], UpdateChecksum16(h.Checksum(), old, binary.BigEndian.Uint16(h[8:10])))
	return h[8]
}

// SetProtocol sets the protocol field. The checksum is not updated.
func (h IPv4) SetProtocol(p uint8) { h[9] = p }

// SetSrc4 sets the source address. The checksum is not updated.
func (h IPv4) SetSrc4(a [4]byte) { copy(h[12:16], a[:]) }

// SetDst4 sets the destination address. The checksum is not updated.
func (h IPv4) SetDst4(a [4]byte) { copy(h[16:20], a[:]) }

// SetSrc sets the source address; a must be IPv4 (or IPv4-mapped IPv6),
// anything else is ignored. The checksum is not updated.
func (h IPv4) SetSrc(a netip.Addr) {
	if a.Is4() || a.Is4In6() {
		h.SetSrc4(a.As4())
	}
}

// SetDst sets the destination address, as SetSrc.
func (h IPv4) SetDst(a netip.Addr) {
	if a.Is4() || a.Is4In6() {
		h.SetDst4(a.As4())
	}
}

// SetChecksum computes the header checksum and stores it.
func (h IPv4) SetChecksum() {
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:12], Checksum(h[:h.HeaderLen()]))
}

// IPv4Header holds the fields PutIPv4 writes.
type IPv4Header struct {
	TOS      uint8
	TotalLen uint16 // header (20) plus payload
	ID       uint16
	DF       bool   // don't fragment
	MF       bool   // more fragments
	FragOff  uint16 // fragment offset in bytes, a multiple of 8
	TTL      uint8
	Protocol uint8
	Src, Dst netip.Addr // IPv4 or IPv4-mapped IPv6
}

// PutIPv4 writes a 20-byte IPv4 header (no options) with its checksum into
// b and returns 20. The payload, TotalLen-20 bytes, is the caller's to
// write after it.
func PutIPv4(b []byte, h *IPv4Header) (int, error) {
	if len(b) < IPv4MinHeaderLen {
		return 0, errIPv4Build
	}
	if h.TotalLen < IPv4MinHeaderLen {
		return 0, errIPv4BuildLen
	}
	if h.FragOff&7 != 0 {
		return 0, errIPv4BuildFrag
	}
	if !(h.Src.Is4() || h.Src.Is4In6()) || !(h.Dst.Is4() || h.Dst.Is4In6()) {
		return 0, errIPv4BuildAddr
	}
	ff := h.FragOff / 8
	if h.DF {
		ff |= 0x4000
	}
	if h.MF {
		ff |= 0x2000
	}
	s, d := h.Src.As4(), h.Dst.As4()
	putIPv4(b, h.TOS, h.TotalLen, h.ID, ff, h.TTL, h.Protocol,
		binary.BigEndian.Uint32(s[:]), binary.BigEndian.Uint32(d[:]))
	return IPv4MinHeaderLen, nil
}

// PutIPv4Raw writes a 20-byte IPv4 header (no options) with its checksum
// into b and returns 20, as PutIPv4, for per-packet output paths that
// already hold the fields in wire form: flagsFrag is the raw flags and
// fragment offset word (0x4000 for DF), src and dst the addresses as
// big-endian numbers. It checks only that b and totalLen are at least 20.
func PutIPv4Raw(b []byte, tos uint8, totalLen, id, flagsFrag uint16, ttl, proto uint8, src, dst uint32) (int, error) {
	if len(b) < IPv4MinHeaderLen {
		return 0, errIPv4Build
	}
	if totalLen < IPv4MinHeaderLen {
		return 0, errIPv4BuildLen
	}
	putIPv4(b, tos, totalLen, id, flagsFrag, ttl, proto, src, dst)
	return IPv4MinHeaderLen, nil
}

func putIPv4(b []byte, tos uint8, totalLen, id, ff uint16, ttl, proto uint8, src, dst uint32) {
	b = b[:IPv4MinHeaderLen]
	w0 := uint16(4<<12|IPv4MinHeaderLen/4<<8) | uint16(tos)
	w4 := uint16(ttl)<<8 | uint16(proto)
	// The checksum is summed from the field values rather than read back
	// from b: a freshly taken transmit buffer is often not in cache, and
	// loading the just-stored header would wait for the line to arrive
	// (and defeat store forwarding, the stores being narrower than the
	// loads). Nine 16-bit words cannot overflow 32 bits.
	sum := uint32(w0) + uint32(totalLen) + uint32(id) + uint32(ff) + uint32(w4) +
		src>>16 + src&0xffff + dst>>16 + dst&0xffff
	binary.BigEndian.PutUint64(b[0:8], uint64(w0)<<48|uint64(totalLen)<<32|uint64(id)<<16|uint64(ff))
	binary.BigEndian.PutUint32(b[8:12], uint32(w4)<<16|uint32(Fold(sum)))
	binary.BigEndian.PutUint32(b[12:16], src)
	binary.BigEndian.PutUint32(b[16:20], dst)
}
