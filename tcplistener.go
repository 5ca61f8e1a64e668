package ustack

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/tcp"
)

// TCPListener is a listening TCP socket on a Stack; it implements
// net.Listener. Connections whose handshake completed wait on the
// engine's accept queue, bounded by Config.TCP.Backlog (beyond it the
// final ACK of a handshake is dropped and counted as ListenOverflows, as
// on Linux), until Accept takes them. Its methods are safe for concurrent
// use.
type TCPListener struct {
	s    *Stack
	lns  []*listenEP // one per shard, by index; each touched on its shard only
	addr *net.TCPAddr
	net  string

	ad waitDir // accept: deadline and wake-up (woken by listenEP.handOut)
	// spare is an Accept's request, kept for the next one.
	spare atomic.Pointer[acceptReq]

	closeOnce sync.Once
	closed    chan struct{}
}

var _ net.Listener = (*TCPListener)(nil)

// Listen announces on the local address. network is "tcp" or "tcp4"
// ("tcp6" fails: IPv6 is not supported yet). address is "host:port" with
// an empty host, 0.0.0.0 or the stack's own address, and a decimal port;
// port 0 picks a free ephemeral port. The result is a *TCPListener.
//
// Errors are *net.OpError with Op "listen": a port already listened on
// matches syscall.EADDRINUSE, an address that is not the stack's
// syscall.EADDRNOTAVAIL, and a malformed address is a *net.AddrError.
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	l, err := s.ListenTCP(network, address)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ListenTCP is Listen returning the *TCPListener.
func (s *Stack) ListenTCP(network, address string) (*TCPListener, error) {
	fail := func(addr net.Addr, err error) (*TCPListener, error) {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: addr, Err: err}
	}
	if err := checkNetwork("tcp", network); err != nil {
		return fail(nil, err)
	}
	if err := s.needRunning(); err != nil {
		return fail(nil, err)
	}
	laddr, err := parseAddrPort(address)
	if err != nil {
		return fail(nil, err)
	}
	self := s.cfg.Addr.Addr()
	if !laddr.Addr().IsUnspecified() && laddr.Addr() != self {
		return fail(net.TCPAddrFromAddrPort(laddr), fmt.Errorf("%w: %v is not this stack's address (%v)", syscall.EADDRNOTAVAIL, laddr.Addr(), self))
	}
	shards := s.shards()
	tl := &TCPListener{s: s, net: network, closed: make(chan struct{}), lns: make([]*listenEP, len(shards))}
	tl.ad.init()
	var lerr error
	// Every shard listens on the same port: connections are accepted on
	// the shard their 4-tuple hashes to.
	for i, sh := range shards {
		err = sh.do(context.Background(), func(now time.Duration, tx *shard.TX) {
			a := laddr
			if a.Port() == 0 {
				p, ok := sh.tcp.freePort()
				if !ok {
					lerr = fmt.Errorf("%w: no free ephemeral port", syscall.EADDRINUSE)
					return
				}
				a = netip.AddrPortFrom(a.Addr(), p)
			}
			ln, err := sh.tcp.listen(a)
			if err != nil {
				lerr = err
				return
			}
			ln.sock = &tl.ad
			tl.lns[i] = ln
			laddr = a
		})
		if err == nil {
			err = lerr
		}
		if err != nil {
			tl.unlisten()
			return fail(net.TCPAddrFromAddrPort(laddr), err)
		}
	}
	tl.addr = net.TCPAddrFromAddrPort(laddr)
	return tl, nil
}

// unlisten closes the listener on every shard it listens on.
func (tl *TCPListener) unlisten() error { return unlistenAll(tl.s, tl.lns) }

// unlistenAll closes lns[i] on shard i of s, for each that was opened,
// and returns the first error.
func unlistenAll(s *Stack, lns []*listenEP) error {
	var first error
	for i, sh := range s.shards() {
		ln := lns[i]
		if ln == nil {
			continue
		}
		err := sh.do(context.Background(), func(now time.Duration, tx *shard.TX) {
			sh.tcp.unlisten(ln)
		})
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// needRunning rejects socket calls on a stack driven by Step: their
// blocking waits need the shard goroutine.
func (s *Stack) needRunning() error {
	if s.cfg.Manual {
		return errors.New("ustack: sockets need a running stack (Config.Manual is set; use the event API)")
	}
	if s.isClosed() {
		return errStackClosed
	}
	return nil
}

// errStackClosed is a socket call on a closed stack: it matches both
// ErrClosed and net.ErrClosed.
var errStackClosed = fmt.Errorf("%w (%w)", ErrClosed, net.ErrClosed)

// freePort picks an unused port from the ephemeral range 32768–60999
// (shard), starting at a random one.
func (l *tcpLayer) freePort() (uint16, bool) {
	const lo, n = 32768, 60999 - 32768 + 1
	var b [4]byte
	_, _ = rand.Read(b[:])
	start := binary.LittleEndian.Uint32(b[:]) % n
	used := make(map[uint16]bool)
	for ep := range l.conns.Values() {
		used[ep.tuple.Local.Port()] = true
	}
	l.tw.Tuples(func(t tcp.Tuple) { used[t.Local.Port()] = true })
	for i := uint32(0); i < n; i++ {
		p := uint16(lo + (start+i)%n)
		if _, ok := l.listeners[p]; !ok && !used[p] {
			return p, true
		}
	}
	return 0, false
}

func (tl *TCPListener) isClosed() bool {
	select {
	case <-tl.closed:
		return true
	case <-tl.s.closed:
		return true
	default:
		return false
	}
}

func (tl *TCPListener) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: tl.net, Addr: tl.addr, Err: err}
}

