// Package wire reads and writes the headers ustack puts on the wire:
// Ethernet (with 802.1Q/802.1ad tags), ARP, IPv4, ICMPv4, UDP, IPv6 with
// its extension headers, ICMPv6 with NDP, and TCP with its options, plus
// the Internet checksum (RFC 1071) with pseudo-header and incremental
// (RFC 1624) forms.
//
// # Views
//
// Every header is a view: a named byte slice (type IPv4 []byte) over the
// packet as it lies in its frame buffer. ParseX checks every length the
// view depends on once, up front, and returns the view or an error that
// matches one of the package's sentinel errors under errors.Is
// (ErrTruncated, ErrBadLength, ErrBadVersion, ...). After a successful
// parse no accessor can panic or read outside the slice, whatever the
// bytes are; where a length field bounds the packet (IPv4 total length,
// UDP length) the returned view is trimmed to it, so link padding is
// dropped. Views built by conversion from an arbitrary slice rather than
// by ParseX or a builder carry no such promise.
//
// Checksums are not verified by the parsers: links with checksum offload
// report verified frames, so verification is a separate call
// (ChecksumValid and friends) the caller makes when it has to.
//
// # Builders
//
// PutX writes a header (and, where stated, its checksum) into the front of
// a caller-provided slice and returns how many bytes it wrote, or
// ErrShortBuffer (wrapped) if the slice is too small. Builders and
// setters never allocate; nor do parsers, on success or failure.
//
// # Scope
//
// The package performs no I/O, keeps no state and never reads a clock.
// Policy (which ICMP errors to send, whether to accept a fragment) belongs
// to the ip, tcp and udp packages; wire only says what the bytes mean.
package wire
