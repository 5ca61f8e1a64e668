package ustack

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/ustack/ustack/internal/flowtab"
	"github.com/ustack/ustack/internal/ports"
	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/tcp"
	"github.com/ustack/ustack/tcp/seqnum"
	"github.com/ustack/ustack/wire"
)

// tcpLayer is the glue between the IP host and the TCP engine on one shard:
// the 4-tuple table, the listeners, segment output, one wheel timer per
// connection, and the dispatch of connection events once per burst. It runs
// only on the shard goroutine.
type tcpLayer struct {
	s       *Stack
	cfg     tcp.Config
	secrets *tcp.Secrets
	ports   *ports.Selector
	// conns finds a connection from its 4-tuple (internal/flowtab).
	conns *flowtab.Table[*endpoint]
	// lastK/lastEp cache the last 4-tuple lookup: consecutive segments
	// of one connection (a burst, a request/response) skip the table.
	// Cleared on every add and remove.
	lastK     flowtab.Key
	lastEp    *endpoint
	listeners map[uint16]*listenEP
	responder tcp.Responder
	counters  tcp.Counters
	out       segOut
	seg       tcp.Segment // scratch for the segment being delivered
	dirty     []*endpoint // endpoints with events to dispatch this burst
	spare     []*endpoint // the other half of the dirty double buffer
	dirtyLn   []*listenEP // listeners with connections to hand out
	timeWait  int         // endpoints in TIME-WAIT now (compact records aside)
	// tw holds the TIME-WAIT connections nothing outside the shard can
	// reach, as compact records (their Conns are back in the cache);
	// twTimer expires them.
	tw      *tcp.TimeWaitTable
	twTimer twExpiry
	stats   tcpGlueStats
	gro     bool      // receive offload on (tcpgro.go)
	runs    []groRun  // open GRO runs, at most maxRuns
	dead    *tcp.Conn // CLOSED stand-in left in recycled endpoints
}

// tcpGlueStats count what the glue itself drops.
type tcpGlueStats struct {
	InCsumErrors uint64 // bad TCP checksum
	InHdrErrors  uint64 // malformed header or options
	OutNoBuffers uint64 // segment lost: no transmit buffer
	TimeWaitDrop uint64 // TIME-WAIT entries dropped because the table was full
	GROSegs      uint64 // segments that joined a GRO run
}

// segOut is the tcp.Output of the layer: it builds each segment into a frame
// and hands it to IP. now and tx are those of the current shard entry.
type segOut struct {
	l   *tcpLayer
	now time.Duration
	tx  ip.Output
}

