package tcp

import (
	"io"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/tcp/seqnum"
)

// payloadOffset finds where p lies inside buf's data, so the buffer can be
// trimmed to it. ok is false when p does not alias buf.
func payloadOffset(buf *link.Buf, p []byte) (int, bool) {
	if buf == nil || len(p) == 0 {
		return 0, false
	}
	b := buf.Bytes()
	k := cap(b) - cap(p)
	if k < 0 || k+len(p) > len(b) || &b[k] != &p[0] {
		return 0, false
	}
	return k, true
}

// trimBuf narrows buf's data window to exactly p. When p does not alias
// buf (a caller that copied the payload elsewhere), p is copied into buf
// if it fits, so that the data is still queued.
func trimBuf(buf *link.Buf, p []byte) bool {
	if buf == nil {
		return false
	}
	k, ok := payloadOffset(buf, p)
	if !ok {
		buf.Reset()
		d := buf.Extend(len(p))
		if d == nil {
			return false
		}
		copy(d, p)
		return true
	}
	buf.TrimFront(k)
	buf.SetLen(len(p))
	return true
}

// processText is RFC 9293 §3.10.7.4 "seventh, process the segment text"
// for ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2: in-order data is queued in
// its frame buffer, out-of-order data goes to the reassembly queue with an
// immediate ACK carrying SACK blocks, duplicates are answered at once with
// a D-SACK block. It reports whether buf was kept. seq/data are already
// trimmed to the window's right edge and to start at or after... any point.
func (c *Conn) processText(now time.Duration, seq seqnum.Value, data []byte, buf *link.Buf) (held bool) {
	end := seq.Add(seqnum.Size(len(data)))
	if end.LessThanEq(c.rcvNxt) {
		// Entirely old: our ACK was lost. ACK at once with D-SACK.
		c.cnt.DelayedACKLost++
		if c.setDSACK(seq, end) {
			c.cnt.TCPDSACKOldSent++
		}
		c.enterQuickAck()
		c.ackNow = true
		return false
	}
	if seq.LessThan(c.rcvNxt) {
		// Partly old: D-SACK the old part, keep the rest.
		if c.setDSACK(seq, c.rcvNxt) {
			c.cnt.TCPDSACKOldSent++
		}
		data = data[c.rcvNxt.Sub(seq):]
		seq = c.rcvNxt
	}
	c.eventDataRecv(now, len(data))
	if seq != c.rcvNxt {
		// Out of order: hold it, ACK at once (RFC 5681 §4.2).
		c.cnt.TCPOFOQueue++
		c.enterQuickAck()
		c.ackNow = true
		if buf == nil || !trimBuf(buf, data) {
			return false
		}
		res := c.ooo.Insert(uint32(seq), buf.Bytes(), buf)
		if res.HasDup() {
			if c.setDSACK(seqnum.Value(res.DupLeft), seqnum.Value(res.DupRight)) {
				c.cnt.TCPDSACKOfoSent++
			}
		}
		if res.Dropped > 0 {
			c.cnt.TCPOFODrop++
		}
		return true
	}
	// Data inside the advertised window is always taken: the window was
	// a promise (it never shrinks) and already bounds the queue to about
	// RcvBuf/2 (plus less than one window-scale unit of rounding). Only a
	// queue far beyond that means something is wrong; drop then.
	if c.rcvQ.n+len(data) > 2*c.cfg.RcvBuf+65535 {
		c.cnt.TCPRcvQDrop++
		c.ackNow = true
		return false
	}
	if buf == nil || !trimBuf(buf, data) {
		c.cnt.InErrs++
		return false
	}
	hadOOO := !c.ooo.Empty()
	c.queueInOrder(buf)
	c.rcvNxt = c.rcvNxt.Add(seqnum.Size(len(data)))
	c.bytesReceived += uint64(len(data))
	// Pull in whatever the reassembly queue now holds in order (nothing
	// when it was empty: skip the call on the common in-order path).
	for hadOOO {
		s, ok := c.ooo.Pop(uint32(c.rcvNxt))
		if !ok {
			break
		}
		b, _ := s.Owner.(*link.Buf)
		if b == nil || !trimBuf(b, s.Data) {
			if s.Owner != nil {
				s.Owner.Free()
			}
			break
		}
		c.queueInOrder(b)
		c.rcvNxt = c.rcvNxt.Add(seqnum.Size(len(s.Data)))
		c.bytesReceived += uint64(len(s.Data))
	}
	if hadOOO {
		// A hole was filled (or shrunk): ACK at once (RFC 5681 §4.2).
		c.ackNow = true
	}
	c.growWindow(len(data))
	c.events |= EventReadable
	c.scheduleAck()
	return true
}

