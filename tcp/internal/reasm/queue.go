package reasm

import (
	"github.com/ustack/ustack/tcp/seqnum"
)

// Owner is whatever frees the memory behind a segment's payload.
// *link.Buf satisfies it.
type Owner interface{ Free() }

// Defaults for Config.
const (
	DefaultMaxBytes    = 540000 // Linux's default receive buffer
	DefaultMaxSegments = 1024
	DefaultMaxRanges   = 64
)

// Config bounds a Queue. The zero value of each field selects its default.
type Config struct {
	// MaxBytes is the most payload bytes held. Engines should set it to
	// the receive buffer size. Default 540000.
	MaxBytes int
	// MaxSegments is the most segments held (each has a fixed bookkeeping
	// cost whatever its size, so this bounds a flood of tiny segments).
	// Default 1024.
	MaxSegments int
	// MaxRanges is the most disjoint runs of held data (so at most
	// MaxRanges holes after rcv.nxt). Default 64.
	MaxRanges int
}

func (c Config) withDefaults() Config {
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxSegments <= 0 {
		c.MaxSegments = DefaultMaxSegments
	}
	if c.MaxRanges <= 0 {
		c.MaxRanges = DefaultMaxRanges
	}
	return c
}

// Segment is a piece of in-order data handed back by Pop. Ownership of
// Owner passes to the caller, who frees it once Data is consumed.
type Segment struct {
	Seq   uint32
	Data  []byte
	Owner Owner
}

// Result describes what Insert did with a segment.
type Result struct {
	// Stored is how many bytes of the segment the queue kept (after
	// trimming and pruning).
	Stored int
	// DupBytes is how many bytes of the segment were already held.
	DupBytes int
	// DupLeft and DupRight bound the first (lowest) run of duplicate bytes,
	// [DupLeft, DupRight): the D-SACK block of RFC 2883. Empty when
	// DupBytes is 0.
	DupLeft, DupRight uint32
	// Dropped is how many bytes (of this or older segments) were pruned to
	// keep the queue within its bounds.
	Dropped int
}

// HasDup reports whether the segment carried bytes already held.
func (r Result) HasDup() bool { return r.DupBytes > 0 }

// Stats are cumulative counters.
type Stats struct {
	// DupSegments and DupBytes count arrivals carrying bytes already held.
	DupSegments, DupBytes uint64
	// DroppedSegments and DroppedBytes count data pruned to stay in bounds.
	DroppedSegments, DroppedBytes uint64
	// StaleBytes counts held bytes Pop discarded because rcv.nxt had
	// already passed them (delivered by another path).
	StaleBytes uint64
}

const none = -1

// node is one held segment; nodes of a range form a doubly linked list in
// sequence order. Free nodes are chained through next.
type node struct {
	seq        uint32
	prev, next int32
	data       []byte
	owner      Owner
}

func (n *node) end() uint32 { return n.seq + uint32(len(n.data)) }

// run is a maximal contiguous run of held data [start, end).
type run struct {
	start, end uint32
	head, tail int32
	stamp      uint64 // insert counter when last touched (SACK recency)
}

// Queue is the reassembly queue of one connection. The zero value is not
// usable; create it with New. A Queue is not safe for concurrent use.
type Queue struct {
	cfg   Config
	nodes []node
	free  int32
	nsegs int
	bytes int
	runs  []run // sorted by start in sequence space
	clock uint64
	stats Stats
}

// New returns an empty queue.
func New(cfg Config) *Queue {
	q := &Queue{}
	q.Init(cfg)
	return q
}

// Init (re)initializes q in place, freeing anything it held.
func (q *Queue) Init(cfg Config) {
	q.Reset()
	q.cfg = cfg.withDefaults()
	q.stats = Stats{}
}

// Config returns the effective configuration.
func (q *Queue) Config() Config { return q.cfg }

// Stats returns the cumulative counters.
func (q *Queue) Stats() Stats { return q.stats }

// Len is the number of payload bytes held.
func (q *Queue) Len() int { return q.bytes }

// Segments is the number of segments held.
func (q *Queue) Segments() int { return q.nsegs }

// Empty reports whether nothing is held.
func (q *Queue) Empty() bool { return len(q.runs) == 0 }

// NumRanges is the number of disjoint runs of held data.
func (q *Queue) NumRanges() int { return len(q.runs) }

// Range returns run i ([0, NumRanges()), lowest sequence first) as
// [left, right). Out-of-range i returns an empty range.
func (q *Queue) Range(i int) (left, right uint32) {
	if i < 0 || i >= len(q.runs) {
		return 0, 0
	}
	return q.runs[i].start, q.runs[i].end
}

// Highest returns the end of the highest held data; ok is false when the
// queue is empty.
func (q *Queue) Highest() (end uint32, ok bool) {
	if len(q.runs) == 0 {
		return 0, false
	}
	return q.runs[len(q.runs)-1].end, true
}

// Reset frees every held segment. Counters are kept.
func (q *Queue) Reset() {
	for i := range q.runs {
		for n := q.runs[i].head; n != none; {
			next := q.nodes[n].next
			q.release(n)
			n = next
		}
	}
	q.runs = q.runs[:0]
	q.bytes = 0
}

func lt(a, b uint32) bool  { return seqnum.Value(a).LessThan(seqnum.Value(b)) }
func lte(a, b uint32) bool { return seqnum.Value(a).LessThanEq(seqnum.Value(b)) }

// alloc takes a node from the free list or grows the node table.
func (q *Queue) alloc() int32 {
	if len(q.nodes) == 0 {
		q.free = none
	}
	if q.free != none {
		i := q.free
		q.free = q.nodes[i].next
		q.nsegs++
		return i
	}
	q.nodes = append(q.nodes, node{})
	q.nsegs++
	return int32(len(q.nodes) - 1)
}

// release frees node i and its owner. The caller fixes lists and byte
// counts.
func (q *Queue) release(i int32) {
	n := &q.nodes[i]
	if n.owner != nil {
		n.owner.Free()
	}
	*n = node{next: q.free}
	q.free = i
	q.nsegs--
}

// put returns node i to the free list without freeing its owner (the owner
// went to the caller).
func (q *Queue) put(i int32) {
	q.nodes[i] = node{next: q.free}
	q.free = i
	q.nsegs--
}

// firstEndGE returns the index of the first run whose end >= s.
func (q *Queue) firstEndGE(s uint32) int {
	lo, hi := 0, len(q.runs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if lt(q.runs[m].end, s) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// freeRun releases every node of run r and subtracts its bytes.
func (q *Queue) freeRun(r *run) {
	for n := r.head; n != none; {
		next := q.nodes[n].next
		q.bytes -= len(q.nodes[n].data)
		q.release(n)
		n = next
	}
}
