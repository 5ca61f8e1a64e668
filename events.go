package ustack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/tcp"
)

// The event API runs application code on the shard goroutine itself, for
// the last microsecond: no goroutine hand-off, no copy on receive, and
// writes made inside a handler leave in the same loop iteration.
//
// Rules for handlers (ConnHandler and Acceptor methods):
//   - They run on the shard goroutine and must not block: no channel waits,
//     no locks held by other goroutines, no blocking I/O. While a handler
//     runs, no other connection of the stack makes progress.
//   - An *EventConn may be used only on the shard goroutine: inside a
//     handler, or inside a function given to Stack.Exec.
//   - The slice from Peek is borrowed: it stays valid until the next Peek,
//     Consume, Read or the handler's return, whichever comes first. Copy
//     what must outlive it.
//   - After Closed returns, the EventConn is dead; its methods fail, and
//     Info reports nothing (the connection's memory is reused; read Info
//     in Closed if it is wanted). LocalAddr and RemoteAddr still answer.

// ConnHandler receives one connection's events.
type ConnHandler interface {
	// Established: the handshake completed (active or passive open).
	Established(c *EventConn)
	// Readable: data or the peer's FIN is waiting (Peek/Consume or Read;
	// Read returns io.EOF after the FIN).
	Readable(c *EventConn)
	// Writable: send space opened after a Write came up short.
	Writable(c *EventConn)
	// Closed: the connection ended; err is nil for an orderly close, or
	// the reset / timeout / refusal that ended it.
	Closed(c *EventConn, err error)
}

// Acceptor decides what handles each connection a listener accepts. It
// returns the connection's handler, or nil to reset the connection.
type Acceptor interface {
	Accept(c *EventConn) ConnHandler
}

// EventConn is a TCP connection seen from the shard goroutine.
type EventConn struct {
	ep *endpoint
	// Value is for the application: state it wants to find again in the
	// handlers. The stack never touches it.
	Value any
}

// EventListener is a listening port whose connections go to an Acceptor.
// On a stack of several shards it listens on each: the Acceptor and the
// handlers it returns are called on the shard each connection belongs to,
// so from several goroutines at once (one connection's events always on
// one of them).
type EventListener struct {
	lns []*listenEP // by shard index
	s   *Stack
}

var errDeadConn = errors.New("ustack: connection closed")

func (c *EventConn) alive() bool { return c.ep != nil && !c.ep.closed }

// Write queues p for sending and returns how much fit in the send buffer;
// a short count means wait for Writable.
func (c *EventConn) Write(p []byte) (int, error) {
	if !c.alive() {
		return 0, errDeadConn
	}
	l := c.ep.l
	n, err := c.ep.conn.Write(l.out.now, p, &l.out)
	l.touch(c.ep)
	return n, err
}

// Peek returns received bytes without consuming them: a view straight into
// the frame buffer, valid until the next Peek, Consume or Read. It may hold
// less than Buffered reports (the data spans frames); Consume and Peek again.
func (c *EventConn) Peek() []byte {
	if !c.alive() {
		return nil
	}
	return c.ep.conn.Peek()
}

// Consume drops n bytes from the front of the receive queue, after Peek.
func (c *EventConn) Consume(n int) int {
	if !c.alive() {
		return 0
	}
	l := c.ep.l
	m := c.ep.conn.Consume(l.out.now, n, &l.out)
	l.touch(c.ep)
	return m
}

// Read copies received bytes into p; io.EOF after the peer's FIN.
func (c *EventConn) Read(p []byte) (int, error) {
	if !c.alive() {
		return 0, errDeadConn
	}
	l := c.ep.l
	n, err := c.ep.conn.Read(p, l.out.now, &l.out)
	l.touch(c.ep)
	return n, err
}

// Buffered is how many received bytes are waiting.
func (c *EventConn) Buffered() int {
	if !c.alive() {
		return 0
	}
	return c.ep.conn.Buffered()
}

// CloseWrite sends FIN after the queued data (half close).
func (c *EventConn) CloseWrite() {
	if c.alive() {
		l := c.ep.l
		c.ep.conn.CloseWrite(l.out.now, &l.out)
		l.touch(c.ep)
	}
}

// Close closes the connection as close(2) does: FIN after queued data, or
// RST when received data is left unread. Closed follows.
func (c *EventConn) Close() {
	if c.alive() {
		l := c.ep.l
		c.ep.conn.Close(l.out.now, &l.out)
		l.touch(c.ep)
	}
}

