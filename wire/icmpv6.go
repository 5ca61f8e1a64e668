package wire

import (
	"encoding/binary"
	"fmt"
)

// ICMPv6 message types (RFC 4443, RFC 4861).
const (
	ICMPv6DestUnreach     = 1
	ICMPv6PacketTooBig    = 2
	ICMPv6TimeExceeded    = 3
	ICMPv6ParamProblem    = 4
	ICMPv6EchoRequest     = 128
	ICMPv6EchoReply       = 129
	ICMPv6RouterSolicit   = 133
	ICMPv6RouterAdvert    = 134
	ICMPv6NeighborSolicit = 135
	ICMPv6NeighborAdvert  = 136
	ICMPv6Redirect        = 137
)

// ICMPv6HeaderLen is the length of the common part every ICMPv6 message
// this package accepts has: type, code, checksum and four type-specific
// bytes (identifier and sequence, MTU, pointer, or reserved).
const ICMPv6HeaderLen = 8

// ICMPv6MaxErrorLen is the largest ICMPv6 error message PutICMPv6Error
// builds: the minimum MTU less the IPv6 header (RFC 4443 section 2.4 (c)).
const ICMPv6MaxErrorLen = IPv6MinMTU - IPv6HeaderLen

var (
	errICMPv6Short      = fmt.Errorf("%w: ICMPv6 message needs 8 bytes", ErrTruncated)
	errICMPv6NDPShort   = fmt.Errorf("%w: NDP message shorter than its fixed part", ErrTruncated)
	errICMPv6MLDShort   = fmt.Errorf("%w: MLD message shorter than 24 bytes", ErrTruncated)
	errICMPv6Build      = fmt.Errorf("%w: ICMPv6 message does not fit", ErrShortBuffer)
	errICMPv6NotErrType = fmt.Errorf("%w: not an ICMPv6 error type", ErrUnsupported)
)

// ICMPv6 is a view of an ICMPv6 message (RFC 4443), NDP messages (RFC
// 4861) included. ParseICMPv6 checks lengths; accessors that belong to a
// message type the view is not long enough for return zero values.
type ICMPv6 []byte

// ParseICMPv6 checks that b holds the 8-byte common part and, for the NDP
// types (133-137) and MLD query, report and done (130-132), the fixed part
// of that message, and returns the view.
// The checksum is not verified here (see ChecksumValid), nor are NDP
// options (see ParseNDPOptions).
func ParseICMPv6(b []byte) (ICMPv6, error) {
	if len(b) < ICMPv6HeaderLen {
		return nil, errICMPv6Short
	}
	if n := ndpFixedLen(b[0]); n > 0 && len(b) < n {
		return nil, errICMPv6NDPShort
	}
	if n := mldFixedLen(b[0]); n > 0 && len(b) < n {
		return nil, errICMPv6MLDShort
	}
	return ICMPv6(b), nil
}

// Type is the message type.
func (m ICMPv6) Type() uint8 { return m[0] }

// Code is the message code.
func (m ICMPv6) Code() uint8 { return m[1] }

// Checksum is the checksum field as stored.
func (m ICMPv6) Checksum() uint16 { return binary.BigEndian.Uint16(m[2:4]) }

// ID is the echo identifier (echo request and reply).
func (m ICMPv6) ID() uint16 { return binary.BigEndian.Uint16(m[4:6]) }

// Seq is the echo sequence number (echo request and reply).
func (m ICMPv6) Seq() uint16 { return binary.BigEndian.Uint16(m[6:8]) }

// MTU is the MTU of a Packet Too Big message.
func (m ICMPv6) MTU() uint32 { return binary.BigEndian.Uint32(m[4:8]) }

// Pointer is the pointer of a Parameter Problem message.
func (m ICMPv6) Pointer() uint32 { return binary.BigEndian.Uint32(m[4:8]) }

// Body is everything after the 8-byte common part: echo data, or the
// invoking packet quoted by an error message (parse it with
// ParseIPv6Partial).
func (m ICMPv6) Body() []byte { return m[ICMPv6HeaderLen:] }

// IsError reports an error message type (below 128, RFC 4443 section 2.1).
func (m ICMPv6) IsError() bool { return m[0] < 128 }

// ChecksumValid reports whether the checksum verifies over the message and
// the IPv6 pseudo-header for the given addresses (RFC 4443 section 2.3).
func (m ICMPv6) ChecksumValid(src, dst [16]byte) bool {
	return Fold(Sum(m, PseudoHeaderSum6(src, dst, ProtoICMPv6, uint32(len(m))))) == 0
}

// SetChecksum computes and stores the checksum for the given addresses.
// The whole message (header and body) must be in m.
func (m ICMPv6) SetChecksum(src, dst [16]byte) {
	m[2], m[3] = 0, 0
	binary.BigEndian.PutUint16(m[2:4], Fold(Sum(m, PseudoHeaderSum6(src, dst, ProtoICMPv6, uint32(len(m))))))
}

// PutICMPv6Echo writes an echo request or reply (typ ICMPv6EchoRequest or
// ICMPv6EchoReply) carrying data to b and returns its length. The checksum
// is left zero: call SetChecksum with the addresses it will be sent with.
func PutICMPv6Echo(b []byte, typ uint8, id, seq uint16, data []byte) (int, error) {
	n := ICMPv6HeaderLen + len(data)
	if len(b) < n {
		return 0, errICMPv6Build
	}
	b[0], b[1], b[2], b[3] = typ, 0, 0, 0
	binary.BigEndian.PutUint16(b[4:6], id)
	binary.BigEndian.PutUint16(b[6:8], seq)
	copy(b[8:n], data)
	return n, nil
}

// PutICMPv6Error writes an error message (typ below 128, ErrUnsupported
// otherwise) to b and returns its length. param is the type-specific word:
// the MTU for Packet Too Big, the pointer for Parameter Problem, zero for
// the others. As much of the invoking packet orig is quoted as fits both b
// and ICMPv6MaxErrorLen (RFC 4443 section 2.4 (c)). The checksum is left
// zero: call SetChecksum.
func PutICMPv6Error(b []byte, typ, code uint8, param uint32, orig []byte) (int, error) {
	if typ >= 128 {
		return 0, errICMPv6NotErrType
	}
	if len(b) < ICMPv6HeaderLen {
		return 0, errICMPv6Build
	}
	n := ICMPv6HeaderLen + len(orig)
	if n > ICMPv6MaxErrorLen {
		n = ICMPv6MaxErrorLen
	}
	if n > len(b) {
		n = len(b)
	}
	b[0], b[1], b[2], b[3] = typ, code, 0, 0
	binary.BigEndian.PutUint32(b[4:8], param)
	copy(b[8:n], orig)
	return n, nil
}