func (l *tcpLayer) init(s *Stack, cfg tcp.Config) error {
	l.s = s
	cfg.Counters = &l.counters
	if cfg.MTU == 0 || cfg.MTU > s.host.MTU() {
		cfg.MTU = s.host.MTU()
	}
	// Segmentation offload follows the link (tcpgro.go); TCP.GSOMaxSize
	// can only lower it.
	if m := gsoMaxSize(s.cfg.Link, cfg.MTU); s.cfg.DisableGSO || m == 0 {
		cfg.GSOMaxSize = 0
	} else if cfg.GSOMaxSize == 0 || cfg.GSOMaxSize > m {
		cfg.GSOMaxSize = m
	}
	l.gro = !s.cfg.DisableGRO
	l.runs = make([]groRun, 0, maxRuns)
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.ChallengeACKLimiter == nil {
		// RFC 5961 §7: one challenge-ACK budget for the whole stack, so a
		// blind attacker cannot multiply it by opening connections.
		limit := cfg.ChallengeACKLimit
		if limit == 0 {
			limit = tcp.Linux().ChallengeACKLimit
		}
		cfg.ChallengeACKLimiter = tcp.NewRateLimiter(limit, time.Second)
	}
	// One cache of send buffers for the shard's connections, and the
	// Config resolved once rather than for every connection.
	cfg.Cache = tcp.NewCache(0)
	rcfg, err := cfg.Resolved()
	if err != nil {
		return err
	}
	l.cfg = rcfg
	if l.dead, err = tcp.NewClosedConn(rcfg, tcp.Tuple{}); err != nil {
		return err
	}
	src := s.cfg.Rand
	if src == nil {
		src = rand.Reader
	}
	var secret [16]byte
	if _, err := io.ReadFull(src, secret[:]); err != nil {
		return fmt.Errorf("ustack: reading a secret for ISNs and SYN cookies: %w", err)
	}
	l.secrets = tcp.NewSecrets(secret)
	var pk [16]byte
	if _, err := io.ReadFull(src, pk[:]); err != nil {
		return fmt.Errorf("ustack: reading a secret for port selection: %w", err)
	}
	sel, err := ports.New(ports.Config{}, pk)
	if err != nil {
		return err
	}
	l.ports = sel
	var seed [32]byte
	if _, err := io.ReadFull(src, seed[:]); err != nil {
		return fmt.Errorf("ustack: reading a secret for the connection table: %w", err)
	}
	hashSeed := [4]uint64{
		binary.LittleEndian.Uint64(seed[0:]), binary.LittleEndian.Uint64(seed[8:]),
		binary.LittleEndian.Uint64(seed[16:]), binary.LittleEndian.Uint64(seed[24:]),
	}
	l.conns = flowtab.New[*endpoint](hashSeed)
	if l.tw, err = tcp.NewTimeWaitTable(rcfg, hashSeed); err != nil {
		return err
	}
	l.twTimer.l = l
	l.twTimer.timer.Init(&l.twTimer)
	l.listeners = make(map[uint16]*listenEP)
	l.responder.Counters = &l.counters
	l.out.l = l
	s.host.Register(wire.ProtoTCP, l)
	return nil
}

// enter records the time and transmit batch of the current shard entry, so
// engine calls made from handlers and tasks emit through them.
func (l *tcpLayer) enter(now time.Duration, tx ip.Output) {
	l.out.now = now
	l.out.tx = tx
}

// getBuf takes a transmit buffer for out: from the shard TX's cache of
// buffers taken ahead (shard.TX.Get), or from out's pool.
func getBuf(out ip.Output) *link.Buf {
	if t, ok := out.(*shard.TX); ok {
		return t.Get()
	}
	return out.Pool().Get()
}

// woke tells the shard that a goroutine waiting on a socket call was just
// made runnable (shard.TX.Woke), so the loop yields its processor to it.
func (l *tcpLayer) woke() { wokeOut(l.out.tx) }

// wokeOut calls Woke on o when o is a shard's TX (as getBuf finds it).
func wokeOut(o ip.Output) {
	if t, ok := o.(*shard.TX); ok {
		t.Woke()
	}
}

