package tcp

import (
	"math/bits"
	"time"

	"github.com/ustack/ustack/tcp/cc"
)

// Timer kinds. A connection has at most one deadline armed per kind.
const (
	timerRTX       = iota // retransmission (RFC 6298), SYN and SYN,ACK retries
	timerDelAck           // delayed ACK
	timerPersist          // zero-window probe (RFC 9293 §3.8.6.1)
	timerKeepalive        // keepalive (RFC 9293 §3.8.4)
	timerTimeWait         // TIME-WAIT 2*MSL, or the FIN-WAIT-2 timeout
	timerCork             // the ceiling on holding a corked partial segment
	timerTLP              // tail loss probe (RFC 8985 §7)
	timerLinger           // Close's linger bound (Config.Linger)
	numTimers
)

// armed is a uint8 bit set indexed by timer kind, and Deadline masks kinds
// with numTimers-1: both need exactly eight kinds.
var _ [numTimers - 8]struct{}
var _ [8 - numTimers]struct{}

func (c *Conn) arm(k int, at time.Duration) {
	c.timers[k] = at
	c.armed |= 1 << k
}

func (c *Conn) disarm(k int)       { c.armed &^= 1 << k }
func (c *Conn) isArmed(k int) bool { return c.armed&(1<<k) != 0 }

// armRTO (re)starts the retransmission timer at now+RTO, clamped so that it
// fires no later than the user timeout would (Linux
// tcp_clamp_rto_to_user_timeout).
func (c *Conn) armRTO(now time.Duration) {
	at := now + c.rtt.RTO()
	if ut := c.cfg.UserTimeout; ut > 0 && c.retries > 0 && c.firstRtxTime != 0 {
		if lim := c.rtxStamp() + ut; lim < at {
			at = max(lim, now)
		}
	}
	c.arm(timerRTX, at)
}

// rtxStamp is when the oldest unacknowledged data was first sent, as far as
// the engine tracks it (Linux retrans_stamp).
func (c *Conn) rtxStamp() time.Duration { return c.sndUnaTime }

// armKeepalive arms the keepalive timer KeepIdle after the last segment
// received, when keepalives are on.
func (c *Conn) armKeepalive(now time.Duration) {
	if !c.cfg.KeepAlive || !(c.state == Established || c.state == CloseWait) {
		c.disarm(timerKeepalive)
		return
	}
	c.arm(timerKeepalive, max(c.lastRecv+c.cfg.KeepIdle, now))
}

// Deadline returns the earliest armed timer. ok is false when no timer is
// armed (the connection needs no wake-up until something arrives).
func (c *Conn) Deadline() (at time.Duration, ok bool) {
	// Visit only the armed kinds (usually one or two of eight).
	m := c.armed
	if m == 0 {
		return 0, false
	}
	k := bits.TrailingZeros8(m)
	at = c.timers[k&(numTimers-1)]
	for m &= m - 1; m != 0; m &= m - 1 {
		k = bits.TrailingZeros8(m)
		if t := c.timers[k&(numTimers-1)]; t < at {
			at = t
		}
	}
	return at, true
}

// OnTimer runs every timer whose deadline is at or before now. A tail loss
// probe due with the RTO goes first.
func (c *Conn) OnTimer(now time.Duration, out Output) {
	order := [numTimers]int{timerTLP, timerRTX, timerDelAck, timerPersist, timerKeepalive, timerTimeWait, timerCork, timerLinger}
	for _, k := range order {
		if !c.isArmed(k) || c.timers[k] > now || c.state == Closed {
			continue
		}
		c.disarm(k)
		switch k {
		case timerRTX:
			c.onRTO(now, out)
		case timerDelAck:
			if c.ackPending {
				c.cnt.DelayedACKs++
				// The delayed ACK was not piggybacked: leave interactive
				// mode, or back ato off (Linux tcp_delack_timer_handler).
				if c.pingpong {
					c.pingpong = false
					c.ato = c.cfg.DelAckMin
				} else {
					c.ato = min(2*c.ato, c.rtt.RTO())
				}
				c.sendAck(now, out)
			}
		case timerPersist:
			c.onPersist(now, out)
		case timerKeepalive:
			c.onKeepalive(now, out)
		case timerTimeWait:
			c.onTimeWait(now, out)
		case timerTLP:
			c.onTLP(now, out)
		case timerLinger:
			if c.state != TimeWait {
				c.cnt.TCPAbortOnLinger++
				c.abort(now, out)
			}
		case timerCork:
			c.corkExpired = true
			c.push(now, out)
			c.corkExpired = false
		}
	}
}

