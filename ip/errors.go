package ip

import "errors"

// Errors returned by Output, Ping and SourceFor. They are wrapped with
// detail; match them with errors.Is.
var (
	// ErrNoRoute: no route to the destination (EHOSTUNREACH/ENETUNREACH).
	ErrNoRoute = errors.New("ip: no route to host")
	// ErrMsgSize: the packet is larger than the MTU and may not be
	// fragmented (EMSGSIZE).
	ErrMsgSize = errors.New("ip: message too long")
	// ErrNoBuffer: the buffer pool is empty or a buffer lacks the
	// headroom or room needed (ENOBUFS).
	ErrNoBuffer = errors.New("ip: no buffer space")
	// ErrBadAddress: the destination or source cannot be used (for
	// example not IPv4, or a source that is not the host's).
	ErrBadAddress = errors.New("ip: bad address")
)
