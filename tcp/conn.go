package tcp

import (
	"fmt"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/tcp/cc"
	"github.com/ustack/ustack/tcp/internal/reasm"
	"github.com/ustack/ustack/tcp/internal/rtt"
	"github.com/ustack/ustack/tcp/seqnum"
	"github.com/ustack/ustack/wire"
)

// Conn is one TCP connection (a TCB, RFC 9293 §3.3.1). It is driven by a
// single owner: Input for received segments, OnTimer when Deadline passes,
// and the application calls (Write, Read, Close...). Every call that may
// emit segments takes the Output to emit them through.
type Conn struct {
	cfg   Config
	cnt   *Counters
	tuple Tuple
	state State
	v6    bool

	// Send sequence space (RFC 9293 §3.3.1). sndMax is the highest
	// sequence number sent so far (sndNxt moves back on an RTO).
	iss, sndUna, sndNxt, sndMax seqnum.Value
	sndWnd                      uint32 // peer's window in bytes (scaled)
	maxSndWnd                   uint32 // largest window the peer offered
	sndWl1, sndWl2              seqnum.Value
	sndWscale                   uint8 // shift applied to windows we receive
	ring                        sendRing
	ringSeq                     seqnum.Value // sequence number of ring's first byte
	finQueued                   bool         // our FIN is due after the ring's data
	sndSml                      seqnum.Value // end of the last small segment sent (Minshall/Nagle)
	pushedSeq                   seqnum.Value // end of the last segment sent with PSH
	sndMSS                      int          // payload bytes per segment (options excluded)
	peerMSS                     int          // MSS option received (536 if none)
	advMSS                      int          // MSS option we sent
	cork, noDelay               bool
	gso                         gsoBatch // segments push is merging (segmentation offload)
	corkExpired                 bool     // the cork timer fired: send the partial segment
	hold                        bool     // SetHold: push sends nothing new

	// Receive sequence space.
	irs, rcvNxt  seqnum.Value
	rcvWup       seqnum.Value // rcvNxt when the last window was advertised (Last.ACK.sent)
	rcvWnd       uint32       // window advertised with the last ACK, bytes
	rcvWscale    uint8        // shift applied to windows we send
	rcvSsthresh  uint32       // window growth clamp (Linux rcv_ssthresh)
	rcvMSS       int          // estimate of the peer's segment size
	rcvQ         bufQueue     // in-order payload, zero copy
	ooo          reasm.Queue  // out-of-order payload
	finRcvd      bool
	oooFin       bool         // a FIN arrived beyond a hole
	oooFinSeq    seqnum.Value // its sequence number
	dsack        wire.SACKBlock
	hasDSACK     bool
	wsOK, sackOK bool

	// Timestamps (RFC 7323).
	tsOK         bool
	tsOffset     uint32
	tsRecent     uint32
	tsRecentTime time.Duration

	// RTT and congestion control.
	rtt        rtt.Estimator
	rttPending bool // a non-timestamp RTT measurement is running
	rttSeq     seqnum.Value
	rttStart   time.Duration
	cc         cc.Algorithm
	cubic      cc.Cubic // c.cc's storage when it is CUBIC
	prr        cc.PRR
	sb         scoreboard
	rtxNext    seqnum.Value // recovery: next sequence number to consider resending
	renoSacked int          // recovery without SACK: segments known to have left
	reordering int          // current duplicate-ACK threshold (adapts upward)
	fack       seqnum.Value // highest sequence number ever SACKed
	rtxRec     rtxRecords   // retransmissions of this recovery (lostrtx.go)
	// Undo of spurious retransmissions (undo.go).
	undoActive, undoPending bool
	undoRetrans             int
	undoMarker, undoHigh    seqnum.Value
	tlpOut                  bool         // a tail loss probe is outstanding
	tlpRetrans              bool         // ...and it was a retransmission
	tlpDup                  bool         // ...which the peer reported as a duplicate (D-SACK)
	tlpHigh                 seqnum.Value // SND.MAX when the probe was sent
	cwndFull                bool         // the last push stopped on the congestion window
	dupAcks                 int
	inRecovery              bool
	recover                 seqnum.Value
	rtoRecover              bool // sndNxt was pulled back by an RTO: resending is retransmission

	// ACK scheduling.
	ackNow      bool // an ACK must go out before returning
	ackPending  bool // an ACK is owed (delayed-ACK timer armed)
	quickAcks   int
	pingpong    bool // interactive: delay ACKs to ride on replies (Linux)
	oowAckSent  bool // lastOOWAck is valid
	lastOOWAck  time.Duration
	ato         time.Duration
	lastDataRcv time.Duration

	// Timers and retries.
	timers       [numTimers]time.Duration
	armed        uint8
	retries      int           // RTO expirations (or SYN retries) without progress
	firstRtxTime time.Duration // when the oldest unacked segment was first retransmitted
	probes       int           // persist or keepalive probes unanswered
	persistShift int
	lastRecv     time.Duration // last segment received (keepalive idle)
	sndUnaTime   time.Duration // when sndUna last advanced or data was first outstanding

	// Accounting for Info.
	bytesSent, bytesAcked, bytesReceived, bytesRetrans uint64
	segsOut, segsIn, totalRetrans                      uint64
	lost                                               uint32
	established                                        time.Duration

	events   Events
	err      error
	userShut bool // Close called: orphaned, unread data gets RST

	hdr  wire.TCPHeader
	opts wire.TCPOptions

	next *Conn // accept queue link
}

