package ustack

import (
	"context"
	"errors"
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
// a Read hands the shard a task — one per connection and direction,
// reused for every call, so Submit costs a CAS and no allocation — that
// copies straight from the engine's receive queue (the frame buffers the
// data arrived in) into the caller's slice: one copy, no intermediate
// ring, and the window update the read makes leaves in the same loop
// iteration. A Write's task copies the caller's bytes once into the
// engine's send ring. The caller waits for the task on a one-slot
// channel. The alternative, a per-connection SPSC byte ring filled by the
// shard, saves the round trip when data is already waiting but costs a
// second copy and decouples the advertised window from what the reader
// has really taken; with a shard that spins while busy the round trip is
// a few hundred nanoseconds, so the task wins on simplicity and copies.
// A Read that would find nothing skips the round trip: the rready hint
// (set by the shard before it wakes a reader) sends it straight to sleep.
// Polling for the task's completion (Gosched loop) before parking was
// tried and measured slower on a loaded 2-core machine, so the caller
// parks on the task's channel at once.
//
// Waiting: when the engine has nothing (ErrWouldBlock) the caller sleeps
// on the direction's waitDir (deadline.go). The connection's events reach
// the socket through the event API's ConnHandler (sockEvents below), which
// endpoint.dispatch calls once per burst at EndBurst: one non-blocking
// channel send wakes a blocked reader or writer, however many segments
// the burst carried. No lock is shared with the shard: rmu and wmu only
// serialise readers among themselves and writers among themselves, as the
// net package's fd mutex does.

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

	laddr, raddr *net.TCPAddr
	ev           sockEvents

	rd, wd   waitDir
	rt, wt   connTask
	rmu, wmu sync.Mutex

	closeOnce sync.Once
	closed    chan struct{}
	rdShut    atomic.Bool // CloseRead was called
	// rready is a hint that a Read may find something (data, EOF, an
	// error): the shard sets it before waking a reader (sockEvents) and
	// the reader's task sets it to the engine's Readable() after reading.
	// A Read that finds it false waits for the wake-up at once instead of
	// asking the shard first: one round trip less per blocking Read. Only
	// the reader's own task ever clears it, so no wake-up is lost.
	rready atomic.Bool
	// readWakes counts reader wake-ups (at most one per burst; tests).
	readWakes atomic.Uint64
	linger0   atomic.Bool // SetLinger(0): Close resets
	dialc     chan error  // one slot: the handshake's outcome (Dial)
	dialing   atomic.Bool // a Dial waits on dialc
}

var _ net.Conn = (*TCPConn)(nil)

func newTCPConn(s *Stack) *TCPConn {
	c := &TCPConn{s: s, closed: make(chan struct{}), dialc: make(chan error, 1)}
	c.ev.c = c
	c.rready.Store(true)
	c.rd.init()
	c.wd.init()
	c.rt.init(c, false)
	c.wt.init(c, true)
	return c
}

// attach binds c to its endpoint and sets the socket defaults (shard).
func (c *TCPConn) attach(now time.Duration, ep *endpoint) {
	c.ep = ep
	ep.h = &c.ev
	l := ep.l
	ep.conn.SetNoDelay(now, true, &l.out)
	t := ep.conn.Tuple()
	c.laddr = net.TCPAddrFromAddrPort(t.Local)
	c.raddr = net.TCPAddrFromAddrPort(t.Remote)
}

// sockEvents is the ConnHandler of a socket: it runs on the shard, once
// per burst per connection, and only wakes the goroutines waiting.
type sockEvents struct{ c *TCPConn }

func (e *sockEvents) Established(*EventConn) {
	e.c.dialDone(nil)
	e.c.wd.wake()
}
func (e *sockEvents) Readable(*EventConn) {
	e.c.readWakes.Add(1)
	e.c.rready.Store(true)
	e.c.rd.wake()
}
func (e *sockEvents) Writable(*EventConn) { e.c.wd.wake() }
func (e *sockEvents) Closed(_ *EventConn, err error) {
	if err == nil {
		err = tcp.ErrConnReset // closed before it was ever established
	}
	e.c.dialDone(err)
	e.c.rready.Store(true)
	e.c.rd.wake()
	e.c.wd.wake()
}

// dialDone reports the handshake's outcome to a waiting Dial, once.
func (c *TCPConn) dialDone(err error) {
	if c.dialing.CompareAndSwap(true, false) {
		c.dialc <- err
	}
}

