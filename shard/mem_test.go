package shard

import (
	"context"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
)

// bouncer returns every frame it receives until limit frames arrived, then
// signals done; pings are started by a task.
type bouncer struct {
	got   int
	limit int
	done  chan struct{}
}

func (h *bouncer) Input(now time.Duration, b *link.Buf, tx *TX) {
	h.got++
	if h.limit > 0 && h.got >= h.limit {
		b.Free()
		select {
		case h.done <- struct{}{}:
		default:
		}
		return
	}
	tx.Send(b)
}

func (h *bouncer) EndBurst(time.Duration, *TX) {}

// ping sends one new frame from the shard's pool.
type ping struct{}

func (ping) Run(now time.Duration, tx *TX) {
	if b := tx.Pool().Get(); b != nil {
		b.Extend(64)
		tx.Send(b)
	}
}

func runPair(t testing.TB, mode Mode, limit int) (b *bouncer, sb *Shard, stop func()) {
	la, lb, err := mem.NewPair(mem.WithPool(link.PoolConfig{Count: 64}))
	if err != nil {
		t.Fatal(err)
	}
	sa := newTestShard(t, la, &bouncer{}, Config{Mode: mode})
	b = &bouncer{limit: limit, done: make(chan struct{}, 1)}
	sb = newTestShard(t, lb, b, Config{Mode: mode})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 2)
	go func() { errc <- sa.Run(ctx) }()
	go func() { errc <- sb.Run(ctx) }()
	return b, sb, func() {
		cancel()
		for range 2 {
			select {
			case <-errc:
			case <-time.After(failAfter):
				t.Fatal("Run did not return after cancel")
			}
		}
		la.Close()
	}
}

// Two shards bounce a frame over a link/mem pair: every hop crosses
// goroutines through the link's Waiter wake-up.
func TestMemPairPingPong(t *testing.T) {
	for _, mode := range []Mode{Adaptive, Interrupt, Busy} {
		t.Run(mode.String(), func(t *testing.T) {
			b, sb, stop := runPair(t, mode, 200)
			defer stop()
			sb.Submit(ping{})
			select {
			case <-b.done:
			case <-time.After(failAfter):
				t.Fatalf("ping-pong stalled after %d frames", b.got)
			}
		})
	}
}

// BenchmarkMemPingPong: one op is a frame sent by shard B, echoed by
// shard A and received back by B, started by a Submit from the benchmark
// goroutine and completed by a channel signal back to it.
func BenchmarkMemPingPong(b *testing.B) {
	for _, mode := range []Mode{Adaptive, Interrupt} {
		b.Run(mode.String(), func(b *testing.B) {
			h, sb, stop := runPair(b, mode, 1)
			defer stop()
			b.ReportAllocs()
			for b.Loop() {
				for !sb.Submit(ping{}) {
				}
				<-h.done
			}
		})
	}
}
