package flowtab

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func key(r *rand.Rand, space int) (Key, netip.AddrPort, netip.AddrPort) {
	local := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 1}), 80)
	n := r.IntN(space)
	remote := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)}), uint16(32768+n%7))
	return MakeKey(local, remote), local, remote
}

// The table against a Go map, the obvious reference, through a long random
// run of inserts, replacements, lookups and deletes over a small key space
// (so probe runs are long and deletions shift entries often), with the
// table growing through several sizes.
func TestAgainstMap(t *testing.T) {
	for _, space := range []int{50, 500, 5000} {
		r := rand.New(rand.NewPCG(1, uint64(space)))
		tab := New[int]([4]uint64{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()})
		ref := map[Key]int{}
		for i := 0; i < 200000; i++ {
			k, _, _ := key(r, space)
			switch op := r.IntN(10); {
			case op < 4:
				tab.Set(k, i)
				ref[k] = i
			case op < 7:
				_, want := ref[k]
				if got := tab.Delete(k); got != want {
					t.Fatalf("space %d op %d: Delete = %v, want %v", space, i, got, want)
				}
				delete(ref, k)
			default:
				v, ok := tab.Get(k)
				w, wok := ref[k]
				if ok != wok || v != w {
					t.Fatalf("space %d op %d: Get = %d,%v want %d,%v", space, i, v, ok, w, wok)
				}
			}
			if tab.Len() != len(ref) {
				t.Fatalf("space %d op %d: Len = %d, want %d", space, i, tab.Len(), len(ref))
			}
		}
		seen := 0
		for k, v := range tab.All() {
			if w, ok := ref[k]; !ok || w != v {
				t.Fatalf("All yielded %v=%d, reference has %d,%v", k, v, w, ok)
			}
			seen++
		}
		if seen != len(ref) {
			t.Fatalf("All yielded %d entries, want %d", seen, len(ref))
		}
		// Every key still findable: no entry was stranded behind a hole.
		for k, w := range ref {
			if v, ok := tab.Get(k); !ok || v != w {
				t.Fatalf("after the run: Get(%v) = %d,%v want %d", k, v, ok, w)
			}
		}
	}
}

func TestKeyDistinguishesEveryField(t *testing.T) {
	a := netip.MustParseAddrPort("10.0.0.1:80")
	b := netip.MustParseAddrPort("10.0.0.2:40000")
	base := MakeKey(a, b)
	for name, k := range map[string]Key{
		"swapped":      MakeKey(b, a),
		"local addr":   MakeKey(netip.MustParseAddrPort("10.0.0.3:80"), b),
		"local port":   MakeKey(netip.MustParseAddrPort("10.0.0.1:81"), b),
		"remote addr":  MakeKey(a, netip.MustParseAddrPort("10.0.1.2:40000")),
		"remote port":  MakeKey(a, netip.MustParseAddrPort("10.0.0.2:40001")),
		"ipv6 remote":  MakeKey(a, netip.MustParseAddrPort("[fd00::2]:40000")),
		"mapped local": MakeKey(netip.MustParseAddrPort("[::ffff:10.0.0.9]:80"), b),
	} {
		if k == base {
			t.Errorf("%s: same key as the original", name)
		}
	}
	if MakeKey(a, b) != base {
		t.Error("the same tuple gave two keys")
	}
	if k4 := MakeKey4(0x0a000001, 0x0a000002, 80, 40000); k4 != base {
		t.Errorf("MakeKey4 = %+v, MakeKey = %+v", k4, base)
	}
}

// AddrPorts gives back the tuple a key was made from.
func TestAddrPortsRoundTrip(t *testing.T) {
	for _, tc := range [][2]string{
		{"10.0.0.1:80", "10.0.0.2:40000"},
		{"0.0.0.0:1", "255.255.255.255:65535"},
		{"[fd00::1]:443", "[2001:db8::7]:51000"},
		{"[::]:0", "[ffff::ffff]:9"},
	} {
		l, r := netip.MustParseAddrPort(tc[0]), netip.MustParseAddrPort(tc[1])
		k := MakeKey(l, r)
		if gl, gr := k.AddrPorts(); gl != l || gr != r {
			t.Errorf("MakeKey(%v, %v).AddrPorts() = %v, %v", l, r, gl, gr)
		}
	}
	// An IPv4-mapped address is the same flow as the IPv4 one.
	k := MakeKey(netip.MustParseAddrPort("[::ffff:10.0.0.1]:80"), netip.MustParseAddrPort("10.0.0.2:7"))
	if l, _ := k.AddrPorts(); l != netip.MustParseAddrPort("10.0.0.1:80") {
		t.Errorf("mapped address came back as %v", l)
	}
}

// Lookups, replacements and insert/delete cycles allocate nothing once the
// table has reached its size.
func TestAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	tab := New[*int]([4]uint64{1, 2, 3, 4})
	var keys []Key
	for i := 0; i < 1000; i++ {
		k, _, _ := key(r, 1<<16)
		keys = append(keys, k)
		tab.Set(k, new(int))
	}
	v := new(int)
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		k := keys[i%len(keys)]
		i++
		if _, ok := tab.Get(k); !ok {
			t.Fatal("key lost")
		}
		tab.Delete(k)
		tab.Set(k, v)
	}); n != 0 {
		t.Errorf("%v allocations per Get/Delete/Set", n)
	}
}

func BenchmarkGet(b *testing.B) {
	for _, n := range []int{64, 100000} {
		r := rand.New(rand.NewPCG(3, 3))
		tab := New[*int]([4]uint64{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()})
		type tuple struct{ l, r netip.AddrPort }
		ref := map[tuple]*int{}
		var keys []Key
		var tuples []tuple
		for len(keys) < n {
			l := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 1}), 80)
			rp := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}), uint16(r.IntN(65536)))
			k := MakeKey(l, rp)
			if _, ok := tab.Get(k); ok {
				continue
			}
			tab.Set(k, new(int))
			ref[tuple{l, rp}] = new(int)
			keys = append(keys, k)
			tuples = append(tuples, tuple{l, rp})
		}
		raw := make([][3]uint32, n)
		for i, t := range tuples {
			l, r := t.l.Addr().As4(), t.r.Addr().As4()
			raw[i] = [3]uint32{binary.BigEndian.Uint32(l[:]), binary.BigEndian.Uint32(r[:]), uint32(t.l.Port())<<16 | uint32(t.r.Port())}
		}
		b.Run("flowtab4/"+itoa(n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				t := &raw[i%n]
				if _, ok := tab.Get(MakeKey4(t[0], t[1], uint16(t[2]>>16), uint16(t[2]))); !ok {
					b.Fatal("miss")
				}
				i++
			}
		})
		b.Run("flowtab/"+itoa(n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				t := tuples[i%n]
				if _, ok := tab.Get(MakeKey(t.l, t.r)); !ok {
					b.Fatal("miss")
				}
				i++
			}
		})
		b.Run("map/"+itoa(n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				if ref[tuples[i%n]] == nil {
					b.Fatal("miss")
				}
				i++
			}
		})
	}
}

func itoa(n int) string {
	if n >= 1000 {
		return itoa(n/1000) + "k"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
