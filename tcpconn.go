package ustack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/tcp"
)

// TCP sockets: a *TCPConn is a net.Conn whose connection lives on the
// shard. The application's goroutines never touch engine state.
//
// Data path (chosen and measured in BenchmarkConnRTT / BenchmarkConnBulk):
// a Read or Write is a request object — one per connection and
// direction, reused for every call, so handing it to the shard (Submit)
// costs a CAS and no allocation — that the shard serves with the engine's
// own calls. A Read copies straight from the engine's receive queue (the
// frame buffers the data arrived in) into the caller's slice: one copy,
// no intermediate ring, and the window update the read makes leaves in
// the same loop iteration. A Write copies the caller's bytes once into
// the engine's send ring. When there is nothing to read, or no send space
// left, the request parks on the connection (rpark, wpark) and the shard
// serves it again at the connection's next event; the caller sleeps on
// the request's one-slot channel and is woken once, with its result.
//
// That channel is the only one of the connection's a blocked call sleeps
// on (beside the stack's): Close, CloseRead and the deadline (through its
// waker, deadline.go) signal it too, and the caller, finding its request
// not done, looks at why and withdraws it. A connection therefore makes
// two channels, one per direction (a Dial waits on the write direction's),
// and no timer unless a call blocks with a deadline set. The operations
// of connection setup and teardown (dialOp, closeOp) are the TCPConn
// itself under another type, and an Accept's request is reused, so
// handing them to the shard allocates nothing either. See TestAllocsConnChurn for what a connection
// costs.
//
// Write-behind: a Write of at most writeBehindMax bytes that the engine
// will surely take whole (the shard publishes a lower bound of the free
// send space, wspace, after each write) is copied into a per-connection
// stage and submitted without waiting, and returns at once, as write(2)
// returns once the bytes are in the socket buffer; the next Write
// collects its outcome and reports a failure there. A request/response
// then costs one goroutine hand-off per side (the Read's) instead of
// two: shard parks per round trip in Interrupt mode 5.9 -> 4.0; in
// Adaptive mode BenchmarkConnRTT stayed within the noise of the loaded
// 2-core VM (~12-15 µs either way).
//
// Events reach the socket through the event API's ConnHandler
// (sockEvents), which endpoint.dispatch calls once per burst at EndBurst:
// a blocked reader is woken once however many segments the burst carried.
// The caller's goroutine never touches engine state, and no lock is shared
// with the shard: rmu and wmu only serialise readers among themselves and
// writers among themselves, as the net package's fd mutex does; the
// request's state word (atomic) decides who owns it.
//
// Alternatives: (1) a per-connection SPSC byte ring filled by the shard
// (considered, not built) would save the hand-off when data is already
// waiting, but costs a second copy and decouples the advertised window
// from what the reader has taken; (2) waking the reader and letting it
// submit a fresh read (the first version of this file, measured) costs
// two hand-offs per blocking call instead of one: BenchmarkConnRTT went
// from ~23 µs to ~7 µs with parking, BenchmarkConnBulk from ~0.6 to
// ~1.2 GB/s (2 shared cores); (3) polling for completion (Gosched loop)
// before sleeping measured slower on the loaded 2-core machine.

// TCPConn is a TCP connection on a Stack. It implements net.Conn and the
// extra methods of *net.TCPConn. Its methods are safe for concurrent use.
//
// Like the net package's connections it starts with Nagle's algorithm
// off (SetNoDelay(true)). Unlike net.Dialer and net.ListenConfig, which
// turn keepalive on with a 15 s period, keepalive starts as
// Config.TCP.KeepAlive says (off by default, as for a Linux socket).
//
// The data path: see the comment at the top of tcpconn.go.
type TCPConn struct {
	s  *Stack
	ep *endpoint // shard only (set on the shard before the conn is returned)

	// local and remote are the connection's addresses, set with ep;
	// laddr and raddr are the same as *net.TCPAddr, made on first use.
	local, remote netip.AddrPort
	laddr, raddr  atomic.Pointer[net.TCPAddr]
	ev            sockEvents

	rd, wd   deadline // their wakers are rt and wt
	rt, wt   connTask
	rmu, wmu sync.Mutex

	closing atomic.Bool // Close was called
	closed  atomic.Bool // Close is done: calls fail with net.ErrClosed
	rdShut  atomic.Bool // CloseRead was called
	// rpark and wpark hold a Read or Write parked on the shard until
	// the connection's next event (shard only).
	rpark, wpark *connTask
	// readWakes counts Readable events: a parked Read is served at most
	// once per burst (tests).
	readWakes atomic.Uint64
	linger0   atomic.Bool // SetLinger(0): Close resets
	// Write-behind (see Write): a small Write is copied into wstage and
	// handed to the shard without waiting when wspace, a lower bound on
	// the engine's free send space published by the shard, says it will
	// be taken whole. wbehind (under wmu) marks such a write whose
	// completion the next Write collects.
	wspace  atomic.Int64
	wbehind bool
	wstage  [writeBehindMax]byte

	// Dial (dialOp): the Dial waits on wt's channel for dialErr, the
	// handshake's outcome (errDialNotStarted: startErr says why).
	dialing  atomic.Bool
	dialErr  error
	startErr error
	dialTo   netip.AddrPort
	// epMem is the connection's endpoint, allocated with it: on the
	// shard, by dialOp or, for a socket listener's connection, when its
	// handshake completes (afterListener).
	epMem endpoint
}

