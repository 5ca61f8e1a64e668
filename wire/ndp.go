package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Fixed-part lengths of the NDP messages (RFC 4861 section 4), ICMPv6
// header included; options follow.
const (
	NDPRouterSolicitLen   = 8
	NDPRouterAdvertLen    = 16
	NDPNeighborSolicitLen = 24
	NDPNeighborAdvertLen  = 24
	NDPRedirectLen        = 40
)

// NDP option types (RFC 4861 section 4.6).
const (
	NDPOptSourceLinkAddr   = 1
	NDPOptTargetLinkAddr   = 2
	NDPOptPrefixInfo       = 3
	NDPOptRedirectedHeader = 4
	NDPOptMTU              = 5
)

// NDPMaxPrefixes is how many prefix information options NDPOptions holds;
// ParseNDPOptions counts further ones in DroppedPrefixes.
const NDPMaxPrefixes = 8

var (
	errNDPOptShort  = fmt.Errorf("%w: NDP option without a length byte", ErrBadOption)
	errNDPOptZero   = fmt.Errorf("%w: NDP option of length zero", ErrBadOption)
	errNDPOptPast   = fmt.Errorf("%w: NDP option runs past the message", ErrBadOption)
	errNDPBuild     = fmt.Errorf("%w: NDP message does not fit", ErrShortBuffer)
	errNDPAddr      = fmt.Errorf("%w: NDP address is not IPv6", ErrUnsupported)
	errNDPOptsBuild = fmt.Errorf("%w: NDP options do not fit", ErrShortBuffer)
)

// ndpFixedLen is the fixed length of NDP message type typ, or 0 when typ
// is not an NDP message.
func ndpFixedLen(typ uint8) int {
	switch typ {
	case ICMPv6RouterSolicit:
		return NDPRouterSolicitLen
	case ICMPv6RouterAdvert:
		return NDPRouterAdvertLen
	case ICMPv6NeighborSolicit:
		return NDPNeighborSolicitLen
	case ICMPv6NeighborAdvert:
		return NDPNeighborAdvertLen
	case ICMPv6Redirect:
		return NDPRedirectLen
	}
	return 0
}

// CurHopLimit is a Router Advertisement's Cur Hop Limit.
func (m ICMPv6) CurHopLimit() uint8 { return m[4] }

// ManagedFlag is a Router Advertisement's M flag.
func (m ICMPv6) ManagedFlag() bool { return m[5]&0x80 != 0 }

// OtherFlag is a Router Advertisement's O flag.
func (m ICMPv6) OtherFlag() bool { return m[5]&0x40 != 0 }

// RouterLifetime is a Router Advertisement's router lifetime in seconds.
func (m ICMPv6) RouterLifetime() uint16 { return binary.BigEndian.Uint16(m[6:8]) }

// ReachableTime is a Router Advertisement's reachable time in
// milliseconds (0 when m is too short to be one).
func (m ICMPv6) ReachableTime() uint32 {
	if len(m) < NDPRouterAdvertLen {
		return 0
	}
	return binary.BigEndian.Uint32(m[8:12])
}

// RetransTimer is a Router Advertisement's retransmit timer in
// milliseconds (0 when m is too short to be one).
func (m ICMPv6) RetransTimer() uint32 {
	if len(m) < NDPRouterAdvertLen {
		return 0
	}
	return binary.BigEndian.Uint32(m[12:16])
}

// RouterFlag is a Neighbor Advertisement's R flag.
func (m ICMPv6) RouterFlag() bool { return m[4]&0x80 != 0 }

// SolicitedFlag is a Neighbor Advertisement's S flag.
func (m ICMPv6) SolicitedFlag() bool { return m[4]&0x40 != 0 }

// OverrideFlag is a Neighbor Advertisement's O flag.
func (m ICMPv6) OverrideFlag() bool { return m[4]&0x20 != 0 }

// TargetAddr is the target address of a Neighbor Solicitation,
// Neighbor Advertisement or Redirect (the zero Addr when m is too short).
func (m ICMPv6) TargetAddr() netip.Addr {
	if len(m) < 24 {
		return netip.Addr{}
	}
	return netip.AddrFrom16([16]byte(m[8:24]))
}