// coalesceMax is the largest payload copied into the tail buffer instead
// of queueing its own frame.
const coalesceMax = 512

// queueInOrder appends a trimmed buffer to the receive queue. A small
// payload that fits in the tail buffer's spare room is copied there and its
// frame freed at once (Linux's tcp_try_coalesce), so a flood of tiny
// segments cannot pin one frame per byte.
func (c *Conn) queueInOrder(b *link.Buf) {
	if t := c.rcvQ.tail; t != nil && b.Len() <= coalesceMax && b.Len() <= t.Tailroom() {
		copy(t.Extend(b.Len()), b.Bytes())
		c.rcvQ.n += b.Len()
		c.cnt.TCPRcvCoalesce++
		b.Free()
		return
	}
	c.rcvQ.push(b)
}

// setDSACK records a duplicate range to report first in the next ACK's
// SACK option (RFC 2883), when SACK and D-SACK are on.
func (c *Conn) setDSACK(l, r seqnum.Value) bool {
	if c.cfg.DisableDSACK || !c.sackOK {
		return false
	}
	c.dsack.Left, c.dsack.Right = uint32(l), uint32(r)
	c.hasDSACK = true
	return true
}

// eventDataRecv tracks the receive MSS estimate and the delayed-ACK
// timeout (ato) as data arrives, like Linux's tcp_measure_rcv_mss and
// tcp_event_data_recv.
func (c *Conn) eventDataRecv(now time.Duration, n int) {
	if n > c.rcvMSS {
		c.rcvMSS = min(n, c.advMSS)
	}
	minAto := c.cfg.DelAckMin
	switch {
	case c.ato == 0:
		c.enterQuickAck()
		c.ato = minAto
	default:
		m := now - c.lastDataRcv
		switch {
		case m <= minAto/2:
			c.ato = c.ato/2 + minAto/2
		case m < c.ato:
			c.ato = min(c.ato/2+m, c.rtt.RTO())
		case m > c.rtt.RTO():
			// Idle for a while: the peer is starting over.
			c.enterQuickAck()
		}
	}
	c.lastDataRcv = now
}

// enterQuickAck starts acknowledging every segment at once, for up to
// QuickAcks ACKs (bounded by half the window in segments, as Linux).
func (c *Conn) enterQuickAck() {
	q := int(c.rcvWnd) / (2 * max(c.rcvMSS, 1))
	q = min(max(q, 2), c.cfg.QuickAcks)
	if q > c.quickAcks {
		c.quickAcks = q
	}
}

// scheduleAck decides between an immediate and a delayed ACK for newly
// queued in-order data (RFC 9293 §3.8.6.3, RFC 5681 §4.2, Linux
// __tcp_ack_snd_check): at once in quick-ACK mode or when more than one
// full segment is unacknowledged, else when the delayed-ACK timer fires.
func (c *Conn) scheduleAck() {
	if (c.quickAcks > 0 && !c.pingpong) || int(c.rcvNxt.Sub(c.rcvWup)) > c.rcvMSS {
		c.ackNow = true
		return
	}
	c.ackPending = true
}

// growWindow raises the window clamp as data flows (Linux tcp_grow_window:
// two segments per segment received, up to the buffer).
func (c *Conn) growWindow(n int) {
	if n < 128 || c.rcvSsthresh >= uint32(c.cfg.winSpace()) {
		return
	}
	c.rcvSsthresh = min(c.rcvSsthresh+uint32(2*c.advMSS), uint32(c.cfg.winSpace()))
}

