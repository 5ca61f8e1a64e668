package ustack

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/udp"
	"github.com/ustack/ustack/wire"
)

// udpState is the stack's UDP layer: the shard-owned table and what
// writers on other goroutines need to build datagrams themselves.
type udpState struct {
	table      *udp.Table // shard only
	pool       *link.Pool // the link's TX pool; safe from any goroutine
	big        *link.Pool // 64 KiB buffers for datagrams pool's can't hold; nil for none
	smallMax   int        // udp.MaxPayload(pool.BufSize())
	maxPayload int        // the largest payload a write accepts
	// noBuf counts writes that found the pool empty (SndbufErrors not
	// seen by the table, which lives on the shard).
	noBuf atomic.Uint64
	// tasks recycles udpSendTasks (see WriteToUDPAddrPort).
	tasks sync.Pool
}

// validateUDP checks the UDP fields of a Config.
func (c *Config) validateUDP() error {
	if err := (udp.Config{RecvBuffer: c.UDPRecvBuffer}).Validate(); err != nil {
		return fmt.Errorf("%w: UDPRecvBuffer: %w", ErrConfig, err)
	}
	return nil
}

// initUDP makes the UDP table and registers it with the IP host. It runs
// in handler.init, before the shard starts; the Config was validated.
func (s *Stack) initUDP() {
	// The port-selection seed comes from Config.Rand like the TCP
	// secrets (a simulation passes a seeded source to be reproducible).
	// A reader that fails here fails again for TCP's secrets right after,
	// and New reports that; meanwhile the seed stays zero, still valid.
	var seed [32]byte
	src := s.cfg.Rand
	if src == nil {
		src = rand.Reader
	}
	_, _ = io.ReadFull(src, seed[:])
	t, err := udp.New(udp.Config{RecvBuffer: s.cfg.UDPRecvBuffer, Seed: seed}, s.host)
	if err != nil {
		// Config.validate rejected what udp.New would; keep a working
		// table with the defaults rather than none.
		t, _ = udp.New(udp.Config{Seed: seed}, s.host)
	}
	u := &s.udp
	u.table = t
	u.pool = s.cfg.Link.Pool()
	u.smallMax = udp.MaxPayload(u.pool.BufSize())
	u.maxPayload = u.smallMax
	n := s.cfg.UDPLargeBuffers
	if n == 0 {
		n = DefaultUDPLargeBuffers
	}
	if n > 0 && u.smallMax < udp.MaxPayload(65535) {
		// Config.validate bounded n, so the pool config is valid.
		u.big = link.MustPool(link.PoolConfig{Count: n, Size: 65535})
		u.maxPayload = udp.MaxPayload(u.big.BufSize())
	}
	u.tasks.New = func() any { return &udpSendTask{done: make(chan struct{}, 1)} }
	s.host.Register(wire.ProtoUDP, t)
}

// flush hands the datagrams received during the burst to their sockets
// and wakes their readers: once per socket per burst (handler.EndBurst).
func (u *udpState) flush() { u.table.Flush() }

// UDPCounters returns a snapshot of the UDP counters (Linux's Udp MIB).
// It is read through the shard, so it waits for the shard's current
// iteration.
func (s *Stack) UDPCounters() (udp.Counters, error) {
	var c udp.Counters
	err := s.do(context.Background(), func(time.Duration, *shard.TX) { c = s.udp.table.Counters() })
	c.SndbufErrors += s.udp.noBuf.Load()
	return c, err
}

// DefaultUDPLargeBuffers is Config.UDPLargeBuffers' default.
const DefaultUDPLargeBuffers = 4

// MaxUDPPayload is the largest datagram payload a UDPConn of this stack
// can send: 65507 bytes, the IPv4 limit. A datagram is built in one buffer
// (which the IP layer fragments to the MTU): a link buffer when it fits,
// else one of the stack's UDPLargeBuffers; with those turned off (-1) the
// limit is what one link buffer holds. Larger writes fail with EMSGSIZE.
func (s *Stack) MaxUDPPayload() int { return s.udp.maxPayload }

