package ustack_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/impair"
	"github.com/ustack/ustack/sim"
)

// simNet is two stacks on one simulated, impaired path, driven on virtual
// time by the simulator (Config.Manual).
type simNet struct {
	w      *sim.World
	pa, pb *sim.Port
	a, b   *ustack.Stack
}

func newSimNet(t *testing.T, seed uint64, ab, ba impair.Config) *simNet {
	t.Helper()
	return newSimNetWith(t, seed, ab, ba, nil, nil)
}

// newSimNetWith is newSimNet with each stack's link wrapped by wrap (nil:
// the sim port itself) and its Config adjusted by tweak (nil: none); host
// is 1 for the client side and 2 for the server side.
func newSimNetWith(t *testing.T, seed uint64, ab, ba impair.Config, wrap func(*sim.Port) link.Link, tweak func(host byte, c *ustack.Config)) *simNet {
	t.Helper()
	w := sim.New(seed)
	pa, pb := w.Link(ab, ba, sim.WithPoolConfig(link.PoolConfig{Count: 16384}))
	n := &simNet{w: w, pa: pa, pb: pb}
	mk := func(p *sim.Port, addr string, host byte) *ustack.Stack {
		var l link.Link = p
		if wrap != nil {
			l = wrap(p)
		}
		cfg := ustack.Config{Link: l, Addr: netip.MustParsePrefix(addr), Clock: w.Clock(), Manual: true,
			Rand: rand.NewChaCha8(seedBytes(seed, host))}
		if tweak != nil {
			tweak(host, &cfg)
		}
		s, err := ustack.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		w.AddHost(s, p)
		return s
	}
	n.a = mk(pa, "10.0.0.1/24", 1)
	n.b = mk(pb, "10.0.0.2/24", 2)
	return n
}

// seedBytes makes a ChaCha8 seed from a simulation seed and a host number,
// so each host's secrets are fixed by the seed.
func seedBytes(seed uint64, host byte) (b [32]byte) {
	for i := range 8 {
		b[i] = byte(seed >> (8 * i))
	}
	b[8] = host
	return b
}

// bulk sends total bytes of a seeded stream and hashes what it receives;
// it half-closes after sending and closes after the peer's FIN.
type bulk struct {
	total    int64
	pattern  []byte
	sent     int64
	recvd    int64
	rx       hash.Hash
	buf      []byte
	eof      bool
	closed   bool
	err      error
	shutdown bool
}

func newBulk(total int64, seed uint64) *bulk {
	p := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return &bulk{total: total, pattern: p, rx: sha256.New(), buf: make([]byte, 64<<10)}
}

