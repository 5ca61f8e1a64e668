package shard

import (
	"context"
	"runtime"
	"time"
)

// Borrowing the loop. A goroutine that would otherwise sleep until the
// shard goroutine serves it (a socket Read that found no data, a Dial, an
// Accept) may run the loop itself for a while: it takes the loop's token
// with TryBorrow, runs iterations with Poll and gives the token back with
// Return. This is busy polling in the caller, as Linux's SO_BUSY_POLL
// polls the device queue from inside recvmsg: the caller sees its answer
// the moment the frame arrives, with no goroutine woken and no thread
// switched. Exactly one goroutine holds the token at a time; Run takes it
// around each of its own iterations and, while the loop is borrowed,
// sleeps until the borrower returns it with work left over (frames the
// link holds, tasks, a timer earlier than the one Run sleeps on, frames
// waiting to be sent) — except in Busy mode, where it yields the
// processor until the token is free again. Borrowing needs a link that Return can arm for the
// sleeping Run goroutine: one with link.Waiter, or with a file descriptor
// (Run's fdWaiter then arms it); on other links TryBorrow fails.
//
// The token is a word set with compare-and-swap and cleared with a store:
// one CAS and one store per iteration of Run, none per segment.

// borrowedNap bounds how long Run sleeps while the loop is borrowed
// (parkBorrowed) before it looks for itself; after a ReturnSoon the bound
// is that call's grace (at least minNap). Return arms the link or wakes
// Run, so after it the nap is only a floor under a lost wake-up. After
// ReturnSoon it is the mechanism: ReturnSoon used to move Run's timer
// (time.Timer.Reset from the borrowing goroutine while Run waited on the
// timer's channel) and rely on it alone, and in a stress test of 300
// runs a third had a sleep that that timer did not end with work
// waiting (one hung for good: a frame on the link, the link unarmed, Run
// asleep). Arming the link in ReturnSoon instead cost net.Conn round
// trips 2.8 -> 7.2 µs (a goroutine switch per frame). Stats.Naps counts
// naps after which Run found work.
const borrowedNap = 2 * time.Millisecond

// minNap keeps a tiny grace from turning Run's borrowed sleep into a spin.
const minNap = 10 * time.Microsecond

// borrowSpins bounds how long TryBorrow waits for a running loop to give
// the token up between two of its iterations.
const borrowSpins = 100

// acquire takes the token for one of Run's iterations; it fails while a
// borrower holds it or waits for it.
func (s *Shard) acquire() bool {
	return s.wanted.Load() == 0 && s.owner.CompareAndSwap(0, 1)
}

// release gives the token up after one of Run's iterations.
func (s *Shard) release() { s.owner.Store(0) }

// TryBorrow takes the loop for the calling goroutine and reports whether
// it did: false when the shard is not running under Run, its link cannot
// wake a sleeping Run (no link.Waiter, no file descriptor), or the token
// stayed taken. On
// true the caller may use everything that belongs to the shard goroutine
// (its handler's state, Wheel, TX, Poll) until it calls Return, which it
// must do soon: while borrowed, nothing else runs the loop.
func (s *Shard) TryBorrow() bool {
	if !s.running.Load() || s.linkWaiter() == nil || s.closed.Load() {
		return false
	}
	if s.owner.CompareAndSwap(0, 1) {
		s.borrows.Add(1)
		return true
	}
	if s.wanted.Load() > 0 {
		return false // someone else is already waiting for it
	}
	s.wanted.Add(1)
	defer s.wanted.Add(-1)
	for i := 0; i < borrowSpins; i++ {
		if s.owner.Load() == 0 && s.owner.CompareAndSwap(0, 1) {
			s.borrows.Add(1)
			return true
		}
	}
	return false
}

// Poll runs one loop iteration at now for the borrower and reports
// whether it did anything (received, ran a task, fired a timer or sent).
func (s *Shard) Poll(now time.Duration) bool { return s.iterate(now) || s.more }

// Idle is for a borrower that polls and whose last Poll at now found
// nothing to do. It spends the time as an idle Run does: a few cheap looks
// at the link and the inbox (a full Poll costs a few hundred ns; a look,
// two atomic loads), topping up the transmit buffer cache in between,
// and a yield of the processor to other goroutines right after a Poll
// that woke one (TX.Woke) or when the borrowers' yield interval is up
// (the yielder's back-off, run.go). Polling borrowers used to yield on
// every eighth idle Poll whatever ran meanwhile.
func (s *Shard) Idle(now time.Duration) {
	s.probe()
	s.byield.after(s.tx.takeWoke(), false, now)
}

