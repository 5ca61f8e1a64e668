// Package link defines how ustack exchanges Ethernet frames with the world:
// the Link interface, the frame buffers (Buf) it moves, and the Pool those
// buffers come from. Backends live in sub-packages (mem, tap, afpacket,
// afxdp); wrappers (capture, impair) take any Link and return one.
//
// # Ownership
//
// A Buf has exactly one owner at a time. Pool.Get makes the caller the owner.
// Link.Recv hands ownership of every returned Buf to the caller, who must
// either Free it or pass it on (for example onto a TCP receive queue, which
// frees it once the reader has consumed it). Link.Send takes ownership of the
// first n Bufs it reports as accepted, and frees them once the frame has left
// (for link/mem: when the peer frees the very same Buf); the caller keeps the
// Bufs after those n and may retry or Free them. A Buf must never be touched
// after it has been freed or handed on.
//
// Bufs may be freed from any goroutine: the pool is lock-free and safe for
// concurrent use, so a frame received on one shard and consumed by an
// application goroutine goes back to the pool it came from.
package link
