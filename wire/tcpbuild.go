package wire

import (
	"encoding/binary"
	"math/bits"
)

// PutTCPSegment4 writes a whole TCP segment into b: the header h, the
// options opts (nil for none; laid out as PutTCP does), then the payload
// p1 followed by p2, with the checksum for the IPv4 pseudo-header src to
// dst. It returns the segment's length. The bytes are exactly those of
// PutTCP, copying the payload after the header and SetChecksum4.
//
// It is the per-segment send path in one pass: the checksum is summed
// from the header values and from the payload's source slices, never read
// back from b (a transmit buffer just taken from a pool is often not in
// cache, and re-reading what was just stored there stalls), and the
// option layout is computed once.
func PutTCPSegment4(b []byte, h *TCPHeader, opts *TCPOptions, p1, p2 []byte, src, dst [4]byte) (int, error) {
	ol, sack, tfo := 0, 0, false
	if opts != nil {
		ol, sack, tfo = opts.layout()
	}
	hl := TCPMinHeaderLen + ol
	n := hl + len(p1) + len(p2)
	if len(b) < n {
		return 0, errTCPBuild
	}
	w12 := uint16(hl/4)<<12 | uint16(h.Flags)
	binary.BigEndian.PutUint32(b[0:4], uint32(h.SrcPort)<<16|uint32(h.DstPort))
	binary.BigEndian.PutUint32(b[4:8], h.Seq)
	binary.BigEndian.PutUint32(b[8:12], h.Ack)
	binary.BigEndian.PutUint32(b[12:16], uint32(w12)<<16|uint32(h.Window))
	// Header words (checksum field zero) and the pseudo-header: fewer
	// than sixteen 16-bit terms, no overflow in 32 bits.
	sum := PseudoHeaderSum4(src, dst, ProtoTCP, uint16(n)) +
		uint32(h.SrcPort) + uint32(h.DstPort) + h.Seq>>16 + h.Seq&0xffff +
		h.Ack>>16 + h.Ack&0xffff + uint32(w12) + uint32(h.Window) + uint32(h.Urgent)
	if ol > 0 {
		if ol == 12 && opts.HasTS && sack == 0 && !tfo && !opts.HasMD5 && !opts.HasMSS && !opts.HasWScale {
			// Timestamps alone (with or without SACK-permitted):
			// every segment of an established connection.
			kind := uint32(0x0101080a)
			if opts.SACKPermitted {
				kind = 0x0402080a
			}
			binary.BigEndian.PutUint32(b[20:24], kind)
			binary.BigEndian.PutUint32(b[24:28], opts.TSVal)
			binary.BigEndian.PutUint32(b[28:32], opts.TSEcr)
			sum = fold64(uint64(sum) + uint64(kind>>16) + uint64(kind&0xffff) +
				uint64(opts.TSVal>>16) + uint64(opts.TSVal&0xffff) +
				uint64(opts.TSEcr>>16) + uint64(opts.TSEcr&0xffff))
		} else {
			opts.encode(b[TCPMinHeaderLen:hl], sack, tfo)
			sum = Sum(b[TCPMinHeaderLen:hl], sum)
		}
	}
	binary.BigEndian.PutUint16(b[18:20], h.Urgent)
	k := hl + copy(b[hl:], p1)
	copy(b[k:], p2)
	sum = Sum(p1, sum)
	if len(p2) > 0 {
		if len(p1)%2 == 0 {
			sum = Sum(p2, sum)
		} else {
			// p2 starts at an odd offset: its 16-bit words straddle
			// the segment's, which swaps the bytes of its sum.
			s2 := Fold(Sum(p2, 0))
			sum = fold64(uint64(sum) + uint64(bits.ReverseBytes16(^s2)))
		}
	}
	binary.BigEndian.PutUint16(b[16:18], Fold(sum))
	return n, nil
}
