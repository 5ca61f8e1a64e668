// Package rtt estimates a TCP connection's round-trip time and derives its
// retransmission timeout, following RFC 6298 with the bounds Linux applies.
//
// The estimator is sans-I/O: callers hand it samples and the current
// monotonic time; it never reads a clock.
//
// # Karn's algorithm is the caller's job
//
// RFC 6298 section 3 (Karn): an RTT sample must not be taken from a segment
// that was retransmitted, because its ACK is ambiguous. The estimator cannot
// tell; the connection engine must only call Sample with unambiguous
// measurements: either the segment was sent once, or the sample comes from
// the RFC 7323 timestamp echo (FromTSEcr), which identifies the transmission
// it belongs to. After an RTO the engine calls Backoff; when the next valid
// sample arrives (RFC 6298 rule 5.7 and Karn), it calls ResetBackoff so that
// the freshly computed RTO is used again.
//
// # Linux profile
//
// Linux computes RTO = SRTT + max(4·RTTVAR, rto_min), i.e. RFC 6298's clock
// granularity G set to 200 ms, then clamps to [200 ms, 120 s]; the initial
// RTO (before any sample) is 1 s (RFC 6298 section 2.1). Those are the
// defaults of Config. For a plain RFC 6298 estimator set Granularity to the
// clock tick (for example 1 ms) and Min to 1 s.
//
// Linux's variance term is also smoothed differently: it tracks the
// largest deviation of each round trip and decays once per round trip, and
// an RTT drop moves it only slowly. Config.LinuxVariance with SampleSeq
// (which takes snd.una and snd.nxt to delimit round trips) reproduces that;
// with a steady RTT both give SRTT + 200 ms, but they differ while the RTT
// moves.
//
// # Minimum RTT
//
// MinRTT is a windowed minimum over Config.MinRTTWindow (default 5 minutes,
// as Linux keeps it for RACK and BBR). It is tracked with three candidate
// samples from successively later parts of the window, so memory is constant;
// the value reported is always a real sample taken within the window ending
// at the latest sample, and a new sample at or below it takes over at once.
package rtt