// streamHash is the hash of the stream a bulk with this pattern sends.
func (k *bulk) streamHash() [32]byte {
	h := sha256.New()
	for left := k.total; left > 0; {
		n := min(left, int64(len(k.pattern)))
		h.Write(k.pattern[:n])
		left -= n
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func (k *bulk) rxHash() (out [32]byte) { k.rx.Sum(out[:0]); return }

func (k *bulk) Established(c *ustack.EventConn) { k.Writable(c) }
func (k *bulk) Writable(c *ustack.EventConn) {
	for k.sent < k.total {
		off := k.sent % int64(len(k.pattern))
		end := min(int64(len(k.pattern)), off+(k.total-k.sent))
		n, err := c.Write(k.pattern[off:end])
		k.sent += int64(n)
		if err != nil || n == 0 {
			return
		}
	}
	if !k.shutdown {
		k.shutdown = true
		c.CloseWrite()
	}
}
func (k *bulk) Readable(c *ustack.EventConn) {
	for {
		n, err := c.Read(k.buf)
		k.rx.Write(k.buf[:n])
		k.recvd += int64(n)
		if err == io.EOF {
			k.eof = true
			if k.shutdown {
				c.Close()
			}
			return
		}
		if err != nil || n == 0 {
			return
		}
	}
}
func (k *bulk) Closed(c *ustack.EventConn, err error) { k.closed, k.err = true, err }

type oneAcceptor struct{ h ustack.ConnHandler }

func (a oneAcceptor) Accept(*ustack.EventConn) ustack.ConnHandler { return a.h }

// lossyPath is the impaired path of the issue: 2% loss, 5% reordering, 1%
// duplication, 0.1% corruption, over 5 ms of delay at 100 Mbit/s.
func lossyPath() impair.Config {
	return impair.Config{
		Delay: 5 * time.Millisecond, Rate: 100_000_000, QueueLimit: 512 << 10,
		Loss: 0.02, Reorder: 0.05, Duplicate: 0.01, Corrupt: 0.001,
	}
}

// runBidirectional moves total bytes each way at once between the two
// stacks; blackout, if non-zero, cuts the path both ways for that long
// once the client has received half its data.
func runBidirectional(t *testing.T, n *simNet, total int64, blackout time.Duration) {
	t.Helper()
	server := newBulk(total, 1)
	client := newBulk(total, 2)
	if _, err := n.b.ListenEvents(5001, oneAcceptor{server}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.a.DialEvents(netip.MustParseAddrPort("10.0.0.2:5001"), client); err != nil {
		t.Fatal(err)
	}
	done := func() bool { return client.closed && server.closed }
	limit := 2 * time.Hour
	if blackout > 0 {
		if !n.w.RunUntil(func() bool { return client.recvd >= total/2 || done() }, limit) {
			t.Fatalf("half the data did not arrive in %v virtual", limit)
		}
		n.pa.SetDown(true)
		n.pb.SetDown(true)
		start := n.w.Now()
		n.w.RunFor(blackout)
		n.pa.SetDown(false)
		n.pb.SetDown(false)
		t.Logf("blackout %v from %v; client had %d of %d bytes", blackout, start, client.recvd, total)
	}
	if !n.w.RunUntil(done, limit) {
		t.Fatalf("transfer did not finish in %v virtual: client sent %d recvd %d closed %v; server sent %d recvd %d closed %v",
			limit, client.sent, client.recvd, client.closed, server.sent, server.recvd, server.closed)
	}
	for name, k := range map[string]*bulk{"client": client, "server": server} {
		if k.err != nil {
			t.Errorf("%s closed with %v", name, k.err)
		}
		if k.recvd != total || !k.eof {
			t.Errorf("%s received %d bytes (EOF %v), want %d", name, k.recvd, k.eof, total)
		}
	}
	if client.rxHash() != server.streamHash() || server.rxHash() != client.streamHash() {
		t.Fatal("received bytes differ from the bytes sent")
	}
	sa, _ := n.a.TCPStats()
	sb, _ := n.b.TCPStats()
	t.Logf("virtual time %v; client retrans %d, timeouts %d, csum drops %d; server retrans %d, timeouts %d, csum drops %d",
		n.w.Now(), sa.Counters.RetransSegs, sa.Counters.TCPTimeouts, sa.InCsumErrors,
		sb.Counters.RetransSegs, sb.Counters.TCPTimeouts, sb.InCsumErrors)
	if ia, ib := n.pa.Impair(), n.pb.Impair(); ia.Corrupted+ib.Corrupted == 0 || ia.LossDrops+ib.LossDrops == 0 || ia.Reordered+ib.Reordered == 0 || ia.Duplicated+ib.Duplicated == 0 {
		t.Errorf("the path impaired nothing (%+v / %+v): the test did not test", ia, ib)
	}
}

func TestSimBidirectionalLossyPath(t *testing.T) {
	total := int64(64 << 20)
	if testing.Short() {
		total = 4 << 20
	}
	n := newSimNet(t, 42, lossyPath(), lossyPath())
	runBidirectional(t, n, total, 0)
}

func TestSimBlackoutRecovers(t *testing.T) {
	total := int64(64 << 20)
	if testing.Short() {
		total = 4 << 20
	}
	n := newSimNet(t, 7, lossyPath(), lossyPath())
	runBidirectional(t, n, total, 30*time.Second)
}

// churnClient sends size bytes, half-closes, reads to EOF and closes.
type churnClient struct {
	size   int
	sent   int
	buf    [512]byte
	done   *int
	failed *int
}

func (k *churnClient) Established(c *ustack.EventConn) { k.Writable(c) }
func (k *churnClient) Writable(c *ustack.EventConn) {
	for k.sent < k.size {
		n, _ := c.Write(k.buf[:min(len(k.buf), k.size-k.sent)])
		if n == 0 {
			return
		}
		k.sent += n
	}
	c.CloseWrite()
}
func (k *churnClient) Readable(c *ustack.EventConn) {
	for {
		_, err := c.Read(k.buf[:])
		if err == io.EOF {
			c.Close()
			return
		}
		if err != nil {
			return
		}
	}
}
func (k *churnClient) Closed(c *ustack.EventConn, err error) {
	*k.done++
	if err != nil {
		*k.failed++
	}
}

// churnServer reads to EOF, answers with a few bytes and closes.
type churnServer struct{ buf [2048]byte }

func (s *churnServer) Accept(*ustack.EventConn) ustack.ConnHandler { return s }
func (s *churnServer) Established(*ustack.EventConn)               {}
func (s *churnServer) Writable(*ustack.EventConn)                  {}
func (s *churnServer) Readable(c *ustack.EventConn) {
	for {
		_, err := c.Read(s.buf[:])
		if errors.Is(err, io.EOF) {
			c.Write([]byte("bye"))
			c.Close()
			return
		}
		if err != nil {
			return
		}
	}
}
func (s *churnServer) Closed(*ustack.EventConn, error) {}

// 1000 connections open, move data and close, 50 at a time, over a lossy
// path; afterwards nothing is left: no connection (once TIME-WAIT has
// run out) and every frame buffer back in its pool.
func TestSimConnectionChurnLeavesNoState(t *testing.T) {
	conns := 1000
	if testing.Short() {
		conns = 200
	}
	path := impair.Config{Delay: time.Millisecond, Loss: 0.01}
	n := newSimNet(t, 3, path, path)
	if _, err := n.b.ListenEvents(80, &churnServer{}); err != nil {
		t.Fatal(err)
	}
	var started, done, failed int
	for started < conns || done < started {
		for started < conns && started-done < 50 {
			k := &churnClient{size: 1 + started*37%3000, done: &done, failed: &failed}
			if _, err := n.a.DialEvents(netip.MustParseAddrPort("10.0.0.2:80"), k); err != nil {
				t.Fatalf("dial %d: %v", started, err)
			}
			started++
		}
		before := done
		if !n.w.RunUntil(func() bool { return done > before }, 30*time.Minute) {
			t.Fatalf("no connection finished in 30 min virtual (%d of %d done)", done, conns)
		}
	}
	if failed != 0 {
		t.Errorf("%d of %d connections ended in error", failed, conns)
	}
	sa, _ := n.a.TCPStats()
	t.Logf("after churn: client table %d (TIME-WAIT %d), opens %d", sa.Conns, sa.TimeWait, sa.Counters.ActiveOpens)
	if sa.Counters.ActiveOpens != uint64(conns) {
		t.Errorf("ActiveOpens = %d, want %d", sa.Counters.ActiveOpens, conns)
	}
	// TIME-WAIT (60 s) and FIN-WAIT-2 bounds run out; retransmissions end.
	n.w.RunFor(5 * time.Minute)
	for name, s := range map[string]*ustack.Stack{"client": n.a, "server": n.b} {
		st, err := s.TCPStats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Conns != 0 || st.TimeWait != 0 {
			t.Errorf("%s: %d connections (%d TIME-WAIT) left after the churn", name, st.Conns, st.TimeWait)
		}
		if st.Counters.CurrEstab != 0 {
			t.Errorf("%s: CurrEstab = %d", name, st.Counters.CurrEstab)
		}
	}
	if a, b := n.pa.Pool().InUse(), n.pb.Pool().InUse(); a != 0 || b != 0 {
		t.Errorf("frame buffers not returned: %d and %d in use", a, b)
	}
}

// A blackout can catch either side at any point of recovery; sweep seeds
// so that each run lands the blackout in a different state. Two senders
// rewound by RTO at once once deadlocked here.
func TestSimBlackoutSeeds(t *testing.T) {
	seeds := uint64(8)
	if testing.Short() {
		seeds = 2
	}
	for seed := uint64(100); seed < 100+seeds; seed++ {
		n := newSimNet(t, seed, lossyPath(), lossyPath())
		runBidirectional(t, n, 8<<20, 30*time.Second)
	}
}

// With the stacks' secrets drawn from a seeded source, a run is
// reproducible bit for bit: the same seed ends at the same virtual instant
// with the same counters.
func TestSimReproducible(t *testing.T) {
	run := func(seed uint64) (time.Duration, ustack.TCPStats) {
		n := newSimNet(t, seed, lossyPath(), lossyPath())
		runBidirectional(t, n, 2<<20, 0)
		st, err := n.a.TCPStats()
		if err != nil {
			t.Fatal(err)
		}
		return n.w.Now(), st
	}
	t1, s1 := run(9)
	t2, s2 := run(9)
	if t1 != t2 || s1 != s2 {
		t.Fatalf("same seed, different runs:\n%v %+v\n%v %+v", t1, s1, t2, s2)
	}
	if t3, s3 := run(10); t3 == t1 && s3 == s1 {
		t.Fatal("a different seed gave the identical run")
	}
}

// lazyServer never reads: what arrives stays queued on the connection.
type lazyServer struct{ closed, gotErr *bool }

func (s lazyServer) Accept(*ustack.EventConn) ustack.ConnHandler { return s }
func (s lazyServer) Established(*ustack.EventConn)               {}
func (s lazyServer) Readable(*ustack.EventConn)                  {}
func (s lazyServer) Writable(*ustack.EventConn)                  {}
func (s lazyServer) Closed(_ *ustack.EventConn, err error)       { *s.closed, *s.gotErr = true, err != nil }

type resetter struct{ c *ustack.EventConn }

func (r *resetter) Established(c *ustack.EventConn) {
	r.c = c
	c.Write(make([]byte, 20000))
}
func (r *resetter) Readable(*ustack.EventConn)      {}
func (r *resetter) Writable(*ustack.EventConn)      {}
func (r *resetter) Closed(*ustack.EventConn, error) {}

// Data queued on a connection that is reset before it is read goes back to
// the pool when the connection is dropped; nothing is left in the tables.
func TestSimResetWithUnreadDataFreesBuffers(t *testing.T) {
	n := newSimNet(t, 5, impair.Config{Delay: time.Millisecond}, impair.Config{Delay: time.Millisecond})
	var closed, gotErr bool
	if _, err := n.b.ListenEvents(80, lazyServer{&closed, &gotErr}); err != nil {
		t.Fatal(err)
	}
	r := &resetter{}
	if _, err := n.a.DialEvents(netip.MustParseAddrPort("10.0.0.2:80"), r); err != nil {
		t.Fatal(err)
	}
	n.w.RunFor(time.Second) // the 20000 bytes arrive and wait unread
	if r.c == nil {
		t.Fatal("not connected")
	}
	if n.pb.Pool().InUse()+n.pa.Pool().InUse() == 0 {
		t.Fatal("no frame buffers held: the data was not queued unread")
	}
	n.a.Exec(context.Background(), func() { r.c.Abort() })
	n.w.RunFor(time.Second)
	if !closed || !gotErr {
		sa, _ := n.a.TCPStats()
		sb, _ := n.b.TCPStats()
		t.Logf("client %+v\nserver %+v\nclient info %+v", sa, sb, r.c.Info())
		t.Fatalf("server closed=%v with error=%v; want a reset", closed, gotErr)
	}
	for name, s := range map[string]*ustack.Stack{"client": n.a, "server": n.b} {
		if st, _ := s.TCPStats(); st.Conns != 0 {
			t.Errorf("%s: %d connections left", name, st.Conns)
		}
	}
	if a, b := n.pa.Pool().InUse(), n.pb.Pool().InUse(); a != 0 || b != 0 {
		t.Fatalf("frame buffers not returned after the reset: %d and %d in use", a, b)
	}
}

// The TIME-WAIT table is bounded (Config.MaxTimeWait): past the bound a
// closing connection is forgotten at once and counted, as Linux does past
// tcp_max_tw_buckets; the connections themselves still complete.
func TestSimTimeWaitTableBounded(t *testing.T) {
	path := impair.Config{Delay: time.Millisecond}
	// The client closes second: its side keeps TIME-WAIT, bounded to 5.
	n := newSimNetWith(t, 11, path, path, nil, func(host byte, c *ustack.Config) {
		if host == 1 {
			c.MaxTimeWait = 5
		}
	})
	w, a, b := n.w, n.a, n.b
	if _, err := b.ListenEvents(80, &churnServer{}); err != nil {
		t.Fatal(err)
	}
	var done, failed int
	for i := 0; i < 20; i++ {
		k := &churnClient{size: 100, done: &done, failed: &failed}
		if _, err := a.DialEvents(netip.MustParseAddrPort("10.0.0.2:80"), k); err != nil {
			t.Fatal(err)
		}
	}
	if !w.RunUntil(func() bool { return done == 20 }, time.Minute) {
		t.Fatalf("%d of 20 connections finished", done)
	}
	w.RunFor(time.Second)
	st, err := a.TCPStats()
	if err != nil {
		t.Fatal(err)
	}
	if failed != 0 {
		t.Errorf("%d connections failed", failed)
	}
	if st.TimeWait > 5 || st.TimeWaitDrop == 0 || st.TimeWait+int(st.TimeWaitDrop) != 20 {
		t.Fatalf("TIME-WAIT %d, dropped %d: want at most 5 kept and the other %d dropped", st.TimeWait, st.TimeWaitDrop, 20-st.TimeWait)
	}
}
