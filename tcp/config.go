package tcp

import (
	"errors"
	"fmt"
	"time"

	"github.com/ustack/ustack/tcp/cc"
)

// Config holds every tunable of a connection or listener. The zero value of
// each field means "the default", and the defaults are Linux's (the `linux`
// profile of LINUX-WIRE.md), which the function Linux returns spelled out.
// Boolean features that Linux enables are phrased negatively (DisableX) so
// that the zero Config is the Linux one.
//
// A Config is copied into each Conn when it is created. The pointer fields
// (Counters, ChallengeACKLimiter) are shared: set them once per stack (or
// shard) so that all connections count into the same place and share one
// challenge-ACK budget.
type Config struct {
	// MTU of the path, used to derive the advertised MSS when MSS is 0
	// (MTU-40 for IPv4, MTU-60 for IPv6). Default 1500.
	MTU int
	// MSS, when non-zero, caps the advertised and the sending maximum
	// segment size (like TCP_MAXSEG). Range [88, 65495].
	MSS int

	// RcvBuf is the receive buffer in bytes, sized as Linux sizes
	// sk_rcvbuf: half of it is payload window and half stands for
	// per-segment overhead (Linux's default scaling ratio), so at most
	// RcvBuf/2 bytes are advertised and queued. Default 540000 (a Linux SYN
	// then offers 65535, like the kernel with tcp_rmem[1] = 540000).
	RcvBuf int
	// RcvBufMax is the largest receive buffer the connection may grow to;
	// the window scale offered on SYN is the smallest that lets it be
	// advertised (Linux tcp_rmem[2]). Default 15728640 (window scale 8).
	RcvBufMax int
	// SndBuf is the send ring size in bytes (unsent plus unacknowledged
	// data). Default 262144.
	SndBuf int
	// InitRcvWnd, when non-zero, caps the initial receive window in bytes
	// (Linux's initrwnd route metric). Without it the initial window is
	// RcvBuf/2 rounded down to whole segments, as Linux computes it; the
	// SYN shows at most 65535 of it (a 131072-byte buffer gives the
	// familiar 64240), the first ACK all of it. Default 0: no cap.
	InitRcvWnd int

	// DisableTimestamps turns off RFC 7323 timestamps (Linux tcp_timestamps).
	DisableTimestamps bool
	// DisableSACK turns off SACK-permitted and SACK blocks (tcp_sack).
	DisableSACK bool
	// DisableDSACK turns off duplicate-SACK reporting (tcp_dsack).
	DisableDSACK bool
	// DisableWindowScaling turns off RFC 7323 window scaling.
	DisableWindowScaling bool
	// PAWSIdle is how long TS.Recent stays valid for PAWS (RFC 7323 §5.5):
	// after this idle time any timestamp is accepted. Default 24 days.
	PAWSIdle time.Duration

	// DelAckMin and DelAckMax bound the delayed-ACK timer (Linux 40 ms and
	// 200 ms). The timer starts at DelAckMin and is raised toward the
	// measured RTT, never beyond DelAckMax.
	DelAckMin, DelAckMax time.Duration
	// QuickAcks is how many segments are acknowledged at once at
	// connection start and after out-of-order data (Linux caps quick-ACK
	// mode at 16). Default 16.
	QuickAcks int

	// RTOInitial is the RTO before any RTT sample (SYN and SYN-ACK
	// retransmission), RTOMin and RTOMax bound the RTO (RFC 6298 with Linux
	// bounds: 1 s, 200 ms, 120 s).
	RTOInitial, RTOMin, RTOMax time.Duration
	// SynRetries and SynAckRetries are how many times a SYN or SYN-ACK is
	// retransmitted before giving up (Linux tcp_syn_retries and
	// tcp_synack_retries, 5 each).
	SynRetries, SynAckRetries int
	// Retries2 is how many RTO expirations an established connection
	// survives before it is aborted (Linux tcp_retries2 = 15: about 924.6 s
	// with a 200 ms RTO). The limit is applied as Linux does, as the time
	// those retransmissions would take with exponential backoff.
	Retries2 int
	// OrphanRetries replaces Retries2 once the application has closed the
	// connection (Linux tcp_orphan_retries, whose 0 means 8: about 102 s
	// with a 200 ms RTO).
	OrphanRetries int
	// ReorderingThreshold is the duplicate-ACK count that triggers fast
	// retransmit (Linux tcp_reordering). Default 3.
	ReorderingThreshold int
	// MaxReordering caps the threshold when D-SACKs show the path
	// reorders (Linux tcp_max_reordering). Default 300.
	MaxReordering int
	// DisableTLP turns off tail loss probes (RFC 8985 §7; Linux
	// tcp_early_retrans enables them, with SACK only).
	DisableTLP bool
	// InitCwnd is the initial congestion window in segments (RFC 6928,
	// Linux 10).
	InitCwnd int

	// CongestionControl names the algorithm (tcp/cc): "cubic" (default,
	// as Linux) or "newreno".
	CongestionControl string

	// GSOMaxSize, when non-zero, turns on segmentation offload (TSO/GSO):
	// the segments one send decision emits leave as one super-segment
	// of up to GSOMaxSize payload bytes, a whole number of segments, for
	// the link to cut (see GSOOutput; the Output must implement it). The
	// pieces are the segments, PSH included, that would be sent without
	// offload; retransmissions are always single segments. Values below
	// two segments mean off. Default 0 (off); range [0, 65535]. The
	// ustack root package sets it from the link (link.GSO).
	GSOMaxSize int

	// NoDelay disables Nagle's algorithm (TCP_NODELAY).
	NoDelay bool
	// Cork holds partial segments until uncorked (TCP_CORK), but no
	// longer than CorkTimeout (Linux's 200 ms ceiling).
	Cork        bool
	CorkTimeout time.Duration

	// KeepAlive enables keepalive probing (SO_KEEPALIVE; off by default as
	// in Linux). KeepIdle, KeepIntvl and KeepCnt are tcp_keepalive_time,
	// _intvl and _probes: 2 h, 75 s and 9.
	KeepAlive bool
	KeepIdle  time.Duration
	KeepIntvl time.Duration
	KeepCnt   int
	// UserTimeout, when non-zero, aborts the connection when transmitted
	// data stays unacknowledged this long (RFC 5482 / TCP_USER_TIMEOUT).
	UserTimeout time.Duration

	// TimeWait is how long TIME-WAIT lasts (2*MSL; Linux 60 s).
	TimeWait time.Duration
	// FinTimeout bounds FIN-WAIT-2 after the application has closed
	// (Linux tcp_fin_timeout, 60 s).
	FinTimeout time.Duration
	// LingerZero makes Close abort with RST (SO_LINGER with timeout 0).
	LingerZero bool
	// Linger, when non-zero, bounds how long Close lets queued data and
	// the FIN drain: if the connection has not finished (CLOSED or
	// TIME-WAIT) by then it is reset (SO_LINGER with a timeout, the
	// close itself not blocking).
	Linger time.Duration

	// Backlog bounds the accept queue and the SYN queue of a Listener
	// (Linux somaxconn 4096). SynQueue, when non-zero, bounds the SYN queue
	// separately.
	Backlog  int
	SynQueue int
	// DisableSynCookies turns off SYN cookies when the SYN queue is full
	// (Linux tcp_syncookies = 1 sends cookies only on overflow).
	DisableSynCookies bool

	// OOWACKInterval rate-limits the ACKs sent in answer to empty
	// out-of-window (or PAWS-failing) segments, per connection (Linux
	// tcp_invalid_ratelimit, 500 ms). Data segments are always answered.
	OOWACKInterval time.Duration

	// ChallengeACKLimit is the most RFC 5961 challenge ACKs sent per second
	// through one ChallengeACKLimiter. Default 1000.
	ChallengeACKLimit int
	// ChallengeACKLimiter is the shared budget of challenge ACKs. Nil gives
	// each connection its own.
	ChallengeACKLimiter *RateLimiter
	// Counters receives the protocol counters. Nil gives each connection
	// or listener its own.
	Counters *Counters
	// Cache, when set, recycles send-buffer storage among the connections
	// made with this Config (see Cache). It has one owner: every
	// connection using it must be driven by the same goroutine (one
	// shard). Nil: each connection allocates its own.
	Cache *Cache

	// Set by Resolved: defaults applied and validated, and the congestion
	// controller every connection starts from (copied, not shared).
	resolved bool
	ccTmpl   cc.Algorithm
}

