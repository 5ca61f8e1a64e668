package mem

import (
	"fmt"
	"sync/atomic"

	"github.com/ustack/ustack/link"
)

// Link is one end of an in-process pair. Recv, Send, Arm, MTU,
// HardwareAddr, Pool, Fd, MaxFrame and Stats follow link.Link's rules: one
// owning goroutine calls them (Stats may be called from anywhere). Close
// may be called from any goroutine. A queue of NewQueues is a Link too,
// with the same rules per queue.
type Link struct {
	tx, rx   *ring
	pair     *pair
	q        *queue // non-nil for a NewQueues queue; tx, rx and pair are then nil
	pool     *link.Pool
	mtu      int
	maxFrame int
	mac      [6]byte

	// Owner-local ring cursors: the producer's copy of tail and last seen
	// head, the consumer's copy of head and last seen tail. They spare
	// the shared cache lines on most calls.
	txTail, txHeadSeen uint64
	rxHead             uint64
	lastReg            *waitReg
	// touched keeps the first byte of the last frame received, loaded
	// early (ring.take) to bring its line in; nothing reads it.
	touched byte

	closeCalled atomic.Bool

	rxFrames, rxBytes, rxDropped atomic.Uint64
	txFrames, txBytes            atomic.Uint64
	txDropped, txErrors          atomic.Uint64
}

type pair struct {
	closed atomic.Bool
	a, b   *Link
}

var (
	_ link.Link   = (*Link)(nil)
	_ link.Waiter = (*Link)(nil)
	_ link.GSO    = (*Link)(nil)
)

// NewPair makes two connected links. Zero or absent options take their
// defaults; invalid ones are an error.
func NewPair(opts ...Option) (*Link, *Link, error) {
	c, maxFrame, err := newConfig(opts)
	if err != nil {
		return nil, nil, err
	}
	poolA, err := link.NewPool(c.pool)
	if err != nil {
		return nil, nil, fmt.Errorf("mem: %w", err)
	}
	poolB, err := link.NewPool(c.pool)
	if err != nil {
		return nil, nil, fmt.Errorf("mem: %w", err)
	}
	ab, ba := newRing(c.ringSize), newRing(c.ringSize)
	p := &pair{}
	p.a = &Link{tx: ab, rx: ba, pair: p, pool: poolA, mtu: c.mtu, maxFrame: maxFrame, mac: c.macA}
	p.b = &Link{tx: ba, rx: ab, pair: p, pool: poolB, mtu: c.mtu, maxFrame: maxFrame, mac: c.macB}
	return p.a, p.b, nil
}

// Pair is NewPair for options known to be valid. It panics if they are
// not, which is a programming error (an MTU or ring size out of range).
func Pair(opts ...Option) (*Link, *Link) {
	a, b, err := NewPair(opts...)
	if err != nil {
		panic(err)
	}
	return a, b
}

