package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IPv6 header constants.
const (
	// IPv6HeaderLen is the length of the fixed IPv6 header (RFC 8200).
	IPv6HeaderLen = 40
	// IPv6MaxExtHeaders bounds the extension-header walk in UpperLayer:
	// a packet with more extension headers than this before its upper
	// layer is refused with ErrUnsupported. Legitimate packets carry two
	// or three at most.
	IPv6MaxExtHeaders = 8
	// IPv6MinMTU is the minimum link MTU every IPv6 link supports
	// (RFC 8200 section 5).
	IPv6MinMTU = 1280
	// IPv6FragmentHeaderLen is the length of the fragment header.
	IPv6FragmentHeaderLen = 8
)

// IPv6 Next Header values for the extension headers UpperLayer knows.
const (
	IPv6HopByHop     = 0  // Hop-by-Hop Options (must come first)
	IPv6Routing      = 43 // Routing header
	IPv6Fragment     = 44 // Fragment header
	IPv6ESP          = 50 // Encapsulating Security Payload: ends the walk
	IPv6AH           = 51 // Authentication Header
	IPv6NoNextHeader = 59 // No Next Header: ends the walk
	IPv6DestOpts     = 60 // Destination Options
)

// Errors with detail, built once so that the parsers never allocate.
var (
	errIPv6Short        = fmt.Errorf("%w: IPv6 header needs 40 bytes", ErrTruncated)
	errIPv6Version      = fmt.Errorf("%w: IPv6 version nibble is not 6", ErrBadVersion)
	errIPv6Payload      = fmt.Errorf("%w: IPv6 payload length exceeds the buffer", ErrTruncated)
	errIPv6ExtShort     = fmt.Errorf("%w: IPv6 extension header runs past the payload", ErrTruncated)
	errIPv6HopByHop     = fmt.Errorf("%w: IPv6 hop-by-hop header not first", ErrBadOption)
	errIPv6NotExt       = fmt.Errorf("%w: not an IPv6 extension header", ErrUnsupported)
	errIPv6OptPast      = fmt.Errorf("%w: IPv6 option runs past its header", ErrBadOption)
	errIPv6TooManyExt   = fmt.Errorf("%w: more than %d IPv6 extension headers", ErrUnsupported, IPv6MaxExtHeaders)
	errIPv6Addr         = fmt.Errorf("%w: address is not IPv6", ErrUnsupported)
	errIPv6FlowLabel    = fmt.Errorf("%w: flow label exceeds 20 bits", ErrUnsupported)
	errIPv6FragOffset   = fmt.Errorf("%w: fragment offset not a multiple of 8 below 65536", ErrBadLength)
	errIPv6BuildPayload = fmt.Errorf("%w: IPv6 builder needs 40 bytes", ErrShortBuffer)
	errIPv6BuildFrag    = fmt.Errorf("%w: fragment header needs 8 bytes", ErrShortBuffer)
)

// IPv6 is a view of an IPv6 packet: the 40-byte fixed header followed by
// exactly PayloadLen bytes (ParseIPv6 trims trailing link padding). Build
// it with ParseIPv6; accessors never read past the slice.
type IPv6 []byte

// ParseIPv6 checks the version and that the buffer holds the fixed header
// and the whole payload, and returns a view trimmed to 40+PayloadLen bytes.
// Extension headers are not examined; UpperLayer walks them.
// Jumbograms (payload length 0 with a jumbo option, RFC 2675) are not
// supported: they parse as an empty payload whose walk reports
// ErrTruncated.
func ParseIPv6(b []byte) (IPv6, error) {
	if len(b) < IPv6HeaderLen {
		return nil, errIPv6Short
	}
	if b[0]>>4 != 6 {
		return nil, errIPv6Version
	}
	n := IPv6HeaderLen + int(binary.BigEndian.Uint16(b[4:6]))
	if n > len(b) {
		return nil, errIPv6Payload
	}
	return IPv6(b[:n]), nil
}

// ParseIPv6Partial is ParseIPv6 for a packet that may have been cut short,
// such as the invoking packet quoted in an ICMPv6 error: the payload may be
// shorter than PayloadLen says (the view ends where the buffer or the
// payload length ends, whichever comes first). The fixed header must be
// complete.
func ParseIPv6Partial(b []byte) (IPv6, error) {
	if len(b) < IPv6HeaderLen {
		return nil, errIPv6Short
	}
	if b[0]>>4 != 6 {
		return nil, errIPv6Version
	}
	n := IPv6HeaderLen + int(binary.BigEndian.Uint16(b[4:6]))
	if n > len(b) {
		n = len(b)
	}
	return IPv6(b[:n]), nil
}

