package ip

// Counters are a Host's statistics since New. Names follow Linux's
// /proc/net/snmp Ip and Icmp MIB (RFC 4293, RFC 4293's ICMP group) where a
// counter exists there; the rest break drops down by reason. A packet
// dropped for a specific reason also counts in its MIB aggregate (for
// example InCsumErrors also counts in InHdrErrors).
type Counters struct {
	// Ethernet.
	EthInFrames      uint64 // frames given to Input
	EthInTruncated   uint64 // shorter than an Ethernet header
	EthInNotForUs    uint64 // destination MAC neither ours nor broadcast
	EthInBadSrc      uint64 // source MAC multicast/broadcast or our own
	EthInTagged      uint64 // 802.1Q/802.1ad tagged (this host has no VLANs)
	EthInUnknownType uint64 // EtherType other than IPv4 and ARP
	EthOutFrames     uint64 // frames passed to Output.Send

	// Ip MIB.
	InReceives      uint64 // IPv4 packets received (before any check)
	InHdrErrors     uint64 // header errors: sum of the In* header reasons below
	InAddrErrors    uint64 // destination not ours, or martian source
	InUnknownProtos uint64 // no Transport for the protocol
	InDiscards      uint64 // datagrams dropped for lack of resources (reassembly memory, slots, buffer size, pool buffers)
	InDelivers      uint64 // handed to a Transport or to ICMP
	OutRequests     uint64 // datagrams given to Output/Ping or generated (ICMP)
	OutDiscards     uint64 // datagrams dropped on output (no buffer, queue overflow, neighbour failed)
	OutNoRoutes     uint64 // no route to the destination
	ReasmTimeout    uint64 // datagrams whose reassembly timed out
	ReasmReqds      uint64 // fragments received
	ReasmOKs        uint64 // datagrams reassembled
	ReasmFails      uint64 // datagrams given up (timeout, overlap, too big, evicted, inconsistent)
	FragOKs         uint64 // datagrams fragmented on output
	FragFails       uint64 // datagrams too big that could not be fragmented (DF set or no buffer)
	FragCreates     uint64 // fragments created on output
	PMTUUpdates     uint64 // path MTUs lowered by "fragmentation needed" errors

	// IPv4 input drops by reason (each also in InHdrErrors or InAddrErrors).
	InBadVersion    uint64 // version nibble not 4
	InBadHeaderLen  uint64 // IHL < 5, or total length inconsistent with IHL
	InTruncatedPkts uint64 // frame shorter than the IPv4 header or total length
	InCsumErrors    uint64 // header checksum wrong
	InBadFragment   uint64 // impossible fragment (offset+length beyond 65535, ragged middle fragment)
	InNotForUs      uint64 // destination neither our address nor a broadcast; or unicast in an Ethernet broadcast (RFC 1122 3.3.6)
	InMartianSrc    uint64 // source multicast, broadcast, loopback or our own

	// Reassembly detail (each also in ReasmFails, except duplicates).
	ReasmOverlaps   uint64 // datagrams dropped because fragments overlapped
	ReasmDuplicates uint64 // exact duplicate fragments ignored
	ReasmTooBig     uint64 // datagrams larger than both their first fragment's buffer and a reassembly pool buffer (or no pool)
	ReasmNoBuffer   uint64 // datagrams needing a reassembly pool buffer when the pool was empty (also in InDiscards)
	ReasmEvicted    uint64 // datagrams dropped for memory or slots
	ReasmBadLen     uint64 // fragments inconsistent with the datagram's known length

	// Icmp MIB.
	InMsgs             uint64 // ICMP messages received
	InErrors           uint64 // ICMP messages with errors (bad checksum, truncated)
	InIcmpCsumErrors   uint64 // ICMP checksum wrong (also in InErrors)
	InDestUnreachs     uint64
	InTimeExcds        uint64
	InEchos            uint64
	InEchoReps         uint64
	InOtherIcmp        uint64 // types this host ignores
	OutMsgs            uint64 // ICMP messages sent
	OutDestUnreachs    uint64
	OutTimeExcds       uint64
	OutEchos           uint64
	OutEchoReps        uint64
	OutIcmpRateLimited uint64 // ICMP errors not sent because of ICMP.ErrorRate

	// ARP.
	ArpIn          uint64 // ARP packets received
	ArpInRequests  uint64
	ArpInReplies   uint64
	ArpInBad       uint64 // malformed or not Ethernet/IPv4
	ArpInConflicts uint64 // a sender claimed our address
	ArpOut         uint64 // ARP packets sent
	ArpOutRequests uint64
	ArpOutReplies  uint64

	// Neighbour cache.
	NeighResolved   uint64 // INCOMPLETE entries resolved
	NeighFailed     uint64 // resolutions or probes that failed
	NeighQueued     uint64 // packets queued awaiting resolution
	NeighQueueDrops uint64 // queued packets dropped (overflow or failure)
	NeighEvicted    uint64 // entries evicted to make room
	NeighTableFull  uint64 // resolutions refused: every entry busy resolving
	NeighGC         uint64 // stale or failed entries removed by garbage collection
}