// RedirectDst is a Redirect's destination address (the zero Addr when m
// is too short).
func (m ICMPv6) RedirectDst() netip.Addr {
	if len(m) < NDPRedirectLen {
		return netip.Addr{}
	}
	return netip.AddrFrom16([16]byte(m[24:40]))
}

// NDPOptions is the options area of an NDP message (for ParseNDPOptions),
// or nil when m is not an NDP message.
func (m ICMPv6) NDPOptions() []byte {
	n := ndpFixedLen(m[0])
	if n == 0 || len(m) < n {
		return nil
	}
	return m[n:]
}

// NDPPrefixInfo is a Prefix Information option (RFC 4861 section 4.6.2).
type NDPPrefixInfo struct {
	// Prefix is the prefix and its length as sent: bits past the length
	// are not cleared (use Prefix.Masked).
	Prefix            netip.Prefix
	OnLink            bool   // L flag
	Autonomous        bool   // A flag
	ValidLifetime     uint32 // seconds; 0xffffffff is infinity
	PreferredLifetime uint32 // seconds
}

// NDPOptions are the NDP options ustack understands. Others are skipped.
// When an option appears twice, the last one wins (prefixes accumulate).
type NDPOptions struct {
	HasSourceLinkAddr bool
	SourceLinkAddr    MAC
	HasTargetLinkAddr bool
	TargetLinkAddr    MAC
	HasMTU            bool
	MTU               uint32
	// Prefixes[:NumPrefixes] are the prefix information options in order;
	// DroppedPrefixes counts those past NDPMaxPrefixes.
	Prefixes        [NDPMaxPrefixes]NDPPrefixInfo
	NumPrefixes     int
	DroppedPrefixes int
	// RedirectedHeader is the data of a Redirected Header option (the
	// quoted packet, with any padding). When parsed it aliases the input.
	// When encoded it is cut so that a Redirect carrying these options
	// fits the IPv6 minimum MTU, and zero-padded to 8 bytes.
	RedirectedHeader []byte
}

// ParseNDPOptions resets o and fills it from the options area b (see
// ICMPv6.NDPOptions). A truncated option or one of length zero gives
// ErrBadOption (RFC 4861 says to drop such messages). Link-layer address
// options whose length is not that of an Ethernet address, MTU options of
// the wrong length, and prefix options of the wrong length or with a
// prefix length over 128 are ignored, as are unknown options.
func ParseNDPOptions(b []byte, o *NDPOptions) error {
	*o = NDPOptions{}
	for len(b) > 0 {
		if len(b) < 2 {
			return errNDPOptShort
		}
		if b[1] == 0 {
			return errNDPOptZero
		}
		l := int(b[1]) * 8
		if l > len(b) {
			return errNDPOptPast
		}
		opt := b[:l]
		switch opt[0] {
		case NDPOptSourceLinkAddr:
			if l == 8 {
				o.HasSourceLinkAddr = true
				copy(o.SourceLinkAddr[:], opt[2:8])
			}
		case NDPOptTargetLinkAddr:
			if l == 8 {
				o.HasTargetLinkAddr = true
				copy(o.TargetLinkAddr[:], opt[2:8])
			}
		case NDPOptMTU:
			if l == 8 {
				o.HasMTU = true
				o.MTU = binary.BigEndian.Uint32(opt[4:8])
			}
		case NDPOptPrefixInfo:
			if l != 32 || opt[2] > 128 {
				break
			}
			if o.NumPrefixes == NDPMaxPrefixes {
				o.DroppedPrefixes++
				break
			}
			o.Prefixes[o.NumPrefixes] = NDPPrefixInfo{
				Prefix:            netip.PrefixFrom(netip.AddrFrom16([16]byte(opt[16:32])), int(opt[2])),
				OnLink:            opt[3]&0x80 != 0,
				Autonomous:        opt[3]&0x40 != 0,
				ValidLifetime:     binary.BigEndian.Uint32(opt[4:8]),
				PreferredLifetime: binary.BigEndian.Uint32(opt[8:12]),
			}
			o.NumPrefixes++
		case NDPOptRedirectedHeader:
			o.RedirectedHeader = opt[8:]
		}
		b = b[l:]
	}
	return nil
}