// connTask is the reusable shard task of one direction of a connection.
const (
	taskIdle uint32 = iota
	taskQueued
	taskRunning
	taskAbandoned // the stack closed while the task was queued
)

type connTask struct {
	c     *TCPConn
	write bool
	p     []byte
	n     int
	err   error
	state atomic.Uint32
	done  chan struct{} // one slot
}

func (t *connTask) init(c *TCPConn, write bool) {
	t.c, t.write = c, write
	t.done = make(chan struct{}, 1)
}

func (t *connTask) Run(now time.Duration, tx *shard.TX) {
	if !t.state.CompareAndSwap(taskQueued, taskRunning) {
		return // abandoned
	}
	ep := t.c.ep
	l := ep.l
	l.enter(now, tx)
	if t.write {
		t.n, t.err = ep.conn.Write(now, t.p, &l.out)
	} else {
		t.n, t.err = ep.conn.Read(t.p, now, &l.out)
		t.c.rready.Store(ep.conn.Readable())
	}
	l.touch(ep)
	t.state.Store(taskIdle)
	t.done <- struct{}{}
}

// run hands t to the shard and waits until it has run. It fails with
// errClosed only when the stack closes first (t is then abandoned), and
// with errTimeout when the shard's inbox stays full past the deadline.
func (c *TCPConn) run(t *connTask, d *waitDir) error {
	s := c.s
	t.state.Store(taskQueued)
	for !s.shard.Submit(t) {
		// The inbox is full: the shard is busy draining it.
		if s.isClosed() {
			t.state.Store(taskIdle)
			return errClosed
		}
		if d.passed() {
			t.state.Store(taskIdle)
			return errTimeout
		}
		time.Sleep(20 * time.Microsecond)
	}
	select {
	case <-t.done:
		return nil
	case <-s.closed:
		if t.state.CompareAndSwap(taskQueued, taskAbandoned) {
			return errClosed
		}
		<-t.done // it is running: wait, it is about to finish
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
	select {
	case <-c.closed:
		return true
	case <-c.s.closed:
		return true
	default:
		return false
	}
}

func (c *TCPConn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: err}
}

// drain drops a pending wake-up: the caller is about to look for itself.
func drain(w *waitDir) {
	select {
	case <-w.token:
	default:
	}
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
	for {
		if c.isClosed() {
			return 0, c.opErr("read", errClosed)
		}
		if c.rdShut.Load() {
			return 0, io.EOF
		}
		if c.rd.passed() {
			return 0, c.opErr("read", errTimeout)
		}
		if len(p) == 0 {
			return 0, nil
		}
		if c.rready.Load() {
			drain(&c.rd)
			t.p = p
			err := c.run(t, &c.rd)
			t.p = nil
			if err != nil {
				return 0, c.opErr("read", err)
			}
			n, rerr := t.n, t.err
			t.err = nil
			switch {
			case n > 0:
				return n, nil
			case rerr == io.EOF:
				return 0, io.EOF
			case rerr != tcp.ErrWouldBlock:
				return 0, c.opErr("read", sockError(rerr))
			}
		}
		if err := c.rd.wait(c.closed, c.s.closed); err != nil {
			return 0, c.opErr("read", err)
		}
	}
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
	off := 0
	for {
		if c.isClosed() {
			return off, c.opErr("write", errClosed)
		}
		if c.wd.passed() {
			return off, c.opErr("write", errTimeout)
		}
		drain(&c.wd)
		t.p = p[off:]
		err := c.run(t, &c.wd)
		t.p = nil
		if err != nil {
			return off, c.opErr("write", err)
		}
		n, werr := t.n, t.err
		t.err = nil
		off += n
		if off == len(p) {
			return off, nil
		}
		if werr != nil && werr != tcp.ErrWouldBlock {
			return off, c.opErr("write", sockError(werr))
		}
		if n > 0 {
			continue // more may fit already
		}
		if err := c.wd.wait(c.closed, c.s.closed); err != nil {
			return off, c.opErr("write", err)
		}
	}
}

// exec runs f on the shard for a method that is not on the data path.
func (c *TCPConn) exec(op string, f func(now time.Duration, ep *endpoint)) error {
	if c.isClosed() {
		return c.opErr(op, errClosed)
	}
	err := c.s.do(context.Background(), func(now time.Duration, tx *shard.TX) {
		f(now, c.ep)
		c.ep.l.touch(c.ep)
	})
	if err != nil {
		return c.opErr(op, errClosed)
	}
	return nil
}

