package tcp

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/ustack/ustack/tcp/seqnum"
)

// The scoreboard is checked against a byte map of SACKed sequence numbers
// under random blocks, trims and queries, across the 2^32 wrap.
func TestScoreboardAgainstReference(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for round := 0; round < 200; round++ {
		base := seqnum.Value(r.Uint32())
		una := base
		const span = 4000
		ref := map[seqnum.Value]bool{}
		var sb scoreboard
		for op := 0; op < 60; op++ {
			switch r.Intn(4) {
			case 0, 1:
				l := una.Add(seqnum.Size(r.Intn(span)))
				rr := l.Add(seqnum.Size(1 + r.Intn(300)))
				before := len(ref)
				got := sb.add(l, rr)
				for s := l; s != rr; s++ {
					ref[s] = true
				}
				if sb.n < maxSACKRanges && int(got) != len(ref)-before {
					t.Fatalf("add [%d,%d): newly %d, reference %d", l, rr, got, len(ref)-before)
				}
				if sb.n == maxSACKRanges {
					// Ranges may have been forgotten: resync the reference.
					ref = map[seqnum.Value]bool{}
					for i := 0; i < sb.n; i++ {
						for s := sb.r[i].l; s != sb.r[i].r; s++ {
							ref[s] = true
						}
					}
				}
			case 2:
				una = una.Add(seqnum.Size(r.Intn(400)))
				sb.trim(una)
				for s := range ref {
					if s.LessThan(una) {
						delete(ref, s)
					}
				}
			case 3:
				a := una.Add(seqnum.Size(r.Intn(span)))
				b := a.Add(seqnum.Size(r.Intn(span)))
				want := uint32(0)
				for s := a; s != b; s++ {
					if !ref[s] {
						want++
					}
				}
				if got := sb.unsackedIn(a, b); got != want {
					t.Fatalf("unsackedIn [%d,%d) = %d, reference %d", a, b, got, want)
				}
				s := a
				for ref[s] {
					s++
				}
				if got := sb.skip(a); got != s {
					t.Fatalf("skip(%d) = %d, reference %d", a, got, s)
				}
			}
			if int(sb.sacked) != len(ref) {
				t.Fatalf("sacked %d, reference %d", sb.sacked, len(ref))
			}
			for i := 1; i < sb.n; i++ {
				if !sb.r[i-1].r.LessThan(sb.r[i].l) {
					t.Fatalf("ranges not sorted and disjoint: %+v", sb.r[:sb.n])
				}
			}
		}
	}
}

// The send ring is checked against a plain byte slice, for a ring that
// is allocated whole and for one that grows from 16 KiB.
func TestSendRingAgainstReference(t *testing.T) {
	for _, size := range []int{1000, 100000} {
		r := rand.New(rand.NewSource(4))
		ring := sendRing{size: size}
		var ref []byte
		next := byte(0)
		for op := 0; op < 20000; op++ {
			switch r.Intn(3) {
			case 0:
				p := make([]byte, r.Intn(size*7/10))
				for i := range p {
					p[i] = next
					next++
				}
				n := ring.write(p)
				if want := min(len(p), size-len(ref)); n != want {
					t.Fatalf("size %d: write %d took %d, want %d", size, len(p), n, want)
				}
				next -= byte(len(p) - n)
				ref = append(ref, p[:n]...)
			case 1:
				n := r.Intn(len(ref) + 1)
				ring.consume(n)
				ref = ref[n:]
			case 2:
				off := r.Intn(len(ref) + 1)
				n := r.Intn(len(ref) - off + 1)
				p1, p2 := ring.slices(off, n)
				if got := append(append([]byte{}, p1...), p2...); !bytes.Equal(got, ref[off:off+n]) {
					t.Fatalf("size %d: slices(%d,%d) wrong", size, off, n)
				}
			}
			if ring.n != len(ref) || len(ring.buf) > size {
				t.Fatalf("size %d: ring holds %d (cap %d), reference %d", size, ring.n, len(ring.buf), len(ref))
			}
		}
	}
}
