package shard

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
)

// A goroutine borrows the loop of a parked shard, serves a frame and a
// task with Poll, and returns it; the parked Run goroutine then still
// handles what arrives after Return (a frame through the link Return
// armed, a task through Submit) and a timer the borrower armed earlier
// than the one Run sleeps on.
func TestBorrowParkedShard(t *testing.T) {
	for _, mode := range []Mode{Interrupt, Adaptive, Busy} {
		t.Run(mode.String(), func(t *testing.T) {
			l := newFakeLink(64)
			s := newTestShard(t, waitLink{l}, &echo{l: l}, Config{Mode: mode, SpinTime: 20 * time.Microsecond})
			if s.TryBorrow() {
				t.Fatal("TryBorrow succeeded on a shard that is not running")
			}
			cancel, errc := startRun(t, s)
			defer stopRun(t, cancel, errc)
			exercise(t, s, l) // Run is up and has parked at least once

			borrowSoon(t, s)
			// While borrowed, the loop is ours: a frame is echoed by
			// our Poll, not by Run.
			now := pollEcho(t, s, l, 7)
			if s.TryBorrow() {
				t.Fatal("TryBorrow took a loop that is already borrowed")
			}
			// A timer armed while borrowed, due long before anything Run
			// sleeps on: Return must get Run to fire it.
			fired := make(chan time.Duration, 1)
			var tm Timer
			tm.Init(chanTimer{fired})
			s.Wheel().Arm(&tm, now+5*time.Millisecond)
			s.Return()
			select {
			case <-fired:
			case <-time.After(failAfter):
				t.Fatal("timer armed by the borrower did not fire after Return")
			}
			// Frames and tasks after Return reach Run.
			exercise(t, s, l)
		})
	}
}

// Many goroutines borrow and submit at once: every task runs exactly once
// and Run keeps serving (with -race: the token orders all access).
func TestBorrowConcurrent(t *testing.T) {
	l := newFakeLink(256)
	s := newTestShard(t, waitLink{l}, &echo{l: l}, Config{SpinTime: 10 * time.Microsecond})
	cancel, errc := startRun(t, s)
	defer stopRun(t, cancel, errc)
	const workers, each = 4, 500
	task := &countTask{}
	done := make(chan struct{}, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for i := 0; i < each; i++ {
				if s.TryBorrow() {
					task.Run(s.clock.Now(), s.TX())
					s.Poll(s.clock.Now())
					s.Return()
					continue
				}
				for !s.Submit(task) {
					time.Sleep(10 * time.Microsecond)
				}
			}
			done <- struct{}{}
		}()
	}
	for w := 0; w < workers; w++ {
		recvWithin(t, "worker", done)
	}
	waitFor(t, "every task", func() bool { return task.n.Load() == workers*each })
	exercise(t, s, l)
}

// A shard whose link cannot wake it (no link.Waiter) is never borrowed:
// Return could not arm it for the sleeping Run goroutine.
func TestBorrowNeedsWaiter(t *testing.T) {
	l := newFakeLink(16)
	s := newTestShard(t, l, &echo{l: l}, Config{})
	cancel, errc := startRun(t, s)
	defer stopRun(t, cancel, errc)
	if s.TryBorrow() {
		t.Fatal("TryBorrow took a loop whose link has no Waiter")
	}
}

// exclusive is a handler that counts iterations which overlapped another
// one: two goroutines running the loop at once would both be inside
// EndBurst.
type exclusive struct {
	inside   atomic.Int32
	overlaps atomic.Int32
	ends     atomic.Int64
}

func (x *exclusive) Input(_ time.Duration, b *link.Buf, _ *TX) { b.Free() }

func (x *exclusive) EndBurst(time.Duration, *TX) {
	if x.inside.Add(1) != 1 {
		x.overlaps.Add(1)
	}
	for range 50 {
		if x.inside.Load() != 1 {
			x.overlaps.Add(1)
			break
		}
	}
	x.ends.Add(1)
	x.inside.Add(-1)
}

