package ustacksys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
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

// The event API's connections-per-second clients are chains of handlers
// on the client stack's shard, as an event-API application would write
// them: no goroutine per client. A connection writes its byte when
// established, reads the answer and the server's FIN, closes, counts
// itself and dials the next connection of its chain from the same
// handler (EventConn.DialEvents) — the point where a net.Conn client's
// Close returns and its loop dials again. Its Closed event (the end of
// LAST-ACK) arrives later and only reports errors.
type cpsChain struct {
	run    *cpsRun
	server netip.AddrPort
	free   []*cpsConn // handlers whose connection has ended
}

// cpsRun is what the chains share with the measuring goroutine.
type cpsRun struct {
	stop      atomic.Bool // set at the end of the run: chains dial no more
	done      atomic.Int64
	failed    atomic.Int64
	measuring atomic.Bool
	firstErr  atomic.Pointer[error]
	ended     chan struct{} // one token per chain that stopped dialing
}

type cpsConn struct {
	ch      *cpsChain
	b       [1]byte
	got     bool // the answer arrived
	counted bool // done or failed already counted
}

// next starts the chain's next connection from c's handler, or ends the
// chain at the end of the run.
func (ch *cpsChain) next(c *ustack.EventConn) {
	if ch.run.stop.Load() {
		ch.run.ended <- struct{}{}
		return
	}
	var k *cpsConn
	if n := len(ch.free); n > 0 {
		k, ch.free = ch.free[n-1], ch.free[:n-1]
		*k = cpsConn{ch: ch}
	} else {
		k = &cpsConn{ch: ch}
	}
	if _, err := c.DialEvents(ch.server, k); err != nil {
		ch.free = append(ch.free, k)
		ch.fail(err)
		ch.run.ended <- struct{}{} // the chain cannot go on
	}
}

func (ch *cpsChain) fail(err error) {
	if ch.run.measuring.Load() {
		ch.run.failed.Add(1)
		bench.KeepFirst(&ch.run.firstErr, err)
	}
}

func (k *cpsConn) Established(c *ustack.EventConn) {
	if _, err := c.Write(k.b[:]); err != nil {
		c.Abort()
	}
}

func (k *cpsConn) Readable(c *ustack.EventConn) {
	for !k.counted {
		n, err := c.Read(k.b[:])
		if n == 1 {
			k.got = true
		}
		if err == io.EOF {
			// The server closed first (TIME-WAIT stays on its side).
			c.Close()
			if !k.got {
				return // Closed reports it
			}
			k.counted = true
			if k.ch.run.measuring.Load() {
				k.ch.run.done.Add(1)
			}
			k.ch.next(c)
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

func (k *cpsConn) Writable(*ustack.EventConn) {}

func (k *cpsConn) Closed(c *ustack.EventConn, err error) {
	ch := k.ch
	if !k.counted {
		if err == nil {
			err = errors.New("closed before the answer")
		}
		k.counted = true
		ch.fail(err)
		ch.next(c)
	}
	ch.free = append(ch.free, k)
}

func eventCPS(ctx context.Context, pr *pair, p bench.Params, clients int) (*bench.Result, error) {
	if _, err := pr.b.ListenEvents(serverPort, cpsServer{}); err != nil {
		return nil, err
	}
	run := &cpsRun{ended: make(chan struct{}, clients)}
	started := 0
	for range clients {
		ch := &cpsChain{run: run, server: pr.server()}
		k := &cpsConn{ch: ch}
		if _, err := pr.a.DialEvents(ch.server, k); err != nil {
			run.stop.Store(true)
			waitChains(run, started)
			return nil, err
		}
		started++
	}
	if err := sleep(ctx, p.Warmup); err != nil {
		run.stop.Store(true)
		waitChains(run, started)
		return nil, err
	}
	var m bench.Meter
	run.measuring.Store(true)
	n0 := run.done.Load()
	m.Start()
	err := sleep(ctx, p.Duration)
	n1 := run.done.Load()
	u := m.Stop()
	run.measuring.Store(false)
	run.stop.Store(true)
	if werr := waitChains(run, started); err == nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	r := &bench.Result{Ops: n1 - n0, Usage: u, Errors: run.failed.Load()}
	if e := run.firstErr.Load(); e != nil {
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

// waitChains waits for n chains to stop dialing after run.stop was set;
// a chain whose connection hangs for ioTimeout is an error.
func waitChains(run *cpsRun, n int) error {
	t := time.NewTimer(ioTimeout)
	defer t.Stop()
	for range n {
		select {
		case <-run.ended:
		case <-t.C:
			return errors.New("a connection did not finish in 10 s")
		}
	}
	return nil
}
