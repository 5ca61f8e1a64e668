package wire_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/ustack/ustack/wire"
)

var (
	w2Src6 = netip.MustParseAddr("2001:db8::1")
	w2Dst6 = netip.MustParseAddr("fe80::1:2:3:4")
)

// w2V6Header is a hand-written fixed header: traffic class 0xab, flow
// label 0x12345, payload length plen, next header nh, hop limit 64,
// 2001:db8::1 -> fe80::1:2:3:4.
func w2V6Header(plen int, nh uint8) []byte {
	return []byte{
		0x6a, 0xb1, 0x23, 0x45,
		byte(plen >> 8), byte(plen), nh, 64,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4,
	}
}

// w2V6Packet joins a fixed header naming the first of the headers with the
// headers themselves and sets the payload length. Each ext is a complete
// header whose first byte (Next Header) the caller has filled.
func w2V6Packet(first uint8, parts ...[]byte) []byte {
	body := w2Bytes(parts...)
	return append(w2V6Header(len(body), first), body...)
}

// w2Ext is an extension header in the 8-octet-unit format (hop-by-hop,
// routing, destination options) of total length 8*(units+1), padded with
// PadN-like filler.
func w2Ext(next uint8, units int) []byte {
	b := make([]byte, 8*(units+1))
	b[0], b[1] = next, byte(units)
	return b
}

// w2AH is an authentication header of total length 4*(words+2).
func w2AH(next uint8, words int) []byte {
	b := make([]byte, 4*(words+2))
	b[0], b[1] = next, byte(words)
	return b
}

func w2FragHdr(next uint8, off int, more bool, id uint32) []byte {
	fo := uint16(off)
	if more {
		fo |= 1
	}
	return []byte{next, 0, byte(fo >> 8), byte(fo), byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
}

func TestParseIPv6Fields(t *testing.T) {
	pkt := w2V6Packet(wire.ProtoUDP, []byte("12345678"))
	pkt = append(pkt, 0, 0, 0, 0) // link padding
	h, err := wire.ParseIPv6(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 48 {
		t.Errorf("view length %d, want 48 (padding trimmed)", len(h))
	}
	if h.TrafficClass() != 0xab || h.FlowLabel() != 0x12345 || h.PayloadLen() != 8 ||
		h.NextHeader() != wire.ProtoUDP || h.HopLimit() != 64 {
		t.Errorf("tc %#x fl %#x plen %d nh %d hl %d", h.TrafficClass(), h.FlowLabel(), h.PayloadLen(), h.NextHeader(), h.HopLimit())
	}
	if h.Src() != w2Src6 || h.Dst() != w2Dst6 || h.Src16() != w2Src6.As16() || h.Dst16() != w2Dst6.As16() {
		t.Errorf("src %v dst %v", h.Src(), h.Dst())
	}
	if string(h.Payload()) != "12345678" {
		t.Errorf("payload %q", h.Payload())
	}
	h.SetTrafficClass(0x5c)
	h.SetFlowLabel(0xfffff)
	h.SetPayloadLen(8)
	h.SetNextHeader(wire.ProtoTCP)
	h.SetHopLimit(1)
	h.SetSrc(w2Dst6)
	h.SetDst(w2Src6)
	h.SetSrc(netip.MustParseAddr("10.0.0.1")) // ignored: not IPv6
	want := []byte{0x65, 0xcf, 0xff, 0xff, 0, 8, 6, 1}
	if !bytes.Equal(pkt[:8], want) || h.Src() != w2Dst6 || h.Dst() != w2Src6 {
		t.Errorf("after setters: % x src %v dst %v", pkt[:8], h.Src(), h.Dst())
	}
	h.SetFlowLabel(0x1234567)
	if h.FlowLabel() != 0x34567 || h.TrafficClass() != 0x5c {
		t.Errorf("SetFlowLabel spilled: fl %#x tc %#x", h.FlowLabel(), h.TrafficClass())
	}
}

func TestParseIPv6Malformed(t *testing.T) {
	pkt := w2V6Packet(wire.ProtoUDP, []byte("12345678"))
	for n := 0; n < wire.IPv6HeaderLen; n++ {
		if _, err := wire.ParseIPv6(pkt[:n]); !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("len %d: err = %v, want ErrTruncated", n, err)
		}
		if _, err := wire.ParseIPv6Partial(pkt[:n]); !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("partial len %d: err = %v, want ErrTruncated", n, err)
		}
	}
	for n := wire.IPv6HeaderLen; n < len(pkt); n++ {
		if _, err := wire.ParseIPv6(pkt[:n]); !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("payload cut at %d: err = %v, want ErrTruncated", n, err)
		}
		h, err := wire.ParseIPv6Partial(pkt[:n])
		if err != nil || len(h) != n || h.PayloadLen() != 8 {
			t.Errorf("partial cut at %d: len %d err %v", n, len(h), err)
		}
	}
	for _, v := range []byte{0, 4, 5, 7, 15} {
		b := append([]byte{}, pkt...)
		b[0] = v<<4 | b[0]&0x0f
		if _, err := wire.ParseIPv6(b); !errors.Is(err, wire.ErrBadVersion) {
			t.Errorf("version %d: err = %v", v, err)
		}
		if _, err := wire.ParseIPv6Partial(b); !errors.Is(err, wire.ErrBadVersion) {
			t.Errorf("partial version %d: err = %v", v, err)
		}
	}
}

