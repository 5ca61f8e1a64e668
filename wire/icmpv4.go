package wire

import (
	"encoding/binary"
	"fmt"
)

// ICMPv4 message types (RFC 792).
const (
	ICMPv4EchoReply    = 0
	ICMPv4DestUnreach  = 3
	ICMPv4SourceQuench = 4 // deprecated (RFC 6633); never sent
	ICMPv4Redirect     = 5
	ICMPv4Echo         = 8
	ICMPv4TimeExceeded = 11
	ICMPv4ParamProblem = 12
)

// ICMPv4 Destination Unreachable codes (RFC 792, RFC 1122, RFC 1812).
const (
	ICMPv4NetUnreach      = 0
	ICMPv4HostUnreach     = 1
	ICMPv4ProtoUnreach    = 2
	ICMPv4PortUnreach     = 3
	ICMPv4FragNeeded      = 4 // the next-hop MTU is in the message (RFC 1191)
	ICMPv4AdminProhibited = 13
)

// ICMPv4 Time Exceeded codes.
const (
	ICMPv4TTLExceeded        = 0 // time to live exceeded in transit
	ICMPv4ReassemblyExceeded = 1 // fragment reassembly time exceeded
)

// ICMPv4 lengths.
const (
	ICMPv4HeaderLen = 8 // type, code, checksum and the 4-byte rest of header
	// ICMPv4MaxQuote is how much of the offending datagram PutICMPv4Error
	// quotes at most: 576 - 20 - 8, so that an error in a plain IPv4
	// header never exceeds the minimum reassembly size (RFC 1812 section
	// 4.3.2.3), as Linux does.
	ICMPv4MaxQuote = 576 - IPv4MinHeaderLen - ICMPv4HeaderLen
)

var (
	errICMPv4Short      = fmt.Errorf("%w: ICMPv4 message needs 8 bytes", ErrTruncated)
	errICMPv4Build      = fmt.Errorf("%w: ICMPv4 message does not fit", ErrShortBuffer)
	errICMPv4EchoType   = fmt.Errorf("%w: ICMPv4 echo type is neither echo nor echo reply", ErrUnsupported)
	errICMPv4ErrorType  = fmt.Errorf("%w: ICMPv4 type is not an error this builder writes", ErrUnsupported)
	errICMPv4ErrorQuote = fmt.Errorf("%w: ICMPv4 error cannot quote the IP header and 8 bytes", ErrShortBuffer)
)

// ICMPv4 is a view of an ICMP message for IPv4: the 8-byte header and the
// body after it.
type ICMPv4 []byte

// ParseICMPv4 checks that b holds at least the 8-byte header and returns
// it as a view. The checksum is not verified: see ChecksumValid.
func ParseICMPv4(b []byte) (ICMPv4, error) {
	if len(b) < ICMPv4HeaderLen {
		return nil, errICMPv4Short
	}
	return ICMPv4(b), nil
}

// Type is the message type.
func (m ICMPv4) Type() uint8 { return m[0] }

// Code is the message code.
func (m ICMPv4) Code() uint8 { return m[1] }

// Checksum is the checksum field as stored.
func (m ICMPv4) Checksum() uint16 { return binary.BigEndian.Uint16(m[2:4]) }

// ID is the identifier of an echo or echo reply (bytes 4-5).
func (m ICMPv4) ID() uint16 { return binary.BigEndian.Uint16(m[4:6]) }

// Seq is the sequence number of an echo or echo reply (bytes 6-7).
func (m ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(m[6:8]) }

// NextHopMTU is the next-hop MTU of a "fragmentation needed" destination
// unreachable message (bytes 6-7, RFC 1191); zero from a router that
// predates RFC 1191.
func (m ICMPv4) NextHopMTU() uint16 { return binary.BigEndian.Uint16(m[6:8]) }

// Pointer is the byte offset of the offending octet in a parameter
// problem message (byte 4).
func (m ICMPv4) Pointer() uint8 { return m[4] }

// Body is everything after the 8-byte header: the echo data, or the
// quoted datagram of an error message.
func (m ICMPv4) Body() []byte { return m[ICMPv4HeaderLen:] }

