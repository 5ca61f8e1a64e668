package cc

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Event is a congestion signal passed to OnCongestion.
type Event uint8

const (
	// FastRetransmit: loss detected by duplicate ACKs, SACK or RACK; fast
	// recovery begins.
	FastRetransmit Event = iota + 1
	// ECN: an ACK carried ECN-Echo (RFC 3168); reduce as for a loss, with
	// nothing to retransmit.
	ECN
	// RTO: the retransmission timer fired for the first time for a
	// segment.
	RTO
	// RepeatedRTO: the timer fired again for a segment already
	// retransmitted by timeout; ssthresh is held (RFC 5681 section 3.1).
	RepeatedRTO
)

func (e Event) String() string {
	switch e {
	case FastRetransmit:
		return "fast-retransmit"
	case ECN:
		return "ecn"
	case RTO:
		return "rto"
	case RepeatedRTO:
		return "repeated-rto"
	}
	return fmt.Sprintf("Event(%d)", uint8(e))
}

// InfiniteSsthresh is the ssthresh before the first congestion event
// (Linux reports the same value).
const InfiniteSsthresh = math.MaxInt32

// Algorithm is a congestion controller. The package doc describes when
// the engine makes each call. Implementations are not safe for concurrent
// use and allocate nothing after construction.
type Algorithm interface {
	// Name is the registry name ("newreno", "cubic").
	Name() string
	// Init starts (or restarts) the algorithm for a connection whose send
	// MSS is mss bytes.
	Init(mss int, now time.Duration)
	// SetMSS changes the send MSS; cwnd and ssthresh keep their byte
	// values.
	SetMSS(mss int)
	// OnAck reports acked bytes newly delivered by an ACK.
	OnAck(acked int, rtt time.Duration, inflight int, now time.Duration, appLimited bool)
	// OnCongestion reports a congestion event; inflight is the bytes in
	// flight when it was detected (FlightSize).
	OnCongestion(ev Event, inflight int, now time.Duration)
	// OnRecoveryExit reports the end of fast recovery or ECN reduction.
	OnRecoveryExit(now time.Duration)
	// Undo reverts the last reduction, found spurious.
	Undo(now time.Duration)
	// Cwnd is the congestion window in bytes.
	Cwnd() int
	// Ssthresh is the slow-start threshold in bytes.
	Ssthresh() int
	// InSlowStart reports cwnd < ssthresh.
	InSlowStart() bool
	// InRecovery reports whether a FastRetransmit or ECN reduction is in
	// progress (OnRecoveryExit not yet called).
	InRecovery() bool
}

// Defaults for Config.
const (
	DefaultInitialWindow = 10 // segments (RFC 6928, Linux)
	DefaultABCLimit      = 2  // RFC 3465 L
	DefaultCubicC        = 0.4
	DefaultCubicBeta     = 0.7
)

// Config parameterizes the algorithms. The zero value of each field
// selects its default (booleans are phrased so that false is the default).
type Config struct {
	// InitialWindow is the initial cwnd in segments. Default 10.
	InitialWindow int
	// ABCLimit is L of RFC 3465: the most segments' worth of cwnd growth
	// per ACK in slow start. Default 2.
	ABCLimit int
	// CubicC is CUBIC's C, in segments per second cubed. Default 0.4.
	CubicC float64
	// CubicBeta is beta_cubic, the multiplicative decrease factor, in
	// (0, 1). Default 0.7.
	CubicBeta float64
	// DisableFastConvergence turns off CUBIC fast convergence (RFC 9438
	// section 4.7).
	DisableFastConvergence bool
	// DisableRenoFriendly turns off CUBIC's Reno-friendly region (RFC 9438
	// section 4.3; Linux tcp_friendliness).
	DisableRenoFriendly bool
	// HyStart enables HyStart++ (RFC 9406) in the initial slow start of
	// both algorithms. It needs RTT samples through RTTObserver. Off by
	// default: Linux runs its own, older HyStart, which this is not.
	HyStart bool
}

// ErrUnknown is returned by New for a name not in the registry.
var ErrUnknown = errors.New("cc: unknown congestion control algorithm")

// ErrConfig is returned by New for an invalid Config.
var ErrConfig = errors.New("cc: invalid config")

func (c Config) withDefaults() (Config, error) {
	if c.InitialWindow < 0 || c.ABCLimit < 0 {
		return c, fmt.Errorf("%w: negative InitialWindow or ABCLimit", ErrConfig)
	}
	if c.InitialWindow == 0 {
		c.InitialWindow = DefaultInitialWindow
	}
	if c.ABCLimit == 0 {
		c.ABCLimit = DefaultABCLimit
	}
	if c.CubicC == 0 {
		c.CubicC = DefaultCubicC
	}
	if c.CubicBeta == 0 {
		c.CubicBeta = DefaultCubicBeta
	}
	if !(c.CubicC > 0) || math.IsInf(c.CubicC, 0) {
		return c, fmt.Errorf("%w: CubicC %v", ErrConfig, c.CubicC)
	}
	if !(c.CubicBeta > 0 && c.CubicBeta < 1) {
		return c, fmt.Errorf("%w: CubicBeta %v not in (0,1)", ErrConfig, c.CubicBeta)
	}
	return c, nil
}

// Names lists the registered algorithm names.
func Names() []string { return []string{"cubic", "newreno"} }

// New builds the named algorithm ("cubic", or "newreno" alias "reno"). The
// result still needs Init.
func New(name string, cfg Config) (Algorithm, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	switch name {
	case "cubic":
		return newCubic(c), nil
	case "newreno", "reno":
		return newNewReno(c), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknown, name)
}

// CwndLimited reports whether cwnd may grow, by Linux's rule: in slow start
// the sender counts as cwnd-limited while cwnd < 2·maxInflight, the most
// bytes it had in flight during the last RTT; in congestion avoidance only
// if it actually filled cwnd (cwndFull: sending stopped because of cwnd,
// not for lack of data or receive window). Pass appLimited =
// !CwndLimited(...) to OnAck.
func CwndLimited(cwnd, maxInflight int, inSlowStart, cwndFull bool) bool {
	if inSlowStart {
		return cwnd < 2*maxInflight
	}
	return cwndFull
}
