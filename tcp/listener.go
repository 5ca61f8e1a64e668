package tcp

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/tcp/internal/isn"
	"github.com/ustack/ustack/tcp/internal/syncookie"
	"github.com/ustack/ustack/tcp/seqnum"
)

// ISNSource picks initial sequence numbers (RFC 6528).
type ISNSource interface {
	ISN(now time.Duration, t Tuple) seqnum.Value
}

// Secrets derives a stack's keyed generators from one secret: RFC 6528
// initial sequence numbers, RFC 7323 timestamp offsets and SYN cookies.
// Create one per stack (from crypto/rand) and share it across shards; it
// is immutable and safe for concurrent use.
type Secrets struct {
	isn     *isn.Generator
	cookies *syncookie.Jar
}

// NewSecrets keys the generators. The cookie key is derived from secret so
// that the two keyed hashes never share a key.
func NewSecrets(secret [16]byte) *Secrets {
	ck := secret
	for i := range ck {
		ck[i] ^= 0x5c
	}
	jar, err := syncookie.New(syncookie.Config{}, ck)
	if err != nil {
		panic(err) // the zero Config is valid
	}
	return &Secrets{isn: isn.New(secret), cookies: jar}
}

// ISN is the RFC 6528 initial sequence number for t at now (for Dial).
func (s *Secrets) ISN(now time.Duration, t Tuple) seqnum.Value {
	return s.isn.ISN(now, isn.Tuple(t))
}

// tsOffset is the timestamp offset of connections on t.
func (s *Secrets) tsOffset(t Tuple) uint32 { return s.isn.TSOffset(isn.Tuple(t)) }

// Listener is a passive open (RFC 9293 §3.10.7.2, LISTEN): a SYN queue of
// half-open connections (SYN-RECEIVED, SYN,ACK retransmitted on their own
// timers) bounded by Config.SynQueue, an accept queue of established
// connections bounded by Config.Backlog, and SYN cookies when the SYN queue
// overflows. Like Conn it is sans-I/O and single-owner.
type Listener struct {
	cfg     Config
	cnt     *Counters
	local   netip.AddrPort
	isn     ISNSource
	secrets *Secrets
	syn     map[Tuple]*Conn
	accept  struct {
		head, tail *Conn
		n          int
	}
	rst    Responder
	closed bool
	// lastOverflow is when the SYN queue last overflowed; cookies are
	// checked only within two minutes of it, as Linux does.
	lastOverflow time.Duration
	overflowed   bool
	// next caches the earliest half-open deadline; it may be early (a
	// half-open went away), never late.
	next   time.Duration
	nextOK bool
}

// NewListener creates a listener on local using the stack's secrets for
// initial sequence numbers, timestamp offsets and SYN cookies.
func NewListener(cfg Config, local netip.AddrPort, secrets *Secrets) (*Listener, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if secrets == nil {
		return nil, fmt.Errorf("%w: nil Secrets", ErrConfig)
	}
	return &Listener{
		cfg: cfg, cnt: cfg.Counters, local: local, isn: secrets, secrets: secrets,
		syn: make(map[Tuple]*Conn, min(cfg.SynQueue, 1024)),
		rst: Responder{Counters: cfg.Counters},
	}, nil
}

// SetISNSource replaces the source of initial sequence numbers (tests and
// simulations pick fixed ones).
func (l *Listener) SetISNSource(src ISNSource) {
	if src != nil {
		l.isn = src
	}
}

// Addr is the listening address.
func (l *Listener) Addr() netip.AddrPort { return l.local }

// Counters is the listener's counters (the shared ones when Config set them).
func (l *Listener) Counters() *Counters { return l.cnt }

// SynQueueLen and AcceptQueueLen are the current queue lengths.
func (l *Listener) SynQueueLen() int    { return len(l.syn) }
func (l *Listener) AcceptQueueLen() int { return l.accept.n }

