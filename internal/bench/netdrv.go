package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// NetEnv is a listener and a way to dial it: everything the net.Conn
// drivers need from a system.
type NetEnv struct {
	Listener net.Listener
	Dial     func(ctx context.Context) (net.Conn, error)
	// Note qualifies the figures (it becomes the rows' note).
	Note string
	// After, when set, is called once the workload has run (before
	// Close) and what it returns is added to the note: counters worth
	// knowing beside the figures.
	After func() string
	// Close releases what Setup made (the listener is closed before it).
	Close func() error
}

// NetSystem is a System reached through net.Listener and net.Conn: the
// kernel through package net, ustack's sockets, gVisor's gonet.
type NetSystem struct {
	SystemName string
	// Setup makes a fresh listener and dialer for one workload.
	Setup func(w Workload) (*NetEnv, error)
}

// Name is the system's name.
func (s *NetSystem) Name() string { return s.SystemName }

// Run runs w through the net.Conn drivers.
func (s *NetSystem) Run(ctx context.Context, w Workload, p Params) (*Result, error) {
	env, err := s.Setup(w)
	if err != nil {
		return nil, err
	}
	defer func() {
		if env.Close != nil {
			env.Close()
		}
	}()
	var r *Result
	switch w.Kind {
	case RTT:
		r, err = NetRTT(ctx, env, p)
	case Bulk:
		r, err = NetBulk(ctx, env, p)
	case CPS:
		r, err = NetCPS(ctx, env, p, w.Clients)
	default:
		err = fmt.Errorf("workload %s: unknown kind", w.Name)
	}
	if r != nil {
		notes := []string{r.Note, env.Note}
		if env.After != nil {
			notes = append(notes, env.After())
		}
		r.Note = joinNotes(notes)
	}
	return r, err
}

// ioTimeout bounds every blocking call of the drivers, so a stuck system
// fails its workload instead of hanging the run.
const ioTimeout = 10 * time.Second

// errTooSlow is returned when nothing completed inside the window.
var errTooSlow = errors.New("no operation completed in the measured window")

// acceptOne accepts the single connection of the RTT and Bulk workloads.
func acceptOne(ln net.Listener) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	return ch
}

func dialPair(ctx context.Context, env *NetEnv) (client, server net.Conn, err error) {
	acc := acceptOne(env.Listener)
	dctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	client, err = env.Dial(dctx)
	if err != nil {
		return nil, nil, fmt.Errorf("dial: %w", err)
	}
	select {
	case server = <-acc:
		if server == nil {
			client.Close()
			return nil, nil, errors.New("accept failed")
		}
	case <-time.After(ioTimeout):
		client.Close()
		return nil, nil, errors.New("accept timed out")
	}
	return client, server, nil
}

// NetRTT measures 1-byte request/response round trips on one connection:
// the server goroutine echoes each byte, the client times each exchange.
func NetRTT(ctx context.Context, env *NetEnv, p Params) (*Result, error) {
	client, server, err := dialPair(ctx, env)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer server.Close()
		var b [1]byte
		for {
			if _, err := io.ReadFull(server, b[:]); err != nil {
				return
			}
			if _, err := server.Write(b[:]); err != nil {
				return
			}
		}
	}()
	r := &Result{}
	var b [1]byte
	exchange := func() error {
		if _, err := client.Write(b[:]); err != nil {
			return err
		}
		_, err := io.ReadFull(client, b[:])
		return err
	}
	client.SetDeadline(time.Now().Add(p.Warmup + p.Duration + ioTimeout))
	for end := time.Now().Add(p.Warmup); time.Now().Before(end); {
		if err := exchange(); err != nil {
			return nil, fmt.Errorf("warm-up exchange: %w", err)
		}
	}
	var m Meter
	m.Start()
	end := time.Now().Add(p.Duration)
	for t := time.Now(); t.Before(end); {
		if err := exchange(); err != nil {
			return nil, fmt.Errorf("exchange: %w", err)
		}
		t2 := time.Now()
		r.Lat.Record(t2.Sub(t))
		t = t2
		r.Ops++
	}
	r.Usage = m.Stop()
	client.Close()
	wg.Wait()
	if r.Ops == 0 {
		return nil, errTooSlow
	}
	return r, nil
}

// bulkChunk is the size of each Write and Read of the bulk workload.
const bulkChunk = 128 << 10

