package tcp

import (
	"time"

	"github.com/ustack/ustack/tcp/seqnum"
)

// Close is the CLOSE call (RFC 9293 §3.10.4) as Linux's close(2) does it:
// with unread received data, or with LingerZero, the connection is reset
// (RST, TCPAbortOnClose / TCPAbortOnLinger); otherwise our FIN is queued
// behind the unsent data (ESTABLISHED → FIN-WAIT-1, CLOSE-WAIT → LAST-ACK).
// In SYN-SENT the connection just goes away. After Close the connection is
// orphaned: data still arriving is answered with RST, and FIN-WAIT-2 is
// bounded by FinTimeout.
func (c *Conn) Close(now time.Duration, out Output) {
	c.userShut = true
	switch c.state {
	case Closed, Listen:
		// Nothing left to send; give back whatever is still queued.
		c.rcvQ.free()
		c.ooo.Reset()
		return
	case TimeWait:
		c.rcvQ.free()
		return
	case SynSent:
		c.toClosed()
		return
	}
	unread := c.rcvQ.n > 0 || !c.ooo.Empty()
	if unread || c.cfg.LingerZero {
		if unread {
			c.cnt.TCPAbortOnClose++
		} else {
			c.cnt.TCPAbortOnLinger++
		}
		c.abort(now, out)
		return
	}
	c.CloseWrite(now, out)
	if c.state == FinWait2 {
		c.arm(timerTimeWait, now+c.cfg.FinTimeout)
	}
	if c.cfg.Linger > 0 && c.state != Closed && c.state != TimeWait {
		c.arm(timerLinger, now+c.cfg.Linger)
	}
}

// CloseWrite is a half close (shutdown(SHUT_WR)): our FIN is queued after
// the data already written; reading continues until the peer's FIN.
func (c *Conn) CloseWrite(now time.Duration, out Output) {
	switch c.state {
	case SynReceived, Established:
		c.setState(FinWait1)
	case CloseWait:
		c.setState(LastAck)
	case SynSent:
		c.toClosed()
		return
	default:
		return
	}
	c.finQueued = true
	c.ring.release() // when already empty: no more data will be written
	c.disarm(timerKeepalive)
	c.push(now, out)
}

// Abort resets the connection (RFC 9293 §3.10.5 ABORT): a synchronized
// connection sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>; queued data
// is discarded and the connection is CLOSED with ErrConnAborted.
func (c *Conn) Abort(now time.Duration, out Output) {
	c.userShut = true
	switch c.state {
	case Closed, Listen:
		return
	case SynSent, TimeWait:
		c.setErr(ErrConnAborted)
		c.toClosed()
		return
	}
	c.abort(now, out)
}

func (c *Conn) abort(now time.Duration, out Output) {
	c.sendRST(now, out)
	c.setErr(ErrConnAborted)
	c.rcvQ.free()
	c.toClosed()
}

// AcceptSYNInTimeWait reports whether a new SYN for this TIME-WAIT
// connection's tuple may start a new incarnation (RFC 6191): with
// timestamps on both, when its TSval is newer than TS.Recent; without,
// when its sequence number is beyond RCV.NXT (RFC 9293 §3.6.1 / RFC 1122
// §4.2.2.13). When ok, iss is the initial sequence number the new
// connection must use (beyond anything this incarnation sent, as Linux
// picks it), the TIME-WAIT connection is closed, and the glue hands the
// SYN to the listener (Listener.InputISS).
func (c *Conn) AcceptSYNInTimeWait(now time.Duration, seg *Segment) (iss seqnum.Value, ok bool) {
	if c.state != TimeWait {
		return 0, false
	}
	s := c.twState()
	if iss, ok = s.acceptSYN(seg, c.cnt); ok {
		c.toClosed()
	}
	_ = now
	return iss, ok
}
