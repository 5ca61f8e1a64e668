package wire

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// referenceSum is the obvious RFC 1071 algorithm, one big-endian 16-bit
// word at a time with the end-around carry applied at every step. It
// returns the folded 16-bit ones'-complement sum (not complemented).
func referenceSum(b []byte, initial uint32) uint16 {
	s := (initial >> 16) + (initial & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	for i := 0; i < len(b); i += 2 {
		w := uint32(b[i]) << 8
		if i+1 < len(b) {
			w |= uint32(b[i+1])
		}
		s += w
		if s > 0xffff {
			s = s - 0x10000 + 1
		}
	}
	return uint16(s)
}

// folded is the 16-bit ones'-complement value of a partial sum.
func folded(sum uint32) uint16 { return ^Fold(sum) }

func TestSumRFC1071Example(t *testing.T) {
	// RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := folded(Sum(b, 0)); got != 0xddf2 {
		t.Fatalf("sum = %#04x, want 0xddf2", got)
	}
	if got := Checksum(b); got != 0x220d {
		t.Fatalf("checksum = %#04x, want 0x220d", got)
	}
	// Storing the checksum in the data makes the whole verify to zero.
	c := append([]byte{}, b...)
	c = binary.BigEndian.AppendUint16(c, Checksum(b))
	if got := Checksum(c); got != 0 {
		t.Fatalf("checksum over data+checksum = %#04x, want 0", got)
	}
}

func TestSumEdgeValues(t *testing.T) {
	for _, tc := range []struct {
		b       []byte
		initial uint32
		want    uint16
	}{
		{nil, 0, 0},
		{[]byte{}, 0xffffffff, 0xffff},
		{[]byte{0xff}, 0, 0xff00},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, 0},
		{[]byte{0xff, 0xff}, 0, 0xffff},
		{[]byte{0xff, 0xff, 0xff, 0xff}, 0, 0xffff},
		{[]byte{0xff, 0xff, 0x00, 0x01}, 0, 0x0001},
		{[]byte{0x80, 0x00, 0x80, 0x00}, 0, 0x0001},
		{[]byte{0x12, 0x34}, 0x10000, 0x1235},
	} {
		if got := folded(Sum(tc.b, tc.initial)); got != tc.want {
			t.Errorf("Sum(% x, %#x) folds to %#04x, want %#04x", tc.b, tc.initial, got, tc.want)
		}
		if got := referenceSum(tc.b, tc.initial); got != tc.want {
			t.Errorf("referenceSum(% x, %#x) = %#04x, want %#04x", tc.b, tc.initial, got, tc.want)
		}
	}
	// All-ones data of every length up to 200: a non-zero sum must never
	// fold to zero, however many end-around carries it takes.
	ones := make([]byte, 200)
	for i := range ones {
		ones[i] = 0xff
	}
	for n := 0; n <= len(ones); n++ {
		if got, want := folded(Sum(ones[:n], 0)), referenceSum(ones[:n], 0); got != want {
			t.Fatalf("all-ones len %d: %#04x, want %#04x", n, got, want)
		}
	}
}

// randomBytes fills a slice with bytes biased towards 0x00 and 0xff, to hit
// carry and negative-zero corner cases more often than uniform bytes do.
func randomBytes(r *rand.Rand, b []byte) {
	mode := r.IntN(3)
	for i := range b {
		switch {
		case mode == 0:
			b[i] = byte(r.Uint32())
		case mode == 1 && r.IntN(4) != 0:
			b[i] = 0xff
		case mode == 2 && r.IntN(4) != 0:
			b[i] = 0
		default:
			b[i] = byte(r.Uint32())
		}
	}
}

func TestSumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 70000+8)
	for iter := 0; iter < 4000; iter++ {
		var n int
		switch iter % 4 {
		case 0:
			n = r.IntN(130)
		case 1:
			n = r.IntN(2000)
		default:
			n = r.IntN(200)
		}
		if iter < 10 {
			n = 65536 + r.IntN(4000) // a few huge ones
		}
		off := r.IntN(8) // every alignment
		b := buf[off : off+n]
		randomBytes(r, b)
		initial := r.Uint32()
		switch r.IntN(4) {
		case 0:
			initial = 0
		case 1:
			initial = 0xffffffff
		}
		got, want := folded(Sum(b, initial)), referenceSum(b, initial)
		if got != want {
			t.Fatalf("len %d off %d initial %#x: Sum folds to %#04x, reference %#04x", n, off, initial, got, want)
		}
	}
}

func TestSumChaining(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 3000)
	for iter := 0; iter < 2000; iter++ {
		n := r.IntN(len(b))
		randomBytes(r, b[:n])
		whole := folded(Sum(b[:n], 7))
		// Split at any even point, then at two: chaining must agree.
		k := r.IntN(n/2+1) * 2
		if got := folded(Sum(b[k:n], Sum(b[:k], 7))); got != whole {
			t.Fatalf("len %d split %d: chained %#04x, whole %#04x", n, k, got, whole)
		}
		k2 := k + r.IntN((n-k)/2+1)*2
		s := Sum(b[:k], 7)
		s = Sum(b[k:k2], s)
		s = Sum(b[k2:n], s)
		if got := folded(s); got != whole {
			t.Fatalf("len %d splits %d,%d: chained %#04x, whole %#04x", n, k, k2, got, whole)
		}
	}
}

func TestFoldOfZeroSum(t *testing.T) {
	// All-zero data sums to zero, whose checksum is 0xffff; a non-zero sum
	// congruent to zero (0xffff) gives checksum 0.
	if got := Checksum(make([]byte, 40)); got != 0xffff {
		t.Fatalf("checksum of zeros = %#04x, want 0xffff", got)
	}
	if got := Checksum([]byte{0xff, 0xff}); got != 0 {
		t.Fatalf("checksum of ffff = %#04x, want 0", got)
	}
}

func TestPseudoHeaderSum4(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for iter := 0; iter < 1000; iter++ {
		var src, dst [4]byte
		binary.BigEndian.PutUint32(src[:], r.Uint32())
		binary.BigEndian.PutUint32(dst[:], r.Uint32())
		proto := uint8(r.Uint32())
		length := uint16(r.Uint32())
		// RFC 768 / RFC 9293: src, dst, zero, protocol, length.
		ph := make([]byte, 0, 12)
		ph = append(ph, src[:]...)
		ph = append(ph, dst[:]...)
		ph = append(ph, 0, proto)
		ph = binary.BigEndian.AppendUint16(ph, length)
		if got, want := folded(PseudoHeaderSum4(src, dst, proto, length)), referenceSum(ph, 0); got != want {
			t.Fatalf("%v %v %d %d: %#04x, want %#04x", src, dst, proto, length, got, want)
		}
	}
}

func TestPseudoHeaderSum6(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for iter := 0; iter < 1000; iter++ {
		var src, dst [16]byte
		randomBytes(r, src[:])
		randomBytes(r, dst[:])
		proto := uint8(r.Uint32())
		length := r.Uint32()
		if iter%2 == 0 {
			length &= 0xffff
		}
		// RFC 8200 section 8.1: src, dst, 32-bit length, 3 zero bytes,
		// next header.
		ph := make([]byte, 0, 40)
		ph = append(ph, src[:]...)
		ph = append(ph, dst[:]...)
		ph = binary.BigEndian.AppendUint32(ph, length)
		ph = append(ph, 0, 0, 0, proto)
		if got, want := folded(PseudoHeaderSum6(src, dst, proto, length)), referenceSum(ph, 0); got != want {
			t.Fatalf("iter %d: %#04x, want %#04x", iter, got, want)
		}
	}
}

