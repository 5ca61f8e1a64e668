package tcp

// DefaultCacheRings is NewCache's bound when given zero: 256 send
// buffers of 16 KiB (4 MiB) kept for reuse.
const DefaultCacheRings = 256

// DefaultCacheConns is how many released Conns a Cache keeps (about
// 2.6 KiB each).
const DefaultCacheConns = 256

// Cache recycles the storage of connections' send buffers among the
// connections of one owner (a shard): a connection takes its first 16 KiB
// of send buffer from the cache and gives it back once it can send no
// more data (its FIN is queued and everything before it acknowledged, or
// it is CLOSED), so opening and closing connections at a high rate costs
// no send-buffer allocation, and a connection in TIME-WAIT holds none.
// The storage never leaves the engine: segments are copied out of it.
//
// It also keeps Conns given back with Release, and half-open connections
// a Listener dropped, for the next Dial or SYN to reuse: the memory of a
// connection is warm in the cache and the garbage collector sees none of
// it.
//
// A Cache is not safe for concurrent use: all connections sharing one
// (through Config.Cache) must be driven by the same goroutine.
type Cache struct {
	rings [][]byte
	max   int
	conns []*Conn
}

// NewCache returns a cache keeping at most maxRings send buffers (0 means
// DefaultCacheRings; negative keeps none).
func NewCache(maxRings int) *Cache {
	if maxRings == 0 {
		maxRings = DefaultCacheRings
	}
	return &Cache{max: max(maxRings, 0)}
}

// Rings is the number of send buffers waiting for reuse.
func (k *Cache) Rings() int { return len(k.rings) }

// Conns is the number of Conns waiting for reuse.
func (k *Cache) Conns() int { return len(k.conns) }

// getConn returns a zeroed Conn from the cache, or nil.
func (k *Cache) getConn() *Conn {
	if k == nil || len(k.conns) == 0 {
		return nil
	}
	c := k.conns[len(k.conns)-1]
	k.conns[len(k.conns)-1] = nil
	k.conns = k.conns[:len(k.conns)-1]
	*c = Conn{}
	return c
}

// Release gives a CLOSED connection back to its Config's Cache, for a
// later Dial or accepted SYN to reuse. The caller must drop every
// reference to c first: it will become another connection. Queued buffers
// still held are freed. Release does nothing to a connection that is not
// CLOSED, or without a Cache.
func (c *Conn) Release() {
	k := c.cfg.Cache
	if c.state != Closed || k == nil {
		return
	}
	c.rcvQ.free()
	c.ooo.Reset()
	c.ring.n = 0
	c.ring.release()
	if len(k.conns) >= DefaultCacheConns {
		return
	}
	if k.conns == nil {
		k.conns = make([]*Conn, 0, 64)
	}
	k.conns = append(k.conns, c)
}

// getRing returns a buffer of sendRingMin bytes, or nil.
func (k *Cache) getRing() []byte {
	if k == nil || len(k.rings) == 0 {
		return nil
	}
	b := k.rings[len(k.rings)-1]
	k.rings[len(k.rings)-1] = nil
	k.rings = k.rings[:len(k.rings)-1]
	return b
}

// putRing keeps b for reuse if it is a first-size buffer and there is room.
func (k *Cache) putRing(b []byte) {
	if k == nil || len(b) != sendRingMin || len(k.rings) >= k.max {
		return
	}
	if k.rings == nil {
		k.rings = make([][]byte, 0, min(k.max, 64))
	}
	k.rings = append(k.rings, b)
}

// NewClosedConn returns a connection that is CLOSED from the start, with
// nothing queued and no timer armed: a stand-in a glue layer can leave
// where it released a Conn, so that late calls made through stale handles
// fail (ErrNotConnected, EOF) instead of reaching the Conn's next life.
func NewClosedConn(cfg Config, t Tuple) (*Conn, error) {
	cfg.Cache = nil // it never takes or gives back storage
	return newConn(0, cfg, t, 0)
}
