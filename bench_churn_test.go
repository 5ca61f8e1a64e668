package ustack_test

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/impair"
	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/sim"
	"github.com/ustack/ustack/tcp"
)

// Connection churn: open, a 1-byte request and answer, close — the cps
// workloads of `ustack bench`. The server answers and closes first, so
// TIME-WAIT stays on its side, as in internal/bench/ustacksys.

// cpsEchoServer reads the request, answers it and closes.
type cpsEchoServer struct{}

func (cpsEchoServer) Accept(*ustack.EventConn) ustack.ConnHandler { return cpsEchoServer{} }
func (cpsEchoServer) Established(*ustack.EventConn)               {}
func (cpsEchoServer) Readable(c *ustack.EventConn) {
	var b [1]byte
	n, err := c.Read(b[:])
	if n == 1 {
		c.Write(b[:])
		c.Close()
	} else if err != nil && !errors.Is(err, tcp.ErrWouldBlock) {
		c.Close()
	}
}
func (cpsEchoServer) Writable(*ustack.EventConn)      {}
func (cpsEchoServer) Closed(*ustack.EventConn, error) {}

// cpsClient is one connection's client side, reused connection after
// connection: send a byte, read the answer and the FIN, close.
type cpsClient struct {
	b     [1]byte
	got   bool
	err   error
	ended bool
	done  chan error // nil: record in ended/err only (simulation)
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
			c.Close()
			return
		}
		if errors.Is(err, tcp.ErrWouldBlock) {
			return
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
	k.err, k.ended = err, true
	if k.done != nil {
		k.done <- err
	}
}

// BenchmarkEventConnChurn opens, exchanges one byte on and closes one
// connection per iteration through the event API, between two running
// stacks over link/mem (the cps-1 workload). It reports conns/s; allocs/op
// are both stacks' allocations per connection.
func BenchmarkEventConnChurn(b *testing.B) {
	sa, sb := benchPair(b, shard.Adaptive)
	if _, err := sb.ListenEvents(7, cpsEchoServer{}); err != nil {
		b.Fatal(err)
	}
	raddr := netip.MustParseAddrPort("10.0.0.2:7")
	k := &cpsClient{done: make(chan error, 1)}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		k.got = false
		if _, err := sa.DialEvents(raddr, k); err != nil {
			b.Fatal(err)
		}
		if err := <-k.done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "conns/s")
}

// churnSim is two Manual stacks on a lossless simulated link, for measuring
// a connection's own cost (CPU and allocations) without goroutine
// scheduling: one goroutine steps both stacks on virtual time.
type churnSim struct {
	w      *sim.World
	a, b   *ustack.Stack
	pa, pb *sim.Port
	raddr  netip.AddrPort
	k      cpsClient
}

func newChurnSim(tb testing.TB) *churnSim {
	tb.Helper()
	w := sim.New(1)
	pa, pb := w.Link(impair.Config{}, impair.Config{}, sim.WithPoolConfig(link.PoolConfig{Count: 4096}))
	n := &churnSim{w: w, pa: pa, pb: pb, raddr: netip.MustParseAddrPort("10.0.0.2:7")}
	var err error
	n.a, err = ustack.New(ustack.Config{Link: pa, Addr: netip.MustParsePrefix("10.0.0.1/24"), Clock: w.Clock(), Manual: true,
		Rand: rand.NewChaCha8(seedBytes(1, 1))})
	if err != nil {
		tb.Fatal(err)
	}
	n.b, err = ustack.New(ustack.Config{Link: pb, Addr: netip.MustParsePrefix("10.0.0.2/24"), Clock: w.Clock(), Manual: true,
		Rand: rand.NewChaCha8(seedBytes(1, 2))})
	if err != nil {
		tb.Fatal(err)
	}
	w.AddHost(n.a, pa)
	w.AddHost(n.b, pb)
	tb.Cleanup(func() { w.Close(); n.a.Close(); n.b.Close() })
	if _, err := n.b.ListenEvents(7, cpsEchoServer{}); err != nil {
		tb.Fatal(err)
	}
	return n
}

