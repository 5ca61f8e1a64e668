package wire

import (
	"encoding/binary"
	"fmt"
)

// UDPHeaderLen is the length of the UDP header (RFC 768).
const UDPHeaderLen = 8

var (
	errUDPShort     = fmt.Errorf("%w: UDP header needs 8 bytes", ErrTruncated)
	errUDPLenShort  = fmt.Errorf("%w: UDP length below 8", ErrBadLength)
	errUDPLenLong   = fmt.Errorf("%w: UDP length exceeds the buffer", ErrTruncated)
	errUDPBuild     = fmt.Errorf("%w: UDP builder needs 8 bytes", ErrShortBuffer)
	errUDPBuildSize = fmt.Errorf("%w: UDP payload longer than 65527 bytes", ErrBadLength)
)

// UDP is a view of a UDP datagram: the 8-byte header and exactly
// Length()-8 bytes of payload (fewer for a view from ParseUDPPartial).
type UDP []byte

// ParseUDP checks that b holds the header and that the length field is at
// least 8 and no more than len(b), and returns the datagram trimmed to the
// length field. Checksums are not verified: see ChecksumValid4/6.
// (Jumbograms, RFC 2675, whose length field is 0, are not supported.)
func ParseUDP(b []byte) (UDP, error) {
	if len(b) < UDPHeaderLen {
		return nil, errUDPShort
	}
	n := int(binary.BigEndian.Uint16(b[4:6]))
	if n < UDPHeaderLen {
		return nil, errUDPLenShort
	}
	if n > len(b) {
		return nil, errUDPLenLong
	}
	return UDP(b[:n]), nil
}

// ParseUDPPartial is ParseUDP for a datagram that may have been cut short,
// such as the 8 bytes of it quoted in an ICMP error: the header must be
// whole and its length field at least 8, but the view ends where b or the
// length field ends, whichever comes first. Only the ports and the length
// field of such a view are meaningful; its checksum cannot verify.
func ParseUDPPartial(b []byte) (UDP, error) {
	if len(b) < UDPHeaderLen {
		return nil, errUDPShort
	}
	n := int(binary.BigEndian.Uint16(b[4:6]))
	if n < UDPHeaderLen {
		return nil, errUDPLenShort
	}
	return UDP(b[:min(n, len(b))]), nil
}

// SrcPort is the source port (0 when the sender expects no reply).
func (u UDP) SrcPort() uint16 { return binary.BigEndian.Uint16(u[0:2]) }

// DstPort is the destination port.
func (u UDP) DstPort() uint16 { return binary.BigEndian.Uint16(u[2:4]) }

// Length is the length field: header plus payload.
func (u UDP) Length() int { return int(binary.BigEndian.Uint16(u[4:6])) }

// Checksum is the checksum field as stored; 0 means "none" over IPv4.
func (u UDP) Checksum() uint16 { return binary.BigEndian.Uint16(u[6:8]) }

// Payload is the data after the header, up to the length field.
func (u UDP) Payload() []byte { return u[UDPHeaderLen:max(UDPHeaderLen, min(u.Length(), len(u)))] }

// datagram is the part of u the length field covers.
func (u UDP) datagram() []byte { return u[:max(UDPHeaderLen, min(u.Length(), len(u)))] }

// ChecksumValid4 reports whether the checksum verifies against the IPv4
// pseudo-header for src and dst. A zero checksum field means the sender
// computed none (RFC 768) and is accepted.
func (u UDP) ChecksumValid4(src, dst [4]byte) bool {
	if u.Checksum() == 0 {
		return true
	}
	d := u.datagram()
	return Fold(Sum(d, PseudoHeaderSum4(src, dst, ProtoUDP, uint16(len(d))))) == 0
}

// ChecksumValid6 reports whether the checksum verifies against the IPv6
// pseudo-header for src and dst. Over IPv6 the checksum is mandatory
// (RFC 8200 section 8.1): a zero field is invalid.
func (u UDP) ChecksumValid6(src, dst [16]byte) bool {
	if u.Checksum() == 0 {
		return false
	}
	d := u.datagram()
	return Fold(Sum(d, PseudoHeaderSum6(src, dst, ProtoUDP, uint32(len(d))))) == 0
}

// SetSrcPort sets the source port. The checksum is not updated.
func (u UDP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(u[0:2], p) }

// SetDstPort sets the destination port. The checksum is not updated.
func (u UDP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(u[2:4], p) }

// SetChecksum4 computes the checksum over the pseudo-header for src and dst
// (IPv4), the header and the payload the length field covers, and stores
// it; a computed 0 is sent as 0xffff, since 0 means "no checksum"
// (RFC 768). The payload must already be in place.
func (u UDP) SetChecksum4(src, dst [4]byte) {
	u[6], u[7] = 0, 0
	d := u.datagram()
	c := Fold(Sum(d, PseudoHeaderSum4(src, dst, ProtoUDP, uint16(len(d)))))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:8], c)
}

// SetChecksum6 is SetChecksum4 over the IPv6 pseudo-header.
func (u UDP) SetChecksum6(src, dst [16]byte) {
	u[6], u[7] = 0, 0
	d := u.datagram()
	c := Fold(Sum(d, PseudoHeaderSum6(src, dst, ProtoUDP, uint32(len(d)))))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:8], c)
}

// PutUDPHeader writes a UDP header for a payload of payloadLen bytes, with
// a zero checksum, into b and returns 8. Write the payload after it, then
// fill the checksum with SetChecksum4 or SetChecksum6 on the whole
// datagram (UDP(b[:8+payloadLen])).
func PutUDPHeader(b []byte, src, dst uint16, payloadLen int) (int, error) {
	if len(b) < UDPHeaderLen {
		return 0, errUDPBuild
	}
	if payloadLen < 0 || payloadLen > 0xffff-UDPHeaderLen {
		return 0, errUDPBuildSize
	}
	binary.BigEndian.PutUint16(b[0:2], src)
	binary.BigEndian.PutUint16(b[2:4], dst)
	binary.BigEndian.PutUint16(b[4:6], uint16(UDPHeaderLen+payloadLen))
	b[6], b[7] = 0, 0
	return UDPHeaderLen, nil
}
