package ip

import (
	"encoding/binary"
	"net/netip"
)

// Internally IPv4 addresses are uint32 in host order: cheap to compare,
// hash and mask.

func a4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func b4(b [4]byte) uint32 { return binary.BigEndian.Uint32(b[:]) }

func addrOf(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// maskOf is the netmask of a prefix length in [0, 32].
func maskOf(bits int) uint32 {
	if bits <= 0 {
		return 0
	}
	return ^uint32(0) << (32 - bits)
}

const limitedBroadcast = 0xffffffff

func isMulticast(v uint32) bool { return v>>28 == 0xe }
