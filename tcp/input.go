package tcp

import (
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/tcp/seqnum"
)

// Input processes one received segment (RFC 9293 §3.10.7, SEGMENT
// ARRIVES). The Conn takes ownership of buf: it stays on the receive queue
// if it carries in-order payload (seg.Payload must alias buf's data) and is
// freed otherwise. buf may be nil for segments without payload.
func (c *Conn) Input(now time.Duration, seg *Segment, buf *link.Buf, out Output) {
	c.InputRun(now, seg, buf, out)
	c.EndRun(now, out)
}

// inputClosed is RFC 9293 §3.10.7.1 for a connection that has been closed
// or aborted while the glue still routes segments to it.
func (c *Conn) inputClosed(now time.Duration, seg *Segment, out Output) {
	r := Responder{Counters: c.cnt}
	r.Respond(now, c.tuple, seg, out)
}

// inputSynSent is RFC 9293 §3.10.7.3 (SYN-SENT): check the ACK, then RST,
// then SYN; a SYN,ACK completes the handshake, a bare SYN is a simultaneous
// open (→ SYN-RECEIVED with a SYN,ACK).
func (c *Conn) inputSynSent(now time.Duration, seg *Segment, buf *link.Buf, out Output) bool {
	// first, check the ACK bit
	ackOK := false
	if seg.has(flagACK) {
		if seg.Ack.LessThanEq(c.iss) || seg.Ack.GreaterThan(c.sndMax) {
			if !seg.has(flagRST) {
				r := Responder{Counters: c.cnt}
				r.Respond(now, c.tuple, seg, out) // <SEQ=SEG.ACK><CTL=RST>
			}
			return false
		}
		ackOK = true
	}
	// second, check the RST bit
	if seg.has(flagRST) {
		if ackOK {
			c.cnt.AttemptFails++
			c.setErr(ErrConnRefused)
			c.toClosed()
		}
		return false
	}
	// fourth, check the SYN bit
	if !seg.has(flagSYN) {
		return false
	}
	c.irs = seg.Seq
	c.rcvNxt = seg.Seq.Add(1)
	c.rcvWup = c.rcvNxt
	c.negotiate(now, seg)
	if c.tsOK && seg.Opts.HasTS {
		c.tsRecent, c.tsRecentTime = seg.Opts.TSVal, now
	}
	if ackOK {
		// Our SYN is acknowledged: ESTABLISHED (RFC 9293 §3.10.7.3).
		c.sndUna = seg.Ack
		c.sampleSynRTT(now, seg)
		c.sndWnd = uint32(seg.Window) // a SYN's window is never scaled (RFC 7323 §2.2)
		c.maxSndWnd = c.sndWnd
		c.sndWl1, c.sndWl2 = seg.Seq, seg.Ack
		c.disarm(timerRTX)
		c.retries = 0
		c.firstRtxTime = 0
		c.establish(now)
		// Data on a SYN,ACK is queued like any other in-order data.
		held := false
		if len(seg.Payload) > 0 {
			held = c.processText(now, seg.Seq.Add(1), c.clipToWindow(seg.Seq.Add(1), seg.Payload), buf)
		}
		c.ackNow = true
		if seg.has(flagFIN) && c.rcvNxt == seg.Seq.Add(1+seqnum.Size(len(seg.Payload))) {
			c.processFIN(now)
		}
		return held
	}
	// Simultaneous open: SYN-RECEIVED, send SYN,ACK (our ISS again).
	c.sndWnd = uint32(seg.Window) // a SYN's window is never scaled
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = seg.Seq, c.iss
	c.setState(SynReceived)
	c.sndMax = c.iss // the SYN,ACK is a new segment, not a retransmission
	c.sendSYN(now, out, true)
	c.arm(timerRTX, now+c.rtt.RTO())
	return false
}

// establish enters ESTABLISHED and signals it.
func (c *Conn) establish(now time.Duration) {
	c.cc.Init(c.sndMSS, now)
	c.setState(Established)
	c.established = now
	c.sndUnaTime = now
	c.events |= EventEstablished | EventWritable
	c.armKeepalive(now)
}

