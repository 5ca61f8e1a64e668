// Package impair is ustack's network impairment model: delay, jitter,
// bandwidth with a bounded queue, random and bursty (Gilbert–Elliott) loss,
// reordering, duplication and corruption, for one direction of a link.
//
// The model is pure code with time passed in. A Model never reads a clock,
// never sleeps and never starts a goroutine: Offer is given the time a frame
// is handed to the link and answers when (and whether, and how many times)
// the frame arrives at the far end. The simulator (package sim) drives it on
// virtual time; Wrap drives it on the wall clock around a real Link.
//
// # Pipeline
//
// A frame offered at time now goes through these stages, in order:
//
//  1. Queue and serialization (Rate, QueueLimit). The link transmits one
//     frame at a time at Rate bits per second; a frame starts when the
//     previous one has finished (a busy-until clock) and takes
//     ceil(Len*8/Rate) to serialize. Frame length is Buf.Len(): the Ethernet
//     frame without preamble, FCS or inter-frame gap. QueueLimit bounds the
//     bytes not yet serialized, including the frame on the wire; a frame
//     that would push the backlog over the limit is tail-dropped. An idle
//     link always accepts one frame.
//  2. Loss on the wire (Loss, GE). Independent random loss with probability
//     Loss, and a Gilbert–Elliott two-state channel: before each frame the
//     channel moves good→bad with probability GE.P or bad→good with
//     probability GE.R, then the frame is lost with probability
//     GE.LossGood or GE.LossBad of the state it is in. A frame lost here
//     has still used its serialization time.
//  3. Propagation (Delay, Jitter). The frame arrives Delay after it has been
//     serialized, plus a jitter drawn uniformly from [-Jitter, +Jitter]
//     (a delay below zero is clamped to zero). Like a real link, jitter does
//     not reorder by default: a frame never arrives before a frame offered
//     earlier (its arrival is raised to the previous arrival time). Set
//     JitterReorder to let jittered frames overtake each other, as netem does.
//  4. Reordering (Reorder, ReorderGap). With probability Reorder a frame
//     skips ahead: it is sent ReorderGap sooner than its normal arrival
//     (ReorderGap defaults to Delay, so a reordered frame skips the
//     propagation delay entirely, like netem's reorder). It therefore
//     overtakes the frames still in flight that were sent less than
//     ReorderGap before it; later frames are not held back for it.
//     Reordering needs Delay > 0 (or JitterReorder) to have anything to skip.
//  5. Duplication (Duplicate). With probability Duplicate a copy of the frame
//     arrives right after it, at the same time. The copy is a new Buf from
//     the original's pool; when that pool is empty no copy is made and the
//     miss is counted (Stats.DupNoBuf). The copy uses no serialization time.
//  6. Corruption (Corrupt, CorruptBits). With probability Corrupt (decided
//     separately for the original and the copy) 1..CorruptBits distinct
//     random bits are flipped somewhere after the 14-byte Ethernet header, so
//     the IP header checksum or the TCP/UDP checksum fails; the Ethernet
//     header is never touched and frames of 14 bytes or less are left alone.
//     A corrupted frame loses link.FlagCsumValid.
//
// # Real links
//
// Wrap applies two Models (one per direction) to any link.Link on the wall
// clock, holding frames in time-ordered queues that Send and Recv drain when
// frames fall due; no goroutine is started. ParseSpec reads impairments
// from a compact string such as "delay=5ms,loss=0.5%,rate=100mbit".
//
// # Determinism
//
// All randomness comes from PCG generators (math/rand/v2) seeded from
// Config.Seed, one independent stream per impairment, so the same seed and
// the same sequence of Offer calls always give the same result, and enabling
// one impairment does not change the decisions of another.
package impair