func TestPutIPv6(t *testing.T) {
	hdr := wire.IPv6Header{TrafficClass: 0xab, FlowLabel: 0x12345, PayloadLen: 8, NextHeader: wire.ProtoUDP,
		HopLimit: 64, Src: w2Src6, Dst: w2Dst6}
	b := bytes.Repeat([]byte{0xee}, 41)
	n, err := wire.PutIPv6(b, &hdr)
	if err != nil || n != 40 {
		t.Fatalf("PutIPv6 = %d, %v", n, err)
	}
	if want := w2V6Header(8, wire.ProtoUDP); !bytes.Equal(b[:40], want) || b[40] != 0xee {
		t.Errorf("PutIPv6\n got % x\nwant % x", b[:41], want)
	}
	if _, err := wire.PutIPv6(b[:39], &hdr); !errors.Is(err, wire.ErrShortBuffer) {
		t.Errorf("short: %v", err)
	}
	bad := hdr
	bad.Src = netip.MustParseAddr("192.0.2.1")
	if _, err := wire.PutIPv6(b, &bad); !errors.Is(err, wire.ErrUnsupported) {
		t.Errorf("IPv4 source: %v", err)
	}
	bad = hdr
	bad.Dst = netip.Addr{}
	if _, err := wire.PutIPv6(b, &bad); !errors.Is(err, wire.ErrUnsupported) {
		t.Errorf("zero destination: %v", err)
	}
	bad = hdr
	bad.FlowLabel = 1 << 20
	if _, err := wire.PutIPv6(b, &bad); !errors.Is(err, wire.ErrUnsupported) {
		t.Errorf("21-bit flow label: %v", err)
	}
	// A mapped address is IPv6 and is written as such.
	m := hdr
	m.Src = netip.MustParseAddr("::ffff:192.0.2.1")
	if _, err := wire.PutIPv6(b, &m); err != nil {
		t.Errorf("mapped source: %v", err)
	}
}

