package cc

import "time"

// base is the state every window-based algorithm shares.
type base struct {
	cfg       Config
	mss       int
	cwnd      int
	ssthresh  int
	recovery  bool
	caAcked   int // bytes acknowledged toward the next congestion-avoidance MSS
	priorCwnd int // before the last reduction, for Undo
	priorSsth int
	hasPrior  bool
	hs        hystart
}

func (b *base) init(mss int) {
	if mss <= 0 {
		mss = 1
	}
	b.mss = mss
	b.cwnd = b.cfg.InitialWindow * mss
	b.ssthresh = InfiniteSsthresh
	b.recovery = false
	b.caAcked = 0
	b.hasPrior = false
	b.hs.reset(b.cfg.HyStart)
}

func (b *base) setMSS(mss int) {
	if mss > 0 {
		b.mss = mss
	}
}

// Cwnd is the congestion window in bytes.
func (b *base) Cwnd() int { return b.cwnd }

// Ssthresh is the slow-start threshold in bytes.
func (b *base) Ssthresh() int { return b.ssthresh }

// InSlowStart reports cwnd < ssthresh.
func (b *base) InSlowStart() bool { return b.cwnd < b.ssthresh }

// InRecovery reports a FastRetransmit or ECN reduction in progress.
func (b *base) InRecovery() bool { return b.recovery }

// slowStart grows cwnd by acked bytes (at most ABCLimit·MSS), divided by
// HyStart++'s divisor in CSS, not beyond ssthresh, and returns the bytes
// left over for congestion avoidance.
func (b *base) slowStart(acked, inflight int) int {
	div := b.hystartAck(acked, inflight)
	if div == 0 {
		return acked // HyStart++ ended slow start: all to congestion avoidance
	}
	grow := acked
	if lim := b.cfg.ABCLimit * b.mss; grow > lim {
		grow = lim
	}
	grow /= div
	if room := b.ssthresh - b.cwnd; grow > room {
		b.cwnd = b.ssthresh
		return acked - room*div
	}
	b.cwnd += grow
	return 0
}

// saveAndReduce records the state for Undo and sets the reduced window.
func (b *base) saveAndReduce(ev Event, ssthresh int) {
	if ev != RepeatedRTO || !b.hasPrior {
		b.priorCwnd, b.priorSsth, b.hasPrior = b.cwnd, b.ssthresh, true
	}
	if ev != RepeatedRTO {
		b.ssthresh = max(ssthresh, 2*b.mss)
	}
	b.hs.active = false // HyStart++ serves the initial slow start only
	b.caAcked = 0
	switch ev {
	case FastRetransmit, ECN:
		b.cwnd = b.ssthresh
		b.recovery = true
	default:
		b.cwnd = b.mss // the loss window (RFC 5681)
		b.recovery = false
	}
}

func (b *base) undo() {
	if !b.hasPrior {
		return
	}
	b.cwnd = max(b.cwnd, b.priorCwnd)
	b.ssthresh = max(b.ssthresh, b.priorSsth)
	b.recovery = false
	b.hasPrior = false
}

// NewReno is RFC 5681 congestion control with RFC 3465 byte counting; see
// the package doc for the recovery contract. Build it with New("newreno").
type NewReno struct {
	base
}

func newNewReno(cfg Config) *NewReno { return &NewReno{base{cfg: cfg}} }

// Name returns "newreno".
func (r *NewReno) Name() string { return "newreno" }

// Init starts the algorithm with the initial window.
func (r *NewReno) Init(mss int, now time.Duration) { r.init(mss) }

// SetMSS changes the send MSS.
func (r *NewReno) SetMSS(mss int) { r.setMSS(mss) }

// OnAck grows cwnd: slow start below ssthresh, one MSS per cwnd of
// acknowledged bytes above it, nothing while app-limited or in recovery.
func (r *NewReno) OnAck(acked int, rtt time.Duration, inflight int, now time.Duration, appLimited bool) {
	if acked <= 0 || r.recovery || appLimited {
		return
	}
	if r.cwnd < r.ssthresh {
		acked = r.slowStart(acked, inflight)
		if acked == 0 {
			return
		}
	}
	r.caAcked += acked
	if r.caAcked >= r.cwnd {
		r.caAcked -= r.cwnd
		r.cwnd += r.mss
		if r.caAcked >= r.cwnd { // a huge stretch ACK: keep one step per call
			r.caAcked = 0
		}
	}
}

// OnCongestion reduces ssthresh to max(FlightSize/2, 2·MSS).
func (r *NewReno) OnCongestion(ev Event, inflight int, now time.Duration) {
	if ev < FastRetransmit || ev > RepeatedRTO {
		return // not an event this package defines
	}
	if r.recovery && (ev == FastRetransmit || ev == ECN) {
		return
	}
	r.saveAndReduce(ev, inflight/2)
}

// OnRecoveryExit sets cwnd to ssthresh.
func (r *NewReno) OnRecoveryExit(now time.Duration) {
	if !r.recovery {
		return
	}
	r.recovery = false
	r.cwnd = r.ssthresh
}

// Undo restores the window from before the last reduction.
func (r *NewReno) Undo(now time.Duration) { r.undo() }
