package shard

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// checkEvery is how many iterations a spinning loop runs between looks at
// ctx and Close (an atomic load and a non-blocking channel receive).
const checkEvery = 64

// Run drives the shard on the calling goroutine until ctx is done (it
// returns ctx.Err()) or Close is called (ErrClosed), waiting for work as
// Config.Mode says. Frames still queued for TX are flushed once on the way out
// and, after Close, freed.
func (s *Shard) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer s.running.Store(false)
	if s.waiter == nil {
		if fd := s.link.Fd(); fd >= 0 {
			if w := newFdWaiter(fd, s.linkWake); w != nil {
				// Set while the token is still taken, so every borrower
				// sees it; removed after lockForExit, when none can hold
				// the loop.
				s.fdw.Store(w)
				defer func() {
					s.fdw.Store(nil)
					w.close()
				}()
			}
		}
	}
	// Free the token, taken since New or since the last Run returned. A
	// borrower that saw running set before this store found it taken
	// and failed or spun; it cannot hold it here.
	s.owner.Store(0)
	var err error
	if s.cfg.Mode == Busy {
		err = s.runBusy(ctx)
	} else {
		err = s.runPark(ctx)
	}
	// The token stays taken once Run has returned: nothing borrows a
	// loop that is not running.
	s.lockForExit()
	s.timer.Stop()
	s.timerSet = false
	s.tx.flush()
	s.tx.cache.Drain()
	s.publishIters()
	if s.closed.Load() {
		s.tx.drop()
	}
	return err
}

func (s *Shard) stopped(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	default:
		return nil
	}
}

func (s *Shard) runBusy(ctx context.Context) error {
	y := newYielder(s)
	for i := 0; ; i++ {
		if i%checkEvery == 0 {
			if err := s.stopped(ctx); err != nil {
				return err
			}
		}
		if !s.acquire() {
			// Busy mode does not sleep while the loop is borrowed
			// either: it waits for the token, yielding the processor
			// (the borrower may want it). Sleeping here (parkBorrowed,
			// as the other modes do) cost a goroutine park and wake-up
			// per borrow: net.Conn under busy polling ran at half its
			// adaptive throughput and a third of its connections per
			// second.
			runtime.Gosched()
			continue
		}
		now := s.clock.Now()
		work := s.iterate(now) || s.more
		if !work {
			s.probe()
		}
		woke := s.tx.takeWoke()
		s.release()
		y.after(woke, work, now)
	}
}

// probeSpins is how many cheap looks an idle spinning shard takes at its
// link and inbox before it runs a full loop iteration again.
const probeSpins = 8

// rxPeeker is implemented by links that can tell, for the cost of an
// atomic load, whether Recv would return a frame (link/mem).
type rxPeeker interface{ RxPending() bool }

// probe spins on the link and the inbox until either has work or
// probeSpins looks have found none. An idle loop iteration reads the
// clock, polls the link, the inbox and the timer wheel and runs the
// handler's EndBurst (a few hundred ns); a look costs two atomic loads,
// so a frame that arrives while the shard spins is seen sooner. Between
// looks it tops up the TX's cache of buffers (TX.Get) one buffer at a
// time, so a frame that arrives meanwhile waits for one Pool.Get at
// most (taking all four at once cost cps-1 ~5% on 2 cores). Timers
// wait at most probeSpins looks longer. Links without RxPending get no
// probe: only a full iteration can see their frames.
func (s *Shard) probe() {
	if s.peek == nil {
		s.tx.cache.FillOne()
		return
	}
	for range probeSpins {
		if s.peek.RxPending() || s.in.ready() {
			return
		}
		s.tx.cache.FillOne()
	}
}

// yieldEvery is how long a spinning shard polls an idle link between
// yields of its processor while other goroutines want it; yieldEveryMax
// when its yields find nothing else to run. A yield that took yieldRan or
// longer let something else run (on 2 cores, a Gosched with nothing else
// runnable takes ~120 ns at p50, ~250 ns at p90).
const (
	yieldEvery    = 500 * time.Nanosecond
	yieldEveryMax = 4 * time.Microsecond
	yieldRan      = 500 * time.Nanosecond
)

