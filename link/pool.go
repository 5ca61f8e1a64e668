package link

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
)

// PoolConfig sizes a Pool.
type PoolConfig struct {
	// Count is how many buffers the pool holds. Default 4096.
	Count int
	// Size is the usable bytes per buffer after headroom. Default 2048,
	// enough for a 1500-byte MTU frame with an 802.1Q tag.
	Size int
	// Headroom is reserved in front of the data for prepended headers.
	// Default 128.
	Headroom int
}

func (c PoolConfig) withDefaults() PoolConfig {
	if c.Count == 0 {
		c.Count = 4096
	}
	if c.Size == 0 {
		c.Size = 2048
	}
	if c.Headroom == 0 {
		c.Headroom = 128
	}
	return c
}

// Pool is a fixed set of equally sized frame buffers, allocated once.
// Get and Free are lock-free, allocation-free and safe for concurrent use
// from any number of goroutines (a bounded MPMC ring of free buffers).
type Pool struct {
	headroom int
	size     int
	all      []Buf
	ring     []slot
	mask     uint64
	_        [64]byte
	head     atomic.Uint64 // next slot to take from
	_        [56]byte
	tail     atomic.Uint64 // next slot to put into
	_        [56]byte
	misses   atomic.Uint64
	cached   atomic.Int64 // buffers held by Caches (cache.go)
}

type slot struct {
	seq atomic.Uint64
	buf *Buf
}

// NewPool allocates a pool. Zero fields of cfg take their defaults.
func NewPool(cfg PoolConfig) (*Pool, error) {
	cfg = cfg.withDefaults()
	switch {
	case cfg.Count < 1 || cfg.Count > 1<<24:
		return nil, fmt.Errorf("link: pool count %d out of range [1, %d]", cfg.Count, 1<<24)
	case cfg.Size < 64 || cfg.Size > 1<<20:
		return nil, fmt.Errorf("link: pool buffer size %d out of range [64, %d]", cfg.Size, 1<<20)
	case cfg.Headroom < 0 || cfg.Headroom > 4096:
		return nil, errors.New("link: pool headroom out of range [0, 4096]")
	}
	n := uint64(1)
	for n < uint64(cfg.Count) {
		n <<= 1
	}
	p := &Pool{
		headroom: cfg.Headroom,
		size:     cfg.Size,
		all:      make([]Buf, cfg.Count),
		ring:     make([]slot, n),
		mask:     n - 1,
	}
	mem := make([]byte, cfg.Count*(cfg.Headroom+cfg.Size))
	stride := cfg.Headroom + cfg.Size
	for i := range p.ring {
		p.ring[i].seq.Store(uint64(i))
	}
	for i := range p.all {
		b := &p.all[i]
		b.b = mem[i*stride : (i+1)*stride : (i+1)*stride]
		b.pool = p
		b.Reset()
		b.held.Store(1)
		p.put(b)
	}
	return p, nil
}

// MustPool is NewPool for configurations known to be valid; it panics on
// error and is meant for tests and package-level defaults.
func MustPool(cfg PoolConfig) *Pool {
	p, err := NewPool(cfg)
	if err != nil {
		panic(err)
	}
	return p
}

// Get takes a buffer, reset to an empty window with full headroom, or
// returns nil when the pool is empty (counted in Misses).
func (p *Pool) Get() *Buf { return p.get(true) }

// get is Get; miss says whether an empty pool counts in Misses.
func (p *Pool) get(miss bool) *Buf {
	pos := p.head.Load()
	for {
		s := &p.ring[pos&p.mask]
		seq := s.seq.Load()
		switch d := int64(seq) - int64(pos+1); {
		case d == 0:
			if p.head.CompareAndSwap(pos, pos+1) {
				b := s.buf
				s.buf = nil
				s.seq.Store(pos + p.mask + 1)
				b.held.Store(1)
				b.Reset()
				return b
			}
			pos = p.head.Load()
		case d < 0:
			if miss {
				p.misses.Add(1)
			}
			return nil
		default:
			pos = p.head.Load()
		}
	}
}

func (p *Pool) put(b *Buf) {
	if !b.held.CompareAndSwap(1, 0) {
		panic("link: Buf freed twice (or freed into the wrong pool)")
	}
	pos := p.tail.Load()
	for {
		s := &p.ring[pos&p.mask]
		seq := s.seq.Load()
		switch d := int64(seq) - int64(pos); {
		case d == 0:
			if p.tail.CompareAndSwap(pos, pos+1) {
				s.buf = b
				s.seq.Store(pos + 1)
				return
			}
			pos = p.tail.Load()
		case d < 0:
			// The slot still holds a Get that has claimed it but not yet
			// released it (the ring is sized for every buffer, so it is
			// never really full): wait for that Get to finish.
			runtime.Gosched()
			pos = p.tail.Load()
		default:
			pos = p.tail.Load()
		}
	}
}

// Cap is the number of buffers the pool was made with.
func (p *Pool) Cap() int { return len(p.all) }

// BufSize is the usable bytes per buffer, headroom excluded.
func (p *Pool) BufSize() int { return p.size }

// Available is how many buffers are free now (a racy snapshot); buffers
// held by a Cache are not.
func (p *Pool) Available() int { return int(p.tail.Load() - p.head.Load()) }

// Cached is how many buffers Caches hold now (a racy snapshot).
func (p *Pool) Cached() int { return int(p.cached.Load()) }

// InUse is how many buffers are taken now, not counting those a Cache
// holds (a racy snapshot). A stack at rest has every buffer back: tests
// assert InUse() == 0 after churn.
func (p *Pool) InUse() int { return len(p.all) - p.Available() - p.Cached() }

// Misses counts Get calls that found the pool empty.
func (p *Pool) Misses() uint64 { return p.misses.Load() }
