package rtt

import "time"

// linuxVar is the variance state of Linux's estimator. mdev is four times
// the smoothed mean deviation (RTTVAR·4 in RFC 6298 terms); mdevMax the
// largest mdev seen in the current round trip, never below Config.Min;
// vterm the variance term of the RTO, SRTT + vterm. Round trips are
// delimited by sequence numbers: the round ends when snd.una passes
// rttSeq, the snd.nxt recorded when it began.
type linuxVar struct {
	mdev    time.Duration
	mdevMax time.Duration
	vterm   time.Duration
	rttSeq  uint32
}

// SampleSeq feeds one RTT measurement r taken at now, on an ACK that moved
// snd.una to sndUna while snd.nxt was sndNxt. With Config.LinuxVariance it
// follows Linux's estimator, which differs from RFC 6298 in the variance
// term only:
//
//   - SRTT is smoothed as in RFC 6298 (gain 1/8), and the first sample
//     sets SRTT = R and the deviation to R/2, as RFC 6298 does;
//   - a sample below SRTT by more than the current deviation moves the
//     deviation with gain 1/32 instead of 1/4 (so a sudden drop in RTT
//     does not inflate the RTO, as with Eifel);
//   - the RTO's variance term is the largest 4·deviation seen during the
//     current round trip, never below Min (Linux's rto_min), and when the
//     variance falls it decays by a quarter of the difference once per
//     round trip, not per sample.
//
// RTO = SRTT + variance term, at most Max. RTTVar reports the deviation.
// Without LinuxVariance, SampleSeq is Sample.
func (e *Estimator) SampleSeq(r, now time.Duration, sndUna, sndNxt uint32) {
	if !e.cfg.LinuxVariance {
		e.Sample(r, now)
		return
	}
	if r <= 0 {
		r = 1
	}
	lx := &e.lx
	floor := e.cfg.Min
	if !e.has {
		e.has = true
		e.srtt = r
		lx.mdev = 2 * r
		lx.vterm = max(lx.mdev, floor)
		lx.mdevMax = lx.vterm
		lx.rttSeq = sndNxt
	} else {
		err := r - e.srtt
		e.srtt += err / 8
		var m time.Duration
		if err < 0 {
			m = -err - lx.mdev/4
			if m > 0 {
				m /= 8
			}
		} else {
			m = err - lx.mdev/4
		}
		lx.mdev += m
		if lx.mdev > lx.mdevMax {
			lx.mdevMax = lx.mdev
			if lx.mdevMax > lx.vterm {
				lx.vterm = lx.mdevMax
			}
		}
		if int32(sndUna-lx.rttSeq) > 0 {
			if lx.mdevMax < lx.vterm {
				lx.vterm -= (lx.vterm - lx.mdevMax) / 4
			}
			lx.rttSeq = sndNxt
			lx.mdevMax = floor
		}
	}
	if e.srtt <= 0 {
		e.srtt = 1
	}
	e.rttvar = lx.mdev / 4
	e.rto = e.clamp(e.srtt + lx.vterm)
	e.win.update(r, now, e.cfg.MinRTTWindow)
}
