package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

var (
	arpIPA = netip.MustParseAddr("192.0.2.1")
	arpIPB = netip.MustParseAddr("192.0.2.2")
)

// arpRequestBytes is a who-has 192.0.2.2 tell 192.0.2.1 from 02:..:0a,
// written out field by field from RFC 826.
func arpRequestBytes() []byte {
	return []byte{
		0x00, 0x01, // hardware type Ethernet
		0x08, 0x00, // protocol type IPv4
		6, 4, // address lengths
		0x00, 0x01, // request
		0x02, 0, 0, 0, 0, 0x0a, 192, 0, 2, 1, // sender
		0, 0, 0, 0, 0, 0, 192, 0, 2, 2, // target
	}
}

func TestParseARP(t *testing.T) {
	a, err := ParseARP(arpRequestBytes())
	if err != nil {
		t.Fatal(err)
	}
	checkARP(t, a)
	if a.Op() != ARPRequest || a.SenderMAC() != testMACA || a.SenderIP() != arpIPA ||
		!a.TargetMAC().IsZero() || a.TargetIP() != arpIPB || a.IsGratuitous() {
		t.Fatalf("fields: op %d %v %v %v %v", a.Op(), a.SenderMAC(), a.SenderIP(), a.TargetMAC(), a.TargetIP())
	}

	// Hardware type 6 (IEEE 802) is taken as Ethernet, as Linux does.
	ieee := arpRequestBytes()
	ieee[1] = 6
	if a, err := ParseARP(ieee); err != nil || a.SenderIP() != arpIPA {
		t.Fatalf("hardware type 6: %v", err)
	}

	// Ethernet pads ARP to 46 bytes: the view drops the padding.
	padded := append(arpRequestBytes(), make([]byte, 18)...)
	if a, err := ParseARP(padded); err != nil || len(a) != ARPLen {
		t.Fatalf("padded: len %d, %v", len(a), err)
	}

	bad := func(i int, v byte) []byte { b := arpRequestBytes(); b[i] = v; return b }
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
	}{
		{"hardware type 7 (ARCNET)", bad(1, 7), ErrUnsupported},
		{"hardware type 0", bad(1, 0), ErrUnsupported},
		{"hardware type 0x0101", bad(0, 1), ErrUnsupported},
		{"protocol type IPv6", bad(2, 0x86), ErrUnsupported},
		{"protocol type 0x0801", bad(3, 1), ErrUnsupported},
		{"hardware length 8", bad(4, 8), ErrUnsupported},
		{"protocol length 16", bad(5, 16), ErrUnsupported},
		{"op 0", bad(7, 0), ErrUnsupported},
		{"op RARP request", bad(7, 3), ErrUnsupported},
		{"op 0x0101", bad(6, 1), ErrUnsupported},
	} {
		if _, err := ParseARP(tc.b); !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
		}
	}
	full := arpRequestBytes()
	for n := 0; n < len(full); n++ {
		if _, err := ParseARP(full[:n]); !errors.Is(err, ErrTruncated) {
			t.Errorf("len %d: err = %v, want ErrTruncated", n, err)
		}
	}
}

func TestPutARPRoundTrip(t *testing.T) {
	b := make([]byte, 46)
	n, err := PutARP(b, ARPRequest, testMACA, arpIPA, MAC{}, arpIPB)
	if err != nil || n != ARPLen {
		t.Fatalf("PutARP = %d, %v", n, err)
	}
	if !bytes.Equal(b[:n], arpRequestBytes()) {
		t.Fatalf("request\n% x, want\n% x", b[:n], arpRequestBytes())
	}
	// A reply, with an IPv4-mapped address accepted as IPv4.
	n, err = PutARP(b, ARPReply, testMACB, netip.MustParseAddr("::ffff:192.0.2.2"), testMACA, arpIPA)
	if err != nil || n != ARPLen {
		t.Fatalf("PutARP reply = %d, %v", n, err)
	}
	a, err := ParseARP(b[:n])
	if err != nil {
		t.Fatal(err)
	}
	if a.Op() != ARPReply || a.SenderMAC() != testMACB || a.SenderIP() != arpIPB || a.TargetMAC() != testMACA || a.TargetIP() != arpIPA {
		t.Fatalf("reply fields: %d %v %v %v %v", a.Op(), a.SenderMAC(), a.SenderIP(), a.TargetMAC(), a.TargetIP())
	}
	// Gratuitous ARP: sender and target protocol addresses equal.
	PutARP(b, ARPRequest, testMACA, arpIPA, MAC{}, arpIPA)
	if a, _ := ParseARP(b); !a.IsGratuitous() {
		t.Fatal("gratuitous not recognised")
	}
}

