// Package mem provides an in-process Ethernet link: Pair returns two
// link.Link ends joined back to back, as if by a cable. It is the link the
// tests, the simulator and in-process benchmarks run on.
//
// # Data path
//
// Each direction is a lock-free single-producer/single-consumer ring of
// *link.Buf pointers. Frames are never copied: the very Buf one end sends
// is the Buf the other end receives, and the receiver frees it back into
// the sender's pool (Buf.Free always returns a Buf to the pool it came
// from). Send publishes a whole burst with one atomic store and Recv takes
// a whole burst the same way, so the cost per frame is a pointer move. In
// steady state nothing allocates.
//
// # Refusal
//
// Send returns how many frames, a prefix of its argument, it took. A
// frame it did not take still belongs to the caller. Send stops early in
// two cases: the ring toward the peer is full (counted in
// Stats.TxDropped; retry later or Free), or the frame at that position is
// invalid — nil, or longer than MaxFrame — which is counted in
// Stats.TxErrors and will be refused every time, so a caller seeing
// Send return n < len(bufs) with bufs[n].Len() > MaxFrame() must Free it
// rather than retry it.
//
// # Waking a sleeping poller
//
// Link implements link.Waiter with a need-wakeup flag: Arm stores the
// poller's channel in the RX ring's flag and then looks at the ring again;
// a sender that publishes frames and finds the flag set takes it (one
// atomic swap) and sends on the channel without blocking. Both sides use
// sequentially consistent atomics, so either Arm sees the new frames or the
// sender sees the flag: no wake-up is lost. The channel must have a buffer
// of at least one, because the poller may not have reached its receive yet
// when the sender's non-blocking send happens.
//
// # Multiple queues
//
// NewQueues(n) returns two ends of n queues each, one *Link per queue, for
// a stack running one shard per queue. Every sending queue of one end has
// its own SPSC ring to every receiving queue of the other (n·n rings per
// direction), so each queue Link keeps a single owning goroutine and no
// lock. Send steers each frame by link.SteerQueue — a symmetric hash of the
// IPv4 TCP 4-tuple, so a connection's two directions meet on queues of the
// same index; everything that is not unfragmented IPv4 TCP goes to queue
// 0 — or by the WithSteer function, and stops at the first frame whose
// ring is full. Recv drains the queue's n incoming rings in one burst,
// starting one ring further on each call. Frames of one flow sent from one
// queue arrive in order. Arm wakes on a frame arriving in any incoming
// ring. Closing any queue closes every queue of both ends, as below.
//
// # Closing
//
// Closing either end closes the pair: every frame queued in either ring is
// freed back to its pool (counted in the receiving end's Stats.RxDropped),
// any armed poller is woken, and later Send, Recv and Arm on both ends
// return 0 (false for Arm).
package mem
