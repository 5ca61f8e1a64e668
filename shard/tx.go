package shard

import (
	"time"

	"github.com/ustack/ustack/link"
)

// TX is a shard's transmit queue. Frames queued with Send go to the link
// in one Link.Send call at the end of the loop iteration, or earlier each
// time a burst's worth is queued. Frames the link refuses stay queued, in
// order, up to Config.TxQueueLen (beyond it new frames are dropped, as a
// full qdisc drops), and are retried at the end of following iterations;
// only after Config.TxRetries consecutive attempts without progress that
// also span Config.TxHoldTime are they freed and counted as drops, so a
// peer that is slow for a while costs no frames. A TX belongs to its
// shard's goroutine.
type TX struct {
	link    link.Link
	pool    *link.Pool
	q       []*link.Buf // queued frames; len(q) <= cap(q) == TxQueueLen
	batch   int         // flush early once this many are queued
	retries int         // consecutive flushes that sent nothing
	limit   int
	hold    time.Duration
	stuck   time.Duration // when the current run of no progress began
	woke    bool          // Woke was called since the loop last looked
	cache   link.Cache    // buffers taken ahead of need (Get)

	sent, retried, dropped uint64
}

func (t *TX) init(l link.Link, batch, queueLen, retries int, hold time.Duration) {
	t.link = l
	t.pool = l.Pool()
	t.cache.Init(t.pool)
	t.q = make([]*link.Buf, 0, queueLen)
	t.batch = batch
	t.limit = retries
	t.hold = hold
}

// Woke tells the loop that the work of this iteration made a goroutine
// runnable: it completed a blocking call (a socket Read, Write, Accept or
// Dial) whose caller waits in the Go scheduler. After such an iteration a
// spinning Run yields its processor at once, so that goroutine runs
// without waiting for the loop's periodic yield; iterations that woke
// nobody (the event API's, whose handlers run on the shard) do not pay
// for a yield. Calling it when the caller turns out not to wait costs one
// needless yield.
func (t *TX) Woke() { t.woke = true }

// takeWoke reports and clears Woke's mark.
func (t *TX) takeWoke() bool {
	w := t.woke
	t.woke = false
	return w
}

// Send queues b for transmission; TX owns b from now on. A burst's worth
// of queued frames is handed to the link at once. When the queue is full
// and the link still refuses, b is freed and counted as a drop. A nil b is
// ignored.
func (t *TX) Send(b *link.Buf) {
	if b == nil {
		return
	}
	if len(t.q) == cap(t.q) {
		t.flush()
		if len(t.q) == cap(t.q) {
			b.Free()
			t.dropped++
			return
		}
	}
	t.q = append(t.q, b)
	if len(t.q)%t.batch == 0 && t.retries == 0 {
		t.flush()
	}
}

// Get takes a buffer for a frame to Send from the link's pool, or nil when
// the pool is empty. While it has nothing else to do, a spinning loop takes
// a few buffers ahead of need and readies the lines a frame's headers go
// in (link.Cache), so that a reply built right after a frame arrives finds
// its buffer in this core's cache; Get hands those out first.
func (t *TX) Get() *link.Buf { return t.cache.Get() }

// Pool is the pool frames for Send should come from (the link's).
func (t *TX) Pool() *link.Pool { return t.pool }

// Pending is how many frames are queued and not yet taken by the link.
func (t *TX) Pending() int { return len(t.q) }

// flush hands the queue to the link, keeping the refused remainder.
func (t *TX) flush() {
	if len(t.q) == 0 {
		return
	}
	n := t.link.Send(t.q)
	if n < 0 {
		n = 0
	} else if n > len(t.q) {
		n = len(t.q)
	}
	t.sent += uint64(n)
	rest := copy(t.q, t.q[n:])
	clear(t.q[rest:])
	t.q = t.q[:rest]
	if rest == 0 {
		t.retries = 0
		return
	}
	t.retried += uint64(rest)
	if n > 0 {
		t.retries = 0
		return
	}
	t.retries++
}

// endIteration flushes and applies the retry bound at time now.
func (t *TX) endIteration(now time.Duration) {
	t.flush()
	if t.retries == 1 {
		t.stuck = now
	}
	if len(t.q) > 0 && t.retries > t.limit && now-t.stuck >= t.hold {
		for i, b := range t.q {
			b.Free()
			t.q[i] = nil
		}
		t.dropped += uint64(len(t.q))
		t.q = t.q[:0]
		t.retries = 0
	}
}

// drop frees everything queued (shutdown), and the buffers taken ahead.
func (t *TX) drop() {
	t.cache.Drain()
	for i, b := range t.q {
		b.Free()
		t.q[i] = nil
	}
	t.dropped += uint64(len(t.q))
	t.q = t.q[:0]
}