func TestPutARPErrors(t *testing.T) {
	b := make([]byte, ARPLen)
	if _, err := PutARP(b[:27], ARPRequest, testMACA, arpIPA, MAC{}, arpIPB); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short: %v", err)
	}
	if _, err := PutARP(b, 3, testMACA, arpIPA, MAC{}, arpIPB); !errors.Is(err, ErrUnsupported) {
		t.Errorf("op 3: %v", err)
	}
	if _, err := PutARP(b, ARPRequest, testMACA, netip.MustParseAddr("2001:db8::1"), MAC{}, arpIPB); !errors.Is(err, ErrUnsupported) {
		t.Errorf("IPv6 sender: %v", err)
	}
	if _, err := PutARP(b, ARPRequest, testMACA, arpIPA, MAC{}, netip.Addr{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("zero target: %v", err)
	}
}

func TestARPNoAllocs(t *testing.T) {
	b := make([]byte, 46)
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		n, err := PutARP(b, ARPReply, testMACA, arpIPA, testMACB, arpIPB)
		if err != nil {
			panic(err)
		}
		a, err := ParseARP(b)
		if err != nil {
			panic(err)
		}
		if a.SenderIP() == a.TargetIP() {
			sink++
		}
		sink += n + int(a.Op()) + int(a.TargetMAC()[0])
		if _, err := ParseARP(b[:27]); err == nil {
			panic("no error")
		}
		if _, err := PutARP(b, 9, testMACA, arpIPA, testMACB, arpIPB); err == nil {
			panic("no error")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

func checkARP(t *testing.T, a ARP) {
	t.Helper()
	if len(a) != ARPLen {
		t.Fatalf("view length %d", len(a))
	}
	if op := a.Op(); op != ARPRequest && op != ARPReply {
		t.Fatalf("op %d accepted", op)
	}
	if !a.SenderIP().Is4() || !a.TargetIP().Is4() {
		t.Fatal("addresses not IPv4")
	}
	_ = a.SenderMAC()
	_ = a.TargetMAC()
	_ = a.IsGratuitous()
	_ = a.SenderIP4()
	_ = a.TargetIP4()
}

func FuzzARP(f *testing.F) {
	f.Add(arpRequestBytes())
	f.Add(append(arpRequestBytes(), 0, 0, 0))
	f.Add(arpRequestBytes()[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseARP(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unexpected error kind %v", err)
			}
			return
		}
		checkARP(t, a)
		// Rebuilding from the fields gives the same bytes.
		var c [ARPLen]byte
		if _, err := PutARP(c[:], a.Op(), a.SenderMAC(), a.SenderIP(), a.TargetMAC(), a.TargetIP()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c[2:], a[2:]) { // the hardware type may be 1 or 6
			t.Fatalf("rebuilt % x, parsed % x", c, a)
		}
	})
}

func BenchmarkARP(b *testing.B) {
	buf := make([]byte, 46)
	b.Run("Parse", func(b *testing.B) {
		PutARP(buf, ARPRequest, testMACA, arpIPA, MAC{}, arpIPB)
		var sink int
		for b.Loop() {
			a, _ := ParseARP(buf)
			sink += int(a.Op())
			if a.TargetIP() == arpIPB {
				sink++
			}
		}
	})
	b.Run("Put", func(b *testing.B) {
		for b.Loop() {
			PutARP(buf, ARPReply, testMACA, arpIPA, testMACB, arpIPB)
		}
	})
}
