package reasm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// owner records frees so tests can prove each is freed exactly once.
type owner struct {
	seq   uint32
	n     int
	freed int
}

func (o *owner) Free() { o.freed++ }

// pat is the byte a consistent peer sends at sequence number s.
func pat(s uint32) byte { return byte(s*7 + s>>8 + 3) }

func payload(seq uint32, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = pat(seq + uint32(i))
	}
	return b
}

type harness struct {
	t      testing.TB
	q      *Queue
	owners []*owner
}

func newHarness(t testing.TB, cfg Config) *harness {
	return &harness{t: t, q: New(cfg)}
}

func (h *harness) ins(seq uint32, n int) Result {
	o := &owner{seq: seq, n: n}
	h.owners = append(h.owners, o)
	r := h.q.Insert(seq, payload(seq, n), o)
	h.check()
	return r
}

// check verifies the queue's internal invariants.
func (h *harness) check() {
	h.t.Helper()
	q := h.q
	bytes, segs := 0, 0
	for k, r := range q.runs {
		if !lt(r.start, r.end) {
			h.t.Fatalf("run %d empty or inverted: %d..%d", k, r.start, r.end)
		}
		if k > 0 && !lt(q.runs[k-1].end, r.start) {
			h.t.Fatalf("runs %d and %d touch or overlap: %v", k-1, k, h.ranges())
		}
		at := r.start
		prev := int32(none)
		for n := r.head; n != none; n = q.nodes[n].next {
			nd := q.nodes[n]
			if nd.seq != at || nd.prev != prev || len(nd.data) == 0 {
				h.t.Fatalf("run %d: node at %d (want %d), prev %d (want %d), len %d", k, nd.seq, at, nd.prev, prev, len(nd.data))
			}
			for i, b := range nd.data {
				if b != pat(nd.seq+uint32(i)) {
					h.t.Fatalf("byte %d of node at %d corrupted", i, nd.seq)
				}
			}
			at = nd.end()
			prev = n
			bytes += len(nd.data)
			segs++
		}
		if at != r.end || prev != r.tail {
			h.t.Fatalf("run %d ends at %d tail %d, list ends at %d tail %d", k, r.end, r.tail, at, prev)
		}
	}
	if bytes != q.bytes || segs != q.nsegs {
		h.t.Fatalf("accounting: %d bytes %d segs, counted %d %d", q.bytes, q.nsegs, bytes, segs)
	}
	if q.bytes > q.cfg.MaxBytes || q.nsegs > q.cfg.MaxSegments || len(q.runs) > q.cfg.MaxRanges {
		h.t.Fatalf("bounds exceeded: %d bytes %d segs %d runs", q.bytes, q.nsegs, len(q.runs))
	}
}

func (h *harness) ranges() string {
	s := ""
	for i := 0; i < h.q.NumRanges(); i++ {
		l, r := h.q.Range(i)
		s += fmt.Sprintf("[%d,%d)", l, r)
	}
	return s
}

// popAll pops from rcvNxt, checks the data and frees the owners.
func (h *harness) popAll(rcvNxt uint32) uint32 {
	h.t.Helper()
	for {
		seg, ok := h.q.Pop(rcvNxt)
		if !ok {
			break
		}
		if seg.Seq != rcvNxt || len(seg.Data) == 0 {
			h.t.Fatalf("pop at %d returned seq %d len %d", rcvNxt, seg.Seq, len(seg.Data))
		}
		for i, b := range seg.Data {
			if b != pat(seg.Seq+uint32(i)) {
				h.t.Fatalf("popped byte %d at %d wrong", i, seg.Seq)
			}
		}
		rcvNxt += uint32(len(seg.Data))
		if seg.Owner != nil {
			seg.Owner.Free()
		}
		h.check()
	}
	return rcvNxt
}

// leakCheck resets the queue and checks every owner was freed once.
func (h *harness) leakCheck() {
	h.t.Helper()
	h.q.Reset()
	for _, o := range h.owners {
		if o.freed != 1 {
			h.t.Fatalf("owner seq %d len %d freed %d times", o.seq, o.n, o.freed)
		}
	}
}

