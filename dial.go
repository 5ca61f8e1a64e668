package ustack

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/tcp"
)

// Dial connects to address on the named network; see DialContext.
func (s *Stack) Dial(network, address string) (net.Conn, error) {
	return s.DialContext(context.Background(), network, address)
}

// DialContext connects to address ("host:port" with an IPv4 literal; no
// name resolution) on network "tcp" or "tcp4" and returns a *TCPConn once
// the handshake has completed. It gives up when ctx ends: the half-open
// connection is dropped and the error matches context.Canceled or, for a
// deadline, context.DeadlineExceeded and os.ErrDeadlineExceeded (Timeout()
// true), as the net package's.
//
// Errors are *net.OpError with Op "dial": a refused connection matches
// syscall.ECONNREFUSED (and tcp.ErrConnRefused), SYN retries running out
// syscall.ETIMEDOUT, a next hop that never answers ARP
// syscall.EHOSTUNREACH (after the neighbour cache gives up: MaxProbes ×
// RetransTime of Config.IP.Neigh), no route syscall.ENETUNREACH, IPv6
// syscall.EAFNOSUPPORT, and a malformed address is a *net.AddrError.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := s.DialTCPContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DialTCPContext is DialContext returning the *TCPConn. On a stack of
// several shards the connection goes to the next shard in turn.
func (s *Stack) DialTCPContext(ctx context.Context, network, address string) (*TCPConn, error) {
	if s.group != nil {
		s = s.group.pick()
	}
	return s.dialTCP(ctx, network, address)
}

// dialTCP is DialTCPContext on this shard.
func (s *Stack) dialTCP(ctx context.Context, network, address string) (*TCPConn, error) {
	var raddr netip.AddrPort
	fail := func(src *net.TCPAddr, err error) (*TCPConn, error) {
		var a net.Addr
		if raddr.IsValid() {
			a = net.TCPAddrFromAddrPort(raddr)
		}
		var sa net.Addr
		if src != nil {
			sa = src
		}
		return nil, &net.OpError{Op: "dial", Net: network, Source: sa, Addr: a, Err: err}
	}
	if err := checkNetwork("tcp", network); err != nil {
		return fail(nil, err)
	}
	if err := s.needRunning(); err != nil {
		return fail(nil, err)
	}
	var err error
	raddr, err = parseAddrPort(address)
	if err != nil {
		return fail(nil, err)
	}
	if raddr.Addr().IsUnspecified() {
		// As the net package: an empty or unspecified host is this host.
		raddr = netip.AddrPortFrom(s.cfg.Addr.Addr(), raddr.Port())
	}
	if err := ctx.Err(); err != nil {
		return fail(nil, ctxError(err))
	}
	c := newTCPConn(s)
	c.dialing.Store(true)
	c.dialTo = raddr
	// The dial task reports through c.dialDone only: its failure to
	// start, or the handshake's outcome. The caller sleeps once per Dial,
	// not once for the task and again for the handshake.
	t := (*dialOp)(c)
	sig := c.wt.signal() // before the task can report
	select {
	case <-s.closed:
		return fail(nil, errClosed)
	default:
	}
	for !s.shard.Submit(t) {
		// The inbox is full: the shard is busy draining it.
		select {
		case <-ctx.Done():
			return fail(nil, ctxError(ctx.Err())) // never queued
		case <-s.closed:
			return fail(nil, errClosed)
		case <-time.After(50 * time.Microsecond):
		}
	}
	select {
	case <-sig:
		switch err := c.dialErr; {
		case err == errDialNotStarted:
			return fail(nil, withErrno(c.startErr))
		case err != nil:
			c.abandon() // gives the CLOSED Conn back (abandon)
			return fail(c.localOrNil(), sockError(err))
		}
		return c, nil
	case <-ctx.Done():
		// The task may not have run yet: abandon queues its undo behind
		// it (tasks run in order) and waits for it, after which c.local,
		// set by the task, is safe to read.
		c.abandon()
		return fail(c.localOrNil(), ctxError(ctx.Err()))
	case <-s.closed:
		return fail(nil, errClosed)
	}
}

