// Package reasm is TCP's receive reassembly queue: out-of-order segments
// held by reference until the hole in front of them is filled, and the SACK
// (RFC 2018) and D-SACK (RFC 2883) blocks that describe them.
//
// # Ownership
//
// A segment is kept as its payload slice plus an Owner, the thing whose Free
// releases the memory behind the slice (a *link.Buf satisfies Owner). Insert
// always takes ownership: the queue either keeps the segment or calls Free
// at once (wholly duplicate, empty, or pruned). Pop hands a segment and its
// owner back to the caller. Every owner given to Insert is freed exactly
// once, by the queue or by whoever popped it; a nil Owner is allowed and
// never freed.
//
// # Overlaps
//
// RFC 9293 section 3.10.7.4 lets a receiver keep either copy of bytes it
// receives twice. The queue never splits a segment, so each owner backs
// exactly one queue entry:
//
//   - a new segment that overlaps the edge of held data is trimmed: the
//     old bytes are kept and the new segment keeps only its new part;
//   - held segments lying wholly inside what is left of a new segment are
//     replaced by it (their owners freed).
//
// For a correct peer both copies are the same bytes, so the choice cannot be
// seen. Every byte already held counts as duplicate, and Insert reports the
// first run of duplicate bytes for D-SACK.
//
// # Bounds
//
// Config bounds the payload bytes held, the number of held segments and the
// number of disjoint ranges (holes). When an insert exceeds a bound, the
// highest-sequence data is dropped first, segment by segment, until every
// bound holds again (Linux prunes its out-of-order queue from the end the
// same way): data near the left edge is what the application needs soonest.
// The dropped segment may be the one just inserted. Drops are counted.
//
// Storage grows on demand up to the bounds and is reused afterwards, so the
// steady state allocates nothing.
//
// # Sequence space
//
// All sequence numbers held at one time must lie within 2^31 of each other
// (true for anything inside a receive window): ordering uses sequence-space
// comparison, which wraps at 2^32.
package reasm