// Dial starts an active open (RFC 9293 §3.10.1, OPEN call, active): it
// sends SYN with our options and enters SYN-SENT. iss is the initial send
// sequence number (RFC 6528, tcp/internal/isn). The RTO timer is armed.
func Dial(now time.Duration, cfg Config, t Tuple, iss seqnum.Value, out Output) (*Conn, error) {
	return dial(now, cfg, t, iss, tsOffsetFor(iss), out)
}

// Dial is an active open whose initial sequence number (RFC 6528) and
// timestamp offset come from the secrets. The offset is keyed on the
// address pair only, as Linux keys it: successive connections to one host
// carry increasing TSvals, so a peer holding the previous connection of a
// reused port in TIME-WAIT accepts the new SYN (RFC 6191 PAWS check)
// instead of answering it with an ACK that costs a reset and a one-second
// SYN retransmission.
func (s *Secrets) Dial(now time.Duration, cfg Config, t Tuple, out Output) (*Conn, error) {
	return dial(now, cfg, t, s.ISN(now, t), s.isn.TSOffsetAddrs(t.Local.Addr(), t.Remote.Addr()), out)
}

func dial(now time.Duration, cfg Config, t Tuple, iss seqnum.Value, tsOffset uint32, out Output) (*Conn, error) {
	c, err := newConn(now, cfg, t, iss)
	if err != nil {
		return nil, err
	}
	c.tsOffset = tsOffset
	c.cnt.ActiveOpens++
	c.state = SynSent
	c.sendSYN(now, out, false)
	c.arm(timerRTX, now+c.cfg.RTOInitial)
	return c, nil
}

func newConn(now time.Duration, cfg Config, t Tuple, iss seqnum.Value) (*Conn, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	c := cfg.Cache.getConn()
	if c == nil {
		c = new(Conn)
	}
	c.cfg, c.cnt, c.tuple = cfg, cfg.Counters, t
	c.v6 = t.Local.Addr().Is6() && !t.Local.Addr().Is4In6()
	c.iss, c.sndUna, c.sndNxt, c.sndMax = iss, iss, iss, iss
	c.ringSeq = iss.Add(1)
	c.sndSml = iss
	c.pushedSeq = iss
	c.advMSS = cfg.advMSS(c.v6)
	c.peerMSS = 536
	c.sndMSS = 536
	c.rcvWscale = cfg.rcvWscale()
	c.noDelay, c.cork = cfg.NoDelay, cfg.Cork
	c.tsOffset = tsOffsetFor(iss)
	c.rtt = rtt.New(rtt.Config{Min: cfg.RTOMin, Max: cfg.RTOMax, Initial: cfg.RTOInitial, Granularity: cfg.RTOMin})
	c.rcvSsthresh = c.cfg.initRcvWnd(c.advMSS)
	c.rcvMSS = 536
	c.lastRecv = now
	c.ring.size = cfg.SndBuf
	c.ring.cache = cfg.Cache
	c.ooo.Init(reasm.Config{MaxBytes: cfg.RcvBuf})
	// The controller is a copy of the resolved Config's template, in the
	// Conn itself for the default CUBIC: no allocation of its own.
	switch t := cfg.ccTmpl.(type) {
	case *cc.Cubic:
		c.cubic = *t
		c.cc = &c.cubic
	default:
		alg, err := cc.New(cfg.CongestionControl, cc.Config{InitialWindow: cfg.InitCwnd})
		if err != nil {
			return nil, fmt.Errorf("%w: CongestionControl: %w", ErrConfig, err)
		}
		c.cc = alg
	}
	c.cc.Init(c.sndMSS, now)
	c.recover = iss
	c.fack = iss
	c.reordering = cfg.ReorderingThreshold
	c.rttStart = now
	return c, nil
}