func (h *harness) sack(dsack Block, max int) string {
	dst := make([]Block, max)
	n := h.q.SACKBlocks(dst, dsack)
	s := ""
	for _, b := range dst[:n] {
		s += fmt.Sprintf("%d-%d ", b.Left, b.Right)
	}
	return s
}

// TestRFC2018Section4 replays the examples of RFC 2018 section 4: left edge
// 5000, eight 500-byte segments.
func TestRFC2018Section4(t *testing.T) {
	seg := func(i int) uint32 { return 5000 + uint32(i-1)*500 }

	// Case 2: the first segment is dropped, the other seven arrive.
	h := newHarness(t, Config{})
	want := []string{
		"5500-6000 ", "5500-6500 ", "5500-7000 ", "5500-7500 ",
		"5500-8000 ", "5500-8500 ", "5500-9000 ",
	}
	for i := 2; i <= 8; i++ {
		h.ins(seg(i), 500)
		if got := h.sack(Block{}, 3); got != want[i-2] {
			t.Fatalf("case 2 segment %d: SACK %q, want %q", i, got, want[i-2])
		}
	}
	h.leakCheck()

	// Case 3: segments 2, 4, 6, 8 are dropped; segment 1 is in order
	// (rcv.nxt becomes 5500) and never queued.
	h = newHarness(t, Config{})
	want3 := map[int]string{
		3: "6000-6500 ",
		5: "7000-7500 6000-6500 ",
		7: "8000-8500 7000-7500 6000-6500 ",
	}
	for _, i := range []int{3, 5, 7} {
		h.ins(seg(i), 500)
		if got := h.sack(Block{}, 3); got != want3[i] {
			t.Fatalf("case 3 segment %d: SACK %q, want %q", i, got, want3[i])
		}
	}
	// The fourth segment arrives late: it joins 6000-6500 and 7000-7500.
	h.ins(seg(4), 500)
	if got := h.sack(Block{}, 3); got != "6000-7500 8000-8500 " {
		t.Fatalf("after segment 4: SACK %q", got)
	}
	if _, ok := h.q.Pop(5500); ok {
		t.Fatal("pop succeeded with segment 2 missing")
	}
	h.ins(seg(2), 500)
	if got := h.popAll(5500); got != 7500 {
		t.Fatalf("rcv.nxt after filling the first hole = %d, want 7500", got)
	}
	if got := h.sack(Block{}, 3); got != "8000-8500 " {
		t.Fatalf("after delivery: SACK %q", got)
	}
	h.leakCheck()
}

// TestDSACK follows RFC 2883 section 4.1: a duplicated segment inside
// out-of-order data is reported first, followed by the block holding it.
func TestDSACK(t *testing.T) {
	h := newHarness(t, Config{})
	// rcv.nxt 3000; 3500-4000 and 4000-4500 held, then 5000-5500.
	h.ins(3500, 500)
	h.ins(4000, 500)
	h.ins(5000, 500)
	r := h.ins(4000, 500) // replicated by the network
	if !r.HasDup() || r.DupLeft != 4000 || r.DupRight != 4500 || r.DupBytes != 500 || r.Stored != 0 {
		t.Fatalf("dup result %+v", r)
	}
	got := h.sack(Block{Left: r.DupLeft, Right: r.DupRight}, 4)
	if got != "4000-4500 3500-4500 5000-5500 " {
		t.Fatalf("D-SACK blocks %q", got)
	}
	// Three blocks with timestamps: the D-SACK block plus two.
	if got := h.sack(Block{Left: r.DupLeft, Right: r.DupRight}, 3); got != "4000-4500 3500-4500 5000-5500 " {
		t.Fatalf("D-SACK blocks (3) %q", got)
	}
	if got := h.sack(Block{Left: r.DupLeft, Right: r.DupRight}, 2); got != "4000-4500 3500-4500 " {
		t.Fatalf("D-SACK blocks (2) %q", got)
	}
	// A D-SACK for data below rcv.nxt, found by the engine, stands alone
	// in front.
	if got := h.sack(Block{Left: 2000, Right: 2500}, 8); got != "2000-2500 3500-4500 5000-5500 " {
		t.Fatalf("blocks with an old D-SACK %q", got)
	}
	if s := h.q.Stats(); s.DupSegments != 1 || s.DupBytes != 500 {
		t.Fatalf("stats %+v", s)
	}
	h.leakCheck()
}

