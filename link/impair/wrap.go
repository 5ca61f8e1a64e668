package impair

import (
	"fmt"
	"sync"
	"time"

	"github.com/ustack/ustack/link"
)

// DefaultMaxHeld is how many frames a wrapped Link holds per direction
// unless WithMaxHeld says otherwise.
const DefaultMaxHeld = 4096

// Option configures Wrap.
type Option func(*wrapOpts)

type wrapOpts struct {
	rx      *Config
	clock   func() time.Duration
	maxHeld int
	burst   int
}

// WithReceive impairs received frames with cfg instead of the Config given
// to Wrap.
func WithReceive(cfg Config) Option { return func(o *wrapOpts) { o.rx = &cfg } }

// WithClock replaces the wall clock: now returns monotonic time since an
// arbitrary epoch (for tests, or to share a shard's clock).
func WithClock(now func() time.Duration) Option { return func(o *wrapOpts) { o.clock = now } }

// WithMaxHeld bounds the frames held (waiting for their arrival time) in
// each direction; default DefaultMaxHeld. Send stops accepting, and Recv
// stops pulling from the wrapped link, while a direction is full.
func WithMaxHeld(n int) Option { return func(o *wrapOpts) { o.maxHeld = n } }

// Link is a link.Link that impairs another one on the wall clock. Frames
// sent go through a Model and are held in a time-ordered queue until they
// are due, then handed to the wrapped link; frames received from the
// wrapped link go through a second Model and are held until due before Recv
// returns them.
//
// No goroutine is involved: held frames are released only from within Recv
// and Send calls (both directions on each call), so the owner must keep
// calling them. Fd passes the wrapped link's descriptor through, but it
// does not become readable when a held frame falls due: a poller that sleeps
// must wake by NextDue at the latest. Link deliberately does not implement
// link.Waiter for the same reason.
//
// Like any link.Link, all methods except Close belong to one goroutine;
// Close may come from any goroutine.
type Link struct {
	inner    link.Link
	tx, rx   *Model
	clock    func() time.Duration
	maxHeld  int
	txq, rxq held
	scratch  []Delivery
	batch    []*link.Buf
	meta     []heldFrame // the held records of batch, while releasing
	st       link.Stats

	// mu makes Close safe from any goroutine, as link.Link requires; the
	// owner takes it once per Send/Recv call, uncontended.
	mu     sync.Mutex
	closed bool
}

var _ link.Link = (*Link)(nil)

// Wrap returns l impaired by cfg in both directions (the receive direction
// uses cfg with a different seed unless WithReceive gives its own Config).
func Wrap(l link.Link, cfg Config, opts ...Option) (*Link, error) {
	o := wrapOpts{maxHeld: DefaultMaxHeld, burst: 64}
	for _, f := range opts {
		f(&o)
	}
	if o.maxHeld < 1 {
		return nil, fmt.Errorf("impair: max held %d must be at least 1", o.maxHeld)
	}
	rxCfg := cfg
	rxCfg.Seed = MixSeed(cfg.Seed, 1)
	if o.rx != nil {
		rxCfg = *o.rx
	}
	tx, err := NewModel(cfg)
	if err != nil {
		return nil, fmt.Errorf("impair: send direction: %w", err)
	}
	rx, err := NewModel(rxCfg)
	if err != nil {
		return nil, fmt.Errorf("impair: receive direction: %w", err)
	}
	if o.clock == nil {
		start := time.Now()
		o.clock = func() time.Duration { return time.Since(start) }
	}
	return &Link{
		inner: l, tx: tx, rx: rx, clock: o.clock, maxHeld: o.maxHeld,
		txq:     held{h: make([]heldFrame, 0, 64)},
		rxq:     held{h: make([]heldFrame, 0, 64)},
		scratch: make([]Delivery, 0, 2),
		batch:   make([]*link.Buf, o.burst),
		meta:    make([]heldFrame, o.burst),
	}, nil
}