// errDialNotStarted tells DialTCPContext that its dialOp failed before
// sending a SYN; the TCPConn's startErr says why.
var errDialNotStarted = errors.New("ustack: dial not started")

// dialOp starts a socket's active open to dialTo on the shard, in the
// endpoint allocated with the TCPConn.
type dialOp TCPConn

func (o *dialOp) Run(now time.Duration, tx *shard.TX) {
	c := (*TCPConn)(o)
	s := c.s
	s.tcp.enter(now, tx)
	ep, err := s.tcp.dialInto(now, c.dialTo, &c.epMem)
	if err != nil {
		c.startErr = err
		c.dialDone(errDialNotStarted)
		return
	}
	c.attach(now, ep)
}

// localOrNil is the local address of a Dial that failed: nil if it never
// got one.
func (c *TCPConn) localOrNil() *net.TCPAddr {
	if !c.local.IsValid() {
		return nil
	}
	return tcpAddrOf(&c.laddr, c.local)
}

// abandon resets a connection whose Dial gave up and marks it closed.
// Its endpoint stops being a socket's, so that, once CLOSED, its Conn goes
// back to the cache as a closed socket's does (closeOp); a refused or
// reset dial comes here too.
func (c *TCPConn) abandon() {
	_ = c.s.run(context.Background(), (*abandonOp)(c))
	c.release()
}

// abandonOp is abandon's work on the shard (the TCPConn under another
// type, so that handing it over allocates nothing).
type abandonOp TCPConn

func (o *abandonOp) runOp(now time.Duration, _ *shard.TX) {
	ep := o.ep
	if ep == nil {
		return // the dial never started
	}
	l := ep.l
	if ep.conn != l.dead {
		ep.conn.Abort(now, &l.out)
	}
	ep.sock = false
	l.touch(ep)
	if ep.closed {
		l.queue(ep) // Closed was delivered: nothing else queues it
	}
}

// release marks a connection that never reached its user closed.
func (c *TCPConn) release() {
	c.closing.Store(true)
	c.closed.Store(true)
	c.rd.stop()
	c.wd.stop()
}

// ctxErr is a context's end as the net package reports it: "operation was
// canceled" matching context.Canceled, or "i/o timeout" matching
// context.DeadlineExceeded and os.ErrDeadlineExceeded, with Timeout() true.
type ctxErr struct{ err error }

func (e *ctxErr) Error() string {
	if e.err == context.DeadlineExceeded {
		return "i/o timeout"
	}
	return "operation was canceled"
}
func (e *ctxErr) Unwrap() []error {
	if e.err == context.DeadlineExceeded {
		return []error{e.err, errTimeout}
	}
	return []error{e.err}
}
func (e *ctxErr) Timeout() bool   { return e.err == context.DeadlineExceeded }
func (e *ctxErr) Temporary() bool { return e.Timeout() }

func ctxError(err error) error {
	if err == context.Canceled || err == context.DeadlineExceeded {
		return &ctxErr{err}
	}
	return err
}

// neighFailed aborts the connections in SYN-SENT whose next hop is addr,
// which did not answer ARP: their Dial fails with EHOSTUNREACH, as a
// Linux connect(2) does (shard; from handler.NeighFailed).
func (l *tcpLayer) neighFailed(now time.Duration, addr netip.Addr) {
	for _, ep := range l.endpoints() {
		if ep.removed || ep.conn.State() != tcp.SynSent {
			continue
		}
		if l.s.h.nextHopOf(ep.conn.Tuple().Remote.Addr()) != addr {
			continue
		}
		ep.err = errHostUnrch
		l.enter(now, l.s.shard.TX())
		ep.conn.Abort(now, &l.out)
		l.touch(ep)
	}
}
