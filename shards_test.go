package ustack_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/tcp"
)

// shardedPair makes two stacks of n shards each, joined queue for queue
// by link/mem queues (opts go to mem.NewQueues). It returns the stacks and
// every queue, for leak checks after Close.
func shardedPair(t *testing.T, n int, opts ...mem.Option) (a, b *ustack.Stack, qa, qb []*mem.Link) {
	t.Helper()
	qa, qb, err := mem.NewQueues(n, opts...)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(q []*mem.Link, addr string) *ustack.Stack {
		more := make([]link.Link, 0, n-1)
		for _, l := range q[1:] {
			more = append(more, l)
		}
		s, err := ustack.New(ustack.Config{
			Link: q[0], Queues: more, Addr: netip.MustParsePrefix(addr),
			Polling: shard.Interrupt,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b = mk(qa, "10.0.0.1/24"), mk(qb, "10.0.0.2/24")
	t.Cleanup(func() {
		_ = a.Close()
		_ = b.Close()
	})
	return a, b, qa, qb
}

// closeAndCheckPools closes both stacks and requires every buffer of every
// queue's pool back: nothing handed between shards was lost.
func closeAndCheckPools(t *testing.T, a, b *ustack.Stack, queues ...[]*mem.Link) {
	t.Helper()
	if err := a.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	for _, q := range queues {
		for i, l := range q {
			if n := l.Pool().InUse(); n != 0 {
				t.Errorf("queue %d: %d buffers still in use after Close", i, n)
			}
		}
	}
}

// serveEcho accepts on ln and echoes every connection until EOF.
func serveEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
	}
}

// echoMany runs conns clients against addr, each writing size bytes and
// reading them back, all at once, and fails on any difference.
func echoMany(t *testing.T, client *ustack.Stack, addr string, conns, size int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := client.DialContext(ctx, "tcp", addr)
			if err != nil {
				errs <- fmt.Errorf("dial %d: %w", i, err)
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			msg := bytes.Repeat([]byte{byte(i), byte(i >> 8), 0x5a}, size/3+1)[:size]
			go func() { _, _ = c.Write(msg) }()
			got := make([]byte, size)
			if _, err := io.ReadFull(c, got); err != nil {
				errs <- fmt.Errorf("conn %d: read: %w", i, err)
				return
			}
			if !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("conn %d: echo differs", i)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Two shards per stack over link/mem queues that steer by the same flow
// hash the stack uses: connections spread over both shards, each handled
// on both ends by shards of the same index, and no frame ever crosses
// between shards.
func TestShardsSpreadConnections(t *testing.T) {
	a, b, qa, qb := shardedPair(t, 2)
	if a.Shards() != 2 || b.Shards() != 2 {
		t.Fatalf("Shards() = %d, %d; want 2", a.Shards(), b.Shards())
	}
	ln, err := b.Listen("tcp", ":7000")
	if err != nil {
		t.Fatal(err)
	}
	go serveEcho(ln)
	const conns = 64
	echoMany(t, a, "10.0.0.2:7000", conns, 20000)
	_ = ln.Close()

	for _, s := range []*ustack.Stack{a, b} {
		st, err := s.TCPStats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Handoffs != 0 {
			t.Errorf("%d frames handed between shards; the link steers every flow to its owner", st.Handoffs)
		}
	}
	ca, _ := a.TCPStats()
	cb, _ := b.TCPStats()
	if ca.Counters.ActiveOpens != conns || cb.Counters.PassiveOpens != conns {
		t.Errorf("ActiveOpens %d, PassiveOpens %d; want %d", ca.Counters.ActiveOpens, cb.Counters.PassiveOpens, conns)
	}
	// Both shards of the server accepted connections, and each
	// connection was opened by the client shard of the same index.
	per, err := b.ShardTCPStats()
	if err != nil {
		t.Fatal(err)
	}
	cper, err := a.ShardTCPStats()
	if err != nil {
		t.Fatal(err)
	}
	for i := range per {
		if per[i].Counters.PassiveOpens == 0 {
			t.Errorf("server shard %d accepted no connection", i)
		}
		if per[i].Counters.PassiveOpens != cper[i].Counters.ActiveOpens {
			t.Errorf("shard %d: %d accepted, %d dialed by the client's shard %d", i, per[i].Counters.PassiveOpens, cper[i].Counters.ActiveOpens, i)
		}
	}
	// The frames each queue received say so too (SYNs, data and ACKs
	// of its own flows).
	for i, q := range qb {
		if st := q.Stats(); st.RxFrames < conns/4 {
			t.Errorf("server queue %d received only %d frames: connections did not spread", i, st.RxFrames)
		}
	}
	closeAndCheckPools(t, a, b, qa, qb)
}

// A link that steers every TCP flow to the wrong queue (as a NIC with its
// own hash key would for some) still works: each frame is handed to the
// shard that owns its connection, and ARP replies reach every shard.
func TestShardsSoftwareSteering(t *testing.T) {
	wrong := func(f []byte, n int) int { return (link.SteerQueue(f, n) + 1) % n }
	a, b, qa, qb := shardedPair(t, 2, mem.WithSteer(wrong))
	ln, err := b.Listen("tcp", ":7001")
	if err != nil {
		t.Fatal(err)
	}
	go serveEcho(ln)
	echoMany(t, a, "10.0.0.2:7001", 16, 50000)
	_ = ln.Close()
	for name, s := range map[string]*ustack.Stack{"client": a, "server": b} {
		st, err := s.TCPStats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Handoffs == 0 {
			t.Errorf("%s: no frame handed between shards, though the link steers every one wrong", name)
		}
		if st.HandoffDrops != 0 {
			t.Errorf("%s: %d handed frames dropped", name, st.HandoffDrops)
		}
	}
	closeAndCheckPools(t, a, b, qa, qb)
}

// net/http runs unchanged on stacks of four shards.
func TestShardsHTTP(t *testing.T) {
	a, b, qa, qb := shardedPair(t, 4)
	ln, err := b.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("ustack "), 10000)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(ln) }()
	tr := &http.Transport{DialContext: a.DialContext, MaxIdleConnsPerHost: 4}
	cl := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				resp, err := cl.Get("http://10.0.0.2/")
				if err != nil {
					t.Error(err)
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !bytes.Equal(got, body) {
					t.Errorf("GET: %d bytes, %v", len(got), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	closeAndCheckPools(t, a, b, qa, qb)
}

// The event API on several shards: the Acceptor runs on the shard each
// connection belongs to, DialEvents spreads over the client's shards, and
// ExecOn reaches a connection from outside its handlers.
func TestShardsEvents(t *testing.T) {
	a, b, qa, qb := shardedPair(t, 2)
	srv := &evEcho{}
	el, err := b.ListenEvents(7002, srv)
	if err != nil {
		t.Fatal(err)
	}
	const conns = 32
	cl := &evClient{done: make(chan string, conns)}
	ecs := make([]*ustack.EventConn, 0, conns)
	for i := 0; i < conns; i++ {
		ec, err := a.DialEvents(netip.MustParseAddrPort("10.0.0.2:7002"), cl)
		if err != nil {
			t.Fatal(err)
		}
		ecs = append(ecs, ec)
	}
	for i := 0; i < conns; i++ {
		select {
		case got := <-cl.done:
			if got != "hello" {
				t.Fatalf("echo %q", got)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d of %d echoes", i, conns)
		}
	}
	for _, ec := range ecs {
		if err := a.ExecOn(context.Background(), ec, ec.Close); err != nil {
			t.Fatal(err)
		}
	}
	if err := el.Close(); err != nil {
		t.Fatal(err)
	}
	for i, q := range qa {
		if q.Stats().TxFrames == 0 {
			t.Errorf("client queue %d sent nothing: DialEvents did not spread", i)
		}
	}
	closeAndCheckPools(t, a, b, qa, qb)
}

// evEcho echoes what each connection sends (it runs on several shards at
// once: it keeps no state of its own).
type evEcho struct{}

func (*evEcho) Accept(c *ustack.EventConn) ustack.ConnHandler { return evEchoConn{} }

type evEchoConn struct{}

func (evEchoConn) Established(*ustack.EventConn) {}
func (evEchoConn) Readable(c *ustack.EventConn) {
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if n > 0 {
		_, _ = c.Write(buf[:n])
	}
	if err == io.EOF {
		c.Close()
	}
}
func (evEchoConn) Writable(*ustack.EventConn)      {}
func (evEchoConn) Closed(*ustack.EventConn, error) {}

// evClient says hello and reports the echo.
type evClient struct{ done chan string }

func (cl *evClient) Established(c *ustack.EventConn) { _, _ = c.Write([]byte("hello")) }
func (cl *evClient) Readable(c *ustack.EventConn) {
	if c.Buffered() < 5 {
		return
	}
	buf := make([]byte, 5)
	n, _ := c.Read(buf)
	cl.done <- string(buf[:n])
}
func (cl *evClient) Writable(*ustack.EventConn)      {}
func (cl *evClient) Closed(*ustack.EventConn, error) {}

// Bad Queues are refused with ErrConfig.
func TestShardsConfigErrors(t *testing.T) {
	qa, _ := mem.Queues(2)
	other, _ := mem.Pair(mem.WithMACs([6]byte{2, 9, 9, 9, 9, 1}, [6]byte{2, 9, 9, 9, 9, 2}))
	for name, cfg := range map[string]ustack.Config{
		"nil queue":      {Link: qa[0], Queues: []link.Link{nil}},
		"link twice":     {Link: qa[0], Queues: []link.Link{qa[0]}},
		"other device":   {Link: qa[0], Queues: []link.Link{other}},
		"manual":         {Link: qa[0], Queues: []link.Link{qa[1]}, Manual: true},
		"handoff bound":  {Link: qa[0], Queues: []link.Link{qa[1]}, ShardHandoff: -1},
		"shared limiter": {Link: qa[0], Queues: []link.Link{qa[1]}, TCP: tcp.Config{ChallengeACKLimiter: tcp.NewRateLimiter(10, time.Second)}},
	} {
		cfg.Addr = netip.MustParsePrefix("10.0.0.1/24")
		if _, err := ustack.New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		} else if !errors.Is(err, ustack.ErrConfig) {
			t.Errorf("%s: %v does not match ErrConfig", name, err)
		}
	}
}
