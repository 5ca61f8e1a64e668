// Package syncookie makes and checks TCP SYN cookies the way Linux does, so
// that a listener whose SYN queue is full can answer a SYN without keeping
// state and rebuild the connection from the ACK that completes it.
//
// # The cookie (the SYN,ACK's ISS)
//
//	cookie = H0(tuple) + peerISN + count<<24 + (H1(tuple, count, mssIndex)<<2 | mssIndex) mod 2^24
//
// count is the time in Periods (default 64 s; Linux uses 60 s), H0 and H1
// are SipHash-2-4 under the listener's secret with different domain tags,
// and mssIndex (2 bits) selects an entry of a fixed MSS table: 536, 1300, 1440, 1460
// for IPv4 and 1220, 1420, 1440, 8940 for IPv6 (Linux's tables). The
// peer's MSS is rounded down to the largest entry not above it; an MSS
// below the smallest entry is encoded as that entry, as Linux does (every
// host must accept 536-byte segments, RFC 1122).
//
// Check subtracts H0 and the peer's ISN, reads the count from the top
// eight bits, accepts it only if it is the current or the previous period
// (MaxAge, default 2), and recomputes the low 24 bits from the tuple, that
// count and the index found in the lowest two bits. The layout is Linux's
// except that the MSS index is hashed rather than added, so that altering
// any bit, including the index, is caught; a forged cookie passes with
// probability 2^-22 per guess, as in Linux.
//
// # Options through timestamps
//
// The cookie has no room for the peer's other SYN options. When the peer
// offered timestamps, the SYN,ACK's TSval carries them in its low 6 bits:
// the peer's window scale (4 bits, 0xf = none), SACK-permitted (bit 4) and
// ECN (bit 5); the rest of TSval is the timestamp clock, lowered by one
// 64-tick step if needed so that it never runs ahead of the clock. The
// peer echoes it in TSecr of its ACK, and Check reads the options back.
// Without timestamps, window scaling and SACK cannot be restored: the
// engine must then leave them out of the cookie SYN,ACK (Linux does).
//
// # Tuples
//
// Tuple is {Local, Remote netip.AddrPort} (the listener's address first),
// the same shape as tcp.Tuple. The address family picks the MSS table.
package syncookie