// Input processes a segment addressed to the listener from remote (RFC
// 9293 §3.10.7.2, with the SYN-RECEIVED half-opens it owns). It takes
// ownership of buf. When a handshake completes the new ESTABLISHED Conn
// is put on the accept queue and also returned, so that the glue can enter
// it in its connection table; otherwise it returns nil.
func (l *Listener) Input(now time.Duration, local, remote netip.AddrPort, seg *Segment, buf *link.Buf, out Output) *Conn {
	return l.input(now, Tuple{Local: local, Remote: remote}, seg, buf, out, 0, false, false)
}

// InputRun is Input, except that a segment which completes a handshake
// goes through the new Conn's InputRun: what it owes (the ACK of data
// that came with the handshake's last ACK) waits for the caller's
// Conn.EndRun, which must follow, so that it can ride on the
// application's answer.
func (l *Listener) InputRun(now time.Duration, local, remote netip.AddrPort, seg *Segment, buf *link.Buf, out Output) *Conn {
	return l.input(now, Tuple{Local: local, Remote: remote}, seg, buf, out, 0, false, true)
}

// InputISS is Input for a SYN that reopens a TIME-WAIT connection: the new
// connection uses iss (from Conn.AcceptSYNInTimeWait).
func (l *Listener) InputISS(now time.Duration, local, remote netip.AddrPort, seg *Segment, buf *link.Buf, out Output, iss seqnum.Value) *Conn {
	return l.input(now, Tuple{Local: local, Remote: remote}, seg, buf, out, iss, true, false)
}

func (l *Listener) input(now time.Duration, t Tuple, seg *Segment, buf *link.Buf, out Output, iss seqnum.Value, haveISS, run bool) *Conn {
	if l.closed {
		l.cnt.InSegs++
		l.rst.Respond(now, t, seg, out)
		buf.Free()
		return nil
	}
	if c := l.syn[t]; c != nil {
		return l.inputHalfOpen(now, c, seg, buf, out, run)
	}
	l.cnt.InSegs++
	switch {
	case seg.has(flagRST):
		// first, check for a RST: ignore it.
	case seg.has(flagACK):
		// second, check for an ACK: a cookie, or <SEQ=SEG.ACK><CTL=RST>.
		if !seg.has(flagSYN) {
			if c, handled := l.cookieACK(now, t, seg, buf, out); handled {
				return c
			}
		}
		l.rst.Respond(now, t, seg, out)
	case seg.has(flagSYN):
		// third, check for a SYN.
		l.inputSYN(now, t, seg, out, iss, haveISS)
	}
	buf.Free()
	return nil
}

// inputHalfOpen feeds a segment to a SYN-RECEIVED connection of the SYN
// queue and moves it to the accept queue once established.
func (l *Listener) inputHalfOpen(now time.Duration, c *Conn, seg *Segment, buf *link.Buf, out Output, run bool) *Conn {
	if seg.has(flagSYN) && !seg.has(flagACK) && !seg.has(flagRST) && seg.Seq == c.irs {
		// The peer retransmitted its SYN: our SYN,ACK was lost.
		l.cnt.InSegs++
		c.sendSYN(now, out, true)
		buf.Free()
		return nil
	}
	if seg.has(flagACK) && !seg.has(flagRST|flagSYN) && l.accept.n >= l.cfg.Backlog {
		// Accept queue full: drop the ACK, keep the half-open; the
		// SYN,ACK timer will try again (Linux).
		l.cnt.InSegs++
		l.cnt.ListenOverflows++
		l.cnt.ListenDrops++
		buf.Free()
		return nil
	}
	c.InputRun(now, seg, buf, out)
	switch {
	case c.state == Closed:
		delete(l.syn, c.tuple)
		c.Release() // EndRun would do nothing
	case c.state != SynReceived:
		delete(l.syn, c.tuple)
		l.cnt.PassiveOpens++
		l.enqueue(c)
		if !run {
			c.EndRun(now, out)
		}
		return c
	default:
		c.EndRun(now, out)
	}
	return nil
}

