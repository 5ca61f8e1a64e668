package shard

import (
	"sync/atomic"
	"time"
)

// Task is work handed to a shard from another goroutine with Submit. Run
// executes on the shard during the next loop iteration. Submit stores the
// interface value as is, so a Task that is a pointer costs no allocation.
type Task interface {
	Run(now time.Duration, tx *TX)
}

// inbox is a bounded multi-producer single-consumer queue of Tasks (a
// sequence-numbered ring: producers claim a position with one CAS, the
// consumer needs no atomic read-modify-write at all).
type inbox struct {
	slots []inboxSlot
	mask  uint64
	_     [64]byte
	tail  atomic.Uint64 // next position producers claim
	_     [56]byte
	// head is the next position the consumer reads. Only the consumer
	// (the loop's token holder) moves it, but whoever parks or returns
	// the loop reads it without the token (ready), so it is atomic.
	head atomic.Uint64
}

type inboxSlot struct {
	seq atomic.Uint64
	t   Task
}

func (q *inbox) init(size int) {
	n := uint64(1)
	for n < uint64(size) {
		n <<= 1
	}
	q.slots = make([]inboxSlot, n)
	q.mask = n - 1
	for i := range q.slots {
		q.slots[i].seq.Store(uint64(i))
	}
}

// push adds t, reporting false when the queue is full.
func (q *inbox) push(t Task) bool {
	pos := q.tail.Load()
	for {
		s := &q.slots[pos&q.mask]
		switch d := int64(s.seq.Load()) - int64(pos); {
		case d == 0:
			if q.tail.CompareAndSwap(pos, pos+1) {
				s.t = t
				s.seq.Store(pos + 1)
				return true
			}
			pos = q.tail.Load()
		case d < 0:
			return false
		default:
			pos = q.tail.Load()
		}
	}
}

// pop removes the oldest published task or returns nil. A task whose
// producer has claimed its slot but not yet published it is not visible;
// the producer's wake-up check covers that window.
func (q *inbox) pop() Task {
	h := q.head.Load()
	s := &q.slots[h&q.mask]
	if s.seq.Load() != h+1 {
		return nil
	}
	t := s.t
	s.t = nil
	s.seq.Store(h + q.mask + 1)
	q.head.Store(h + 1)
	return t
}

// ready reports whether pop would return a task.
func (q *inbox) ready() bool {
	h := q.head.Load()
	return q.slots[h&q.mask].seq.Load() == h+1
}