// Deliver is the IP layer's hand-off of one TCP segment (RFC 9293 §3.10.7).
func (l *tcpLayer) Deliver(now time.Duration, p *ip.Packet, b *link.Buf, out ip.Output) {
	l.enter(now, out)
	th, err := wire.ParseTCP(b.Bytes())
	if err != nil {
		l.stats.InHdrErrors++
		l.counters.InErrs++
		b.Free()
		return
	}
	// A FlagCsumPartial frame was built in-process (a peer on link/mem
	// offloading its checksum): nothing on a wire could have damaged it.
	if b.Flags&(link.FlagCsumValid|link.FlagCsumPartial) == 0 && !th.ChecksumValid4(p.Src.As4(), p.Dst.As4()) {
		l.stats.InCsumErrors++
		l.counters.InErrs++
		b.Free()
		return
	}
	seg := &l.seg
	seg.Seq = seqValue(th.Seq())
	seg.Ack = seqValue(th.Ack())
	seg.Flags = th.Flags()
	seg.Window = th.Window()
	seg.Payload = th.Payload()
	if err := wire.ParseTCPOptions(th.Options(), &seg.Opts); err != nil {
		l.stats.InHdrErrors++
		l.counters.InErrs++
		b.Free()
		return
	}
	dst, src := p.Dst.As4(), p.Src.As4()
	k := flowtab.MakeKey4(binary.BigEndian.Uint32(dst[:]), binary.BigEndian.Uint32(src[:]), th.DstPort(), th.SrcPort())
	ep := l.lastEp
	if ep == nil || !l.lastK.Equal(&k) {
		ep, _ = l.conns.Get(k)
		l.lastK, l.lastEp = k, ep
	}
	if ep != nil {
		if ep.conn.State() == tcp.TimeWait && seg.Flags&(wire.TCPFlagSYN|wire.TCPFlagACK|wire.TCPFlagRST) == wire.TCPFlagSYN {
			if iss, ok := ep.conn.AcceptSYNInTimeWait(now, seg); ok {
				t := ep.tuple
				if ln := l.listenerFor(t.Local); ln != nil {
					l.remove(ep)
					c := ln.l.InputISS(now, t.Local, t.Remote, seg, b, &l.out, iss)
					l.afterListener(ln, c)
					return
				}
			}
		}
		if l.gro && l.deliverRun(ep, seg, b) {
			return // the run's end re-arms the timer and queues events
		}
		ep.conn.Input(now, seg, b, &l.out)
		l.touch(ep)
		return
	}
	// No connection: the tuple as netip values, for what follows.
	t := tcp.Tuple{
		Local:  netip.AddrPortFrom(p.Dst, th.DstPort()),
		Remote: netip.AddrPortFrom(p.Src, th.SrcPort()),
	}
	if ref, ok := l.tw.LookupKey(k); ok {
		l.deliverTimeWait(now, ref, t, seg, b)
		return
	}
	if ln := l.listenerFor(t.Local); ln != nil {
		if !l.gro {
			l.afterListener(ln, ln.l.Input(now, t.Local, t.Remote, seg, b, &l.out))
			return
		}
		// A handshake completed with data (the request riding on the
		// last ACK) is acknowledged after the handlers (tcpgro.go).
		c := ln.l.InputRun(now, t.Local, t.Remote, seg, b, &l.out)
		if ep := l.afterListener(ln, c); ep != nil {
			l.deferEnd(ep)
		}
		return
	}
	if p.Broadcast {
		b.Free()
		return
	}
	l.responder.Respond(now, t, seg, &l.out)
	b.Free()
}

func (l *tcpLayer) listenerFor(local netip.AddrPort) *listenEP {
	ln := l.listeners[local.Port()]
	if ln == nil || (ln.addr.IsValid() && !ln.addr.IsUnspecified() && ln.addr != local.Addr()) {
		return nil
	}
	return ln
}

// Send builds one segment into a transmit frame and hands it to IP.
func (o *segOut) Send(t *tcp.Tuple, h *wire.TCPHeader, opts *wire.TCPOptions, p1, p2 []byte) {
	o.send(t, h, opts, p1, p2, 0)
}

// SendGSO builds a super-segment into one transmit frame for the link to
// cut at segSize (tcp.GSOOutput): FlagGSO, and the checksum left for the
// link to complete per piece (FlagCsumPartial).
func (o *segOut) SendGSO(t *tcp.Tuple, h *wire.TCPHeader, opts *wire.TCPOptions, p1, p2 []byte, segSize int) {
	o.send(t, h, opts, p1, p2, segSize)
}