func TestUpdateChecksumRFC1624Example(t *testing.T) {
	// RFC 1624 section 4: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives
	// HC' = 0x0000 with equation 3 (equation 2 would wrongly give 0xffff).
	if got := UpdateChecksum16(0xdd2f, 0x5555, 0x3285); got != 0x0000 {
		t.Fatalf("UpdateChecksum16 = %#04x, want 0x0000", got)
	}
}

func TestUpdateChecksumMatchesRecompute(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for iter := 0; iter < 5000; iter++ {
		n := 4 + r.IntN(30)*2
		b := make([]byte, n)
		randomBytes(r, b)
		ck := Checksum(b)
		if iter%2 == 0 {
			off := r.IntN(n/2) * 2
			old := binary.BigEndian.Uint16(b[off:])
			nw := uint16(r.Uint32())
			if r.IntN(4) == 0 {
				nw = ^old
			}
			binary.BigEndian.PutUint16(b[off:], nw)
			got, want := UpdateChecksum16(ck, old, nw), Checksum(b)
			if got != want && !allZero(b) {
				t.Fatalf("len %d off %d %#04x->%#04x: incremental %#04x, full %#04x", n, off, old, nw, got, want)
			}
		} else {
			off := r.IntN(n/4) * 4
			old := binary.BigEndian.Uint32(b[off:])
			nw := r.Uint32()
			binary.BigEndian.PutUint32(b[off:], nw)
			got, want := UpdateChecksum32(ck, old, nw), Checksum(b)
			if got != want && !allZero(b) {
				t.Fatalf("len %d off %d %#08x->%#08x: incremental %#04x, full %#04x", n, off, old, nw, got, want)
			}
		}
		// The incrementally updated checksum must verify when stored.
	}
}

func TestUpdateChecksumVerifiesInPlace(t *testing.T) {
	// A checksum field inside the covered data, kept up to date with
	// incremental updates through many random rewrites, still verifies.
	r := rand.New(rand.NewPCG(11, 12))
	b := make([]byte, 60)
	randomBytes(r, b)
	binary.BigEndian.PutUint16(b[10:], 0)
	binary.BigEndian.PutUint16(b[10:], Checksum(b))
	for iter := 0; iter < 10000; iter++ {
		off := r.IntN(30) * 2
		if off == 10 {
			continue
		}
		old := binary.BigEndian.Uint16(b[off:])
		nw := uint16(r.Uint32())
		binary.BigEndian.PutUint16(b[off:], nw)
		binary.BigEndian.PutUint16(b[10:], UpdateChecksum16(binary.BigEndian.Uint16(b[10:]), old, nw))
		if Checksum(b) != 0 {
			t.Fatalf("iter %d: data no longer verifies", iter)
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestSumNoAllocs(t *testing.T) {
	b := make([]byte, 1500)
	var sink uint32
	if n := testing.AllocsPerRun(100, func() { sink += Sum(b, sink) }); n != 0 {
		t.Fatalf("Sum allocates %v times", n)
	}
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{20, 64, 1500, 9000, 64 * 1024} {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		name := fmt.Sprintf("%dB", n)
		if n%1024 == 0 {
			name = fmt.Sprintf("%dKiB", n/1024)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(n))
			var s uint32
			for b.Loop() {
				s = Sum(buf, s)
			}
		})
	}
	// The obvious word-at-a-time loop, for comparison.
	buf := make([]byte, 1500)
	b.Run("reference/1500B", func(b *testing.B) {
		b.SetBytes(1500)
		var s uint16
		for b.Loop() {
			s = referenceSum(buf, uint32(s))
		}
	})
}

func BenchmarkPseudoHeaderSum6(b *testing.B) {
	var src, dst [16]byte
	src[0], dst[15] = 0xfe, 1
	var s uint32
	for b.Loop() {
		s += PseudoHeaderSum6(src, dst, 6, uint32(s))
	}
}
