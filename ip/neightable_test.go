package ip

import (
	"math/rand/v2"
	"testing"
)

// The open-addressed table agrees with a map (the obvious reference)
// under random inserts and removals, including long probe runs that wrap
// around the end of the slot array.
func TestNeighTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, limit := range []int{1, 3, 16, 100} {
		tab := newNeighTable(limit)
		ref := map[uint32]bool{}
		for range 20000 {
			// A small key space forces collisions and reuse.
			k := uint32(rng.IntN(4 * limit))
			if rng.IntN(3) == 0 {
				k = k * 0x10000 // same low bits: clusters
			}
			switch rng.IntN(3) {
			case 0, 1:
				if tab.find(k) == nil {
					if e := tab.insert(k); e == nil {
						if len(ref) < limit {
							t.Fatalf("insert refused with %d/%d entries", len(ref), limit)
						}
					} else {
						e.mac[0] = byte(k)
						ref[k] = true
					}
				}
			case 2:
				tab.remove(k)
				delete(ref, k)
			}
			if tab.count != len(ref) {
				t.Fatalf("count %d, reference %d", tab.count, len(ref))
			}
			for range 4 {
				q := uint32(rng.IntN(4 * limit))
				if rng.IntN(2) == 0 {
					q *= 0x10000
				}
				if (tab.find(q) != nil) != ref[q] {
					t.Fatalf("limit %d: find(%d) disagrees with the reference", limit, q)
				}
			}
		}
		for k := range ref {
			if e := tab.find(k); e == nil || e.mac[0] != byte(k) {
				t.Fatalf("limit %d: %d lost", limit, k)
			}
		}
		n := 0
		for i := range tab.slots {
			if tab.slots[i].inUse {
				n++
				if !ref[tab.slots[i].addr] {
					t.Fatalf("stray entry %d", tab.slots[i].addr)
				}
			}
		}
		if n != len(ref) {
			t.Fatalf("%d slots in use, %d entries", n, len(ref))
		}
	}
}