// Accept waits for and returns the next connection (a *TCPConn).
func (tl *TCPListener) Accept() (net.Conn, error) {
	c, err := tl.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptTCP is Accept returning the *TCPConn. It fails with
// os.ErrDeadlineExceeded after the deadline and net.ErrClosed after
// Close, in a *net.OpError with Op "accept".
func (tl *TCPListener) AcceptTCP() (*TCPConn, error) {
	shards := tl.s.shards()
	// One request for the whole Accept, however often the loop turns,
	// and the last Accept's at that: none is allocated in steady state.
	r := tl.spare.Swap(nil)
	if r == nil {
		r = new(acceptReq)
	}
	start := 0
	if len(shards) > 1 {
		start = int(tl.s.group.rr.Add(1))
	}
	for {
		if tl.isClosed() {
			return nil, tl.opErr("accept", errClosed)
		}
		if tl.ad.passed() {
			return nil, tl.opErr("accept", errTimeout)
		}
		drain(&tl.ad)
		for j := range shards {
			cur := (start + j) % len(shards)
			*r = acceptReq{ln: tl.lns[cur]}
			if err := shards[cur].run(context.Background(), r); err != nil {
				// r may still be queued on the shard: not kept.
				return nil, tl.opErr("accept", errClosed)
			}
			if c := r.c; c != nil {
				more := r.more
				*r = acceptReq{}
				tl.spare.Store(r)
				if more || len(shards) > 1 {
					tl.ad.wake() // for another Accept
				}
				return c, nil
			}
		}
		if err := tl.ad.wait(tl.closed, tl.s.closed); err != nil {
			return nil, tl.opErr("accept", err)
		}
	}
}

// acceptReq is an Accept's request to one shard's listener ln: c is the
// connection it took, if any, and more reports that others wait.
type acceptReq struct {
	ln   *listenEP
	c    *TCPConn
	more bool
}

func (r *acceptReq) runOp(now time.Duration, _ *shard.TX) {
	r.c, r.more = r.ln.layer.acceptOne(now, r.ln)
}

// acceptOne takes the oldest established connection off ln's accept
// queue and makes it a socket: the TCPConn its endpoint was made in
// (afterListener) (shard). more reports that others wait.
func (l *tcpLayer) acceptOne(now time.Duration, ln *listenEP) (c *TCPConn, more bool) {
	for !ln.closed {
		tc := ln.l.Accept()
		if tc == nil {
			return nil, false
		}
		ln.pending--
		ep := l.lookup(tc.Tuple())
		if ep == nil || ep.conn != tc || ep.sc == nil {
			continue // reset and gone before it was accepted
		}
		ep.listener = nil
		c, ep.sc = ep.sc, nil
		c.attach(now, ep)
		l.touch(ep)
		l.queue(ep)
		return c, ln.l.AcceptQueueLen() > 0
	}
	return nil, false
}

// Close stops listening. Connections established but not yet accepted
// are reset; blocked Accepts fail with net.ErrClosed. Closing again
// returns an error matching net.ErrClosed.
func (tl *TCPListener) Close() error {
	first := false
	tl.closeOnce.Do(func() { first = true })
	if !first {
		return tl.opErr("close", errClosed)
	}
	close(tl.closed)
	err := tl.unlisten()
	tl.ad.stop()
	if err != nil && !errors.Is(err, ErrClosed) {
		return tl.opErr("close", err)
	}
	return nil
}

// Addr is the listening address (*net.TCPAddr), with the chosen port when
// an ephemeral one was asked for.
func (tl *TCPListener) Addr() net.Addr { return tl.addr }

// SetDeadline sets the deadline for current and future Accepts; the zero
// time means none.
func (tl *TCPListener) SetDeadline(t time.Time) error {
	if tl.isClosed() {
		return tl.opErr("set", errClosed)
	}
	tl.ad.set(t)
	return nil
}