// A borrower that races Run's start never shares the loop with it: the
// token is taken while the shard is not running, and Run frees it only
// once it runs (it used to free it after announcing that it runs, so a
// borrow that came in between was silently cancelled and both iterated).
func TestBorrowAtRunStart(t *testing.T) {
	const rounds = 200
	for r := 0; r < rounds; r++ {
		l := newFakeLink(8)
		x := &exclusive{}
		s := newTestShard(t, waitLink{l}, x, Config{SpinTime: 20 * time.Microsecond})
		cancel, errc := startRun(t, s)
		borrowed := false
		for i := 0; i < 100000 && !borrowed; i++ {
			borrowed = s.TryBorrow()
		}
		if borrowed {
			now := s.clock.Now()
			for range 20 {
				s.Poll(now)
			}
			s.Return()
		}
		stopRun(t, cancel, errc)
		if n := x.overlaps.Load(); n != 0 {
			t.Fatalf("round %d: %d loop iterations overlapped another", r, n)
		}
	}
}

// A borrower that gives the loop back with ReturnSoon (the link left
// unarmed) must not strand a frame that arrives afterwards: Run looks
// within the grace it was given. Round after round, a frame injected
// after ReturnSoon is echoed by Run, well within a bound. (The stall this
// guards against showed in the whole stack under -race, about once in a
// few hundred runs of TestGSOReadWriteAllocs; this fake link has not
// reproduced it, so this test states the contract rather than the bug.)
func TestReturnSoonFrameAfterReturn(t *testing.T) {
	l := newFakeLink(64)
	s := newTestShard(t, waitLink{l}, &echo{l: l}, Config{SpinTime: 5 * time.Microsecond})
	cancel, errc := startRun(t, s)
	defer stopRun(t, cancel, errc)
	exercise(t, s, l)
	const rounds = 300
	for r := 0; r < rounds; r++ {
		ok := false
		for i := 0; i < 10000 && !ok; i++ {
			ok = s.TryBorrow()
			if !ok {
				time.Sleep(10 * time.Microsecond)
			}
		}
		if !ok {
			t.Fatalf("round %d: TryBorrow never took the loop", r)
		}
		now := s.clock.Now()
		s.Poll(now)
		s.ReturnSoon(now, 50*time.Microsecond)
		before := l.nsent.Load()
		l.inject(l.frame(byte(r)))
		deadline := time.Now().Add(time.Second)
		for l.nsent.Load() == before {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: a frame that came after ReturnSoon waited 1 s (stats %+v)", r, s.Stats())
			}
			time.Sleep(20 * time.Microsecond)
		}
	}
}

// TestIdleYieldsAfterWoke: a borrower's Idle fills the transmit buffer
// cache and yields at once after a Poll that woke a goroutine; without a
// wake-up, with the clock frozen, it does not yield again.
func TestIdleYieldsAfterWoke(t *testing.T) {
	l := newFakeLink(64)
	s := newTestShard(t, waitLink{l}, &echo{l: l}, Config{Mode: Interrupt, Clock: frozenClock{}})
	cancel, errc := startRun(t, s)
	defer stopRun(t, cancel, errc)
	borrowSoon(t, s)
	now := s.clock.Now()
	s.Idle(now) // the first: the interval is up since the clock's epoch
	base := s.Stats().Yields
	for range 5 {
		s.Poll(now)
		s.Idle(now)
	}
	if got := s.Stats().Yields; got != base {
		t.Errorf("idle borrower yielded %d times with the clock frozen, want 0", got-base)
	}
	if l.pool.Cached() == 0 {
		t.Error("Idle left the transmit buffer cache empty")
	}
	woke := &wokeTask{woke: true, done: make(chan struct{}, 1)}
	if !s.Submit(woke) {
		t.Fatal("Submit refused")
	}
	s.Poll(now) // runs the task, which calls TX.Woke
	<-woke.done
	s.Idle(now)
	if got := s.Stats().Yields; got != base+1 {
		t.Errorf("after a Poll that woke a goroutine: %d yields, want 1", got-base)
	}
	s.Return()
}

// borrowSoon takes the loop of a running shard, retrying while Run holds
// it (bounded).
func borrowSoon(t *testing.T, s *Shard) {
	t.Helper()
	for range 1000 {
		if s.TryBorrow() {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
	t.Fatal("TryBorrow never took the loop")
}

// pollEcho injects a frame and polls the borrowed loop until the handler
// has echoed it (bounded); it returns the time it polled at.
func pollEcho(t *testing.T, s *Shard, l *fakeLink, tag byte) time.Duration {
	t.Helper()
	before := l.nsent.Load()
	l.inject(l.frame(tag))
	now := s.clock.Now()
	for i := 0; i < 100 && l.nsent.Load() == before; i++ {
		s.Poll(now)
	}
	if l.nsent.Load() == before {
		t.Fatal("the borrower's Poll did not echo the frame")
	}
	return now
}
