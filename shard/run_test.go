package shard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
)

// failAfter is the limit for anything that should happen "soon"; tests
// never assert speed, only that it happens before this.
const failAfter = 5 * time.Second

// countTask counts its runs and signals done on each.
type countTask struct {
	n    atomic.Int32
	done chan struct{}
}

func (c *countTask) Run(now time.Duration, tx *TX) {
	c.n.Add(1)
	if c.done != nil {
		select {
		case c.done <- struct{}{}:
		default:
		}
	}
}

// armTask arms a timer on the shard's wheel from inside the shard.
type armTask struct {
	s     *Shard
	t     *Timer
	after time.Duration
}

func (a *armTask) Run(now time.Duration, tx *TX) { a.s.Wheel().Arm(a.t, now+a.after) }

type chanTimer struct{ c chan time.Duration }

func (c chanTimer) OnTimer(now time.Duration, tx *TX) {
	select {
	case c.c <- now:
	default:
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(failAfter)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func recvWithin(t *testing.T, what string, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(failAfter):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func startRun(t *testing.T, s *Shard) (cancel func(), errc chan error) {
	ctx, cancelCtx := context.WithCancel(context.Background())
	errc = make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	return cancelCtx, errc
}

func stopRun(t *testing.T, cancel func(), errc chan error) {
	t.Helper()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(failAfter):
		t.Fatal("Run did not return after cancel")
	}
}

// exercise checks that a running shard echoes frames and runs tasks and
// timers.
func exercise(t *testing.T, s *Shard, l *fakeLink) {
	t.Helper()
	for i := range 3 {
		before := l.nsent.Load()
		l.inject(l.frame(byte(i)))
		waitFor(t, fmt.Sprintf("echo of frame %d", i), func() bool { return l.nsent.Load() > before })
	}
	task := &countTask{done: make(chan struct{}, 1)}
	if !s.Submit(task) {
		t.Fatal("Submit refused")
	}
	recvWithin(t, "task", task.done)
	fired := make(chan time.Duration, 1)
	var tm Timer
	tm.Init(chanTimer{fired})
	s.Submit(&armTask{s: s, t: &tm, after: 3 * time.Millisecond})
	select {
	case <-fired:
	case <-time.After(failAfter):
		t.Fatal("timer did not fire")
	}
}

func TestRunModes(t *testing.T) {
	for _, mode := range []Mode{Busy, Adaptive, Interrupt} {
		t.Run(mode.String(), func(t *testing.T) {
			l := newFakeLink(64)
			s := newTestShard(t, waitLink{l}, &echo{l: l}, Config{Mode: mode})
			cancel, errc := startRun(t, s)
			exercise(t, s, l)
			if mode == Interrupt {
				waitFor(t, "an idle interrupt-mode shard to park", func() bool { return s.Stats().Parks > 0 })
			}
			stopRun(t, cancel, errc)
			if st := s.Stats(); mode == Busy && st.Parks != 0 {
				t.Errorf("busy mode parked: %+v", st)
			}
			if l.pool.InUse() != 0 {
				t.Errorf("%d buffers leaked", l.pool.InUse())
			}
		})
	}
}

func TestRunAdaptiveParksAndWakes(t *testing.T) {
	l := newFakeLink(64)
	s := newTestShard(t, waitLink{l}, &echo{l: l}, Config{SpinTime: 200 * time.Microsecond})
	cancel, errc := startRun(t, s)
	defer stopRun(t, cancel, errc)
	parked := func() bool { return s.sleeping.Load() }

	waitFor(t, "first park", func() bool { return s.Stats().Parks > 0 })
	p0 := s.Stats().Parks
	// Wake on a link frame.
	l.inject(l.frame(1))
	waitFor(t, "echo", func() bool { return l.nsent.Load() == 1 })
	waitFor(t, "park after frame", func() bool { return parked() && s.Stats().Parks > p0 })
	// Wake on Submit.
	p1 := s.Stats().Parks
	task := &countTask{done: make(chan struct{}, 1)}
	s.Submit(task)
	recvWithin(t, "task after park", task.done)
	waitFor(t, "park after task", func() bool { return parked() && s.Stats().Parks > p1 })
	// Wake on a timer armed while parked... via a task, then park again
	// until the timer wakes the shard.
	fired := make(chan time.Duration, 1)
	var tm Timer
	tm.Init(chanTimer{fired})
	s.Submit(&armTask{s: s, t: &tm, after: 20 * time.Millisecond})
	select {
	case <-fired:
	case <-time.After(failAfter):
		t.Fatal("timer did not wake the parked shard")
	}
	st := s.Stats()
	if st.Wakeups < 3 || st.Parks < 3 {
		t.Errorf("stats %+v: want at least 3 parks and wake-ups", st)
	}
}

func TestRunClose(t *testing.T) {
	for _, mode := range []Mode{Busy, Adaptive, Interrupt} {
		l := newFakeLink(8)
		s := newTestShard(t, waitLink{l}, &echo{l: l}, Config{Mode: mode})
		errc := make(chan error, 1)
		go func() { errc <- s.Run(context.Background()) }()
		waitFor(t, "running", func() bool { return s.running.Load() })
		if err := s.Run(context.Background()); !errors.Is(err, ErrRunning) {
			t.Errorf("%v: second Run = %v, want ErrRunning", mode, err)
		}
		s.Close()
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%v: Run = %v, want ErrClosed", mode, err)
			}
		case <-time.After(failAfter):
			t.Fatalf("%v: Run did not return after Close", mode)
		}
	}
}