func TestIPv6UpperLayer(t *testing.T) {
	tcp := make([]byte, 20)
	cases := []struct {
		name  string
		pkt   []byte
		proto uint8
		off   int
		frag  wire.IPv6Frag
	}{
		{"no extension headers", w2V6Packet(wire.ProtoTCP, tcp), wire.ProtoTCP, 40, wire.IPv6Frag{}},
		{
			"hop-by-hop, dest opts, routing, dest opts, AH",
			w2V6Packet(wire.IPv6HopByHop, w2Ext(wire.IPv6DestOpts, 0), w2Ext(wire.IPv6Routing, 1),
				w2Ext(wire.IPv6DestOpts, 2), w2Ext(wire.IPv6AH, 0), w2AH(wire.ProtoTCP, 4), tcp),
			wire.ProtoTCP, 40 + 8 + 16 + 24 + 8 + 24, wire.IPv6Frag{},
		},
		{
			"first fragment after hop-by-hop",
			w2V6Packet(wire.IPv6HopByHop, w2Ext(wire.IPv6Fragment, 0), w2FragHdr(wire.ProtoUDP, 0, true, 0xdeadbeef), tcp),
			wire.ProtoUDP, 56,
			wire.IPv6Frag{Present: true, NextHeader: wire.ProtoUDP, Offset: 0, More: true, ID: 0xdeadbeef, HeaderOff: 48, PrevNextHeaderOff: 40},
		},
		{
			"last fragment right after the fixed header; walk stops there",
			w2V6Packet(wire.IPv6Fragment, w2FragHdr(wire.IPv6DestOpts, 1448, false, 7), []byte{0xff, 0xff, 0xff}),
			wire.IPv6DestOpts, 48,
			wire.IPv6Frag{Present: true, NextHeader: wire.IPv6DestOpts, Offset: 1448, ID: 7, HeaderOff: 40, PrevNextHeaderOff: 6},
		},
		{"ESP ends the walk", w2V6Packet(wire.IPv6DestOpts, w2Ext(wire.IPv6ESP, 0), []byte{1, 2, 3}), wire.IPv6ESP, 48, wire.IPv6Frag{}},
		{"No Next Header ends the walk", w2V6Packet(wire.IPv6NoNextHeader, []byte{9, 9}), wire.IPv6NoNextHeader, 40, wire.IPv6Frag{}},
		{"unknown value is the upper layer", w2V6Packet(wire.IPv6Routing, w2Ext(253, 0)), 253, 48, wire.IPv6Frag{}},
		{"upper layer may be empty", w2V6Packet(wire.IPv6DestOpts, w2Ext(wire.ProtoICMPv6, 0)), wire.ProtoICMPv6, 48, wire.IPv6Frag{}},
	}
	for _, c := range cases {
		h, err := wire.ParseIPv6(c.pkt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		proto, off, frag, err := h.UpperLayer()
		if err != nil || proto != c.proto || off != c.off || frag != c.frag {
			t.Errorf("%s: UpperLayer = %d, %d, %+v, %v; want %d, %d, %+v", c.name, proto, off, frag, err, c.proto, c.off, c.frag)
		}
	}
	f := wire.IPv6Frag{Present: true}
	if !f.Atomic() || (wire.IPv6Frag{}).Atomic() || (wire.IPv6Frag{Present: true, More: true}).Atomic() {
		t.Error("Atomic is wrong")
	}
}

func TestIPv6UpperLayerMalformed(t *testing.T) {
	// Every cut of a header chain inside a header is ErrTruncated.
	chain := [][]byte{w2Ext(wire.IPv6Routing, 0), w2Ext(wire.IPv6AH, 1), w2AH(wire.IPv6Fragment, 1), w2FragHdr(wire.ProtoTCP, 0, true, 1)}
	full := w2Bytes(chain...)
	boundaries := map[int]bool{0: false, 8: false, 24: false, 36: false, 44: true}
	for n := 0; n <= len(full); n++ {
		h, err := wire.ParseIPv6(w2V6Packet(wire.IPv6HopByHop, full[:n]))
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, err = h.UpperLayer()
		if boundaries[n] {
			if err != nil {
				t.Errorf("whole chain: %v", err)
			}
		} else if !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("chain cut at %d: err = %v, want ErrTruncated", n, err)
		}
	}
	// Jumbogram-style zero payload length with a hop-by-hop header.
	h, _ := wire.ParseIPv6(append(w2V6Header(0, wire.IPv6HopByHop), w2Ext(wire.ProtoTCP, 0)...))
	if _, _, _, err := h.UpperLayer(); !errors.Is(err, wire.ErrTruncated) {
		t.Errorf("jumbogram: %v", err)
	}
	// Hop-by-hop anywhere but first.
	h, _ = wire.ParseIPv6(w2V6Packet(wire.IPv6DestOpts, w2Ext(wire.IPv6HopByHop, 0), w2Ext(wire.ProtoTCP, 0)))
	if _, _, _, err := h.UpperLayer(); !errors.Is(err, wire.ErrBadOption) {
		t.Errorf("hop-by-hop second: %v", err)
	}
	// Header-count bound: 8 extension headers walk, 9 do not.
	for _, n := range []int{wire.IPv6MaxExtHeaders, wire.IPv6MaxExtHeaders + 1, 40} {
		var parts [][]byte
		for i := 0; i < n; i++ {
			next := uint8(wire.IPv6DestOpts)
			if i == n-1 {
				next = wire.ProtoTCP
			}
			parts = append(parts, w2Ext(next, 0))
		}
		h, _ := wire.ParseIPv6(w2V6Packet(wire.IPv6DestOpts, parts...))
		proto, off, _, err := h.UpperLayer()
		if n <= wire.IPv6MaxExtHeaders {
			if err != nil || proto != wire.ProtoTCP || off != 40+8*n {
				t.Errorf("%d headers: %d, %d, %v", n, proto, off, err)
			}
		} else if !errors.Is(err, wire.ErrUnsupported) {
			t.Errorf("%d headers: err = %v, want ErrUnsupported", n, err)
		}
	}
	// A view shorter than the fixed header (built by hand, not parsed).
	if _, _, _, err := wire.IPv6(make([]byte, 10)).UpperLayer(); !errors.Is(err, wire.ErrTruncated) {
		t.Errorf("short view: %v", err)
	}
}