var _ net.Conn = (*TCPConn)(nil)

// writeBehindMax is the largest Write that may return before the shard
// has taken it (see Write).
const writeBehindMax = 512

func newTCPConn(s *Stack) *TCPConn {
	c := &TCPConn{s: s}
	c.ev.c = c
	c.rt.init(c, false)
	c.wt.init(c, true)
	c.rd.w = &c.rt
	c.wd.w = &c.wt
	c.rd.pool = &s.timers
	c.wd.pool = &s.timers
	return c
}

// attach binds c to its endpoint and sets the socket defaults (shard).
// The endpoint is the socket's until Close (endpoint.sock).
func (c *TCPConn) attach(now time.Duration, ep *endpoint) {
	c.ep = ep
	ep.h = &c.ev
	ep.sock = true
	l := ep.l
	ep.conn.SetNoDelay(now, true, &l.out)
	t := ep.conn.Tuple()
	c.local, c.remote = t.Local, t.Remote
}

// sockEvents is the ConnHandler of a socket: it runs on the shard, once
// per burst per connection. A Read or Write parked on the shard (it found
// no data or no send space) is served right here, so the goroutine that
// waits for it is woken once, with its result.
type sockEvents struct{ c *TCPConn }

func (e *sockEvents) Established(*EventConn) {
	e.c.dialDone(nil)
	e.c.resume(&e.c.wpark)
}
func (e *sockEvents) Readable(*EventConn) {
	e.c.readWakes.Add(1)
	e.c.resume(&e.c.rpark)
}
func (e *sockEvents) Writable(*EventConn) { e.c.resume(&e.c.wpark) }
func (e *sockEvents) Closed(_ *EventConn, err error) {
	if err == nil {
		err = tcp.ErrConnReset // closed before it was ever established
	}
	e.c.wspace.Store(0) // later Writes wait for their outcome
	e.c.dialDone(err)
	e.c.resume(&e.c.rpark)
	e.c.resume(&e.c.wpark)
}

// dialDone reports the handshake's outcome to a waiting Dial, once.
func (c *TCPConn) dialDone(err error) {
	if c.dialing.CompareAndSwap(true, false) {
		c.dialErr = err
		c.wt.wake()
		c.s.tcp.woke()
	}
}

// A connTask is one direction's request (a Read or a Write), reused for
// every call. Its state moves
//
//	idle → queued (caller: Submit) → running (shard) → idle + done signal
//	                                         ↘ parked (shard: nothing to do yet)
//	parked → running (shard: the connection became readable/writable)
//	queued, parked → idle (caller: withdrawn at a deadline or close)
//
// Only the CAS that wins a transition touches the request's fields, so
// the caller and the shard never race on them. The state is idle again
// before the shard signals completion on the request's channel, so a
// caller that finds it idle has the result whether or not it took the
// signal (a stale one is drained at the start of the next call).
const (
	taskIdle uint32 = iota
	taskQueued
	taskRunning
	taskParked
)

type connTask struct {
	c     *TCPConn
	write bool
	p     []byte
	n     int // bytes moved so far
	err   error
	state atomic.Uint32
	// sig holds a chan struct{} of one slot, made by the direction's
	// caller (signal) only when it is about to sleep: it is signalled
	// when the request completes, and when something its caller may wait
	// for happens: Close, CloseRead, the deadline (the task is its
	// direction's waker), a Dial's outcome. Before it exists nobody
	// sleeps, so a signal is not needed; the caller looks at the state
	// and the flags after making it.
	sig atomic.Value
}

