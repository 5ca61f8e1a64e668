package ip

import (
	"net/netip"
	"time"
)

// Path MTU discovery (RFC 1191). "Fragmentation needed" errors about our
// datagrams lower the MTU used towards their destination for PMTUExpires;
// Output then fragments DFWant datagrams to it (and refuses bigger DFDo
// ones), and PathMTU tells TCP what segment size fits. The cache is a
// direct-mapped table: a colliding destination overwrites an entry, which
// costs at most one more round of discovery.

const pmtuSlots = 256

type pmtuEntry struct {
	dst     uint32
	mtu     uint16
	expires time.Duration
}

// plateaus are RFC 1191 section 7's MTU plateaus, for routers that do not
// report the next-hop MTU.
var plateaus = [...]int{32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68}

func pmtuIndex(dst uint32) uint32 { return (dst * 0x9e3779b1) >> 24 }

// pathMTU is the MTU towards dst at now.
func (h *Host) pathMTU(now time.Duration, dst uint32) int {
	if h.pmtuUsed == 0 {
		return h.cfg.MTU
	}
	e := &h.pmtu[pmtuIndex(dst)]
	if e.dst == dst && e.mtu != 0 && now < e.expires {
		return int(e.mtu)
	}
	return h.cfg.MTU
}

// PathMTU returns the MTU known for the path to dst: the interface MTU
// unless a "fragmentation needed" error lowered it (for PMTUExpires).
// TCP derives its MSS from it.
func (h *Host) PathMTU(now time.Duration, dst netip.Addr) int {
	dst = dst.Unmap()
	if !dst.Is4() {
		return h.cfg.MTU
	}
	return h.pathMTU(now, a4(dst))
}

// learnPMTU applies a "fragmentation needed" error: mtu is the reported
// next-hop MTU (0 from pre-RFC 1191 routers), quotedLen the total length
// of the datagram that did not fit. As Linux, a report at or above the
// current path MTU is ignored and one below MinPMTU raised to it. It
// returns the path MTU now in force.
func (h *Host) learnPMTU(now time.Duration, dst uint32, mtu, quotedLen int) int {
	cur := h.pathMTU(now, dst)
	if mtu == 0 {
		// A router predating RFC 1191: the next plateau below the
		// datagram that was too big (RFC 1191 section 5).
		mtu = MinMTU
		for _, p := range plateaus {
			if p < quotedLen {
				mtu = p
				break
			}
		}
	}
	mtu = max(mtu, h.cfg.MinPMTU)
	if mtu >= cur {
		return cur
	}
	e := &h.pmtu[pmtuIndex(dst)]
	if e.mtu == 0 {
		h.pmtuUsed++
	}
	*e = pmtuEntry{dst: dst, mtu: uint16(mtu), expires: now + h.cfg.PMTUExpires}
	h.c.PMTUUpdates++
	return mtu
}