// Linux returns the `linux` profile: every field set to Linux's value.
func Linux() Config {
	return Config{
		MTU:                 1500,
		RcvBuf:              540000,
		RcvBufMax:           15728640,
		SndBuf:              262144,
		PAWSIdle:            24 * 24 * time.Hour,
		DelAckMin:           40 * time.Millisecond,
		DelAckMax:           200 * time.Millisecond,
		QuickAcks:           16,
		RTOInitial:          time.Second,
		RTOMin:              200 * time.Millisecond,
		RTOMax:              120 * time.Second,
		SynRetries:          5,
		SynAckRetries:       5,
		Retries2:            15,
		OrphanRetries:       8,
		ReorderingThreshold: 3,
		MaxReordering:       300,
		InitCwnd:            10,
		CongestionControl:   "cubic",
		CorkTimeout:         200 * time.Millisecond,
		KeepIdle:            2 * time.Hour,
		KeepIntvl:           75 * time.Second,
		KeepCnt:             9,
		TimeWait:            60 * time.Second,
		FinTimeout:          60 * time.Second,
		Backlog:             4096,
		ChallengeACKLimit:   1000,
		OOWACKInterval:      500 * time.Millisecond,
	}
}

// withDefaults fills zero fields from the Linux profile.
func (c Config) withDefaults() Config {
	d := Linux()
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setInt(&c.MTU, d.MTU)
	setInt(&c.RcvBuf, d.RcvBuf)
	setInt(&c.RcvBufMax, d.RcvBufMax)
	if c.RcvBufMax < c.RcvBuf {
		c.RcvBufMax = c.RcvBuf
	}
	setInt(&c.SndBuf, d.SndBuf)
	setDur(&c.PAWSIdle, d.PAWSIdle)
	setDur(&c.DelAckMin, d.DelAckMin)
	setDur(&c.DelAckMax, d.DelAckMax)
	setInt(&c.QuickAcks, d.QuickAcks)
	setDur(&c.RTOInitial, d.RTOInitial)
	setDur(&c.RTOMin, d.RTOMin)
	setDur(&c.RTOMax, d.RTOMax)
	setInt(&c.SynRetries, d.SynRetries)
	setInt(&c.SynAckRetries, d.SynAckRetries)
	setInt(&c.Retries2, d.Retries2)
	setInt(&c.OrphanRetries, d.OrphanRetries)
	setInt(&c.ReorderingThreshold, d.ReorderingThreshold)
	setInt(&c.MaxReordering, d.MaxReordering)
	if c.MaxReordering < c.ReorderingThreshold {
		c.MaxReordering = c.ReorderingThreshold
	}
	setInt(&c.InitCwnd, d.InitCwnd)
	if c.CongestionControl == "" {
		c.CongestionControl = d.CongestionControl
	}
	setDur(&c.CorkTimeout, d.CorkTimeout)
	setDur(&c.KeepIdle, d.KeepIdle)
	setDur(&c.KeepIntvl, d.KeepIntvl)
	setInt(&c.KeepCnt, d.KeepCnt)
	setDur(&c.TimeWait, d.TimeWait)
	setDur(&c.FinTimeout, d.FinTimeout)
	setInt(&c.Backlog, d.Backlog)
	if c.SynQueue == 0 {
		c.SynQueue = c.Backlog
	}
	setInt(&c.ChallengeACKLimit, d.ChallengeACKLimit)
	setDur(&c.OOWACKInterval, d.OOWACKInterval)
	return c
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("tcp: invalid config")

// Validate reports whether the configuration (after defaults) is usable.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(field string, v any) error {
		return fmt.Errorf("%w: %s = %v", ErrConfig, field, v)
	}
	switch {
	case c.MTU < 128 || c.MTU > 65535:
		return bad("MTU", c.MTU)
	case c.MSS != 0 && (c.MSS < 88 || c.MSS > 65495):
		return bad("MSS", c.MSS)
	case c.RcvBuf < 2048 || c.RcvBuf > 1<<30:
		return bad("RcvBuf", c.RcvBuf)
	case c.RcvBufMax > 1<<30:
		return bad("RcvBufMax", c.RcvBufMax)
	case c.SndBuf < 2048 || c.SndBuf > 1<<30:
		return bad("SndBuf", c.SndBuf)
	case c.GSOMaxSize < 0 || c.GSOMaxSize > 65535:
		return bad("GSOMaxSize", c.GSOMaxSize)
	case c.InitRcvWnd != 0 && (c.InitRcvWnd < 536 || c.InitRcvWnd > 1<<30):
		return bad("InitRcvWnd", c.InitRcvWnd)
	case c.PAWSIdle < 0:
		return bad("PAWSIdle", c.PAWSIdle)
	case c.DelAckMin < 0 || c.DelAckMax < c.DelAckMin:
		return bad("DelAckMin/DelAckMax", c.DelAckMin)
	case c.QuickAcks < 0 || c.QuickAcks > 1<<16:
		return bad("QuickAcks", c.QuickAcks)
	case c.RTOMin <= 0 || c.RTOMax < c.RTOMin || c.RTOInitial < c.RTOMin || c.RTOInitial > c.RTOMax:
		return bad("RTOInitial/RTOMin/RTOMax", c.RTOInitial)
	case c.SynRetries < 0 || c.SynRetries > 127:
		return bad("SynRetries", c.SynRetries)
	case c.SynAckRetries < 0 || c.SynAckRetries > 127:
		return bad("SynAckRetries", c.SynAckRetries)
	case c.Retries2 < 1 || c.Retries2 > 255:
		return bad("Retries2", c.Retries2)
	case c.OrphanRetries < 1 || c.OrphanRetries > 255:
		return bad("OrphanRetries", c.OrphanRetries)
	case c.ReorderingThreshold < 1 || c.ReorderingThreshold > 300:
		return bad("ReorderingThreshold", c.ReorderingThreshold)
	case c.MaxReordering > 1024:
		return bad("MaxReordering", c.MaxReordering)
	case c.InitCwnd < 1 || c.InitCwnd > 1024:
		return bad("InitCwnd", c.InitCwnd)
	case c.KeepIdle < time.Second || c.KeepIntvl < time.Second || c.KeepCnt < 1 || c.KeepCnt > 127:
		return bad("KeepIdle/KeepIntvl/KeepCnt", c.KeepIdle)
	case c.Linger < 0:
		return bad("Linger", c.Linger)
	case c.CorkTimeout < 0:
		return bad("CorkTimeout", c.CorkTimeout)
	case c.UserTimeout < 0:
		return bad("UserTimeout", c.UserTimeout)
	case c.TimeWait < 0 || c.FinTimeout < 0:
		return bad("TimeWait/FinTimeout", c.TimeWait)
	case c.Backlog < 1 || c.Backlog > 1<<20 || c.SynQueue < 1 || c.SynQueue > 1<<20:
		return bad("Backlog/SynQueue", c.Backlog)
	case c.CongestionControl != "cubic" && c.CongestionControl != "newreno" && c.CongestionControl != "reno":
		return bad("CongestionControl", c.CongestionControl)
	case c.OOWACKInterval < 0:
		return bad("OOWACKInterval", c.OOWACKInterval)
	case c.ChallengeACKLimit < 1:
		return bad("ChallengeACKLimit", c.ChallengeACKLimit)
	}
	return nil
}

