package wire

import (
	"encoding/binary"
	"math/bits"
)

// Sum adds the bytes of b, as big-endian 16-bit words (an odd last byte is
// padded with zero), to the running ones'-complement partial sum initial
// and returns the new partial sum, not yet folded or complemented. Sums of
// consecutive even-length pieces may be chained through initial.
//
// The returned value is only meaningful modulo 0xffff (with zero kept
// distinct from 0xffff, as ones'-complement arithmetic requires): pass it
// on as an initial value or to Fold, do not compare it directly.
func Sum(b []byte, initial uint32) uint32 {
	// The ones'-complement sum is independent of byte order (RFC 1071
	// section 2(B)): sum the data as native little-endian 64-bit words
	// with the carries wrapped back in (one ADC chain, about 8 bytes a
	// cycle), and convert the total to network byte order once at the end.
	var s, c uint64
	for len(b) >= 64 {
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[0:8]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[8:16]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[16:24]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[24:32]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[32:40]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[40:48]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[48:56]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[56:64]), c)
		b = b[64:]
	}
	if len(b) >= 32 {
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[0:8]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[8:16]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[16:24]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[24:32]), c)
		b = b[32:]
	}
	// Fewer than 32 bytes remain (all of a small header): add them as
	// 32-bit words into a plain accumulator, which cannot overflow. Every
	// byte keeps its place within a little-endian 16-bit word (even
	// offsets low, odd offsets high), so an odd last byte is padded right.
	t := c
	for len(b) >= 8 {
		t += uint64(binary.LittleEndian.Uint32(b)) + uint64(binary.LittleEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		t += uint64(binary.LittleEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		t += uint64(binary.LittleEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		t += uint64(b[0])
	}
	s, c = bits.Add64(s, t, 0)
	s += c // cannot carry: s+t-2^64 < 2^64-1

	// Swapping the bytes of every 16-bit word multiplies the sum by 2^8
	// modulo 0xffff, and so does rotating the 64-bit accumulator left by
	// 8 (0xffff divides 2^64-1); a rotation also keeps a non-zero sum
	// non-zero. Then add the caller's partial sum and fold to 32 bits.
	s = bits.RotateLeft64(s, 8)
	s, c = bits.Add64(s, uint64(initial), 0)
	s += c
	return fold64(s)
}

// fold64 reduces a 64-bit ones'-complement accumulator to 32 bits whose
// 16-bit fold is unchanged.
func fold64(s uint64) uint32 {
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	return uint32(s)
}

// Fold folds a partial sum to 16 bits and complements it, giving the value
// to store in a checksum field. A buffer whose stored checksum is correct
// has Fold(Sum(whole header+data, pseudo)) == 0.
func Fold(sum uint32) uint16 {
	s := (sum >> 16) + (sum & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return ^uint16(s)
}

// Checksum is the Internet checksum (RFC 1071) of b: Fold(Sum(b, 0)).
func Checksum(b []byte) uint16 { return Fold(Sum(b, 0)) }

// PseudoHeaderSum4 is the partial sum of the IPv4 pseudo-header (RFC 9293
// section 3.1, RFC 768) for an upper-layer packet of the given length.
func PseudoHeaderSum4(src, dst [4]byte, proto uint8, length uint16) uint32 {
	s := uint32(binary.BigEndian.Uint16(src[:])) + uint32(binary.BigEndian.Uint16(src[2:])) +
		uint32(binary.BigEndian.Uint16(dst[:])) + uint32(binary.BigEndian.Uint16(dst[2:])) +
		uint32(proto) + uint32(length)
	return s
}

// PseudoHeaderSum6 is the partial sum of the IPv6 pseudo-header (RFC 8200
// section 8.1) for an upper-layer packet of the given length.
func PseudoHeaderSum6(src, dst [16]byte, proto uint8, length uint32) uint32 {
	// Eight 32-bit big-endian words plus length and protocol: at most
	// ten terms below 2^32, so a plain 64-bit sum cannot overflow.
	s := uint64(binary.BigEndian.Uint32(src[0:])) + uint64(binary.BigEndian.Uint32(src[4:])) +
		uint64(binary.BigEndian.Uint32(src[8:])) + uint64(binary.BigEndian.Uint32(src[12:])) +
		uint64(binary.BigEndian.Uint32(dst[0:])) + uint64(binary.BigEndian.Uint32(dst[4:])) +
		uint64(binary.BigEndian.Uint32(dst[8:])) + uint64(binary.BigEndian.Uint32(dst[12:])) +
		uint64(length) + uint64(proto)
	return fold64(s)
}

// UpdateChecksum16 returns checksum field value cksum adjusted for one
// 16-bit word of the covered data changing from old to new, per RFC 1624
// equation 3: HC' = ~(~HC + ~m + m').
func UpdateChecksum16(cksum, old, new uint16) uint16 {
	s := uint32(^cksum) + uint32(^old) + uint32(new)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return ^uint16(s)
}

// UpdateChecksum32 is UpdateChecksum16 for an aligned 32-bit field (a
// sequence number, an IPv4 address).
func UpdateChecksum32(cksum uint16, old, new uint32) uint16 {
	cksum = UpdateChecksum16(cksum, uint16(old>>16), uint16(new>>16))
	return UpdateChecksum16(cksum, uint16(old), uint16(new))
}
