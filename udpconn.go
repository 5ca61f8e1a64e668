package ustack

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/udp"
)

// UDPConn is a UDP socket on a Stack; it implements net.PacketConn and the
// netip-based methods of *net.UDPConn. Its methods are safe for concurrent
// use.
//
// Received datagrams wait on the socket in the frame buffers they arrived
// in, up to Config.UDPRecvBuffer bytes of buffer memory (beyond that they
// are dropped and counted as RcvbufErrors); a read copies one out. A
// write copies the datagram once, into a frame buffer, on the writer's
// goroutine and hands it to the shard, waiting for the IP layer's verdict.
type UDPConn struct {
	s     *Stack
	ep    udp.Endpoint
	rx    udpReceiver
	laddr netip.AddrPort // as bound (address may be unspecified)
	src   netip.AddrPort // source of sent datagrams

	rd, wd waitDir

	closeOnce sync.Once
	closed    chan struct{}

	mu         sync.Mutex
	head, tail *link.Buf // datagrams handed over by the shard
	rclosed    bool      // no more datagrams are accepted
}

var _ net.PacketConn = (*UDPConn)(nil)

func newUDPConn(s *Stack) *UDPConn {
	c := &UDPConn{s: s, closed: make(chan struct{})}
	c.rx.c = c
	c.ep.Init(&c.rx)
	c.rd.init()
	c.wd.init()
	return c
}

// udpReceiver is the socket's udp.Receiver, kept off UDPConn's method set.
type udpReceiver struct{ c *UDPConn }

// Receive takes the datagrams the shard received for this socket during
// one burst and wakes a reader (runs on the shard, in EndBurst).
func (r *udpReceiver) Receive(head, tail *link.Buf, n int) {
	c := r.c
	c.mu.Lock()
	if c.rclosed {
		c.mu.Unlock()
		c.freeList(head)
		return
	}
	if c.tail == nil {
		c.head = head
	} else {
		c.tail.Next = head
	}
	c.tail = tail
	c.mu.Unlock()
	c.rd.wake()
	c.s.shard.TX().Woke()
}

func (c *UDPConn) freeList(b *link.Buf) {
	for b != nil {
		next := b.Next
		b.Next = nil
		charge := udp.Charge(b)
		b.Free()
		c.ep.Release(charge)
		b = next
	}
}

// pop takes the oldest datagram, and reports whether more are waiting.
func (c *UDPConn) pop() (b *link.Buf, more bool) {
	c.mu.Lock()
	b = c.head
	if b != nil {
		c.head = b.Next
		if c.head == nil {
			c.tail = nil
		}
		b.Next = nil
		more = c.head != nil
	}
	c.mu.Unlock()
	return b, more
}

// isClosed reports whether the socket or its stack is closed. Two
// single-channel polls, not one select: a non-blocking receive on an open
// channel takes no lock, a select over two does.
func (c *UDPConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
	}
	select {
	case <-c.s.closed:
		return true
	default:
		return false
	}
}

func (c *UDPConn) opErr(op string, remote net.Addr, err error) error {
	return opError(op, "udp", udpAddr(c.laddr), remote, err)
}

// ReadFromUDPAddrPort reads one datagram into p and returns its length
// and sender. A datagram longer than p is truncated to len(p) and the rest
// discarded, as the net package does. It blocks until a datagram arrives,
// the read deadline passes (an error matching os.ErrDeadlineExceeded) or
// the socket or stack is closed (net.ErrClosed). It does not allocate.
func (c *UDPConn) ReadFromUDPAddrPort(p []byte) (int, netip.AddrPort, error) {
	for {
		if c.isClosed() {
			return 0, netip.AddrPort{}, c.opErr("read", nil, errClosed)
		}
		if c.rd.passed() {
			return 0, netip.AddrPort{}, c.opErr("read", nil, errTimeout)
		}
		if b, more := c.pop(); b != nil {
			if more {
				c.rd.wake() // leave the token for another reader
			}
			src, payload := udp.Datagram(b)
			n := copy(p, payload)
			charge := udp.Charge(b)
			b.Free()
			c.ep.Release(charge)
			return n, src, nil
		}
		if err := c.rd.wait(c.closed, c.s.closed); err != nil {
			return 0, netip.AddrPort{}, c.opErr("read", nil, err)
		}
	}
}

// ReadFrom implements net.PacketConn; the address is a *net.UDPAddr.
// It allocates the address; ReadFromUDPAddrPort does not.
func (c *UDPConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, src, err := c.ReadFromUDPAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(src), nil
}

// ReadFromUDP is ReadFrom returning a *net.UDPAddr, as *net.UDPConn's.
func (c *UDPConn) ReadFromUDP(p []byte) (int, *net.UDPAddr, error) {
	n, src, err := c.ReadFromUDPAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(src), nil
}