// TrafficClass is the 8-bit traffic class (DSCP and ECN bits).
func (h IPv6) TrafficClass() uint8 { return uint8(binary.BigEndian.Uint16(h[0:2]) >> 4) }

// FlowLabel is the 20-bit flow label.
func (h IPv6) FlowLabel() uint32 { return binary.BigEndian.Uint32(h[0:4]) & 0xfffff }

// PayloadLen is the payload length field: the bytes after the fixed header.
func (h IPv6) PayloadLen() int { return int(binary.BigEndian.Uint16(h[4:6])) }

// NextHeader is the fixed header's Next Header field (an extension header
// or the upper-layer protocol).
func (h IPv6) NextHeader() uint8 { return h[6] }

// HopLimit is the hop limit.
func (h IPv6) HopLimit() uint8 { return h[7] }

// Src16 is the source address as bytes.
func (h IPv6) Src16() (a [16]byte) { copy(a[:], h[8:24]); return a }

// Dst16 is the destination address as bytes.
func (h IPv6) Dst16() (a [16]byte) { copy(a[:], h[24:40]); return a }

// Src is the source address.
func (h IPv6) Src() netip.Addr { return netip.AddrFrom16(h.Src16()) }

// Dst is the destination address.
func (h IPv6) Dst() netip.Addr { return netip.AddrFrom16(h.Dst16()) }

// Payload is everything after the fixed header, extension headers
// included (see UpperLayer).
func (h IPv6) Payload() []byte { return h[IPv6HeaderLen:] }

// SetTrafficClass sets the traffic class.
func (h IPv6) SetTrafficClass(tc uint8) {
	v := binary.BigEndian.Uint32(h[0:4])
	v = v&^(0xff<<20) | uint32(tc)<<20
	binary.BigEndian.PutUint32(h[0:4], v)
}

// SetFlowLabel sets the flow label; bits above the low 20 are ignored.
func (h IPv6) SetFlowLabel(fl uint32) {
	v := binary.BigEndian.Uint32(h[0:4])
	v = v&^0xfffff | fl&0xfffff
	binary.BigEndian.PutUint32(h[0:4], v)
}

// SetPayloadLen sets the payload length field.
func (h IPv6) SetPayloadLen(n uint16) { binary.BigEndian.PutUint16(h[4:6], n) }

// SetNextHeader sets the fixed header's Next Header field.
func (h IPv6) SetNextHeader(nh uint8) { h[6] = nh }

// SetHopLimit sets the hop limit.
func (h IPv6) SetHopLimit(hl uint8) { h[7] = hl }

// SetSrc16 sets the source address.
func (h IPv6) SetSrc16(a [16]byte) { copy(h[8:24], a[:]) }

// SetDst16 sets the destination address.
func (h IPv6) SetDst16(a [16]byte) { copy(h[24:40], a[:]) }

// SetSrc sets the source address; a must be an IPv6 address (an
// IPv4-mapped one is written as such), anything else is ignored.
func (h IPv6) SetSrc(a netip.Addr) {
	if a.Is6() {
		h.SetSrc16(a.As16())
	}
}

// SetDst sets the destination address, as SetSrc.
func (h IPv6) SetDst(a netip.Addr) {
	if a.Is6() {
		h.SetDst16(a.As16())
	}
}

// IPv6Frag describes the fragment header UpperLayer met, if any.
type IPv6Frag struct {
	// Present reports that the packet has a fragment header; the other
	// fields are zero otherwise.
	Present bool
	// NextHeader is the fragment header's Next Header: the first header
	// of the fragmentable part.
	NextHeader uint8
	// Offset is the fragment offset in bytes (a multiple of 8).
	Offset int
	// More is the M flag: more fragments follow.
	More bool
	// ID is the fragment identification.
	ID uint32
	// HeaderOff is where the fragment header starts, counted from the
	// start of the IPv6 header: the length of the unfragmentable part,
	// fixed header included. The fragment data starts at HeaderOff+8.
	HeaderOff int
	// PrevNextHeaderOff is the index (from the start of the IPv6 header)
	// of the Next Header byte that names the fragment header: 6 when the
	// fragment header follows the fixed header. Reassembly rewrites that
	// byte with NextHeader (RFC 8200 section 4.5).
	PrevNextHeaderOff int
}