// ndpPrefixOK reports a prefix Encode writes.
func ndpPrefixOK(p netip.Prefix) bool { return p.IsValid() && p.Addr().Is6() }

// redirectedDataLen is how much of RedirectedHeader Encode writes, given
// the length of the other options.
func (o *NDPOptions) redirectedDataLen(others int) int {
	if o.RedirectedHeader == nil {
		return -1
	}
	limit := IPv6MinMTU - IPv6HeaderLen - NDPRedirectLen - others - 8
	n := len(o.RedirectedHeader)
	if n > limit {
		n = limit
	}
	if n < 0 {
		n = 0
	}
	return n
}

func (o *NDPOptions) fixedLen() int {
	n := 0
	if o.HasSourceLinkAddr {
		n += 8
	}
	if o.HasTargetLinkAddr {
		n += 8
	}
	if o.HasMTU {
		n += 8
	}
	for i := 0; i < o.NumPrefixes && i < NDPMaxPrefixes; i++ {
		if ndpPrefixOK(o.Prefixes[i].Prefix) {
			n += 32
		}
	}
	return n
}

// EncodedLen is the number of bytes Encode writes (a multiple of 8).
func (o *NDPOptions) EncodedLen() int {
	n := o.fixedLen()
	if d := o.redirectedDataLen(n); d >= 0 {
		n += 8 + (d+7)&^7
	}
	return n
}

// Encode writes the options in the order source link-layer address,
// target link-layer address, MTU, prefixes (those that are valid IPv6
// prefixes), redirected header, and returns the length written.
func (o *NDPOptions) Encode(b []byte) (int, error) {
	fixed := o.fixedLen()
	d := o.redirectedDataLen(fixed)
	total := fixed
	if d >= 0 {
		total += 8 + (d+7)&^7
	}
	if len(b) < total {
		return 0, errNDPOptsBuild
	}
	b = b[:total]
	i := 0
	putLL := func(typ uint8, a MAC) {
		b[i], b[i+1] = typ, 1
		copy(b[i+2:i+8], a[:])
		i += 8
	}
	if o.HasSourceLinkAddr {
		putLL(NDPOptSourceLinkAddr, o.SourceLinkAddr)
	}
	if o.HasTargetLinkAddr {
		putLL(NDPOptTargetLinkAddr, o.TargetLinkAddr)
	}
	if o.HasMTU {
		b[i], b[i+1], b[i+2], b[i+3] = NDPOptMTU, 1, 0, 0
		binary.BigEndian.PutUint32(b[i+4:i+8], o.MTU)
		i += 8
	}
	for k := 0; k < o.NumPrefixes && k < NDPMaxPrefixes; k++ {
		p := &o.Prefixes[k]
		if !ndpPrefixOK(p.Prefix) {
			continue
		}
		var flags uint8
		if p.OnLink {
			flags |= 0x80
		}
		if p.Autonomous {
			flags |= 0x40
		}
		b[i], b[i+1], b[i+2], b[i+3] = NDPOptPrefixInfo, 4, uint8(p.Prefix.Bits()), flags
		binary.BigEndian.PutUint32(b[i+4:i+8], p.ValidLifetime)
		binary.BigEndian.PutUint32(b[i+8:i+12], p.PreferredLifetime)
		binary.BigEndian.PutUint32(b[i+12:i+16], 0)
		a := p.Prefix.Addr().As16()
		copy(b[i+16:i+32], a[:])
		i += 32
	}
	if d >= 0 {
		l := 8 + (d+7)&^7
		b[i], b[i+1] = NDPOptRedirectedHeader, uint8(l/8)
		clear(b[i+2 : i+l])
		copy(b[i+8:i+8+d], o.RedirectedHeader[:d])
		i += l
	}
	return i, nil
}

