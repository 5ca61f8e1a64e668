package ustacksys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/internal/bench"
	"github.com/ustack/ustack/tcp"
)

// Event is ustack through the event API: handlers run on the shard
// goroutines of two stacks over link/mem, with no goroutine hand-off on
// the data path.
func Event(o Options) bench.System { return &eventSystem{o: o} }

type eventSystem struct{ o Options }

func (s *eventSystem) Name() string { return bench.SystemUstackEvent }

func (s *eventSystem) Run(ctx context.Context, w bench.Workload, p bench.Params) (*bench.Result, error) {
	pr, err := newPair(s.o, w)
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	var r *bench.Result
	switch w.Kind {
	case bench.RTT:
		r, err = eventRTT(ctx, pr, p)
	case bench.Bulk:
		r, err = eventBulk(ctx, pr, p)
	case bench.CPS:
		r, err = eventCPS(ctx, pr, p, w.Clients)
	default:
		err = fmt.Errorf("workload %s: unknown kind", w.Name)
	}
	if r != nil {
		r.Note = joinNotes(r.Note, pr.note, pr.retransNote())
	}
	return r, err
}

const ioTimeout = 10 * time.Second

func wait(ctx context.Context, ch <-chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errors.New("timed out")
	}
}

// echoAcceptor answers every byte with itself, from the borrowed view.
type echoAcceptor struct{}

func (echoAcceptor) Accept(*ustack.EventConn) ustack.ConnHandler { return echoHandler{} }

type echoHandler struct{}

func (echoHandler) Established(*ustack.EventConn) {}
func (echoHandler) Readable(c *ustack.EventConn) {
	for {
		v := c.Peek()
		if len(v) == 0 {
			var b [1]byte
			if _, err := c.Read(b[:]); err == io.EOF {
				c.Close()
			}
			return
		}
		n, _ := c.Write(v) // 1-byte messages: the send buffer has room
		c.Consume(n)
		if n < len(v) {
			return
		}
	}
}
func (echoHandler) Writable(c *ustack.EventConn)    {}
func (echoHandler) Closed(*ustack.EventConn, error) {}

// rttClient plays the 1-byte ping-pong on the client stack's shard: each
// answer is timed and the next request goes out in the same handler.
type rttClient struct {
	p        bench.Params
	r        bench.Result
	meter    bench.Meter
	start    time.Time // warm-up start
	t        time.Time // when the request in flight was sent
	end      time.Time // end of the measured window
	measured bool
	b        [1]byte
	done     chan struct{}
	finished bool
	err      error
}

func (k *rttClient) Established(c *ustack.EventConn) {
	k.start = time.Now()
	k.send(c, k.start)
}

func (k *rttClient) send(c *ustack.EventConn, now time.Time) {
	k.t = now
	if _, err := c.Write(k.b[:]); err != nil {
		k.finish(err)
	}
}

func (k *rttClient) Readable(c *ustack.EventConn) {
	if k.finished {
		return
	}
	n, err := c.Read(k.b[:])
	if n == 0 {
		if err != nil && !errors.Is(err, tcp.ErrWouldBlock) {
			k.finish(err)
		}
		return
	}
	now := time.Now()
	el := now.Sub(k.start)
	switch {
	case !k.measured && el >= k.p.Warmup:
		k.measured = true
		k.meter.Start()
		now = time.Now() // the meter's own cost is not a round trip's
		k.end = now.Add(k.p.Duration)
	case k.measured:
		k.r.Lat.Record(now.Sub(k.t))
		k.r.Ops++
		if !now.Before(k.end) {
			k.r.Usage = k.meter.Stop()
			k.finish(nil)
			c.Close()
			return
		}
	}
	k.send(c, now)
}

func (k *rttClient) finish(err error) {
	if !k.finished {
		k.finished, k.err = true, err
		close(k.done)
	}
}

func (k *rttClient) Writable(*ustack.EventConn) {}
func (k *rttClient) Closed(_ *ustack.EventConn, err error) {
	if err == nil {
		err = errors.New("connection closed before the run ended")
	}
	k.finish(err)
}

func eventRTT(ctx context.Context, pr *pair, p bench.Params) (*bench.Result, error) {
	if _, err := pr.b.ListenEvents(serverPort, echoAcceptor{}); err != nil {
		return nil, err
	}
	k := &rttClient{p: p, done: make(chan struct{})}
	if _, err := pr.a.DialEvents(pr.server(), k); err != nil {
		return nil, err
	}
	if err := wait(ctx, k.done, p.Warmup+p.Duration+ioTimeout); err != nil {
		return nil, err
	}
	// finish ran on the shard goroutine before done was closed.
	if k.err != nil {
		return nil, k.err
	}
	if k.r.Ops == 0 {
		return nil, errors.New("no round trip completed in the measured window")
	}
	return &k.r, nil
}

// bulkSink counts what arrives and consumes it straight from the view.
type bulkSink struct{ got *atomic.Int64 }

func (s bulkSink) Accept(*ustack.EventConn) ustack.ConnHandler { return s }
func (bulkSink) Established(*ustack.EventConn)                 {}
func (s bulkSink) Readable(c *ustack.EventConn) {
	for {
		v := c.Peek()
		if len(v) == 0 {
			var b [1]byte
			if _, err := c.Read(b[:]); err == io.EOF {
				c.Close()
			}
			return
		}
		s.got.Add(int64(len(v)))
		c.Consume(len(v))
	}
}
func (bulkSink) Writable(*ustack.EventConn)      {}
func (bulkSink) Closed(*ustack.EventConn, error) {}

// bulkSource writes until told to stop, refilling the send buffer each
// time it opens.
type bulkSource struct {
	buf  []byte
	stop atomic.Bool
	err  atomic.Pointer[error]
}

