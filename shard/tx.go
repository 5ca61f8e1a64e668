package shard

import "github.com/ustack/ustack/link"

// TX is a shard's transmit batch. Frames queued with Send go to the link
// in one Link.Send call at the end of the loop iteration, or earlier when
// the batch fills. Frames the link refuses stay queued, in order, and are
// retried at the end of following iterations; after Config.TxRetries
// consecutive attempts that make no progress they are freed and counted as
// drops. A TX belongs to its shard's goroutine.
type TX struct {
	link    link.Link
	pool    *link.Pool
	q       []*link.Buf // queued frames; len(q) <= cap(q) == batch size
	retries int         // consecutive flushes that sent nothing
	limit   int

	sent, retried, dropped uint64
}

func (t *TX) init(l link.Link, batch, retries int) {
	t.link = l
	t.pool = l.Pool()
	t.q = make([]*link.Buf, 0, batch)
	t.limit = retries
}

// Send queues b for transmission; TX owns b from now on. When the batch is
// full it is flushed first; if the link still refuses, b is freed and
// counted as a drop. A nil b is ignored.
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
}

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

// endIteration flushes and applies the retry bound.
func (t *TX) endIteration() {
	t.flush()
	if len(t.q) > 0 && t.retries > t.limit {
		for i, b := range t.q {
			b.Free()
			t.q[i] = nil
		}
		t.dropped += uint64(len(t.q))
		t.q = t.q[:0]
		t.retries = 0
	}
}

// drop frees everything queued (shutdown).
func (t *TX) drop() {
	for i, b := range t.q {
		b.Free()
		t.q[i] = nil
	}
	t.dropped += uint64(len(t.q))
	t.q = t.q[:0]
}
