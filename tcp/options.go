package tcp

import (
	"time"

	"github.com/ustack/ustack/tcp/internal/rtt"
)

// tsOptLen is the room the timestamp option takes on every segment
// (nop, nop, kind, length, TSval, TSecr).
const tsOptLen = 12

// negotiate settles the options from the peer's SYN or SYN,ACK (RFC 9293
// §3.7.1 MSS; RFC 7323 §2.2 window scale, only if both sides sent it, shift
// at most 14; RFC 7323 §3.2 timestamps; RFC 2018 SACK-permitted), and
// derives the sending MSS the way Linux does: the peer's MSS, lowered to
// our own limit, less the timestamp option.
func (c *Conn) negotiate(now time.Duration, seg *Segment) {
	o := &seg.Opts
	c.peerMSS = 536
	if o.HasMSS && o.MSS != 0 {
		c.peerMSS = int(o.MSS)
	}
	c.wsOK = !c.cfg.DisableWindowScaling && o.HasWScale
	if c.wsOK {
		c.sndWscale = o.WScaleShift()
	} else {
		c.sndWscale, c.rcvWscale = 0, 0
	}
	c.sackOK = !c.cfg.DisableSACK && o.SACKPermitted
	c.tsOK = !c.cfg.DisableTimestamps && o.HasTS
	c.setSndMSS()
	hint := min(c.advMSS, c.sndMSS, int(c.rcvSsthresh)/2, 536)
	c.rcvMSS = max(hint, 88)
	_ = now
}

// setSndMSS computes the payload size per segment from the peer's MSS,
// our MTU and MSS limit and the timestamp option.
func (c *Conn) setSndMSS() {
	m := min(c.peerMSS, c.advMSS)
	if c.tsOK {
		m -= tsOptLen
	}
	c.sndMSS = max(m, 64)
	c.cc.SetMSS(c.sndMSS)
}

// sampleTS takes an RTT sample from the timestamp echo of an ACK (RFC 7323
// §4.1), which is unambiguous even for retransmitted segments.
func (c *Conn) sampleTS(now time.Duration, seg *Segment) bool {
	if !c.tsOK || !seg.Opts.HasTS {
		return false
	}
	r, ok := rtt.FromTSEcr(c.tsNow(now), seg.Opts.TSEcr, 1000)
	if !ok {
		return false
	}
	c.rtt.Sample(r, now)
	return true
}
