// Package udp is ustack's sans-I/O UDP layer (RFC 768, with the host
// requirements of RFC 1122 section 4.1): port binding and demultiplexing,
// ephemeral port selection, checksum verification, per-endpoint receive
// queues bounded in bytes, datagram building, and the Udp MIB counters.
//
// A Table is owned by one shard. It is an ip.Transport: register it with
// the IP host for protocol 17 and it receives every UDP datagram addressed
// to the host. Nothing in it touches a socket, a goroutine, a lock or the
// wall clock; the one exception to "shard only" is Endpoint.Release, an
// atomic that readers on other goroutines call to return receive-buffer
// space.
//
// # Receive path
//
// Deliver verifies the datagram (length, then checksum unless the link
// marked it link.FlagCsumValid), looks its destination port up, charges the
// buffer against the endpoint's receive buffer and appends it to the
// endpoint's pending list. The buffer is kept as it arrived — no copy — with
// the sender's address written into its headroom (see Datagram). Flush,
// called once at the end of each shard iteration, hands each endpoint's
// pending list to its Receiver in one call: that is where a sockets layer
// wakes its readers, once per burst rather than once per datagram.
//
// A datagram for a port nobody bound is answered with ICMP port
// unreachable through the IP host (which rate-limits it) unless it was a
// broadcast. Drops are counted as Linux counts them in /proc/net/snmp:
// a bad checksum in InCsumErrors and InErrors, a full receive buffer in
// RcvbufErrors and InErrors, a malformed header in InErrors, no socket in
// NoPorts (IgnoredMulti for broadcasts).
//
// # Receive buffer accounting
//
// Each queued datagram is charged the whole buffer it pins (Charge: the
// pool's buffer size), as Linux charges an skb's truesize against
// SO_RCVBUF, so the bound is a bound on memory, not on payload bytes. A
// datagram is accepted when its charge fits under the limit with what is
// already held, or when nothing is held, so one datagram always fits
// however small the limit. (Linux is a little looser: it accepts while the
// charge already held is at most the limit, overshooting by one.)
//
// # Send path
//
// Build writes the header, the payload and the checksum into an empty
// buffer; it is a pure function, safe on any goroutine, so a writer can do
// the one copy on its own core. Output then passes the buffer to the IP
// layer on the shard. The largest payload is MaxPayload of the pool's
// buffer size: a datagram must fit in one link.Buf, which the IP layer
// fragments to the MTU.
//
// # Ephemeral ports
//
// Bind with port 0 picks a port from [MinPort, MaxPort] (Linux's
// ip_local_port_range, 32768–60999, by default) with RFC 6056's
// Algorithm 1: a random starting point, then a linear walk to the first
// free port. The random source is a ChaCha8 generator seeded from
// Config.Seed.
package udp
