package cc

// PRR is Proportional Rate Reduction (RFC 6937): during fast recovery it
// spreads the window reduction over the ACKs of one round trip, so that
// sending neither stops (as with cwnd halved at once) nor bursts.
//
// Use: when recovery starts, call Start with the algorithm's new Ssthresh,
// RecoverFS and the MSS. On every ACK during recovery, call OnAck with the
// bytes it newly delivered (cumulative plus SACKed) and the pipe after
// processing it; it returns sndcnt, the bytes that may be sent now
// (cwnd = pipe + sndcnt). After sending, report the bytes with OnSent. End
// recovery with OnRecoveryExit on the Algorithm (cwnd = ssthresh).
//
// RecoverFS is FlightSize at the start of recovery (snd.nxt − snd.una, RFC
// 6937); Linux uses the congestion window from before the reduction, which
// is the same when the sender was cwnd-limited.
//
// The proportional share is rounded up to a whole MSS, as Linux counts it
// in packets, so PRR never asks for a runt segment: RFC 6937's CEIL taken
// at segment granularity.
//
// The reduction bound is Slow Start (SSRB), which Linux and RFC 6937
// recommend, unless Conservative is set (CRB). As Linux does, the first
// ACK of recovery may always send one MSS, so the fast retransmission goes
// out even when the proportional share rounds to nothing.
type PRR struct {
	// Conservative selects the conservative reduction bound (CRB).
	Conservative bool

	ssthresh  int
	recoverFS int
	mss       int
	delivered int // prr_delivered
	out       int // prr_out
}

// Start begins a recovery episode.
func (p *PRR) Start(ssthresh, recoverFS, mss int) {
	if recoverFS < 1 {
		recoverFS = 1
	}
	if mss < 1 {
		mss = 1
	}
	p.ssthresh, p.recoverFS, p.mss = ssthresh, recoverFS, mss
	p.delivered, p.out = 0, 0
}

// OnAck accounts an ACK during recovery and returns how many bytes may be
// sent in response (0 or more).
//
// A PRR that was never started allows nothing.
func (p *PRR) OnAck(deliveredData, pipe int) (sndcnt int) {
	if p.recoverFS <= 0 || p.mss <= 0 {
		return 0
	}
	if deliveredData > 0 {
		p.delivered += deliveredData
	}
	if pipe > p.ssthresh {
		// Proportional part: CEIL(prr_delivered·ssthresh/RecoverFS) − prr_out,
		// the ceiling taken in whole MSS.
		den := int64(p.recoverFS) * int64(p.mss)
		segs := (int64(p.delivered)*int64(p.ssthresh) + den - 1) / den
		sndcnt = int(segs)*p.mss - p.out
	} else {
		limit := p.delivered - p.out
		if !p.Conservative {
			limit = max(limit, deliveredData) + p.mss
		}
		sndcnt = min(p.ssthresh-pipe, limit)
	}
	if p.out == 0 && sndcnt < p.mss {
		sndcnt = p.mss
	}
	return max(sndcnt, 0)
}

// OnSent accounts bytes sent (new data or retransmissions) during
// recovery.
func (p *PRR) OnSent(n int) {
	if n > 0 {
		p.out += n
	}
}

// Delivered and Out are prr_delivered and prr_out.
func (p *PRR) Delivered() int { return p.delivered }

// Out is prr_out, the bytes sent during recovery.
func (p *PRR) Out() int { return p.out }
