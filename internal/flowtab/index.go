package flowtab

// Index is the table for callers that keep each entry's key themselves,
// in storage that does not move (a slab of records named by number): it
// holds only 4-byte references, so an index of n entries costs 8–16n
// bytes where a Table[uint32], a key in each slot, costs 64–128n. The
// probing, hash and deletion are Table's; the key of a reference comes
// from the caller's function. References are nonzero (0 marks an empty
// position). Not safe for concurrent use.
type Index struct {
	refs []uint32
	mask uint64
	n    int
	seed [4]uint64
	key  func(ref uint32) *Key
}

// NewIndex returns an empty index whose hash is keyed by seed and which
// finds the key of a reference with key.
func NewIndex(seed [4]uint64, key func(ref uint32) *Key) *Index {
	return &Index{refs: make([]uint32, minSize), mask: minSize - 1, seed: seed, key: key}
}

// Len is the number of references.
func (x *Index) Len() int { return x.n }

// Get returns the reference whose key is k.
func (x *Index) Get(k *Key) (uint32, bool) {
	for i := hashKey(&x.seed, k) & x.mask; ; i = (i + 1) & x.mask {
		r := x.refs[i]
		if r == 0 {
			return 0, false
		}
		if x.key(r).Equal(k) {
			return r, true
		}
	}
}

// Add enters ref, whose key must not be in the index yet.
func (x *Index) Add(ref uint32) {
	// At most half full: a miss probes past fewer references, each of
	// which costs a look at the caller's key.
	if (x.n+1)*2 > len(x.refs) {
		x.grow()
	}
	x.place(ref)
	x.n++
}

func (x *Index) place(ref uint32) {
	i := hashKey(&x.seed, x.key(ref)) & x.mask
	for x.refs[i] != 0 {
		i = (i + 1) & x.mask
	}
	x.refs[i] = ref
}

// Delete removes ref (found by its key, which must still be the one it
// was added with) and reports whether it was there.
func (x *Index) Delete(ref uint32) bool {
	k := x.key(ref)
	i := hashKey(&x.seed, k) & x.mask
	for ; x.refs[i] != ref; i = (i + 1) & x.mask {
		if x.refs[i] == 0 {
			return false
		}
	}
	// Backward shift, as Table.Delete.
	for j := (i + 1) & x.mask; x.refs[j] != 0; j = (j + 1) & x.mask {
		home := hashKey(&x.seed, x.key(x.refs[j])) & x.mask
		if (j-home)&x.mask >= (j-i)&x.mask {
			x.refs[i] = x.refs[j]
			i = j
		}
	}
	x.refs[i] = 0
	x.n--
	return true
}

func (x *Index) grow() {
	old := x.refs
	x.refs = make([]uint32, 2*len(old))
	x.mask = uint64(len(x.refs) - 1)
	for _, r := range old {
		if r != 0 {
			x.place(r)
		}
	}
}
