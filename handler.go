package ustack

import (
	"context"
	"net/netip"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/shard"
)

// handler is the shard's view of the stack: it feeds frames to the IP layer,
// keeps one wheel timer armed at the IP layer's next deadline, and owns the
// table of outstanding pings. Everything here runs on the shard goroutine.
type handler struct {
	s     *Stack
	timer shard.Timer
	pings map[uint32]*pingReq // key: id<<16 | seq
	seq   uint16
}

func (h *handler) init(s *Stack) {
	h.s = s
	h.timer.Init(h)
	h.pings = make(map[uint32]*pingReq)
	s.host.SetEchoReplyHandler(h)
	s.host.SetNeighFailureHandler(h)
	s.initUDP()
}

func (h *handler) Input(now time.Duration, b *link.Buf, tx *shard.TX) {
	if h.s.group != nil && h.steer(b) {
		return // handed to the shard that owns it (shards.go)
	}
	h.s.host.Input(now, b, tx)
}

// EndBurst re-arms the IP layer's timer when its deadline moved; it runs
// after input, tasks and timers, so it sees every change of the iteration.
func (h *handler) EndBurst(now time.Duration, tx *shard.TX) {
	if h.s.group != nil {
		h.s.tcp.enter(now, tx)
		h.s.handoff.drain(now, tx)
	}
	h.s.udp.flush()
	h.s.tcp.endBurst(now, tx)
	d, ok := h.s.host.NextDeadline()
	switch {
	case !ok:
		if h.timer.Armed() {
			h.s.shard.Wheel().Cancel(&h.timer)
		}
	case !h.timer.Armed() || h.timer.When() != d:
		h.s.shard.Wheel().Arm(&h.timer, d)
	}
}

func (h *handler) OnTimer(now time.Duration, tx *shard.TX) { h.s.host.Tick(now, tx) }

// A shardOp is work for the shard goroutine (Stack.run). A socket's
// frequent operations are objects that already exist (closeOp is the
// TCPConn under another type, an Accept's acceptReq is reused), so
// running them allocates no closure.
type shardOp interface {
	runOp(now time.Duration, tx *shard.TX)
}

// opFunc is a function as a shardOp.
type opFunc func(now time.Duration, tx *shard.TX)

func (f opFunc) runOp(now time.Duration, tx *shard.TX) { f(now, tx) }

// funcTask runs an operation on the shard and reports when it has.
type funcTask struct {
	s    *Stack
	op   shardOp
	done chan struct{}
}

func (t *funcTask) Run(now time.Duration, tx *shard.TX) {
	t.s.tcp.enter(now, tx)
	t.op.runOp(now, tx)
	close(t.done)
	tx.Woke()
}

// do runs f on the shard goroutine and waits for it, as run does.
func (s *Stack) do(ctx context.Context, f func(now time.Duration, tx *shard.TX)) error {
	return s.run(ctx, opFunc(f))
}

// run runs op on the shard goroutine and waits for it. For a Manual stack
// the caller is the goroutine that drives the shard, so op runs right
// away; when the shard's loop is free the caller borrows it and runs op
// itself (borrow.go).
func (s *Stack) run(ctx context.Context, op shardOp) error {
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	if s.cfg.Manual {
		now, tx := s.shard.Config().Clock.Now(), s.shard.TX()
		s.tcp.enter(now, tx)
		op.runOp(now, tx)
		if s.wake != nil {
			s.wake()
		}
		return nil
	}
	if now, tx, ok := s.borrow(); ok {
		op.runOp(now, tx)
		s.giveBack(now)
		return nil
	}
	t := &funcTask{s: s, op: op, done: make(chan struct{})}
	for !s.shard.Submit(t) {
		// The inbox is full: the shard is busy draining it.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return ErrClosed
		case <-time.After(50 * time.Microsecond):
		}
	}
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return ErrClosed
	}
}

// nextHopOf is the neighbour a packet to dst goes to, for matching ARP
// failures to the requests they doom.
func (h *handler) nextHopOf(dst netip.Addr) netip.Addr {
	if hop, err := h.s.host.NextHop(dst); err == nil {
		return hop
	}
	return dst
}
