// Package shard runs one ustack shard: a single goroutine that owns a link
// queue, a timer wheel and the protocol state behind a Handler, and loops
//
//	receive a burst → Handler.Input per frame → run inbox Tasks →
//	fire due timers → Handler.EndBurst → flush the TX batch
//
// either on its own goroutine (Run, with a polling Mode) or one iteration
// at a time under a simulator (Step, on virtual time).
//
// Nothing in the loop allocates in steady state, and no lock is taken:
// application goroutines reach the shard only through Submit, a bounded
// lock-free queue whose wake-up costs a channel operation only when the
// shard is actually parked (the need-wakeup protocol of link.Waiter).
//
// The Wheel is a hierarchical timing wheel with intrusive, allocation-free
// Timers; see its documentation for resolution and ordering guarantees.
package shard
