package ustack_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/shard"
)

// BenchmarkUDPRoundTrip is a 1-byte ping-pong between two stacks over
// link/mem: one op is a write, the peer's read and echo, and the read of
// the echo, each stack's shard on its own goroutine.
func BenchmarkUDPRoundTrip(b *testing.B) {
	for _, mode := range []shard.Mode{shard.Adaptive, shard.Busy} {
		b.Run(mode.String(), func(b *testing.B) {
			a, s := newUDPPair(b, nil, func(ca, cb *ustack.Config) { ca.Polling, cb.Polling = mode, mode })
			srv := listen(b, s, ":7")
			go echo(srv)
			cli := listen(b, a, "")
			dst := netip.AddrPortFrom(addrB, 7)
			msg, buf := []byte{1}, make([]byte, 16)
			cli.SetReadDeadline(time.Now().Add(time.Minute))
			// Warm up: ARP, pools, task objects.
			for range 100 {
				cli.WriteToUDPAddrPort(msg, dst)
				cli.ReadFromUDPAddrPort(buf)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := cli.WriteToUDPAddrPort(msg, dst); err != nil {
					b.Fatal(err)
				}
				if _, _, err := cli.ReadFromUDPAddrPort(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A steady-state round trip — WriteToUDPAddrPort, the peer's echo, and
// ReadFromUDPAddrPort — allocates nothing on either stack or in the
// socket layer (pooled send tasks, buffers from the link's pool).
func TestUDPRoundTripDoesNotAllocate(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("measures allocations over 1000 round trips (meaningless under -race)")
	}
	a, s := newUDPPair(t, nil, nil)
	srv := listen(t, s, ":7")
	go echo(srv)
	cli := listen(t, a, "")
	dst := netip.AddrPortFrom(addrB, 7)
	msg, buf := []byte{1, 2, 3}, make([]byte, 16)
	cli.SetReadDeadline(time.Now().Add(time.Minute))
	roundTrip := func() {
		if _, err := cli.WriteToUDPAddrPort(msg, dst); err != nil {
			panic(err)
		}
		if _, _, err := cli.ReadFromUDPAddrPort(buf); err != nil {
			panic(err)
		}
	}
	for range 100 {
		roundTrip()
	}
	// AllocsPerRun averages over every goroutine: both shards, the echo
	// server and this one.
	if allocs := testing.AllocsPerRun(1000, roundTrip); allocs != 0 {
		t.Fatalf("%v allocations per round trip, want 0", allocs)
	}
}