// modelTimeout is how long `boundary` retransmissions take with
// exponential backoff from base, capped at RTOMax per interval (Linux
// tcp_model_timeout): the budget tcp_retries2 stands for.
func (c *Conn) modelTimeout(boundary int, base time.Duration) time.Duration {
	thresh := 0
	for base<<(thresh+1) <= c.cfg.RTOMax && thresh < 30 {
		thresh++
	}
	if boundary <= thresh {
		return time.Duration((2<<boundary)-1) * base
	}
	return time.Duration((2<<thresh)-1)*base + time.Duration(boundary-thresh)*c.cfg.RTOMax
}

// onRTO is the retransmission timeout (RFC 6298 §5.4-5.6): give up after
// the retry budget (or the user timeout, RFC 5482), else back off, collapse
// the congestion window and resend from SND.UNA.
func (c *Conn) onRTO(now time.Duration, out Output) {
	switch c.state {
	case SynSent:
		if c.retries >= c.cfg.SynRetries {
			c.timeout(now, out, false)
			return
		}
		c.retries++
		c.rtt.Backoff()
		c.sendSYN(now, out, false)
		c.arm(timerRTX, now+c.rtt.RTO())
		return
	case SynReceived:
		if c.retries >= c.cfg.SynAckRetries {
			c.timeout(now, out, false)
			return
		}
		c.retries++
		c.rtt.Backoff()
		c.sendSYN(now, out, true)
		c.arm(timerRTX, now+c.rtt.RTO())
		return
	case TimeWait, Closed, Listen:
		return
	}
	if c.sndUna == c.sndMax {
		return
	}
	zeroWnd := c.sndWnd == 0 && !c.userShut
	if zeroWnd {
		// The receiver shrank its window to zero under our data: the
		// retransmissions are window probes, and a peer that keeps
		// answering them is not timed out (Linux).
	} else if c.retries > 0 {
		elapsed := now - c.rtxStamp()
		boundary := c.cfg.Retries2
		if c.userShut {
			// Orphaned by Close: give up sooner (Linux tcp_orphan_retries).
			boundary = min(boundary, c.cfg.OrphanRetries)
		}
		limit := c.modelTimeout(boundary, c.cfg.RTOMin)
		if c.cfg.UserTimeout > 0 {
			limit = c.cfg.UserTimeout
		}
		if elapsed >= limit {
			c.timeout(now, out, false)
			return
		}
	} else if c.cfg.UserTimeout > 0 && now-c.rtxStamp() >= c.cfg.UserTimeout {
		c.timeout(now, out, false)
		return
	}
	c.cnt.TCPTimeouts++
	c.tlpOut = false
	c.disarm(timerTLP)
	if c.inRecovery {
		c.cnt.TCPLostRetransmit++
	}
	ev := cc.RTO
	if c.rtoRecover {
		ev = cc.RepeatedRTO
	} else {
		c.startUndoEpisode(c.sndUna, c.sndMax)
	}
	c.cc.OnCongestion(ev, int(c.sndMax.Sub(c.sndUna)), now)
	c.rtxNext = c.sndUna
	// RFC 2018 §8: the peer may have reneged; forget what it SACKed.
	c.sb.reset()
	c.rtt.Backoff()
	c.retries++
	if c.inRecovery {
		c.cc.OnRecoveryExit(now)
	}
	c.inRecovery = false
	c.dupAcks, c.renoSacked = 0, 0
	c.recover = c.sndMax
	c.rtoRecover = true
	c.rttPending = false // Karn
	c.lost++
	c.sndNxt = c.sndUna
	c.push(now, out)
	if c.sndNxt == c.sndUna {
		// Nothing could be resent (zero window): probe instead.
		c.retransmitHead(now, out)
	}
	c.armRTO(now)
}