// sampleSynRTT takes the handshake RTT sample when the SYN was sent once
// (Karn), else from the timestamp echo.
func (c *Conn) sampleSynRTT(now time.Duration, seg *Segment) {
	if c.retries == 0 {
		c.rtt.Sample(now-c.rttStart, now) // rttStart: when the SYN was sent
		return
	}
	c.sampleTS(now, seg)
}

// inputSynchronized is RFC 9293 §3.10.7.4 (Other States) for SYN-RECEIVED
// and the synchronized states but TIME-WAIT (timewait.go), in the RFC's
// order: sequence check (with PAWS, RFC 7323 §5.3), RST (RFC 5961 §3), SYN
// (RFC 5961 §4), ACK (RFC 5961 §5), text, FIN.
func (c *Conn) inputSynchronized(now time.Duration, seg *Segment, buf *link.Buf, out Output) (held bool) {
	// first, check sequence number — PAWS first (RFC 7323 §5.3 R1).
	if c.tsOK && seg.Opts.HasTS && !seg.has(flagRST) && c.pawsReject(now, seg) {
		c.cnt.PAWSEstab++
		c.oowAck(now, seg)
		return false
	}
	ok, dropText := c.acceptable(seg)
	if !ok {
		if seg.has(flagRST) {
			return false
		}
		if len(seg.Payload) > 0 && seg.Seq.Add(seqnum.Size(len(seg.Payload))).LessThanEq(c.rcvNxt) {
			c.cnt.DelayedACKLost++
			if c.setDSACK(seg.Seq, seg.Seq.Add(seqnum.Size(len(seg.Payload)))) {
				c.cnt.TCPDSACKOldSent++
			}
		}
		c.oowAck(now, seg) // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
		return false
	}
	// second, check the RST bit (RFC 5961 §3.2)
	if seg.has(flagRST) {
		if seg.Seq != c.rcvNxt {
			c.challengeAck(now, out)
			return false
		}
		c.inputReset()
		return false
	}
	// fourth, check the SYN bit (RFC 5961 §4.2: challenge ACK)
	if seg.has(flagSYN) {
		c.cnt.TCPSYNChallenge++
		c.challengeAck(now, out)
		return false
	}
	// fifth, check the ACK field
	if !seg.has(flagACK) {
		return false
	}
	if c.tsOK && seg.Opts.HasTS && seg.Seq.LessThanEq(c.rcvWup) {
		// RFC 7323 §4.3 (Last.ACK.sent rule): remember TSval.
		c.tsRecent, c.tsRecentTime = seg.Opts.TSVal, now
	}
	if c.state == SynReceived {
		if !c.inputSynRcvdAck(now, seg, out) {
			return false
		}
	}
	if !c.ackAcceptable(now, seg, out) {
		return false
	}
	c.lastRecv = now
	c.probes = 0
	if !c.ackByState(now, seg, out) {
		return false
	}
	if c.state == Closed {
		return false
	}
	// seventh, process the segment text (URG, the sixth, is ignored).
	finSeq := seg.Seq.Add(seqnum.Size(len(seg.Payload)))
	finOK := seg.has(flagFIN)
	if dropText {
		// Zero window: only the ACK (and a bare FIN) counted.
		if len(seg.Payload) > 0 {
			c.cnt.TCPZeroWindowDrop++
			c.ackNow = true
			finOK = false
		}
	} else if len(seg.Payload) > 0 {
		switch c.state {
		case Established, FinWait1, FinWait2:
			if c.userShut && c.readShutAbort(now, seg, out) {
				return false
			}
			data := c.clipToWindow(seg.Seq, seg.Payload)
			if len(data) < len(seg.Payload) {
				finOK = false // the tail beyond the window went, and a FIN with it
			}
			if len(data) > 0 {
				held = c.processText(now, seg.Seq, data, buf)
			} else {
				c.ackNow = true
			}
		}
	}
	// eighth, check the FIN bit
	if finOK && !c.finRcvd {
		switch {
		case finSeq == c.rcvNxt:
			c.processFIN(now)
		case finSeq.GreaterThan(c.rcvNxt) && finSeq.LessThan(c.rcvNxt.Add(seqnum.Size(c.rcvWnd)+1)):
			c.oooFin, c.oooFinSeq = true, finSeq
		}
	}
	if c.oooFin && !c.finRcvd && c.rcvNxt == c.oooFinSeq {
		c.oooFin = false
		c.processFIN(now)
	}
	return held
}

