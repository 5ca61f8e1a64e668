package ustack

import (
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Blocking UDP socket calls and Accept wait the same way: each direction
// of a socket (read, write) is a waitDir, which holds the direction's
// deadline and a one-slot wake-up token. (A TCPConn's calls sleep on their
// request instead, and use a deadline's waker: see tcpconn.go.)
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

// deadline is one direction's deadline. A blocked caller learns that it
// passed in one of two ways: through its channel (done), closed when the
// deadline passes and replaced by a fresh one when the deadline is moved
// after it passed (waitDir: UDP sockets, listeners), or through its waker
// (TCPConn, whose blocked calls sleep on their request's own channel).
//
// Both the channel and the timer are made only when needed, so a socket
// that sets a deadline on every connection but never blocks past it pays
// for neither: the channel on the first call of done, the timer when a
// future deadline is set while someone could be waiting for it — the
// channel exists, or a caller is between block and unblock — or when
// either of those begins with a future deadline set. Without a timer,
// passed compares the deadline with the clock.
type deadline struct {
	mu    sync.Mutex
	when  time.Time // zero: no deadline
	timer *deadlineTimer
	// pool, when set (a TCPConn's), gives the timer and takes it back
	// at stop (deadlinetimer.go).
	pool    *timerPool
	c       chan struct{} // nil until done is called
	expired bool          // the deadline passed (c, if made, is closed)
	waiters int           // callers between block and unblock
	// w, if set, is woken when the deadline passes.
	w waker
	// armed is true while when is non-zero or expired: passed reads it
	// without the lock, so calls on a socket with no deadline take none.
	armed atomic.Bool
}

// A waker is told that a deadline passed. wake must not block.
type waker interface{ wake() }

// set moves the deadline to t (zero: none). It allocates nothing except
// the timer, the first time a future deadline must be timed (see
// deadline), and a fresh channel when a passed deadline whose channel was
// made is moved into the future or cleared.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.when = t
	defer func() { d.armed.Store(!d.when.IsZero() || d.expired) }()
	if d.timer != nil {
		d.timer.t.Stop() // a callback already running re-checks when
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
	d.arm(dur)
}

// arm starts the timer for dur from now if anyone could be waiting for
// the deadline (d.mu held).
func (d *deadline) arm(dur time.Duration) {
	if d.c == nil && d.waiters == 0 {
		return
	}
	if d.timer == nil {
		if d.pool != nil {
			d.timer = d.pool.get(d)
		} else {
			d.timer = newDeadlineTimer(d)
		}
	}
	d.timer.t.Reset(dur)
}

// fireFrom is the callback of dt, d's timer. It does nothing when d no
// longer owns dt (given back to the pool at stop). The timer may be stale
// (the deadline moved or was cleared after it fired but before this ran),
// so it looks at the deadline again; if the deadline is still ahead (a
// later one, or a clock reading slightly off the timer's) it re-arms.
func (d *deadline) fireFrom(dt *deadlineTimer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != dt || d.when.IsZero() || d.expired {
		return // a timer d no longer owns, or nothing to do
	}
	if dur := time.Until(d.when); dur > 0 {
		dt.t.Reset(dur)
		return
	}
	d.expire()
}

// expire marks the deadline passed: it closes the channel, if made, and
// wakes the waker (d.mu held).
func (d *deadline) expire() {
	if d.expired {
		return
	}
	d.expired = true
	if d.c != nil {
		close(d.c)
	}
	if d.w != nil {
		d.w.wake()
	}
}

func (d *deadline) reopen() {
	if d.expired {
		d.c = nil // made again, open, by the next done
		d.expired = false
	}
}

// start makes sure a deadline still ahead is timed now that someone may
// wait for it, and expires one that has passed (d.mu held).
func (d *deadline) start() {
	if d.when.IsZero() || d.expired {
		return
	}
	dur := time.Until(d.when)
	if dur <= 0 {
		d.expire()
		return
	}
	// The timer, if any, may have been stopped by a set while nobody
	// waited: time the deadline afresh.
	d.arm(dur)
}

// done returns the channel that is closed when the current deadline
// passes. A caller blocked on it keeps the right channel when the deadline
// is moved: an unexpired channel is reused.
func (d *deadline) done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		d.c = make(chan struct{})
		if d.expired {
			close(d.c)
			return d.c
		}
		d.start()
	}
	return d.c
}

// block tells the deadline that a caller is about to sleep until its
// waker is woken: from now until unblock, the deadline is timed. If it
// has already passed, the waker is woken at once.
func (d *deadline) block() {
	d.mu.Lock()
	d.waiters++
	d.start()
	d.mu.Unlock()
}

// unblock ends what block began.
func (d *deadline) unblock() {
	d.mu.Lock()
	d.waiters--
	d.mu.Unlock()
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
	// time.Until reads only the monotonic clock when d.when has a
	// monotonic reading (a deadline from time.Now().Add, as usual):
	// half the cost of time.Now, on every call while a deadline is set.
	if !d.when.IsZero() && time.Until(d.when) <= 0 {
		d.expire() // the timer has not run yet, or there is none
		return true
	}
	return false
}

// stop releases the timer (on close).
func (d *deadline) stop() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.t.Stop()
		if d.pool != nil {
			d.pool.put(d.timer)
			d.timer = nil
		}
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

// drain drops a pending wake-up: the caller is about to look for itself.
func drain(w *waitDir) {
	select {
	case <-w.token:
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
