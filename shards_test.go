package ustack_test

import (
	"bytes"
	"context"
	"encoding/binary"
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
	"github.com/ustack/ustack/wire"
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

// An ICMP "fragmentation needed" error arrives on queue 0 (the link steers
// ICMP there) but is about a connection of shard 1: it is handed to that
// shard, whose path MTU table learns from it.
func TestShardsICMPErrorToOwner(t *testing.T) {
	a, b, qa, qb := shardedPair(t, 2)
	ln, err := b.Listen("tcp", ":7004")
	if err != nil {
		t.Fatal(err)
	}
	go serveEcho(ln)
	// Dial until one connection lives on the server's shard 1.
	var local, remote netip.AddrPort
	for i := 0; i < 16 && !local.IsValid(); i++ {
		c, err := a.Dial("tcp", "10.0.0.2:7004")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cl := c.LocalAddr().(*net.TCPAddr).AddrPort()
		sv := c.RemoteAddr().(*net.TCPAddr).AddrPort()
		if link.SteerQueue(tcpFrame(sv, cl), 2) == 1 {
			local, remote = sv, cl // the server's view
		}
	}
	if !local.IsValid() {
		t.Fatal("no connection landed on shard 1 in 16 dials")
	}
	before, _ := b.TCPStats()
	ipBefore, _ := b.IPCounters()
	f := fragNeeded(qb[0].HardwareAddr(), remote.Addr(), local, remote, 1200)
	// Sent from the client stack's shard 0, which owns its queue 0.
	err = a.Exec(context.Background(), func() {
		buf := qa[0].Pool().Get()
		copy(buf.Extend(len(f)), f)
		if qa[0].Send([]*link.Buf{buf}) != 1 {
			buf.Free()
			t.Error("the link refused the ICMP frame")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the path MTU update", func() bool {
		c, _ := b.IPCounters()
		return c.PMTUUpdates > ipBefore.PMTUUpdates
	})
	after, _ := b.TCPStats()
	if after.Handoffs != before.Handoffs+1 {
		t.Errorf("handoffs %d -> %d: the ICMP error was not handed to shard 1", before.Handoffs, after.Handoffs)
	}
}

// tcpFrame is the headers of a TCP segment from src to dst, enough for
// link.SteerQueue.
func tcpFrame(src, dst netip.AddrPort) []byte {
	f := make([]byte, 14+20+20)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[9] = 0x45, 6
	binary.BigEndian.PutUint16(ip[2:], 40)
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:], s4[:])
	copy(ip[16:], d4[:])
	binary.BigEndian.PutUint16(ip[20:], src.Port())
	binary.BigEndian.PutUint16(ip[22:], dst.Port())
	ip[32] = 5 << 4
	return f
}

// fragNeeded is an ICMPv4 "fragmentation needed" error from router (here
// the peer itself) to the host at dstMAC about a 1500-byte TCP segment
// from local to remote, reporting mtu.
func fragNeeded(dstMAC [6]byte, router netip.Addr, local, remote netip.AddrPort, mtu uint16) []byte {
	f := make([]byte, 14+20+8+20+8)
	copy(f, dstMAC[:])
	copy(f[6:], []byte{2, 0, 0, 0, 0, 0x99})
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 1
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	r4, l4 := router.As4(), local.Addr().As4()
	copy(ip[12:], r4[:])
	copy(ip[16:], l4[:])
	binary.BigEndian.PutUint16(ip[10:], wire.Checksum(ip[:20]))
	icmp := ip[20:]
	icmp[0], icmp[1] = 3, 4
	binary.BigEndian.PutUint16(icmp[6:], mtu)
	in := icmp[8:]
	in[0], in[8], in[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(in[2:], 1500)
	binary.BigEndian.PutUint16(in[6:], 0x4000) // DF
	rm4 := remote.Addr().As4()
	copy(in[12:], l4[:])
	copy(in[16:], rm4[:])
	binary.BigEndian.PutUint16(in[10:], wire.Checksum(in[:20]))
	binary.BigEndian.PutUint16(in[20:], local.Port())
	binary.BigEndian.PutUint16(in[22:], remote.Port())
	binary.BigEndian.PutUint16(icmp[2:], wire.Checksum(icmp))
	return f
}