// tsOffsetFor derives the per-connection timestamp offset (RFC 7323 §7.1
// recommends a random one) from the secret-dependent ISS.
func tsOffsetFor(iss seqnum.Value) uint32 {
	x := uint32(iss)
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// State is the connection's RFC 9293 state.
func (c *Conn) State() State { return c.state }

// Tuple is the connection's address pair.
func (c *Conn) Tuple() Tuple { return c.tuple }

// RcvNxt is RCV.NXT: the sequence number the next in-order segment from
// the peer starts at.
func (c *Conn) RcvNxt() seqnum.Value { return c.rcvNxt }

// Err is the error that ended or is ending the connection (ErrConnReset,
// ErrConnRefused, ErrTimeout...), or nil.
func (c *Conn) Err() error { return c.err }

// TakeEvents returns the pending notifications and clears them.
func (c *Conn) TakeEvents() Events {
	e := c.events
	c.events = 0
	return e
}

// PendingEvents returns the pending notifications without clearing them.
func (c *Conn) PendingEvents() Events { return c.events }

// Readable reports whether Read would return data, EOF or an error.
func (c *Conn) Readable() bool {
	return c.rcvQ.n > 0 || c.finRcvd || c.err != nil || c.state == Closed
}

// Writable reports whether Write would accept at least one byte (or return
// an error at once).
func (c *Conn) Writable() bool {
	if c.err != nil || c.finQueued || c.state == Closed {
		return true
	}
	return (c.state == Established || c.state == CloseWait) && c.ring.free() > 0
}

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *Conn) SetNoDelay(now time.Duration, on bool, out Output) {
	c.noDelay = on
	if on {
		c.push(now, out)
	}
}

// SetHold(true) makes the connection send no new data or FIN: writes and
// a close queue up (ACKs, retransmissions and probes still go).
// SetHold(false) sends what the windows allow of what was queued, as
// one write would have. A glue holds a connection while its application
// handlers run, so that what they write and close leaves in as few
// segments as possible (a response and its FIN in one).
func (c *Conn) SetHold(now time.Duration, on bool, out Output) {
	c.hold = on
	if !on && c.state != Closed {
		c.push(now, out)
	}
}

// SetCork holds partial segments (true) or releases them (false).
func (c *Conn) SetCork(now time.Duration, on bool, out Output) {
	c.cork = on
	if !on {
		c.push(now, out)
	}
}

// SetKeepAlive turns keepalive probing on or off (SO_KEEPALIVE).
func (c *Conn) SetKeepAlive(now time.Duration, on bool) {
	c.cfg.KeepAlive = on
	c.armKeepalive(now)
}

// SetUserTimeout sets RFC 5482's user timeout (0 turns it off).
func (c *Conn) SetUserTimeout(d time.Duration) {
	if d >= 0 {
		c.cfg.UserTimeout = d
	}
}

// tsNow is our TSval clock: 1 ms ticks plus the connection's offset.
func (c *Conn) tsNow(now time.Duration) uint32 {
	return uint32(now/time.Millisecond) + c.tsOffset
}

// setErr records the first error and signals it.
func (c *Conn) setErr(err error) {
	if c.err == nil {
		c.err = err
	}
	c.events |= EventError | EventReadable | EventWritable
}

// toClosed ends the connection: timers off, queues freed.
func (c *Conn) toClosed() {
	c.setState(Closed)
	c.armed = 0
	c.ooo.Reset()
	c.ring.n = 0 // nothing will be sent again
	c.ring.release()
	if c.err != nil {
		c.rcvQ.free()
	}
	c.events |= EventClosed | EventReadable | EventWritable
}

// setState moves to s, keeping CurrEstab right.
func (c *Conn) setState(s State) {
	was := c.state == Established || c.state == CloseWait
	is := s == Established || s == CloseWait
	if was && !is {
		c.cnt.CurrEstab--
		if s == Closed {
			// RFC 4022 tcpEstabResets, counted as Linux's tcp_set_state
			// does: any direct transition to CLOSED.
			c.cnt.EstabResets++
		}
	} else if is && !was {
		c.cnt.CurrEstab++
	}
	c.state = s
}

// bufQueue is an intrusive FIFO of frame buffers, each trimmed to its
// payload, linked through Buf.Next.
type bufQueue struct {
	head, tail *link.Buf
	n          int // payload bytes queued
}

func (q *bufQueue) push(b *link.Buf) {
	b.Next = nil
	if q.tail == nil {
		q.head = b
	} else {
		q.tail.Next = b
	}
	q.tail = b
	q.n += b.Len()
}

func (q *bufQueue) free() {
	for b := q.head; b != nil; {
		nx := b.Next
		b.Free()
		b = nx
	}
	q.head, q.tail, q.n = nil, nil, 0
}
