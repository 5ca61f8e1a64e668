package udp

// Counters are a Table's statistics since New, named after Linux's Udp
// MIB in /proc/net/snmp (RFC 4113's udpInDatagrams, udpNoPorts,
// udpInErrors, udpOutDatagrams, and Linux's additions).
type Counters struct {
	InDatagrams  uint64 // datagrams queued to an endpoint
	NoPorts      uint64 // unicast datagrams for a port nobody bound (answered with ICMP port unreachable)
	InErrors     uint64 // datagrams dropped for any other reason: malformed, bad checksum, receive buffer full
	OutDatagrams uint64 // datagrams the IP layer accepted for sending
	RcvbufErrors uint64 // dropped because the endpoint's receive buffer was full (also in InErrors)
	SndbufErrors uint64 // not sent for lack of a buffer (ENOBUFS)
	InCsumErrors uint64 // dropped for a bad checksum (also in InErrors)
	IgnoredMulti uint64 // broadcasts for a port nobody bound (not answered, not in NoPorts)
	OutErrors    uint64 // datagrams the IP layer refused other than for lack of a buffer (no route, too big, bad address)
}
