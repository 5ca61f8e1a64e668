// Package ip is ustack's sans-I/O IPv4 host layer: Ethernet framing, ARP and
// the neighbour cache, IPv4 input checks and output, routing (one connected
// prefix, optional static routes and a default gateway), fragmentation and
// reassembly, and the ICMP a host must speak (echo, errors).
//
// A Host never touches a socket, a goroutine, a lock or the wall clock. Every
// entry point takes now, a monotonic time since an arbitrary epoch, and an
// Output to send frames on (a shard's TX batch, or a test's collector).
// NextDeadline says when Tick must next be called for ARP retransmissions,
// neighbour probes and reassembly timeouts.
//
// # Buffers
//
// Input takes ownership of the frame it is given: it frees it, sends it back
// out (an echo reply is built in place in the request's buffer), keeps it (a
// fragment waiting for the rest of its datagram, a packet waiting for ARP)
// or hands it to a Transport, which then owns it. Output takes ownership of
// b in every case, also when it returns an error.
//
// # Hot paths
//
// Echo request to echo reply, IPv4 input to a registered Transport, and
// Output to a resolved neighbour allocate nothing: the neighbour cache is a
// fixed-size open-addressed table, reassembly uses pre-allocated slots, and
// the Packet handed to transports lives inside the Host.
//
// # Limits
//
// A datagram is always one link.Buf: Output accepts what fits in b, and
// reassembly fails (ReasmFails, ReasmTooBig) for a datagram larger than the
// buffer its first fragment arrived in. Pools with larger buffers carry
// larger datagrams.
package ip
