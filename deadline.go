package ustack

import (
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Blocking socket calls (UDP now, TCP's net.Conn next) wait the same way:
// each direction of a socket (read, write) is a waitDir, which holds the
// direction's deadline and a one-slot wake-up token.
//
// The shard never blocks and never wakes a goroutine per packet: protocol
// code collects the sockets that became readable or writable during a
// burst (udp.Table.Flush hands over per endpoint; a wakeList does it for
// anything else) and wakes each once at the end of the burst. A wake-up is
// one non-blocking channel send; wake-ups while nobody waits collapse into
// the one token, so none is lost and none costs more than that send.
//
// A blocked call selects on the token, the deadline's channel and the
// socket's closed channel. Deadlines behave as the net package's: a
// deadline in the past fails the next call at once (before it looks for
// data), moving a deadline while a call is blocked takes effect for that
// call, the zero time means none, and expiry is reported as
// os.ErrDeadlineExceeded, whose Timeout() is true.

// errTimeout and errClosed are the two ways a wait fails.
var (
	errTimeout = os.ErrDeadlineExceeded
	errClosed  = net.ErrClosed
)

// deadline is one direction's deadline. Its channel is closed when the
// deadline passes and replaced by a fresh one when the deadline is moved
// after it passed, so blocked callers need only select on it.
type deadline struct {
	mu      sync.Mutex
	when    time.Time // zero: no deadline
	timer   *time.Timer
	c       chan struct{}
	expired bool // c is closed
	// set is true while when is non-zero or c is closed: passed reads it
	// without the lock, so calls on a socket with no deadline take none.
	armed atomic.Bool
}

func (d *deadline) init() { d.c = make(chan struct{}) }

// set moves the deadline to t (zero: none). It allocates nothing except
// the first time a future deadline is set (the timer) and when a passed
// deadline is moved into the future or cleared (a fresh channel).
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.when = t
	defer func() { d.armed.Store(!d.when.IsZero() || d.expired) }()
	if d.timer != nil {
		d.timer.Stop() // a callback already running re-checks when
	}
	if t.IsZero() {
		d.reopen()
		return
	}
	dur := time.Until(t)
	if dur <= 0 {
		d.expire()
		return
	}
	d.reopen()
	if d.timer == nil {
		d.timer = time.AfterFunc(dur, d.fire)
	} else {
		d.timer.Reset(dur)
	}
}

// fire is the timer's callback. The timer may be stale (the deadline
// moved or was cleared after it fired but before this ran), so it looks at
// the deadline again; if the deadline is still ahead (a later one, or a
// clock reading slightly off the timer's) it re-arms.
func (d *deadline) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.when.IsZero() || d.expired {
		return
	}
	if dur := time.Until(d.when); dur > 0 {
		d.timer.Reset(dur)
		return
	}
	d.expire()
}

func (d *deadline) expire() {
	if !d.expired {
		close(d.c)
		d.expired = true
	}
}

func (d *deadline) reopen() {
	if d.expired {
		d.c = make(chan struct{})
		d.expired = false
	}
}

// done returns the channel that is closed when the current deadline
// passes. A caller blocked on it keeps the right channel when the deadline
// is moved: an unexpired channel is reused.
func (d *deadline) done() <-chan struct{} {
	d.mu.Lock()
	c := d.c
	d.mu.Unlock()
	return c
}

// passed reports whether the deadline has passed.
func (d *deadline) passed() bool {
	if !d.armed.Load() {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expired {
		return true
	}
	if !d.when.IsZero() && !time.Now().Before(d.when) {
		d.expire() // the timer has not run yet
		return true
	}
	return false
}

// stop releases the timer (on close).
func (d *deadline) stop() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.when = time.Time{}
	d.armed.Store(d.expired)
	d.mu.Unlock()
}

// waitDir is one blocking direction of a socket.
type waitDir struct {
	deadline
	token chan struct{} // one slot: a pending wake-up
	// queued is owned by the shard: the direction is on a wakeList.
	queued bool
}

func (w *waitDir) init() {
	w.deadline.init()
	w.token = make(chan struct{}, 1)
}

// wake makes the next (or current) wait return. It never blocks and is
// safe from any goroutine; wake-ups nobody has waited for yet collapse
// into one.
func (w *waitDir) wake() {
	select {
	case w.token <- struct{}{}:
	default:
	}
}

// wait blocks until a wake-up, the deadline or the closing of one of the
// done channels (the socket's, the stack's). It returns nil after a
// wake-up — the caller must look again for what it waits for, and call
// wake itself if it leaves something for another waiter — errTimeout
// after the deadline, errClosed after closing. It does not allocate.
func (w *waitDir) wait(done1, done2 <-chan struct{}) error {
	select {
	case <-w.token:
		return nil
	case <-w.done():
		return errTimeout
	case <-done1:
		return errClosed
	case <-done2:
		return errClosed
	}
}

// wakeList collects, on the shard, directions to wake at the end of the
// burst: add during input, flush in EndBurst. Each is woken once however
// often it was added. Not safe for concurrent use.
type wakeList struct{ ws []*waitDir }

func (l *wakeList) add(w *waitDir) {
	if !w.queued {
		w.queued = true
		l.ws = append(l.ws, w)
	}
}

func (l *wakeList) flush() {
	for i, w := range l.ws {
		w.queued = false
		w.wake()
		l.ws[i] = nil
	}
	l.ws = l.ws[:0]
}
