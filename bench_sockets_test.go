package ustack_test

import (
	"io"
	"net/netip"
	"testing"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/shard"
)

// BenchmarkConnRTT is a 1-byte request and a 1-byte response over
// link/mem through net.Conn (both ends ustack TCPConns).
func BenchmarkConnRTT(b *testing.B) { benchConnRTT(b, shard.Adaptive) }

func benchConnRTT(b *testing.B, mode shard.Mode) {
	sa, sb := benchPair(b, mode)
	c, s := connPair(b, sa, sb)
	go func() {
		var one [1]byte
		for {
			if _, err := s.Read(one[:]); err != nil {
				return
			}
			if _, err := s.Write(one[:]); err != nil {
				return
			}
		}
	}()
	var one [1]byte
	b.ReportAllocs()
	b.ResetTimer()
	st := startShardStats(sa, sb)
	for b.Loop() {
		if _, err := c.Write(one[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(one[:]); err != nil {
			b.Fatal(err)
		}
	}
	st.report(b)
}

// shardStats reports what the shards of both stacks did per operation:
// frames sent (a 1-byte exchange should cost two, the ACKs riding on the
// request and the reply) and parks.
type shardStats struct {
	a, b   *ustack.Stack
	sa, sb shard.Stats
}

func startShardStats(a, b *ustack.Stack) *shardStats {
	return &shardStats{a: a, b: b, sa: a.ShardStats(), sb: b.ShardStats()}
}

func (s *shardStats) report(b *testing.B) {
	ea, eb := s.a.ShardStats(), s.b.ShardStats()
	n := float64(b.N)
	b.ReportMetric(float64(ea.TxFrames-s.sa.TxFrames+eb.TxFrames-s.sb.TxFrames)/n, "frames/op")
	b.ReportMetric(float64(ea.Parks-s.sa.Parks+eb.Parks-s.sb.Parks)/n, "parks/op")
}

// BenchmarkPolling is the RTT benchmarks in every polling mode.
func BenchmarkPolling(b *testing.B) {
	for _, m := range []shard.Mode{shard.Busy, shard.Adaptive, shard.Interrupt} {
		b.Run("conn-"+m.String(), func(b *testing.B) { benchConnRTT(b, m) })
		b.Run("event-"+m.String(), func(b *testing.B) { benchEventRTT(b, m) })
	}
}

// BenchmarkConnBulk streams from one TCPConn to another over link/mem.
func BenchmarkConnBulk(b *testing.B) {
	sa, sb := benchPair(b, shard.Adaptive)
	c, s := connPair(b, sa, sb)
	const chunk = 64 << 10
	done := make(chan int64)
	go func() {
		n, _ := io.Copy(io.Discard, s)
		done <- n
	}()
	buf := make([]byte, chunk)
	b.SetBytes(chunk)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.CloseWrite()
	<-done
}

// rttEcho answers every byte at once, on the shard.
type rttEcho struct{}

func (rttEcho) Accept(*ustack.EventConn) ustack.ConnHandler { return rttEchoConn{} }

type rttEchoConn struct{}

func (rttEchoConn) Established(c *ustack.EventConn) { c.SetNoDelay(true) }
func (rttEchoConn) Readable(c *ustack.EventConn) {
	var buf [64]byte
	for {
		n, err := c.Read(buf[:])
		if n > 0 {
			c.Write(buf[:n])
		}
		if err != nil || n == 0 {
			return
		}
	}
}
func (rttEchoConn) Writable(*ustack.EventConn)      {}
func (rttEchoConn) Closed(*ustack.EventConn, error) {}

// rttClient plays ping-pong on its shard: each echoed byte is answered
// with the next one until left reaches zero, then done is signalled.
type rttClient struct {
	estab chan struct{}
	done  chan struct{}
	left  int
}

func (k *rttClient) Established(c *ustack.EventConn) { c.SetNoDelay(true); close(k.estab) }
func (k *rttClient) Readable(c *ustack.EventConn) {
	var buf [64]byte
	for {
		n, _ := c.Read(buf[:])
		if n == 0 {
			return
		}
		k.left -= n
		if k.left <= 0 {
			k.done <- struct{}{}
			continue
		}
		c.Write(buf[:1])
	}
}
func (k *rttClient) Writable(*ustack.EventConn)      {}
func (k *rttClient) Closed(*ustack.EventConn, error) {}

// BenchmarkEventRTT is BenchmarkConnRTT through the event API: both ends
// run on their shards (the server echoes from its Readable handler, the
// client sends the next byte from its own), so no application goroutine
// is woken per round trip.
func BenchmarkEventRTT(b *testing.B) { benchEventRTT(b, shard.Adaptive) }

func benchEventRTT(b *testing.B, mode shard.Mode) {
	sa, sb := benchPair(b, mode)
	if _, err := sb.ListenEvents(7, rttEcho{}); err != nil {
		b.Fatal(err)
	}
	k := &rttClient{estab: make(chan struct{}), done: make(chan struct{}, 1)}
	ec, err := sa.DialEvents(netip.MustParseAddrPort("10.0.0.2:7"), k)
	if err != nil {
		b.Fatal(err)
	}
	<-k.estab
	one := []byte{1}
	b.ReportAllocs()
	b.ResetTimer()
	st := startShardStats(sa, sb)
	sa.Exec(b.Context(), func() {
		k.left = b.N
		ec.Write(one)
	})
	<-k.done
	st.report(b)
}

// benchPair is newPair for benchmarks.
func benchPair(tb testing.TB, mode shard.Mode) (a, b *ustack.Stack) {
	tb.Helper()
	la, lb := mem.Pair()
	var err error
	a, err = ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24"), Polling: mode})
	if err != nil {
		tb.Fatal(err)
	}
	b, err = ustack.New(ustack.Config{Link: lb, Addr: netip.MustParsePrefix("10.0.0.2/24"), Polling: mode})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}