func TestOverlapKeepsOldEdges(t *testing.T) {
	h := newHarness(t, Config{})
	h.ins(100, 100) // [100,200)
	h.ins(300, 100) // [300,400)
	// Overlaps both edges: only [200,300) is new.
	r := h.ins(150, 200)
	if r.Stored != 100 || r.DupBytes != 100 || r.DupLeft != 150 || r.DupRight != 200 {
		t.Fatalf("result %+v", r)
	}
	if got := h.ranges(); got != "[100,400)" {
		t.Fatalf("ranges %s", got)
	}
	// The old segments are the ones kept at the edges.
	if h.owners[0].freed != 0 || h.owners[1].freed != 0 {
		t.Fatal("edge segments were replaced")
	}
	if h.q.Segments() != 3 {
		t.Fatalf("segments %d", h.q.Segments())
	}
	h.leakCheck()
}

func TestOverlapReplacesCovered(t *testing.T) {
	h := newHarness(t, Config{})
	h.ins(110, 10)      // [110,120)
	h.ins(130, 10)      // [130,140)
	h.ins(160, 40)      // [160,200)
	r := h.ins(100, 80) // [100,180): covers two runs, trims against the third
	if r.Stored != 60 || r.DupBytes != 40 || r.DupLeft != 110 || r.DupRight != 120 {
		t.Fatalf("result %+v", r)
	}
	if h.owners[0].freed != 1 || h.owners[1].freed != 1 || h.owners[2].freed != 0 {
		t.Fatal("covered segments not replaced, or edge segment replaced")
	}
	if got := h.ranges(); got != "[100,200)" || h.q.Len() != 100 || h.q.Segments() != 2 {
		t.Fatalf("ranges %s len %d segs %d", got, h.q.Len(), h.q.Segments())
	}
	// Wholly inside held data: freed at once, counted.
	r = h.ins(120, 50)
	if r.Stored != 0 || r.DupBytes != 50 || h.owners[4].freed != 1 {
		t.Fatalf("inner duplicate: %+v freed %d", r, h.owners[4].freed)
	}
	if got := h.popAll(100); got != 200 || !h.q.Empty() {
		t.Fatalf("pop to %d", got)
	}
	h.leakCheck()
}

func TestPopStaleAndStraddling(t *testing.T) {
	h := newHarness(t, Config{})
	h.ins(100, 50) // [100,150)
	h.ins(150, 50) // [150,200)
	h.ins(300, 10)
	// In-order data delivered elsewhere moved rcv.nxt to 170.
	seg, ok := h.q.Pop(170)
	if !ok || seg.Seq != 170 || len(seg.Data) != 30 || seg.Data[0] != pat(170) {
		t.Fatalf("straddling pop: %v %d %d", ok, seg.Seq, len(seg.Data))
	}
	if h.owners[0].freed != 1 || h.owners[1].freed != 0 {
		t.Fatal("stale segment not freed, or popped one freed by the queue")
	}
	seg.Owner.Free()
	if _, ok := h.q.Pop(200); ok {
		t.Fatal("pop across a hole")
	}
	if s := h.q.Stats(); s.StaleBytes != 70 {
		t.Fatalf("stale %d", s.StaleBytes)
	}
	if h.q.Len() != 10 {
		t.Fatalf("len %d", h.q.Len())
	}
	h.leakCheck()
}

