package wire

import "errors"

// Errors returned by the parsers. Callers match them with errors.Is; the
// parsers may wrap them with detail.
var (
	// ErrTruncated: the buffer is shorter than the header (or than a
	// length field inside it says).
	ErrTruncated = errors.New("wire: truncated")
	// ErrBadLength: a length field is impossible (below the minimum, or
	// inconsistent with another length).
	ErrBadLength = errors.New("wire: bad length")
	// ErrBadVersion: the IP version nibble is not the one expected.
	ErrBadVersion = errors.New("wire: bad version")
	// ErrBadOption: an option's kind/length is malformed.
	ErrBadOption = errors.New("wire: bad option")
	// ErrBadChecksum: the checksum does not verify.
	ErrBadChecksum = errors.New("wire: bad checksum")
	// ErrUnsupported: well-formed but of a kind this package does not
	// handle (for example an ARP hardware type other than Ethernet).
	ErrUnsupported = errors.New("wire: unsupported")
	// ErrShortBuffer: a builder was given too small a destination.
	ErrShortBuffer = errors.New("wire: destination buffer too short")
)
