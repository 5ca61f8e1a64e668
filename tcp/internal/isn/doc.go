// Package isn chooses TCP initial sequence numbers as RFC 6528 specifies,
// and RFC 7323 timestamp offsets from the same keyed hash.
//
//	ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//
// M is a timer ticking every 4 microseconds, taken from the now the caller
// passes (any monotonic epoch will do: only differences matter to peers).
// F is SipHash-2-4 keyed by a 128-bit secret given to New, truncated to 32
// bits. The secret must come from a cryptographically strong source (the
// stack draws it from crypto/rand once); there is no global state, so two
// stacks in one process have independent secrets.
//
// Linux uses the same construction with SipHash but a 64-nanosecond clock;
// RFC 6528's 4 µs keeps M from lapping the sequence space in less than
// about 4.8 hours, which the older guidance on quiet time assumes.
//
// # Timestamp offsets
//
// RFC 7323 section 7.1 recommends adding a per-connection random offset to
// the timestamp clock so that TSval does not reveal the host's uptime.
// TSOffset derives it from the 4-tuple (RFC 7323's suggestion);
// TSOffsetAddrs from the address pair only, as Linux does since 4.13, which
// keeps TSval monotonic across successive connections between two hosts
// (so PAWS and TIME-WAIT reuse keep working through NATs). The hashes are
// domain-separated from the ISN one.
//
// # Tuples
//
// Tuple is {Local, Remote netip.AddrPort}, the same shape as tcp.Tuple, so
// one converts to the other directly. Addresses are hashed in 16-byte form
// (IPv4 as IPv4-mapped) with their zones ignored.
package isn