// inputSYN answers a SYN in LISTEN: a new half-open connection with a
// SYN,ACK, or a cookie SYN,ACK when the SYN queue is full.
func (l *Listener) inputSYN(now time.Duration, t Tuple, seg *Segment, out Output, iss seqnum.Value, haveISS bool) {
	if l.accept.n >= l.cfg.Backlog {
		l.cnt.ListenOverflows++
		l.cnt.ListenDrops++
		return
	}
	if len(l.syn) >= l.cfg.SynQueue {
		l.overflowed, l.lastOverflow = true, now
		if l.cfg.DisableSynCookies {
			l.cnt.TCPReqQFullDrop++
			l.cnt.ListenDrops++
			return
		}
		l.cnt.TCPReqQFullDoCookies++
		l.sendCookie(now, t, seg, out)
		return
	}
	if !haveISS {
		iss = l.isn.ISN(now, t)
	}
	c, err := newConn(now, l.cfg, t, iss)
	if err != nil {
		return
	}
	c.tsOffset = l.secrets.tsOffset(t)
	c.acceptSYN(now, seg)
	c.sendSYN(now, out, true)
	c.arm(timerRTX, now+c.cfg.RTOInitial)
	l.syn[t] = c
	l.noteDeadline(c)
}

func (l *Listener) noteDeadline(c *Conn) {
	if d, ok := c.Deadline(); ok && (!l.nextOK || d < l.next) {
		l.next, l.nextOK = d, true
	}
}

// acceptSYN loads the peer's SYN into a fresh connection and enters
// SYN-RECEIVED (RFC 9293 §3.10.7.2 third).
func (c *Conn) acceptSYN(now time.Duration, seg *Segment) {
	c.irs = seg.Seq
	c.rcvNxt = seg.Seq.Add(1)
	c.rcvWup = c.rcvNxt
	c.negotiate(now, seg)
	if c.tsOK {
		c.tsRecent, c.tsRecentTime = seg.Opts.TSVal, now
	}
	c.sndWnd = uint32(seg.Window)
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = seg.Seq, c.iss
	c.setState(SynReceived)
}

func (l *Listener) enqueue(c *Conn) {
	c.next = nil
	if l.accept.tail == nil {
		l.accept.head = c
	} else {
		l.accept.tail.next = c
	}
	l.accept.tail = c
	l.accept.n++
}

// Accept takes the oldest established connection off the accept queue, or
// returns nil when it is empty.
func (l *Listener) Accept() *Conn {
	c := l.accept.head
	if c == nil {
		return nil
	}
	l.accept.head = c.next
	if l.accept.head == nil {
		l.accept.tail = nil
	}
	c.next = nil
	l.accept.n--
	return c
}

// Deadline is the earliest SYN,ACK retransmission among the half-open
// connections (possibly earlier than needed; OnTimer then just recomputes).
func (l *Listener) Deadline() (at time.Duration, ok bool) {
	return l.next, l.nextOK && len(l.syn) > 0
}

// OnTimer retransmits due SYN,ACKs and drops half-opens that ran out of
// retries (SynAckRetries). It scans the SYN queue, once per due deadline.
func (l *Listener) OnTimer(now time.Duration, out Output) {
	if !l.nextOK || l.next > now {
		return
	}
	l.nextOK = false
	for t, c := range l.syn {
		if d, armed := c.Deadline(); armed && d <= now {
			c.OnTimer(now, out)
			if c.state == Closed {
				delete(l.syn, t)
				c.Release()
				continue
			}
		}
		l.noteDeadline(c)
	}
}

// Close stops listening: half-open connections are dropped and
// established ones never accepted are reset (as Linux does). Further
// segments get RST.
func (l *Listener) Close(now time.Duration, out Output) {
	l.closed = true
	for t, c := range l.syn {
		c.toClosed()
		delete(l.syn, t)
		c.Release()
	}
	for c := l.Accept(); c != nil; c = l.Accept() {
		c.Abort(now, out)
	}
}