// A link with neither Waiter nor fd is polled every PollInterval.
func TestRunPlainLinkPolled(t *testing.T) {
	l := newFakeLink(64)
	s := newTestShard(t, l, &echo{l: l}, Config{Mode: Interrupt})
	cancel, errc := startRun(t, s)
	exercise(t, s, l)
	stopRun(t, cancel, errc)
}

func TestSubmitConcurrent(t *testing.T) {
	l := newFakeLink(8)
	s := newTestShard(t, waitLink{l}, &echo{l: l}, Config{InboxSize: 64, SpinTime: 20 * time.Microsecond})
	cancel, errc := startRun(t, s)
	const producers, each = 8, 500
	tasks := make([]countTask, producers*each)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				tk := &tasks[p*each+i]
				deadline := time.Now().Add(failAfter)
				for !s.Submit(tk) {
					if time.Now().After(deadline) {
						t.Error("inbox stayed full")
						return
					}
					time.Sleep(10 * time.Microsecond)
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, "all tasks", func() bool { return s.Stats().TasksRun == producers*each })
	stopRun(t, cancel, errc)
	for i := range tasks {
		if n := tasks[i].n.Load(); n != 1 {
			t.Fatalf("task %d ran %d times", i, n)
		}
	}
}

// The shard steps without allocating, idle or moving a burst.
func TestStepZeroAlloc(t *testing.T) {
	l := newFakeLink(256)
	s := newTestShard(t, waitLink{l}, &echo{l: l}, Config{Burst: 32})
	var tm selfRearm
	tm.w, tm.period = s.Wheel(), 3*time.Millisecond
	tm.Init(&tm)
	s.Wheel().Arm(&tm.Timer, time.Millisecond)
	now := time.Duration(0)
	if a := testing.AllocsPerRun(500, func() {
		now += 100 * time.Microsecond
		s.Step(now)
	}); a != 0 {
		t.Errorf("idle Step: %v allocs", a)
	}
	frames := make([]*link.Buf, 32)
	task := &countTask{}
	if a := testing.AllocsPerRun(500, func() {
		for i := range frames {
			frames[i] = l.frame(byte(i))
		}
		l.inject(frames...)
		s.Submit(task)
		now += 100 * time.Microsecond
		s.Step(now)
	}); a != 0 {
		t.Errorf("burst Step: %v allocs", a)
	}
	if s.Stats().TxFrames < 500*32 || l.pool.InUse() != 0 {
		t.Errorf("stats %+v, in use %d", s.Stats(), l.pool.InUse())
	}
}

func BenchmarkStepIdle(b *testing.B) {
	l := newFakeLink(64)
	s := newTestShard(b, waitLink{l}, &echo{l: l}, Config{})
	b.ReportAllocs()
	now := time.Duration(0)
	for b.Loop() {
		now += time.Microsecond
		s.Step(now)
	}
}

// BenchmarkStepBurst: one iteration receiving and echoing 32 frames.
func BenchmarkStepBurst(b *testing.B) {
	l := newFakeLink(256)
	s := newTestShard(b, waitLink{l}, &echo{l: l}, Config{Burst: 32})
	frames := make([]*link.Buf, 32)
	b.ReportAllocs()
	now := time.Duration(0)
	for b.Loop() {
		for i := range frames {
			frames[i] = l.frame(byte(i))
		}
		l.inject(frames...)
		now += time.Microsecond
		s.Step(now)
	}
	b.ReportMetric(32, "frames/op")
}