func (t *connTask) init(c *TCPConn, write bool) {
	t.c, t.write = c, write
}

// signal returns the request's channel, making it (caller only: the
// direction's callers are serialised by rmu or wmu, a Dial comes first).
func (t *connTask) signal() chan struct{} {
	if ch, ok := t.sig.Load().(chan struct{}); ok {
		return ch
	}
	ch := make(chan struct{}, 1)
	t.sig.Store(ch)
	return ch
}

// wake signals the request's channel, if made; signals nobody has taken
// yet collapse into one. It never blocks.
func (t *connTask) wake() {
	if ch, ok := t.sig.Load().(chan struct{}); ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// drain drops a pending signal: the caller is about to look for itself.
func (t *connTask) drain() {
	if ch, ok := t.sig.Load().(chan struct{}); ok {
		select {
		case <-ch:
		default:
		}
	}
}

// idle reports that the request is not queued, running or parked: it
// completed (or was never submitted).
func (t *connTask) idle() bool { return t.state.Load() == taskIdle }

// finish waits for a running request to complete.
func (t *connTask) finish() {
	sig := t.signal()
	for !t.idle() {
		<-sig
	}
}

// complete makes a running request idle and signals its caller (shard).
func (t *connTask) complete() {
	t.state.Store(taskIdle)
	t.wake()
}

// Run is the request's first turn on the shard.
func (t *connTask) Run(now time.Duration, tx *shard.TX) {
	if !t.state.CompareAndSwap(taskQueued, taskRunning) {
		return // withdrawn, or a stale copy of a request already served
	}
	l := t.c.ep.l
	l.enter(now, tx)
	if t.c.ep.conn == l.dead {
		// Closed and given back to the cache (a call that raced with
		// Close): the stand-in must not be written to.
		t.err = tcp.ErrClosed
		t.complete()
		return
	}
	t.serve(now)
}

// resume serves the request parked in *slot, if any (shard).
func (c *TCPConn) resume(slot **connTask) {
	t := *slot
	if t == nil {
		return
	}
	*slot = nil
	if t.state.CompareAndSwap(taskParked, taskRunning) {
		t.serve(c.ep.l.out.now)
	}
}

// serve moves data for a running request and then completes it or parks
// it until the connection's next event (shard).
func (t *connTask) serve(now time.Duration) {
	c := t.c
	ep := c.ep
	l := ep.l
	park := false
	if t.write {
		for {
			n, err := ep.conn.Write(now, t.p[t.n:], &l.out)
			t.n += n
			if t.n == len(t.p) {
				break
			}
			if err == tcp.ErrWouldBlock || (err == nil && n == 0) {
				park = true
				break
			}
			if err != nil {
				t.err = err
				break
			}
		}
		c.wspace.Store(int64(ep.conn.WriteSpace()))
	} else {
		n, err := ep.conn.Read(t.p, now, &l.out)
		if n == 0 && err == tcp.ErrWouldBlock {
			park = true
		} else {
			t.n, t.err = n, err
		}
	}
	l.touch(ep)
	if park {
		if t.write {
			c.wpark = t
		} else {
			c.rpark = t
		}
		t.state.Store(taskParked)
		return
	}
	t.complete()
	l.woke()
}

// withdraw takes back a request that has not completed: true if it was
// still queued or parked (it will not run), false if it is running or has
// completed (its done signal is sent or about to be; wait for it).
func (t *connTask) withdraw() bool {
	return t.state.CompareAndSwap(taskQueued, taskIdle) || t.state.CompareAndSwap(taskParked, taskIdle)
}

// do runs a request on the shard and waits for it to complete, for the
// deadline of d, for the close of the connection or the stack, or (reads)
// for CloseRead. On those it withdraws the request and reports why; a
// request that completed meanwhile reports nil instead.
func (c *TCPConn) do(t *connTask, d *deadline) error {
	s := c.s
	t.state.Store(taskQueued)
	if c.inline(t) {
		return c.wait(t, d)
	}
	for !s.shard.Submit(t) {
		// The inbox is full: the shard is busy draining it.
		var err error
		switch {
		case c.isClosed():
			err = errClosed
		case d.passed():
			err = errTimeout
		default:
			time.Sleep(20 * time.Microsecond)
			continue
		}
		t.state.Store(taskIdle)
		return err
	}
	return c.wait(t, d)
}

// inline serves a queued request on the caller's goroutine, running the
// shard's loop (borrow.go) until it completes or the busy-poll budget is
// spent; a request still parked then is served by the shard goroutine at
// the connection's next event. It reports false, leaving t queued and not
// submitted, when the loop could not be taken.
func (c *TCPConn) inline(t *connTask) bool {
	s := c.s
	now, tx, ok := s.borrow()
	if !ok {
		return false
	}
	t.Run(now, tx)
	s.shard.Poll(now)
	now = s.pollUntil(now, t.idle)
	if t.idle() && s.busyPoll > 0 {
		// Served: the caller's next call on this connection likely
		// follows at once and polls again (shard.ReturnSoon).
		s.shard.ReturnSoon(now, s.busyPoll)
	} else {
		s.shard.Return()
	}
	return true
}

// collect waits for a write-behind to complete. The caller was told it
// succeeded, so neither the deadline nor Close withdraws it (the shard
// serves it before the Close, which was submitted after it); only the
// stack's shutdown does.
func (c *TCPConn) collect(t *connTask) error {
	if t.idle() {
		return nil
	}
	sig := t.signal()
	for !t.idle() {
		select {
		case <-sig:
		case <-c.s.closed:
			if t.withdraw() {
				return errClosed
			}
			t.finish()
			return nil
		}
	}
	return nil
}

// wait waits for a submitted request as do says.
func (c *TCPConn) wait(t *connTask, d *deadline) error {
	if t.idle() {
		return nil // served inline (the common case)
	}
	// From here on, whatever ends the wait signals sig after it sets
	// what the loop looks at.
	sig := t.signal()
	d.block()
	defer d.unblock()
	start := c.s.clock.Now()
	for {
		if t.idle() {
			c.s.answered(start)
			return nil
		}
		var err error
		switch {
		case c.closed.Load():
			err = errClosed
		case !t.write && c.rdShut.Load():
			err = io.EOF
		case d.passed():
			err = errTimeout
		}
		if err == nil {
			select {
			case <-sig:
				continue // look again (the signal may be an old one)
			case <-c.s.closed:
				err = errClosed
			}
		}
		if t.withdraw() {
			return err
		}
		t.finish() // completed after all: take the result
		return nil
	}
}

func (s *Stack) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

func (c *TCPConn) isClosed() bool {
	return c.closed.Load() || c.s.isClosed()
}

func (c *TCPConn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// Read reads received data into p. It returns io.EOF once the peer's FIN
// has been reached (or after CloseRead), an error matching
// os.ErrDeadlineExceeded after the read deadline, net.ErrClosed after
// Close, and the connection's failure otherwise (errors.Is matches
// syscall.ECONNRESET, ETIMEDOUT... and the tcp package's error). Errors
// are *net.OpError with Op "read". It does not allocate.
func (c *TCPConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	t := &c.rt
	// Drop old signals before the checks: whatever sets one of the
	// flags below signals after it, so no reason to stop is missed.
	t.drain()
	switch {
	case c.isClosed():
		return 0, c.opErr("read", errClosed)
	case c.rdShut.Load():
		return 0, io.EOF
	case c.rd.passed():
		return 0, c.opErr("read", errTimeout)
	case len(p) == 0:
		return 0, nil
	}
	t.p, t.n, t.err = p, 0, nil
	err := c.do(t, &c.rd)
	n, rerr := t.n, t.err
	t.p, t.err = nil, nil
	switch {
	case err == io.EOF:
		return 0, io.EOF
	case err != nil:
		return 0, c.opErr("read", err)
	case n > 0:
		return n, nil
	case rerr == io.EOF:
		return 0, io.EOF
	}
	return 0, c.opErr("read", sockError(rerr))
}

// Write writes p, waiting for send-buffer space as long as needed, and
// returns len(p) or the count written before an error: os.ErrDeadlineExceeded
// after the write deadline, net.ErrClosed after Close, syscall.EPIPE after
// CloseWrite or the peer's orderly close, or the connection's failure.
// Errors are *net.OpError with Op "write". It copies p once, into the
// engine's send ring, and does not allocate.
func (c *TCPConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	t := &c.wt
	if c.wbehind {
		// Collect the previous write-behind's outcome: its failure is
		// this call's, as a socket reports an error found after write(2)
		// returned at the next call.
		c.wbehind = false
		err := c.collect(t)
		werr := t.err
		t.p, t.err = nil, nil
		switch {
		case err != nil:
			return 0, c.opErr("write", err)
		case werr != nil:
			return 0, c.opErr("write", sockError(werr))
		}
	}
	t.drain() // before the checks, as in Read
	switch {
	case c.isClosed():
		return 0, c.opErr("write", errClosed)
	case c.wd.passed():
		return 0, c.opErr("write", errTimeout)
	}
	t.p, t.n, t.err = p, 0, nil
	t.state.Store(taskQueued)
	if c.inline(t) {
		// Done on this goroutine (or parked for send space).
		err := c.wait(t, &c.wd)
		return c.wrote(t, err)
	}
	t.state.Store(taskIdle)
	if len(p) <= len(c.wstage) && int64(len(p)) <= c.wspace.Load() && len(p) > 0 {
		// Write-behind: the engine will take all of p (only this
		// connection's writers use send space, and they are serialised
		// by wmu), so return as write(2) does once the bytes are in the
		// socket buffer, without waiting for the shard: a request and
		// its response cost one goroutine hand-off instead of two.
		n := copy(c.wstage[:], p)
		t.p, t.n, t.err = c.wstage[:n], 0, nil
		t.state.Store(taskQueued)
		if c.s.shard.Submit(t) {
			c.wbehind = true
			return n, nil
		}
		t.state.Store(taskIdle) // inbox full: wait for room below
	}
	t.p, t.n, t.err = p, 0, nil
	return c.wrote(t, c.do(t, &c.wd))
}

// wrote is Write's result for a request that has completed (or was
// withdrawn with err).
func (c *TCPConn) wrote(t *connTask, err error) (int, error) {
	n, werr := t.n, t.err
	t.p, t.err = nil, nil
	switch {
	case err != nil:
		return n, c.opErr("write", err)
	case werr != nil:
		return n, c.opErr("write", sockError(werr))
	}
	return n, nil
}

// exec runs f on the shard for a method that is not on the data path.
func (c *TCPConn) exec(op string, f func(now time.Duration, ep *endpoint)) error {
	if c.isClosed() {
		return c.opErr(op, errClosed)
	}
	gone := false
	err := c.s.do(context.Background(), func(now time.Duration, tx *shard.TX) {
		ep := c.ep
		if ep.conn == ep.l.dead {
			gone = true // closed meanwhile, and given back (connTask.Run)
			return
		}
		f(now, ep)
		ep.l.touch(ep)
	})
	if err != nil || gone {
		return c.opErr(op, errClosed)
	}
	return nil
}

// Close closes the connection as close(2) does: a FIN after the data
// already written, or a reset when received data is left unread or
// SetLinger(0) was called. Blocked Reads and Writes fail with
// net.ErrClosed. Closing again returns an error matching net.ErrClosed.
func (c *TCPConn) Close() error {
	if !c.closing.CompareAndSwap(false, true) {
		return c.opErr("close", errClosed)
	}
	err := c.s.run(context.Background(), (*closeOp)(c))
	c.closed.Store(true)
	c.rt.wake()
	c.wt.wake()
	c.rd.stop()
	c.wd.stop()
	if err != nil && !errors.Is(err, ErrClosed) {
		return c.opErr("close", err)
	}
	return nil
}

// closeOp is Close's work on the shard: it closes (or with SetLinger(0)
// resets) the connection and gives up the socket's claim on the
// endpoint, so that once CLOSED or in TIME-WAIT the Conn goes back to the
// cache (recycle, compact) as an event connection's does.
type closeOp TCPConn

func (o *closeOp) runOp(now time.Duration, _ *shard.TX) {
	c := (*TCPConn)(o)
	ep := c.ep
	l := ep.l
	if c.linger0.Load() {
		ep.conn.Abort(now, &l.out)
	} else {
		ep.conn.Close(now, &l.out)
	}
	ep.sock = false
	l.touch(ep)
	if ep.closed {
		// Closed was delivered before: nothing else would queue the
		// endpoint for the dispatch that gives its Conn back.
		l.queue(ep)
	}
}

// CloseWrite shuts down the sending side: a FIN follows the data already
// written; later Writes fail with syscall.EPIPE.
func (c *TCPConn) CloseWrite() error {
	return c.exec("close", func(now time.Duration, ep *endpoint) {
		ep.conn.CloseWrite(now, &ep.l.out)
		c.wspace.Store(0)
	})
}

// CloseRead shuts down the receiving side: later Reads return io.EOF.
// (As on Linux, nothing is sent; data that arrives is still acknowledged.)
func (c *TCPConn) CloseRead() error {
	if c.isClosed() {
		return c.opErr("close", errClosed)
	}
	c.rdShut.Store(true)
	c.rt.wake()
	return nil
}

// SetNoDelay turns Nagle's algorithm off (true, the default) or on.
func (c *TCPConn) SetNoDelay(noDelay bool) error {
	return c.exec("set", func(now time.Duration, ep *endpoint) {
		ep.conn.SetNoDelay(now, noDelay, &ep.l.out)
	})
}

// SetKeepAlive turns keepalive probing on or off. The probe timing is
// Config.TCP's KeepIdle, KeepIntvl and KeepCnt unless changed with
// SetKeepAlivePeriod or SetKeepAliveConfig.
func (c *TCPConn) SetKeepAlive(keepalive bool) error {
	return c.exec("set", func(now time.Duration, ep *endpoint) {
		ep.conn.SetKeepAlive(now, keepalive)
	})
}

// Defaults the net package uses for zero keepalive fields.
const (
	defaultKeepIdle  = 15 * time.Second
	defaultKeepIntvl = 15 * time.Second
	defaultKeepCnt   = 9
)

// SetKeepAlivePeriod sets how long the connection stays idle before the
// first keepalive probe (TCP_KEEPIDLE), rounded up to whole seconds, as
// *net.TCPConn does: 0 means the net package's 15 s, a negative d changes
// nothing. It does not turn keepalive on; SetKeepAlive does.
func (c *TCPConn) SetKeepAlivePeriod(d time.Duration) error {
	if d < 0 {
		return nil
	}
	if d == 0 {
		d = defaultKeepIdle
	}
	return c.setKeepAliveParams(roundUpSecond(d), 0, 0)
}

// SetKeepAliveConfig applies config as *net.TCPConn does: Enable false
// turns keepalive off; otherwise zero Idle, Interval and Count take the net
// package's defaults (15 s, 15 s, 9), negative ones leave the current
// value, and keepalive is turned on.
func (c *TCPConn) SetKeepAliveConfig(config net.KeepAliveConfig) error {
	if !config.Enable {
		return c.SetKeepAlive(false)
	}
	pick := func(v, def time.Duration) time.Duration {
		switch {
		case v < 0:
			return 0 // keep the current value
		case v == 0:
			return def
		}
		return roundUpSecond(v)
	}
	cnt := config.Count
	switch {
	case cnt < 0:
		cnt = 0
	case cnt == 0:
		cnt = defaultKeepCnt
	}
	if err := c.setKeepAliveParams(pick(config.Idle, defaultKeepIdle), pick(config.Interval, defaultKeepIntvl), cnt); err != nil {
		return err
	}
	return c.SetKeepAlive(true)
}

func (c *TCPConn) setKeepAliveParams(idle, intvl time.Duration, cnt int) error {
	var serr error
	err := c.exec("set", func(now time.Duration, ep *endpoint) {
		serr = ep.conn.SetKeepAliveParams(now, idle, intvl, cnt)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return c.opErr("set", fmt.Errorf("%w: %w", syscall.EINVAL, serr))
	}
	return nil
}

func roundUpSecond(d time.Duration) time.Duration {
	return (d + time.Second - 1) / time.Second * time.Second
}

// SetLinger sets what Close does with unsent data: sec < 0 (the default)
// and sec > 0 send it in the background, sec == 0 discards it and resets
// the connection.
func (c *TCPConn) SetLinger(sec int) error {
	if c.isClosed() {
		return c.opErr("set", errClosed)
	}
	c.linger0.Store(sec == 0)
	return nil
}

// SetReadBuffer sets the connection's receive buffer (SO_RCVBUF): the
// engine keeps twice bytes, as Linux does, and offers half of that as
// window; the window scale agreed in the handshake stays.
func (c *TCPConn) SetReadBuffer(bytes int) error {
	if bytes < 0 {
		return c.opErr("set", syscall.EINVAL)
	}
	return c.exec("set", func(now time.Duration, ep *endpoint) { ep.conn.SetReceiveBuffer(bytes) })
}

// SetWriteBuffer sets the connection's send buffer (SO_SNDBUF): the most
// unsent plus unacknowledged bytes, twice bytes as on Linux.
func (c *TCPConn) SetWriteBuffer(bytes int) error {
	if bytes < 0 {
		return c.opErr("set", syscall.EINVAL)
	}
	return c.exec("set", func(now time.Duration, ep *endpoint) {
		ep.conn.SetSendBuffer(bytes)
		c.wspace.Store(int64(ep.conn.WriteSpace()))
	})
}

// Info returns the engine's view of the connection (like Linux tcp_info).
// Once the connection is closed and has ended (CLOSED, or TIME-WAIT kept
// as a compact record), its Conn is recycled and Info reports a CLOSED
// connection with no counters.
func (c *TCPConn) Info() tcp.Info {
	var info tcp.Info
	_ = c.s.do(context.Background(), func(time.Duration, *shard.TX) { info = c.ep.conn.Info() })
	return info
}

// LocalAddr and RemoteAddr are the connection's addresses (*net.TCPAddr;
// every call returns the same one).
func (c *TCPConn) LocalAddr() net.Addr  { return tcpAddrOf(&c.laddr, c.local) }
func (c *TCPConn) RemoteAddr() net.Addr { return tcpAddrOf(&c.raddr, c.remote) }

// tcpAddrOf returns *p, first setting it to ap as a *net.TCPAddr.
func tcpAddrOf(p *atomic.Pointer[net.TCPAddr], ap netip.AddrPort) *net.TCPAddr {
	if a := p.Load(); a != nil {
		return a
	}
	a := net.TCPAddrFromAddrPort(ap)
	if p.CompareAndSwap(nil, a) {
		return a
	}
	return p.Load()
}

// LocalAddrPort and RemoteAddrPort are the same as netip values.
func (c *TCPConn) LocalAddrPort() netip.AddrPort  { return c.local }
func (c *TCPConn) RemoteAddrPort() netip.AddrPort { return c.remote }

// SetDeadline sets the read and write deadlines (see net.Conn).
func (c *TCPConn) SetDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", errClosed)
	}
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

// SetReadDeadline sets the deadline for current and future Reads.
func (c *TCPConn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", errClosed)
	}
	c.rd.set(t)
	return nil
}

// SetWriteDeadline sets the deadline for current and future Writes.
func (c *TCPConn) SetWriteDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", errClosed)
	}
	c.wd.set(t)
	return nil
}

