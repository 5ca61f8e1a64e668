package tcp

import (
	"time"

	"github.com/ustack/ustack/link"
)

// InputRun processes a received segment as Input does but leaves what
// Input does last — sending what the window now allows and the ACK owed —
// to EndRun. The glue's receive offload (GRO) feeds a run of in-order
// segments of one connection, received in one burst, through InputRun and
// ends it with one EndRun: the run is acknowledged and answered as one
// coalesced segment would be (one ACK instead of one per two segments),
// while each segment is still checked and queued on its own, in its own
// frame buffer (no copy). Every run must be ended by EndRun; other calls
// in between are allowed (the ACK owed then rides on what they send).
func (c *Conn) InputRun(now time.Duration, seg *Segment, buf *link.Buf, out Output) {
	c.cnt.InSegs++
	c.segsIn++
	held := false
	switch c.state {
	case Closed, Listen:
		c.inputClosed(now, seg, out)
	case SynSent:
		held = c.inputSynSent(now, seg, buf, out)
	case TimeWait:
		c.inputTimeWait(now, seg, out)
	default:
		held = c.inputSynchronized(now, seg, buf, out)
	}
	if !held {
		buf.Free()
	}
}

// EndRun ends a run of InputRun calls: it sends what the window allows
// and the ACK owed, as Input does after each segment.
func (c *Conn) EndRun(now time.Duration, out Output) {
	if c.state != Closed {
		c.push(now, out)
		c.flushAck(now, out)
	}
}
