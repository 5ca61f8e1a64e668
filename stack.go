package ustack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/shard"
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
}

// New makes a stack from cfg and, unless cfg.Manual is set, starts its
// shard goroutine. An invalid cfg gives an error wrapping ErrConfig.
func New(cfg Config) (*Stack, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
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
	if !cfg.Manual {
		ctx, cancel := context.WithCancel(context.Background())
		s.cancel = cancel
		s.done = make(chan error, 1)
		go func() { s.done <- sh.Run(ctx) }()
	}
	return s, nil
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

// IPCounters returns a snapshot of the IPv4, ICMP and ARP counters. It is
// read through the shard, so it waits for the shard's current iteration.
func (s *Stack) IPCounters() (ip.Counters, error) {
	var c ip.Counters
	err := s.do(context.Background(), func(time.Duration, *shard.TX) { c = s.host.Counters() })
	return c, err
}

// ShardStats returns the shard loop's counters.
func (s *Stack) ShardStats() shard.Stats { return s.shard.Stats() }

// Close stops the shard, closes the link and releases the stack's state.
// It is safe to call more than once.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.cancel != nil {
			s.cancel()
			if err := <-s.done; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, shard.ErrClosed) {
				s.closeErr = err
			}
		}
		s.h.failAll(ErrClosed)
		if err := s.shard.Close(); err != nil && !errors.Is(err, shard.ErrClosed) && s.closeErr == nil {
			s.closeErr = err
		}
		if err := s.cfg.Link.Close(); err != nil && !errors.Is(err, link.ErrClosed) && s.closeErr == nil {
			s.closeErr = err
		}
	})
	return s.closeErr
}