// IsError reports whether the type is an error message (destination
// unreachable, source quench, redirect, time exceeded, parameter problem;
// RFC 1122 section 3.2.2), which must never be answered with another
// error.
func (m ICMPv4) IsError() bool {
	switch m[0] {
	case ICMPv4DestUnreach, ICMPv4SourceQuench, ICMPv4Redirect, ICMPv4TimeExceeded, ICMPv4ParamProblem:
		return true
	}
	return false
}

// ChecksumValid reports whether the checksum over the whole message
// verifies.
func (m ICMPv4) ChecksumValid() bool { return Checksum(m) == 0 }

// SetType sets the type (for example to turn an echo into its reply in
// place). The checksum is not updated.
func (m ICMPv4) SetType(t uint8) { m[0] = t }

// SetCode sets the code. The checksum is not updated.
func (m ICMPv4) SetCode(c uint8) { m[1] = c }

// SetChecksum computes the checksum over the whole message and stores it.
func (m ICMPv4) SetChecksum() {
	m[2], m[3] = 0, 0
	binary.BigEndian.PutUint16(m[2:4], Checksum(m))
}

// PutICMPv4Echo writes an echo request (typ ICMPv4Echo) or reply (typ
// ICMPv4EchoReply) carrying data, with its checksum, into b and returns its
// length, 8+len(data). data may overlap b.
func PutICMPv4Echo(b []byte, typ uint8, id, seq uint16, data []byte) (int, error) {
	if typ != ICMPv4Echo && typ != ICMPv4EchoReply {
		return 0, errICMPv4EchoType
	}
	n := ICMPv4HeaderLen + len(data)
	if len(b) < n {
		return 0, errICMPv4Build
	}
	copy(b[ICMPv4HeaderLen:n], data)
	b[0], b[1], b[2], b[3] = typ, 0, 0, 0
	binary.BigEndian.PutUint16(b[4:6], id)
	binary.BigEndian.PutUint16(b[6:8], seq)
	binary.BigEndian.PutUint16(b[2:4], Checksum(b[:n]))
	return n, nil
}

// PutICMPv4Error writes a destination unreachable, time exceeded or
// parameter problem message quoting orig, the offending IPv4 datagram, and
// returns its length. param is the next-hop MTU of a destination
// unreachable, "fragmentation needed" (code 4, RFC 1191), the pointer (low
// 8 bits) of a parameter problem, and should be zero otherwise.
//
// As much of orig is quoted as fits in b, up to ICMPv4MaxQuote bytes, and
// never less than its IP header plus 8 bytes (RFC 792), or all of orig if
// it is shorter; if b cannot hold that much the result is ErrShortBuffer.
// orig may overlap b.
func PutICMPv4Error(b []byte, typ, code uint8, param uint16, orig []byte) (int, error) {
	if typ != ICMPv4DestUnreach && typ != ICMPv4TimeExceeded && typ != ICMPv4ParamProblem {
		return 0, errICMPv4ErrorType
	}
	hl := IPv4MinHeaderLen
	if len(orig) > 0 && orig[0]>>4 == 4 {
		hl = max(hl, int(orig[0]&0x0f)*4)
	}
	need := min(len(orig), hl+8)
	if len(b) < ICMPv4HeaderLen+need {
		return 0, errICMPv4ErrorQuote
	}
	q := min(len(orig), ICMPv4MaxQuote, len(b)-ICMPv4HeaderLen)
	n := ICMPv4HeaderLen + q
	copy(b[ICMPv4HeaderLen:n], orig[:q])
	b[0], b[1], b[2], b[3] = typ, code, 0, 0
	b[4], b[5], b[6], b[7] = 0, 0, 0, 0
	switch typ {
	case ICMPv4DestUnreach:
		binary.BigEndian.PutUint16(b[6:8], param)
	case ICMPv4ParamProblem:
		b[4] = uint8(param)
	}
	binary.BigEndian.PutUint16(b[2:4], Checksum(b[:n]))
	return n, nil
}
