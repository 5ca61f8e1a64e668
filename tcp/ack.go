package tcp

import (
	"time"

	"github.com/ustack/ustack/tcp/cc"
	"github.com/ustack/ustack/tcp/seqnum"
)

// processAck is the ESTABLISHED ACK processing of RFC 9293 §3.10.7.4
// (fifth), shared by the states that still have data in flight: it moves
// SND.UNA, frees acknowledged ring space, takes RTT samples (RFC 6298,
// Karn, RFC 7323 §4.1), drives congestion control and NewReno recovery
// (RFC 5681, RFC 6582), and updates the send window (SND.WL1/WL2 rule).
func (c *Conn) processAck(now time.Duration, seg *Segment, out Output) {
	ack := seg.Ack
	prevWnd := c.sndWnd
	newWnd := uint32(seg.Window) << c.sndWscale
	switch {
	case ack.GreaterThan(c.sndUna):
		c.ackNewData(now, seg, out)
	case ack == c.sndUna:
		c.cnt.TCPPureAcks += b2u(len(seg.Payload) == 0)
		if len(seg.Payload) == 0 && !seg.has(flagFIN) && !seg.has(flagSYN) &&
			newWnd == prevWnd && c.sndMax != c.sndUna {
			c.dupAck(now, seg, out)
		}
	}
	// Window update (RFC 9293 §3.10.7.4: if SND.WL1 < SEG.SEQ or
	// (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)).
	if c.sndWl1.LessThan(seg.Seq) || (c.sndWl1 == seg.Seq && c.sndWl2.LessThanEq(ack)) {
		c.sndWnd = newWnd
		c.sndWl1, c.sndWl2 = seg.Seq, ack
		c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
		if c.sndWnd > 0 && prevWnd == 0 {
			// The window reopened: stop probing.
			c.disarm(timerPersist)
			c.persistShift = 0
		}
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// ackNewData handles SND.UNA < SEG.ACK <= SND.MAX.
func (c *Conn) ackNewData(now time.Duration, seg *Segment, out Output) {
	ack := seg.Ack
	acked := uint32(ack.Sub(c.sndUna))
	c.cnt.TCPHPAcks++
	// Free the acknowledged bytes of the ring (not SYN or FIN).
	if ack.GreaterThan(c.ringSeq) {
		n := min(int(ack.Sub(c.ringSeq)), c.ring.n)
		c.ring.consume(n)
		c.ringSeq = c.ringSeq.Add(seqnum.Size(n))
		c.bytesAcked += uint64(n)
		if n > 0 {
			c.events |= EventWritable
		}
	}
	// RTT: a timed segment (never retransmitted) first, else the echo.
	sampled := false
	if c.rttPending && ack.GreaterThan(c.rttSeq) {
		c.rtt.Sample(now-c.rttStart, now)
		c.rttPending = false
		sampled = true
	} else if c.sampleTS(now, seg) {
		sampled = true
	}
	if sampled {
		c.rtt.ResetBackoff()
	}
	c.sndUna = ack
	if c.sndNxt.LessThan(c.sndUna) {
		c.sndNxt = c.sndUna
	}
	c.retries = 0
	c.firstRtxTime = 0
	c.sndUnaTime = now
	c.persistShift = 0
	inFlight := int(c.sndMax.Sub(c.sndUna))

	switch {
	case c.inRecovery && ack.LessThan(c.recover):
		// Partial ACK (RFC 6582 §3.2 step 5): resend the next hole,
		// deflate by what was acknowledged (adding back one segment),
		// reset the timer.
		c.inflate = uint32(max(int(c.inflate)-int(acked), 0)) + uint32(c.sndMSS)
		c.retransmitHead(now, out)
		c.armRTO(now)
	case c.inRecovery:
		// Full ACK: leave recovery (step 6).
		c.inRecovery = false
		c.dupAcks = 0
		c.inflate = 0
		c.cc.OnRecoveryExit(now)
	default:
		c.dupAcks = 0
		appLimited := !cc.CwndLimited(c.cc.Cwnd(), inFlight+int(acked), c.cc.InSlowStart(), c.cwndFull)
		c.cc.OnAck(int(acked), c.rtt.SRTT(), inFlight, now, appLimited)
	}
	if c.rtoRecover && ack.GreaterThanEq(c.recover) {
		c.rtoRecover = false
	}
	// RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else
	// restart it.
	if c.sndUna == c.sndMax {
		c.disarm(timerRTX)
	} else if !c.inRecovery {
		c.armRTO(now)
	}
}

// dupAck counts a duplicate ACK (RFC 5681 §2) and starts fast retransmit
// and NewReno recovery at the threshold (RFC 6582 §3.2 steps 1-4).
func (c *Conn) dupAck(now time.Duration, seg *Segment, out Output) {
	c.dupAcks++
	inFlight := int(c.sndMax.Sub(c.sndUna))
	switch {
	case c.inRecovery:
		// Step 4: each further dupack means a segment left the network
		// (window inflation).
		c.inflate += uint32(c.sndMSS)
	case c.dupAcks == c.cfg.ReorderingThreshold:
		// Step 2: only if this loss is not from the previous window.
		if c.sndUna.GreaterThan(c.recover) {
			c.inRecovery = true
			c.recover = c.sndMax
			c.cnt.TCPFastRetrans++
			c.cc.OnCongestion(cc.FastRetransmit, inFlight, now)
			c.inflate = uint32(c.cfg.ReorderingThreshold * c.sndMSS)
			c.retransmitHead(now, out)
			c.armRTO(now)
		}
	}
}