func (o *segOut) send(t *tcp.Tuple, h *wire.TCPHeader, opts *wire.TCPOptions, p1, p2 []byte, gso int) {
	b := getBuf(o.tx)
	if b == nil {
		o.l.stats.OutNoBuffers++
		return
	}
	hl := wire.TCPMinHeaderLen
	if opts != nil {
		hl += opts.EncodedLen()
	}
	d := b.Extend(hl + len(p1) + len(p2))
	if d == nil {
		o.l.stats.OutNoBuffers++
		b.Free()
		return
	}
	if gso == 0 {
		// Header, options, payload and checksum in one pass.
		n, err := wire.PutTCPSegment4(d, h, opts, p1, p2, t.Local.Addr().As4(), t.Remote.Addr().As4())
		if err != nil {
			o.l.stats.OutNoBuffers++
			b.Free()
			return
		}
		b.SetLen(n)
		b.Flags |= link.FlagCsumValid
		_ = o.l.s.host.OutputOpts(o.now, t.Remote.Addr(), wire.ProtoTCP, b, ip.Opts{}, o.tx)
		return
	}
	n, err := wire.PutTCP(d, h, opts)
	if err != nil {
		o.l.stats.OutNoBuffers++
		b.Free()
		return
	}
	n += copy(d[n:], p1)
	n += copy(d[n:], p2)
	b.SetLen(n)
	if gso > 0 {
		seg := wire.TCP(d[:n])
		seg[16], seg[17] = 0, 0
		seg.SetChecksumField(^wire.Fold(wire.PseudoHeaderSum4(t.Local.Addr().As4(), t.Remote.Addr().As4(), wire.ProtoTCP, uint16(n))))
		b.Flags |= link.FlagGSO | link.FlagCsumPartial
		b.GSOSize = uint16(gso)
	} else {
		wire.TCP(d[:n]).SetChecksum4(t.Local.Addr().As4(), t.Remote.Addr().As4())
		b.Flags |= link.FlagCsumValid
	}
	// DFDefault sets DF for TCP, as Linux's path MTU discovery does.
	// Output owns b whatever happens; an error (no route, neighbour
	// failed) is counted by IP and repaired by retransmission or timeout.
	_ = o.l.s.host.OutputOpts(o.now, t.Remote.Addr(), wire.ProtoTCP, b, ip.Opts{}, o.tx)
}

// touch re-arms an endpoint's timer at the engine's deadline and queues its
// events for dispatch at the end of the burst.
func (l *tcpLayer) touch(ep *endpoint) {
	if ep.removed {
		return
	}
	w := l.s.shard.Wheel()
	if d, ok := ep.conn.Deadline(); ok {
		if !ep.timer.Armed() || ep.timer.When() != d {
			w.Arm(&ep.timer, d)
		}
	} else if ep.timer.Armed() {
		w.Cancel(&ep.timer)
	}
	st := ep.conn.State()
	if st == tcp.TimeWait && !ep.inTimeWait {
		if l.timeWait+l.tw.Len() >= l.s.cfg.MaxTimeWait {
			// The TIME-WAIT table is full: forget the connection now, as
			// Linux does past tcp_max_tw_buckets.
			l.stats.TimeWaitDrop++
			l.remove(ep)
			// Its handler still hears Closed (dispatch).
			if !ep.dirty && ep.h != nil && !ep.closed {
				ep.dirty = true
				l.dirty = append(l.dirty, ep)
			}
			return
		}
		ep.inTimeWait = true
		l.timeWait++
	}
	if ep.conn.PendingEvents() != 0 || st == tcp.Closed {
		l.queue(ep)
	}
}

// queue queues ep for dispatch at the end of the burst, once.
func (l *tcpLayer) queue(ep *endpoint) {
	if !ep.dirty {
		ep.dirty = true
		l.dirty = append(l.dirty, ep)
	}
}

// afterListener enters a connection the listener just established in the
// table, returning its endpoint (nil when c is nil), and re-arms the
// listener's timer.
func (l *tcpLayer) afterListener(ln *listenEP, c *tcp.Conn) *endpoint {
	w := l.s.shard.Wheel()
	if d, ok := ln.l.Deadline(); ok {
		if !ln.timer.Armed() || ln.timer.When() != d {
			w.Arm(&ln.timer, d)
		}
	} else if ln.timer.Armed() {
		w.Cancel(&ln.timer)
	}
	if c == nil {
		return nil
	}
	var ep *endpoint
	if ln.sock != nil {
		// A socket listener's: the endpoint comes in the TCPConn that
		// Accept will return (one allocation for both).
		sc := newTCPConn(l.s)
		ep = l.addInto(&sc.epMem, c)
		ep.sc = sc
	} else {
		ep = l.add(c)
	}
	ep.listener = ln
	ln.pending++
	if !ln.dirty {
		ln.dirty = true
		l.dirtyLn = append(l.dirtyLn, ln)
	}
	l.touch(ep)
	return ep
}

