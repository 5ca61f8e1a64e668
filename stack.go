package ustack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/tcp"
)

// ErrClosed is returned by operations on a Stack after Close.
var ErrClosed = errors.New("ustack: stack closed")

// Stack is one userspace TCP/IP stack on one link. Its protocol state is
// owned by a shard goroutine; the exported methods are safe for concurrent
// use and reach that state only through the shard's task queue.
type Stack struct {
	cfg   Config
	host  *ip.Host
	shard *shard.Shard
	h     handler
	udp   udpState // UDP table and socket glue (udp.go)
	tcp   tcpLayer

	cancel context.CancelFunc
	done   chan error    // receives Run's result once (not Manual)
	closed chan struct{} // closed when Close begins
	wake   func()        // Manual only: ask the driver for a Step (SetWake)

	closeOnce sync.Once
	closeErr  error

	dialTasks sync.Pool // *dialEventsTask, reused by DialEvents (events.go)

	clock    shard.Clock
	busyPoll time.Duration // resolved Config.BusyPoll (borrow.go)
	spinSkip atomic.Int32  // busy polls to skip (borrow.go)
	timers   timerPool     // deadline timers of closed TCP sockets (deadlinetimer.go)

	// Multi-shard stacks (shards.go): this shard's index, the group (nil
	// for a one-shard stack) and the ring other shards hand frames in by.
	idx     int
	group   *shardGroup
	handoff handoff
	self    [1]*Stack // shards() of a one-shard stack, without allocating
}

// New makes a stack from cfg and, unless cfg.Manual is set, starts its
// shard goroutines: one for Config.Link and one for each of Config.Queues.
// An invalid cfg gives an error wrapping ErrConfig.
func New(cfg Config) (*Stack, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(cfg.Queues) == 0 {
		s, err := newShard(cfg)
		if err != nil {
			return nil, err
		}
		s.start()
		return s, nil
	}
	links := append([]link.Link{cfg.Link}, cfg.Queues...)
	g := &shardGroup{all: make([]*Stack, 0, len(links))}
	// RFC 5961 §7's challenge-ACK budget is the stack's: each shard gets
	// its share (a limiter is not shared between shard goroutines).
	budget := cfg.TCP.ChallengeACKLimit
	if budget == 0 {
		budget = tcp.Linux().ChallengeACKLimit
	}
	for i, lk := range links {
		c := cfg
		c.Link, c.Queues = lk, nil
		c.TCP.ChallengeACKLimit = max(1, (budget+len(links)-1)/len(links))
		s, err := newShard(c)
		if err != nil {
			for _, o := range g.all {
				o.stop()
				o.release()
			}
			return nil, fmt.Errorf("shard %d: %w", i, err)
		}
		s.idx, s.group = i, g
		g.all = append(g.all, s)
	}
	for _, s := range g.all {
		s.handoff.init(s, cfg.ShardHandoff)
	}
	for _, s := range g.all {
		s.start()
	}
	return g.all[0], nil
}

// newShard makes one shard's stack on cfg.Link, not yet running.
func newShard(cfg Config) (*Stack, error) {
	ipc := cfg.IP
	ipc.Addr = cfg.Addr
	ipc.Gateway = cfg.Gateway
	ipc.MAC = cfg.Link.HardwareAddr()
	if ipc.MTU == 0 || ipc.MTU > cfg.Link.MTU() {
		ipc.MTU = cfg.Link.MTU()
	}
	host, err := ip.New(ipc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if cfg.MaxTimeWait == 0 {
		cfg.MaxTimeWait = DefaultMaxTimeWait
	}
	s := &Stack{cfg: cfg, host: host, closed: make(chan struct{})}
	s.self[0] = s
	s.h.init(s)
	if err := s.tcp.init(s, cfg.TCP); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = shard.NewMonoClock()
	}
	sh, err := shard.New(shard.Config{
		Link:     cfg.Link,
		Handler:  &s.h,
		Clock:    clock,
		Mode:     cfg.Polling,
		Burst:    cfg.Burst,
		SpinTime: cfg.SpinTime,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	s.shard = sh
	s.clock = clock
	s.busyPoll = cfg.BusyPoll
	if s.busyPoll == 0 && cfg.Polling != shard.Interrupt {
		s.busyPoll = sh.Config().SpinTime
	}
	return s, nil
}

// start runs the shard goroutine (not for Manual stacks).
func (s *Stack) start() {
	if s.cfg.Manual {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done = make(chan error, 1)
	go func() { s.done <- s.shard.Run(ctx) }()
}

// Addr is the stack's address and connected prefix.
func (s *Stack) Addr() netip.Prefix { return s.cfg.Addr }

// SetWake is for the simulator (sim.Waker): in a Manual stack, work begun
// from outside Step (Exec, DialEvents, ListenEvents) calls wake so that the
// driver steps the stack at once rather than at its next frame or timer.
func (s *Stack) SetWake(wake func()) { s.wake = wake }

// Step runs one iteration of the shard loop at now and returns when the
// stack next needs to run. Only for stacks made with Config.Manual; the
// simulator (package sim) calls it, which makes *Stack a sim.Host.
func (s *Stack) Step(now time.Duration) time.Duration { return s.shard.Step(now) }

// IPCounters returns a snapshot of the IPv4, ICMP and ARP counters,
// summed over the shards. It is read through each shard, so it waits for
// the shard's current iteration.
func (s *Stack) IPCounters() (ip.Counters, error) {
	var sum ip.Counters
	for _, sh := range s.shards() {
		var c ip.Counters
		if err := sh.do(context.Background(), func(time.Duration, *shard.TX) { c = sh.host.Counters() }); err != nil {
			return sum, err
		}
		addCounters(&sum, &c)
	}
	return sum, nil
}

// ShardStats returns the shard loops' counters, summed over the shards.
func (s *Stack) ShardStats() shard.Stats {
	var sum shard.Stats
	for _, sh := range s.shards() {
		st := sh.shard.Stats()
		addCounters(&sum, &st)
	}
	return sum
}

// Close stops the shards, closes the links and releases the stack's
// state. It is safe to call more than once.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		all := s.shards()
		for _, sh := range all {
			sh.stop()
		}
		// Every shard has stopped: nothing hands frames over any more.
		if s.group != nil {
			for _, sh := range all {
				sh.handoff.freeAll()
			}
		}
		for _, sh := range all {
			if err := sh.release(); err != nil && s.closeErr == nil {
				s.closeErr = err
			}
		}
	})
	return s.closeErr
}

// stop ends the shard goroutine and fails what waits on the shard.
func (s *Stack) stop() {
	select {
	case <-s.closed:
		return
	default:
	}
	close(s.closed)
	if s.cancel != nil {
		s.cancel()
		if err := <-s.done; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, shard.ErrClosed) {
			s.closeErr = err
		}
	}
}

// release frees the shard's state and closes its link, after stop.
func (s *Stack) release() error {
	err := s.closeErr
	s.h.failAll(ErrClosed)
	if e := s.shard.Close(); e != nil && !errors.Is(e, shard.ErrClosed) && err == nil {
		err = e
	}
	// Frames the link refused at the end (a peer that closed first)
	// go back to their pools.
	s.shard.Discard()
	if e := s.cfg.Link.Close(); e != nil && !errors.Is(e, link.ErrClosed) && err == nil {
		err = e
	}
	return err
}