// sockErr is a connection failure as a socket reports it: the errno Linux
// gives (what errors.Is and the message see first) and the engine's own
// error, kept in the chain.
type sockErr struct {
	errno syscall.Errno
	cause error
}

func (e *sockErr) Error() string   { return e.errno.Error() }
func (e *sockErr) Unwrap() []error { return []error{e.errno, e.cause} }
func (e *sockErr) Timeout() bool   { return e.errno.Timeout() }
func (e *sockErr) Temporary() bool { return e.errno.Temporary() }

// The engine's errors as the errnos Linux reports for them.
var (
	errRefused   = &sockErr{syscall.ECONNREFUSED, tcp.ErrConnRefused}
	errReset     = &sockErr{syscall.ECONNRESET, tcp.ErrConnReset}
	errAborted   = &sockErr{syscall.ECONNABORTED, tcp.ErrConnAborted}
	errTimedOut  = &sockErr{syscall.ETIMEDOUT, tcp.ErrTimeout}
	errPipe      = &sockErr{syscall.EPIPE, tcp.ErrWriteShutdown}
	errNotConn   = &sockErr{syscall.ENOTCONN, tcp.ErrNotConnected}
	errHostUnrch = &sockErr{syscall.EHOSTUNREACH, errors.New("ustack: the next hop did not answer ARP")}
)

// sockError maps an error of the tcp engine to what a socket returns.
// Errors that already carry an errno pass unchanged.
func sockError(err error) error {
	switch err {
	case nil:
		return nil
	case tcp.ErrConnRefused:
		return errRefused
	case tcp.ErrConnReset:
		return errReset
	case tcp.ErrConnAborted:
		return errAborted
	case tcp.ErrTimeout:
		return errTimedOut
	case tcp.ErrWriteShutdown:
		return errPipe
	case tcp.ErrNotConnected:
		return errNotConn
	case tcp.ErrClosed:
		return errClosed
	}
	return withErrno(err)
}
