package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// ipv4Known is a UDP datagram's IPv4 header, 192.168.0.1 -> 192.168.0.199,
// total length 0x73, DF, TTL 64, checksum 0xb861: a commonly quoted worked
// example of the header checksum.
func ipv4Known() []byte {
	h := []byte{
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61,
		0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
	}
	p := make([]byte, 0x73-20)
	for i := range p {
		p[i] = byte(i)
	}
	return append(h, p...)
}

func TestParseIPv4Known(t *testing.T) {
	b := ipv4Known()
	h, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	checkIPv4(t, h, len(b))
	if h.HeaderLen() != 20 || h.TotalLen() != 0x73 || h.ID() != 0 || !h.DontFragment() || h.MoreFragments() ||
		h.FragOffset() != 0 || h.IsFragment() || h.TTL() != 64 || h.Protocol() != ProtoUDP || h.Checksum() != 0xb861 ||
		h.TOS() != 0 {
		t.Fatalf("fields: hl %d tl %d id %d df %v mf %v off %d ttl %d proto %d ck %#x",
			h.HeaderLen(), h.TotalLen(), h.ID(), h.DontFragment(), h.MoreFragments(), h.FragOffset(), h.TTL(), h.Protocol(), h.Checksum())
	}
	if h.Src() != netip.MustParseAddr("192.168.0.1") || h.Dst() != netip.MustParseAddr("192.168.0.199") ||
		h.Src4() != [4]byte{192, 168, 0, 1} || h.Dst4() != [4]byte{192, 168, 0, 199} {
		t.Fatalf("addresses %v %v", h.Src(), h.Dst())
	}
	if !h.ChecksumValid() {
		t.Fatal("known-good checksum does not verify")
	}
	if len(h.Options()) != 0 || !bytes.Equal(h.Payload(), b[20:]) {
		t.Fatalf("options %d bytes, payload %d bytes", len(h.Options()), len(h.Payload()))
	}
	// Recomputing gives the same value; corrupting any header byte breaks it.
	h.SetChecksum()
	if h.Checksum() != 0xb861 {
		t.Fatalf("SetChecksum wrote %#04x, want 0xb861", h.Checksum())
	}
	for i := 0; i < 20; i++ {
		c := bytes.Clone(b)
		c[i] ^= 0x10
		if IPv4(c).ChecksumValid() {
			t.Errorf("corrupt byte %d still verifies", i)
		}
	}
	// Payload bytes are not covered by the header checksum.
	b[30] ^= 0xff
	if !h.ChecksumValid() {
		t.Fatal("payload change broke the header checksum")
	}
}

// ipv4With returns the known header with bytes changed by f.
func ipv4With(f func(b []byte) []byte) []byte { return f(ipv4Known()) }

func TestParseIPv4Malformed(t *testing.T) {
	set16 := func(b []byte, off int, v uint16) []byte { binary.BigEndian.PutUint16(b[off:], v); return b }
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrTruncated},
		{"19 bytes", ipv4Known()[:19], ErrTruncated},
		{"version 6", ipv4With(func(b []byte) []byte { b[0] = 0x65; return b }), ErrBadVersion},
		{"version 0", ipv4With(func(b []byte) []byte { b[0] = 0x05; return b }), ErrBadVersion},
		{"version 15", ipv4With(func(b []byte) []byte { b[0] = 0xf5; return b }), ErrBadVersion},
		{"IHL 0", ipv4With(func(b []byte) []byte { b[0] = 0x40; return b }), ErrBadLength},
		{"IHL 4", ipv4With(func(b []byte) []byte { b[0] = 0x44; return b }), ErrBadLength},
		{"IHL 15, 20-byte buffer", ipv4With(func(b []byte) []byte { b[0] = 0x4f; return b[:20] }), ErrTruncated},
		{"IHL 6, 23-byte buffer", ipv4With(func(b []byte) []byte { b[0] = 0x46; return b[:23] }), ErrTruncated},
		{"total length 0", ipv4With(func(b []byte) []byte { return set16(b, 2, 0) }), ErrBadLength},
		{"total length 19", ipv4With(func(b []byte) []byte { return set16(b, 2, 19) }), ErrBadLength},
		{"total length below IHL*4", ipv4With(func(b []byte) []byte { b[0] = 0x48; return set16(b, 2, 28) }), ErrBadLength},
		{"total length one past buffer", ipv4With(func(b []byte) []byte { return set16(b, 2, 0x74) }), ErrTruncated},
		{"total length 65535", ipv4With(func(b []byte) []byte { return set16(b, 2, 0xffff) }), ErrTruncated},
	} {
		if h, err := ParseIPv4(tc.b); !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v (view %d bytes), want %v", tc.name, err, len(h), tc.err)
		}
	}
	// Cut anywhere short of the total length: ErrTruncated, never a view.
	full := ipv4Known()
	for n := 0; n < len(full); n++ {
		if h, err := ParseIPv4(full[:n]); !errors.Is(err, ErrTruncated) || h != nil {
			t.Fatalf("len %d: err = %v, view %d bytes", n, err, len(h))
		}
	}
}