// BenchmarkSubmitWake: a task submitted from another goroutine and its
// completion signalled back (a full cross-goroutine round trip), with the
// shard in Adaptive mode.
func BenchmarkSubmitWake(b *testing.B) {
	for _, mode := range []Mode{Adaptive, Interrupt} {
		b.Run(mode.String(), func(b *testing.B) {
			l := newFakeLink(8)
			s := newTestShard(b, waitLink{l}, &echo{l: l}, Config{Mode: mode})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			task := &countTask{done: make(chan struct{}, 1)}
			b.ReportAllocs()
			for b.Loop() {
				for !s.Submit(task) {
				}
				<-task.done
			}
			cancel()
			<-done
		})
	}
}

// The park timer stays armed from one park to the next; a deadline that
// moves earlier while the shard is parked must still wake it on time,
// and one that moves later must not fire early (a spurious wake-up would
// be allowed, a missed one not).
func TestRunParkTimerRetargeted(t *testing.T) {
	l := newFakeLink(64)
	s := newTestShard(t, waitLink{l}, &echo{l: l}, Config{Mode: Interrupt})
	cancel, errc := startRun(t, s)
	defer stopRun(t, cancel, errc)
	far := make(chan time.Duration, 1)
	var tFar Timer
	tFar.Init(chanTimer{far})
	s.Submit(&armTask{s: s, t: &tFar, after: time.Hour})
	waitFor(t, "park with the far timer", func() bool { return s.sleeping.Load() && s.Stats().TasksRun == 1 })
	for i := range 3 {
		near := make(chan time.Duration, 1)
		var tNear Timer
		tNear.Init(chanTimer{near})
		s.Submit(&armTask{s: s, t: &tNear, after: time.Duration(5+5*i) * time.Millisecond})
		select {
		case <-near:
		case <-far:
			t.Fatal("the one-hour timer fired")
		case <-time.After(failAfter):
			t.Fatalf("round %d: a timer armed while parked did not wake the shard", i)
		}
	}
}

// frozenClock never advances: a spinning Run's periodic yield (yieldEvery
// since the last) then never comes due after the first.
type frozenClock struct{}

func (frozenClock) Now() time.Duration { return time.Second }

// wokeTask runs on the shard and, when woke is set, reports that it made a
// goroutine runnable.
type wokeTask struct {
	woke bool
	done chan struct{}
}

func (w *wokeTask) Run(_ time.Duration, tx *TX) {
	if w.woke {
		tx.Woke()
	}
	w.done <- struct{}{}
}

// TestRunYieldsAfterWoke: a spinning Run gives up its processor after an
// iteration that called TX.Woke and not after one that only did work.
func TestRunYieldsAfterWoke(t *testing.T) {
	for _, mode := range []Mode{Busy, Adaptive} {
		t.Run(mode.String(), func(t *testing.T) {
			l := newFakeLink(64)
			s := newTestShard(t, waitLink{l}, &echo{l: l}, Config{Mode: mode, Clock: frozenClock{}})
			cancel, errc := startRun(t, s)
			defer stopRun(t, cancel, errc)
			// The first look at the clock yields (nothing yielded before);
			// wait for it, then the count must move only with Woke.
			waitFor(t, "the first periodic yield", func() bool { return s.Stats().Yields >= 1 })
			base := s.Stats().Yields
			plain := &wokeTask{done: make(chan struct{}, 1)}
			for range 5 {
				if !s.Submit(plain) {
					t.Fatal("Submit refused")
				}
				recvWithin(t, "a task that did work", plain.done)
			}
			woke := &wokeTask{woke: true, done: make(chan struct{}, 1)}
			if !s.Submit(woke) {
				t.Fatal("Submit refused")
			}
			recvWithin(t, "a task that woke a goroutine", woke.done)
			waitFor(t, "the yield after Woke", func() bool { return s.Stats().Yields > base })
			if got := s.Stats().Yields; got != base+1 {
				t.Errorf("Yields went from %d to %d over 5 iterations with work and 1 with Woke, want +1", base, got)
			}
		})
	}
}