func (l *tcpLayer) add(c *tcp.Conn) *endpoint { return l.addInto(nil, c) }

// addInto enters c in the table with the endpoint ep, which must be
// unused (zero), or with a new one if ep is nil.
func (l *tcpLayer) addInto(ep *endpoint, c *tcp.Conn) *endpoint {
	if ep == nil {
		ep = new(endpoint)
	}
	*ep = endpoint{l: l, conn: c, tuple: c.Tuple()}
	ep.ec.ep = ep
	ep.timer.Init(ep)
	ep.key = tupleKey(c.Tuple())
	l.conns.Set(ep.key, ep)
	l.lastEp = nil
	return ep
}

// remove takes an endpoint out of the table for good.
func (l *tcpLayer) remove(ep *endpoint) {
	if ep.removed {
		return
	}
	ep.removed = true
	if ep.timer.Armed() {
		l.s.shard.Wheel().Cancel(&ep.timer)
	}
	if ep.inTimeWait {
		l.timeWait--
		ep.inTimeWait = false
	}
	l.lastEp = nil
	if l.lookupKey(ep.key) == ep {
		l.conns.Delete(ep.key)
	}
	// Give back the frame buffers still queued on the connection (data
	// never read before a reset, a TIME-WAIT forgotten early): Close on a
	// CLOSED or TIME-WAIT connection sends nothing and frees its queues.
	if st := ep.conn.State(); st == tcp.Closed || st == tcp.TimeWait {
		ep.conn.Close(l.out.now, &l.out)
	}
}

// recycle gives a CLOSED endpoint's Conn back to the engine's cache
// (tcp.Conn.Release) once nothing but the endpoint can reach it: out of
// the table, its Closed delivered (or no handler ever), not on a
// listener's accept queue, and not a socket's its user has not closed
// (whose calls report the Conn's error). The endpoint keeps a CLOSED
// stand-in, so a stale EventConn fails as it did before, and a call on a
// closed TCPConn that raced with Close finds it and fails (connTask.Run,
// exec) (dispatch, shard only).
func (l *tcpLayer) recycle(ep *endpoint) {
	c := ep.conn
	if !ep.removed || ep.sock || ep.listener != nil || c == l.dead || c.State() != tcp.Closed || ep.h != nil {
		return
	}
	ep.closed = true
	ep.conn = l.dead
	c.Release()
}

// compact moves a TIME-WAIT endpoint's connection into the table of
// compact records (tcp.TimeWaitTable) and gives its Conn back to the
// cache, when nothing but the endpoint can reach it — recycle's condition
// (not an open socket's, not on an accept queue, Closed delivered) — and takes
// the endpoint out of the table; it keeps the CLOSED stand-in. The ACK a
// GRO run owes goes first (shard only).
func (l *tcpLayer) compact(ep *endpoint) bool {
	if ep.removed || ep.sock || ep.listener != nil || ep.h != nil || ep.conn == l.dead || ep.conn.State() != tcp.TimeWait {
		return false
	}
	l.endRunOf(ep)
	c := ep.conn
	if c.State() != tcp.TimeWait || !l.tw.Add(c) {
		return false
	}
	l.remove(ep) // c is CLOSED now: out of the 4-tuple table, queues freed
	ep.closed = true
	ep.conn = l.dead
	c.Release()
	l.armTimeWait()
	return true
}

