package mem_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
)

const benchBurst = 32

// BenchmarkPairFrames measures frames moved per second: "pingpong" on one
// goroutine (a burst a->b, echoed b->a, freed by a), "stream" with a
// sender and a receiver goroutine busy-polling.
func BenchmarkPairFrames(b *testing.B) {
	b.Run("pingpong", func(b *testing.B) {
		x, y := smallPair(b)
		defer x.Close()
		out := make([]*link.Buf, benchBurst)
		in := make([]*link.Buf, benchBurst)
		b.ReportAllocs()
		for b.Loop() {
			for i := range out {
				out[i] = x.Pool().Get()
				out[i].Extend(64)
			}
			x.Send(out)
			n := y.Recv(in)
			y.Send(in[:n])
			n = x.Recv(in)
			for _, f := range in[:n] {
				f.Free()
			}
		}
		b.ReportMetric(float64(2*benchBurst*b.N)/b.Elapsed().Seconds(), "frames/s")
	})
	b.Run("stream", func(b *testing.B) {
		x, y := mem.Pair() // default pool: 4096 buffers for a 1024-slot ring
		defer x.Close()
		total := b.N * benchBurst
		var wg sync.WaitGroup
		wg.Add(1)
		b.ReportAllocs()
		b.ResetTimer()
		go func() {
			defer wg.Done()
			in := make([]*link.Buf, benchBurst)
			for got := 0; got < total; {
				n := y.Recv(in)
				if n == 0 {
					runtime.Gosched()
					continue
				}
				for _, f := range in[:n] {
					f.Free()
				}
				got += n
			}
		}()
		out := make([]*link.Buf, benchBurst)
		for sent := 0; sent < total; {
			k := 0
			for ; k < min(benchBurst, total-sent); k++ {
				if out[k] = x.Pool().Get(); out[k] == nil {
					break
				}
				out[k].Extend(64)
			}
			if k == 0 { // every buffer in flight
				runtime.Gosched()
				continue
			}
			n := 0
			for n < k {
				m := x.Send(out[n:k])
				if m == 0 {
					runtime.Gosched()
				}
				n += m
			}
			sent += k
		}
		wg.Wait()
		b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "frames/s")
	})
}

// BenchmarkPairHop is the latency of the link itself between two cores:
// one op is a frame sent a->b by this goroutine and answered b->a by a
// goroutine spinning on b (each end takes a fresh buffer from its pool
// and frees what it receives, as a stack does). It is the floor under a
// 1-byte round trip between two spinning shards.
func BenchmarkPairHop(b *testing.B) {
	x, y := mem.Pair()
	defer x.Close()
	var stop sync.WaitGroup
	done := make(chan struct{})
	stop.Add(1)
	go func() {
		defer stop.Done()
		in, out := make([]*link.Buf, 8), make([]*link.Buf, 1)
		for {
			select {
			case <-done:
				return
			default:
			}
			for i := 0; i < 1000 && !y.RxPending(); i++ {
			}
			n := y.Recv(in)
			for _, f := range in[:n] {
				f.Free()
				out[0] = y.Pool().Get()
				out[0].Extend(64)[0] = 1
				y.Send(out)
			}
			if n == 0 {
				runtime.Gosched()
			}
		}
	}()
	in, out := make([]*link.Buf, 8), make([]*link.Buf, 1)
	b.ReportAllocs()
	for b.Loop() {
		out[0] = x.Pool().Get()
		out[0].Extend(64)[0] = 1
		x.Send(out)
		for n := 0; n == 0; {
			if x.RxPending() {
				n = x.Recv(in)
			}
			for _, f := range in[:n] {
				f.Free()
			}
		}
	}
	close(done)
	stop.Wait()
}
