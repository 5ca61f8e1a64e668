package bench

import (
	"math"
	"math/bits"
	"time"
)

// Hist geometry: values below 1<<histSubBits get a bucket each; above,
// every power-of-two range is cut into 1<<(histSubBits-1) equal buckets,
// so a bucket is at most 1/128 of its values wide and the midpoint Hist
// reports is within 1/256 of any value in it.
const (
	histSubBits  = 8
	histHalf     = 1 << (histSubBits - 1) // sub-buckets per octave
	histMaxShift = 40 - histSubBits       // values up to 2^40 ns (~18 min) are resolved
	histBuckets  = (histMaxShift+1)*histHalf + histHalf
)

// Hist is a latency histogram in nanoseconds. Record does not allocate;
// the zero value is ready to use. It is not safe for concurrent use.
type Hist struct {
	counts   [histBuckets]uint64
	n        uint64
	sum      float64
	min, max uint64
}

func histIndex(v uint64) int {
	if v < 1<<histSubBits {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits
	if shift > histMaxShift {
		return histBuckets - 1
	}
	return shift*histHalf + int(v>>uint(shift))
}

// histBounds is the inclusive value range of bucket i.
func histBounds(i int) (lo, hi uint64) {
	if i < 1<<histSubBits {
		return uint64(i), uint64(i)
	}
	shift := i/histHalf - 1
	m := uint64(i - shift*histHalf)
	return m << uint(shift), (m+1)<<uint(shift) - 1
}

// Record adds one sample; negative durations count as zero.
func (h *Hist) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[histIndex(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Count is the number of samples.
func (h *Hist) Count() uint64 { return h.n }

// Mean is the exact mean in nanoseconds (NaN without samples).
func (h *Hist) Mean() float64 {
	if h.n == 0 {
		return math.NaN()
	}
	return h.sum / float64(h.n)
}

// Min and Max are the exact extremes in nanoseconds.
func (h *Hist) Min() uint64 { return h.min }
func (h *Hist) Max() uint64 { return h.max }

// Quantile returns the q-quantile (0 < q <= 1) by nearest rank: the
// smallest recorded value such that at least ceil(q*n) samples are at or
// below it, to within the bucket's resolution (1/256 relative), clamped to
// the exact minimum and maximum. NaN without samples.
func (h *Hist) Quantile(q float64) float64 {
	if h.n == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(1, min(rank, h.n))
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i]
		if cum >= rank {
			lo, hi := histBounds(i)
			v := lo + (hi-lo)/2
			return float64(min(max(v, h.min), h.max))
		}
	}
	return float64(h.max)
}

// Merge adds o's samples to h.
func (h *Hist) Merge(o *Hist) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Reset forgets every sample.
func (h *Hist) Reset() { *h = Hist{} }
