package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// refQuantile is the nearest-rank quantile of sorted samples: the smallest
// value with at least ceil(q*n) samples at or below it.
func refQuantile(sorted []uint64, q float64) uint64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

func TestHistQuantilesMatchSortedReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() uint64{
		"small-exact": func() uint64 { return rng.Uint64N(256) },
		"uniform-µs":  func() uint64 { return 1000 + rng.Uint64N(100_000) },
		"lognormal":   func() uint64 { return uint64(math.Exp(rng.NormFloat64()*1.5 + 9)) },
		"bimodal-tail": func() uint64 {
			return map[bool]uint64{true: 5_000_000 + rng.Uint64N(1e6), false: 3000 + rng.Uint64N(500)}[rng.IntN(100) == 0]
		},
		"constant": func() uint64 { return 12345 },
		"huge":     func() uint64 { return 1<<38 + rng.Uint64N(1<<38) },
	}
	for name, gen := range dists {
		for _, n := range []int{1, 2, 7, 1000, 100_000} {
			var h Hist
			vals := make([]uint64, n)
			var sum float64
			for i := range vals {
				vals[i] = gen()
				sum += float64(vals[i])
				h.Record(time.Duration(vals[i]))
			}
			slices.Sort(vals)
			for _, q := range []float64{0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1} {
				want := float64(refQuantile(vals, q))
				got := h.Quantile(q)
				if tol := want/256 + 0.5; math.Abs(got-want) > tol {
					t.Errorf("%s n=%d q=%v: got %v, sorted reference %v (tolerance %v)", name, n, q, got, want, tol)
				}
			}
			if got, want := h.Mean(), sum/float64(n); math.Abs(got-want) > want*1e-9 {
				t.Errorf("%s n=%d: mean %v, want %v", name, n, got, want)
			}
			if h.Count() != uint64(n) || h.Min() != vals[0] || h.Max() != vals[n-1] {
				t.Errorf("%s n=%d: count/min/max %d/%d/%d, want %d/%d/%d", name, n, h.Count(), h.Min(), h.Max(), n, vals[0], vals[n-1])
			}
		}
	}
}

func TestHistBucketsTileTheRange(t *testing.T) {
	// Every bucket's bounds map back to it, and consecutive buckets are
	// adjacent: no value falls between buckets or into two.
	next := uint64(0)
	for i := range histBuckets {
		lo, hi := histBounds(i)
		if lo != next || hi < lo {
			t.Fatalf("bucket %d is [%d, %d], want it to start at %d", i, lo, hi, next)
		}
		if histIndex(lo) != i || histIndex(hi) != i {
			t.Fatalf("bucket %d [%d, %d]: index of bounds %d, %d", i, lo, hi, histIndex(lo), histIndex(hi))
		}
		if i >= 1<<histSubBits && float64(hi-lo+1) > float64(lo)/histHalf {
			t.Fatalf("bucket %d [%d, %d] is wider than 1/%d of its values", i, lo, hi, histHalf)
		}
		next = hi + 1
	}
	if histIndex(math.MaxUint64) != histBuckets-1 {
		t.Fatal("values past the range do not land in the last bucket")
	}
}

func TestHistEmptyAndMerge(t *testing.T) {
	var a, b Hist
	if !math.IsNaN(a.Quantile(0.5)) || !math.IsNaN(a.Mean()) {
		t.Fatal("empty histogram gives a number")
	}
	a.Record(-5) // negative counts as zero
	for i := 1; i <= 100; i++ {
		b.Record(time.Duration(i * 1000))
	}
	a.Merge(&b)
	if a.Count() != 101 || a.Min() != 0 || a.Max() != 100_000 {
		t.Fatalf("merged count/min/max %d/%d/%d", a.Count(), a.Min(), a.Max())
	}
	if got := a.Quantile(0.5); math.Abs(got-50_000) > 50_000/256 {
		t.Fatalf("merged median %v, want about 50000", got)
	}
	a.Reset()
	if a.Count() != 0 {
		t.Fatal("Reset kept samples")
	}
}

func TestHistRecordDoesNotAllocate(t *testing.T) {
	h := new(Hist)
	d := time.Duration(1)
	if n := testing.AllocsPerRun(1000, func() { h.Record(d); d = d*3 + 7 }); n != 0 {
		t.Fatalf("Record allocates %v times per sample", n)
	}
}

func BenchmarkHistRecord(b *testing.B) {
	var h Hist
	d := time.Duration(0)
	for b.Loop() {
		h.Record(d)
		d = (d*1103515245 + 12345) & (1<<32 - 1)
	}
}
