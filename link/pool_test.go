package link_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ustack/ustack/link"
)

func TestNewPoolDefaults(t *testing.T) {
	p, err := link.NewPool(link.PoolConfig{})
	if err != nil {
		t.Fatalf("NewPool(zero config): %v", err)
	}
	if p.Cap() != 4096 || p.BufSize() != 2048 {
		t.Fatalf("defaults: Cap=%d BufSize=%d, want 4096, 2048", p.Cap(), p.BufSize())
	}
	b := p.Get()
	if b == nil {
		t.Fatal("Get on a full pool returned nil")
	}
	defer b.Free()
	if b.Headroom() != 128 || b.Tailroom() != 2048 || b.Len() != 0 {
		t.Fatalf("fresh Buf: headroom=%d tailroom=%d len=%d, want 128, 2048, 0", b.Headroom(), b.Tailroom(), b.Len())
	}
	if b.Pool() != p {
		t.Fatal("Buf.Pool() is not the pool it came from")
	}
}

func TestNewPoolRejectsBadConfig(t *testing.T) {
	bad := []link.PoolConfig{
		{Count: -1},
		{Count: 1<<24 + 1},
		{Size: 63},
		{Size: -5},
		{Size: 1<<20 + 1},
		{Headroom: -1},
		{Headroom: 4097},
	}
	for _, c := range bad {
		if p, err := link.NewPool(c); err == nil || p != nil {
			t.Errorf("NewPool(%+v) = %v, %v; want nil pool and an error", c, p, err)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustPool with a bad config did not panic")
			}
		}()
		link.MustPool(link.PoolConfig{Count: -1})
	}()
}

func TestPoolAccountingAndExhaustion(t *testing.T) {
	for _, count := range []int{1, 3, 4, 100} { // powers of two and not
		p := link.MustPool(link.PoolConfig{Count: count, Size: 64, Headroom: 16})
		if p.Cap() != count || p.InUse() != 0 || p.Available() != count {
			t.Fatalf("count %d: fresh pool Cap=%d InUse=%d Available=%d", count, p.Cap(), p.InUse(), p.Available())
		}
		var got []*link.Buf
		seen := map[*link.Buf]bool{}
		for i := 0; i < count; i++ {
			b := p.Get()
			if b == nil {
				t.Fatalf("count %d: Get #%d returned nil", count, i)
			}
			if seen[b] {
				t.Fatalf("count %d: Get #%d handed out a Buf twice", count, i)
			}
			seen[b] = true
			got = append(got, b)
			if p.InUse() != i+1 {
				t.Fatalf("count %d: InUse=%d after %d Gets", count, p.InUse(), i+1)
			}
		}
		for i := 0; i < 3; i++ {
			if b := p.Get(); b != nil {
				t.Fatalf("count %d: Get on an empty pool returned a Buf", count)
			}
			if p.Misses() != uint64(i+1) {
				t.Fatalf("count %d: Misses=%d after %d empty Gets", count, p.Misses(), i+1)
			}
		}
		for i, b := range got {
			b.Free()
			if p.InUse() != count-i-1 {
				t.Fatalf("count %d: InUse=%d after %d Frees", count, p.InUse(), i+1)
			}
		}
		// Everything comes back and can be taken again.
		if b := p.Get(); b == nil {
			t.Fatalf("count %d: Get after freeing all returned nil", count)
		} else {
			b.Free()
		}
		if p.InUse() != 0 || p.Misses() != 3 {
			t.Fatalf("count %d: at rest InUse=%d Misses=%d, want 0, 3", count, p.InUse(), p.Misses())
		}
	}
}

func TestGetResetsBuf(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 1, Size: 128, Headroom: 32})
	b := p.Get()
	b.Prepend(10)
	b.Extend(50)
	b.Flags = link.FlagGSO | link.FlagCsumValid
	b.GSOSize = 1448
	other := p.Get() // nil: the pool is empty
	b.Next = b
	b.Free()
	if other != nil {
		t.Fatal("second Get on a one-buffer pool succeeded")
	}
	b = p.Get()
	if b.Len() != 0 || b.Headroom() != 32 || b.Tailroom() != 128 || b.Flags != 0 || b.GSOSize != 0 || b.Next != nil {
		t.Fatalf("Get did not reset the Buf: len=%d headroom=%d tailroom=%d flags=%v gso=%d next=%v",
			b.Len(), b.Headroom(), b.Tailroom(), b.Flags, b.GSOSize, b.Next)
	}
	b.Free()
}

func TestFreeNilIsNoop(t *testing.T) {
	var b *link.Buf
	b.Free()
}

func TestDoubleFreePanics(t *testing.T) {
	// Caught whether or not the pool is full and whatever its count, and
	// the pool is unharmed by the refused Free.
	for _, count := range []int{1, 3, 4, 100} {
		p := link.MustPool(link.PoolConfig{Count: count, Size: 64})
		b := p.Get()
		var other *link.Buf
		if count > 1 {
			other = p.Get() // so the pool is not full at the double free
		}
		b.Free()
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("count %d: freeing a Buf twice did not panic", count)
				}
			}()
			b.Free()
		}()
		other.Free()
		if p.InUse() != 0 {
			t.Fatalf("count %d: InUse %d after the refused double free", count, p.InUse())
		}
		seen := map[*link.Buf]bool{}
		for i := 0; i < count; i++ {
			x := p.Get()
			if x == nil || seen[x] {
				t.Fatalf("count %d: pool corrupted by the double free", count)
			}
			seen[x] = true
		}
		if p.Get() != nil {
			t.Fatalf("count %d: the double free added a buffer", count)
		}
	}
}

