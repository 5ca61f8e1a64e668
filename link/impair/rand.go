package impair

import (
	"math/bits"
	"math/rand/v2"
)

// stream is one deterministic random stream (PCG, from math/rand/v2, used
// as a concrete type so draws are calls, not interface dispatch).
type stream struct{ pcg rand.PCG }

// splitmix64 is a bijective 64-bit mixer, used to spread one seed over
// several streams.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// MixSeed derives a well-spread seed from a base seed and a salt (for
// example a link number), deterministically. The simulator uses it to give
// every link direction its own seed.
func MixSeed(seed, salt uint64) uint64 {
	return splitmix64(splitmix64(seed) ^ splitmix64(salt^0x5851f42d4c957f2d))
}

func (s *stream) seed(seed, id uint64) {
	s.pcg.Seed(MixSeed(seed, id), MixSeed(seed, id+0x100))
}

// threshold turns a probability into a 53-bit threshold for hit.
func threshold(p float64) uint64 {
	if p >= 1 {
		return 1 << 53
	}
	return uint64(p * (1 << 53))
}

// hit draws once and reports true with probability thr/2^53.
func (s *stream) hit(thr uint64) bool { return s.pcg.Uint64()>>11 < thr }

// below draws uniformly from [0, n) (n > 0) by multiply-high; the bias is
// below n/2^64 and the result is deterministic.
func (s *stream) below(n uint64) uint64 {
	hi, _ := bits.Mul64(s.pcg.Uint64(), n)
	return hi
}