// ackByState is the per-state part of "fifth, check the ACK field" (RFC
// 9293 §3.10.7.4). It reports whether the segment's text and FIN are to
// be processed next.
func (c *Conn) ackByState(now time.Duration, seg *Segment, out Output) bool {
	switch c.state {
	case Established, CloseWait:
		// ESTABLISHED, CLOSE-WAIT: update SND.UNA and the window.
		c.processAck(now, seg, out)
	case FinWait1:
		// FIN-WAIT-1: as ESTABLISHED, and if our FIN is now
		// acknowledged, enter FIN-WAIT-2 (bounded by FinTimeout once
		// the application has closed, as Linux does).
		c.processAck(now, seg, out)
		if c.ourFinAcked() {
			c.setState(FinWait2)
			if c.userShut {
				c.arm(timerTimeWait, now+c.cfg.FinTimeout)
			}
		}
	case FinWait2:
		// FIN-WAIT-2: as ESTABLISHED; the user's CLOSE completes
		// when the peer's FIN arrives.
		c.processAck(now, seg, out)
	case Closing:
		// CLOSING: if the ACK acknowledges our FIN, enter TIME-WAIT;
		// otherwise ignore the segment.
		c.processAck(now, seg, out)
		if c.ourFinAcked() {
			c.enterTimeWait(now)
		}
		return false
	case LastAck:
		// LAST-ACK: the only thing expected is the ACK of our FIN; when
		// it comes, delete the TCB (CLOSED).
		c.processAck(now, seg, out)
		if c.ourFinAcked() {
			c.toClosed()
		}
		return false
	}
	return c.state != Closed
}

// oowAck answers an unacceptable segment with an ACK. For segments that
// carry nothing (no data, SYN or FIN), which is what two endpoints that
// disagree about sequence numbers would bounce between them forever, at
// most one such ACK goes out per OOWACKInterval (Linux
// tcp_invalid_ratelimit, counted as TCPACKSkippedSeq).
func (c *Conn) oowAck(now time.Duration, seg *Segment) {
	if seg.segLen() == 0 {
		if c.oowAckSent && now-c.lastOOWAck < c.cfg.OOWACKInterval {
			c.cnt.TCPACKSkippedSeq++
			return
		}
		c.oowAckSent, c.lastOOWAck = true, now
	}
	c.ackNow = true
}

// readShutAbort: data arriving after the application closed the
// connection is answered with RST and the connection aborted (Linux,
// TCPAbortOnData).
func (c *Conn) readShutAbort(now time.Duration, seg *Segment, out Output) bool {
	if seg.Seq.Add(seqnum.Size(len(seg.Payload))).LessThanEq(c.rcvNxt) {
		return false
	}
	c.cnt.TCPAbortOnData++
	c.sendRST(now, out)
	c.setErr(ErrConnAborted)
	c.toClosed()
	return true
}

// clipToWindow trims data beyond the right edge of the receive window.
func (c *Conn) clipToWindow(seq seqnum.Value, data []byte) []byte {
	right := c.rcvNxt.Add(seqnum.Size(c.curWindow()))
	if right.LessThanEq(seq) {
		return data[:0]
	}
	if lim := right.Sub(seq); seqnum.Size(len(data)) > lim {
		return data[:lim]
	}
	return data
}

// acceptable is the segment acceptability test of RFC 9293 §3.10.7.4
// (the four-case table), with the window as last advertised. With a zero
// window a segment at RCV.NXT still counts for its ACK, RST and a bare
// FIN (the RFC's "special allowance", as Linux does); its text is
// dropped (dropText).
func (c *Conn) acceptable(seg *Segment) (ok, dropText bool) {
	wnd := seqnum.Size(c.curWindow())
	n := seg.segLen()
	switch {
	case n == 0 && wnd == 0:
		return seg.Seq == c.rcvNxt, false
	case n == 0:
		return seg.Seq.InWindow(c.rcvNxt, wnd), false
	case wnd == 0:
		return seg.Seq == c.rcvNxt, true
	default:
		last := seg.Seq.Add(n - 1)
		return seg.Seq.InWindow(c.rcvNxt, wnd) || last.InWindow(c.rcvNxt, wnd), false
	}
}

