package flowtab

import (
	"math/rand/v2"
	"testing"
)

// The Index against a Go map through random adds, lookups and deletes
// over a small key space, its keys kept in a slab as a caller's would be.
func TestIndexAgainstMap(t *testing.T) {
	for _, space := range []int{50, 2000} {
		r := rand.New(rand.NewPCG(7, uint64(space)))
		keys := []Key{{}} // reference 0 is never used
		x := NewIndex([4]uint64{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}, func(ref uint32) *Key { return &keys[ref] })
		ref := map[Key]uint32{}
		for i := 0; i < 100000; i++ {
			k, _, _ := key(r, space)
			got, ok := x.Get(&k)
			want, wok := ref[k]
			if ok != wok || got != want {
				t.Fatalf("space %d op %d: Get = %d,%v want %d,%v", space, i, got, ok, want, wok)
			}
			switch {
			case !ok && r.IntN(2) == 0:
				keys = append(keys, k)
				n := uint32(len(keys) - 1)
				x.Add(n)
				ref[k] = n
			case ok && r.IntN(2) == 0:
				if !x.Delete(got) {
					t.Fatalf("space %d op %d: Delete(%d) found nothing", space, i, got)
				}
				delete(ref, k)
			}
			if x.Len() != len(ref) {
				t.Fatalf("space %d op %d: Len = %d, want %d", space, i, x.Len(), len(ref))
			}
		}
		for k, want := range ref {
			if got, ok := x.Get(&k); !ok || got != want {
				t.Fatalf("after the run: Get(%v) = %d,%v want %d", k, got, ok, want)
			}
		}
	}
}
