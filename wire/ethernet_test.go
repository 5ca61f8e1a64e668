package wire

import (
	"bytes"
	"errors"
	"testing"
)

var (
	testMACA = MAC{0x02, 0, 0, 0, 0, 0xa}
	testMACB = MAC{0x02, 0, 0, 0, 0, 0xb}
)

// ethFrame builds dst, src, then the given 16-bit words, then payload.
func ethFrame(words []uint16, payload ...byte) []byte {
	b := append(append([]byte{}, testMACB[:]...), testMACA[:]...)
	for _, w := range words {
		b = append(b, byte(w>>8), byte(w))
	}
	return append(b, payload...)
}

func TestParseEthernet(t *testing.T) {
	for _, tc := range []struct {
		name      string
		b         []byte
		err       error
		hdr       int
		etherType uint16
		vlan      int // -1 untagged
		inner     int // -1 none
	}{
		{"untagged", ethFrame([]uint16{EtherTypeIPv4}, 0x45), nil, 14, EtherTypeIPv4, -1, -1},
		{"untagged empty payload", ethFrame([]uint16{EtherTypeARP}), nil, 14, EtherTypeARP, -1, -1},
		{"802.3 length", ethFrame([]uint16{0x0026}, 0x42, 0x42, 3), nil, 14, 0x0026, -1, -1},
		{"dot1q", ethFrame([]uint16{EtherTypeVLAN, 0xa064, EtherTypeIPv6}, 0x60), nil, 18, EtherTypeIPv6, 100, -1},
		{"dot1q vid 4095", ethFrame([]uint16{EtherTypeVLAN, 0x0fff, EtherTypeARP}), nil, 18, EtherTypeARP, 4095, -1},
		{"qinq 88a8", ethFrame([]uint16{EtherTypeQinQ, 0x0010, EtherTypeVLAN, 0x0020, EtherTypeIPv4}), nil, 22, EtherTypeIPv4, 16, 32},
		{"qinq 8100x2", ethFrame([]uint16{EtherTypeVLAN, 0x0010, EtherTypeVLAN, 0x0020, EtherTypeIPv4}), nil, 22, EtherTypeIPv4, 16, 32},
		{"s-tag only", ethFrame([]uint16{EtherTypeQinQ, 0x0007, EtherTypeIPv4}), nil, 18, EtherTypeIPv4, 7, -1},
		{"three tags", ethFrame([]uint16{EtherTypeQinQ, 1, EtherTypeVLAN, 2, EtherTypeVLAN, 3, EtherTypeIPv4}), nil, 22, EtherTypeVLAN, 1, 2},
		{"empty", nil, ErrTruncated, 0, 0, 0, 0},
		{"13 bytes", ethFrame(nil, 0x08), ErrTruncated, 0, 0, 0, 0},
		{"tag cut", ethFrame([]uint16{EtherTypeVLAN, 0x0001}, 0x08), ErrTruncated, 0, 0, 0, 0},
		{"inner tag cut", ethFrame([]uint16{EtherTypeQinQ, 1, EtherTypeVLAN, 2}, 0x08), ErrTruncated, 0, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseEthernet(tc.b)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkEthernet(t, e)
			if e.Dst() != testMACB || e.Src() != testMACA {
				t.Errorf("dst %v src %v", e.Dst(), e.Src())
			}
			if e.HeaderLen() != tc.hdr || e.EtherType() != tc.etherType {
				t.Errorf("HeaderLen %d EtherType %#04x, want %d %#04x", e.HeaderLen(), e.EtherType(), tc.hdr, tc.etherType)
			}
			if id, ok := e.VLAN(); ok != (tc.vlan >= 0) || (ok && int(id) != tc.vlan) {
				t.Errorf("VLAN() = %d %v, want %d", id, ok, tc.vlan)
			}
			if id, ok := e.InnerVLAN(); ok != (tc.inner >= 0) || (ok && int(id) != tc.inner) {
				t.Errorf("InnerVLAN() = %d %v, want %d", id, ok, tc.inner)
			}
			if !bytes.Equal(e.Payload(), tc.b[tc.hdr:]) {
				t.Errorf("Payload % x, want % x", e.Payload(), tc.b[tc.hdr:])
			}
		})
	}
}

func TestParseEthernetTruncatedEverywhere(t *testing.T) {
	for _, full := range [][]byte{
		ethFrame([]uint16{EtherTypeIPv4}),
		ethFrame([]uint16{EtherTypeVLAN, 5, EtherTypeIPv4}),
		ethFrame([]uint16{EtherTypeQinQ, 5, EtherTypeVLAN, 6, EtherTypeIPv4}),
	} {
		for n := 0; n < len(full); n++ {
			if _, err := ParseEthernet(full[:n]); !errors.Is(err, ErrTruncated) {
				t.Errorf("len %d of %d: err = %v, want ErrTruncated", n, len(full), err)
			}
		}
		if _, err := ParseEthernet(full); err != nil {
			t.Errorf("full frame: %v", err)
		}
	}
}

