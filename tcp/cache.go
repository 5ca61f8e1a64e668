package tcp

// DefaultCacheRings is NewCache's bound when given zero: 256 send
// buffers of 16 KiB (4 MiB) kept for reuse.
const DefaultCacheRings = 256

// Cache recycles the storage of connections' send buffers among the
// connections of one owner (a shard): a connection takes its first 16 KiB
// of send buffer from the cache and gives it back once it can send no
// more data (its FIN is queued and everything before it acknowledged, or
// it is CLOSED), so opening and closing connections at a high rate costs
// no send-buffer allocation, and a connection in TIME-WAIT holds none.
// The storage never leaves the engine: segments are copied out of it.
//
// A Cache is not safe for concurrent use: all connections sharing one
// (through Config.Cache) must be driven by the same goroutine.
type Cache struct {
	rings [][]byte
	max   int
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
