package ustack

import (
	"net/netip"
	"time"

	"github.com/ustack/ustack/internal/flowtab"
	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/tcp"
)

// endpoint is the shard's record of one TCP connection: the engine's Conn,
// its wheel timer, and who hears its events.
type endpoint struct {
	l        *tcpLayer
	conn     *tcp.Conn
	timer    shard.Timer
	ec       EventConn   // the handle given to event handlers
	h        ConnHandler // nil until accepted (passive) or for orphans
	listener *listenEP   // set while waiting on a listener's accept queue
	// sc, for a connection on a socket listener's accept queue, is the
	// TCPConn the endpoint lives in (epMem), which Accept returns.
	sc *TCPConn
	// err, when set, is what Closed reports instead of the engine's error
	// (a SYN-SENT connection aborted because its next hop failed ARP).
	err error

	tuple tcp.Tuple   // conn's, kept for the handle's addresses after release
	key   flowtab.Key // tuple's key in tcpLayer.conns

	dirty       bool // queued for dispatch this burst
	removed     bool // out of the table for good
	sock        bool // a TCPConn's not yet closed: not recycled (its calls need the Conn)
	inTimeWait  bool // counted in tcpLayer.timeWait
	established bool // Established was delivered
	closed      bool // Closed was delivered
}

// dispatch delivers the connection's pending events to its handler and
// drops it from the table once it reached CLOSED.
func (ep *endpoint) dispatch() {
	c := ep.conn
	l := ep.l
	if ep.h == nil || ep.closed {
		switch c.State() {
		case tcp.Closed:
			l.remove(ep)
			l.recycle(ep)
		case tcp.TimeWait:
			l.compact(ep)
		}
		return
	}
	ev := c.TakeEvents()
	st := c.State()
	// What the handlers write and close leaves when they return, in as
	// few segments as possible (an answer and its FIN in one).
	c.SetHold(l.out.now, true, &l.out)
	synced := st != tcp.SynSent && st != tcp.SynReceived && st != tcp.Closed
	if !ep.established && (ev&tcp.EventEstablished != 0 || synced) {
		ep.established = true
		ep.h.Established(&ep.ec)
	}
	if ev&tcp.EventReadable != 0 && !ep.closed {
		ep.h.Readable(&ep.ec)
	}
	if ev&tcp.EventWritable != 0 && !ep.closed {
		ep.h.Writable(&ep.ec)
	}
	c.SetHold(l.out.now, false, &l.out)
	st = c.State()
	if !ep.closed && (ev&tcp.EventClosed != 0 || st == tcp.Closed || st == tcp.TimeWait) {
		ep.closed = true
		h := ep.h
		ep.h = nil
		err := c.Err()
		if ep.err != nil {
			err = ep.err
		}
		h.Closed(&ep.ec, err)
	}
	if c.State() == tcp.Closed {
		l.remove(ep)
		l.recycle(ep)
		return
	}
	if c.State() == tcp.TimeWait && l.compact(ep) {
		return
	}
	l.touch(ep)
}

// listenEP is a listening port on the shard.
type listenEP struct {
	layer   *tcpLayer
	l       *tcp.Listener
	timer   shard.Timer
	addr    netip.Addr // the bound address; unspecified for any
	acc     Acceptor
	dirty   bool
	pending int // established connections not yet handed out
	// sock, for a socket listener (TCPListener), is woken instead of
	// handing connections out: they stay on the tcp.Listener's accept
	// queue, bounded by the backlog, until Accept takes them.
	sock   *waitDir
	closed bool
}

func (ln *listenEP) OnTimer(now time.Duration, tx *shard.TX) {
	ln.layer.enter(now, tx)
	ln.l.OnTimer(now, &ln.layer.out)
	ln.layer.afterListener(ln, nil)
}

// handOut gives every established connection waiting on the listener to
// the Acceptor, which returns the handler for its events.
func (ln *listenEP) handOut() {
	if ln.sock != nil {
		ln.sock.wake()
		ln.layer.woke()
		return
	}
	for ln.acc != nil && !ln.closed {
		c := ln.l.Accept()
		if c == nil {
			return
		}
		ln.pending--
		ep := ln.layer.lookup(c.Tuple())
		if ep == nil || ep.conn != c {
			continue // reset and gone before it was accepted
		}
		ep.listener = nil
		h := ln.acc.Accept(&ep.ec)
		if h == nil {
			c.Abort(ln.layer.out.now, &ln.layer.out)
			ln.layer.touch(ep)
			continue
		}
		ep.h = h
		ln.layer.touch(ep)
		if !ep.dirty {
			ep.dirty = true
			ln.layer.dirty = append(ln.layer.dirty, ep)
		}
	}
}
