package link_test

import (
	"testing"

	"github.com/ustack/ustack/link"
)

// counts checks a pool's three counts at once.
func counts(t *testing.T, p *link.Pool, inUse, available, cached int) {
	t.Helper()
	if p.InUse() != inUse || p.Available() != available || p.Cached() != cached {
		t.Fatalf("InUse=%d Available=%d Cached=%d, want %d, %d, %d", p.InUse(), p.Available(), p.Cached(), inUse, available, cached)
	}
}

func TestCacheFillGetDrain(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 16, Size: 256})
	var c link.Cache
	c.Init(p)
	c.Fill()
	if c.Len() != link.CacheSize {
		t.Fatalf("Len after Fill = %d, want %d", c.Len(), link.CacheSize)
	}
	counts(t, p, 0, 16-link.CacheSize, link.CacheSize)

	// A cached buffer is handed out as Pool.Get would: empty, full
	// headroom, whatever Fill wrote to ready its lines notwithstanding.
	b := c.Get()
	if b == nil || b.Len() != 0 || b.Headroom() != 128 || b.Tailroom() != 256 || b.Pool() != p {
		t.Fatalf("cached Get = %v (len %d headroom %d tailroom %d)", b, b.Len(), b.Headroom(), b.Tailroom())
	}
	counts(t, p, 1, 16-link.CacheSize, link.CacheSize-1)
	b.Free()
	counts(t, p, 0, 16-link.CacheSize+1, link.CacheSize-1)

	// Empty, it takes from the pool.
	var got []*link.Buf
	for range link.CacheSize - 1 {
		got = append(got, c.Get())
	}
	if c.Len() != 0 {
		t.Fatalf("Len = %d after taking every cached buffer", c.Len())
	}
	extra := c.Get()
	if extra == nil {
		t.Fatal("Get from an empty Cache did not fall back to the pool")
	}
	got = append(got, extra)
	counts(t, p, link.CacheSize, 16-link.CacheSize, 0)
	for _, b := range got {
		b.Free()
	}

	c.Fill()
	c.Drain()
	if c.Len() != 0 {
		t.Fatalf("Len after Drain = %d", c.Len())
	}
	counts(t, p, 0, 16, 0)
}

func TestCacheShortPool(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 2, Size: 128})
	var c link.Cache
	c.Init(p)
	c.Fill()
	if c.Len() != 2 {
		t.Fatalf("Len = %d after filling from a 2-buffer pool", c.Len())
	}
	counts(t, p, 0, 0, 2)
	a, b := c.Get(), c.Get()
	if a == nil || b == nil || a == b {
		t.Fatalf("Get, Get = %p, %p", a, b)
	}
	if c.Get() != nil {
		t.Fatal("Get from an empty Cache of an empty pool returned a buffer")
	}
	if p.Misses() != 1 {
		t.Fatalf("Misses = %d, want 1 (the last Get)", p.Misses())
	}
	a.Free()
	b.Free()
	counts(t, p, 0, 2, 0)

	var none link.Cache
	none.Init(nil)
	none.Fill()
	if none.Get() != nil || none.Len() != 0 {
		t.Fatal("a Cache of no pool handed out a buffer")
	}
	none.Drain()
}

func TestCacheAllocs(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 64, Size: 256})
	var c link.Cache
	c.Init(p)
	if n := testing.AllocsPerRun(1000, func() {
		c.Fill()
		b := c.Get()
		b.Free()
	}); n != 0 {
		t.Fatalf("Fill+Get+Free: %v allocations, want 0", n)
	}
	c.Drain()
	counts(t, p, 0, 64, 0)
}

func BenchmarkCacheGet(b *testing.B) {
	p := link.MustPool(link.PoolConfig{Count: 64, Size: 256})
	var c link.Cache
	c.Init(p)
	for b.Loop() {
		c.Fill()
		c.Get().Free()
	}
}