// resolve validates c, fills defaults and the shared pointers.
func (c Config) resolve() (Config, error) {
	if c.resolved {
		return c, nil
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	c = c.withDefaults()
	if c.Counters == nil {
		c.Counters = new(Counters)
	}
	if c.ChallengeACKLimiter == nil {
		c.ChallengeACKLimiter = NewRateLimiter(c.ChallengeACKLimit, time.Second)
	}
	alg, err := cc.New(c.CongestionControl, cc.Config{InitialWindow: c.InitCwnd})
	if err != nil {
		return c, fmt.Errorf("%w: CongestionControl: %w", ErrConfig, err)
	}
	c.ccTmpl = alg
	c.resolved = true
	return c, nil
}

// Resolved returns c validated, with its defaults applied and its shared
// objects (Counters, ChallengeACKLimiter) made when nil. Connections and
// listeners made from a resolved Config skip that work, which otherwise
// runs for every connection: a stack resolves its Config once. Changing a
// field of the result afterwards is not supported (the defaults are not
// applied again).
func (c Config) Resolved() (Config, error) { return c.resolve() }

// winSpace is the receive space that windows are carved from: half the
// buffer (Linux tcp_win_from_space with the default scaling ratio).
func (c *Config) winSpace() int { return c.RcvBuf / 2 }

// initRcvWnd is the initial receive window and window clamp: the space
// rounded down to whole segments, at most InitRcvWnd (Linux
// tcp_select_initial_window). A SYN shows at most 65535 of it.
func (c *Config) initRcvWnd(mss int) uint32 {
	space := c.winSpace()
	if space > mss {
		space -= space % mss
	}
	if c.InitRcvWnd > 0 {
		space = min(space, c.InitRcvWnd)
	}
	return uint32(space)
}

// advMSS is the MSS advertised on our SYN for an IPv4 or IPv6 path.
func (c *Config) advMSS(v6 bool) int {
	m := c.MTU - 40
	if v6 {
		m = c.MTU - 60
	}
	if c.MSS != 0 && c.MSS < m {
		m = c.MSS
	}
	if m > 65495 {
		m = 65495
	}
	return m
}

// rcvWscale is the window scale we offer: the smallest shift that lets
// RcvBufMax be advertised in 16 bits, at most 14 (RFC 7323 §2.3).
func (c *Config) rcvWscale() uint8 {
	if c.DisableWindowScaling {
		return 0
	}
	s := uint8(0)
	for s < 14 && c.RcvBufMax>>s > 65535 {
		s++
	}
	return s
}
