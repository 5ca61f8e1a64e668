package sim

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// TestEventHeapMatchesSortedReference cross-checks the event heap against
// a stable sort by time: equal times must come out in insertion order.
func TestEventHeapMatchesSortedReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	var h eventHeap
	var ref []event
	for i := 0; i < 20000; i++ {
		if r.IntN(2) == 0 || len(ref) == 0 {
			e := event{at: time.Duration(r.IntN(40)), gen: uint32(i)}
			h.push(e)
			// Insert after every event with the same or an earlier time.
			j := sort.Search(len(ref), func(k int) bool { return ref[k].at > e.at })
			ref = append(ref, event{})
			copy(ref[j+1:], ref[j:])
			ref[j] = e
			continue
		}
		got := h.pop()
		if got.at != ref[0].at || got.gen != ref[0].gen {
			t.Fatalf("step %d: popped (%v, #%d), want (%v, #%d)", i, got.at, got.gen, ref[0].at, ref[0].gen)
		}
		ref = ref[1:]
	}
}
