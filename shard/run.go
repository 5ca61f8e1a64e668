package shard

import (
	"context"
	"runtime"
	"time"
)

// checkEvery is how many iterations a spinning loop runs between looks at
// ctx and Close (an atomic load and a non-blocking channel receive).
const checkEvery = 64

// Run drives the shard on the calling goroutine until ctx is done (it
// returns ctx.Err()) or Close is called (ErrClosed), waiting for work as
// Config.Mode says. Busy mode locks the goroutine to its OS thread for
// the duration. Frames still queued for TX are flushed once on the way out
// and, after Close, freed.
func (s *Shard) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer s.running.Store(false)
	var err error
	if s.cfg.Mode == Busy {
		err = s.runBusy(ctx)
	} else {
		err = s.runPark(ctx)
	}
	s.tx.flush()
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
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i := 0; ; i++ {
		if i%checkEvery == 0 {
			if err := s.stopped(ctx); err != nil {
				return err
			}
		}
		if !s.iterate(s.clock.Now()) && i%checkEvery == 0 {
			// Idle: let other goroutines have this P once in a while, so
			// an oversubscribed process (more busy shards than Ps) still
			// makes progress between the runtime's 10 ms preemptions.
			// A lone busy shard pays one cheap Gosched per 64 polls.
			runtime.Gosched()
		}
	}
}

// runPark is Adaptive and Interrupt mode.
func (s *Shard) runPark(ctx context.Context) error {
	var fw *fdWaiter
	if s.waiter == nil {
		if fd := s.link.Fd(); fd >= 0 {
			if fw = newFdWaiter(fd); fw != nil {
				defer fw.close()
			}
		}
	}
	spin := s.cfg.SpinTime
	if s.cfg.Mode == Interrupt {
		spin = 0
	}
	idle := false
	var idleSince time.Duration
	for i := 0; ; i++ {
		if i%checkEvery == 0 {
			if err := s.stopped(ctx); err != nil {
				return err
			}
		}
		now := s.clock.Now()
		if s.iterate(now) || s.more {
			idle = false
			continue
		}
		if !idle {
			idle, idleSince = true, now
		}
		if now-idleSince < spin {
			runtime.Gosched()
			continue
		}
		if err := s.park(ctx, now, fw); err != nil {
			return err
		}
		idle = false
		i = -1 // look at ctx/Close right after waking
	}
}

// park blocks until a frame, a task, the next timer, ctx or Close. It
// returns at once, without counting a park, when work is already there.
func (s *Shard) park(ctx context.Context, now time.Duration, fw *fdWaiter) error {
	wait := time.Duration(-1) // no timeout
	if d, ok := s.wheel.Next(); ok {
		if wait = d - now; wait <= 0 {
			return nil
		}
	}
	if s.tx.Pending() > 0 {
		wait = minWait(wait, s.cfg.TxRetryDelay)
	}
	// Drop stale tokens, then announce the park (need-wakeup) and look
	// again: a producer either sees the flag or we see its task.
	select {
	case <-s.inboxWake:
	default:
	}
	s.sleeping.Store(true)
	if s.in.ready() {
		s.sleeping.Store(false)
		return nil
	}
	var linkC, fdC <-chan struct{}
	switch {
	case s.waiter != nil:
		select {
		case <-s.linkWake:
		default:
		}
		if !s.waiter.Arm(s.linkWake) {
			s.sleeping.Store(false)
			return nil
		}
		linkC = s.linkWake
	case fw != nil:
		fdC = fw.arm()
	default:
		wait = minWait(wait, s.cfg.PollInterval)
	}
	var timerC <-chan time.Time
	if wait >= 0 {
		s.timer.Reset(wait)
		timerC = s.timer.C
	}
	s.st.parks.Add(1)
	s.publishIters()
	var err error
	select {
	case <-linkC:
	case <-s.inboxWake:
	case <-fdC:
		fw.woken()
	case <-timerC:
		timerC = nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-s.closeCh:
		err = ErrClosed
	}
	s.sleeping.Store(false)
	if timerC != nil {
		s.timer.Stop()
	}
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
