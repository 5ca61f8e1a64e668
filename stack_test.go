package ustack_test

import (
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/shard"
)

// newPair makes two running stacks joined by an in-memory link.
func newPair(t *testing.T, mode shard.Mode) (a, b *ustack.Stack) {
	t.Helper()
	la, lb := mem.Pair()
	var err error
	a, err = ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24"), Polling: mode})
	if err != nil {
		t.Fatal(err)
	}
	b, err = ustack.New(ustack.Config{Link: lb, Addr: netip.MustParsePrefix("10.0.0.2/24"), Polling: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close a: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("close b: %v", err)
		}
	})
	return a, b
}

// The two-field Config form from the README must just work, and the stack
// must answer its peer's ping (ARP resolution first, then echo).
func TestPingPeerOnMemLink(t *testing.T) {
	for _, mode := range []shard.Mode{shard.Adaptive, shard.Busy, shard.Interrupt} {
		t.Run(mode.String(), func(t *testing.T) {
			a, b := newPair(t, mode)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i := 0; i < 20; i++ {
				rtt, err := a.Ping(ctx, netip.MustParseAddr("10.0.0.2"), 56)
				if err != nil {
					t.Fatalf("ping %d: %v", i, err)
				}
				if rtt <= 0 {
					t.Fatalf("ping %d: rtt %v", i, rtt)
				}
			}
			ca, err := a.IPCounters()
			if err != nil {
				t.Fatal(err)
			}
			cb, err := b.IPCounters()
			if err != nil {
				t.Fatal(err)
			}
			if cb.InEchos != 20 || cb.OutEchoReps != 20 {
				t.Errorf("peer counted %d echo requests in, %d replies out; want 20 each", cb.InEchos, cb.OutEchoReps)
			}
			if ca.InEchoReps != 20 {
				t.Errorf("pinger counted %d replies in, want 20", ca.InEchoReps)
			}
		})
	}
}

// A neighbour that never answers ARP fails the ping with EHOSTUNREACH
// once the neighbour cache gives up (MaxProbes × RetransTime).
func TestPingUnansweredARPIsHostUnreachable(t *testing.T) {
	la, _ := mem.Pair()
	cfg := ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")}
	cfg.IP.Neigh.RetransTime = 20 * time.Millisecond
	cfg.IP.Neigh.MaxProbes = 2
	s, err := ustack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = s.Ping(ctx, netip.MustParseAddr("10.0.0.9"), 8)
	if !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Fatalf("ping to silent neighbour: %v, want EHOSTUNREACH", err)
	}
}

func TestPingNoRoute(t *testing.T) {
	la, _ := mem.Pair()
	s, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Ping(context.Background(), netip.MustParseAddr("192.0.2.1"), 8)
	if !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("ping off-link without gateway: %v, want ENETUNREACH", err)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	la, _ := mem.Pair()
	cases := map[string]ustack.Config{
		"no link":           {Addr: netip.MustParsePrefix("10.0.0.1/24")},
		"no addr":           {Link: la},
		"ipv6 addr":         {Link: la, Addr: netip.MustParsePrefix("fd00::1/64")},
		"gateway off-link":  {Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24"), Gateway: netip.MustParseAddr("10.0.1.1")},
		"network address":   {Link: la, Addr: netip.MustParsePrefix("10.0.0.0/24")},
		"negative burst":    {Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24"), Burst: -1},
		"addr in IP config": {Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24"), IP: ipWithAddr()},
	}
	for name, cfg := range cases {
		if _, err := ustack.New(cfg); !errors.Is(err, ustack.ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig", name, err)
		}
	}
}

func TestCloseTwiceAndPingAfterClose(t *testing.T) {
	la, _ := mem.Pair()
	s, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.Ping(ctx, netip.MustParseAddr("10.0.0.2"), 8); !errors.Is(err, ustack.ErrClosed) {
		t.Fatalf("Ping after Close: %v, want ErrClosed", err)
	}
}

// A ping larger than a link buffer goes out in fragments and comes back
// reassembled, with default buffers (2048 bytes) on both stacks.
func TestPingLargePayload(t *testing.T) {
	a, _ := newPair(t, shard.Adaptive)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Ping(ctx, netip.MustParseAddr("10.0.0.2"), 60000); err != nil {
		t.Fatalf("60000-byte ping: %v", err)
	}
}
