package sim

import (
	"time"

	"github.com/ustack/ustack/link"
)

type evKind uint8

const (
	evArrive evKind = iota + 1 // buf becomes receivable on port
	evTimer                    // host's deadline
)

type event struct {
	at   time.Duration
	seq  uint64
	kind evKind
	gen  uint32
	port *Port
	host *hostState
	buf  *link.Buf
}

func (e *event) less(o *event) bool {
	if e.at != o.at {
		return e.at < o.at
	}
	return e.seq < o.seq
}

// eventHeap is a binary min-heap of event values. Its slice is reused:
// popping clears the vacated slot (so freed Bufs are not retained) but keeps
// the capacity.
type eventHeap struct {
	ev  []event
	seq uint64
}

func (h *eventHeap) len() int { return len(h.ev) }

func (h *eventHeap) push(e event) {
	h.seq++
	e.seq = h.seq
	h.ev = append(h.ev, e)
	i := len(h.ev) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.ev[i].less(&h.ev[p]) {
			break
		}
		h.ev[i], h.ev[p] = h.ev[p], h.ev[i]
		i = p
	}
}

func (h *eventHeap) top() *event { return &h.ev[0] }

func (h *eventHeap) pop() event {
	e := h.ev[0]
	last := len(h.ev) - 1
	h.ev[0] = h.ev[last]
	h.ev[last] = event{}
	h.ev = h.ev[:last]
	n := last
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h.ev[r].less(&h.ev[l]) {
			c = r
		}
		if !h.ev[c].less(&h.ev[i]) {
			break
		}
		h.ev[i], h.ev[c] = h.ev[c], h.ev[i]
		i = c
	}
	return e
}
