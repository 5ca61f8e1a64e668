package udp

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/link"
)

// Errors returned by Bind and Output; they are wrapped with detail, match
// them with errors.Is.
var (
	// ErrAddrInUse: the port is already bound (EADDRINUSE).
	ErrAddrInUse = errors.New("udp: address already in use")
	// ErrNoEphemeral: every port of the ephemeral range is bound
	// (EADDRINUSE, as bind(2) with port 0 on Linux).
	ErrNoEphemeral = errors.New("udp: no ephemeral port available")
	// ErrBound: the endpoint is already bound (EINVAL).
	ErrBound = errors.New("udp: endpoint already bound")
	// ErrNotBound: Output on an endpoint that is not (or no longer) bound.
	ErrNotBound = errors.New("udp: endpoint not bound")
	// ErrBadAddress: not an IPv4 address, or port 0 as a destination
	// (EINVAL / EAFNOSUPPORT).
	ErrBadAddress = errors.New("udp: bad address")
	// ErrMsgSize: the payload does not fit in one buffer (EMSGSIZE).
	ErrMsgSize = errors.New("udp: message too long")
)

// Network is what a Table needs from the IP layer; *ip.Host implements it.
type Network interface {
	Output(now time.Duration, dst netip.Addr, proto uint8, b *link.Buf, out ip.Output) error
	SendUnreachable(now time.Duration, p *ip.Packet, b *link.Buf, code uint8, out ip.Output)
}

// Receiver takes the datagrams an Endpoint queued since the last Flush.
// It runs on the shard.
type Receiver interface {
	// Receive is given n >= 1 datagrams, head to tail linked through
	// link.Buf.Next (tail.Next is nil), in arrival order. It owns them:
	// it must eventually free each one (Datagram reads them) and give
	// its Charge back with Endpoint.Release.
	Receive(head, tail *link.Buf, n int)
}

// Endpoint is one bound UDP port. The zero value is unbound; its fields
// belong to the Table's shard except where a method says otherwise.
type Endpoint struct {
	rx    Receiver
	addr  netip.Addr // bound address: unspecified or the host's
	port  uint16
	bound bool
	limit int64

	// Datagrams queued since the last Flush.
	head, tail *link.Buf
	n          int
	ready      bool // on the Table's ready list

	// charged is the buffer memory held by datagrams not yet Released:
	// added on the shard, subtracted by readers anywhere.
	charged atomic.Int64
}

// NewEndpoint returns an unbound endpoint whose datagrams go to rx.
func NewEndpoint(rx Receiver) *Endpoint { return &Endpoint{rx: rx} }

// Init prepares an unbound endpoint embedded in another struct; it is
// NewEndpoint without the allocation.
func (e *Endpoint) Init(rx Receiver) { e.rx = rx }

// LocalAddr is the address and port the endpoint is bound to (the port is
// the chosen one after binding port 0). Safe to call from any goroutine
// once Bind has returned and until Unbind.
func (e *Endpoint) LocalAddr() netip.AddrPort { return netip.AddrPortFrom(e.addr, e.port) }

// Charged is the receive-buffer memory currently held by the endpoint's
// datagrams. Safe from any goroutine.
func (e *Endpoint) Charged() int { return int(e.charged.Load()) }

// Release gives back the charge of a datagram the Receiver consumed
// (Charge(b), taken before freeing b). Safe from any goroutine.
func (e *Endpoint) Release(charge int) { e.charged.Add(-int64(charge)) }

// Table demultiplexes UDP datagrams to bound endpoints. It is not safe for
// concurrent use: one shard owns it.
type Table struct {
	cfg   Config
	net   Network
	ports map[uint16]*Endpoint
	ready []*Endpoint
	rng   *rand.ChaCha8
	c     Counters
}

// New returns an empty table sending through net.
func New(cfg Config, net Network) (*Table, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if net == nil {
		return nil, fmt.Errorf("%w: Network is required", ErrConfig)
	}
	return &Table{
		cfg:   cfg,
		net:   net,
		ports: make(map[uint16]*Endpoint),
		ready: make([]*Endpoint, 0, 64),
		rng:   rand.NewChaCha8(cfg.Seed),
	}, nil
}

// Config returns the table's configuration with defaults applied.
func (t *Table) Config() Config { return t.cfg }

