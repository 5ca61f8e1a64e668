package vnet

import (
	"encoding/binary"
	"errors"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// Len is the size of struct virtio_net_hdr.
const Len = 10

// Header flags and GSO types (include/uapi/linux/virtio_net.h).
const (
	FlagNeedsCsum = 1
	FlagDataValid = 2

	GSONone  = 0
	GSOTCPv4 = 1
	GSOUDP   = 3
	GSOTCPv6 = 4
	GSOUDPL4 = 5
	GSOECN   = 0x80
)

// Errors from Apply and FromBuf.
var (
	ErrShort    = errors.New("vnet: frame shorter than its headers")
	ErrBadCsum  = errors.New("vnet: checksum start/offset outside the frame")
	ErrBadGSO   = errors.New("vnet: unsupported GSO type")
	ErrNotTCPIP = errors.New("vnet: GSO frame is not TCP over IPv4/IPv6")
)

// Hdr is a decoded virtio_net_hdr.
type Hdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16
	GSOSize    uint16
	CsumStart  uint16
	CsumOffset uint16
}

// Decode reads a header from the first Len bytes of b.
func Decode(b []byte) (Hdr, bool) {
	if len(b) < Len {
		return Hdr{}, false
	}
	return Hdr{
		Flags:      b[0],
		GSOType:    b[1],
		HdrLen:     binary.LittleEndian.Uint16(b[2:]),
		GSOSize:    binary.LittleEndian.Uint16(b[4:]),
		CsumStart:  binary.LittleEndian.Uint16(b[6:]),
		CsumOffset: binary.LittleEndian.Uint16(b[8:]),
	}, true
}

// Encode writes h into the first Len bytes of b (which must be that long).
func (h Hdr) Encode(b []byte) {
	_ = b[Len-1]
	b[0] = h.Flags
	b[1] = h.GSOType
	binary.LittleEndian.PutUint16(b[2:], h.HdrLen)
	binary.LittleEndian.PutUint16(b[4:], h.GSOSize)
	binary.LittleEndian.PutUint16(b[6:], h.CsumStart)
	binary.LittleEndian.PutUint16(b[8:], h.CsumOffset)
}

// Apply interprets a received header for frame b: a partial checksum is
// completed in software and the frame marked FlagCsumValid; DATA_VALID
// marks it FlagCsumValid; a GSO (GRO-coalesced) frame gets FlagGSO and
// GSOSize. A header that points outside the frame is an error (the frame
// should be dropped and counted).
func Apply(h Hdr, b *link.Buf) error {
	if h.Flags&FlagNeedsCsum != 0 {
		if !Complete(b.Bytes(), int(h.CsumStart), int(h.CsumOffset)) {
			return ErrBadCsum
		}
		b.Flags |= link.FlagCsumValid
	} else if h.Flags&FlagDataValid != 0 {
		b.Flags |= link.FlagCsumValid
	}
	switch h.GSOType &^ GSOECN {
	case GSONone:
	case GSOTCPv4, GSOTCPv6:
		if h.GSOSize != 0 {
			b.Flags |= link.FlagGSO
			b.GSOSize = h.GSOSize
		}
	default:
		return ErrBadGSO
	}
	return nil
}

// udpCsumOffset is where UDP's checksum sits in its header.
const udpCsumOffset = 6

// Complete finishes a partial checksum: the 16-bit field at
// start+offset holds the pseudo-header sum, and the checksum covers the
// frame from start to its end. It reports false, changing nothing, when
// the field is outside the frame or at an odd offset (no protocol has
// one, and the sum would not verify).
//
// The checksum field offset tells UDP (6) from TCP (16) and ICMP (2).
func Complete(frame []byte, start, offset int) bool {
	at := start + offset
	if start < 0 || offset < 0 || offset&1 != 0 || at+2 > len(frame) {
		return false
	}
	c := wire.Fold(wire.Sum(frame[start:], 0))
	if c == 0 && offset == udpCsumOffset {
		// Only UDP gives 0 a meaning ("no checksum", RFC 768) and sends
		// 0xffff instead; TCP and ICMP keep 0x0000 (RFC 1624 §3), as
		// full computation gives and as checkers expect.
		c = 0xffff
	}
	binary.BigEndian.PutUint16(frame[at:], c)
	return true
}

// L4 finds the transport header of an Ethernet frame carrying IPv4 or
// IPv6 (one optional 802.1Q tag; no IPv6 extension headers): its offset,
// the IP protocol, and where the protocol's checksum field sits relative
// to the transport header (TCP 16, UDP 6, ICMP 2, ICMPv6 2). ok is false
// for anything else.
func L4(frame []byte) (start int, proto uint8, csumOff int, ok bool) {
	if len(frame) < 14 {
		return 0, 0, 0, false
	}
	l3 := 14
	et := binary.BigEndian.Uint16(frame[12:])
	if et == 0x8100 {
		if len(frame) < 18 {
			return 0, 0, 0, false
		}
		et = binary.BigEndian.Uint16(frame[16:])
		l3 = 18
	}
	switch et {
	case 0x0800:
		if len(frame) < l3+20 || frame[l3]>>4 != 4 {
			return 0, 0, 0, false
		}
		ihl := int(frame[l3]&0xf) * 4
		if ihl < 20 || len(frame) < l3+ihl {
			return 0, 0, 0, false
		}
		start, proto = l3+ihl, frame[l3+9]
	case 0x86dd:
		if len(frame) < l3+40 || frame[l3]>>4 != 6 {
			return 0, 0, 0, false
		}
		start, proto = l3+40, frame[l3+6]
	default:
		return 0, 0, 0, false
	}
	switch proto {
	case 6:
		csumOff = 16
	case 17:
		csumOff = 6
	case 1, 58:
		csumOff = 2
	default:
		return 0, 0, 0, false
	}
	if len(frame) < start+csumOff+2 {
		return 0, 0, 0, false
	}
	return start, proto, csumOff, true
}

// FromBuf builds the header to send in front of frame b: NEEDS_CSUM with
// the transport checksum's position when b has FlagCsumPartial, and a
// TCPv4/TCPv6 GSO request cut at b.GSOSize when b has FlagGSO.
func FromBuf(b *link.Buf) (Hdr, error) {
	if b.Flags&(link.FlagCsumPartial|link.FlagGSO) == 0 {
		return Hdr{}, nil
	}
	f := b.Bytes()
	start, proto, off, ok := L4(f)
	if !ok {
		if b.Flags&link.FlagGSO != 0 {
			return Hdr{}, ErrNotTCPIP
		}
		return Hdr{}, ErrShort
	}
	h := Hdr{Flags: FlagNeedsCsum, CsumStart: uint16(start), CsumOffset: uint16(off)}
	if b.Flags&link.FlagGSO != 0 {
		if proto != 6 || b.GSOSize == 0 {
			return Hdr{}, ErrNotTCPIP
		}
		thl := int(f[start+12]>>4) * 4
		if thl < 20 || len(f) < start+thl {
			return Hdr{}, ErrShort
		}
		h.GSOType = GSOTCPv4
		if isV6(f) {
			h.GSOType = GSOTCPv6
		}
		h.HdrLen = uint16(start + thl)
		h.GSOSize = b.GSOSize
	}
	return h, nil
}

func isV6(f []byte) bool {
	et := binary.BigEndian.Uint16(f[12:])
	if et == 0x8100 {
		et = binary.BigEndian.Uint16(f[16:])
	}
	return et == 0x86dd
}