func TestPruneBytesDropsHighest(t *testing.T) {
	h := newHarness(t, Config{MaxBytes: 1000})
	for i := 0; i < 10; i++ {
		h.ins(1000+uint32(i)*200, 100) // ten runs, 1000 bytes
	}
	// A lower segment pushes the highest one out.
	r := h.ins(500, 100)
	if r.Stored != 100 || r.Dropped != 100 || h.owners[9].freed != 1 {
		t.Fatalf("result %+v, highest freed %d", r, h.owners[9].freed)
	}
	// A higher segment is itself the highest: it is dropped.
	r = h.ins(9000, 100)
	if r.Stored != 0 || r.Dropped != 100 || h.owners[11].freed != 1 {
		t.Fatalf("high insert %+v", r)
	}
	// A big low segment drops several.
	r = h.ins(100, 300)
	if r.Stored != 300 || r.Dropped != 300 {
		t.Fatalf("big insert %+v", r)
	}
	if end, _ := h.q.Highest(); end != 1000+5*200+100 {
		t.Fatalf("highest %d", end)
	}
	if s := h.q.Stats(); s.DroppedSegments != 5 || s.DroppedBytes != 500 {
		t.Fatalf("stats %+v", s)
	}
	h.leakCheck()
}

func TestPruneSegmentsAndRanges(t *testing.T) {
	h := newHarness(t, Config{MaxSegments: 4, MaxRanges: 2})
	h.ins(100, 10)
	h.ins(110, 10)
	h.ins(200, 10)
	r := h.ins(300, 10) // third run: dropped (highest)
	if r.Stored != 0 || r.Dropped != 10 {
		t.Fatalf("third run %+v", r)
	}
	r = h.ins(150, 10) // third run below the highest: [200,210) goes
	if r.Stored != 10 || h.ranges() != "[100,120)[150,160)" {
		t.Fatalf("%+v %s", r, h.ranges())
	}
	h.ins(120, 10)
	h.ins(130, 10) // a fifth segment: the highest, [150,160), goes
	if h.q.Segments() != 4 || h.ranges() != "[100,140)" {
		t.Fatalf("segs %d ranges %s", h.q.Segments(), h.ranges())
	}
	h.leakCheck()
}

func TestEmptyAndNilOwner(t *testing.T) {
	q := New(Config{})
	o := &owner{}
	if r := q.Insert(5, nil, o); r != (Result{}) || o.freed != 1 {
		t.Fatalf("empty insert %+v freed %d", r, o.freed)
	}
	q.Insert(10, []byte{1, 2}, nil)
	q.Insert(10, []byte{1, 2}, nil)
	seg, ok := q.Pop(10)
	if !ok || seg.Owner != nil || len(seg.Data) != 2 {
		t.Fatal("nil owner pop")
	}
	var raw Queue // zero value, never Init'ed: defaults apply
	raw.Insert(7, []byte{1}, nil)
	if raw.Len() != 1 || raw.Config().MaxRanges != DefaultMaxRanges {
		t.Fatal("zero Queue unusable")
	}
	var zero Queue // zero value after Init
	zero.Init(Config{})
	zero.Insert(1, []byte{1}, nil)
	if zero.Len() != 1 {
		t.Fatal("Init'ed zero queue")
	}
	if l, r := q.Range(3); l != 0 || r != 0 {
		t.Fatal("Range out of bounds")
	}
	if _, ok := q.Highest(); ok {
		t.Fatal("Highest of empty")
	}
}

// model is the slow reference: one map entry per held byte.
type model struct {
	bytes map[uint32]byte
}

// ins returns the first duplicate run and the duplicate byte count.
func (m *model) ins(seq uint32, n int) (dl, dr uint32, dup int) {
	inRun := false
	for i := 0; i < n; i++ {
		s := seq + uint32(i)
		if _, ok := m.bytes[s]; ok {
			if dup == 0 {
				dl, inRun = s, true
			}
			if inRun {
				dr = s + 1
			}
			dup++
		} else {
			inRun = false
			m.bytes[s] = pat(s)
		}
	}
	return
}

// runs lists maximal runs of held bytes from base over span bytes.
func (m *model) runs(base uint32, span int) string {
	s := ""
	for i := 0; i < span; {
		if _, ok := m.bytes[base+uint32(i)]; !ok {
			i++
			continue
		}
		j := i
		for ; j < span; j++ {
			if _, ok := m.bytes[base+uint32(j)]; !ok {
				break
			}
		}
		s += fmt.Sprintf("[%d,%d)", base+uint32(i), base+uint32(j))
		i = j
	}
	return s
}