// deliverTimeWait hands a segment to a compact TIME-WAIT record: a SYN
// that may reopen the tuple goes to the listener (as for a TIME-WAIT
// Conn, answered with a RST when nothing listens), anything else to the
// record.
func (l *tcpLayer) deliverTimeWait(now time.Duration, ref tcp.TimeWaitRef, t tcp.Tuple, seg *tcp.Segment, b *link.Buf) {
	defer l.armTimeWait()
	if seg.Flags&(wire.TCPFlagSYN|wire.TCPFlagACK|wire.TCPFlagRST) == wire.TCPFlagSYN {
		if iss, ok := l.tw.AcceptSYN(now, ref, seg); ok {
			if ln := l.listenerFor(t.Local); ln != nil {
				c := ln.l.InputISS(now, t.Local, t.Remote, seg, b, &l.out, iss)
				l.afterListener(ln, c)
				return
			}
			// What the CLOSED Conn would do with it.
			l.counters.InSegs++
			l.responder.Respond(now, t, seg, &l.out)
			b.Free()
			return
		}
	}
	l.tw.Input(now, ref, seg, b, &l.out)
}

// armTimeWait sets the TIME-WAIT records' wheel timer to the earliest
// record's deadline.
func (l *tcpLayer) armTimeWait() {
	w, tm := l.s.shard.Wheel(), &l.twTimer.timer
	if d, ok := l.tw.Deadline(); ok {
		if !tm.Armed() || tm.When() != d {
			w.Arm(tm, d)
		}
	} else if tm.Armed() {
		w.Cancel(tm)
	}
}

// twExpiry is the wheel timer of the TIME-WAIT records.
type twExpiry struct {
	l     *tcpLayer
	timer shard.Timer
}

// OnTimer ends the TIME-WAIT records whose 2*MSL has run out.
func (e *twExpiry) OnTimer(now time.Duration, tx *shard.TX) {
	e.l.enter(now, tx)
	e.l.tw.Expire(now)
	e.l.armTimeWait()
}

// endBurst dispatches the events of every endpoint touched this burst.
// Handlers may touch more endpoints; the loop runs until none is left, in a
// bounded number of rounds so a handler that keeps making work cannot stall
// the shard (what is left waits for the next burst).
func (l *tcpLayer) endBurst(now time.Duration, tx ip.Output) {
	l.enter(now, tx)
	// Connections with open runs are dispatched before their runs end
	// (tcpgro.go): the ACK a run owes then rides on what the handlers
	// send, and goes alone at the run's end only if they sent nothing.
	for i := range l.runs {
		l.touch(l.runs[i].ep)
	}
	for round := 0; round < 8 && (len(l.dirty) > 0 || len(l.dirtyLn) > 0 || len(l.runs) > 0); round++ {
		for i := 0; i < len(l.dirtyLn); i++ {
			ln := l.dirtyLn[i]
			l.dirtyLn[i] = nil
			ln.dirty = false
			ln.handOut()
		}
		l.dirtyLn = l.dirtyLn[:0]
		eps := l.dirty
		l.dirty = l.spare[:0]
		for i, ep := range eps {
			eps[i] = nil
			ep.dirty = false
			ep.dispatch()
		}
		l.spare = eps[:0]
		l.endRuns()
	}
	l.endRuns()
}

// seqValue converts a wire sequence number.
func seqValue(v uint32) seqnum.Value { return seqnum.Value(v) }

// OnTimer is the shard timer handler of a connection.
func (ep *endpoint) OnTimer(now time.Duration, tx *shard.TX) {
	l := ep.l
	l.enter(now, tx)
	l.endRunOf(ep)
	ep.conn.OnTimer(now, &l.out)
	l.touch(ep)
}

// tupleKey is t's key in the connection table.
func tupleKey(t tcp.Tuple) flowtab.Key { return flowtab.MakeKey(t.Local, t.Remote) }

// lookup is the endpoint of tuple t, or nil.
func (l *tcpLayer) lookup(t tcp.Tuple) *endpoint { return l.lookupKey(tupleKey(t)) }

func (l *tcpLayer) lookupKey(k flowtab.Key) *endpoint {
	ep, _ := l.conns.Get(k)
	return ep
}

// endpoints returns every endpoint in the table, collected first so that
// the caller may add and remove connections while it walks them (off the
// per-segment path: listener close, neighbour failure).
func (l *tcpLayer) endpoints() []*endpoint {
	eps := make([]*endpoint, 0, l.conns.Len())
	for ep := range l.conns.Values() {
		eps = append(eps, ep)
	}
	return eps
}