// WriteToUDPAddrPort sends p as one datagram to addr (IPv4, non-zero
// port) and returns len(p). Errors (in a *net.OpError) match the errno
// Linux gives: EMSGSIZE for a payload over MaxUDPPayload, ENETUNREACH
// with no route, ENOBUFS when no frame buffer is free, EINVAL for a bad
// address, EAFNOSUPPORT for IPv6; os.ErrDeadlineExceeded after the write
// deadline; net.ErrClosed after Close. It does not allocate in steady
// state.
func (c *UDPConn) WriteToUDPAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if c.isClosed() {
		return 0, c.opErr("write", udpAddr(addr), errClosed)
	}
	if c.wd.passed() {
		return 0, c.opErr("write", udpAddr(addr), errTimeout)
	}
	dst, err := checkDest(addr)
	if err != nil {
		return 0, c.opErr("write", udpAddr(addr), err)
	}
	u := &c.s.udp
	if len(p) > u.maxPayload {
		return 0, c.opErr("write", udpAddr(dst), withErrno(udp.ErrMsgSize))
	}
	pool := u.pool
	if len(p) > u.smallMax {
		pool = u.big
	}
	b := pool.Get()
	if b == nil {
		u.noBuf.Add(1)
		return 0, c.opErr("write", udpAddr(dst), syscall.ENOBUFS)
	}
	if err := udp.Build(b, c.src, dst, p); err != nil {
		b.Free()
		return 0, c.opErr("write", udpAddr(dst), withErrno(err))
	}
	t := u.tasks.Get().(*udpSendTask)
	t.u, t.ep, t.dst, t.b = u, &c.ep, dst.Addr(), b
	if err := c.s.udpSend(t, &c.wd, c.closed); err != nil {
		return 0, c.opErr("write", udpAddr(dst), err)
	}
	err = t.err
	t.ep, t.err = nil, nil
	u.tasks.Put(t)
	if err != nil {
		if errors.Is(err, udp.ErrNotBound) {
			err = errClosed
		}
		return 0, c.opErr("write", udpAddr(dst), withErrno(err))
	}
	return len(p), nil
}

// WriteTo implements net.PacketConn; addr must be a *net.UDPAddr.
func (c *UDPConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ap, err := addrPortOf(addr)
	if err != nil {
		return 0, c.opErr("write", addr, err)
	}
	return c.WriteToUDPAddrPort(p, ap)
}

// WriteToUDP is WriteTo taking a *net.UDPAddr, as *net.UDPConn's.
func (c *UDPConn) WriteToUDP(p []byte, addr *net.UDPAddr) (int, error) {
	if addr == nil {
		return 0, c.opErr("write", nil, syscall.EINVAL)
	}
	return c.WriteTo(p, addr)
}

// Close unbinds the socket, frees the datagrams waiting on it and makes
// blocked and later calls fail with net.ErrClosed. Closing twice returns
// an error matching net.ErrClosed.
func (c *UDPConn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		close(c.closed)
	})
	if !first {
		return c.opErr("close", nil, errClosed)
	}
	// The shard stops delivering once the endpoint is unbound; if the
	// stack is closed the shard is stopped (or stopping: rclosed below
	// makes a late Receive free what it is given).
	_ = c.s.do(context.Background(), func(time.Duration, *shard.TX) { c.s.udp.table.Unbind(&c.ep) })
	c.mu.Lock()
	c.rclosed = true
	head := c.head
	c.head, c.tail = nil, nil
	c.mu.Unlock()
	c.freeList(head)
	c.rd.stop()
	c.wd.stop()
	return nil
}

// SetReadBuffer sets how much frame-buffer memory, in bytes, may wait on
// the socket's receive queue (SO_RCVBUF; the stack-wide default is
// Config.UDPRecvBuffer). Each datagram is charged the whole buffer it
// arrived in. Unlike Linux the value is not doubled; it is clamped to
// [1, 1<<30].
func (c *UDPConn) SetReadBuffer(bytes int) error {
	if bytes < 0 {
		return c.opErr("set", nil, syscall.EINVAL)
	}
	if c.isClosed() {
		return c.opErr("set", nil, errClosed)
	}
	err := c.s.do(context.Background(), func(time.Duration, *shard.TX) { c.s.udp.table.SetRecvBuffer(&c.ep, bytes) })
	if err != nil {
		return c.opErr("set", nil, errClosed)
	}
	return nil
}

// LocalAddr is the bound address (*net.UDPAddr), the chosen port when an
// ephemeral one was asked for.
func (c *UDPConn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.laddr) }

// SetDeadline sets the read and write deadlines (see net.Conn).
func (c *UDPConn) SetDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", nil, errClosed)
	}
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

// SetReadDeadline sets the deadline for current and future reads; the
// zero time means none.
func (c *UDPConn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", nil, errClosed)
	}
	c.rd.set(t)
	return nil
}

// SetWriteDeadline sets the deadline for current and future writes; the
// zero time means none. A write only blocks while the shard's inbox is
// full, so in practice it fails at once or not at all.
func (c *UDPConn) SetWriteDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", nil, errClosed)
	}
	c.wd.set(t)
	return nil
}