// TestAgainstByteModel cross-checks random segment streams, wrapping the
// sequence space, against the byte-map model, with bounds wide enough that
// nothing is pruned.
func TestAgainstByteModel(t *testing.T) {
	for _, base := range []uint32{0, 1 << 31, 0xffffffff - 3000, 0xffffffff - 40000} {
		rng := rand.New(rand.NewPCG(uint64(base), 42))
		h := newHarness(t, Config{MaxBytes: 1 << 30, MaxSegments: 1 << 20, MaxRanges: 1 << 20})
		m := &model{bytes: map[uint32]byte{}}
		rcvNxt := base
		const window = 3000
		for step := 0; step < 2500; step++ {
			switch rng.IntN(10) {
			case 0: // in-order data delivered directly, possibly into held data
				n := 1 + rng.IntN(800)
				rcvNxt += uint32(n)
				for s := range m.bytes {
					if lt(s, rcvNxt) {
						delete(m.bytes, s)
					}
				}
				rcvNxt = h.popAll(rcvNxt)
				for s := range m.bytes {
					if lt(s, rcvNxt) {
						delete(m.bytes, s)
					}
				}
			default:
				seq := rcvNxt + 1 + uint32(rng.IntN(window))
				n := 1 + rng.IntN(600)
				dl, dr, dup := m.ins(seq, n)
				r := h.ins(seq, n)
				if r.DupBytes != dup || (dup > 0 && (r.DupLeft != dl || r.DupRight != dr)) {
					t.Fatalf("base %#x step %d: insert %d+%d dup %d [%d,%d), model %d [%d,%d)",
						base, step, seq, n, r.DupBytes, r.DupLeft, r.DupRight, dup, dl, dr)
				}
				// Stored counts new bytes plus held segments it replaced.
				if r.Stored < n-dup || r.Stored > n || r.Dropped != 0 {
					t.Fatalf("stored %d of %d with %d dup", r.Stored, n, dup)
				}
			}
			if got, want := h.ranges(), m.runs(rcvNxt, window+700); got != want {
				t.Fatalf("base %#x step %d: ranges\n%s\nmodel\n%s", base, step, got, want)
			}
			if h.q.Len() != len(m.bytes) {
				t.Fatalf("len %d, model %d", h.q.Len(), len(m.bytes))
			}
		}
		h.leakCheck()
	}
}

// TestBoundedRandom runs random streams under tight bounds: invariants hold,
// the data kept is correct, and owners are freed exactly once.
func TestBoundedRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h := newHarness(t, Config{MaxBytes: 3000, MaxSegments: 12, MaxRanges: 4})
	rcvNxt := uint32(0xfffff000)
	for step := 0; step < 5000; step++ {
		if rng.IntN(8) == 0 {
			rcvNxt += uint32(1 + rng.IntN(300))
			rcvNxt = h.popAll(rcvNxt)
			continue
		}
		hi, had := h.q.Highest()
		seq := rcvNxt + 1 + uint32(rng.IntN(5000))
		r := h.ins(seq, 1+rng.IntN(600))
		if r.Dropped > 0 && had && lt(hi, seq) && r.Stored != 0 {
			t.Fatalf("step %d: kept a segment above all held data while pruning", step)
		}
	}
	h.leakCheck()
}

func FuzzInsert(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{0, 0, 0, 255, 255, 255, 7, 7, 7, 1, 9, 2, 200})
	f.Fuzz(func(t *testing.T, ops []byte) {
		h := newHarness(t, Config{MaxBytes: 2000, MaxSegments: 8, MaxRanges: 3})
		rcvNxt := uint32(0xffffff00)
		for len(ops) >= 3 {
			off, n := uint32(ops[0])<<3, int(ops[1])
			if ops[2]&7 == 0 {
				rcvNxt = h.popAll(rcvNxt + off)
			} else {
				h.ins(rcvNxt+off, n)
			}
			ops = ops[3:]
		}
		h.leakCheck()
	})
}

