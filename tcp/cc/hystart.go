package cc

import (
	"math"
	"time"
)

// RTTObserver is implemented by algorithms that use individual RTT samples
// (all of this package's, for HyStart++). The engine calls OnRTTSample for
// every valid sample (Karn's rule applies, see tcp/internal/rtt) before
// the OnAck of the same ACK. Engines that never call it lose only
// HyStart++.
type RTTObserver interface {
	OnRTTSample(rtt, now time.Duration)
}

// HyStart++ constants (RFC 9406 section 4.3).
const (
	hsMinRTTThresh     = 4 * time.Millisecond
	hsMaxRTTThresh     = 16 * time.Millisecond
	hsMinRTTDivisor    = 8
	hsNRTTSample       = 8
	hsCSSGrowthDivisor = 4
	hsCSSRounds        = 5
	hsInf              = time.Duration(math.MaxInt64)
)

// hystart is the HyStart++ state (RFC 9406). Rounds are counted in
// delivered bytes standing in for sequence numbers: when a round starts,
// its end is the delivered count plus the bytes then in flight (RFC 9406's
// windowEnd = SND.NXT), and the next round starts with the first ACK that
// delivers beyond it.
type hystart struct {
	active     bool // initial slow start, HyStart++ enabled, no loss yet
	delivered  int64
	roundEnd   int64
	lastMin    time.Duration
	curMin     time.Duration
	samples    int
	pending    time.Duration
	hasPending bool
	css        bool // in Conservative Slow Start
	baseline   time.Duration
	cssRounds  int
}

func (h *hystart) reset(on bool) {
	*h = hystart{active: on, lastMin: hsInf, curMin: hsInf}
}

// OnRTTSample records an RTT sample for HyStart++.
func (b *base) OnRTTSample(rtt, now time.Duration) {
	if b.hs.active && rtt > 0 {
		b.hs.pending, b.hs.hasPending = rtt, true
	}
}

// InCSS reports whether HyStart++ has slowed slow start down
// (Conservative Slow Start).
func (b *base) InCSS() bool { return b.hs.active && b.hs.css }

// hystartAck runs HyStart++ for an ACK in slow start and returns the
// slow-start growth divisor: 1 in standard slow start, 4 in CSS, or 0 when
// CSS has lasted its rounds and slow start is over (ssthresh = cwnd).
func (b *base) hystartAck(acked, inflight int) int {
	h := &b.hs
	if !h.active {
		return 1
	}
	h.delivered += int64(acked)
	if h.delivered > h.roundEnd {
		h.lastMin, h.curMin, h.samples = h.curMin, hsInf, 0
		h.roundEnd = h.delivered + int64(max(inflight, 1))
		if h.css {
			h.cssRounds++
			if h.cssRounds >= hsCSSRounds {
				b.ssthresh = b.cwnd
				h.active = false
				return 0
			}
		}
	}
	// This ACK grows cwnd by the mode it arrived in (RFC 9406 updates cwnd
	// before looking at the ACK's RTT sample).
	div := 1
	if h.css {
		div = hsCSSGrowthDivisor
	}
	if h.hasPending {
		h.curMin = min(h.curMin, h.pending)
		h.samples++
		h.hasPending = false
	}
	if !h.css {
		if h.samples >= hsNRTTSample && h.curMin != hsInf && h.lastMin != hsInf {
			thresh := min(max(h.lastMin/hsMinRTTDivisor, hsMinRTTThresh), hsMaxRTTThresh)
			if h.curMin >= h.lastMin+thresh {
				h.css, h.baseline, h.cssRounds = true, h.curMin, 0
			}
		}
	} else if h.curMin < h.baseline {
		// The delay increase was spurious: back to standard slow start.
		h.css = false
	}
	return div
}
