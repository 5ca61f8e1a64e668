package impair

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// TestHeldMatchesSortedReference cross-checks the heap against a sorted
// slice under random adds, re-puts and pops.
func TestHeldMatchesSortedReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var q held
	var ref []heldFrame
	for i := 0; i < 20000; i++ {
		switch op := r.IntN(5); {
		case op < 2 || len(ref) == 0:
			at := time.Duration(r.IntN(50))
			q.add(at, nil)
			j := sort.Search(len(ref), func(k int) bool { return ref[k].at > at })
			ref = append(ref, heldFrame{})
			copy(ref[j+1:], ref[j:])
			ref[j] = heldFrame{at: at, seq: q.seq}
		case op == 3:
			// Pop and put back unchanged: the order must not move.
			f := q.pop()
			q.put(f)
		default:
			got := q.pop()
			if got.at != ref[0].at || got.seq != ref[0].seq {
				t.Fatalf("step %d: popped (%v,%d), want (%v,%d)", i, got.at, got.seq, ref[0].at, ref[0].seq)
			}
			ref = ref[1:]
		}
		if q.len() != len(ref) {
			t.Fatalf("len %d, want %d", q.len(), len(ref))
		}
	}
}
