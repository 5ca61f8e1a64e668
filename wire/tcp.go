package wire

import (
	"encoding/binary"
	"fmt"
)

// TCP header limits.
const (
	// TCPMinHeaderLen is the length of a TCP header without options.
	TCPMinHeaderLen = 20
	// TCPMaxOptionsLen is the most option bytes a header can carry.
	TCPMaxOptionsLen = 40
	// TCPMaxHeaderLen is the longest TCP header (data offset 15).
	TCPMaxHeaderLen = TCPMinHeaderLen + TCPMaxOptionsLen
)

var (
	errTCPShort      = fmt.Errorf("%w: TCP header needs 20 bytes", ErrTruncated)
	errTCPDataOffset = fmt.Errorf("%w: TCP data offset below 5", ErrBadLength)
	errTCPOptions    = fmt.Errorf("%w: TCP data offset runs past the segment", ErrTruncated)
	errTCPBuild      = fmt.Errorf("%w: TCP header does not fit", ErrShortBuffer)
)

// TCP is a view of a TCP segment: header, options and payload (RFC 9293
// section 3.1). The view must span the whole segment (the IP payload) for
// Payload and the checksum methods to be right.
type TCP []byte

// ParseTCP checks that b holds a 20-byte header, that the data offset is
// at least 5 words and that the header it describes fits in b, and returns
// the view. Options are not examined (see ParseTCPOptions).
func ParseTCP(b []byte) (TCP, error) {
	if len(b) < TCPMinHeaderLen {
		return nil, errTCPShort
	}
	off := int(b[12]>>4) * 4
	if off < TCPMinHeaderLen {
		return nil, errTCPDataOffset
	}
	if off > len(b) {
		return nil, errTCPOptions
	}
	return TCP(b), nil
}

// SrcPort is the source port.
func (t TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(t[0:2]) }

// DstPort is the destination port.
func (t TCP) DstPort() uint16 { return binary.BigEndian.Uint16(t[2:4]) }

// Seq is the sequence number.
func (t TCP) Seq() uint32 { return binary.BigEndian.Uint32(t[4:8]) }

// Ack is the acknowledgment number.
func (t TCP) Ack() uint32 { return binary.BigEndian.Uint32(t[8:12]) }

// DataOffset is the header length in bytes, options included.
func (t TCP) DataOffset() int { return int(t[12]>>4) * 4 }

// Reserved is the four bits between the data offset and the flags (bit 0
// is the AE flag of Accurate ECN, draft-ietf-tcpm-accurate-ecn).
func (t TCP) Reserved() uint8 { return t[12] & 0x0f }

// Flags are the control bits.
func (t TCP) Flags() TCPFlags { return TCPFlags(t[13]) }

// Window is the window field, unscaled.
func (t TCP) Window() uint16 { return binary.BigEndian.Uint16(t[14:16]) }

// Checksum is the checksum field as stored.
func (t TCP) Checksum() uint16 { return binary.BigEndian.Uint16(t[16:18]) }

// Urgent is the urgent pointer.
func (t TCP) Urgent() uint16 { return binary.BigEndian.Uint16(t[18:20]) }

// Options are the option bytes between the fixed header and the payload.
func (t TCP) Options() []byte { return t[TCPMinHeaderLen:t.DataOffset()] }

// Payload is the data after the header.
func (t TCP) Payload() []byte { return t[t.DataOffset():] }

// SetSrcPort sets the source port.
func (t TCP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(t[0:2], p) }

// SetDstPort sets the destination port.
func (t TCP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(t[2:4], p) }

// SetSeq sets the sequence number.
func (t TCP) SetSeq(v uint32) { binary.BigEndian.PutUint32(t[4:8], v) }

// SetAck sets the acknowledgment number.
func (t TCP) SetAck(v uint32) { binary.BigEndian.PutUint32(t[8:12], v) }

// SetFlags sets the control bits.
func (t TCP) SetFlags(f TCPFlags) { t[13] = uint8(f) }

// SetWindow sets the window field.
func (t TCP) SetWindow(w uint16) { binary.BigEndian.PutUint16(t[14:16], w) }

// SetUrgent sets the urgent pointer.
func (t TCP) SetUrgent(u uint16) { binary.BigEndian.PutUint16(t[18:20], u) }

// SetChecksumField stores c in the checksum field as is (after an
// incremental update with UpdateChecksum16/32, or a partial checksum for
// offload).
func (t TCP) SetChecksumField(c uint16) { binary.BigEndian.PutUint16(t[16:18], c) }

// ChecksumValid4 reports whether the checksum verifies over the segment
// and the IPv4 pseudo-header. The segment length must fit the
// pseudo-header's 16 bits (a coalesced GRO super-segment does not; links
// mark those as already verified).
func (t TCP) ChecksumValid4(src, dst [4]byte) bool {
	return Fold(Sum(t, PseudoHeaderSum4(src, dst, ProtoTCP, uint16(len(t))))) == 0
}

// ChecksumValid6 reports whether the checksum verifies over the segment
// and the IPv6 pseudo-header.
func (t TCP) ChecksumValid6(src, dst [16]byte) bool {
	return Fold(Sum(t, PseudoHeaderSum6(src, dst, ProtoTCP, uint32(len(t))))) == 0
}

// SetChecksum4 computes and stores the checksum over the whole segment in
// t for an IPv4 pseudo-header.
func (t TCP) SetChecksum4(src, dst [4]byte) {
	t[16], t[17] = 0, 0
	t.SetChecksumField(Fold(Sum(t, PseudoHeaderSum4(src, dst, ProtoTCP, uint16(len(t))))))
}

// SetChecksum6 computes and stores the checksum over the whole segment in
// t for an IPv6 pseudo-header.
func (t TCP) SetChecksum6(src, dst [16]byte) {
	t[16], t[17] = 0, 0
	t.SetChecksumField(Fold(Sum(t, PseudoHeaderSum6(src, dst, ProtoTCP, uint32(len(t))))))
}

// TCPHeader holds the fixed fields PutTCP writes.
type TCPHeader struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            TCPFlags
	Window           uint16
	Urgent           uint16
}

// PutTCP writes the header h followed by the encoded options opts (nil for
// none; see TCPOptions.Encode for the layout and what is dropped when they
// exceed 40 bytes) to b and returns the header length. The checksum is
// left zero: write the payload after the header, then call SetChecksum4 or
// SetChecksum6 on the whole segment.
func PutTCP(b []byte, h *TCPHeader, opts *TCPOptions) (int, error) {
	ol, sack, tfo := 0, 0, false
	if opts != nil {
		ol, sack, tfo = opts.layout()
	}
	n := TCPMinHeaderLen + ol
	if len(b) < n {
		return 0, errTCPBuild
	}
	binary.BigEndian.PutUint16(b[0:2], h.SrcPort)
	binary.BigEndian.PutUint16(b[2:4], h.DstPort)
	binary.BigEndian.PutUint32(b[4:8], h.Seq)
	binary.BigEndian.PutUint32(b[8:12], h.Ack)
	b[12] = uint8(n/4) << 4
	b[13] = uint8(h.Flags)
	binary.BigEndian.PutUint16(b[14:16], h.Window)
	b[16], b[17] = 0, 0
	binary.BigEndian.PutUint16(b[18:20], h.Urgent)
	if opts != nil {
		opts.encode(b[TCPMinHeaderLen:n], sack, tfo)
	}
	return n, nil
}