// Atomic reports a fragment header that describes a whole packet (offset
// 0, no more fragments; RFC 6946).
func (f IPv6Frag) Atomic() bool { return f.Present && f.Offset == 0 && !f.More }

// UpperLayer walks the extension headers (hop-by-hop, routing, destination
// options, AH) and returns the upper-layer protocol number and the offset,
// from the start of the IPv6 header, where its header starts.
//
// The walk stops at:
//   - a fragment header: proto is the fragment header's Next Header, off
//     is where the fragment data starts, and frag describes the header.
//     Whatever follows belongs to the fragmentable part, so callers
//     reassemble first and walk the reassembled packet again;
//   - ESP (50) or No Next Header (59), returned as proto with off pointing
//     after the last header walked;
//   - any other value, which is taken as the upper-layer protocol.
//
// Errors: an extension header running past the payload (ErrTruncated), a
// hop-by-hop header anywhere but first (ErrBadOption), more than
// IPv6MaxExtHeaders extension headers (ErrUnsupported). Options inside
// hop-by-hop and destination options headers are not interpreted.
func (h IPv6) UpperLayer() (proto uint8, off int, frag IPv6Frag, err error) {
	if len(h) < IPv6HeaderLen {
		return 0, 0, frag, errIPv6Short
	}
	proto = h[6]
	off = IPv6HeaderLen
	prev := 6
	for n := 0; ; n++ {
		var l int
		switch proto {
		case IPv6HopByHop, IPv6Routing, IPv6DestOpts:
			if proto == IPv6HopByHop && n != 0 {
				return 0, 0, frag, errIPv6HopByHop
			}
			if len(h)-off < 2 {
				return 0, 0, frag, errIPv6ExtShort
			}
			l = (int(h[off+1]) + 1) * 8
		case IPv6AH:
			if len(h)-off < 2 {
				return 0, 0, frag, errIPv6ExtShort
			}
			l = (int(h[off+1]) + 2) * 4
		case IPv6Fragment:
			if len(h)-off < IPv6FragmentHeaderLen {
				return 0, 0, frag, errIPv6ExtShort
			}
			fo := binary.BigEndian.Uint16(h[off+2 : off+4])
			frag = IPv6Frag{
				Present:           true,
				NextHeader:        h[off],
				Offset:            int(fo &^ 7),
				More:              fo&1 != 0,
				ID:                binary.BigEndian.Uint32(h[off+4 : off+8]),
				HeaderOff:         off,
				PrevNextHeaderOff: prev,
			}
			return h[off], off + IPv6FragmentHeaderLen, frag, nil
		default:
			return proto, off, frag, nil
		}
		if n >= IPv6MaxExtHeaders {
			return 0, 0, frag, errIPv6TooManyExt
		}
		if len(h)-off < l {
			return 0, 0, frag, errIPv6ExtShort
		}
		prev = off
		proto = h[off]
		off += l
	}
}

// IsIPv6ExtHeader reports whether proto names an extension header that
// UpperLayer walks over: hop-by-hop, routing, fragment, destination
// options or AH.
func IsIPv6ExtHeader(proto uint8) bool {
	switch proto {
	case IPv6HopByHop, IPv6Routing, IPv6Fragment, IPv6DestOpts, IPv6AH:
		return true
	}
	return false
}

// ExtHeader returns the extension header of type proto that starts at
// offset off (from the start of the IPv6 header), whole (its Next Header
// and length bytes included), and its Next Header value. It lets callers
// visit the chain themselves, for instance to act on hop-by-hop or
// destination options with IPv6Option:
//
//	proto, off := h.NextHeader(), wire.IPv6HeaderLen
//	for n := 0; wire.IsIPv6ExtHeader(proto) && n < wire.IPv6MaxExtHeaders; n++ {
//		hdr, next, err := h.ExtHeader(proto, off)
//		if err != nil { ... }
//		proto, off = next, off+len(hdr)
//	}
//
// A proto that is not an extension header gives ErrUnsupported; a header
// (or an off) past the end of the payload gives ErrTruncated.
func (h IPv6) ExtHeader(proto uint8, off int) (hdr []byte, next uint8, err error) {
	if !IsIPv6ExtHeader(proto) {
		return nil, 0, errIPv6NotExt
	}
	if off < 0 || len(h)-off < 2 {
		return nil, 0, errIPv6ExtShort
	}
	var l int
	switch proto {
	case IPv6Fragment:
		l = IPv6FragmentHeaderLen
	case IPv6AH:
		l = (int(h[off+1]) + 2) * 4
	default:
		l = (int(h[off+1]) + 1) * 8
	}
	if len(h)-off < l {
		return nil, 0, errIPv6ExtShort
	}
	return h[off : off+l], h[off], nil
}

