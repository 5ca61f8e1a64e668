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
		if r.IntN(3) < 2 || len(ref) == 0 {
			e := event{at: time.Duration(r.IntN(40)), gen: uint32(i)}
			h.push(e)
			ref = append(ref, e)
			continue
		}
		sort.SliceStable(ref, func(a, b int) bool { return ref[a].at < ref[b].at })
		got := h.pop()
		if got.at != ref[0].at || got.gen != ref[0].gen {
			t.Fatalf("step %d: popped (%v, #%d), want (%v, #%d)", i, got.at, got.gen, ref[0].at, ref[0].gen)
		}
		ref = ref[1:]
	}
}