func TestPutEthernetRoundTrip(t *testing.T) {
	b := make([]byte, 64)
	n, err := PutEthernet(b, BroadcastMAC(), testMACA, EtherTypeARP)
	if err != nil || n != EthernetHeaderLen {
		t.Fatalf("PutEthernet = %d, %v", n, err)
	}
	want := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0xa, 0x08, 0x06}
	if !bytes.Equal(b[:n], want) {
		t.Fatalf("header % x, want % x", b[:n], want)
	}
	e, err := ParseEthernet(b)
	if err != nil || e.Dst() != BroadcastMAC() || e.Src() != testMACA || e.EtherType() != EtherTypeARP || len(e.Payload()) != 50 {
		t.Fatalf("parse back: %v %v %v %#x %d", err, e.Dst(), e.Src(), e.EtherType(), len(e.Payload()))
	}
	e.SetDst(testMACB)
	e.SetSrc(BroadcastMAC())
	if e.Dst() != testMACB || e.Src() != BroadcastMAC() {
		t.Fatalf("setters: %v %v", e.Dst(), e.Src())
	}

	n, err = PutEthernetVLAN(b, testMACB, testMACA, 4000, 5, EtherTypeIPv6)
	if err != nil || n != 18 {
		t.Fatalf("PutEthernetVLAN = %d, %v", n, err)
	}
	e, err = ParseEthernet(b[:n])
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := e.VLAN(); !ok || id != 4000 || e.VLANPriority() != 5 || e.EtherType() != EtherTypeIPv6 || e.HeaderLen() != 18 {
		t.Fatalf("tagged: vid %d %v pcp %d type %#x hlen %d", id, ok, e.VLANPriority(), e.EtherType(), e.HeaderLen())
	}
}

func TestPutEthernetErrors(t *testing.T) {
	if _, err := PutEthernet(make([]byte, 13), testMACA, testMACB, EtherTypeIPv4); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short: %v", err)
	}
	if _, err := PutEthernetVLAN(make([]byte, 17), testMACA, testMACB, 1, 0, EtherTypeIPv4); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short tagged: %v", err)
	}
	if _, err := PutEthernetVLAN(make([]byte, 18), testMACA, testMACB, 4096, 0, EtherTypeIPv4); !errors.Is(err, ErrUnsupported) {
		t.Errorf("vid 4096: %v", err)
	}
}

func TestEthernetNoAllocs(t *testing.T) {
	b := make([]byte, 60)
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		n, _ := PutEthernet(b, testMACB, testMACA, EtherTypeIPv4)
		e, err := ParseEthernet(b)
		if err != nil {
			panic(err)
		}
		id, _ := e.VLAN()
		sink += n + len(e.Payload()) + int(e.EtherType()) + int(id) + int(e.Dst()[5])
		_, err = ParseEthernet(b[:3])
		if err == nil {
			panic("no error")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

// checkEthernet calls every accessor of a parsed frame and checks the
// invariants that hold whatever the bytes are.
func checkEthernet(t *testing.T, e Ethernet) {
	t.Helper()
	_ = e.Dst().String()
	_ = e.Src().IsMulticast()
	hl := e.HeaderLen()
	if hl != 14 && hl != 18 && hl != 22 {
		t.Fatalf("HeaderLen %d", hl)
	}
	if hl > len(e) || len(e.Payload()) != len(e)-hl {
		t.Fatalf("HeaderLen %d Payload %d len %d", hl, len(e.Payload()), len(e))
	}
	_ = e.EtherType()
	_, tagged := e.VLAN()
	_, inner := e.InnerVLAN()
	_ = e.VLANPriority()
	if tagged != (hl >= 18) || inner != (hl == 22) {
		t.Fatalf("tags: %v %v with header %d", tagged, inner, hl)
	}
}

func FuzzEthernet(f *testing.F) {
	f.Add(ethFrame([]uint16{EtherTypeIPv4}, 0x45, 0))
	f.Add(ethFrame([]uint16{EtherTypeVLAN, 0xa064, EtherTypeIPv6}))
	f.Add(ethFrame([]uint16{EtherTypeQinQ, 1, EtherTypeVLAN, 2, EtherTypeARP}))
	f.Add(ethFrame([]uint16{EtherTypeQinQ, 1, EtherTypeVLAN}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEthernet(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("unexpected error kind %v", err)
			}
			return
		}
		checkEthernet(t, e)
		if len(e) != len(b) {
			t.Fatalf("view %d bytes of %d", len(e), len(b))
		}
	})
}

func BenchmarkEthernet(b *testing.B) {
	frame := make([]byte, 1514)
	b.Run("Parse", func(b *testing.B) {
		PutEthernet(frame, testMACB, testMACA, EtherTypeIPv4)
		var sink int
		for b.Loop() {
			e, _ := ParseEthernet(frame)
			sink += int(e.EtherType()) + len(e.Payload())
		}
	})
	b.Run("Put", func(b *testing.B) {
		for b.Loop() {
			PutEthernet(frame, testMACB, testMACA, EtherTypeIPv4)
		}
	})
}