// one runs one connection to its end (Closed on the client).
func (n *churnSim) one(tb testing.TB) {
	n.k.got, n.k.ended, n.k.err = false, false, nil
	if _, err := n.a.DialEvents(n.raddr, &n.k); err != nil {
		tb.Fatal(err)
	}
	if !n.w.RunUntil(func() bool { return n.k.ended }, time.Second) {
		tb.Fatal("connection did not finish in 1 s of virtual time")
	}
	if n.k.err != nil {
		tb.Fatal(n.k.err)
	}
	// Let the server see the client's last ACK.
	n.w.RunFor(time.Millisecond)
}

// BenchmarkEventConnChurnSim is BenchmarkEventConnChurn on the simulator:
// the CPU and allocations of one connection's life on both stacks, free of
// scheduling noise. TIME-WAIT entries accumulate on the server as they do
// in the real-time run (one per connection, 60 s of virtual time each).
func BenchmarkEventConnChurnSim(b *testing.B) {
	n := newChurnSim(b)
	for range 100 {
		n.one(b)
	}
	b.ReportAllocs()
	for b.Loop() {
		n.one(b)
	}
}

// BenchmarkConnChurn is BenchmarkEventConnChurn through net.Listener and
// net.Conn (the ustack-conn cps-1 workload): a goroutine per accepted
// connection on the server, the client dials, writes, reads the answer
// and the EOF, and closes.
func BenchmarkConnChurn(b *testing.B) {
	sa, sb := benchPair(b, shard.Adaptive)
	ln, err := sb.Listen("tcp4", "10.0.0.2:7")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go echoOne(ln, 0, nil)
	b.ReportAllocs()
	start := time.Now()
	var one [1]byte
	for b.Loop() {
		c, err := sa.Dial("tcp4", "10.0.0.2:7")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(one[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, one[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(one[:]); err != io.EOF {
			b.Fatalf("after the answer: %v, want EOF", err)
		}
		c.Close()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "conns/s")
}

// A connection's whole life through the event API (both ends, on the
// simulator) allocates only the glue's endpoint on each side: send
// buffers come from the shard's cache, the congestion controller lives in
// the Conn, the client's Conn, CLOSED at the end, is recycled for the next
// dial, the server's goes back to the cache when it enters TIME-WAIT (a
// compact record keeps that, in storage allocated a chunk at a time), and
// DialEvents reuses its request.
func TestAllocsEventConnChurn(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	n := newChurnSim(t)
	for range 20 {
		n.one(t)
	}
	const want = 2 // 2 endpoints
	if a := testing.AllocsPerRun(50, func() { n.one(t) }); a > want {
		t.Fatalf("%.1f allocations per connection, want at most %d", a, want)
	}
}

// staleProbe is a client that, once established, pokes the handle of an
// earlier connection whose Conn was recycled (possibly into this one).
type staleProbe struct {
	cpsClient
	s      *ustack.Stack
	stale  *ustack.EventConn
	errs   []error
	cached int // Conns in the cache once this one was made
}

func (k *staleProbe) Established(c *ustack.EventConn) {
	k.cached = ustack.CachedConns(k.s)
	if _, err := k.stale.Write([]byte("x")); err == nil {
		k.errs = append(k.errs, errors.New("Write on a dead EventConn succeeded"))
	}
	if _, err := k.stale.Read(make([]byte, 1)); err == nil {
		k.errs = append(k.errs, errors.New("Read on a dead EventConn succeeded"))
	}
	k.stale.Close()
	k.stale.Abort()
	k.stale.CloseWrite()
	k.stale.SetNoDelay(false)
	if k.stale.Buffered() != 0 || k.stale.Peek() != nil {
		k.errs = append(k.errs, errors.New("a dead EventConn shows data"))
	}
	k.cpsClient.Established(c)
}

// A handle kept past Closed stays dead when its connection's memory is
// reused: its calls fail or do nothing, and the connection now living in
// that memory completes its exchange untouched.
func TestEventConnRecycledHandleStaysDead(t *testing.T) {
	n := newChurnSim(t)
	first, err := n.a.DialEvents(n.raddr, &n.k)
	if err != nil {
		t.Fatal(err)
	}
	if !n.w.RunUntil(func() bool { return n.k.ended }, time.Second) || n.k.err != nil {
		t.Fatalf("first connection: ended %v, %v", n.k.ended, n.k.err)
	}
	n.w.RunFor(time.Millisecond)
	laddr := first.LocalAddr()
	for i := range 3 {
		if c := ustack.CachedConns(n.a); c != 1 {
			t.Fatalf("before connection %d: %d Conns cached, want 1 (the last one's)", i+2, c)
		}
		k := &staleProbe{s: n.a, stale: first}
		second, err := n.a.DialEvents(n.raddr, k)
		if err != nil {
			t.Fatal(err)
		}
		if !n.w.RunUntil(func() bool { return k.ended }, time.Second) {
			t.Fatalf("connection %d did not finish", i+2)
		}
		if k.err != nil {
			t.Fatalf("connection %d: %v", i+2, k.err)
		}
		for _, e := range k.errs {
			t.Error(e)
		}
		if k.cached != 0 {
			t.Fatalf("connection %d did not reuse the cached Conn", i+2)
		}
		if first.LocalAddr() != laddr || second.LocalAddr() == laddr {
			t.Fatalf("addresses: first %v (was %v), second %v", first.LocalAddr(), laddr, second.LocalAddr())
		}
		n.w.RunFor(time.Millisecond)
	}
}

// Stack.DialEvents from a goroutine, against a running stack, allocates
// nothing of its own once warm: the request is reused. What remains is
// the shard's: the endpoint (its Conn comes from the cache, as the
// refused connection before it gave its Conn back).
func TestAllocsDialEventsRunning(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	sa, _ := benchPair(t, shard.Adaptive)
	raddr := netip.MustParseAddrPort("10.0.0.2:9") // nobody listens: refused
	k := &cpsClient{done: make(chan error, 1)}
	dial := func() {
		if _, err := sa.DialEvents(raddr, k); err != nil {
			t.Fatal(err)
		}
		if err := <-k.done; err == nil {
			t.Fatal("a dial to a closed port succeeded")
		}
	}
	for range 20 {
		dial()
	}
	if a := testing.AllocsPerRun(50, dial); a > 1 {
		t.Fatalf("%.1f allocations per DialEvents, want at most 1 (the endpoint)", a)
	}
}

// A connection's whole life through net.Listener and net.Conn (Dial,
// Accept with a goroutine per accepted connection, a 1-byte exchange with
// deadlines set, Close; both ends, running stacks over link/mem) allocates
// little beyond what the event API does: each side's TCPConn (its
// endpoint inside), the dialer's channel to sleep on, the server's
// goroutine closure, and, when a Read must sleep, that direction's
// channel. The Conns go back to the shards' caches once closed (the
// server's at TIME-WAIT), LocalAddr and RemoteAddr are made on demand,
// and deadlines make no timer unless a call blocks past the busy poll.
func TestAllocsConnChurn(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	sa, sb := benchPair(t, shard.Adaptive)
	ln, err := sb.Listen("tcp4", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go echoOne(ln, 10*time.Second, served)
	var one [1]byte
	cycle := func() {
		c, err := sa.Dial("tcp4", "10.0.0.2:7")
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(one[:]); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, one[:]); err != nil {
			t.Fatal(err)
		}
		if n, err := c.Read(one[:]); n != 0 || err != io.EOF {
			t.Fatalf("after the answer: %d, %v, want EOF", n, err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-served; err != nil {
			t.Fatal(err)
		}
	}
	for range 200 {
		cycle()
	}
	// 2 TCPConns, the Dial's channel, the server goroutine's closure,
	// and the client's blocking Read's channel: 5 (48 before the
	// TCPConn's channels, timers, addresses, tasks and endpoint were made
	// lazily or folded into it, and its Conn recycled).
	const want = 5.5
	a := testing.AllocsPerRun(500, cycle)
	t.Logf("%.2f allocations per connection", a)
	if a > want {
		t.Fatalf("%.2f allocations per connection, want at most %.1f", a, want)
	}
}

// echoOne accepts connections on ln until it is closed and, on a goroutine
// per connection (as net servers do), answers a 1-byte request and closes.
// With a non-zero timeout each connection gets that deadline; each
// connection's outcome goes to served unless it is nil.
func echoOne(ln net.Listener, timeout time.Duration, served chan<- error) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			if timeout > 0 {
				c.SetDeadline(time.Now().Add(timeout))
			}
			var one [1]byte
			_, err := io.ReadFull(c, one[:])
			if err == nil {
				_, err = c.Write(one[:])
			}
			if cerr := c.Close(); err == nil {
				err = cerr
			}
			if served != nil {
				served <- err
			}
		}()
	}
}
