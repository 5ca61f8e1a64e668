package mem

import (
	"runtime"
	"sync/atomic"

	"github.com/ustack/ustack/link"
)

// Role states: each ring has one producer role and one consumer role. The
// end that owns a role takes it (idle -> busy) for the length of one Send or
// Recv; Close takes both roles of both rings for good (-> closed) so that
// draining never races with a sender or receiver still in flight.
const (
	roleIdle uint32 = iota
	roleBusy
	roleClosed
)

// waitReg is a registered wake-up channel. It is immutable once made, so a
// sender that swaps it out of the flag may read it without a race even if
// the poller is already arming again.
type waitReg struct {
	c chan<- struct{}
}

// ring is one direction of a pair: a bounded SPSC queue of Buf pointers.
//
// The consumer learns that slot i holds a frame from the slot itself: the
// producer writes the Buf pointer and then stores seq = i+1 (i counting
// every frame ever sent, so a slot's seq names its lap too). A consumer
// polling an empty ring spins on the one cache line it will read the
// frame from, and taking a frame moves one line between the cores, not
// two (tail, then the slot): measured on a 2-core VM, a frame ping-pong
// through slot sequences took 370 ns against 630 ns through a tail index.
// The producer still publishes tail after each burst (Arm and Close read
// it; on the hot path the consumer does not, so the line stays with the
// producer), and learns of free slots from head, read lazily. The
// consumer never writes a slot.
type ring struct {
	slots []slot
	mask  uint64

	_    [64]byte
	tail atomic.Uint64 // next slot the producer fills; written by it only
	prod atomic.Uint32 // producer role state
	_    [52]byte
	head atomic.Uint64 // next slot the consumer takes; written by it only
	cons atomic.Uint32 // consumer role state
	_    [52]byte

	// armed is the need-wakeup flag: nil, or the poller waiting for the
	// next frame published into this ring.
	armed atomic.Pointer[waitReg]
	_     [56]byte
}

// slot is one entry of a ring: the frame and the sequence number that
// publishes it (pos+1 for the pos-th frame sent into the ring).
type slot struct {
	seq  atomic.Uint64
	buf  *link.Buf
	data *byte   // the frame's first byte (nil when empty)
	_    [8]byte // 32 bytes: two slots per cache line, none across two
}

func newRing(size int) *ring {
	return &ring{slots: make([]slot, size), mask: uint64(size - 1)}
}

// put publishes b as the frame at position pos (producer only; the slot
// must be free: pos - head < len(slots)).
func (r *ring) put(pos uint64, b *link.Buf) {
	s := &r.slots[pos&r.mask]
	s.buf = b
	s.data = nil
	if d := b.Bytes(); len(d) > 0 {
		s.data = &d[0]
	}
	s.seq.Store(pos + 1)
}

// ready reports whether the frame at position pos has been published
// (consumer only).
func (r *ring) ready(pos uint64) bool { return r.slots[pos&r.mask].seq.Load() == pos+1 }

// take is the frame at position pos, for the consumer's Recv after
// ready(pos). It also loads the frame's first byte, whose address the
// slot carries, and returns it for the caller to keep (so the load is not
// optimised away): the Buf's line and the frame's first line were both
// written on the producer's core, and this way the two misses overlap
// instead of the data's waiting on the Buf's.
func (r *ring) take(pos uint64) (*link.Buf, byte) {
	s := &r.slots[pos&r.mask]
	var first byte
	if p := s.data; p != nil {
		first = *p
	}
	return s.buf, first
}

// wake takes the armed registration, if any, and signals it without
// blocking. Called by the producer after publishing and by Close.
func (r *ring) wake() {
	if r.armed.Load() == nil {
		return
	}
	if w := r.armed.Swap(nil); w != nil {
		select {
		case w.c <- struct{}{}:
		default: // a wake-up is already pending in the channel
		}
	}
}

// acquireForClose waits until role is idle and marks it closed. A role is
// busy only for the bounded length of one Send or Recv call.
func acquireForClose(role *atomic.Uint32) {
	for {
		switch role.Load() {
		case roleClosed:
			return
		case roleIdle:
			if role.CompareAndSwap(roleIdle, roleClosed) {
				return
			}
		default:
			runtime.Gosched()
		}
	}
}

// shutdown stops both roles, frees every queued Buf and wakes the poller.
// It returns how many frames it freed.
func (r *ring) shutdown() uint64 {
	acquireForClose(&r.prod)
	acquireForClose(&r.cons)
	h, t := r.head.Load(), r.tail.Load()
	n := t - h
	for ; h != t; h++ {
		s := &r.slots[h&r.mask]
		s.buf.Free()
		s.buf = nil
	}
	r.head.Store(h)
	r.wake()
	return n
}
