package tcp

import (
	"errors"
	"net/netip"

	"github.com/ustack/ustack/tcp/seqnum"
	"github.com/ustack/ustack/wire"
)

// TCP flag bits (RFC 9293 §3.1), typed as wire.TCPFlags.
const (
	flagFIN = wire.TCPFlags(0x01)
	flagSYN = wire.TCPFlags(0x02)
	flagRST = wire.TCPFlags(0x04)
	flagPSH = wire.TCPFlags(0x08)
	flagACK = wire.TCPFlags(0x10)
	flagURG = wire.TCPFlags(0x20)
)

// Tuple identifies a connection from our side.
type Tuple struct {
	Local, Remote netip.AddrPort
}

// Segment is a received TCP segment, already parsed and checksum-verified by
// the caller. Payload should alias the data of the *link.Buf passed
// alongside it, so that in-order data is queued without a copy (otherwise
// it is copied into that buffer when it fits).
type Segment struct {
	Seq, Ack seqnum.Value
	Flags    wire.TCPFlags
	Window   uint16
	Opts     wire.TCPOptions
	Payload  []byte
}

// segLen is SEG.LEN: payload plus one for each of SYN and FIN.
func (s *Segment) segLen() seqnum.Size {
	n := seqnum.Size(len(s.Payload))
	if s.Flags&flagSYN != 0 {
		n++
	}
	if s.Flags&flagFIN != 0 {
		n++
	}
	return n
}

func (s *Segment) has(f wire.TCPFlags) bool { return s.Flags&f != 0 }

// Output is implemented by the glue that turns engine decisions into frames.
// Send must copy the header, the options and the payload (p1 followed by p2;
// two slices because the send ring wraps) into a transmit frame, compute the
// checksum and queue it. The engine reuses h, opts, p1 and p2 after Send
// returns. Send must not call back into the Conn. A segment the glue cannot
// send (no buffer) is simply lost; retransmission recovers it.
type Output interface {
	Send(t *Tuple, h *wire.TCPHeader, opts *wire.TCPOptions, p1, p2 []byte)
}

// Events is a bitmask of notifications pending for the application. The
// engine sets bits as things happen; the glue collects them with
// Conn.TakeEvents once per burst and wakes readers and writers then.
type Events uint8

// Event bits.
const (
	EventReadable    Events = 1 << iota // data or EOF became readable
	EventWritable                       // send ring space opened up
	EventEstablished                    // handshake completed
	EventClosed                         // connection reached CLOSED (or TIME-WAIT)
	EventError                          // an error (reset, timeout) is pending
)

// Errors reported by Conn methods.
var (
	ErrConnRefused   = errors.New("tcp: connection refused")
	ErrConnReset     = errors.New("tcp: connection reset by peer")
	ErrConnAborted   = errors.New("tcp: connection aborted")
	ErrTimeout       = errors.New("tcp: connection timed out")
	ErrClosed        = errors.New("tcp: use of closed connection")
	ErrNotConnected  = errors.New("tcp: not connected")
	ErrWouldBlock    = errors.New("tcp: operation would block")
	ErrWriteShutdown = errors.New("tcp: write after shutdown")
)