// Send takes frames into the send-side model at the current time and hands
// the wrapped link every held frame now due. It takes a prefix of bufs: all
// of them unless the send queue holds WithMaxHeld frames.
func (l *Link) Send(bufs []*link.Buf) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0
	}
	now := l.clock()
	n := 0
	for _, b := range bufs {
		if l.txq.len() >= l.maxHeld {
			break
		}
		l.st.TxFrames++
		l.st.TxBytes += uint64(b.Len())
		out, drop := l.tx.Offer(now, b, l.scratch[:0])
		if drop != DropNone {
			l.st.TxDropped++
		}
		for _, d := range out {
			l.txq.add(d.At, d.Buf)
		}
		n++
	}
	l.release(now)
	return n
}

// release hands due send-side frames to the wrapped link, in order; frames
// it refuses stay queued, in place, for the next call.
func (l *Link) release(now time.Duration) {
	for {
		k := 0
		for k < len(l.batch) {
			at, ok := l.txq.next()
			if !ok || at > now {
				break
			}
			l.meta[k] = l.txq.pop()
			l.batch[k] = l.meta[k].buf
			k++
		}
		if k == 0 {
			return
		}
		sent := l.inner.Send(l.batch[:k])
		// Put refused frames back exactly where they were (same time and
		// sequence number), to be retried first on the next call.
		for i := sent; i < k; i++ {
			l.txq.put(l.meta[i])
		}
		clear(l.batch[:k])
		clear(l.meta[:k])
		if sent < k {
			return
		}
	}
}

// Recv pulls frames from the wrapped link into the receive-side model,
// releases due send-side frames, and returns up to len(bufs) received frames
// whose time has come.
func (l *Link) Recv(bufs []*link.Buf) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0
	}
	now := l.clock()
	for l.rxq.len() < l.maxHeld {
		room := min(len(l.batch), l.maxHeld-l.rxq.len())
		got := l.inner.Recv(l.batch[:room])
		for _, b := range l.batch[:got] {
			out, drop := l.rx.Offer(now, b, l.scratch[:0])
			if drop != DropNone {
				l.st.RxDropped++
			}
			for _, d := range out {
				l.rxq.add(d.At, d.Buf)
			}
		}
		clear(l.batch[:got])
		if got < room {
			break
		}
	}
	l.release(now)
	n := 0
	for n < len(bufs) {
		at, ok := l.rxq.next()
		if !ok || at > now {
			break
		}
		b := l.rxq.pop().buf
		bufs[n] = b
		n++
		l.st.RxFrames++
		l.st.RxBytes += uint64(b.Len())
	}
	return n
}

// NextDue is the earliest time (on the Link's clock) a held frame falls
// due in either direction; ok is false when nothing is held.
func (l *Link) NextDue() (at time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t1, ok1 := l.txq.next()
	t2, ok2 := l.rxq.next()
	switch {
	case ok1 && ok2:
		return min(t1, t2), true
	case ok1:
		return t1, true
	default:
		return t2, ok2
	}
}

// Held is how many frames wait in the send and receive queues.
func (l *Link) Held() (send, recv int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.txq.len(), l.rxq.len()
}

// MTU is the wrapped link's MTU.
func (l *Link) MTU() int { return l.inner.MTU() }

// HardwareAddr is the wrapped link's address.
func (l *Link) HardwareAddr() [6]byte { return l.inner.HardwareAddr() }

// Pool is the wrapped link's pool.
func (l *Link) Pool() *link.Pool { return l.inner.Pool() }

// Fd is the wrapped link's descriptor (see the Link documentation for what
// it does not signal).
func (l *Link) Fd() int { return l.inner.Fd() }

// Stats counts frames as the wrapper's caller sees them: TxFrames/TxBytes
// accepted by Send, RxFrames/RxBytes returned by Recv; drops by the models
// are added to the wrapped link's TxDropped/RxDropped, whose error counters
// pass through.
func (l *Link) Stats() link.Stats {
	in := l.inner.Stats()
	s := l.st
	s.TxDropped += in.TxDropped
	s.RxDropped += in.RxDropped
	s.TxErrors = in.TxErrors
	s.RxErrors = in.RxErrors
	return s
}

// Impair returns the counters of the send-side and receive-side models.
func (l *Link) Impair() (send, recv Stats) { return l.tx.Stats(), l.rx.Stats() }

// Close frees every held frame and closes the wrapped link; later Send and
// Recv calls return 0. It may be called from any goroutine.
func (l *Link) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.txq.freeAll()
	l.rxq.freeAll()
	return l.inner.Close()
}