// Counters returns a snapshot of the counters.
func (t *Table) Counters() Counters { return t.c }

// Bound is how many endpoints are bound.
func (t *Table) Bound() int { return len(t.ports) }

// Bind binds e to addr:port. addr must be unspecified (or invalid, which
// means the same) or the host's own address; the caller checks that. Port
// 0 picks an ephemeral port. Errors: ErrAddrInUse, ErrNoEphemeral,
// ErrBound, ErrBadAddress (addr not IPv4).
func (t *Table) Bind(e *Endpoint, addr netip.Addr, port uint16) error {
	if e.bound {
		return fmt.Errorf("%w: %v", ErrBound, e.LocalAddr())
	}
	if !addr.IsValid() {
		addr = netip.IPv4Unspecified()
	}
	addr = addr.Unmap()
	if !addr.Is4() {
		return fmt.Errorf("%w: %v is not IPv4", ErrBadAddress, addr)
	}
	if port == 0 {
		p, ok := t.pickEphemeral()
		if !ok {
			return fmt.Errorf("%w (range %d-%d)", ErrNoEphemeral, t.cfg.MinPort, t.cfg.MaxPort)
		}
		port = p
	} else if _, taken := t.ports[port]; taken {
		return fmt.Errorf("%w: port %d", ErrAddrInUse, port)
	}
	e.addr, e.port, e.bound = addr, port, true
	e.limit = int64(t.cfg.RecvBuffer)
	t.ports[port] = e
	return nil
}

// pickEphemeral is RFC 6056 section 3.3.1, Algorithm 1: start at a random
// port of the range and walk up (wrapping) to the first free one.
func (t *Table) pickEphemeral() (uint16, bool) {
	lo, n := uint32(t.cfg.MinPort), uint32(t.cfg.MaxPort)-uint32(t.cfg.MinPort)+1
	next := uint32(t.rng.Uint64() % uint64(n))
	for range n {
		p := uint16(lo + next)
		if _, taken := t.ports[p]; !taken {
			return p, true
		}
		next++
		if next == n {
			next = 0
		}
	}
	return 0, false
}

// Unbind releases e's port and frees the datagrams it queued since the
// last Flush (they were never handed to its Receiver). Datagrams already
// handed over are the Receiver's to free. Unbinding an unbound endpoint
// does nothing.
func (t *Table) Unbind(e *Endpoint) {
	if !e.bound {
		return
	}
	if t.ports[e.port] == e {
		delete(t.ports, e.port)
	}
	e.bound = false
	for b := e.head; b != nil; {
		next := b.Next
		b.Next = nil
		e.Release(Charge(b))
		b.Free()
		b = next
	}
	e.head, e.tail, e.n = nil, nil, 0
	// e may still be on the ready list; Flush skips it (n == 0).
}

// SetRecvBuffer sets e's receive-buffer limit (SO_RCVBUF), in bytes of
// buffer memory as Config.RecvBuffer, clamped to [1, MaxRecvBuffer]. It
// applies to datagrams arriving from now on; those queued stay. Bind
// resets it to Config.RecvBuffer.
func (t *Table) SetRecvBuffer(e *Endpoint, n int) {
	e.limit = int64(min(max(n, 1), MaxRecvBuffer))
}

// RecvBuffer is e's receive-buffer limit.
func (t *Table) RecvBuffer(e *Endpoint) int { return int(e.limit) }

// Lookup returns the endpoint bound to port, or nil.
func (t *Table) Lookup(port uint16) *Endpoint { return t.ports[port] }

// Flush hands every endpoint's datagrams queued since the last Flush to
// its Receiver, one call per endpoint. Call it once per shard iteration,
// after input (the shard's EndBurst).
func (t *Table) Flush() {
	for i, e := range t.ready {
		t.ready[i] = nil
		e.ready = false
		if e.n == 0 {
			continue
		}
		head, tail, n := e.head, e.tail, e.n
		e.head, e.tail, e.n = nil, nil, 0
		if e.rx == nil {
			for b := head; b != nil; {
				next := b.Next
				b.Next = nil
				e.Release(Charge(b))
				b.Free()
				b = next
			}
			continue
		}
		e.rx.Receive(head, tail, n)
	}
	t.ready = t.ready[:0]
}

// Pending is how many endpoints have datagrams waiting for Flush.
func (t *Table) Pending() int { return len(t.ready) }