// yielder decides when a spinning shard gives its P to other goroutines
// (runtime.Gosched). A shard that spins shares the Go scheduler with the
// application and, when several stacks run in one process, with other
// shards; on a small GOMAXPROCS every P may be spinning. Yielding on
// every idle poll (what the loop first did) costs a trip through the
// global run queue and its lock per poll, with both shards of a pair
// contending for it, and lets a P run dry and its thread sleep in the
// kernel (~20 µs to wake on a small VM). Instead a shard yields:
//   - after an iteration that readied a goroutine (TX.Woke: a completed
//     socket Read or Write, a woken Accept), which waits in this P's run
//     queue until the shard yields; the yield costs nothing on the
//     critical path because the frames of the iteration have already
//     left. Yielding after every iteration that did work (what the loop
//     did before) cost the event API's round trip ~7% at p50 and ~25% at
//     p99 on 2 cores: each yield is a lock of the global run queue, and
//     the shards of a pair trade processors through it. Except when the
//     P is shared (the last yield let something else run, as when the
//     scheduler puts both shards of a pair on one P, or on GOMAXPROCS=1):
//     then an iteration that did work yields at once, so the peer handles
//     what it sent without waiting out an interval (the event API's round
//     trip on one processor: ~1.55 µs without, ~1.2 µs with);
//   - every yieldEvery of idle polling while something else wants the
//     P, so that it (a timer's goroutine, another shard) waits well under
//     a microsecond, not until the runtime's 10 ms preemption. The two
//     shards of a link/mem pair often share one P for a while (a P that
//     takes both from the global run queue), and then this is the delay
//     each hop pays. 0.5 µs measured best of 0 (every idle iteration),
//     0.5, 1, 2 and 5 µs on 2 cores: yielding on every idle iteration
//     cost net.Conn round trips ~30%, 2 µs and more cost event round
//     trips when the shards shared a P. A shard whose yields return at
//     once (nothing else ran) doubles its interval up to yieldEveryMax;
//     one that took yieldRan or more goes back to yieldEvery. A Gosched
//     costs ~0.3 µs on average, so at 0.5 µs a spinning shard spent about
//     a fifth of its time yielding, and a frame arriving meanwhile
//     waited; backing off took the event API's round trip from ~1.8 to
//     ~1.6 µs p50 and its p99 from ~5 to ~3 µs on 2 cores.
//
// Busy mode does not lock the goroutine to its OS thread: a locked
// goroutine that yields hands its P to another thread and sleeps in the
// kernel until it is scheduled again (two futex round trips per yield),
// which made busy mode the slowest mode on 2 cores (event RTT ~29 µs,
// net.Conn RTT ~85 µs against adaptive's ~6 and ~20).
type yielder struct {
	last  time.Duration
	every time.Duration // the idle interval now: yieldEvery..yieldEveryMax
	// shared: the last yield took yieldRan or more, so other goroutines
	// want this P (perhaps the peer shard, when the Go scheduler has put
	// both shards of a pair on one P).
	shared bool
	clock  Clock
	n      *atomic.Uint64 // Stats.Yields
}

func newYielder(s *Shard) yielder {
	return yielder{every: yieldEvery, clock: s.clock, n: &s.st.yields}
}

// after is called after each of Run's iterations (work: it did some; woke:
// it called TX.Woke) and after each idle Poll of a borrower.
func (y *yielder) after(woke, work bool, now time.Duration) {
	if !woke && !(work && y.shared) && now-y.last < y.every {
		return
	}
	y.n.Add(1)
	runtime.Gosched()
	y.last = y.clock.Now()
	y.shared = y.last-now >= yieldRan
	if y.shared {
		y.every = yieldEvery // something else ran: keep its waits short
	} else if y.every < yieldEveryMax {
		y.every *= 2
	}
}

