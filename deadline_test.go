package ustack

import (
	"errors"
	"os"
	"testing"
	"time"
)

func newWaitDir() *waitDir {
	w := new(waitDir)
	w.init()
	return w
}

func TestDeadlinePastFailsAtOnce(t *testing.T) {
	w := newWaitDir()
	w.set(time.Now().Add(-time.Second))
	if !w.passed() {
		t.Fatal("a deadline in the past has not passed")
	}
	if err := w.wait(nil, nil); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("wait: %v", err)
	}
	// A pending wake-up does not hide a passed deadline from passed().
	w.wake()
	if !w.passed() {
		t.Fatal("passed() false with a wake-up pending")
	}
}

func TestDeadlineZeroMeansNone(t *testing.T) {
	w := newWaitDir()
	w.set(time.Now().Add(-time.Second))
	w.set(time.Time{})
	if w.passed() {
		t.Fatal("cleared deadline reported as passed")
	}
	select {
	case <-w.done():
		t.Fatal("cleared deadline's channel is closed")
	default:
	}
}

// Timers that fire for a deadline that was since moved later must not
// expire the later one; the later one must still expire.
func TestDeadlineStaleTimer(t *testing.T) {
	w := newWaitDir()
	w.set(time.Now().Add(time.Millisecond))
	w.set(time.Now().Add(80 * time.Millisecond))
	c := w.done()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-c:
		t.Fatal("deadline expired by the first, superseded timer")
	default:
	}
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatal("moved deadline never expired")
	}
	if !w.passed() {
		t.Fatal("passed() false after expiry")
	}
	// Moving an expired deadline into the future gives a fresh channel.
	w.set(time.Now().Add(time.Hour))
	if w.passed() {
		t.Fatal("deadline an hour ahead reported as passed")
	}
	select {
	case <-w.done():
		t.Fatal("fresh deadline's channel is closed")
	default:
	}
}

func TestWaitWakeAndClose(t *testing.T) {
	w := newWaitDir()
	w.wake()
	w.wake() // collapses into the first
	if err := w.wait(nil, nil); err != nil {
		t.Fatalf("wait after wake: %v", err)
	}
	closed := make(chan struct{})
	close(closed)
	if err := w.wait(nil, closed); !errors.Is(err, errClosed) {
		t.Fatalf("wait on a closed socket: %v", err)
	}
}

// A wakeList wakes each direction once however often it was added, and
// nothing before flush.
func TestWakeListBatches(t *testing.T) {
	var l wakeList
	a, b := newWaitDir(), newWaitDir()
	for range 5 {
		l.add(a)
		l.add(b)
	}
	if len(l.ws) != 2 {
		t.Fatalf("%d entries queued, want 2", len(l.ws))
	}
	select {
	case <-a.token:
		t.Fatal("woken before flush")
	default:
	}
	l.flush()
	for _, w := range []*waitDir{a, b} {
		select {
		case <-w.token:
		default:
			t.Fatal("not woken by flush")
		}
		select {
		case <-w.token:
			t.Fatal("woken twice")
		default:
		}
	}
	l.add(a) // can be queued again after a flush
	if len(l.ws) != 1 {
		t.Fatal("not re-queued after flush")
	}
}

func TestDeadlineSetAllocs(t *testing.T) {
	w := newWaitDir()
	w.set(time.Now().Add(time.Hour)) // makes the timer
	allocs := testing.AllocsPerRun(100, func() {
		w.set(time.Now().Add(time.Hour))
		_ = w.passed()
		w.wake()
		_ = w.wait(nil, nil)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per set/wake/wait, want 0", allocs)
	}
}