// timeout aborts the connection with ErrTimeout (ETIMEDOUT). Linux sends
// no RST for a retransmission timeout, but does for keepalive (rst).
func (c *Conn) timeout(now time.Duration, out Output, rst bool) {
	if rst {
		c.sendRST(now, out)
	}
	if c.state == SynSent || c.state == SynReceived {
		c.cnt.AttemptFails++
	}
	c.cnt.TCPAbortOnTimeout++
	c.setErr(ErrTimeout)
	c.rcvQ.free()
	c.toClosed()
}

// onPersist sends a zero-window probe and backs the timer off (Linux
// tcp_probe_timer): it gives up after Retries2 unanswered probes or, with a
// user timeout, once probing has lasted that long.
func (c *Conn) onPersist(now time.Duration, out Output) {
	if c.sndMax != c.sndUna || (c.dataEnd() == c.sndNxt && !(c.finQueued && !c.finSent())) {
		c.probes = 0
		return
	}
	if c.sndWnd > 0 {
		c.push(now, out)
		return
	}
	if c.userShut && c.persistShift >= c.cfg.OrphanRetries {
		// Orphaned and the window stays shut even though the peer
		// answers: give up (Linux counts backoffs, not answers, here).
		c.timeout(now, out, true)
		return
	}
	if c.probes >= c.cfg.Retries2 ||
		c.cfg.UserTimeout > 0 && c.probes > 0 && c.modelTimeout(c.probes, c.rtt.RTO()) >= c.cfg.UserTimeout {
		c.timeout(now, out, false)
		return
	}
	c.cnt.TCPWinProbe++
	c.sendProbe(now, out)
	c.probes++
	c.persistShift++
	c.arm(timerPersist, now+c.persistTimeout())
}

// onKeepalive is Linux's tcp_keepalive_timer: after KeepIdle without a
// segment from the peer, send a probe every KeepIntvl; after KeepCnt
// unanswered probes (or the user timeout) reset the connection.
func (c *Conn) onKeepalive(now time.Duration, out Output) {
	if !c.cfg.KeepAlive || !(c.state == Established || c.state == CloseWait) {
		return
	}
	if c.sndMax != c.sndUna || c.sndNxt != c.dataEnd() {
		// Data is in flight or queued: the RTO or persist timer watches.
		c.arm(timerKeepalive, now+c.cfg.KeepIdle)
		return
	}
	elapsed := now - c.lastRecv
	if elapsed < c.cfg.KeepIdle {
		c.arm(timerKeepalive, c.lastRecv+c.cfg.KeepIdle)
		return
	}
	ut := c.cfg.UserTimeout
	if (ut > 0 && elapsed >= ut && c.probes > 0) || (ut == 0 && c.probes >= c.cfg.KeepCnt) {
		c.timeout(now, out, true)
		return
	}
	c.cnt.TCPKeepAliveProbes++
	c.sendProbe(now, out)
	c.probes++
	c.arm(timerKeepalive, now+c.cfg.KeepIntvl)
}

// onTimeWait ends TIME-WAIT (RFC 9293 §3.10.8), or an orphaned FIN-WAIT-2
// after FinTimeout (Linux resets it).
func (c *Conn) onTimeWait(now time.Duration, out Output) {
	switch c.state {
	case TimeWait:
		c.cnt.TW++
		c.toClosed()
	case FinWait2:
		c.sendRST(now, out)
		c.toClosed()
	}
}
