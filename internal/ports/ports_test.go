package ports

import (
	"errors"
	"math"
	"net/netip"
	"testing"
)

var secret = [16]byte{9, 8, 7, 6, 5, 4, 3, 2, 1}

var (
	local  = netip.MustParseAddr("10.0.0.1")
	remote = netip.MustParseAddrPort("192.0.2.7:443")
)

func mustNew(t testing.TB, cfg Config) *Selector {
	s, err := New(cfg, secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConfig(t *testing.T) {
	s := mustNew(t, Config{})
	if c := s.Config(); c.Min != 32768 || c.Max != 60999 || s.Size() != 28232 {
		t.Fatalf("defaults %+v size %d", c, s.Size())
	}
	for _, c := range []Config{{Min: 2000, Max: 1000}, {Min: 0, Max: 10}, {Min: 5, Max: 0}, {Min: 1, Max: 2, TableSize: -1}} {
		if _, err := New(c, secret); !errors.Is(err, ErrConfig) {
			t.Fatalf("%+v: %v", c, err)
		}
	}
	one := mustNew(t, Config{Min: 5000, Max: 5000})
	if p, err := one.Pick(local, remote, nil, nil); p != 5000 || err != nil {
		t.Fatalf("single-port range: %d %v", p, err)
	}
}

// TestSameDestinationWalksRange: successive connections to one
// destination get distinct ports until the whole range is used.
func TestSameDestinationWalksRange(t *testing.T) {
	s := mustNew(t, Config{Min: 40000, Max: 40999})
	seen := map[uint16]bool{}
	for i := 0; i < s.Size(); i++ {
		p, err := s.Pick(local, remote, nil, nil)
		if err != nil || p < 40000 || p > 40999 || seen[p] {
			t.Fatalf("pick %d: port %d err %v (seen %v)", i, p, err, seen[p])
		}
		seen[p] = true
	}
}

// TestCollisionSkipping: ports in use are skipped, never returned.
func TestCollisionSkipping(t *testing.T) {
	s := mustNew(t, Config{Min: 1000, Max: 1099})
	used := map[uint16]bool{}
	calls := 0
	inUse := func(p uint16) bool { calls++; return used[p] }
	for i := 0; i < 100; i++ {
		p, err := s.Pick(local, remote, inUse, nil)
		if err != nil {
			t.Fatalf("pick %d: %v", i, err)
		}
		if used[p] {
			t.Fatalf("returned port %d in use", p)
		}
		used[p] = true
	}
	// The range is full now: every further pick is refused.
	if _, err := s.Pick(local, remote, inUse, nil); !errors.Is(err, ErrExhausted) {
		t.Fatalf("full range: %v", err)
	}
	// Free one port: it is found whatever the counters say.
	delete(used, 1042)
	if p, err := s.Pick(local, remote, inUse, nil); p != 1042 || err != nil {
		t.Fatalf("got %d %v, want the only free port 1042", p, err)
	}
}

func TestAcceptFilter(t *testing.T) {
	s := mustNew(t, Config{})
	const nshards, shard = 4, 3
	for i := 0; i < 1000; i++ {
		r := netip.AddrPortFrom(remote.Addr(), uint16(1000+i))
		p, err := s.Pick(local, r, nil, func(p uint16) bool { return p%nshards == shard })
		if err != nil || p%nshards != shard {
			t.Fatalf("filtered pick: %d %v", p, err)
		}
	}
	if _, err := s.Pick(local, remote, nil, func(uint16) bool { return false }); !errors.Is(err, ErrExhausted) {
		t.Fatalf("filter refusing all: %v", err)
	}
}

// TestDistribution: first picks for many destinations spread evenly over
// the range (chi-square over 64 buckets).
func TestDistribution(t *testing.T) {
	s := mustNew(t, Config{})
	const buckets, n = 64, 64000
	var count [buckets]int
	for i := 0; i < n; i++ {
		r := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), uint16(80+i%7))
		p, err := s.Pick(local, r, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		count[(int(p)-32768)*buckets/s.Size()]++
	}
	exp := float64(n) / buckets
	chi := 0.0
	for _, c := range count {
		chi += (float64(c) - exp) * (float64(c) - exp) / exp
	}
	// 63 degrees of freedom: p = 0.0001 at about 117.
	if chi > 117 || math.IsNaN(chi) {
		t.Fatalf("chi-square %.1f over %d buckets: %v", chi, buckets, count)
	}
	// Different secrets give different ports for the same destination.
	o := secret
	o[15] = 0xff
	s2, _ := New(Config{}, o)
	s1 := mustNew(t, Config{})
	same := 0
	for i := 0; i < 100; i++ {
		r := netip.AddrPortFrom(remote.Addr(), uint16(2000+i))
		a, _ := s1.Pick(local, r, nil, nil)
		b, _ := s2.Pick(local, r, nil, nil)
		if a == b {
			same++
		}
	}
	if same > 3 {
		t.Fatalf("%d of 100 picks identical under different secrets", same)
	}
}

func TestAllocs(t *testing.T) {
	s := mustNew(t, Config{})
	used := uint16(0)
	inUse := func(p uint16) bool { return p == used }
	if a := testing.AllocsPerRun(200, func() {
		p, _ := s.Pick(local, remote, inUse, func(p uint16) bool { return p&1 == 0 })
		used = p
	}); a != 0 {
		t.Fatalf("allocs %v", a)
	}
}

func BenchmarkPick(b *testing.B) {
	s := mustNew(b, Config{})
	for b.Loop() {
		_, _ = s.Pick(local, remote, nil, nil)
	}
}

func TestZeroSelector(t *testing.T) {
	var s Selector
	if _, err := s.Pick(local, remote, nil, nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("zero Selector: %v", err)
	}
}