// TestRunCachesBuffers: a spinning loop takes buffers ahead of need
// (TX.Get hands them out), and gives them back before it parks and when
// Run returns, so an idle stack holds none.
func TestRunCachesBuffers(t *testing.T) {
	l := newFakeLink(64)
	s := newTestShard(t, waitLink{l}, &echo{l: l}, Config{Mode: Busy})
	cancel, errc := startRun(t, s)
	waitFor(t, "the spinning loop to fill its cache", func() bool { return l.pool.Cached() == link.CacheSize })
	exercise(t, s, l)
	stopRun(t, cancel, errc)
	if l.pool.Cached() != 0 || l.pool.InUse() != 0 {
		t.Fatalf("after Run: Cached=%d InUse=%d, want 0, 0", l.pool.Cached(), l.pool.InUse())
	}

	s = newTestShard(t, waitLink{l}, &echo{l: l}, Config{Mode: Adaptive, SpinTime: 100 * time.Microsecond})
	cancel, errc = startRun(t, s)
	defer stopRun(t, cancel, errc)
	waitFor(t, "an idle adaptive loop to park", func() bool { return s.Stats().Parks > 0 })
	if l.pool.Cached() != 0 {
		t.Fatalf("parked with %d buffers cached", l.pool.Cached())
	}
	// TX.Get serves from the cache first, then from the pool.
	done := make(chan *link.Buf, 1)
	if !s.Submit(funcTask(func(_ time.Duration, tx *TX) { done <- tx.Get() })) {
		t.Fatal("Submit refused")
	}
	var b *link.Buf
	select {
	case b = <-done:
	case <-time.After(failAfter):
		t.Fatal("the task did not run")
	}
	if b == nil || b.Len() != 0 || b.Pool() != l.pool {
		t.Fatalf("TX.Get = %v", b)
	}
	b.Free()
}

// funcTask is a Task that runs a function.
type funcTask func(now time.Duration, tx *TX)

func (f funcTask) Run(now time.Duration, tx *TX) { f(now, tx) }

// stepClock advances by step on every reading.
type stepClock struct{ t, step time.Duration }

func (c *stepClock) Now() time.Duration { c.t += c.step; return c.t }

// TestYielderBacksOff: idle yields that return at once double the
// interval up to yieldEveryMax; a yield during which something else ran
// (it took yieldRan or more) brings it back to yieldEvery and makes work
// yield at once. A Woke yields whatever the interval.
func TestYielderBacksOff(t *testing.T) {
	c := &stepClock{}
	var n atomic.Uint64
	y := yielder{every: yieldEvery, clock: c, n: &n}
	now := time.Duration(0)
	var got []time.Duration
	for range 6 {
		now = y.last + y.every
		c.t = now
		y.after(false, false, now)
		got = append(got, y.every)
	}
	want := []time.Duration{2 * yieldEvery, 4 * yieldEvery, 8 * yieldEvery, yieldEveryMax, yieldEveryMax, yieldEveryMax}
	if 8*yieldEvery != yieldEveryMax {
		t.Fatalf("test assumes yieldEveryMax = 8 * yieldEvery")
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("intervals after quick yields = %v, want %v", got, want)
		}
	}
	// Not due: no yield.
	before := n.Load()
	y.after(false, false, y.last+y.every-1)
	if n.Load() != before {
		t.Fatal("yielded before the interval was up")
	}
	// Woke: a yield at once; this one took yieldRan, so the interval
	// drops back.
	c.step = yieldRan
	now = y.last + 1
	c.t = now
	y.after(true, false, now)
	if n.Load() != before+1 || y.every != yieldEvery {
		t.Fatalf("after a Woke yield that took %v: %d yields, interval %v; want %d, %v", yieldRan, n.Load()-before, y.every, 1, yieldEvery)
	}
	// That yield let something else run (the P is shared): an iteration
	// that did work yields at once, for the peer shard that may be
	// waiting on this P for what it sent. Once a yield comes back
	// quickly, work alone no longer yields.
	c.step = 0
	now = y.last + 1
	c.t = now
	y.after(false, true, now)
	if n.Load() != before+2 {
		t.Fatal("work on a shared P did not yield at once")
	}
	now = y.last + 1
	c.t = now
	y.after(false, true, now)
	if n.Load() != before+2 {
		t.Fatal("work yielded at once after a yield that found nothing else to run")
	}
}
