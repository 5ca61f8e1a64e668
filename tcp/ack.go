package tcp

import (
	"time"

	"github.com/ustack/ustack/tcp/cc"
	"github.com/ustack/ustack/tcp/seqnum"
)

// processAck is the ESTABLISHED ACK processing of RFC 9293 §3.10.7.4
// (fifth), shared by the states that still have data in flight: it moves
// SND.UNA, frees acknowledged ring space, takes RTT samples (RFC 6298,
// Karn, RFC 7323 §4.1), updates the SACK scoreboard and the send window
// (SND.WL1/WL2 rule), and drives congestion control and loss recovery
// (RFC 5681, RFC 6582, RFC 6675, RFC 6937).
func (c *Conn) processAck(now time.Duration, seg *Segment, out Output) {
	ack := seg.Ack
	prevWnd := c.sndWnd
	newWnd := uint32(seg.Window) << c.sndWscale
	newlySacked := c.updateSACK(seg)
	acked := uint32(0)
	dup := false
	switch {
	case ack.GreaterThan(c.sndUna):
		acked = c.ackNewData(now, seg)
	case ack == c.sndUna:
		c.cnt.TCPPureAcks += b2u(len(seg.Payload) == 0)
		dup = c.sndMax != c.sndUna && (newlySacked > 0 ||
			len(seg.Payload) == 0 && !seg.has(flagFIN) && !seg.has(flagSYN) && newWnd == prevWnd)
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
	switch {
	case acked > 0:
		c.afterAckNewData(now, out, acked, newlySacked)
	case dup:
		c.dupAck(now, out, newlySacked)
	}
	c.maybeUndo(now)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// ackNewData does the bookkeeping for SND.UNA < SEG.ACK <= SND.MAX and
// returns the bytes newly acknowledged.
func (c *Conn) ackNewData(now time.Duration, seg *Segment) uint32 {
	ack := seg.Ack
	acked := uint32(ack.Sub(c.sndUna))
	c.cnt.TCPHPAcks++
	// Free the acknowledged bytes of the ring (not SYN or FIN).
	if ack.GreaterThan(c.ringSeq) {
		n := min(int(ack.Sub(c.ringSeq)), c.ring.n)
		c.ring.consume(n)
		if c.finQueued {
			c.ring.release() // no more data will be written
		}
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
	c.sb.trim(ack)
	c.retries = 0
	c.firstRtxTime = 0
	c.sndUnaTime = now
	c.persistShift = 0
	if c.rtoRecover && ack.GreaterThanEq(c.recover) {
		c.rtoRecover = false
	}
	return acked
}

// afterAckNewData runs congestion control and recovery for an ACK that
// advanced SND.UNA, then re-arms or stops the retransmission timer (RFC
// 6298 §5.2/5.3).
func (c *Conn) afterAckNewData(now time.Duration, out Output, acked, newlySacked uint32) {
	inFlight := int(c.sndMax.Sub(c.sndUna))
	switch {
	case c.inRecovery && c.sndUna.LessThan(c.recover):
		// Partial ACK (RFC 6582 §3.2 step 5): the next hole is lost too.
		if !c.sackOK {
			c.renoSacked = max(c.renoSacked-int(acked)/max(c.sndMSS, 1), 0)
		}
		c.recoverySend(now, out, int(acked+newlySacked))
	case c.inRecovery:
		// Full ACK: leave recovery (step 6); cwnd = ssthresh.
		c.inRecovery = false
		c.dupAcks, c.renoSacked = 0, 0
		c.cc.OnRecoveryExit(now)
	default:
		c.dupAcks, c.renoSacked = 0, 0
		appLimited := !cc.CwndLimited(c.cc.Cwnd(), inFlight+int(acked), c.cc.InSlowStart(), c.cwndFull)
		c.cc.OnAck(int(acked+newlySacked), c.rtt.SRTT(), inFlight, now, appLimited)
		if c.timeToRecover() && c.sndUna.GreaterThan(c.recover) && c.sndMax != c.sndUna {
			c.enterRecovery(now)
			c.recoverySend(now, out, int(newlySacked))
		}
	}
	c.tlpAck(now)
	if c.sndUna == c.sndMax {
		c.disarm(timerRTX)
		c.disarm(timerTLP)
	} else if !c.inRecovery {
		c.armRTO(now)
		c.scheduleTLP(now)
	}
}

// dupAck counts a duplicate ACK (RFC 5681 §2; with SACK, any ACK that
// SACKs new data) and starts fast retransmit and recovery when it is time
// (RFC 6582 §3.2 step 2: not for losses from before the last recovery).
func (c *Conn) dupAck(now time.Duration, out Output, newlySacked uint32) {
	c.dupAcks++
	delivered := int(newlySacked)
	if !c.sackOK {
		c.renoSacked++
		delivered = c.sndMSS
	}
	switch {
	case c.inRecovery:
		c.recoverySend(now, out, delivered)
	case c.timeToRecover() && c.sndUna.GreaterThan(c.recover):
		c.enterRecovery(now)
		c.recoverySend(now, out, delivered)
	}
}