// TestPoolConcurrentOwnership has many goroutines take and return buffers
// at once and checks that no Buf is ever held by two of them: each Buf has
// an owner word claimed with a CAS on Get and released before Free, and the
// holder stamps its id into the data and checks it is still there at Free.
// Run under -race this also proves the pool publishes buffers safely.
func TestPoolConcurrentOwnership(t *testing.T) {
	const count = 64
	p := link.MustPool(link.PoolConfig{Count: count, Size: 64, Headroom: 0})
	index := map[*link.Buf]int{}
	var all []*link.Buf
	for i := 0; i < count; i++ {
		b := p.Get()
		index[b] = i
		all = append(all, b)
	}
	for _, b := range all {
		b.Free()
	}
	owner := make([]atomic.Int32, count)

	workers := 2 * runtime.GOMAXPROCS(0)
	if workers < 8 {
		workers = 8
	}
	iters := 20000
	if testing.Short() {
		iters = 2000
	}
	var wg sync.WaitGroup
	var failed atomic.Bool
	for w := 1; w <= workers; w++ {
		wg.Add(1)
		go func(id int32) {
			defer wg.Done()
			held := make([]*link.Buf, 0, 8)
			for i := 0; i < iters && !failed.Load(); i++ {
				// Take a few (the pool may run dry: that is fine), then
				// give them all back.
				for k := 0; k < 1+i%5; k++ {
					b := p.Get()
					if b == nil {
						continue
					}
					j, ok := index[b]
					if !ok {
						t.Errorf("Get returned a Buf the pool never had")
						failed.Store(true)
						return
					}
					if !owner[j].CompareAndSwap(0, id) {
						t.Errorf("Buf %d handed to goroutine %d while goroutine %d holds it", j, id, owner[j].Load())
						failed.Store(true)
						return
					}
					d := b.Extend(4)
					d[0], d[1], d[2], d[3] = byte(id), byte(j), byte(id), byte(j)
					held = append(held, b)
				}
				for _, b := range held {
					j := index[b]
					d := b.Bytes()
					if len(d) != 4 || d[0] != byte(id) || d[1] != byte(j) || d[2] != byte(id) || d[3] != byte(j) {
						t.Errorf("Buf %d data changed while goroutine %d held it: %v", j, id, d)
						failed.Store(true)
					}
					if !owner[j].CompareAndSwap(id, 0) {
						t.Errorf("Buf %d owner changed while goroutine %d held it", j, id)
						failed.Store(true)
					}
					b.Free()
				}
				held = held[:0]
			}
		}(int32(w))
	}
	wg.Wait()
	if got := p.InUse(); got != 0 {
		t.Fatalf("InUse=%d after all goroutines returned their buffers", got)
	}
	// Every buffer is back exactly once: we can take all of them, each once.
	seen := map[*link.Buf]bool{}
	for i := 0; i < count; i++ {
		b := p.Get()
		if b == nil || seen[b] {
			t.Fatalf("after churn, Get #%d = %p (seen before: %v)", i, b, seen[b])
		}
		seen[b] = true
	}
	if p.Get() != nil {
		t.Fatal("pool holds more buffers than it was made with")
	}
}

func TestGetFreeAllocs(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 16, Size: 64})
	allocs := testing.AllocsPerRun(1000, func() {
		b := p.Get()
		b.Extend(10)
		b.Prepend(4)
		b.Free()
	})
	if allocs != 0 {
		t.Fatalf("Get+Free allocates %.1f times per run, want 0", allocs)
	}
}

func BenchmarkPoolGetFree(b *testing.B) {
	p := link.MustPool(link.PoolConfig{Count: 1024, Size: 64})
	b.ReportAllocs()
	for b.Loop() {
		p.Get().Free()
	}
}

func BenchmarkPoolGetFreeBurst32(b *testing.B) {
	p := link.MustPool(link.PoolConfig{Count: 1024, Size: 64})
	var burst [32]*link.Buf
	b.ReportAllocs()
	for b.Loop() {
		for i := range burst {
			burst[i] = p.Get()
		}
		for _, x := range burst {
			x.Free()
		}
	}
}

func BenchmarkPoolGetFreeParallel(b *testing.B) {
	p := link.MustPool(link.PoolConfig{Count: 4096, Size: 64})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			x := p.Get()
			if x == nil {
				continue
			}
			x.Free()
		}
	})
}

// TestPoolOneGetterManyFreers is the shard pattern: one goroutine takes
// buffers, many others (application readers) free them.
func TestPoolOneGetterManyFreers(t *testing.T) {
	const count = 32
	p := link.MustPool(link.PoolConfig{Count: count, Size: 64})
	ch := make(chan *link.Buf, count)
	var wg sync.WaitGroup
	var freed atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range ch {
				if d := b.Bytes(); len(d) != 1 || d[0] != 0xa5 {
					t.Errorf("Buf data changed in flight: %x", d)
				}
				b.Free()
				freed.Add(1)
			}
		}()
	}
	n := 50000
	if testing.Short() {
		n = 5000
	}
	sent := 0
	for sent < n {
		b := p.Get()
		if b == nil {
			runtime.Gosched()
			continue
		}
		b.Extend(1)[0] = 0xa5
		ch <- b
		sent++
	}
	close(ch)
	wg.Wait()
	if freed.Load() != int64(n) || p.InUse() != 0 {
		t.Fatalf("freed %d of %d, InUse=%d", freed.Load(), n, p.InUse())
	}
}