// NetBulk measures one-way throughput on one connection: the client writes
// 128 KiB chunks as fast as it can, the server reads and counts.
func NetBulk(ctx context.Context, env *NetEnv, p Params) (*Result, error) {
	client, server, err := dialPair(ctx, env)
	if err != nil {
		return nil, err
	}
	var got atomic.Int64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer server.Close()
		buf := make([]byte, bulkChunk)
		for {
			n, err := server.Read(buf)
			got.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	var stop atomic.Bool
	var werr error
	go func() {
		defer wg.Done()
		buf := make([]byte, bulkChunk)
		for i := range buf {
			buf[i] = byte(i)
		}
		for !stop.Load() {
			client.SetWriteDeadline(time.Now().Add(ioTimeout))
			if _, err := client.Write(buf); err != nil {
				if !stop.Load() {
					werr = err
				}
				return
			}
		}
	}()
	defer func() {
		stop.Store(true)
		client.Close()
		wg.Wait()
	}()
	if err := sleepCtx(ctx, p.Warmup); err != nil {
		return nil, err
	}
	var m Meter
	b0 := got.Load()
	m.Start()
	if err := sleepCtx(ctx, p.Duration); err != nil {
		return nil, err
	}
	b1 := got.Load()
	u := m.Stop()
	stop.Store(true)
	client.Close()
	wg.Wait()
	if werr != nil {
		return nil, fmt.Errorf("write: %w", werr)
	}
	if b1 == b0 {
		return nil, errTooSlow
	}
	return &Result{Ops: b1 - b0, Usage: u}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NetCPS measures connection churn: clients goroutines each loop over
// dial, write 1 byte, read the 1-byte answer, read EOF, close; the server
// answers each connection on its own goroutine and closes first (as an
// HTTP/1.0 server does), so TIME-WAIT is kept by the server and the
// clients' ephemeral ports are free again at once.
func NetCPS(ctx context.Context, env *NetEnv, p Params, clients int) (*Result, error) {
	var srv sync.WaitGroup
	srv.Add(1)
	go func() {
		defer srv.Done()
		var conns sync.WaitGroup
		defer conns.Wait()
		for {
			c, err := env.Listener.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(ioTimeout))
				var b [1]byte
				if _, err := io.ReadFull(c, b[:]); err != nil {
					return
				}
				c.Write(b[:])
			}()
		}
	}()

	var (
		done, failed atomic.Int64
		measuring    atomic.Bool
		firstErr     atomic.Pointer[error]
	)
	cctx, cancel := context.WithCancel(ctx)
	var cl sync.WaitGroup
	for range clients {
		cl.Add(1)
		go func() {
			defer cl.Done()
			var b [1]byte
			for cctx.Err() == nil {
				err := func() error {
					// No timeout context per dial: it would cost every
					// system the same allocations, measured as theirs.
					// A dial that hangs is cancelled at shutdown.
					c, err := env.Dial(cctx)
					if err != nil {
						return fmt.Errorf("dial: %w", err)
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(ioTimeout))
					if _, err := c.Write(b[:]); err != nil {
						return fmt.Errorf("write: %w", err)
					}
					if _, err := io.ReadFull(c, b[:]); err != nil {
						return fmt.Errorf("read: %w", err)
					}
					// The server closes first, so TIME-WAIT stays on
					// its side and the client's ports free at once.
					if n, err := c.Read(b[:]); n != 0 || err != io.EOF {
						return fmt.Errorf("read after the answer: %d bytes, %v (want EOF)", n, err)
					}
					return nil
				}()
				switch {
				case err == nil:
					done.Add(1)
				case cctx.Err() != nil:
					return
				default:
					if measuring.Load() {
						failed.Add(1)
						KeepFirst(&firstErr, err)
					}
				}
			}
		}()
	}
	shutdown := func() {
		cancel()
		cl.Wait()
		env.Listener.Close()
		srv.Wait()
	}
	if err := sleepCtx(ctx, p.Warmup); err != nil {
		shutdown()
		return nil, err
	}
	var m Meter
	measuring.Store(true)
	n0 := done.Load()
	m.Start()
	if err := sleepCtx(ctx, p.Duration); err != nil {
		shutdown()
		return nil, err
	}
	n1 := done.Load()
	u := m.Stop()
	measuring.Store(false)
	shutdown()
	r := &Result{Ops: n1 - n0, Usage: u, Errors: failed.Load()}
	if e := firstErr.Load(); e != nil {
		r.FirstErr = *e
	}
	if r.Ops == 0 {
		if r.FirstErr != nil {
			return nil, r.FirstErr
		}
		return nil, errTooSlow
	}
	return r, nil
}

// KeepFirst stores err in p unless p holds an error already. It is a
// function of its own so that only the first error, the one stored, moves
// to the heap: taking the address of a loop's err variable in place would
// allocate on every iteration and count in allocs_per_op.
//
//go:noinline
func KeepFirst(p *atomic.Pointer[error], err error) {
	if p.Load() == nil {
		p.CompareAndSwap(nil, &err)
	}
}

func joinNotes(notes []string) string {
	out := notes[:0:0]
	for _, n := range notes {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}