// ReturnSoon gives a borrowed loop back to a borrower that expects to
// take it again shortly (a socket call that got its answer: the next call
// on the connection is likely to come at once). It does not arm the link
// for the sleeping Run goroutine — a frame would wake Run only for it to
// find the loop borrowed again, a goroutine switch per frame — but
// makes sure Run looks within grace: frames that arrive while nobody
// borrows wait at most that long. now is the borrower's last reading of
// the clock (its last Poll's): a fresh one costs a clock read, ~50 ns on
// these VMs, on the critical path of every call.
func (s *Shard) ReturnSoon(now, grace time.Duration) {
	need := s.more || s.tx.Pending() > 0 || s.in.ready() || (s.peek != nil && s.peek.RxPending())
	by := now + grace
	if d, ok := s.wheel.Next(); ok && d < by {
		by = d
	}
	if !s.timerSet || s.timerAt <= now || s.timerAt > by {
		s.timer.Reset(max(by-now, 0))
		s.timerAt, s.timerSet = by, true
	}
	// Run's own nap is what reliably looks within grace (see
	// borrowedNap); the timer above is kept for the wheel's deadlines.
	s.napFor.Store(int64(max(grace, minNap)))
	s.letGo(need)
}

// Return gives a borrowed loop back. If work is left that the sleeping
// Run goroutine would not otherwise notice, Return wakes it; otherwise it
// arms the link so that the next frame does.
func (s *Shard) Return() {
	need := s.more || s.tx.Pending() > 0 || s.in.ready()
	if d, ok := s.wheel.Next(); ok {
		// A deadline earlier than the timer Run sleeps on (or none):
		// move the timer rather than wake Run now. The timer fields
		// belong to the token holder; an expired timer has fired, and
		// Run, woken by it, looks at the wheel itself.
		now := s.clock.Now()
		if !s.timerSet || s.timerAt <= now || d < s.timerAt {
			s.timer.Reset(max(d-now, 0))
			s.timerAt, s.timerSet = d, true
		}
	}
	if !need && !s.linkWaiter().Arm(s.linkWake) {
		need = true // frames arrived meanwhile
	}
	s.napFor.Store(int64(borrowedNap))
	s.letGo(need)
}

// letGo releases the token at the end of a borrow and wakes a sleeping
// Run if need says work is left for it. A task submitted, or a frame
// arrived, while the token was still taken woke Run, which found the
// token taken and slept again (lost): look once more now that it is free.
func (s *Shard) letGo(need bool) {
	s.publishIters()
	s.owner.Store(0)
	if s.lost.Load() && s.lost.Swap(false) {
		need = true
	}
	if !need && s.in.ready() {
		need = true
	}
	if need && s.sleeping.Load() && s.sleeping.CompareAndSwap(true, false) {
		select {
		case s.inboxWake <- struct{}{}:
		default:
		}
	}
}

// parkBorrowed is Run's sleep while a borrower holds the token: until the
// borrower returns it with work left (inboxWake), a frame (the link armed
// by Return), the timer (armed by Run or moved by a borrower), ctx or
// Close. It touches nothing that belongs to the token holder.
func (s *Shard) parkBorrowed(ctx context.Context, linkWoken bool) {
	s.sleeping.Store(true)
	if linkWoken {
		// The link's wake-up (armed once, by Return or by Run) was
		// spent on finding the loop borrowed: the borrower may have
		// polled before the frame came and may return without arming
		// again. Tell it (Return looks after letting the token go).
		s.lost.Store(true)
	}
	// Tasks waiting do not matter here: the borrower runs them, or sees
	// them when it returns the loop (Return) and wakes Run.
	if s.owner.Load() == 0 && s.wanted.Load() == 0 {
		s.sleeping.Store(false)
		return
	}
	s.lastLink = false
	s.nap.Reset(time.Duration(s.napFor.Load()))
	select {
	case <-s.linkWake:
		s.lastLink = true
	case <-s.inboxWake:
	case <-s.timer.C:
	case <-s.nap.C:
		// Counted if Run's next iteration finds work (iterate): then
		// the loop came back with work waiting and nothing woke Run.
		s.napped = true
	case <-ctx.Done():
	case <-s.closeCh:
	}
	s.nap.Stop()
	s.sleeping.Store(false)
}

// lockForExit takes the token for Run's way out, waiting for a borrower
// to return it.
func (s *Shard) lockForExit() {
	// Wanting the token makes a polling borrower give it back at once
	// (Contended) instead of using up its budget.
	s.wanted.Add(1)
	for !s.owner.CompareAndSwap(0, 1) {
		runtime.Gosched()
	}
	s.wanted.Add(-1)
}

// Contended reports that another goroutine waits for the loop (in
// TryBorrow, or Run on its way out): a borrower polling for its own sake
// should give the loop back.
func (s *Shard) Contended() bool { return s.wanted.Load() > 0 }

// Discard frees the frames still queued for transmission (the link
// refused them: it is closed, or full for good). Call it only when the
// loop is not running: after Run has returned, or between Steps.
func (s *Shard) Discard() {
	if s.running.Load() {
		return
	}
	s.tx.drop()
}
