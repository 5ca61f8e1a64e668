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
// fixed-size open-addressed table, reassembly uses pre-allocated slots
// and a pool allocated by New, and the Packet handed to transports lives
// inside the Host.
//
// # Behaviour (Linux's defaults unless an RFC says better)
//
// ARP (RFC 826, RFC 4861's state machine as Linux applies it): requests for
// our address are answered (also RFC 5227 probes from 0.0.0.0) and their
// on-link sender is learnt as STALE; a reply to us confirms (REACHABLE) an
// existing entry; any ARP, gratuitous ones included, updates an existing
// entry's MAC (then STALE) but creates none (arp_accept=0). A sender
// claiming our address is counted (ArpInConflicts) and ignored.
// Resolution sends MaxProbes broadcast requests RetransTime apart; a STALE
// entry that is used waits DelayFirstProbe for ConfirmNeigh, then sends
// MaxProbes unicast probes. Failure drops the queued packets, reports each
// to its transport as a local ICMP host unreachable (Linux does the same)
// and calls the NeighFailureHandler.
//
// IPv4 input drops, each counted: bad version, header length or checksum,
// truncation, a destination that is not ours or a broadcast (multicast
// included: no groups are joined), unicast in an Ethernet broadcast (RFC
// 1122 3.3.6), martian sources. TTL is not checked (RFC 1122 3.2.1.7).
// Options are accepted and ignored.
//
// Reassembly (RFC 791, RFC 815): exact duplicate fragments are ignored;
// any other overlap drops the whole datagram (RFC 5722's rule, applied to
// IPv4 as Linux does); memory (Frag.MemLimit), slots (Frag.MaxDatagrams)
// and time (Frag.Timeout) are bounded, the oldest datagram making room. A
// datagram timing out with its first fragment held is answered with ICMP
// time exceeded, code 1 (RFC 1122 3.3.2), unless Frag.NoTimeExceeded.
//
// Output sets DF as Linux's default path MTU discovery does (DFDefault):
// always for TCP (too big is ErrMsgSize), for other protocols when the
// datagram fits the MTU, fragmenting it otherwise. Opts choose per
// datagram. Datagrams to the host's own address loop back through Tick.
//
// ICMP: echo requests are answered in place (not to broadcasts unless
// ICMP.EchoBroadcast); unknown protocols get protocol unreachable; errors
// are never sent about errors, non-initial fragments, broadcasts or
// non-unicast sources (RFC 1122 3.2.2), and are rate limited as Linux
// does: per destination (ICMP.PeerInterval, ICMP.PeerBurst) and globally
// (ICMP.ErrorRate, ICMP.ErrorBurst). Received errors about our datagrams go to the
// sending Transport if it implements ICMPErrorHandler.
//
// Path MTU (RFC 1191 as Linux applies it): "fragmentation needed" about a
// datagram we sent lowers the MTU towards its destination (not below
// MinPMTU, for PMTUExpires); Output uses it and PathMTU reports it.
//
// # Limits
//
// A datagram is always one link.Buf. Reassembly joins a datagram in the
// buffer its first fragment arrived in when it fits there, and otherwise
// in a buffer of the Host's own reassembly pool (Frag.BufSize, default
// 65535, so any IPv4 datagram, as Linux; Frag.Buffers, default 16: about
// 1 MiB, allocated once by New). When that pool is empty the datagram is
// dropped (ReasmFails, ReasmNoBuffer); without a pool, or when even its
// buffers are too small, ReasmTooBig. Transports free the datagram's
// buffer as usual: it goes back to its own pool.
//
// Output accepts a datagram of up to 65535 bytes in one b of any pool and
// fragments it into buffers of out.Pool(), so only the sender's one buffer
// must be large; Ping builds requests too large for out's buffers in the
// reassembly pool.
package ip