// FuzzInsertAnySeq throws arbitrary 32-bit sequence numbers at the queue,
// far outside any window: nothing may panic and every owner is freed
// exactly once.
func FuzzInsertAnySeq(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 10, 128, 0, 0, 0, 10, 0xff, 0xff, 0xff, 0xf0, 40})
	f.Add([]byte{0x80, 0, 0, 0, 200, 0, 0, 0, 0, 200, 0x40, 0, 0, 0, 200, 0xc0, 0, 0, 0, 200})
	f.Fuzz(func(t *testing.T, ops []byte) {
		q := New(Config{MaxBytes: 5000, MaxSegments: 16, MaxRanges: 4})
		var owners []*owner
		for len(ops) >= 5 {
			seq := uint32(ops[0])<<24 | uint32(ops[1])<<16 | uint32(ops[2])<<8 | uint32(ops[3])
			n := int(ops[4])
			if n%16 == 0 {
				for {
					s, ok := q.Pop(seq)
					if !ok {
						break
					}
					seq += uint32(len(s.Data))
					if s.Owner != nil {
						s.Owner.Free()
					}
				}
			} else {
				o := &owner{seq: seq, n: n}
				owners = append(owners, o)
				q.Insert(seq, make([]byte, n), o)
			}
			_ = q.SACKBlocks(make([]Block, 4), Block{})
			ops = ops[5:]
		}
		q.Reset()
		for _, o := range owners {
			if o.freed != 1 {
				t.Fatalf("owner at %d freed %d times", o.seq, o.freed)
			}
		}
		if q.Len() != 0 || q.Segments() != 0 {
			t.Fatalf("after reset: len %d segs %d", q.Len(), q.Segments())
		}
	})
}

type nopOwner struct{}

func (nopOwner) Free() {}

func TestAllocs(t *testing.T) {
	q := New(Config{})
	data := make([]byte, 1460)
	var dst [4]Block
	var o nopOwner
	rcvNxt := uint32(0xfffff000)
	cycle := func() {
		// Lose one segment, queue nine behind it, fill the hole, drain.
		for i := 1; i < 10; i++ {
			q.Insert(rcvNxt+uint32(i*1460), data, o)
			q.SACKBlocks(dst[:3], Block{})
		}
		q.Insert(rcvNxt, data, o)
		for {
			seg, ok := q.Pop(rcvNxt)
			if !ok {
				break
			}
			rcvNxt += uint32(len(seg.Data))
		}
	}
	cycle()
	if a := testing.AllocsPerRun(200, cycle); a != 0 {
		t.Fatalf("allocs per cycle %v", a)
	}
	if !q.Empty() {
		t.Fatal("not drained")
	}
}

func BenchmarkInsertPop(b *testing.B) {
	q := New(Config{})
	data := make([]byte, 1460)
	var o nopOwner
	rcvNxt := uint32(0)
	b.ReportAllocs()
	b.SetBytes(10 * 1460)
	for b.Loop() {
		for i := 1; i < 10; i++ {
			q.Insert(rcvNxt+uint32(i*1460), data, o)
		}
		q.Insert(rcvNxt, data, o)
		for {
			seg, ok := q.Pop(rcvNxt)
			if !ok {
				break
			}
			rcvNxt += uint32(len(seg.Data))
		}
	}
}

func BenchmarkInsertManyHoles(b *testing.B) {
	q := New(Config{})
	data := make([]byte, 1000)
	var o nopOwner
	var dst [3]Block
	rcvNxt := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		// 60 holes, then fill them all.
		for i := 0; i < 60; i++ {
			q.Insert(rcvNxt+uint32(2000*i+1000), data, o)
			q.SACKBlocks(dst[:], Block{})
		}
		for i := 0; i < 60; i++ {
			q.Insert(rcvNxt+uint32(2000*i), data, o)
		}
		for {
			seg, ok := q.Pop(rcvNxt)
			if !ok {
				break
			}
			rcvNxt += uint32(len(seg.Data))
		}
	}
}
