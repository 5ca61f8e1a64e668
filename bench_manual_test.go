package ustack_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link/mem"
)

// BenchmarkEventRTTManual is BenchmarkEventRTT with both stacks stepped on
// one goroutine (Config.Manual): the protocol work of one 1-byte round
// trip (two sends, two receives, the delayed ACKs' bookkeeping) with no
// scheduler in the way. The gap to BenchmarkEventRTT is what handing work
// between goroutines and cores costs.
func BenchmarkEventRTTManual(b *testing.B) {
	la, lb := mem.Pair()
	start := time.Now()
	clock := manualClock{start}
	sa, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24"), Manual: true, Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	sb, err := ustack.New(ustack.Config{Link: lb, Addr: netip.MustParsePrefix("10.0.0.2/24"), Manual: true, Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	defer sa.Close()
	defer sb.Close()
	if _, err := sb.ListenEvents(7, rttEcho{}); err != nil {
		b.Fatal(err)
	}
	k := &rttClient{estab: make(chan struct{}), done: make(chan struct{}, 1)}
	ec, err := sa.DialEvents(netip.MustParseAddrPort("10.0.0.2:7"), k)
	if err != nil {
		b.Fatal(err)
	}
	step := func() {
		now := clock.Now()
		sa.Step(now)
		sb.Step(now)
	}
	for i := 0; i < 100; i++ {
		step()
		select {
		case <-k.estab:
			i = 100
		default:
		}
	}
	k.left = 1 << 62
	ec.Write([]byte{1})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
}

type manualClock struct{ start time.Time }

func (c manualClock) Now() time.Duration { return time.Since(c.start) }
