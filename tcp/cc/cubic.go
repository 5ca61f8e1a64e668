package cc

import (
	"math"
	"time"
)

// Cubic is RFC 9438 CUBIC; see the package doc. Build it with New("cubic").
type Cubic struct {
	base
	cw         float64 // cwnd in bytes with the fraction kept
	wMax       float64 // segments
	k          float64 // seconds
	cwndPrior  float64 // segments, cwnd at the last congestion event
	wEst       float64 // segments, Reno-friendly estimate
	epochStart time.Duration
	epoch      bool
	lastAck    time.Duration
	hasLastAck bool
	priorWMax  float64
	priorCPrio float64
}

func newCubic(cfg Config) *Cubic { return &Cubic{base: base{cfg: cfg}} }

// Name returns "cubic".
func (c *Cubic) Name() string { return "cubic" }

// Init starts the algorithm with the initial window.
func (c *Cubic) Init(mss int, now time.Duration) {
	c.init(mss)
	c.cw = float64(c.cwnd)
	c.wMax, c.k, c.cwndPrior, c.wEst = 0, 0, 0, 0
	c.epoch = false
	c.hasLastAck = false
}

// SetMSS changes the send MSS.
func (c *Cubic) SetMSS(mss int) {
	c.setMSS(mss)
	c.epoch = false // W_max and W_est are in segments of the old size
}

// WCubic is RFC 9438 equation 1 in segments: C·(t−K)³ + W_max, t in
// seconds since the epoch began. Exposed for tests and tracing.
func (c *Cubic) WCubic(t float64) float64 {
	d := t - c.k
	return c.cfg.CubicC*d*d*d + c.wMax
}

// K is the time in seconds the current epoch takes to return to W_max.
func (c *Cubic) K() float64 { return c.k }

// WMax is W_max in segments.
func (c *Cubic) WMax() float64 { return c.wMax }

// OnAck grows cwnd: slow start below ssthresh, the cubic or Reno-friendly
// window above it; nothing in recovery; nothing while app-limited, and the
// epoch is shifted by the app-limited time.
func (c *Cubic) OnAck(acked int, rtt time.Duration, inflight int, now time.Duration, appLimited bool) {
	since := time.Duration(0)
	if c.hasLastAck && now > c.lastAck {
		since = now - c.lastAck
	}
	c.lastAck, c.hasLastAck = now, true
	if acked <= 0 || c.recovery {
		return
	}
	if appLimited {
		if c.epoch {
			c.epochStart += since
		}
		return
	}
	if c.cwnd < c.ssthresh {
		acked = c.slowStart(acked, inflight)
		c.cw = float64(c.cwnd)
		if acked == 0 {
			return
		}
	}
	if int(c.cw) != c.cwnd {
		c.cw = float64(c.cwnd) // changed by a reduction or slow start
	}
	mss := float64(c.mss)
	w := c.cw / mss
	if !c.epoch {
		c.epoch = true
		c.epochStart = now
		c.wEst = w
		if c.wMax <= w {
			c.wMax, c.k = w, 0
		} else {
			c.k = math.Cbrt((c.wMax - w) / c.cfg.CubicC)
		}
	}
	segs := float64(acked) / mss
	t := (now - c.epochStart).Seconds()
	target := c.WCubic(t + rtt.Seconds())
	if target < w {
		target = w
	} else if target > 1.5*w {
		target = 1.5 * w
	}
	nw := w + (target-w)/w*segs
	if !c.cfg.DisableRenoFriendly {
		b := c.cfg.CubicBeta
		alpha := 3 * (1 - b) / (1 + b)
		if c.wEst >= c.cwndPrior {
			alpha = 1
		}
		c.wEst += alpha * segs / w
		if c.WCubic(t) < c.wEst && nw < c.wEst {
			nw = c.wEst
		}
	}
	c.cw = nw * mss
	if c.cw > math.MaxInt32 {
		c.cw = math.MaxInt32
	}
	c.cwnd = int(c.cw)
}

// OnCongestion records W_max (with fast convergence) and sets ssthresh =
// max(cwnd·beta, 2·MSS). After a timeout W_max is forgotten, so the next
// epoch starts at its origin (RFC 8312 section 4.7, Linux).
func (c *Cubic) OnCongestion(ev Event, inflight int, now time.Duration) {
	if ev < FastRetransmit || ev > RepeatedRTO {
		return // not an event this package defines
	}
	if c.recovery && (ev == FastRetransmit || ev == ECN) {
		return
	}
	if ev != RepeatedRTO {
		c.priorWMax, c.priorCPrio = c.wMax, c.cwndPrior
		w := float64(c.cwnd) / float64(c.mss)
		if !c.cfg.DisableFastConvergence && w < c.wMax {
			c.wMax = w * (1 + c.cfg.CubicBeta) / 2
		} else {
			c.wMax = w
		}
		c.cwndPrior = w
		if ev == RTO {
			c.wMax = 0
		}
	}
	c.epoch = false
	c.saveAndReduce(ev, int(float64(c.cwnd)*c.cfg.CubicBeta))
	c.cw = float64(c.cwnd)
}

// OnRecoveryExit sets cwnd to ssthresh.
func (c *Cubic) OnRecoveryExit(now time.Duration) {
	if !c.recovery {
		return
	}
	c.recovery = false
	c.cwnd = c.ssthresh
	c.cw = float64(c.cwnd)
	c.epoch = false
}

// Undo restores the window and W_max from before the last reduction.
func (c *Cubic) Undo(now time.Duration) {
	if !c.hasPrior {
		return
	}
	c.wMax, c.cwndPrior = c.priorWMax, c.priorCPrio
	c.undo()
	c.cw = float64(c.cwnd)
	c.epoch = false
}