// runPark is Adaptive and Interrupt mode.
func (s *Shard) runPark(ctx context.Context) error {
	spin := s.cfg.SpinTime
	if s.cfg.Mode == Interrupt {
		spin = 0
	}
	idle := false
	var idleSince time.Duration
	y := newYielder(s)
	for i := 0; ; i++ {
		if i%checkEvery == 0 {
			if err := s.stopped(ctx); err != nil {
				return err
			}
		}
		if !s.acquire() {
			s.parkBorrowed(ctx, s.lastLink)
			idle = false
			i = -1
			continue
		}
		s.lastLink = false
		now := s.clock.Now()
		if s.napEnded(s.iterate(now)) || s.more {
			woke := s.tx.takeWoke()
			s.release()
			idle = false
			if spin > 0 {
				y.after(woke, true, now)
			}
			continue
		}
		if !idle {
			idle, idleSince = true, now
		}
		if now-idleSince < spin {
			s.probe()
			woke := s.tx.takeWoke()
			s.release()
			y.after(woke, false, now)
			continue
		}
		if err := s.park(ctx, now); err != nil {
			return err
		}
		idle = false
		i = -1 // look at ctx/Close right after waking
	}
}

// park blocks until a frame, a task, the next timer, ctx or Close. It
// returns at once, without counting a park, when work is already there.
func (s *Shard) park(ctx context.Context, now time.Duration) error {
	// The token is held on entry (Run's iteration) and released on every
	// way out: the link is armed and the deadline read while it is held.
	held := true
	defer func() {
		if held {
			s.release()
		}
	}()
	wait := time.Duration(-1) // no timeout
	if d, ok := s.wheel.Next(); ok {
		if wait = d - now; wait <= 0 {
			return nil
		}
	}
	if s.tx.Pending() > 0 {
		wait = minWait(wait, s.cfg.TxRetryDelay)
	}
	// Drop stale wake-ups.
	select {
	case <-s.inboxWake:
	default:
	}
	var linkC <-chan struct{}
	if w := s.linkWaiter(); w != nil {
		select {
		case <-s.linkWake:
		default:
		}
		if !w.Arm(s.linkWake) {
			s.sleeping.Store(false)
			return nil
		}
		linkC = s.linkWake
	} else {
		wait = minWait(wait, s.cfg.PollInterval)
	}
	// The timer stays armed between parks: a connection's wheel deadline
	// (its RTO, on the wheel's tick) mostly stays put from one park to
	// the next, so most parks cost no Reset and no Stop.
	// A borrower may move the timer earlier while Run sleeps (Return),
	// so Run always listens to it.
	if wait >= 0 {
		if at := now + wait; !s.timerSet || s.timerAt != at {
			s.timer.Reset(wait)
			s.timerAt, s.timerSet = at, true
		}
	} else if s.timerSet {
		s.timer.Stop()
		s.timerSet = false
	}
	timerC := s.timer.C
	// Announce the park (need-wakeup) and look again: a producer either
	// sees the flag or we see its task; a borrower that took the token
	// since we let it go either sees the flag or we see its borrow.
	gen := s.borrows.Load()
	s.publishIters()
	s.tx.cache.Drain() // a parked shard holds no buffers
	held = false
	s.release()
	s.sleeping.Store(true)
	if s.in.ready() || s.borrows.Load() != gen {
		s.sleeping.Store(false)
		return nil
	}
	s.st.parks.Add(1)
	s.lastLink = false
	var err error
	select {
	case <-linkC:
		s.lastLink = true
	case <-s.inboxWake:
	case <-timerC:
	case <-ctx.Done():
		err = ctx.Err()
	case <-s.closeCh:
		err = ErrClosed
	}
	s.sleeping.Store(false)
	if err == nil {
		s.st.wakeups.Add(1)
	}
	return err
}

func minWait(w, d time.Duration) time.Duration {
	if w < 0 || d < w {
		return d
	}
	return w
}

// napEnded passes on whether Run's iteration did work and, if Run's
// last sleep was ended by its nap (parkBorrowed) and there was work,
// counts it in Stats.Naps.
func (s *Shard) napEnded(work bool) bool {
	if s.napped {
		s.napped = false
		if work {
			s.st.naps.Add(1)
		}
	}
	return work
}