func TestPutIPv6Fragment(t *testing.T) {
	b := make([]byte, 8)
	n, err := wire.PutIPv6Fragment(b, wire.ProtoUDP, 1448, true, 0x01020304)
	if err != nil || n != 8 {
		t.Fatal(n, err)
	}
	if want := []byte{17, 0, 0x05, 0xa9, 1, 2, 3, 4}; !bytes.Equal(b, want) {
		t.Errorf("got % x want % x", b, want)
	}
	h, _ := wire.ParseIPv6(w2V6Packet(wire.IPv6Fragment, b))
	_, _, f, err := h.UpperLayer()
	if err != nil || f.Offset != 1448 || !f.More || f.ID != 0x01020304 || f.NextHeader != wire.ProtoUDP {
		t.Errorf("round trip: %+v %v", f, err)
	}
	for _, off := range []int{-8, 1, 7, 65536, 65535} {
		if _, err := wire.PutIPv6Fragment(b, 6, off, false, 0); !errors.Is(err, wire.ErrBadLength) {
			t.Errorf("offset %d: %v", off, err)
		}
	}
	if _, err := wire.PutIPv6Fragment(b[:7], 6, 0, false, 0); !errors.Is(err, wire.ErrShortBuffer) {
		t.Errorf("short: %v", err)
	}
	if _, err := wire.PutIPv6Fragment(b, 6, 65528, false, 0); err != nil {
		t.Errorf("largest offset: %v", err)
	}
}

func TestIPv6NoAllocs(t *testing.T) {
	pkt := w2V6Packet(wire.IPv6HopByHop, w2Ext(wire.IPv6Fragment, 0), w2FragHdr(wire.ProtoUDP, 0, true, 1), make([]byte, 20))
	hdr := wire.IPv6Header{PayloadLen: 8, NextHeader: wire.ProtoUDP, HopLimit: 64, Src: w2Src6, Dst: w2Dst6}
	out := make([]byte, 48)
	allocs := testing.AllocsPerRun(100, func() {
		h, err := wire.ParseIPv6(pkt)
		if err != nil {
			panic(err)
		}
		if _, _, _, err := h.UpperLayer(); err != nil {
			panic(err)
		}
		_, _ = h.Src(), h.Dst()
		if _, err := wire.PutIPv6(out, &hdr); err != nil {
			panic(err)
		}
		_, _ = wire.PutIPv6Fragment(out[40:], 6, 8, true, 9)
		if hdr, _, err := h.ExtHeader(wire.IPv6HopByHop, 40); err == nil {
			_, _, _, _ = wire.IPv6Option(hdr, 2)
		}
		_, _, _ = h.ExtHeader(wire.ProtoTCP, 40)
		_, _ = wire.ParseIPv6(pkt[:30])
	})
	if allocs != 0 {
		t.Errorf("IPv6 parse/walk/build allocates %v times per run", allocs)
	}
}

