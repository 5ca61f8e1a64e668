// Package ustack is a userspace TCP/IP stack for Go.
//
// A Stack runs the protocols over a raw frame path (a link.Link: the
// in-memory link/mem pair, a TAP device, AF_PACKET or AF_XDP) on its own
// shard goroutine, with no system call and no kernel copy on the data path.
//
//	a, b := mem.Pair()
//	s, err := ustack.New(ustack.Config{Link: a, Addr: netip.MustParsePrefix("10.0.0.1/24")})
//
// The protocol code underneath (packages wire, ip, tcp) is sans-I/O: it
// never reads the clock or starts goroutines, so the same code runs in the
// deterministic simulator (package sim) on virtual time.
package ustack