// Send queues a prefix of bufs toward the peer and returns its length. See
// the package documentation for when it stops early; the Bufs it did not
// take still belong to the caller.
func (l *Link) Send(bufs []*link.Buf) int {
	if len(bufs) == 0 {
		return 0
	}
	if l.q != nil {
		return l.sendQueue(bufs)
	}
	r := l.tx
	if !r.prod.CompareAndSwap(roleIdle, roleBusy) {
		return 0 // closed
	}
	size := uint64(len(r.slots))
	room := size - (l.txTail - l.txHeadSeen)
	if room < uint64(len(bufs)) {
		l.txHeadSeen = r.head.Load()
		room = size - (l.txTail - l.txHeadSeen)
	}
	limit := len(bufs)
	if uint64(limit) > room {
		limit = int(room)
	}
	n, bytes, bad := 0, 0, false
	for ; n < limit; n++ {
		b := bufs[n]
		if b == nil || b.Len() > l.maxFrame {
			bad = true
			break
		}
		bytes += b.Len()
		r.put(l.txTail+uint64(n), b)
	}
	if n > 0 {
		l.txTail += uint64(n)
		r.tail.Store(l.txTail) // for Arm and Close; the receiver reads the slots
	}
	r.prod.Store(roleIdle)
	if n > 0 {
		r.wake()
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

// Recv moves up to len(bufs) frames sent by the peer into bufs and returns
// how many. It never blocks. The caller owns them; freeing one returns it
// to the peer's pool.
func (l *Link) Recv(bufs []*link.Buf) int {
	if len(bufs) == 0 {
		return 0
	}
	if l.q != nil {
		return l.recvQueue(bufs)
	}
	r := l.rx
	if !r.cons.CompareAndSwap(roleIdle, roleBusy) {
		return 0 // closed
	}
	// Frames are taken while their slots say they are published (see
	// ring): the tail index, on another cache line, is not read.
	n, bytes := 0, 0
	for ; n < len(bufs) && r.ready(l.rxHead+uint64(n)); n++ {
		b, first := r.take(l.rxHead + uint64(n))
		l.touched = first
		bufs[n] = b
		bytes += b.Len()
	}
	if n > 0 {
		l.rxHead += uint64(n)
		r.head.Store(l.rxHead) // hands the slots back to the producer
	}
	r.cons.Store(roleIdle)
	if n > 0 {
		l.rxFrames.Add(uint64(n))
		l.rxBytes.Add(uint64(bytes))
	}
	return n
}

// RxPending reports whether Recv would return a frame now, without
// taking any: one atomic load, for a poller's tight spin between full
// loop iterations. Owner only, like Recv.
func (l *Link) RxPending() bool {
	if l.q != nil {
		return l.rxPendingQueue()
	}
	if l.pair.closed.Load() {
		return false // Close dropped what was queued: Recv returns nothing
	}
	return l.rx.ready(l.rxHead)
}

// Arm registers c to be signalled the next time the peer sends a frame
// (for a queue: the next time any peer queue sends a frame steered to it).
// It returns false, registering nothing, when frames are already waiting,
// the pair is closed, c is nil, or c is unbuffered (a non-blocking send on
// an unbuffered channel is lost unless the poller is already receiving).
// A registration is used at most once; arm again after each wake-up.
// Arming with the same channel as last time does not allocate.
func (l *Link) Arm(c chan<- struct{}) bool {
	if c == nil || cap(c) == 0 {
		return false
	}
	reg := l.lastReg
	if reg == nil || reg.c != c {
		reg = &waitReg{c: c}
		l.lastReg = reg
	}
	if l.q != nil {
		return l.armQueue(reg)
	}
	r := l.rx
	r.armed.Store(reg)
	// Look again after raising the flag: a frame published before the
	// store is seen here; one published after it sees the flag.
	if l.pair.closed.Load() || r.tail.Load() != r.head.Load() {
		r.armed.CompareAndSwap(reg, nil)
		return false
	}
	return true
}

// Close closes the whole pair (both ends; every queue of both ends for
// NewQueues): queued frames are freed, an
// armed poller on either end is woken, and later calls on either end do
// nothing. It returns link.ErrClosed when this end was already closed.
func (l *Link) Close() error {
	if !l.closeCalled.CompareAndSwap(false, true) {
		return link.ErrClosed
	}
	if l.q != nil {
		if l.q.set.closed.CompareAndSwap(false, true) {
			l.q.set.close()
		}
		return nil
	}
	p := l.pair
	if !p.closed.CompareAndSwap(false, true) {
		return nil // the peer closed the pair
	}
	p.b.rxDropped.Add(p.a.tx.shutdown())
	p.a.rxDropped.Add(p.b.tx.shutdown())
	return nil
}

// MTU is the largest IP packet the link carries.
func (l *Link) MTU() int { return l.mtu }

// MaxFrame is the longest frame Send accepts: MTU+18 (Ethernet header and
// one VLAN tag), or the WithGSO size. It implements link.GSO; a MaxFrame
// of MTU+18 means no super-segments.
func (l *Link) MaxFrame() int { return l.maxFrame }

// HardwareAddr is this end's Ethernet address.
func (l *Link) HardwareAddr() [6]byte { return l.mac }

// Pool is this end's buffer pool, the one Send's Bufs should come from.
func (l *Link) Pool() *link.Pool { return l.pool }

// Fd returns -1: a mem link has no file descriptor; use Arm.
func (l *Link) Fd() int { return -1 }

// Stats returns this end's counters. It may be called from any goroutine.
func (l *Link) Stats() link.Stats {
	return link.Stats{
		RxFrames:  l.rxFrames.Load(),
		RxBytes:   l.rxBytes.Load(),
		RxDropped: l.rxDropped.Load(),
		TxFrames:  l.txFrames.Load(),
		TxBytes:   l.txBytes.Load(),
		TxDropped: l.txDropped.Load(),
		TxErrors:  l.txErrors.Load(),
	}
}
