package rtt

import "time"

// Defaults (the Linux profile).
const (
	DefaultMin          = 200 * time.Millisecond
	DefaultMax          = 120 * time.Second
	DefaultInitial      = time.Second
	DefaultGranularity  = 200 * time.Millisecond
	DefaultMinRTTWindow = 5 * time.Minute
)

// Config bounds the estimator. The zero value of each field selects its
// default.
type Config struct {
	// Min is the smallest RTO ever returned (before backoff). Default 200 ms.
	Min time.Duration
	// Max is the largest RTO ever returned, backoff included. Default 120 s.
	Max time.Duration
	// Initial is the RTO before the first sample (RFC 6298 2.1). Default 1 s.
	Initial time.Duration
	// Granularity is RFC 6298's G: the floor of the variance term in
	// RTO = SRTT + max(G, 4·RTTVAR). Default 200 ms, which reproduces
	// Linux's SRTT + max(4·RTTVAR, rto_min).
	Granularity time.Duration
	// MinRTTWindow is the span over which MinRTT is the minimum.
	// Default 5 minutes.
	MinRTTWindow time.Duration
	// LinuxVariance selects Linux's variance tracking for SampleSeq (see
	// linux.go): the variance term is at least Min and decays only once
	// per round trip. Sample ignores it.
	LinuxVariance bool
}

func (c Config) withDefaults() Config {
	if c.Min <= 0 {
		c.Min = DefaultMin
	}
	if c.Max <= 0 {
		c.Max = DefaultMax
	}
	if c.Max < c.Min {
		c.Max = c.Min
	}
	if c.Initial <= 0 {
		c.Initial = DefaultInitial
	}
	if c.Granularity <= 0 {
		c.Granularity = DefaultGranularity
	}
	if c.MinRTTWindow <= 0 {
		c.MinRTTWindow = DefaultMinRTTWindow
	}
	return c
}

// maxBackoff caps the shift count; 2^30 times any sane RTO is far beyond
// any Max, and the cap keeps the shift from overflowing.
const maxBackoff = 30

// Estimator is the RFC 6298 state of one connection. Create it with New;
// the zero value is not usable. It is a plain value: copy or embed it.
type Estimator struct {
	cfg     Config
	srtt    time.Duration
	rttvar  time.Duration
	rto     time.Duration // computed, clamped, before backoff
	backoff int
	has     bool
	win     minFilter
	lx      linuxVar
}

// New returns an estimator with no samples: RTO() is cfg.Initial.
func New(cfg Config) Estimator {
	cfg = cfg.withDefaults()
	e := Estimator{cfg: cfg}
	e.rto = e.clamp(cfg.Initial)
	return e
}

// Config returns the effective configuration (defaults filled in).
func (e *Estimator) Config() Config { return e.cfg }

func (e *Estimator) clamp(d time.Duration) time.Duration {
	if d < e.cfg.Min {
		return e.cfg.Min
	}
	if d > e.cfg.Max {
		return e.cfg.Max
	}
	return d
}

// Sample feeds one RTT measurement r taken at time now. The caller applies
// Karn's algorithm (see the package doc). Samples <= 0 are treated as the
// smallest measurable value (1 ns): a timer that reads zero measured
// something shorter than its tick. Sample does not reset the backoff.
func (e *Estimator) Sample(r, now time.Duration) {
	if r <= 0 {
		r = 1
	}
	if !e.has {
		// RFC 6298 2.2.
		e.srtt = r
		e.rttvar = r / 2
		e.has = true
	} else {
		// RFC 6298 2.3: RTTVAR first, from the old SRTT; beta = 1/4,
		// alpha = 1/8.
		d := e.srtt - r
		if d < 0 {
			d = -d
		}
		e.rttvar += (d - e.rttvar) / 4
		e.srtt += (r - e.srtt) / 8
	}
	v := 4 * e.rttvar
	if v < e.cfg.Granularity {
		v = e.cfg.Granularity
	}
	e.rto = e.clamp(e.srtt + v)
	e.win.update(r, now, e.cfg.MinRTTWindow)
}

// HasSample reports whether Sample has been called.
func (e *Estimator) HasSample() bool { return e.has }

// SRTT is the smoothed RTT, 0 before the first sample.
func (e *Estimator) SRTT() time.Duration { return e.srtt }

// RTTVar is the RTT variation, 0 before the first sample.
func (e *Estimator) RTTVar() time.Duration { return e.rttvar }

// MinRTT is the windowed minimum RTT (see the package doc) as of the latest
// sample, 0 before the first sample.
func (e *Estimator) MinRTT() time.Duration { return e.win.s[0].rtt }

// RTO is the current retransmission timeout: the RFC 6298 value clamped to
// [Min, Max], doubled once per Backoff since the last ResetBackoff, and
// never above Max.
func (e *Estimator) RTO() time.Duration {
	r := e.rto
	for i := 0; i < e.backoff; i++ {
		if r >= e.cfg.Max/2 {
			return e.cfg.Max
		}
		r *= 2
	}
	return r
}

// Backoff doubles the RTO after a retransmission timeout (RFC 6298 5.5),
// up to Max.
func (e *Estimator) Backoff() {
	if e.backoff < maxBackoff && e.RTO() < e.cfg.Max {
		e.backoff++
	}
}

// Backoffs is how many times the RTO is currently doubled.
func (e *Estimator) Backoffs() int { return e.backoff }

// ResetBackoff undoes all doubling: call it once a valid new sample arrives
// after a timeout.
func (e *Estimator) ResetBackoff() { e.backoff = 0 }

// FromTSEcr turns an RFC 7323 timestamp echo into an RTT sample. nowTS is
// the local timestamp clock now, ecr the TSecr of the arriving ACK, tsHz the
// timestamp clock rate in ticks per second (1000 for Linux's 1 ms clock).
//
// ok is false when no sample may be taken: tsHz is 0, ecr is 0 (Linux
// treats a zero echo as "no echo"), or ecr lies in the future of nowTS. A
// delta of zero ticks yields one tick, since the true value is somewhere
// below one tick (Linux does the same).
func FromTSEcr(nowTS, ecr uint32, tsHz uint32) (r time.Duration, ok bool) {
	if tsHz == 0 || ecr == 0 {
		return 0, false
	}
	d := int32(nowTS - ecr)
	if d < 0 {
		return 0, false
	}
	if d == 0 {
		d = 1
	}
	// d < 2^31 ticks; at 1 Hz that is ~68 years, still within int64 ns.
	return time.Duration(d) * time.Second / time.Duration(tsHz), true
}
