package siphash

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

var refKey = func() [16]byte {
	var b [16]byte
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// Reference vectors (vectors.h of the SipHash reference code): key 00..0f,
// message of length i = 00, 01, ..., i-1; outputs as little-endian bytes.
var vectors = map[int][8]byte{
	0:  {0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72},
	1:  {0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74},
	2:  {0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d},
	3:  {0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85},
	4:  {0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf},
	5:  {0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18},
	6:  {0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb},
	7:  {0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab},
	8:  {0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93},
	9:  {0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e},
	10: {0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a},
	11: {0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4},
	// The paper's appendix A example: 15-byte message, 0xa129ca6149be45e5.
	15: {0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1},
}

func TestVectors(t *testing.T) {
	k := KeyFromBytes(refKey)
	if k.K0 != 0x0706050403020100 || k.K1 != 0x0f0e0d0c0b0a0908 {
		t.Fatalf("key halves %#x %#x", k.K0, k.K1)
	}
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	for n, want := range vectors {
		got := k.Sum64(msg[:n])
		var w uint64
		for i := 7; i >= 0; i-- {
			w = w<<8 | uint64(want[i])
		}
		if got != w {
			t.Errorf("len %d: %#016x, want %#016x", n, got, w)
		}
	}
}

// slowSum is a second, deliberately plain rendering of the algorithm:
// pad the message to a multiple of 8 with the length byte, then process
// words with the round spelled out on an array.
func slowSum(k0, k1 uint64, msg []byte) uint64 {
	v := [4]uint64{k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d, k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573}
	sip := func() {
		v[0] += v[1]
		v[1] = bits.RotateLeft64(v[1], 13) ^ v[0]
		v[0] = bits.RotateLeft64(v[0], 32)
		v[2] += v[3]
		v[3] = bits.RotateLeft64(v[3], 16) ^ v[2]
		v[0] += v[3]
		v[3] = bits.RotateLeft64(v[3], 21) ^ v[0]
		v[2] += v[1]
		v[1] = bits.RotateLeft64(v[1], 17) ^ v[2]
		v[2] = bits.RotateLeft64(v[2], 32)
	}
	padded := append([]byte(nil), msg...)
	for len(padded)%8 != 7 {
		padded = append(padded, 0)
	}
	padded = append(padded, byte(len(msg)))
	for i := 0; i < len(padded); i += 8 {
		var m uint64
		for j := 7; j >= 0; j-- {
			m = m<<8 | uint64(padded[i+j])
		}
		v[3] ^= m
		sip()
		sip()
		v[0] ^= m
	}
	v[2] ^= 0xff
	for i := 0; i < 4; i++ {
		sip()
	}
	return v[0] ^ v[1] ^ v[2] ^ v[3]
}

func TestAgainstSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 2000; i++ {
		k := Key{rng.Uint64(), rng.Uint64()}
		msg := make([]byte, rng.IntN(300))
		for j := range msg {
			msg[j] = byte(rng.Uint32())
		}
		if got, want := k.Sum64(msg), slowSum(k.K0, k.K1, msg); got != want {
			t.Fatalf("len %d: %#x, slow %#x", len(msg), got, want)
		}
	}
}

func TestAllocs(t *testing.T) {
	k := KeyFromBytes(refKey)
	var buf [40]byte
	if a := testing.AllocsPerRun(100, func() { _ = k.Sum64(buf[:]) }); a != 0 {
		t.Fatalf("allocs %v", a)
	}
}

func BenchmarkSum64Tuple(b *testing.B) {
	k := KeyFromBytes(refKey)
	var buf [37]byte // the size of a hashed IPv6 4-tuple plus a tag byte
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf[0]++
		_ = k.Sum64(buf[:])
	}
}

func BenchmarkSum64_1K(b *testing.B) {
	k := KeyFromBytes(refKey)
	buf := make([]byte, 1024)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		_ = k.Sum64(buf)
	}
}