// Option types of hop-by-hop and destination options headers (RFC 8200
// section 4.2, RFC 2711, RFC 2675).
const (
	IPv6OptPad1        = 0x00
	IPv6OptPadN        = 0x01
	IPv6OptRouterAlert = 0x05
	IPv6OptJumbo       = 0xc2
)

// IPv6Option reads the option at hdr[off:] of a hop-by-hop or destination
// options header hdr (whole, as ExtHeader returns it: the first option is
// at offset 2) and returns its type, its data and the offset of the next
// option; there are no more when next == len(hdr). Pad1 is a single byte
// without length or data. An option running past hdr gives ErrBadOption.
//
// For a type the caller does not recognize, RFC 8200 section 4.2 sets the
// action by typ>>6: 0 skip the option; 1 discard the packet; 2 discard it
// and send a Parameter Problem, code 2, pointing at the option; 3 the
// same, but only when the destination is not multicast.
func IPv6Option(hdr []byte, off int) (typ uint8, data []byte, next int, err error) {
	if off < 0 || off >= len(hdr) {
		return 0, nil, 0, errIPv6OptPast
	}
	typ = hdr[off]
	if typ == IPv6OptPad1 {
		return typ, nil, off + 1, nil
	}
	if len(hdr)-off < 2 || len(hdr)-off-2 < int(hdr[off+1]) {
		return 0, nil, 0, errIPv6OptPast
	}
	end := off + 2 + int(hdr[off+1])
	return typ, hdr[off+2 : end], end, nil
}

// IPv6Header holds the fields PutIPv6 writes.
type IPv6Header struct {
	TrafficClass uint8
	FlowLabel    uint32 // 20 bits
	PayloadLen   uint16
	NextHeader   uint8
	HopLimit     uint8
	Src, Dst     netip.Addr // must be IPv6 (Is6)
}

// PutIPv6 writes the 40-byte fixed header described by h to b and returns
// 40. The payload is the caller's to write after it. Addresses that are not
// IPv6 and flow labels over 20 bits give ErrUnsupported; a short b gives
// ErrShortBuffer.
func PutIPv6(b []byte, h *IPv6Header) (int, error) {
	if len(b) < IPv6HeaderLen {
		return 0, errIPv6BuildPayload
	}
	if !h.Src.Is6() || !h.Dst.Is6() {
		return 0, errIPv6Addr
	}
	if h.FlowLabel > 0xfffff {
		return 0, errIPv6FlowLabel
	}
	binary.BigEndian.PutUint32(b[0:4], 6<<28|uint32(h.TrafficClass)<<20|h.FlowLabel)
	binary.BigEndian.PutUint16(b[4:6], h.PayloadLen)
	b[6] = h.NextHeader
	b[7] = h.HopLimit
	s, d := h.Src.As16(), h.Dst.As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
	return IPv6HeaderLen, nil
}

// PutIPv6Fragment writes an 8-byte fragment header (RFC 8200 section 4.5)
// to b and returns 8. offset is in bytes and must be a multiple of 8 below
// 65536 (ErrBadLength otherwise).
func PutIPv6Fragment(b []byte, nextHeader uint8, offset int, more bool, id uint32) (int, error) {
	if len(b) < IPv6FragmentHeaderLen {
		return 0, errIPv6BuildFrag
	}
	if offset < 0 || offset > 0xffff || offset&7 != 0 {
		return 0, errIPv6FragOffset
	}
	fo := uint16(offset)
	if more {
		fo |= 1
	}
	b[0] = nextHeader
	b[1] = 0
	binary.BigEndian.PutUint16(b[2:4], fo)
	binary.BigEndian.PutUint32(b[4:8], id)
	return IPv6FragmentHeaderLen, nil
}
