package impair

import (
	"time"

	"github.com/ustack/ustack/link"
)

// held is a time-ordered queue of frames waiting for their arrival time: a
// binary min-heap by (at, seq). Its slice is reused, so a steady state
// allocates nothing.
type held struct {
	h   []heldFrame
	seq uint64
}

type heldFrame struct {
	at  time.Duration
	seq uint64
	buf *link.Buf
}

func (a *heldFrame) less(b *heldFrame) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (q *held) len() int { return len(q.h) }

// add queues b for time at, after everything already queued for at.
func (q *held) add(at time.Duration, b *link.Buf) {
	q.seq++
	q.put(heldFrame{at: at, seq: q.seq, buf: b})
}

// put queues f keeping its sequence number (to put a frame back in place).
func (q *held) put(f heldFrame) {
	q.h = append(q.h, f)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.h[i].less(&q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

// next is the earliest arrival time; ok is false when the queue is empty.
func (q *held) next() (time.Duration, bool) {
	if len(q.h) == 0 {
		return 0, false
	}
	return q.h[0].at, true
}

// pop removes and returns the earliest frame.
func (q *held) pop() heldFrame {
	f := q.h[0]
	last := len(q.h) - 1
	q.h[0] = q.h[last]
	q.h[last] = heldFrame{}
	q.h = q.h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= last {
			break
		}
		c := l
		if r := l + 1; r < last && q.h[r].less(&q.h[l]) {
			c = r
		}
		if !q.h[c].less(&q.h[i]) {
			break
		}
		q.h[i], q.h[c] = q.h[c], q.h[i]
		i = c
	}
	return f
}

// freeAll drops every held frame.
func (q *held) freeAll() {
	for i := range q.h {
		q.h[i].buf.Free()
		q.h[i] = heldFrame{}
	}
	q.h = q.h[:0]
}
