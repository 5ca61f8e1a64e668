package wire

import "encoding/binary"

// Sum adds the bytes of b, as big-endian 16-bit words (an odd last byte is
// padded with zero), to the running ones'-complement partial sum initial
// and returns the new partial sum, not yet folded or complemented. Sums of
// consecutive even-length pieces may be chained through initial.
func Sum(b []byte, initial uint32) uint32 {
	s := uint64(initial)
	for len(b) >= 8 {
		s += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		s += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
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
	s := uint64(Sum(src[:], 0)) + uint64(Sum(dst[:], 0)) +
		uint64(length>>16) + uint64(length&0xffff) + uint64(proto)
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
