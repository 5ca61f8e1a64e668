package link

// CacheSize is how many buffers a Cache holds when full.
const CacheSize = 4

// A Cache holds a few buffers taken from a Pool ahead of need, for one
// goroutine at a time (a shard's loop, which fills it while it has nothing
// else to do). Taking a buffer from the Pool itself reads lines that the
// goroutines freeing buffers wrote (the pool's slot, the Buf's own line),
// each a cache miss of 100–200 ns when that goroutine runs on another
// core — as the peer of a link/mem pair does — and the frame's first
// lines are cold. A buffer from a filled Cache was taken, reset and had
// the lines where headers go written while the loop was idle, so a frame
// built in reply to a received one pays none of that on its way out.
//
// Buffers in a Cache count as neither in use (Pool.InUse) nor available
// (Pool.Available). A Cache is not safe for concurrent use; its zero
// value is empty and unusable until Init.
type Cache struct {
	p    *Pool
	bufs [CacheSize]*Buf
	n    int
}

// Init attaches c, which must be empty, to p. A nil p makes a Cache whose
// Get always returns nil.
func (c *Cache) Init(p *Pool) {
	c.Drain()
	c.p = p
}

// Get takes a buffer, reset to an empty window with full headroom: one
// the Cache holds when it has any, else one from the pool. It returns nil
// when both are empty.
func (c *Cache) Get() *Buf {
	if c.n > 0 {
		c.n--
		b := c.bufs[c.n]
		c.bufs[c.n] = nil
		c.p.cached.Add(-1)
		return b
	}
	if c.p == nil {
		return nil
	}
	return c.p.Get()
}

// Len is how many buffers c holds.
func (c *Cache) Len() int { return c.n }

// Fill tops c up from the pool (fewer when the pool runs short, which
// does not count in Pool.Misses). Each buffer taken is reset and has the
// two cache lines around its data's start written, where a frame's link,
// network and transport headers go, so that they are this core's when the
// frame is built.
func (c *Cache) Fill() {
	for c.FillOne() {
	}
}

// FillOne takes one buffer ahead of need, as Fill does, unless c is full
// or the pool empty. It reports whether it took one.
func (c *Cache) FillOne() bool {
	if c.n == CacheSize || c.p == nil {
		return false
	}
	b := c.p.get(false) // taking ahead of need: not a miss
	if b == nil {
		return false
	}
	if off := b.off; off > 0 && off < len(b.b) {
		b.b[off-1] = 0
		b.b[off] = 0
	}
	c.bufs[c.n] = b
	c.n++
	c.p.cached.Add(1)
	return true
}

// Drain gives every buffer c holds back to the pool.
func (c *Cache) Drain() {
	for c.n > 0 {
		c.n--
		b := c.bufs[c.n]
		c.bufs[c.n] = nil
		c.p.cached.Add(-1)
		b.Free()
	}
}
