// Package shard runs one ustack shard: a single goroutine that owns a link
// queue, a timer wheel and the protocol state behind a Handler, and loops
//
//	receive a burst → Handler.Input per frame → run inbox Tasks →
//	fire due timers (Wheel.Advance) → Handler.EndBurst → flush the TX batch
//
// either on its own goroutine (Run, with a polling Mode) or one iteration
// at a time under a simulator (Step, on virtual time). The clock is read
// once per iteration and the same now is passed to everything in it.
//
// Nothing in the loop allocates in steady state, and no lock is taken:
// application goroutines reach the shard only through Submit, a bounded
// lock-free MPSC queue whose wake-up costs a channel operation only when
// the shard is actually parked (the need-wakeup protocol of link.Waiter).
//
// # Waiting
//
// Busy mode never sleeps. Adaptive mode (the default) polls for SpinTime
// after the loop goes idle, then parks; Interrupt mode parks at once. A
// parked shard blocks in one select on: the link's Waiter channel (or, for
// a link with only a file descriptor, a helper goroutine waiting in the Go
// netpoller — see fdWaiter's costs; the shard's own thread never makes a
// blocking system call), the inbox wake-up channel, a single reused
// time.Timer set to the next timer deadline, ctx and Close. A link with
// neither is polled every PollInterval.
//
// # Timers
//
// The Wheel is a 4-level hierarchical timing wheel of 64 slots per level
// with intrusive, allocation-free Timers: O(1) Arm, re-Arm and Cancel, a
// configurable tick (default 1 ms, so 40 ms delayed ACKs and 200 ms RTOs
// fire on the first millisecond boundary at or after their deadline, and
// the levels span 2^24 ticks ≈ 4 h 39 min); later deadlines are parked and
// cascaded in, so none is out of range. See Wheel for ordering rules.
//
// # Additions to the shard contract (notes/SHARD-IP-API.md)
//
//   - NewWheel(tick), Wheel.Next, Wheel.Len, Wheel.Tick, and
//     Wheel.Advance(now, tx) int: OnTimer needs the TX to send from.
//   - Config.Tick, TxRetries, TxRetryDelay, PollInterval; ErrConfig wraps
//     every New error.
//   - Shard.Close (Run returns ErrClosed), Shard.Config, Shard.Link, Shard.TX,
//     TX.Pending. Step also returns at most now+TxRetryDelay while refused
//     TX frames wait, so a simulator retries them on virtual time instead
//     of spinning at one instant.
package shard