// putNDP writes an NDP message with a fixed part of length fixed (whose
// bytes after the 4-byte ICMPv6 header are zeroed) followed by opts.
func putNDP(b []byte, typ uint8, fixed int, opts *NDPOptions) (int, error) {
	ol := 0
	if opts != nil {
		ol = opts.EncodedLen()
	}
	if len(b) < fixed+ol {
		return 0, errNDPBuild
	}
	b[0], b[1] = typ, 0
	clear(b[2:fixed])
	if opts != nil {
		if _, err := opts.Encode(b[fixed:]); err != nil {
			return 0, err
		}
	}
	return fixed + ol, nil
}

// PutNDPRouterSolicit writes a Router Solicitation with opts (nil for
// none) and returns its length. As for every NDP builder, the checksum is
// left zero: call ICMPv6.SetChecksum.
func PutNDPRouterSolicit(b []byte, opts *NDPOptions) (int, error) {
	return putNDP(b, ICMPv6RouterSolicit, NDPRouterSolicitLen, opts)
}

// NDPRouterAdvert holds the fixed fields of a Router Advertisement.
type NDPRouterAdvert struct {
	CurHopLimit    uint8
	Managed, Other bool
	RouterLifetime uint16 // seconds
	ReachableTime  uint32 // milliseconds
	RetransTimer   uint32 // milliseconds
}

// PutNDPRouterAdvert writes a Router Advertisement with opts (nil for
// none) and returns its length.
func PutNDPRouterAdvert(b []byte, ra *NDPRouterAdvert, opts *NDPOptions) (int, error) {
	n, err := putNDP(b, ICMPv6RouterAdvert, NDPRouterAdvertLen, opts)
	if err != nil {
		return 0, err
	}
	b[4] = ra.CurHopLimit
	if ra.Managed {
		b[5] |= 0x80
	}
	if ra.Other {
		b[5] |= 0x40
	}
	binary.BigEndian.PutUint16(b[6:8], ra.RouterLifetime)
	binary.BigEndian.PutUint32(b[8:12], ra.ReachableTime)
	binary.BigEndian.PutUint32(b[12:16], ra.RetransTimer)
	return n, nil
}

// PutNDPNeighborSolicit writes a Neighbor Solicitation for target with
// opts (nil for none; no source link-layer address for duplicate address
// detection) and returns its length.
func PutNDPNeighborSolicit(b []byte, target netip.Addr, opts *NDPOptions) (int, error) {
	if !target.Is6() {
		return 0, errNDPAddr
	}
	n, err := putNDP(b, ICMPv6NeighborSolicit, NDPNeighborSolicitLen, opts)
	if err != nil {
		return 0, err
	}
	t := target.As16()
	copy(b[8:24], t[:])
	return n, nil
}

// PutNDPNeighborAdvert writes a Neighbor Advertisement for target with the
// R, S and O flags and opts (nil for none) and returns its length.
func PutNDPNeighborAdvert(b []byte, target netip.Addr, router, solicited, override bool, opts *NDPOptions) (int, error) {
	if !target.Is6() {
		return 0, errNDPAddr
	}
	n, err := putNDP(b, ICMPv6NeighborAdvert, NDPNeighborAdvertLen, opts)
	if err != nil {
		return 0, err
	}
	if router {
		b[4] |= 0x80
	}
	if solicited {
		b[4] |= 0x40
	}
	if override {
		b[4] |= 0x20
	}
	t := target.As16()
	copy(b[8:24], t[:])
	return n, nil
}

// PutNDPRedirect writes a Redirect telling that target is a better first
// hop for dst, with opts (nil for none), and returns its length.
func PutNDPRedirect(b []byte, target, dst netip.Addr, opts *NDPOptions) (int, error) {
	if !target.Is6() || !dst.Is6() {
		return 0, errNDPAddr
	}
	n, err := putNDP(b, ICMPv6Redirect, NDPRedirectLen, opts)
	if err != nil {
		return 0, err
	}
	t, d := target.As16(), dst.As16()
	copy(b[8:24], t[:])
	copy(b[24:40], d[:])
	return n, nil
}
