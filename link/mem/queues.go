package mem

import (
	"fmt"
	"math/bits"
	"sync/atomic"

	"github.com/ustack/ustack/link"
)

// MaxQueues bounds NewQueues' queue count.
const MaxQueues = 64

// queue is the multi-queue state of one queue Link. Queue i of one end
// owns the producer side of its n outgoing rings (toward every queue of
// the peer end) and the consumer side of its n incoming rings (from every
// queue of the peer end), so each ring still has one producer goroutine
// and one consumer goroutine.
type queue struct {
	set   *queueSet
	out   []outRing // indexed by the peer end's receiving queue
	in    []inRing  // indexed by the peer end's sending queue
	next  int       // Recv's round-robin starting ring
	steer func(frame []byte, n int) int
	flag  *waitFlag // this queue's need-wakeup flag, shared by its n incoming rings

	// Role states (roleIdle/roleBusy/roleClosed) for this queue's Send
	// and Recv; Close takes them all for good before draining the rings.
	txRole atomic.Uint32
	_      [60]byte
	rxRole atomic.Uint32
	_      [60]byte
}

// outRing is a sender's view of one outgoing ring: owner-local copies of
// tail and last seen head, and the receiving queue's wake-up flag.
type outRing struct {
	r              *ring
	tail, headSeen uint64
	wake           *waitFlag
}

// inRing is a receiver's view of one incoming ring: the owner-local copy
// of head (frames are found through their slots' sequence numbers).
type inRing struct {
	r    *ring
	head uint64
}

// waitFlag is a queue's need-wakeup flag on its own cache line. Any of the
// peer's sending queues may take it after publishing into one of this
// queue's incoming rings.
type waitFlag struct {
	_     [64]byte
	armed atomic.Pointer[waitReg]
	_     [56]byte
}

func (w *waitFlag) wake() {
	if w.armed.Load() == nil {
		return
	}
	if reg := w.armed.Swap(nil); reg != nil {
		select {
		case reg.c <- struct{}{}:
		default: // a wake-up is already pending in the channel
		}
	}
}

// queueSet is what all 2n queue Links of one NewQueues pair share.
type queueSet struct {
	closed atomic.Bool
	a, b   []*Link
}

// NewQueues makes two connected multi-queue ends of n queues each (1 <= n <= 64).
// Queue i of each end is a *Link with its own pool, RX rings and waiter, meant for shard i.
// A frame sent on any queue of one end arrives on queue SteerQueue(frame, n) of the other
// end (override with WithSteer), so both directions of a TCP connection land on queues of
// the same index. Frame order within one flow is kept (for the frames of a
// flow sent from one queue, as a shard does: rings from different sending
// queues are not ordered against each other).
//
// Between every sending queue of one end and every receiving queue of the
// other there is one ring of WithRingSize slots (2·n·n rings in all), and
// every queue has its own pool (2·n pools): mind the memory of the default
// 4096-buffer pools for large n.
func NewQueues(n int, opts ...Option) (a, b []*Link, err error) {
	if n < 1 || n > MaxQueues {
		return nil, nil, fmt.Errorf("mem: queue count %d out of range [1, %d]", n, MaxQueues)
	}
	c, maxFrame, err := newConfig(opts)
	if err != nil {
		return nil, nil, err
	}
	set := &queueSet{a: make([]*Link, n), b: make([]*Link, n)}
	for _, end := range []struct {
		links []*Link
		mac   [6]byte
	}{{set.a, c.macA}, {set.b, c.macB}} {
		for i := range end.links {
			pool, err := link.NewPool(c.pool)
			if err != nil {
				return nil, nil, fmt.Errorf("mem: %w", err)
			}
			end.links[i] = &Link{
				pool: pool, mtu: c.mtu, maxFrame: maxFrame, mac: end.mac,
				q: &queue{
					set: set, steer: c.steer, flag: &waitFlag{},
					out: make([]outRing, n), in: make([]inRing, n),
				},
			}
		}
	}
	// Ring i->j joins queue i of one end to queue j of the other.
	for _, dir := range [][2][]*Link{{set.a, set.b}, {set.b, set.a}} {
		from, to := dir[0], dir[1]
		for i := range from {
			for j := range to {
				r := newRing(c.ringSize)
				from[i].q.out[j] = outRing{r: r, wake: to[j].q.flag}
				to[j].q.in[i] = inRing{r: r}
			}
		}
	}
	return set.a, set.b, nil
}

// Queues is NewQueues that panics on error (like Pair).
func Queues(n int, opts ...Option) (a, b []*Link) {
	a, b, err := NewQueues(n, opts...)
	if err != nil {
		panic(err)
	}
	return a, b
}

// pick is the receiving queue for frame f.
func (q *queue) pick(f []byte) int {
	n := len(q.out)
	if q.steer == nil {
		return link.SteerQueue(f, n)
	}
	j := q.steer(f, n) % n
	if j < 0 {
		j += n
	}
	return j
}

