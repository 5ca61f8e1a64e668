// Package ports picks ephemeral ports for active opens, as RFC 6056
// section 3.3.4 describes in its Algorithm 4, "Double-Hash Port Selection".
//
// For a connection to (remote address, remote port) from a local address:
//
//	offset = F(local, remote, remote port, key1)
//	index  = G(local, remote, remote port, key2) mod TableSize
//	for count = range size:
//		port = Min + (offset + table[index]) mod size
//		table[index]++
//		if the port is usable: return it
//	fail
//
// F and G are SipHash-2-4 under two domain-separated halves of one secret.
// Algorithm 4 was chosen over Algorithm 3 (one global counter) because the
// per-bucket counters keep the port sequence seen by one destination from
// revealing how many connections went to others, and because Linux uses a
// variant of it: successive connections to one destination walk the range
// from a secret starting point, so each gets a new port until all are used.
//
// A port is usable when the caller's inUse callback says the resulting
// 4-tuple is free and the optional accept filter agrees. The filter lets a
// multi-shard stack require, for example, that the reply's steering hash
// lands on the dialing shard (hash(reply tuple) % nshards == shard).
//
// The default range is Linux's ip_local_port_range, 32768–60999. A
// Selector holds mutable counters and is not safe for concurrent use: keep
// one per shard (they may share the secret).
package ports
