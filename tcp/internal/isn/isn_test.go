package isn

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/internal/siphash"
	"github.com/ustack/ustack/tcp/seqnum"
)

var secret = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

func tuple(l, r string) Tuple {
	return Tuple{Local: netip.MustParseAddrPort(l), Remote: netip.MustParseAddrPort(r)}
}

func TestMTimer(t *testing.T) {
	if M(0) != 0 || M(4*time.Microsecond) != 1 || M(time.Second) != 250000 {
		t.Fatal("M is not a 4 µs counter")
	}
	// Wraps after 2^32 ticks (about 4.77 hours).
	if M(time.Duration(1<<32)*Tick+3*Tick) != 3 {
		t.Fatal("M does not wrap at 2^32")
	}
}

func TestISN(t *testing.T) {
	g := New(secret)
	a := tuple("10.0.0.1:40000", "10.0.0.2:80")
	// Same tuple: ISN advances with the clock exactly like M.
	i0 := g.ISN(0, a)
	i1 := g.ISN(time.Second, a)
	if i1.Sub(i0) != 250000 {
		t.Fatalf("ISN advanced %d in 1 s, want 250000", i1.Sub(i0))
	}
	if uint32(i0) != g.F(a) {
		t.Fatal("ISN(0) != F")
	}
	// F is the keyed hash of the documented layout (independent check).
	var buf [37]byte
	buf[0] = 1
	copy(buf[1:17], netip.MustParseAddr("::ffff:10.0.0.1").AsSlice())
	buf[17], buf[18] = 40000>>8, 40000&0xff
	copy(buf[19:35], netip.MustParseAddr("::ffff:10.0.0.2").AsSlice())
	buf[35], buf[36] = 0, 80
	if want := uint32(siphash.KeyFromBytes(secret).Sum64(buf[:])); g.F(a) != want {
		t.Fatalf("F %#x, want %#x", g.F(a), want)
	}
	// Any change of tuple or key changes F.
	others := []Tuple{
		tuple("10.0.0.1:40001", "10.0.0.2:80"),
		tuple("10.0.0.1:40000", "10.0.0.2:81"),
		tuple("10.0.0.3:40000", "10.0.0.2:80"),
		tuple("10.0.0.2:80", "10.0.0.1:40000"), // reversed
		tuple("[2001:db8::1]:40000", "[2001:db8::2]:80"),
	}
	seen := map[uint32]bool{g.F(a): true}
	for _, o := range others {
		if seen[g.F(o)] {
			t.Fatalf("F collision for %v", o)
		}
		seen[g.F(o)] = true
	}
	other := secret
	other[0] ^= 1
	if New(other).F(a) == g.F(a) {
		t.Fatal("F independent of the secret")
	}
}

// TestISNSpread: successive connections on different ports get ISNs far
// apart (no predictable increment), while a reused tuple moves forward.
func TestISNSpread(t *testing.T) {
	g := New(secret)
	var close int
	prev := g.ISN(0, tuple("10.0.0.1:1000", "10.0.0.2:80"))
	for p := uint16(1001); p < 3000; p++ {
		cur := g.ISN(0, tuple("10.0.0.1:"+itoa(p), "10.0.0.2:80"))
		if d := cur - prev; d < 1<<20 || d > ^seqnum.Value(0)-1<<20 {
			close++
		}
		prev = cur
	}
	if close > 5 {
		t.Fatalf("%d of 2000 successive ISNs within 2^20 of the previous", close)
	}
}

func itoa(p uint16) string { return netip.AddrPortFrom(netip.IPv4Unspecified(), p).String()[8:] }

func TestTSOffsets(t *testing.T) {
	g := New(secret)
	a := tuple("10.0.0.1:40000", "10.0.0.2:80")
	b := tuple("10.0.0.1:40001", "10.0.0.2:80")
	if g.TSOffset(a) == g.TSOffset(b) {
		t.Fatal("per-connection offset equal across ports")
	}
	if g.TSOffset(a) == uint32(g.ISN(0, a)) {
		t.Fatal("timestamp offset equals the ISN hash (no domain separation)")
	}
	l, r := a.Local.Addr(), a.Remote.Addr()
	if g.TSOffsetAddrs(l, r) == g.TSOffsetAddrs(r, l) {
		t.Fatal("address-pair offset symmetric")
	}
	if g.TSOffsetAddrs(l, r) != New(secret).TSOffsetAddrs(l, r) {
		t.Fatal("address-pair offset not deterministic")
	}
}

func TestAllocs(t *testing.T) {
	g := New(secret)
	a := tuple("[2001:db8::1]:40000", "[2001:db8::2]:80")
	if n := testing.AllocsPerRun(100, func() {
		_ = g.ISN(time.Second, a)
		_ = g.TSOffset(a)
		_ = g.TSOffsetAddrs(a.Local.Addr(), a.Remote.Addr())
	}); n != 0 {
		t.Fatalf("allocs %v", n)
	}
}

func BenchmarkISN(b *testing.B) {
	g := New(secret)
	a := tuple("10.0.0.1:40000", "10.0.0.2:80")
	for b.Loop() {
		_ = g.ISN(time.Second, a)
	}
}