// delAckTimeout is when an owed ACK must go out: ato, at least DelAckMin,
// at most min(DelAckMax, SRTT) (Linux __tcp_send_delayed_ack).
func (c *Conn) delAckTimeout() time.Duration {
	ato := max(c.ato, c.cfg.DelAckMin)
	maxAto := c.cfg.DelAckMax
	if c.rtt.HasSample() {
		maxAto = min(maxAto, max(c.rtt.SRTT(), c.cfg.DelAckMin))
	}
	return min(ato, maxAto)
}

// flushAck sends the ACK owed at the end of an input or timer step, or arms
// the delayed-ACK timer.
func (c *Conn) flushAck(now time.Duration, out Output) {
	if c.state == Closed || c.state == Listen || c.state == SynSent {
		return
	}
	if c.ackNow {
		c.sendAck(now, out)
		return
	}
	if c.ackPending && !c.isArmed(timerDelAck) {
		c.arm(timerDelAck, now+c.delAckTimeout())
	}
}

// Buffered is how many received bytes are waiting for Read.
func (c *Conn) Buffered() int { return c.rcvQ.n }

// Read copies received data into p (RFC 9293 §3.10.3, RECEIVE call),
// freeing each frame buffer once it is consumed. When the window has
// opened enough (receiver SWS avoidance: by at least min(space/2, MSS)
// and to at least twice what the peer last saw), a window update is sent.
// It returns io.EOF after the peer's FIN once all data is read,
// ErrWouldBlock when nothing is queued yet.
func (c *Conn) Read(p []byte, now time.Duration, out Output) (int, error) {
	n := 0
	for n < len(p) && c.rcvQ.head != nil {
		b := c.rcvQ.head
		k := copy(p[n:], b.Bytes())
		n += k
		c.rcvQ.n -= k
		if k == b.Len() {
			c.rcvQ.head = b.Next
			if c.rcvQ.head == nil {
				c.rcvQ.tail = nil
			}
			b.Next = nil
			b.Free()
		} else {
			b.TrimFront(k)
		}
	}
	if n > 0 {
		c.afterRead(now, out)
		return n, nil
	}
	if len(p) == 0 {
		return 0, nil
	}
	switch {
	case c.finRcvd:
		return 0, io.EOF
	case c.err != nil:
		return 0, c.err
	case c.state == Closed:
		return 0, io.EOF
	case c.state == SynSent || c.state == SynReceived || c.state.synchronized():
		return 0, ErrWouldBlock
	}
	return 0, ErrNotConnected
}

// Peek returns the first queued received bytes without consuming them (a
// borrowed view valid until the next Read, Consume or Input).
func (c *Conn) Peek() []byte {
	if c.rcvQ.head == nil {
		return nil
	}
	return c.rcvQ.head.Bytes()
}

// Consume drops n bytes from the front of the receive queue (after the
// event layer used a borrowed Peek view), with Read's window update rule.
func (c *Conn) Consume(now time.Duration, n int, out Output) int {
	done := 0
	for done < n && c.rcvQ.head != nil {
		b := c.rcvQ.head
		k := min(n-done, b.Len())
		done += k
		c.rcvQ.n -= k
		if k == b.Len() {
			c.rcvQ.head = b.Next
			if c.rcvQ.head == nil {
				c.rcvQ.tail = nil
			}
			b.Next = nil
			b.Free()
		} else {
			b.TrimFront(k)
		}
	}
	if done > 0 {
		c.afterRead(now, out)
	}
	return done
}

// afterRead sends a window update when reading opened the window enough
// (Linux tcp_cleanup_rbuf).
func (c *Conn) afterRead(now time.Duration, out Output) {
	if !c.state.synchronized() || c.state == TimeWait || c.finRcvd {
		return
	}
	cur := c.curWindow()
	space := c.cfg.winSpace()
	if 2*cur > uint32(space) {
		return
	}
	nw := c.newWindow()
	if nw > 0 && nw >= 2*cur && nw-cur >= uint32(min(space/2, c.rcvMSS)) {
		if cur == 0 {
			c.cnt.TCPFromZeroWindowAdv++
		}
		c.sendAck(now, out)
	}
}
