package link

import "encoding/binary"

// Frame layout constants for FlowHash. They are parsed here directly rather
// than through package wire, so that link stays free of protocol packages.
const (
	ethHeaderLen   = 14
	vlanTagLen     = 4
	etherTypeIPv4  = 0x0800
	etherTypeVLAN  = 0x8100
	ipv4MinHdrLen  = 20
	ipProtoTCP     = 6
	tcpMinHdrLen   = 20
	ipv4FlagMF     = 0x2000
	ipv4FragOffset = 0x1fff
)

// Mixing constants: two odd 64-bit multipliers to combine the endpoints,
// and the fmix64 finalizer's multipliers, whose output bits each depend on
// every input bit, so low bits (the ones % n looks at) are well spread.
const (
	flowK1  = 0x9e3779b97f4a7c15
	flowK2  = 0xc2b2ae3d27d4eb4f
	fmixM1  = 0xff51afd7ed558ccd
	fmixM2  = 0xc4ceb9fe1a85ec53
	fmixSh  = 33
	foldSh  = 32
	portSh  = 16
	maskU32 = 0xffffffff
)

// FlowHash returns a symmetric hash of the IPv4 TCP 4-tuple of an Ethernet frame
// (untagged or with one 802.1Q tag): both directions of one connection give the same value.
// ok is false for anything else: not IPv4, not TCP, an IPv4 fragment (MF set or offset != 0),
// or a frame too short for the headers. Never panics, never allocates.
func FlowHash(frame []byte) (hash uint32, ok bool) {
	if len(frame) < ethHeaderLen {
		return 0, false
	}
	l3 := ethHeaderLen
	et := binary.BigEndian.Uint16(frame[12:14])
	if et == etherTypeVLAN {
		if len(frame) < ethHeaderLen+vlanTagLen {
			return 0, false
		}
		et = binary.BigEndian.Uint16(frame[16:18])
		l3 += vlanTagLen
	}
	if et != etherTypeIPv4 || len(frame) < l3+ipv4MinHdrLen {
		return 0, false
	}
	ip := frame[l3:]
	if ip[0]>>4 != 4 {
		return 0, false
	}
	ihl := int(ip[0]&0x0f) * 4
	if ihl < ipv4MinHdrLen || ip[9] != ipProtoTCP {
		return 0, false
	}
	if binary.BigEndian.Uint16(ip[6:8])&(ipv4FlagMF|ipv4FragOffset) != 0 {
		return 0, false
	}
	if len(ip) < ihl+tcpMinHdrLen {
		return 0, false
	}
	tcp := ip[ihl:]
	src := uint64(binary.BigEndian.Uint32(ip[12:16]))<<portSh | uint64(binary.BigEndian.Uint16(tcp[0:2]))
	dst := uint64(binary.BigEndian.Uint32(ip[16:20]))<<portSh | uint64(binary.BigEndian.Uint16(tcp[2:4]))
	return mixEndpoints(src, dst), true
}

// mixEndpoints hashes two 48-bit (address, port) endpoints, ordered first
// so that swapping them changes nothing.
func mixEndpoints(a, b uint64) uint32 {
	if a > b {
		a, b = b, a
	}
	x := a*flowK1 + b*flowK2
	x ^= x >> fmixSh
	x *= fmixM1
	x ^= x >> fmixSh
	x *= fmixM2
	x ^= x >> fmixSh
	return uint32(x>>foldSh) ^ uint32(x&maskU32)
}

// SteerQueue is the queue of n that frame belongs to: FlowHash(frame) % n when ok, else 0
// (ARP, ICMP, UDP, fragments and everything else go to queue 0). n <= 1 gives 0.
func SteerQueue(frame []byte, n int) int {
	if n <= 1 {
		return 0
	}
	h, ok := FlowHash(frame)
	if !ok {
		return 0
	}
	return int(uint64(h) % uint64(n))
}