// Random extension-header chains built with known offsets: the walk must
// find exactly where the construction put the upper layer.
func TestIPv6UpperLayerRandomChains(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	kinds := []uint8{wire.IPv6DestOpts, wire.IPv6Routing, wire.IPv6AH, wire.IPv6Fragment}
	for i := 0; i < 2000; i++ {
		n := r.IntN(wire.IPv6MaxExtHeaders + 1)
		var types []uint8
		if n > 0 && r.IntN(2) == 0 {
			types = append(types, wire.IPv6HopByHop)
		}
		for len(types) < n {
			types = append(types, kinds[r.IntN(len(kinds))])
		}
		upper := []uint8{wire.ProtoTCP, wire.ProtoUDP, wire.ProtoICMPv6, wire.IPv6ESP, wire.IPv6NoNextHeader}[r.IntN(5)]
		var parts [][]byte
		wantOff, wantProto := 40, upper
		var wantFrag wire.IPv6Frag
		prev := 6
		done := false
		for k, typ := range types {
			next := upper
			if k+1 < len(types) {
				next = types[k+1]
			}
			var p []byte
			switch typ {
			case wire.IPv6AH:
				p = w2AH(next, r.IntN(6))
			case wire.IPv6Fragment:
				off, more, id := 8*r.IntN(8000), r.IntN(2) == 0, r.Uint32()
				p = w2FragHdr(next, off, more, id)
				if !done {
					wantFrag = wire.IPv6Frag{Present: true, NextHeader: next, Offset: off, More: more, ID: id, HeaderOff: wantOff, PrevNextHeaderOff: prev}
					wantProto, done = next, true
					wantOff += 8
				}
			default:
				p = w2Ext(next, r.IntN(4))
			}
			if !done {
				prev = wantOff
				wantOff += len(p)
			}
			parts = append(parts, p)
		}
		first := upper
		if len(types) > 0 {
			first = types[0]
		}
		parts = append(parts, make([]byte, r.IntN(30)))
		h, err := wire.ParseIPv6(w2V6Packet(first, parts...))
		if err != nil {
			t.Fatal(err)
		}
		proto, off, frag, err := h.UpperLayer()
		if err != nil || proto != wantProto || off != wantOff || frag != wantFrag {
			t.Fatalf("chain %v -> %d: got %d, %d, %+v, %v; want %d, %d, %+v", types, upper, proto, off, frag, err, wantProto, wantOff, wantFrag)
		}
	}
}

// w2Walk visits the chain with ExtHeader the way the doc comment shows and
// returns where it stopped.
func w2Walk(h wire.IPv6) (proto uint8, off int, err error) {
	proto, off = h.NextHeader(), wire.IPv6HeaderLen
	for n := 0; wire.IsIPv6ExtHeader(proto) && n < 40; n++ {
		hdr, next, err := h.ExtHeader(proto, off)
		if err != nil {
			return 0, 0, err
		}
		proto, off = next, off+len(hdr)
	}
	return proto, off, nil
}