func TestParseIPv4PaddingAndOptions(t *testing.T) {
	// A 20-byte TCP ACK in a 60-byte minimum Ethernet frame: 6 bytes of
	// padding after the 40-byte datagram are not payload.
	b := make([]byte, 46)
	PutIPv4(b, &IPv4Header{TotalLen: 40, TTL: 64, Protocol: ProtoTCP,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")})
	for i := 40; i < 46; i++ {
		b[i] = 0xee
	}
	h, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 40 || len(h.Payload()) != 20 || bytes.IndexByte(h.Payload(), 0xee) >= 0 {
		t.Fatalf("view %d bytes, payload %d bytes % x", len(h), len(h.Payload()), h.Payload())
	}

	// IHL 7: 8 option bytes (a router alert and padding) are skipped.
	opt := []byte{0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00}
	o := append([]byte{0x47, 0, 0, 32, 0x12, 0x34, 0x20, 0xb9, 1, ProtoICMP, 0, 0, 10, 0, 0, 1, 224, 0, 0, 22}, opt...)
	o = append(o, 0xde, 0xad, 0xbe, 0xef)
	IPv4(o).SetChecksum()
	h, err = ParseIPv4(o)
	if err != nil {
		t.Fatal(err)
	}
	checkIPv4(t, h, len(o))
	if h.HeaderLen() != 28 || !bytes.Equal(h.Options(), opt) || !bytes.Equal(h.Payload(), []byte{0xde, 0xad, 0xbe, 0xef}) {
		t.Fatalf("hl %d options % x payload % x", h.HeaderLen(), h.Options(), h.Payload())
	}
	if !h.ChecksumValid() {
		t.Fatal("checksum over options does not verify")
	}
	// Flags and offset: MF set, offset field 0xb9 = 185 units = 1480 bytes.
	if !h.MoreFragments() || h.DontFragment() || h.FragOffset() != 1480 || !h.IsFragment() || h.ID() != 0x1234 {
		t.Fatalf("mf %v df %v off %d frag %v id %#x", h.MoreFragments(), h.DontFragment(), h.FragOffset(), h.IsFragment(), h.ID())
	}
}

func TestIPv4FragmentFields(t *testing.T) {
	for _, tc := range []struct {
		word     uint16
		df, mf   bool
		off      int
		fragment bool
	}{
		{0x0000, false, false, 0, false},
		{0x4000, true, false, 0, false},
		{0x2000, false, true, 0, true},     // first fragment
		{0x00b9, false, false, 1480, true}, // last fragment
		{0x3fff, false, true, 65528, true},
		{0x8000, false, false, 0, false}, // reserved bit alone: not a fragment
	} {
		b := ipv4Known()
		binary.BigEndian.PutUint16(b[6:], tc.word)
		h, _ := ParseIPv4(b)
		if h.DontFragment() != tc.df || h.MoreFragments() != tc.mf || h.FragOffset() != tc.off || h.IsFragment() != tc.fragment {
			t.Errorf("%#04x: df %v mf %v off %d frag %v", tc.word, h.DontFragment(), h.MoreFragments(), h.FragOffset(), h.IsFragment())
		}
	}
}

func TestParseIPv4Partial(t *testing.T) {
	// The quote in an ICMP error: header and 8 bytes of a 1500-byte datagram.
	b := make([]byte, 28)
	PutIPv4(b, &IPv4Header{TotalLen: 1500, TTL: 1, Protocol: ProtoUDP,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")})
	if _, err := ParseIPv4(b); !errors.Is(err, ErrTruncated) {
		t.Fatalf("ParseIPv4 of a quote: %v", err)
	}
	h, err := ParseIPv4Partial(b)
	if err != nil || len(h) != 28 || h.TotalLen() != 1500 || len(h.Payload()) != 8 {
		t.Fatalf("partial: %v, view %d, totlen %d, payload %d", err, len(h), h.TotalLen(), len(h.Payload()))
	}
	// A complete datagram with padding is trimmed as ParseIPv4 does.
	k := append(ipv4Known(), 0, 0, 0)
	if h, err := ParseIPv4Partial(k); err != nil || len(h) != 0x73 {
		t.Fatalf("partial of a whole datagram: %v, %d", err, len(h))
	}
	// The header itself must still be whole and sane.
	for _, tc := range []struct {
		b   []byte
		err error
	}{
		{b[:19], ErrTruncated},
		{ipv4With(func(b []byte) []byte { b[0] = 0x45 + 0x10; return b }), ErrBadVersion},
		{ipv4With(func(b []byte) []byte { b[0] = 0x43; return b }), ErrBadLength},
		{ipv4With(func(b []byte) []byte { b[0] = 0x4f; return b[:40] }), ErrTruncated},
		{ipv4With(func(b []byte) []byte { b[2], b[3] = 0, 12; return b }), ErrBadLength},
	} {
		if _, err := ParseIPv4Partial(tc.b); !errors.Is(err, tc.err) {
			t.Errorf("% x...: err = %v, want %v", tc.b[:4], err, tc.err)
		}
	}
}

func randomIPv4Header(r *rand.Rand) IPv4Header {
	return IPv4Header{
		TOS:      uint8(r.Uint32()),
		TotalLen: uint16(20 + r.IntN(65516)),
		ID:       uint16(r.Uint32()),
		DF:       r.IntN(2) == 0,
		MF:       r.IntN(2) == 0,
		FragOff:  uint16(r.IntN(8192) * 8),
		TTL:      uint8(r.Uint32()),
		Protocol: uint8(r.Uint32()),
		Src:      netip.AddrFrom4([4]byte(binary.BigEndian.AppendUint32(nil, r.Uint32()))),
		Dst:      netip.AddrFrom4([4]byte(binary.BigEndian.AppendUint32(nil, r.Uint32()))),
	}
}

func TestPutIPv4RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	buf := make([]byte, 65535+10)
	for iter := 0; iter < 2000; iter++ {
		hd := randomIPv4Header(r)
		n, err := PutIPv4(buf, &hd)
		if err != nil || n != 20 {
			t.Fatalf("PutIPv4(%+v) = %d, %v", hd, n, err)
		}
		h, err := ParseIPv4(buf)
		if err != nil {
			t.Fatalf("parse back %+v: %v", hd, err)
		}
		checkIPv4(t, h, len(buf))
		got := IPv4Header{TOS: h.TOS(), TotalLen: uint16(h.TotalLen()), ID: h.ID(), DF: h.DontFragment(),
			MF: h.MoreFragments(), FragOff: uint16(h.FragOffset()), TTL: h.TTL(), Protocol: h.Protocol(),
			Src: h.Src(), Dst: h.Dst()}
		if got != hd {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, hd)
		}
		if !h.ChecksumValid() || Checksum(buf[:20]) != 0 || referenceSum(buf[:20], 0) != 0xffff {
			t.Fatalf("built checksum does not verify: %+v", hd)
		}
		// Byte-exact against summing the written header (PutIPv4 sums
		// the field values instead).
		var zeroed [20]byte
		copy(zeroed[:], buf[:20])
		zeroed[10], zeroed[11] = 0, 0
		if want := Checksum(zeroed[:]); binary.BigEndian.Uint16(buf[10:12]) != want {
			t.Fatalf("checksum field %#04x, summing the bytes gives %#04x: %+v", binary.BigEndian.Uint16(buf[10:12]), want, hd)
		}
		if len(h.Payload()) != int(hd.TotalLen)-20 {
			t.Fatalf("payload %d for total length %d", len(h.Payload()), hd.TotalLen)
		}
	}
	// IPv4-mapped addresses are written as IPv4.
	hd := IPv4Header{TotalLen: 20, Src: netip.MustParseAddr("::ffff:10.1.2.3"), Dst: netip.MustParseAddr("10.3.2.1")}
	if _, err := PutIPv4(buf, &hd); err != nil {
		t.Fatal(err)
	}
	if h, _ := ParseIPv4(buf); h.Src() != netip.MustParseAddr("10.1.2.3") {
		t.Fatalf("mapped source written as %v", h.Src())
	}
}

func TestPutIPv4Errors(t *testing.T) {
	ok := IPv4Header{TotalLen: 40, TTL: 64, Protocol: ProtoTCP, Src: arpIPA, Dst: arpIPB}
	b := make([]byte, 40)
	for _, tc := range []struct {
		name string
		b    []byte
		mod  func(h *IPv4Header)
		err  error
	}{
		{"19-byte buffer", b[:19], func(*IPv4Header) {}, ErrShortBuffer},
		{"total length 19", b, func(h *IPv4Header) { h.TotalLen = 19 }, ErrBadLength},
		{"fragment offset 1", b, func(h *IPv4Header) { h.FragOff = 1 }, ErrBadLength},
		{"fragment offset 1484", b, func(h *IPv4Header) { h.FragOff = 1484 }, ErrBadLength},
		{"IPv6 source", b, func(h *IPv4Header) { h.Src = netip.MustParseAddr("2001:db8::1") }, ErrUnsupported},
		{"zero destination", b, func(h *IPv4Header) { h.Dst = netip.Addr{} }, ErrUnsupported},
	} {
		h := ok
		tc.mod(&h)
		if n, err := PutIPv4(tc.b, &h); !errors.Is(err, tc.err) || n != 0 {
			t.Errorf("%s: %d, %v; want %v", tc.name, n, err, tc.err)
		}
	}
}

func TestIPv4Setters(t *testing.T) {
	b := ipv4Known()
	h, _ := ParseIPv4(b)
	h.SetTTL(3)
	h.SetTOS(0xb8)
	h.SetID(0xbeef)
	h.SetProtocol(ProtoTCP)
	h.SetSrc(netip.MustParseAddr("198.51.100.7"))
	h.SetDst4([4]byte{203, 0, 113, 9})
	h.SetTotalLen(0x73)
	if h.ChecksumValid() {
		t.Fatal("checksum still valid after changes without SetChecksum")
	}
	h.SetChecksum()
	if !h.ChecksumValid() || h.TTL() != 3 || h.TOS() != 0xb8 || h.ID() != 0xbeef || h.Protocol() != ProtoTCP ||
		h.Src() != netip.MustParseAddr("198.51.100.7") || h.Dst4() != [4]byte{203, 0, 113, 9} {
		t.Fatalf("setters: %v %d %#x %#x %d %v %v", h.ChecksumValid(), h.TTL(), h.TOS(), h.ID(), h.Protocol(), h.Src(), h.Dst())
	}
	// Non-IPv4 addresses are ignored, IPv4-mapped ones accepted.
	h.SetDst(netip.MustParseAddr("2001:db8::1"))
	h.SetSrc(netip.Addr{})
	if h.Dst4() != [4]byte{203, 0, 113, 9} || h.Src() != netip.MustParseAddr("198.51.100.7") {
		t.Fatalf("non-IPv4 address written: %v %v", h.Src(), h.Dst())
	}
	h.SetDst(netip.MustParseAddr("::ffff:192.0.2.33"))
	h.SetSrc4([4]byte{192, 0, 2, 44})
	if h.Dst() != netip.MustParseAddr("192.0.2.33") || h.Src() != netip.MustParseAddr("192.0.2.44") {
		t.Fatalf("mapped address: %v", h.Dst())
	}
}

func TestIPv4DecTTLIncremental(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	b := make([]byte, 60)
	for iter := 0; iter < 2000; iter++ {
		hd := randomIPv4Header(r)
		hd.TotalLen = 60
		PutIPv4(b, &hd)
		if r.IntN(2) == 0 { // with options
			b[0] = 0x40 | byte(5+r.IntN(11))
			randomBytes(r, b[20:b[0]&0xf*4])
			IPv4(b).SetChecksum()
		}
		h, err := ParseIPv4(b)
		if err != nil {
			t.Fatal(err)
		}
		ttl := h.TTL()
		got := h.DecTTL()
		switch {
		case ttl == 0 && (got != 0 || h.TTL() != 0):
			t.Fatalf("TTL 0 decremented to %d", got)
		case ttl != 0 && (got != ttl-1 || h.TTL() != ttl-1):
			t.Fatalf("TTL %d became %d (%d)", ttl, h.TTL(), got)
		}
		inc := h.Checksum()
		h.SetChecksum()
		if inc != h.Checksum() || !h.ChecksumValid() {
			t.Fatalf("TTL %d: incremental %#04x, recomputed %#04x", ttl, inc, h.Checksum())
		}
	}
}

func TestIPv4NoAllocs(t *testing.T) {
	b := make([]byte, 1500)
	hd := IPv4Header{TotalLen: 1500, DF: true, TTL: 64, Protocol: ProtoTCP, Src: arpIPA, Dst: arpIPB}
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		n, err := PutIPv4(b, &hd)
		if err != nil {
			panic(err)
		}
		h, err := ParseIPv4(b)
		if err != nil {
			panic(err)
		}
		if h.ChecksumValid() && h.Src() != h.Dst() {
			sink += n + len(h.Payload()) + len(h.Options()) + h.FragOffset()
		}
		h.SetTTL(h.TTL())
		h.SetChecksum()
		if _, err := ParseIPv4(b[:10]); err == nil {
			panic("no error")
		}
		if _, err := PutIPv4(b[:2], &hd); err == nil {
			panic("no error")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

// checkIPv4 calls every accessor of a parsed datagram and checks the
// invariants that hold whatever the bytes are; bufLen is the length of the
// buffer it was parsed from.
func checkIPv4(t *testing.T, h IPv4, bufLen int) {
	t.Helper()
	hl, tl := h.HeaderLen(), h.TotalLen()
	if hl < 20 || hl > 60 || hl%4 != 0 || hl > len(h) {
		t.Fatalf("HeaderLen %d, view %d", hl, len(h))
	}
	if len(h) > bufLen || (len(h) != tl && len(h) != bufLen) {
		t.Fatalf("view %d bytes, total length %d, buffer %d", len(h), tl, bufLen)
	}
	if len(h.Options()) != hl-20 || len(h.Payload()) != len(h)-hl || len(h.Payload()) > bufLen {
		t.Fatalf("options %d payload %d for header %d view %d", len(h.Options()), len(h.Payload()), hl, len(h))
	}
	if h.FragOffset()%8 != 0 || h.FragOffset() > 65528 {
		t.Fatalf("FragOffset %d", h.FragOffset())
	}
	if h.IsFragment() != (h.MoreFragments() || h.FragOffset() != 0) {
		t.Fatal("IsFragment disagrees with MF and offset")
	}
	if !h.Src().Is4() || !h.Dst().Is4() || h.Src().As4() != h.Src4() || h.Dst().As4() != h.Dst4() {
		t.Fatal("address accessors disagree")
	}
	_, _, _, _, _ = h.ID(), h.DontFragment(), h.TTL(), h.Protocol(), h.TOS()
	valid := h.ChecksumValid()
	c := IPv4(bytes.Clone(h))
	stored := c.Checksum()
	c.SetChecksum()
	// A header whose computed checksum is 0x0000 also verifies with
	// 0xffff stored (the other ones'-complement zero); the reverse needs
	// an all-zero header, which version 4 rules out.
	same := c.Checksum() == stored || (c.Checksum() == 0 && stored == 0xffff)
	if !c.ChecksumValid() || valid != same {
		t.Fatalf("ChecksumValid %v, stored %#04x, computed %#04x", valid, stored, c.Checksum())
	}
	// A forwarding hop's incremental TTL update keeps it valid.
	ttl := c.TTL()
	if got := c.DecTTL(); (ttl > 0 && got != ttl-1) || (ttl == 0 && got != 0) || !c.ChecksumValid() {
		t.Fatalf("DecTTL from %d: %d, valid %v", ttl, got, c.ChecksumValid())
	}
}

func FuzzIPv4(f *testing.F) {
	f.Add(ipv4Known())
	f.Add(append(ipv4Known(), 0, 0, 0, 0, 0, 0))
	f.Add(ipv4Known()[:28])
	f.Add([]byte{0x4f, 0, 0, 60, 0, 0, 0x3f, 0xff, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x94, 4, 0, 0})
	f.Add([]byte{0x46, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, perr := ParseIPv4Partial(b)
		h, err := ParseIPv4(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadLength) && !errors.Is(err, ErrBadVersion) {
				t.Fatalf("unexpected error kind %v", err)
			}
			if perr == nil {
				// Only a datagram cut short may parse partially.
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("partial parse accepted what failed with %v", err)
				}
				checkIPv4(t, p, len(b))
			}
			return
		}
		if perr != nil || len(p) != len(h) {
			t.Fatalf("partial parse disagrees: %v, %d vs %d", perr, len(p), len(h))
		}
		checkIPv4(t, h, len(b))
		if len(h) != h.TotalLen() {
			t.Fatalf("view %d, total length %d", len(h), h.TotalLen())
		}
	})
}

func BenchmarkIPv4(b *testing.B) {
	buf := make([]byte, 1500)
	hd := IPv4Header{TotalLen: 1500, DF: true, TTL: 64, Protocol: ProtoTCP, Src: arpIPA, Dst: arpIPB}
	PutIPv4(buf, &hd)
	b.Run("Parse", func(b *testing.B) {
		var sink int
		for b.Loop() {
			h, _ := ParseIPv4(buf)
			sink += int(h.Protocol()) + len(h.Payload())
		}
	})
	b.Run("ParseVerify", func(b *testing.B) {
		var sink int
		for b.Loop() {
			h, _ := ParseIPv4(buf)
			if h.ChecksumValid() {
				sink += len(h.Payload())
			}
		}
	})
	b.Run("Put", func(b *testing.B) {
		for b.Loop() {
			PutIPv4(buf, &hd)
		}
	})
	b.Run("DecTTL", func(b *testing.B) {
		h := IPv4(buf)
		for b.Loop() {
			h.SetTTL(64)
			h.DecTTL()
		}
	})
}

func TestIPv4AccessorsAfterIHLRewrite(t *testing.T) {
	// Views stay in bounds even if the header is scribbled on after parsing.
	b := ipv4Known()
	h, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []byte{0x40, 0x44, 0x4f} {
		h[0] = v
		if hl := h.HeaderLen(); hl < 20 || hl > len(h) || len(h.Options()) != hl-20 || len(h.Payload()) != len(h)-hl {
			t.Fatalf("IHL byte %#x: HeaderLen %d", v, hl)
		}
		_ = h.ChecksumValid()
	}
}

// PutIPv4Raw writes exactly what PutIPv4 writes for the same fields.
func TestPutIPv4RawMatchesPutIPv4(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	var want, got [24]byte
	for iter := 0; iter < 2000; iter++ {
		hd := randomIPv4Header(r)
		if _, err := PutIPv4(want[:], &hd); err != nil {
			t.Fatal(err)
		}
		ff := hd.FragOff / 8
		if hd.DF {
			ff |= 0x4000
		}
		if hd.MF {
			ff |= 0x2000
		}
		s, d := hd.Src.As4(), hd.Dst.As4()
		got = [24]byte{20: 0xaa, 0xbb, 0xcc, 0xdd}
		n, err := PutIPv4Raw(got[:], hd.TOS, hd.TotalLen, hd.ID, ff, hd.TTL, hd.Protocol,
			binary.BigEndian.Uint32(s[:]), binary.BigEndian.Uint32(d[:]))
		if err != nil || n != 20 || !bytes.Equal(got[:20], want[:20]) {
			t.Fatalf("%+v: PutIPv4Raw = %d, %v\n% x\nPutIPv4:\n% x", hd, n, err, got[:20], want[:20])
		}
		if got[20] != 0xaa || got[23] != 0xdd {
			t.Fatal("PutIPv4Raw wrote past the header")
		}
	}
	if _, err := PutIPv4Raw(got[:19], 0, 20, 0, 0, 64, ProtoTCP, 1, 2); !errors.Is(err, ErrShortBuffer) {
		t.Fatal("short buffer accepted")
	}
	if _, err := PutIPv4Raw(got[:], 0, 19, 0, 0, 64, ProtoTCP, 1, 2); err == nil {
		t.Fatal("total length below 20 accepted")
	}
}
