package sim

import (
	"fmt"
	"time"

	"github.com/ustack/ustack/link/impair"
)

// TraceKind says what happened to a frame.
type TraceKind uint8

// Trace kinds.
const (
	// TraceSent: a port's Send accepted the frame (before any impairment).
	TraceSent TraceKind = iota + 1
	// TraceDropped: the impairment model dropped the frame (Drop says why),
	// or it was oversize (Drop is impair.DropNone), or it arrived at a
	// closed port.
	TraceDropped
	// TraceDelivered: the frame became receivable on Port (duplicates are
	// delivered, and traced, twice).
	TraceDelivered
)

func (k TraceKind) String() string {
	switch k {
	case TraceSent:
		return "sent"
	case TraceDropped:
		return "dropped"
	case TraceDelivered:
		return "delivered"
	}
	return fmt.Sprintf("TraceKind(%d)", uint8(k))
}

// TraceEvent describes one frame event.
type TraceEvent struct {
	Time time.Duration
	Kind TraceKind
	// Port is the sending port for TraceSent and TraceDropped, the
	// receiving port for TraceDelivered and for frames dropped because
	// they arrived at a closed port.
	Port *Port
	// Len is the frame length.
	Len int
	// Data is the frame (nil for drops by the model, whose buffer is
	// already freed). It is valid only during the callback.
	Data []byte
	// Drop is the reason for TraceDropped.
	Drop impair.Drop
}