func TestIPv6ExtHeader(t *testing.T) {
	pkt := w2V6Packet(wire.IPv6HopByHop, w2Ext(wire.IPv6DestOpts, 1), w2Ext(wire.IPv6AH, 0),
		w2AH(wire.IPv6Fragment, 3), w2FragHdr(wire.ProtoTCP, 0, false, 1), make([]byte, 20))
	h, _ := wire.ParseIPv6(pkt)
	proto, off, err := w2Walk(h)
	if err != nil || proto != wire.ProtoTCP || off != 40+16+8+20+8 {
		t.Errorf("walk = %d, %d, %v", proto, off, err)
	}
	hdr, next, err := h.ExtHeader(wire.IPv6AH, 64)
	if err != nil || next != wire.IPv6Fragment || len(hdr) != 20 || &hdr[0] != &pkt[64] {
		t.Errorf("AH at 64: %d bytes, next %d, %v", len(hdr), next, err)
	}
	for _, c := range []struct {
		proto uint8
		off   int
		want  error
	}{
		{wire.ProtoTCP, 40, wire.ErrUnsupported},
		{wire.IPv6ESP, 40, wire.ErrUnsupported},
		{wire.IPv6DestOpts, -1, wire.ErrTruncated},
		{wire.IPv6DestOpts, len(pkt) - 1, wire.ErrTruncated},
		{wire.IPv6DestOpts, len(pkt) + 5, wire.ErrTruncated},
		{wire.IPv6Fragment, len(pkt) - 7, wire.ErrTruncated},
		{wire.IPv6DestOpts, len(pkt) - 8, nil}, // zeros: a 8-byte header
		{wire.IPv6DestOpts, 40 + 16 + 8 + 20 + 8 + 13, wire.ErrTruncated},
	} {
		_, _, err := h.ExtHeader(c.proto, c.off)
		if (c.want == nil && err != nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("ExtHeader(%d, %d) = %v, want %v", c.proto, c.off, err, c.want)
		}
	}
	for _, p := range []uint8{0, 43, 44, 51, 60} {
		if !wire.IsIPv6ExtHeader(p) {
			t.Errorf("%d is an extension header", p)
		}
	}
	for _, p := range []uint8{6, 17, 50, 58, 59, 135} {
		if wire.IsIPv6ExtHeader(p) {
			t.Errorf("%d is not an extension header", p)
		}
	}
}

func TestIPv6Option(t *testing.T) {
	// Hop-by-hop header (RFC 2711 router alert, as MLD uses it): next
	// header ICMPv6, length 0, router alert 0, PadN of 0 bytes.
	hbh := []byte{58, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00}
	type opt struct {
		typ  uint8
		data string
	}
	walk := func(hdr []byte) ([]opt, error) {
		var got []opt
		for off := 2; off < len(hdr); {
			typ, data, next, err := wire.IPv6Option(hdr, off)
			if err != nil {
				return got, err
			}
			got = append(got, opt{typ, string(data)})
			off = next
		}
		return got, nil
	}
	got, err := walk(hbh)
	want := []opt{{wire.IPv6OptRouterAlert, "\x00\x00"}, {wire.IPv6OptPadN, ""}}
	if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("router alert header: %v %v", got, err)
	}
	// Pad1s, an unknown option whose type says "discard and report",
	// and a PadN of 3.
	d := []byte{6, 1, 0x00, 0x00, 0x9e, 0x03, 'a', 'b', 'c', 0x00, 0x01, 0x03, 0, 0, 0}
	got, err = walk(d)
	if err != nil || len(got) != 5 || got[2] != (opt{0x9e, "abc"}) || got[2].typ>>6 != 2 || got[4] != (opt{1, "\x00\x00\x00"}) {
		t.Errorf("dest options: %v %v", got, err)
	}
	// Malformed: a length byte missing, data past the header.
	for _, bad := range [][]byte{
		{6, 0, 0, 0, 0, 0, 0, 0x01},
		{6, 0, 0, 0, 0, 0, 0x01, 0x01},
		{6, 0, 0x05, 0x07, 0, 0, 0, 0},
	} {
		if _, err := walk(bad); !errors.Is(err, wire.ErrBadOption) {
			t.Errorf("% x: %v", bad, err)
		}
	}
	for _, off := range []int{-1, 8, 100} {
		if _, _, _, err := wire.IPv6Option(hbh, off); !errors.Is(err, wire.ErrBadOption) {
			t.Errorf("offset %d: %v", off, err)
		}
	}
}

func BenchmarkIPv6ParseUpperLayer(b *testing.B) {
	pkt := w2V6Packet(wire.ProtoTCP, make([]byte, 1440))
	b.ReportAllocs()
	for b.Loop() {
		h, err := wire.ParseIPv6(pkt)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, _, err := h.UpperLayer(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutIPv6(b *testing.B) {
	hdr := wire.IPv6Header{PayloadLen: 1440, NextHeader: wire.ProtoTCP, HopLimit: 64, Src: w2Src6, Dst: w2Dst6}
	out := make([]byte, 40)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.PutIPv6(out, &hdr); err != nil {
			b.Fatal(err)
		}
	}
}
