package ustack

import (
	"testing"
	"time"
)

// chanWaker records a deadline's wake-up.
type chanWaker chan struct{}

func (c chanWaker) wake() {
	select {
	case c <- struct{}{}:
	default:
	}
}

// TestDeadlineTimerPooled: a deadline's timer goes back to the pool at
// stop and serves the next deadline, which it then fires; a callback of
// the timer's old owner cannot expire the new one.
func TestDeadlineTimerPooled(t *testing.T) {
	var pool timerPool
	w1 := make(chanWaker, 1)
	d1 := &deadline{pool: &pool, w: w1}
	d1.set(time.Now().Add(time.Millisecond))
	d1.block() // a caller sleeps: the deadline is timed
	select {
	case <-w1:
	case <-time.After(10 * time.Second):
		t.Fatal("the first deadline's timer never fired")
	}
	d1.unblock()
	dt := d1.timer
	if dt == nil {
		t.Fatal("no timer after a timed wait")
	}
	d1.stop()
	if d1.timer != nil || len(pool.free) != 1 || pool.free[0] != dt {
		t.Fatalf("stop did not give the timer back: d1.timer=%p pool=%v", d1.timer, pool.free)
	}

	// The next deadline takes the same timer, allocating nothing for it.
	w2 := make(chanWaker, 1)
	d2 := &deadline{pool: &pool, w: w2}
	d2.set(time.Now().Add(time.Hour))
	if n := testing.AllocsPerRun(1, func() { d2.block(); d2.unblock() }); n != 0 {
		t.Errorf("a timed wait with a pooled timer: %v allocations", n)
	}
	d2.block()
	if d2.timer != dt {
		t.Fatalf("d2 got timer %p, want the pooled %p", d2.timer, dt)
	}
	// A late callback of the old owner, and one of d2's own timer before
	// its deadline: neither expires d2.
	d1.fireFrom(dt)
	dt.fire()
	if d2.passed() {
		t.Fatal("a stale callback expired a deadline an hour ahead")
	}
	select {
	case <-w2:
		t.Fatal("d2 woken an hour early")
	default:
	}
	// Moved near, it fires on the pooled timer.
	d2.set(time.Now().Add(time.Millisecond))
	select {
	case <-w2:
	case <-time.After(10 * time.Second):
		t.Fatal("the pooled timer never fired for its new owner")
	}
	d2.unblock()
	d2.stop()
}

// TestTimerPoolBounded: the pool keeps at most timerPoolMax timers.
func TestTimerPoolBounded(t *testing.T) {
	var pool timerPool
	d := &deadline{}
	for range timerPoolMax + 10 {
		pool.put(newDeadlineTimer(d))
	}
	if len(pool.free) != timerPoolMax {
		t.Fatalf("pool holds %d timers, want %d", len(pool.free), timerPoolMax)
	}
}