// Close closes the connection as close(2) does: a FIN after the data
// already written, or a reset when received data is left unread or
// SetLinger(0) was called. Blocked Reads and Writes fail with
// net.ErrClosed. Closing again returns an error matching net.ErrClosed.
func (c *TCPConn) Close() error {
	first := false
	c.closeOnce.Do(func() { first = true })
	if !first {
		return c.opErr("close", errClosed)
	}
	err := c.s.do(context.Background(), func(now time.Duration, tx *shard.TX) {
		ep := c.ep
		l := ep.l
		if c.linger0.Load() {
			ep.conn.Abort(now, &l.out)
		} else {
			ep.conn.Close(now, &l.out)
		}
		l.touch(ep)
	})
	close(c.closed)
	c.rd.stop()
	c.wd.stop()
	if err != nil && !errors.Is(err, ErrClosed) {
		return c.opErr("close", err)
	}
	return nil
}

// CloseWrite shuts down the sending side: a FIN follows the data already
// written; later Writes fail with syscall.EPIPE.
func (c *TCPConn) CloseWrite() error {
	return c.exec("close", func(now time.Duration, ep *endpoint) {
		ep.conn.CloseWrite(now, &ep.l.out)
	})
}

// CloseRead shuts down the receiving side: later Reads return io.EOF.
// (As on Linux, nothing is sent; data that arrives is still acknowledged.)
func (c *TCPConn) CloseRead() error {
	if c.isClosed() {
		return c.opErr("close", errClosed)
	}
	c.rdShut.Store(true)
	c.rd.wake()
	return nil
}

// SetNoDelay turns Nagle's algorithm off (true, the default) or on.
func (c *TCPConn) SetNoDelay(noDelay bool) error {
	return c.exec("set", func(now time.Duration, ep *endpoint) {
		ep.conn.SetNoDelay(now, noDelay, &ep.l.out)
	})
}

// SetKeepAlive turns keepalive probing on or off. The probe timing is
// Config.TCP's KeepIdle, KeepIntvl and KeepCnt.
func (c *TCPConn) SetKeepAlive(keepalive bool) error {
	return c.exec("set", func(now time.Duration, ep *endpoint) {
		ep.conn.SetKeepAlive(now, keepalive)
	})
}

// SetKeepAlivePeriod turns keepalive on. The engine has no per-connection
// keepalive timing yet: the idle time and interval stay Config.TCP's
// (KeepIdle, KeepIntvl); d must not be negative.
func (c *TCPConn) SetKeepAlivePeriod(d time.Duration) error {
	if d < 0 {
		return c.opErr("set", syscall.EINVAL)
	}
	return c.SetKeepAlive(true)
}

// SetKeepAliveConfig applies config.Enable (see SetKeepAlivePeriod for
// the timing fields, which stay Config.TCP's).
func (c *TCPConn) SetKeepAliveConfig(config net.KeepAliveConfig) error {
	return c.SetKeepAlive(config.Enable)
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

// SetReadBuffer and SetWriteBuffer are accepted for compatibility: the
// engine's buffers are sized per stack by Config.TCP (RcvBuf, RcvBufMax,
// SndBuf) and cannot be changed on an open connection yet.
func (c *TCPConn) SetReadBuffer(bytes int) error  { return c.checkBufSize(bytes) }
func (c *TCPConn) SetWriteBuffer(bytes int) error { return c.checkBufSize(bytes) }

func (c *TCPConn) checkBufSize(bytes int) error {
	if c.isClosed() {
		return c.opErr("set", errClosed)
	}
	if bytes < 0 {
		return c.opErr("set", syscall.EINVAL)
	}
	return nil
}

// Info returns the engine's view of the connection (like Linux tcp_info).
func (c *TCPConn) Info() tcp.Info {
	var info tcp.Info
	_ = c.s.do(context.Background(), func(time.Duration, *shard.TX) { info = c.ep.conn.Info() })
	return info
}

// LocalAddr and RemoteAddr are the connection's addresses (*net.TCPAddr).
func (c *TCPConn) LocalAddr() net.Addr  { return c.laddr }
func (c *TCPConn) RemoteAddr() net.Addr { return c.raddr }

// LocalAddrPort and RemoteAddrPort are the same as netip values.
func (c *TCPConn) LocalAddrPort() netip.AddrPort  { return c.laddr.AddrPort() }
func (c *TCPConn) RemoteAddrPort() netip.AddrPort { return c.raddr.AddrPort() }

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
