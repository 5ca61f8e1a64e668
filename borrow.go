package ustack

import (
	"time"

	"github.com/ustack/ustack/shard"
)

// Socket calls run the shard's loop themselves when it is free
// (shard.TryBorrow): the call's work happens inline, on the caller's
// goroutine, and a call that must wait for the network polls the link for
// up to Config.BusyPoll before it sleeps. Compared with handing a request
// to the shard goroutine and sleeping until it answers, this saves two
// goroutine switches per blocking call, and on a small machine (where the
// shard and the application share the processors) the wait for the shard
// to be scheduled at all. Everything the shard goroutine owns is owned by
// whoever holds the loop's token, so the engine's invariants are the same.

// spinBackoff is how many blocking calls sleep at once, without
// polling, after a busy poll ran out of budget.
const spinBackoff = 64

// borrow takes the loop for the caller and runs one iteration first, so
// that requests queued before this call (a write-behind, another
// goroutine's task) are served before it, in order. ok is false when the
// loop could not be taken: use the shard's inbox instead.
func (s *Stack) borrow() (now time.Duration, tx *shard.TX, ok bool) {
	if s.busyPoll < 0 || s.cfg.Manual || !s.shard.TryBorrow() {
		return 0, nil, false
	}
	now, tx = s.clock.Now(), s.shard.TX()
	s.shard.Poll(now)
	s.tcp.enter(now, tx)
	return now, tx, true
}

// giveBack sends what the caller's work queued, dispatches its events and
// returns the loop.
func (s *Stack) giveBack(now time.Duration) {
	s.shard.Poll(now)
	s.shard.Return()
}

// answered is told by a call that slept (it skipped its busy poll, or the
// poll ran out) when its answer arrived, start being when it went to
// sleep. An answer within the busy-poll budget means spinning would have
// caught it: stop skipping polls. Without this, one late answer (a peer
// descheduled for a moment) made the next spinBackoff calls sleep, each
// woken through the shard goroutine — and their slow answers made the
// peer's polls run out too, so both ends slept for a while: net.Conn's
// round trip p99 over a veth pair with AF_XDP was 65–80 µs against ~12 µs
// with this.
func (s *Stack) answered(start time.Duration) {
	if s.spinSkip.Load() > 0 && s.clock.Now()-start < s.busyPoll {
		s.spinSkip.Store(0)
	}
}

// pollUntil runs the borrowed loop until done reports true, the busy-poll
// budget is spent, or another goroutine waits for the loop. It returns the
// time of its last iteration.
func (s *Stack) pollUntil(now time.Duration, done func() bool) time.Duration {
	if s.busyPoll <= 0 || done() {
		return now
	}
	if s.spinSkip.Load() > 0 {
		// Recent spins ran out of budget: the answers come slower
		// than the budget (many connections, a slow peer), and
		// spinning only takes processor time from those who would
		// produce them. Sleep instead for a while, or until a call
		// that slept is answered within the budget (answered).
		s.spinSkip.Add(-1)
		return now
	}
	end := now + s.busyPoll
	defer func() {
		if !done() {
			s.spinSkip.Store(spinBackoff)
		}
	}()
	for !done() && now < end && !s.shard.Contended() {
		now = s.clock.Now()
		if !s.shard.Poll(now) {
			// Look cheaply for a while, and let the goroutines this
			// loop has woken, and anything else waiting for this
			// processor, run: the token stays taken meanwhile, so
			// nothing else polls.
			s.shard.Idle(now)
		}
	}
	return now
}