func (s *bulkSource) Established(c *ustack.EventConn) { s.Writable(c) }
func (s *bulkSource) Readable(*ustack.EventConn)      {}
func (s *bulkSource) Writable(c *ustack.EventConn) {
	for !s.stop.Load() {
		n, err := c.Write(s.buf)
		if errors.Is(err, tcp.ErrWouldBlock) {
			return // full: Writable follows
		}
		if err != nil {
			bench.KeepFirst(&s.err, err)
			return
		}
		if n < len(s.buf) {
			return // full: Writable follows
		}
	}
}
func (s *bulkSource) Closed(_ *ustack.EventConn, err error) {
	if err != nil {
		bench.KeepFirst(&s.err, err)
	}
}

func eventBulk(ctx context.Context, pr *pair, p bench.Params) (*bench.Result, error) {
	var got atomic.Int64
	if _, err := pr.b.ListenEvents(serverPort, bulkSink{got: &got}); err != nil {
		return nil, err
	}
	src := &bulkSource{buf: make([]byte, 128<<10)}
	for i := range src.buf {
		src.buf[i] = byte(i)
	}
	if _, err := pr.a.DialEvents(pr.server(), src); err != nil {
		return nil, err
	}
	defer src.stop.Store(true)
	if err := sleep(ctx, p.Warmup); err != nil {
		return nil, err
	}
	var m bench.Meter
	b0 := got.Load()
	m.Start()
	if err := sleep(ctx, p.Duration); err != nil {
		return nil, err
	}
	b1 := got.Load()
	u := m.Stop()
	src.stop.Store(true)
	if e := src.err.Load(); e != nil {
		return nil, *e
	}
	if b1 == b0 {
		return nil, errors.New("no data arrived in the measured window")
	}
	return &bench.Result{Ops: b1 - b0, Usage: u}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cpsServer reads the 1-byte request, answers it and closes.
type cpsServer struct{}

func (cpsServer) Accept(*ustack.EventConn) ustack.ConnHandler { return cpsServer{} }
func (cpsServer) Established(*ustack.EventConn)               {}
func (cpsServer) Readable(c *ustack.EventConn) {
	var b [1]byte
	n, err := c.Read(b[:])
	if n == 1 {
		c.Write(b[:])
		c.Close() // first: TIME-WAIT stays on the server's side
	} else if err != nil && !errors.Is(err, tcp.ErrWouldBlock) {
		c.Close()
	}
}
func (cpsServer) Writable(*ustack.EventConn)      {}
func (cpsServer) Closed(*ustack.EventConn, error) {}

// cpsClient is one connection's client side: send a byte, read the
// answer and the server's FIN, close. One is reused, connection after connection, by one
// client goroutine.
type cpsClient struct {
	b    [1]byte
	got  bool
	done chan error
}

func (k *cpsClient) Established(c *ustack.EventConn) {
	if _, err := c.Write(k.b[:]); err != nil {
		c.Abort()
	}
}
func (k *cpsClient) Readable(c *ustack.EventConn) {
	for {
		n, err := c.Read(k.b[:])
		if n == 1 {
			k.got = true
		}
		if err == io.EOF {
			// The server closed first (TIME-WAIT stays on its side).
			c.Close()
			return
		}
		if errors.Is(err, tcp.ErrWouldBlock) {
			return // the FIN is still on its way
		}
		if n == 0 || err != nil {
			c.Abort()
			return
		}
	}
}
func (k *cpsClient) Writable(*ustack.EventConn) {}
func (k *cpsClient) Closed(_ *ustack.EventConn, err error) {
	if err == nil && !k.got {
		err = errors.New("closed before the answer")
	}
	k.done <- err
}

func eventCPS(ctx context.Context, pr *pair, p bench.Params, clients int) (*bench.Result, error) {
	if _, err := pr.b.ListenEvents(serverPort, cpsServer{}); err != nil {
		return nil, err
	}
	var (
		done, failed atomic.Int64
		measuring    atomic.Bool
		firstErr     atomic.Pointer[error]
	)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := &cpsClient{done: make(chan error, 1)}
			timer := time.NewTimer(ioTimeout)
			defer timer.Stop()
			for cctx.Err() == nil {
				k.got = false
				_, err := pr.a.DialEvents(pr.server(), k)
				if err == nil {
					timer.Reset(ioTimeout)
					select {
					case err = <-k.done:
					case <-timer.C:
						// The handler may still report; a stuck
						// connection fails the rest of this client.
						err = errors.New("connection did not finish in 10 s")
						if measuring.Load() {
							failed.Add(1)
							bench.KeepFirst(&firstErr, err)
						}
						return
					case <-cctx.Done():
						return
					}
				}
				switch {
				case err == nil:
					done.Add(1)
				case cctx.Err() != nil:
					return
				case measuring.Load():
					failed.Add(1)
					bench.KeepFirst(&firstErr, err)
				}
			}
		}()
	}
	shutdown := func() { cancel(); wg.Wait() }
	if err := sleep(ctx, p.Warmup); err != nil {
		shutdown()
		return nil, err
	}
	var m bench.Meter
	measuring.Store(true)
	n0 := done.Load()
	m.Start()
	if err := sleep(ctx, p.Duration); err != nil {
		shutdown()
		return nil, err
	}
	n1 := done.Load()
	u := m.Stop()
	measuring.Store(false)
	shutdown()
	r := &bench.Result{Ops: n1 - n0, Usage: u, Errors: failed.Load()}
	if e := firstErr.Load(); e != nil {
		r.FirstErr = *e
	}
	if r.Ops == 0 {
		if r.FirstErr != nil {
			return nil, r.FirstErr
		}
		return nil, errors.New("no connection completed in the measured window")
	}
	return r, nil
}
