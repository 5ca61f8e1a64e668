package ip

import (
	"fmt"
	"net/netip"
)

// route is one compiled routing entry. gw == 0 means on-link.
type route struct {
	net, mask uint32
	bits      int
	gw        uint32
}

// table holds the connected prefix, static routes and the default route,
// sorted longest prefix first; lookup is a linear scan (a host has a
// handful of routes) and allocates nothing.
type table struct {
	routes []route
}

func newTable(c *Config) table {
	var t table
	bits := c.Addr.Bits()
	t.add(route{net: a4(c.Addr.Masked().Addr()), mask: maskOf(bits), bits: bits})
	for _, r := range c.Routes {
		t.add(route{net: a4(r.Prefix.Addr()), mask: maskOf(r.Prefix.Bits()), bits: r.Prefix.Bits(), gw: a4(r.Gateway)})
	}
	if c.Gateway.IsValid() {
		t.add(route{gw: a4(c.Gateway)})
	}
	return t
}

// add inserts r after every route at least as long, so the connected
// prefix (added first) wins ties.
func (t *table) add(r route) {
	i := len(t.routes)
	for i > 0 && t.routes[i-1].bits < r.bits {
		i--
	}
	t.routes = append(t.routes, route{})
	copy(t.routes[i+1:], t.routes[i:])
	t.routes[i] = r
}

// lookup returns the next hop for dst (dst itself when on-link).
func (t *table) lookup(dst uint32) (nextHop uint32, ok bool) {
	for i := range t.routes {
		r := &t.routes[i]
		if dst&r.mask == r.net {
			if r.gw == 0 {
				return dst, true
			}
			return r.gw, true
		}
	}
	return 0, false
}

// NextHop returns the neighbour a packet to dst is sent to: dst itself
// when it is on-link, else the gateway of the longest matching route.
func (h *Host) NextHop(dst netip.Addr) (netip.Addr, error) {
	dst = dst.Unmap()
	if !dst.Is4() {
		return netip.Addr{}, fmt.Errorf("%w: %v is not IPv4", ErrBadAddress, dst)
	}
	v := a4(dst)
	if v == limitedBroadcast || isMulticast(v) || v == h.bcast {
		return dst, nil
	}
	nh, ok := h.routes.lookup(v)
	if !ok {
		return netip.Addr{}, fmt.Errorf("%w: %v", ErrNoRoute, dst)
	}
	return addrOf(nh), nil
}

// SourceFor returns the source address to use towards dst: the host's
// address when dst is routable, else an error wrapping ErrNoRoute.
func (h *Host) SourceFor(dst netip.Addr) (netip.Addr, error) {
	if _, err := h.NextHop(dst); err != nil {
		return netip.Addr{}, err
	}
	return h.addr, nil
}
