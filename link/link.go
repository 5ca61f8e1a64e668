package link

import (
	"errors"
	"time"
)

// ErrClosed is returned by operations on a Link that has been closed.
var ErrClosed = errors.New("link: closed")

// Link is a raw frame path. All methods except Close are called by the one
// goroutine that owns the link (a shard); Close may be called from any
// goroutine and makes later Recv/Send calls return 0.
type Link interface {
	// Recv moves up to len(bufs) received frames into bufs and returns how
	// many it stored. It never blocks. The caller owns every returned Buf.
	Recv(bufs []*Buf) int

	// Send queues frames for transmission and returns how many it took, a
	// prefix of bufs. The link owns the accepted Bufs; the caller keeps the
	// rest (the TX queue was full) and may retry later or Free them.
	Send(bufs []*Buf) int

	// MTU is the largest IP packet (Ethernet payload) the link carries.
	MTU() int

	// HardwareAddr is the link's Ethernet address.
	HardwareAddr() [6]byte

	// Pool is where buffers for Send come from. Received Bufs may belong
	// to another pool (the peer's, for link/mem); Free returns each Buf to
	// its own pool.
	Pool() *Pool

	// Fd is a file descriptor that becomes readable when frames may be
	// waiting, or -1 when the link has none (see Waiter).
	Fd() int

	// Stats returns a snapshot of the link's counters.
	Stats() Stats

	// Close releases the link. Frames in flight are dropped and their
	// buffers returned to their pools.
	Close() error
}

// Waiter is implemented by links that can wake a sleeping poller without a
// file descriptor, parking in the Go scheduler instead of in the kernel.
// The protocol is need-wakeup, as AF_XDP's: the poller calls Arm, and if Arm
// reports the RX queue empty it may block on the channel; the link sends on
// the channel (without blocking) the next time it makes a frame available
// after Arm. Spurious wake-ups are allowed; lost wake-ups are not.
type Waiter interface {
	// Arm registers c for one wake-up. It returns false, and registers
	// nothing, when frames are already waiting.
	Arm(c chan<- struct{}) bool
}

// GSO is implemented by links that accept frames larger than MTU()+14
// carrying one TCP segment to be cut by the link or the kernel (TSO/GSO),
// and that may deliver coalesced frames (GRO) larger than the MTU.
type GSO interface {
	// MaxFrame is the largest frame, in bytes, Send accepts.
	MaxFrame() int
}

// Stats are a link's counters. All fields count since the link was made.
type Stats struct {
	RxFrames  uint64 // frames returned by Recv
	RxBytes   uint64 // bytes in those frames
	TxFrames  uint64 // frames accepted by Send
	TxBytes   uint64 // bytes in those frames
	RxDropped uint64 // frames lost before Recv (RX queue full, no buffer)
	TxDropped uint64 // frames refused by Send or dropped after it
	RxErrors  uint64 // malformed frames discarded by the link itself
	TxErrors  uint64 // frames the link failed to transmit
}

// Timestamp is the monotonic clock used by links that stamp frames (the
// capture wrapper). It is the only wall-clock read in this package.
type Timestamp func() time.Time