// Abort resets the connection at once.
func (c *EventConn) Abort() {
	if c.alive() {
		l := c.ep.l
		c.ep.conn.Abort(l.out.now, &l.out)
		l.touch(c.ep)
	}
}

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *EventConn) SetNoDelay(on bool) {
	if c.alive() {
		l := c.ep.l
		c.ep.conn.SetNoDelay(l.out.now, on, &l.out)
		l.touch(c.ep)
	}
}

// Info is the engine's per-connection information (like Linux tcp_info).
func (c *EventConn) Info() tcp.Info {
	if c.ep == nil {
		return tcp.Info{}
	}
	return c.ep.conn.Info()
}

// LocalAddr and RemoteAddr are the connection's endpoints.
func (c *EventConn) LocalAddr() netip.AddrPort  { return c.ep.tuple.Local }
func (c *EventConn) RemoteAddr() netip.AddrPort { return c.ep.tuple.Remote }

// Exec runs f on the shard goroutine and waits for it: the way to use
// EventConns from outside a handler. Output f causes leaves in the same
// loop iteration. On a stack of several shards f runs on shard 0; use
// ExecOn for a connection's own shard.
func (s *Stack) Exec(ctx context.Context, f func()) error {
	return s.do(ctx, func(time.Duration, *shard.TX) { f() })
}

// ExecOn runs f on the shard that owns c and waits for it: there f may
// use c (and any EventConn of that shard).
func (s *Stack) ExecOn(ctx context.Context, c *EventConn, f func()) error {
	if c == nil || c.ep == nil {
		return errDeadConn
	}
	return c.ep.l.s.do(ctx, func(time.Duration, *shard.TX) { f() })
}

// ListenEvents listens on port (0 picks none: a port is required) of the
// stack's address and hands accepted connections to a.
func (s *Stack) ListenEvents(port uint16, a Acceptor) (*EventListener, error) {
	if a == nil {
		return nil, errors.New("ustack: ListenEvents needs an Acceptor")
	}
	if port == 0 {
		return nil, errors.New("ustack: ListenEvents needs a port")
	}
	shards := s.shards()
	el := &EventListener{s: s, lns: make([]*listenEP, len(shards))}
	for i, sh := range shards {
		var lerr error
		err := sh.do(context.Background(), func(now time.Duration, tx *shard.TX) {
			ln, err := sh.tcp.listen(netip.AddrPortFrom(s.cfg.Addr.Addr(), port))
			if err != nil {
				lerr = err
				return
			}
			ln.acc = a
			el.lns[i] = ln
		})
		if err == nil {
			err = lerr
		}
		if err != nil {
			_ = el.Close()
			return nil, err
		}
	}
	return el, nil
}

// Close stops listening; connections not yet accepted are reset.
func (el *EventListener) Close() error { return unlistenAll(el.s, el.lns) }

// DialEvents opens a connection to raddr whose events go to h. The returned
// EventConn may be used only on the shard goroutine; Established or Closed
// (with the refusal or timeout) follows. DialEvents waits for the shard, so
// it must not be called from a handler (it would wait for itself): there,
// use EventConn.DialEvents.
func (s *Stack) DialEvents(raddr netip.AddrPort, h ConnHandler) (*EventConn, error) {
	if h == nil {
		return nil, errors.New("ustack: DialEvents needs a ConnHandler")
	}
	if s.group != nil {
		s = s.group.pick()
	}
	select {
	case <-s.closed:
		return nil, ErrClosed
	default:
	}
	// A pooled request (no closure, no result variables, no channel per
	// call): dialing from a goroutine allocates nothing of its own.
	t, _ := s.dialTasks.Get().(*dialEventsTask)
	if t == nil {
		t = &dialEventsTask{s: s, done: make(chan struct{}, 1)}
	}
	t.raddr, t.h = raddr, h
	if s.cfg.Manual {
		now, tx := s.shard.Config().Clock.Now(), s.shard.TX()
		s.tcp.enter(now, tx)
		t.dial(now)
		if s.wake != nil {
			s.wake()
		}
	} else {
		for !s.shard.Submit(t) {
			// The inbox is full: the shard is busy draining it.
			select {
			case <-s.closed:
				return nil, ErrClosed // t may still run: not reused
			case <-time.After(50 * time.Microsecond):
			}
		}
		select {
		case <-t.done:
		case <-s.closed:
			return nil, ErrClosed // t may still run: not reused
		}
	}
	ec, err := t.ec, t.err
	t.h, t.ec, t.err = nil, nil, nil
	s.dialTasks.Put(t)
	return ec, err
}

