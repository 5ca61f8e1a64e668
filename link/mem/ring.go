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
// Slot i is written by the producer before it publishes tail past i and
// read by the consumer before it publishes head past i; the atomics on
// tail and head order those plain slot accesses.
type ring struct {
	slots []*link.Buf
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

func newRing(size int) *ring {
	return &ring{slots: make([]*link.Buf, size), mask: uint64(size - 1)}
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
		(*s).Free()
		*s = nil
	}
	r.head.Store(h)
	r.wake()
	return n
}