// sendQueue is Send for a queue Link: each frame goes to the ring toward
// its steered queue. It stops at the first frame that is invalid or whose
// ring is full, so what it takes is a prefix of bufs; every ring it wrote
// is published once at the end.
func (l *Link) sendQueue(bufs []*link.Buf) int {
	q := l.q
	if !q.txRole.CompareAndSwap(roleIdle, roleBusy) {
		return 0 // closed
	}
	var dirty uint64 // bit j: ring toward queue j has new frames
	n, bytes, bad := 0, 0, false
	for ; n < len(bufs); n++ {
		b := bufs[n]
		if b == nil || b.Len() > l.maxFrame {
			bad = true
			break
		}
		j := q.pick(b.Bytes())
		o := &q.out[j]
		r := o.r
		if o.tail-o.headSeen >= uint64(len(r.slots)) {
			o.headSeen = r.head.Load()
			if o.tail-o.headSeen >= uint64(len(r.slots)) {
				break // that ring is full
			}
		}
		bytes += b.Len() // before put: from then on b is the receiver's
		r.put(o.tail, b)
		o.tail++
		dirty |= 1 << uint(j)
	}
	for d := dirty; d != 0; d &= d - 1 {
		o := &q.out[bits.TrailingZeros64(d)]
		o.r.tail.Store(o.tail) // for Arm and Close; receivers read the slots
	}
	q.txRole.Store(roleIdle)
	for d := dirty; d != 0; d &= d - 1 {
		q.out[bits.TrailingZeros64(d)].wake.wake()
	}
	if n > 0 {
		l.txFrames.Add(uint64(n))
		l.txBytes.Add(uint64(bytes))
	}
	if refused := len(bufs) - n; refused > 0 {
		if bad {
			l.txErrors.Add(1)
			refused--
		}
		if refused > 0 {
			l.txDropped.Add(uint64(refused))
		}
	}
	return n
}

// recvQueue is Recv for a queue Link: it drains the incoming rings in
// turn, starting one ring further on each call so that no sending queue
// is always served first.
func (l *Link) recvQueue(bufs []*link.Buf) int {
	q := l.q
	if !q.rxRole.CompareAndSwap(roleIdle, roleBusy) {
		return 0 // closed
	}
	nq := len(q.in)
	start := q.next
	if q.next++; q.next == nq {
		q.next = 0
	}
	got, bytes := 0, 0
	for k := 0; k < nq && got < len(bufs); k++ {
		i := start + k
		if i >= nq {
			i -= nq
		}
		in := &q.in[i]
		r := in.r
		m := uint64(0)
		for ; got < len(bufs) && r.ready(in.head+m); m++ {
			b, first := r.take(in.head + m)
			l.touched = first
			bufs[got] = b
			got++
			bytes += b.Len()
		}
		if m == 0 {
			continue
		}
		in.head += m
		r.head.Store(in.head) // hands the slots back to the producer
	}
	q.rxRole.Store(roleIdle)
	if got > 0 {
		l.rxFrames.Add(uint64(got))
		l.rxBytes.Add(uint64(bytes))
	}
	return got
}

// rxPendingQueue is RxPending for a queue Link: any incoming ring
// non-empty, and the pair not closed (Close drains the rings behind the
// owner's cursors).
func (l *Link) rxPendingQueue() bool {
	for i := range l.q.in {
		in := &l.q.in[i]
		if in.r.ready(in.head) {
			return !l.q.set.closed.Load()
		}
	}
	return false
}

// armQueue is Arm for a queue Link: the flag is the queue's own, which a
// sender publishing into any of its incoming rings takes.
func (l *Link) armQueue(reg *waitReg) bool {
	q := l.q
	q.flag.armed.Store(reg)
	// Look again after raising the flag: a frame published before the
	// store is seen here; one published after it sees the flag.
	pending := q.set.closed.Load()
	for i := 0; i < len(q.in) && !pending; i++ {
		pending = q.in[i].r.tail.Load() != q.in[i].head
	}
	if pending {
		q.flag.armed.CompareAndSwap(reg, nil)
		return false
	}
	return true
}

// closeQueues closes every queue of both ends: it takes every Send and
// Recv role for good (waiting out calls in flight), frees every queued
// frame, counted in its receiving queue's RxDropped, and wakes every armed
// poller.
func (s *queueSet) close() {
	for _, end := range [][]*Link{s.a, s.b} {
		for _, l := range end {
			acquireForClose(&l.q.txRole)
			acquireForClose(&l.q.rxRole)
		}
	}
	for _, end := range [][]*Link{s.a, s.b} {
		for _, l := range end {
			var dropped uint64
			for i := range l.q.in {
				dropped += l.q.in[i].r.shutdown()
			}
			l.rxDropped.Add(dropped)
		}
	}
	for _, end := range [][]*Link{s.a, s.b} {
		for _, l := range end {
			l.q.flag.wake()
		}
	}
}