// ListenPacket announces on the local address for datagrams. network is
// "udp" or "udp4" ("udp6" fails: IPv6 is not supported yet). address is
// "host:port": an empty host (or 0.0.0.0) or the stack's own address, and
// a decimal port; port 0, ":0" or an empty address pick an ephemeral port
// (32768–60999, randomised as RFC 6056 says). The result is a *UDPConn.
//
// Errors are *net.OpError with Op "listen": a port already bound matches
// syscall.EADDRINUSE, an address that is not the stack's
// syscall.EADDRNOTAVAIL, and a malformed address holds a *net.AddrError.
func (s *Stack) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := s.listenUDP(network, address)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ListenUDP is ListenPacket returning the *UDPConn and taking the local
// address as a netip.AddrPort (the zero value: any address, ephemeral
// port).
func (s *Stack) ListenUDP(network string, laddr netip.AddrPort) (*UDPConn, error) {
	if !laddr.IsValid() {
		laddr = netip.AddrPortFrom(netip.IPv4Unspecified(), laddr.Port())
	}
	return s.listenUDP(network, laddr.String())
}

func (s *Stack) listenUDP(network, address string) (*UDPConn, error) {
	fail := func(addr net.Addr, err error) (*UDPConn, error) {
		return nil, opError("listen", network, nil, addr, err)
	}
	if err := checkNetwork("udp", network); err != nil {
		return fail(nil, err)
	}
	laddr, err := parseAddrPort(address)
	if err != nil {
		return fail(nil, err)
	}
	self := s.cfg.Addr.Addr()
	if !laddr.Addr().IsUnspecified() && laddr.Addr() != self {
		return fail(udpAddr(laddr), fmt.Errorf("%w: %v is not this stack's address (%v)", syscall.EADDRNOTAVAIL, laddr.Addr(), self))
	}
	c := newUDPConn(s)
	var bindErr error
	err = s.do(context.Background(), func(time.Duration, *shard.TX) {
		bindErr = s.udp.table.Bind(&c.ep, laddr.Addr(), laddr.Port())
	})
	if err == nil {
		err = bindErr
	}
	if err != nil {
		return fail(udpAddr(laddr), withErrno(err))
	}
	c.laddr = c.ep.LocalAddr()
	c.src = c.laddr
	if c.src.Addr().IsUnspecified() {
		c.src = netip.AddrPortFrom(self, c.laddr.Port())
	}
	return c, nil
}

// udpSendTask carries one datagram built by a writer to the shard. Tasks
// are recycled through a sync.Pool, so a write costs no allocation in
// steady state: one pool Get/Put, one Submit (a CAS, plus a channel send
// only when the shard is parked) and one channel handoff back to the
// writer with the IP layer's verdict.
type udpSendTask struct {
	u    *udpState
	ep   *udp.Endpoint
	dst  netip.Addr
	b    *link.Buf
	err  error
	done chan struct{} // one slot; signalled when Run has finished
}

func (t *udpSendTask) Run(now time.Duration, tx *shard.TX) {
	b := t.b
	t.b = nil
	t.err = t.u.table.Output(now, t.ep, t.dst, b, tx)
	t.done <- struct{}{} // never blocks: one slot, one Run per use
	tx.Woke()
}

// udpSend runs t on the shard and waits for it. It reports errClosed when
// the socket or the stack closes before t could be queued (t's buffer is
// freed), or when the stack closes while t waits to run (t is abandoned:
// the shard may still run it, so it must not be reused); errTimeout when
// the write deadline passes while the inbox stays full.
func (s *Stack) udpSend(t *udpSendTask, wd *waitDir, closed <-chan struct{}) error {
	if s.cfg.Manual {
		t.Run(s.shard.Config().Clock.Now(), s.shard.TX())
		<-t.done
		return nil
	}
	for !s.shard.Submit(t) {
		// The inbox is full: the shard is busy draining it.
		select {
		case <-s.closed:
			t.b.Free()
			return errClosed
		case <-closed:
			t.b.Free()
			return errClosed
		default:
		}
		if wd.passed() {
			t.b.Free()
			return errTimeout
		}
		time.Sleep(20 * time.Microsecond)
	}
	select {
	case <-t.done:
		return nil
	case <-s.closed:
		return errClosed
	}
}