// pawsReject is RFC 7323 §5.3 R1: a segment whose TSval is older than
// TS.Recent is a duplicate from an earlier incarnation of the sequence
// space — unless TS.Recent is more than PAWSIdle (24 days) old, when it
// is no longer trusted (§5.5).
func (c *Conn) pawsReject(now time.Duration, seg *Segment) bool {
	if int32(seg.Opts.TSVal-c.tsRecent) >= 0 {
		return false
	}
	if now-c.tsRecentTime > c.cfg.PAWSIdle {
		c.tsRecent, c.tsRecentTime = seg.Opts.TSVal, now
		return false
	}
	return true
}

// challengeAck sends an RFC 5961 challenge ACK
// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, subject to the shared rate limit.
func (c *Conn) challengeAck(now time.Duration, out Output) {
	if allowChallenge(now, &c.cfg, c.cnt) {
		c.sendAck(now, out)
	}
}

// inputReset handles an exactly-in-sequence RST per state (RFC 9293
// §3.10.7.4 second).
func (c *Conn) inputReset() {
	switch c.state {
	case SynReceived:
		c.cnt.AttemptFails++
		c.cnt.EmbryonicRsts++
		c.setErr(ErrConnRefused)
	case Established, CloseWait, FinWait1, FinWait2:
		c.setErr(ErrConnReset)
	default: // CLOSING, LAST-ACK, TIME-WAIT
	}
	c.rcvQ.free()
	c.toClosed()
}

// inputSynRcvdAck is the ACK check in SYN-RECEIVED: an ACK of our SYN
// enters ESTABLISHED; any other ACK gets <SEQ=SEG.ACK><CTL=RST>.
func (c *Conn) inputSynRcvdAck(now time.Duration, seg *Segment, out Output) bool {
	if seg.Ack.LessThanEq(c.sndUna) || seg.Ack.GreaterThan(c.sndMax) {
		r := Responder{Counters: c.cnt}
		r.Respond(now, c.tuple, seg, out)
		return false
	}
	c.sndWnd = uint32(seg.Window) << c.sndWscale
	c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
	c.sndWl1, c.sndWl2 = seg.Seq, seg.Ack
	if c.retries == 0 && c.rttStart != 0 {
		c.rtt.Sample(now-c.rttStart, now)
	} else {
		c.sampleTS(now, seg)
	}
	c.sndUna = seg.Ack
	c.rttPending = false
	c.disarm(timerRTX)
	c.retries = 0
	c.firstRtxTime = 0
	c.establish(now)
	return true
}

// ackAcceptable is the RFC 5961 §5.2 range check on SEG.ACK:
// SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT (SND.MAX here). An ACK for
// data never sent is answered with an ACK and dropped; one too old with a
// (rate-limited) challenge ACK.
func (c *Conn) ackAcceptable(now time.Duration, seg *Segment, out Output) bool {
	if seg.Ack.GreaterThan(c.sndMax) {
		c.ackNow = true
		return false
	}
	if seg.Ack.LessThan(seqnum.Value(uint32(c.sndUna)-c.maxSndWnd)) && c.maxSndWnd > 0 {
		c.challengeAck(now, out)
		return false
	}
	return true
}

// ourFinAcked reports whether SND.UNA has passed our FIN.
func (c *Conn) ourFinAcked() bool {
	return c.finQueued && c.sndUna == c.dataEnd().Add(1)
}

// processFIN is RFC 9293 §3.10.7.4 "eighth, check the FIN bit".
func (c *Conn) processFIN(now time.Duration) {
	c.rcvNxt = c.rcvNxt.Add(1)
	c.finRcvd = true
	c.ackNow = true
	c.events |= EventReadable
	switch c.state {
	case SynReceived, Established:
		c.setState(CloseWait)
	case FinWait1:
		if c.ourFinAcked() {
			c.enterTimeWait(now)
		} else {
			c.setState(Closing)
		}
	case FinWait2:
		c.enterTimeWait(now)
	}
}

// enterTimeWait enters TIME-WAIT for 2*MSL with every other timer off.
func (c *Conn) enterTimeWait(now time.Duration) {
	c.setState(TimeWait)
	c.armed = 0 // the linger bound too: the close has completed
	c.arm(timerTimeWait, now+c.cfg.TimeWait)
	c.ooo.Reset()
	c.events |= EventClosed
}
