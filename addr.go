package ustack

import (
	"net"
	"net/netip"
	"strconv"
	"syscall"
)

// Address handling for ListenPacket (and, later, Listen and Dial).
// Addresses are "host:port" as for the net package, where host is empty
// (the unspecified address), an IPv4 literal, or an IPv4-mapped IPv6
// literal in brackets, and port is a decimal number. There is no name
// resolution: a stack has no resolver of its own. Malformed addresses give
// a *net.AddrError; IPv6 ones an error matching syscall.EAFNOSUPPORT.

// checkNetwork accepts the networks of the given family ("udp": "udp" and
// "udp4"; "tcp": "tcp" and "tcp4"). The IPv6 ones fail with errIPv6, any
// other with net.UnknownNetworkError.
func checkNetwork(family, network string) error {
	switch network {
	case family, family + "4":
		return nil
	case family + "6":
		return errIPv6
	}
	return net.UnknownNetworkError(network)
}

// parseAddrPort parses address. An empty address is the unspecified
// address with port 0.
func parseAddrPort(address string) (netip.AddrPort, error) {
	if address == "" {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), 0), nil
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err // already a *net.AddrError
	}
	p, err := parsePort(port)
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "invalid port", Addr: address}
	}
	if host == "" {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), p), nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "host is not an IP address (ustack does no name resolution)", Addr: address}
	}
	if a.Zone() != "" {
		return netip.AddrPort{}, &net.AddrError{Err: "zoned address", Addr: address}
	}
	a = a.Unmap()
	if !a.Is4() {
		return netip.AddrPort{}, errIPv6
	}
	return netip.AddrPortFrom(a, p), nil
}

// parsePort parses a decimal port; an empty string is port 0.
func parsePort(s string) (uint16, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, err
	}
	return uint16(n), nil
}

// addrPortOf converts the destination of a WriteTo: a *net.UDPAddr (or a
// netip-based one through its AddrPort). IPv4-mapped addresses are
// unmapped; IPv6 ones fail with errIPv6; anything else with EINVAL.
func addrPortOf(addr net.Addr) (netip.AddrPort, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || ua == nil {
		return netip.AddrPort{}, syscall.EINVAL
	}
	return checkDest(ua.AddrPort())
}

// checkDest validates a datagram destination: IPv4 (unmapped) with a
// non-zero port.
func checkDest(ap netip.AddrPort) (netip.AddrPort, error) {
	a := ap.Addr().Unmap()
	switch {
	case !a.IsValid():
		return netip.AddrPort{}, syscall.EINVAL
	case !a.Is4():
		return netip.AddrPort{}, errIPv6
	case ap.Port() == 0:
		return netip.AddrPort{}, syscall.EINVAL
	}
	return netip.AddrPortFrom(a, ap.Port()), nil
}

// udpAddr is the net.Addr form of ap (nil for the zero AddrPort, so that
// an OpError does not print a meaningless address).
func udpAddr(ap netip.AddrPort) net.Addr {
	if !ap.IsValid() {
		return nil
	}
	return net.UDPAddrFromAddrPort(ap)
}
