package tcp

import (
	"time"

	"github.com/ustack/ustack/tcp/cc"
	"github.com/ustack/ustack/tcp/seqnum"
)

// Tail loss probe (RFC 8985 §7, Linux tcp_schedule_loss_probe and
// tcp_send_loss_probe): when the tail of a flight goes unacknowledged for
// about two round trips, send one segment (new data if the window allows,
// else the last segment again) to draw a SACK that lets fast recovery
// repair the loss instead of waiting for the RTO. Linux uses it only with
// SACK.

// scheduleTLP arms the probe timer PTO after now: 2·SRTT plus 200 ms when a
// single segment is outstanding (to cover the peer's delayed ACK) or 2 ms
// otherwise, and never later than the RTO.
func (c *Conn) scheduleTLP(now time.Duration) {
	c.disarm(timerTLP)
	if c.cfg.DisableTLP || !c.sackOK || c.inRecovery || c.rtoRecover || c.tlpOut ||
		c.sndMax == c.sndUna || !(c.state == Established || c.state == CloseWait) {
		return
	}
	pto := c.cfg.RTOInitial
	if c.rtt.HasSample() {
		pto = 2 * c.rtt.SRTT()
		if int(c.sndMax.Sub(c.sndUna)) <= c.sndMSS {
			pto += c.cfg.RTOMin
		} else {
			pto += 2 * time.Millisecond
		}
	}
	at := now + pto
	if c.isArmed(timerRTX) && c.timers[timerRTX] < at {
		// Never later than the RTO; at the same instant the probe goes
		// first (OnTimer runs it first) and pushes the RTO back (Linux).
		at = c.timers[timerRTX]
	}
	c.arm(timerTLP, at)
}

// onTLP sends the loss probe.
func (c *Conn) onTLP(now time.Duration, out Output) {
	if c.sndMax == c.sndUna || c.inRecovery || c.tlpOut {
		return
	}
	c.disarm(timerRTX)
	c.cnt.TCPLossProbes++
	end := c.dataEnd()
	wndEnd := c.sndUna.Add(seqnum.Size(c.sndWnd))
	if c.sndNxt == c.sndMax && c.sndNxt.LessThan(end) && c.sndNxt.LessThan(wndEnd) {
		// New data: one segment, whatever cwnd says.
		n := min(int(end.Sub(c.sndNxt)), int(wndEnd.Sub(c.sndNxt)), c.curMSS())
		c.sendData(now, out, c.sndNxt, n, false)
		c.tlpRetrans = false
	} else {
		// The last segment again.
		last := c.sndMax
		if c.finSent() {
			last = end
		}
		seq := c.sndUna
		if mss := c.curMSS(); int(last.Sub(c.sndUna)) > mss {
			seq = last.Add(-seqnum.Size(mss))
		}
		c.sendRange(now, out, seq, int(last.Sub(seq)))
		c.rttPending = false
		c.tlpRetrans = true
	}
	c.tlpOut, c.tlpHigh = true, c.sndMax
	c.armRTO(now)
}

// tlpAck ends a probe episode when SND.UNA passes the probe (RFC 8985
// §7.4). A retransmitted probe that was not reported as a duplicate
// repaired a real loss: the congestion window is reduced as for one.
func (c *Conn) tlpAck(now time.Duration) {
	if !c.tlpOut || c.sndUna.LessThan(c.tlpHigh) {
		return
	}
	c.tlpOut = false
	if c.tlpRetrans && !c.tlpDup {
		c.cnt.TCPLossProbeRecovery++
		c.cc.OnCongestion(cc.FastRetransmit, int(c.sndMax.Sub(c.sndUna)), now)
		c.cc.OnRecoveryExit(now)
	}
	c.tlpDup = false
}
