package syncookie

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

var secret = [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3}

var (
	t4 = Tuple{Local: netip.MustParseAddrPort("10.0.0.1:80"), Remote: netip.MustParseAddrPort("10.9.8.7:51000")}
	t6 = Tuple{Local: netip.MustParseAddrPort("[2001:db8::1]:443"), Remote: netip.MustParseAddrPort("[2001:db8::99]:40000")}
)

func jar(t testing.TB) *Jar {
	j, err := New(Config{}, secret)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestConfig(t *testing.T) {
	j := jar(t)
	if c := j.Config(); c.Period != 64*time.Second || c.MaxAge != 2 {
		t.Fatalf("defaults %+v", c)
	}
	for _, c := range []Config{{Period: -1}, {MaxAge: -1}, {MaxAge: 256}} {
		if _, err := New(c, secret); !errors.Is(err, ErrConfig) {
			t.Fatalf("%+v: %v", c, err)
		}
	}
}

func TestMSSTable(t *testing.T) {
	for mss := 0; mss <= 10000; mss++ {
		for _, tc := range []struct {
			tup Tuple
			tab [4]uint16
		}{{t4, mssTable4}, {t6, mssTable6}} {
			idx, enc := MSSIndex(tc.tup, mss)
			want := int(tc.tab[0])
			for _, e := range tc.tab {
				if int(e) <= mss {
					want = int(e)
				}
			}
			if enc != want || int(tc.tab[idx]) != enc {
				t.Fatalf("mss %d: index %d entry %d, want %d", mss, idx, enc, want)
			}
		}
	}
	if _, e := MSSIndex(t4, 1460); e != 1460 {
		t.Fatal("1460")
	}
	if _, e := MSSIndex(t4, 1459); e != 1440 {
		t.Fatal("1459")
	}
	if _, e := MSSIndex(t6, 9000); e != 8940 {
		t.Fatal("jumbo v6")
	}
}

func TestRoundTrip(t *testing.T) {
	j := jar(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 5000; i++ {
		tup := t4
		if i%2 == 1 {
			tup = t6
		}
		tup.Remote = netip.AddrPortFrom(tup.Remote.Addr(), uint16(rng.Uint32()))
		peerISN := rng.Uint32()
		mss := 400 + rng.IntN(9000)
		opts := Options{
			WScale: uint8(rng.IntN(15)), HasWScale: rng.IntN(2) == 0,
			SACKPermitted: rng.IntN(2) == 0, ECN: rng.IntN(2) == 0,
		}
		if !opts.HasWScale {
			opts.WScale = 0
		}
		tsNow := rng.Uint32()
		now := time.Duration(rng.Int64N(int64(1000 * time.Hour)))
		iss, tsval, enc := j.Encode(tup, peerISN, mss, opts, true, tsNow, now)
		if _, want := MSSIndex(tup, mss); enc != want {
			t.Fatalf("encoded mss %d, want %d", enc, want)
		}
		if d := tsNow - tsval; d >= 64 {
			t.Fatalf("tsval %d is %d ticks from the clock %d", tsval, d, tsNow)
		}
		// The ACK comes within the next period.
		later := now + time.Duration(rng.Int64N(int64(64*time.Second)))
		d, ok := j.Check(tup, iss, peerISN, true, tsval, later)
		if !ok || d.MSS != enc || d.Options != opts {
			t.Fatalf("round trip %d: ok %v %+v, want mss %d %+v", i, ok, d, enc, opts)
		}
		// Without a timestamp on the ACK the options are gone.
		d, ok = j.Check(tup, iss, peerISN, false, 0, now)
		if !ok || d.MSS != enc || d.Options != (Options{}) {
			t.Fatalf("no-TS check: %v %+v", ok, d)
		}
	}
}

func TestTSValOptionsEncoding(t *testing.T) {
	j := jar(t)
	_, tsval, _ := j.Encode(t4, 1, 1460, Options{WScale: 7, HasWScale: true, SACKPermitted: true}, true, 1000, 0)
	// 1000 = 0b1111101000; low 6 bits replaced by 7|SACK(16) = 23 -> 983.
	if tsval != 1000&^63|23 || tsval > 1000 {
		t.Fatalf("tsval %d", tsval)
	}
	_, tsval, _ = j.Encode(t4, 1, 1460, Options{ECN: true}, true, 1000, 0)
	// No wscale (15) + ECN (32) = 47 -> 960+47 = 1007 > 1000, so one step back.
	if tsval != 1007-64 {
		t.Fatalf("tsval %d, want 943", tsval)
	}
	// A window scale above RFC 7323's 14 is clamped.
	iss, tsval, _ := j.Encode(t4, 1, 1460, Options{WScale: 200, HasWScale: true}, true, 5000, 0)
	if d, ok := j.Check(t4, iss, 1, true, tsval, 0); !ok || d.WScale != 14 {
		t.Fatalf("clamped wscale %+v", d)
	}
	if _, tsval, _ := j.Encode(t4, 1, 1460, Options{HasWScale: true}, false, 5000, 0); tsval != 0 {
		t.Fatal("tsval without timestamps")
	}
}

func TestExpiry(t *testing.T) {
	j := jar(t)
	const p = 64 * time.Second
	made := 10*p + 5*time.Second
	iss, _, _ := j.Encode(t4, 777, 1460, Options{}, false, 0, made)
	for _, c := range []struct {
		at time.Duration
		ok bool
	}{
		{made, true},
		{10*p + p - 1, true}, // end of the same period
		{11 * p, true},       // the next period
		{12*p - 1, true},
		{12 * p, false}, // two periods on: expired
		{20 * p, false},
		{9 * p, false},        // from the future
		{made + 256*p, false}, // the 8-bit count has wrapped; the hash still differs
	} {
		if _, ok := j.Check(t4, iss, 777, false, 0, c.at); ok != c.ok {
			t.Errorf("check at %v: ok %v, want %v", c.at, ok, c.ok)
		}
	}
	long, _ := New(Config{MaxAge: 4, Period: time.Second}, secret)
	iss, _, _ = long.Encode(t4, 1, 536, Options{}, false, 0, 0)
	if _, ok := long.Check(t4, iss, 1, false, 0, 3*time.Second+999*time.Millisecond); !ok {
		t.Fatal("MaxAge 4 rejected a 3-period-old cookie")
	}
	if _, ok := long.Check(t4, iss, 1, false, 0, 4*time.Second); ok {
		t.Fatal("MaxAge 4 accepted a 4-period-old cookie")
	}
}

func TestAlteredRejected(t *testing.T) {
	j := jar(t)
	now := 3 * time.Hour
	iss, _, _ := j.Encode(t4, 12345, 1440, Options{}, false, 0, now)
	for bit := 0; bit < 32; bit++ {
		if _, ok := j.Check(t4, iss^1<<bit, 12345, false, 0, now); ok {
			t.Errorf("cookie with bit %d flipped accepted", bit)
		}
		if _, ok := j.Check(t4, iss, 12345^1<<bit, false, 0, now); ok {
			t.Errorf("peer ISN with bit %d flipped accepted", bit)
		}
	}
	other := t4
	other.Remote = netip.AddrPortFrom(other.Remote.Addr(), other.Remote.Port()+1)
	if _, ok := j.Check(other, iss, 12345, false, 0, now); ok {
		t.Error("cookie accepted for another tuple")
	}
	k2 := secret
	k2[0]++
	j2, _ := New(Config{}, k2)
	if _, ok := j2.Check(t4, iss, 12345, false, 0, now); ok {
		t.Error("cookie accepted under another secret")
	}
}

// TestForgedRejected: random cookies pass at about 2^-22 each; 200000
// guesses against two live periods should essentially never succeed.
func TestForgedRejected(t *testing.T) {
	j := jar(t)
	rng := rand.New(rand.NewPCG(11, 12))
	passed := 0
	for i := 0; i < 200000; i++ {
		if _, ok := j.Check(t4, rng.Uint32(), 4242, false, 0, time.Hour); ok {
			passed++
		}
	}
	if passed > 2 {
		t.Fatalf("%d of 200000 random cookies accepted", passed)
	}
}

func TestAllocs(t *testing.T) {
	j := jar(t)
	if a := testing.AllocsPerRun(200, func() {
		iss, ts, _ := j.Encode(t6, 9, 1400, Options{SACKPermitted: true}, true, 99999, time.Minute)
		_, _ = j.Check(t6, iss, 9, true, ts, time.Minute)
	}); a != 0 {
		t.Fatalf("allocs %v", a)
	}
}

func BenchmarkEncodeCheck(b *testing.B) {
	j := jar(b)
	for b.Loop() {
		iss, ts, _ := j.Encode(t4, 9, 1460, Options{}, true, 1, time.Minute)
		_, _ = j.Check(t4, iss, 9, true, ts, time.Minute)
	}
}

func TestZeroJar(t *testing.T) {
	var j Jar
	iss, _, _ := j.Encode(t4, 1, 1460, Options{}, false, 0, time.Hour)
	if _, ok := j.Check(t4, iss, 1, false, 0, time.Hour); !ok {
		t.Fatal("zero Jar does not round-trip")
	}
}

// FuzzCheck feeds arbitrary ACK fields to Check: it never panics, and
// whatever it accepts decodes to a table MSS and a legal window scale.
func FuzzCheck(f *testing.F) {
	j, _ := New(Config{}, secret)
	iss, ts, _ := j.Encode(t4, 100, 1460, Options{WScale: 7, HasWScale: true}, true, 5000, time.Minute)
	f.Add(iss, uint32(100), ts, true, int64(time.Minute), uint16(51000))
	f.Add(uint32(0), uint32(0), uint32(0), false, int64(0), uint16(0))
	f.Fuzz(func(t *testing.T, cookie, peerISN, tsecr uint32, hasTS bool, now int64, port uint16) {
		tup := t4
		tup.Remote = netip.AddrPortFrom(tup.Remote.Addr(), port)
		d, ok := j.Check(tup, cookie, peerISN, hasTS, tsecr, time.Duration(now))
		if !ok {
			return
		}
		if _, enc := MSSIndex(tup, d.MSS); enc != d.MSS {
			t.Fatalf("accepted MSS %d not in the table", d.MSS)
		}
		if d.HasWScale && d.WScale > 14 {
			t.Fatalf("accepted window scale %d", d.WScale)
		}
	})
}