// dialEventsTask is DialEvents's request to the shard; done (one slot)
// reports that it ran.
type dialEventsTask struct {
	s     *Stack
	raddr netip.AddrPort
	h     ConnHandler
	ec    *EventConn
	err   error
	done  chan struct{}
}

func (t *dialEventsTask) Run(now time.Duration, tx *shard.TX) {
	t.s.tcp.enter(now, tx)
	t.dial(now)
	t.done <- struct{}{}
	tx.Woke()
}

// dial starts the connection (shard).
func (t *dialEventsTask) dial(now time.Duration) {
	ep, err := t.s.tcp.dial(now, t.raddr)
	if err != nil {
		t.err = err
		return
	}
	ep.h = t.h
	t.ec = &ep.ec
}

// DialEvents opens a connection from inside a handler, on the shard the
// handler runs on, without waiting: for proxies and clients that chain
// connections. c is any live connection of the stack (the one whose
// handler is running).
func (c *EventConn) DialEvents(raddr netip.AddrPort, h ConnHandler) (*EventConn, error) {
	if c.ep == nil {
		return nil, errDeadConn
	}
	if h == nil {
		return nil, errors.New("ustack: DialEvents needs a ConnHandler")
	}
	l := c.ep.l
	ep, err := l.dial(l.out.now, raddr)
	if err != nil {
		return nil, err
	}
	ep.h = h
	return &ep.ec, nil
}

// listen opens a listener on local (shard goroutine).
func (l *tcpLayer) listen(local netip.AddrPort) (*listenEP, error) {
	if _, used := l.listeners[local.Port()]; used {
		return nil, fmt.Errorf("ustack: listen %s: %w", local, syscall.EADDRINUSE)
	}
	tl, err := tcp.NewListener(l.cfg, local, l.secrets)
	if err != nil {
		return nil, err
	}
	ln := &listenEP{layer: l, l: tl, addr: local.Addr()}
	ln.timer.Init(ln)
	l.listeners[local.Port()] = ln
	return ln, nil
}

// unlisten closes a listener (shard goroutine).
func (l *tcpLayer) unlisten(ln *listenEP) {
	if ln.closed {
		return
	}
	ln.closed = true
	ln.l.Close(l.out.now, &l.out)
	if ln.timer.Armed() {
		l.s.shard.Wheel().Cancel(&ln.timer)
	}
	if l.listeners[ln.l.Addr().Port()] == ln {
		delete(l.listeners, ln.l.Addr().Port())
	}
	// Connections established but never accepted were reset by Close;
	// let their endpoints see it.
	for _, ep := range l.endpoints() {
		if ep.listener == ln {
			ep.listener = nil
			l.touch(ep)
		}
	}
}

// dial starts an active open (shard goroutine).
func (l *tcpLayer) dial(now time.Duration, raddr netip.AddrPort) (*endpoint, error) {
	return l.dialInto(now, raddr, nil)
}

// dialInto is dial into the endpoint ep (a TCPConn's), or a new one if ep
// is nil.
func (l *tcpLayer) dialInto(now time.Duration, raddr netip.AddrPort, ep *endpoint) (*endpoint, error) {
	if !raddr.IsValid() || !raddr.Addr().Is4() || raddr.Port() == 0 {
		return nil, fmt.Errorf("ustack: dial %s: %w", raddr, syscall.EINVAL)
	}
	src, err := l.s.host.SourceFor(raddr.Addr())
	if err != nil {
		return nil, fmt.Errorf("ustack: dial %s: %w: %w", raddr, syscall.ENETUNREACH, err)
	}
	var mine func(uint16) bool
	if g := l.s.group; g != nil {
		// The reply must hash to this shard (shards.go).
		n, idx := len(g.all), l.s.idx
		mine = func(p uint16) bool { return tupleOwner(n, netip.AddrPortFrom(src, p), raddr) == idx }
	}
	port, err := l.ports.Pick(src, raddr, func(p uint16) bool {
		t := tcp.Tuple{Local: netip.AddrPortFrom(src, p), Remote: raddr}
		busy := l.lookup(t) != nil
		if !busy {
			_, busy = l.tw.Lookup(t)
		}
		_, lst := l.listeners[p]
		return busy || lst
	}, mine)
	if err != nil {
		return nil, fmt.Errorf("ustack: dial %s: %w: %w", raddr, syscall.EADDRNOTAVAIL, err)
	}
	t := tcp.Tuple{Local: netip.AddrPortFrom(src, port), Remote: raddr}
	c, err := l.secrets.Dial(now, l.cfg, t, &l.out)
	if err != nil {
		return nil, err
	}
	ep = l.addInto(ep, c)
	l.touch(ep)
	return ep, nil
}
