package wire_test

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/ustack/ustack/wire"
)

var w2Loopback6 = netip.IPv6Loopback().As16()

// An echo request ::1 -> ::1, id 0x1234, seq 1, no data. Checksum by hand:
// pseudo-header 0x0001+0x0001+0x0008+0x003a, message 0x8000+0x1234+0x0001,
// total 0x9279, complemented 0x6d86.
var w2EchoGolden = []byte{0x80, 0x00, 0x6d, 0x86, 0x12, 0x34, 0x00, 0x01}

func TestICMPv6EchoGolden(t *testing.T) {
	b := bytes.Repeat([]byte{0xee}, 9)
	n, err := wire.PutICMPv6Echo(b, wire.ICMPv6EchoRequest, 0x1234, 1, nil)
	if err != nil || n != 8 {
		t.Fatal(n, err)
	}
	m, err := wire.ParseICMPv6(b[:n])
	if err != nil {
		t.Fatal(err)
	}
	if m.Checksum() != 0 || m.ChecksumValid(w2Loopback6, w2Loopback6) {
		t.Error("builder must leave a zero checksum that does not verify")
	}
	m.SetChecksum(w2Loopback6, w2Loopback6)
	if !bytes.Equal(b[:n], w2EchoGolden) || b[n] != 0xee {
		t.Errorf("echo\n got % x\nwant % x", b[:n+1], w2EchoGolden)
	}
	if !m.ChecksumValid(w2Loopback6, w2Loopback6) {
		t.Error("golden checksum does not verify")
	}
	if m.Type() != wire.ICMPv6EchoRequest || m.Code() != 0 || m.ID() != 0x1234 || m.Seq() != 1 || len(m.Body()) != 0 || m.IsError() {
		t.Errorf("fields: %d %d %#x %d %q", m.Type(), m.Code(), m.ID(), m.Seq(), m.Body())
	}

	// With data, odd length, against the reference checksum.
	src, dst := w2Src6.As16(), w2Dst6.As16()
	n, err = wire.PutICMPv6Echo(b[:0:0], wire.ICMPv6EchoReply, 1, 2, []byte("x"))
	if !errors.Is(err, wire.ErrShortBuffer) {
		t.Errorf("short: %d %v", n, err)
	}
	big := make([]byte, 100)
	n, _ = wire.PutICMPv6Echo(big, wire.ICMPv6EchoReply, 7, 9, []byte("hello"))
	m = wire.ICMPv6(big[:n])
	m.SetChecksum(src, dst)
	if w2RefChecksum(w2Pseudo6(src, dst, 58, n), big[:n]) != 0 || !m.ChecksumValid(src, dst) {
		t.Error("checksum disagrees with the reference")
	}
	if string(m.Body()) != "hello" {
		t.Errorf("body %q", m.Body())
	}
	big[10] ^= 4
	if m.ChecksumValid(src, dst) {
		t.Error("corrupted message verifies")
	}
}

func TestICMPv6ErrorBuilder(t *testing.T) {
	orig := make([]byte, 2000)
	copy(orig, w2V6Header(1960, wire.ProtoUDP))
	b := make([]byte, 1500)
	n, err := wire.PutICMPv6Error(b, wire.ICMPv6PacketTooBig, 0, 1280, orig)
	if err != nil || n != wire.ICMPv6MaxErrorLen || wire.ICMPv6MaxErrorLen != 1240 {
		t.Fatalf("PutICMPv6Error = %d, %v; want 1240 (1280 less the IPv6 header)", n, err)
	}
	m, err := wire.ParseICMPv6(b[:n])
	if err != nil {
		t.Fatal(err)
	}
	if m.Type() != 2 || m.Code() != 0 || m.MTU() != 1280 || !m.IsError() || !bytes.Equal(m.Body(), orig[:1232]) {
		t.Errorf("packet too big: type %d mtu %d body %d", m.Type(), m.MTU(), len(m.Body()))
	}
	q, err := wire.ParseIPv6Partial(m.Body())
	if err != nil || q.NextHeader() != wire.ProtoUDP || q.Src() != w2Src6 {
		t.Errorf("quoted packet: %v", err)
	}

	n, err = wire.PutICMPv6Error(b[:100], wire.ICMPv6ParamProblem, 1, 40, orig)
	if err != nil || n != 100 || wire.ICMPv6(b[:n]).Pointer() != 40 || b[1] != 1 {
		t.Errorf("quote limited by buffer: %d %v", n, err)
	}
	n, err = wire.PutICMPv6Error(b, wire.ICMPv6DestUnreach, 4, 0, orig[:48])
	if err != nil || n != 56 {
		t.Errorf("short original: %d %v", n, err)
	}
	if _, err := wire.PutICMPv6Error(b[:7], wire.ICMPv6TimeExceeded, 0, 0, nil); !errors.Is(err, wire.ErrShortBuffer) {
		t.Errorf("7-byte buffer: %v", err)
	}
	if _, err := wire.PutICMPv6Error(b, wire.ICMPv6EchoRequest, 0, 0, nil); !errors.Is(err, wire.ErrUnsupported) {
		t.Errorf("non-error type: %v", err)
	}
}

func TestParseICMPv6Truncated(t *testing.T) {
	for n := 0; n < 8; n++ {
		if _, err := wire.ParseICMPv6(make([]byte, n)); !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("len %d: %v", n, err)
		}
	}
	fixed := map[uint8]int{133: 8, 134: 16, 135: 24, 136: 24, 137: 40}
	for typ, l := range fixed {
		for n := 8; n < l; n++ {
			b := make([]byte, n)
			b[0] = typ
			if _, err := wire.ParseICMPv6(b); !errors.Is(err, wire.ErrTruncated) {
				t.Errorf("type %d len %d: %v", typ, n, err)
			}
		}
		b := make([]byte, l)
		b[0] = typ
		m, err := wire.ParseICMPv6(b)
		if err != nil || m.NDPOptions() == nil || len(m.NDPOptions()) != 0 {
			t.Errorf("type %d at its fixed length: %v", typ, err)
		}
	}
	// Type-specific accessors on a message too short for them return
	// zero values instead of panicking.
	m, _ := wire.ParseICMPv6(w2EchoGolden)
	if m.ReachableTime() != 0 || m.RetransTimer() != 0 || m.TargetAddr().IsValid() || m.RedirectDst().IsValid() || m.NDPOptions() != nil {
		t.Error("accessors on an 8-byte echo are not zero")
	}
	_, _, _, _, _, _, _ = m.CurHopLimit(), m.ManagedFlag(), m.OtherFlag(), m.RouterLifetime(), m.RouterFlag(), m.SolicitedFlag(), m.OverrideFlag()
	_, _ = m.MTU(), m.Pointer()
}

var (
	w2MAC1 = wire.MAC{0x02, 0, 0, 0, 0, 0x01}
	w2MAC2 = wire.MAC{0x02, 0, 0, 0, 0, 0x02}
)

// w2NDPCheck verifies a built NDP message against hand-written bytes
// (checksum bytes excluded), then sets and checks its checksum against the
// reference.
func w2NDPCheck(t *testing.T, name string, got, want []byte) wire.ICMPv6 {
	t.Helper()
	if len(got) != len(want) || !bytes.Equal(got[:2], want[:2]) || !bytes.Equal(got[4:], want[4:]) {
		t.Errorf("%s\n got % x\nwant % x", name, got, want)
	}
	m, err := wire.ParseICMPv6(got)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	src, dst := w2Src6.As16(), w2Dst6.As16()
	m.SetChecksum(src, dst)
	if w2RefChecksum(w2Pseudo6(src, dst, 58, len(got)), got) != 0 || !m.ChecksumValid(src, dst) {
		t.Errorf("%s: checksum disagrees with the reference", name)
	}
	return m
}

func TestNDPNeighborSolicitGolden(t *testing.T) {
	target := netip.MustParseAddr("fe80::2")
	want := w2Bytes([]byte{0x87, 0, 0, 0, 0, 0, 0, 0}, target.AsSlice(), []byte{0x01, 0x01, 0x02, 0, 0, 0, 0, 0x01})
	b := bytes.Repeat([]byte{0xee}, 64)
	n, err := wire.PutNDPNeighborSolicit(b, target, &wire.NDPOptions{HasSourceLinkAddr: true, SourceLinkAddr: w2MAC1})
	if err != nil {
		t.Fatal(err)
	}
	m := w2NDPCheck(t, "NS", b[:n], want)
	if m.Type() != wire.ICMPv6NeighborSolicit || m.TargetAddr() != target {
		t.Errorf("NS target %v", m.TargetAddr())
	}
	var o wire.NDPOptions
	if err := wire.ParseNDPOptions(m.NDPOptions(), &o); err != nil || !o.HasSourceLinkAddr || o.SourceLinkAddr != w2MAC1 || o.HasTargetLinkAddr {
		t.Errorf("NS options %+v %v", o, err)
	}
	// Duplicate address detection: no options at all.
	n, err = wire.PutNDPNeighborSolicit(b, target, nil)
	if err != nil || n != 24 {
		t.Errorf("DAD NS: %d %v", n, err)
	}
	if _, err := wire.PutNDPNeighborSolicit(b, netip.MustParseAddr("10.1.1.1"), nil); !errors.Is(err, wire.ErrUnsupported) {
		t.Errorf("IPv4 target: %v", err)
	}
	if _, err := wire.PutNDPNeighborSolicit(b[:31], target, &wire.NDPOptions{HasSourceLinkAddr: true}); !errors.Is(err, wire.ErrShortBuffer) {
		t.Errorf("short: %v", err)
	}
}

func TestNDPNeighborAdvertGolden(t *testing.T) {
	target := netip.MustParseAddr("2001:db8::99")
	want := w2Bytes([]byte{0x88, 0, 0, 0, 0xe0, 0, 0, 0}, target.AsSlice(), []byte{0x02, 0x01, 0x02, 0, 0, 0, 0, 0x02})
	b := make([]byte, 64)
	n, err := wire.PutNDPNeighborAdvert(b, target, true, true, true, &wire.NDPOptions{HasTargetLinkAddr: true, TargetLinkAddr: w2MAC2})
	if err != nil {
		t.Fatal(err)
	}
	m := w2NDPCheck(t, "NA", b[:n], want)
	if !m.RouterFlag() || !m.SolicitedFlag() || !m.OverrideFlag() || m.TargetAddr() != target {
		t.Error("NA fields")
	}
	n, _ = wire.PutNDPNeighborAdvert(b, target, false, true, false, nil)
	m, _ = wire.ParseICMPv6(b[:n])
	if m.RouterFlag() || !m.SolicitedFlag() || m.OverrideFlag() || b[4] != 0x40 {
		t.Errorf("NA S only: % x", b[:8])
	}
}

func TestNDPRouterAdvertGolden(t *testing.T) {
	prefix := netip.MustParsePrefix("2001:db8:1::/64")
	want := w2Bytes(
		[]byte{0x86, 0, 0, 0, 0x40, 0xc0, 0x07, 0x08, 0x00, 0x00, 0x75, 0x30, 0x00, 0x00, 0x03, 0xe8},
		[]byte{0x01, 0x01, 0x02, 0, 0, 0, 0, 0x01},
		[]byte{0x05, 0x01, 0, 0, 0x00, 0x00, 0x05, 0xdc},
		[]byte{0x03, 0x04, 0x40, 0xc0, 0x00, 0x27, 0x8d, 0x00, 0x00, 0x09, 0x3a, 0x80, 0, 0, 0, 0},
		prefix.Addr().AsSlice(),
	)
	ra := wire.NDPRouterAdvert{CurHopLimit: 64, Managed: true, Other: true, RouterLifetime: 1800, ReachableTime: 30000, RetransTimer: 1000}
	opts := wire.NDPOptions{HasSourceLinkAddr: true, SourceLinkAddr: w2MAC1, HasMTU: true, MTU: 1500, NumPrefixes: 1}
	opts.Prefixes[0] = wire.NDPPrefixInfo{Prefix: prefix, OnLink: true, Autonomous: true, ValidLifetime: 2592000, PreferredLifetime: 604800}
	b := make([]byte, 128)
	n, err := wire.PutNDPRouterAdvert(b, &ra, &opts)
	if err != nil {
		t.Fatal(err)
	}
	m := w2NDPCheck(t, "RA", b[:n], want)
	got := wire.NDPRouterAdvert{CurHopLimit: m.CurHopLimit(), Managed: m.ManagedFlag(), Other: m.OtherFlag(),
		RouterLifetime: m.RouterLifetime(), ReachableTime: m.ReachableTime(), RetransTimer: m.RetransTimer()}
	if got != ra {
		t.Errorf("RA fields %+v", got)
	}
	var o wire.NDPOptions
	if err := wire.ParseNDPOptions(m.NDPOptions(), &o); err != nil {
		t.Fatal(err)
	}
	if o.HasSourceLinkAddr != true || o.SourceLinkAddr != w2MAC1 || !o.HasMTU || o.MTU != 1500 || o.NumPrefixes != 1 ||
		o.Prefixes[0] != opts.Prefixes[0] || o.RedirectedHeader != nil {
		t.Errorf("RA options %+v", o)
	}

	n, err = wire.PutNDPRouterSolicit(b, &wire.NDPOptions{HasSourceLinkAddr: true, SourceLinkAddr: w2MAC2})
	if err != nil {
		t.Fatal(err)
	}
	w2NDPCheck(t, "RS", b[:n], []byte{0x85, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0x02, 0, 0, 0, 0, 0x02})
}

func TestNDPRedirectGolden(t *testing.T) {
	target, dst := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8::5")
	quoted := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	want := w2Bytes([]byte{0x89, 0, 0, 0, 0, 0, 0, 0}, target.AsSlice(), dst.AsSlice(),
		[]byte{0x02, 0x01, 0x02, 0, 0, 0, 0, 0x01},
		[]byte{0x04, 0x03, 0, 0, 0, 0, 0, 0}, quoted, []byte{0, 0, 0, 0, 0})
	b := bytes.Repeat([]byte{0xee}, 128)
	n, err := wire.PutNDPRedirect(b, target, dst, &wire.NDPOptions{HasTargetLinkAddr: true, TargetLinkAddr: w2MAC1, RedirectedHeader: quoted})
	if err != nil {
		t.Fatal(err)
	}
	m := w2NDPCheck(t, "Redirect", b[:n], want)
	if m.TargetAddr() != target || m.RedirectDst() != dst {
		t.Errorf("redirect addresses %v %v", m.TargetAddr(), m.RedirectDst())
	}
	var o wire.NDPOptions
	if err := wire.ParseNDPOptions(m.NDPOptions(), &o); err != nil || !bytes.Equal(o.RedirectedHeader, w2Bytes(quoted, make([]byte, 5))) {
		t.Errorf("redirected header %x %v", o.RedirectedHeader, err)
	}
	// A long quoted packet is cut to keep the Redirect within 1280 bytes
	// on the wire.
	big := make([]byte, 3000)
	long := wire.NDPOptions{HasTargetLinkAddr: true, RedirectedHeader: big}
	if l := 40 + 40 + long.EncodedLen(); l > wire.IPv6MinMTU || l < wire.IPv6MinMTU-7 {
		t.Errorf("redirect with a long quote is %d bytes on the wire", l)
	}
	out := make([]byte, 2000)
	n, err = wire.PutNDPRedirect(out, target, dst, &long)
	if err != nil || n != 40+long.EncodedLen() {
		t.Errorf("long redirect: %d %v", n, err)
	}
	if _, err := wire.PutNDPRedirect(out, target, netip.Addr{}, nil); !errors.Is(err, wire.ErrUnsupported) {
		t.Errorf("bad dst: %v", err)
	}
}

func TestParseNDPOptions(t *testing.T) {
	pfx := func(bits byte, a byte) []byte {
		p := []byte{0x03, 0x04, bits, 0x80, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0}
		return append(p, 0x20, 0x01, 0x0d, 0xb8, a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	var many [][]byte
	for i := 0; i < wire.NDPMaxPrefixes+3; i++ {
		many = append(many, pfx(48, byte(i)))
	}
	cases := []struct {
		name string
		b    []byte
		want wire.NDPOptions
		err  error
	}{
		{name: "empty"},
		{
			name: "duplicates: last wins",
			b:    []byte{1, 1, 2, 0, 0, 0, 0, 1, 1, 1, 2, 0, 0, 0, 0, 2},
			want: wire.NDPOptions{HasSourceLinkAddr: true, SourceLinkAddr: w2MAC2},
		},
		{
			name: "wrong lengths and unknown types ignored",
			b: w2Bytes(
				[]byte{1, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, // SLLA of a longer address
				[]byte{5, 2, 0, 0, 0, 0, 5, 0xdc, 0, 0, 0, 0, 0, 0, 0, 0},   // MTU of length 2
				[]byte{14, 1, 1, 2, 3, 4, 5, 6},                             // nonce
				pfx(129, 1),                                                 // prefix length over 128
				[]byte{2, 1, 2, 0, 0, 0, 0, 2},
			),
			want: wire.NDPOptions{HasTargetLinkAddr: true, TargetLinkAddr: w2MAC2},
		},
		{
			name: "more prefixes than fit",
			b:    w2Bytes(many...),
			want: func() wire.NDPOptions {
				var o wire.NDPOptions
				for i := 0; i < wire.NDPMaxPrefixes; i++ {
					o.Prefixes[i] = wire.NDPPrefixInfo{
						Prefix: netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i)}), 48),
						OnLink: true, ValidLifetime: 1, PreferredLifetime: 2,
					}
				}
				o.NumPrefixes, o.DroppedPrefixes = wire.NDPMaxPrefixes, 3
				return o
			}(),
		},
		{name: "length zero", b: []byte{1, 0, 0, 0, 0, 0, 0, 0}, err: wire.ErrBadOption},
		{name: "length zero after a good option", b: []byte{1, 1, 2, 0, 0, 0, 0, 1, 9, 0}, err: wire.ErrBadOption},
		{name: "type without length", b: []byte{1}, err: wire.ErrBadOption},
		{name: "past the end", b: []byte{3, 4, 64, 0, 0, 0, 0, 0}, err: wire.ErrBadOption},
		{name: "one byte short", b: []byte{1, 1, 2, 0, 0, 0, 0}, err: wire.ErrBadOption},
	}
	for _, c := range cases {
		var o wire.NDPOptions
		o.HasMTU = true // must be reset
		err := wire.ParseNDPOptions(c.b, &o)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: err = %v, want %v", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if o.RedirectedHeader != nil || c.want.RedirectedHeader != nil {
			t.Errorf("%s: unexpected redirected header", c.name)
		}
		if !reflect.DeepEqual(o, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, o, c.want)
		}
	}
}

// Every cut of an RA's options inside an option is ErrBadOption.
func TestNDPOptionsEveryTruncation(t *testing.T) {
	opts := wire.NDPOptions{HasSourceLinkAddr: true, HasMTU: true, MTU: 9000, NumPrefixes: 1}
	opts.Prefixes[0].Prefix = netip.MustParsePrefix("2001:db8::/32")
	b := make([]byte, opts.EncodedLen())
	if _, err := opts.Encode(b); err != nil {
		t.Fatal(err)
	}
	for n := 0; n <= len(b); n++ {
		var o wire.NDPOptions
		err := wire.ParseNDPOptions(b[:n], &o)
		switch n {
		case 0, 8, 16, 48:
			if err != nil {
				t.Errorf("cut at boundary %d: %v", n, err)
			}
		default:
			if !errors.Is(err, wire.ErrBadOption) {
				t.Errorf("cut at %d: err = %v", n, err)
			}
		}
	}
	// Invalid prefixes are not encoded.
	bad := wire.NDPOptions{NumPrefixes: 2}
	bad.Prefixes[0].Prefix = netip.MustParsePrefix("10.0.0.0/8")
	if bad.EncodedLen() != 0 {
		t.Errorf("invalid prefixes encoded: %d bytes", bad.EncodedLen())
	}
	if _, err := opts.Encode(b[:len(b)-1]); !errors.Is(err, wire.ErrShortBuffer) {
		t.Errorf("short: %v", err)
	}
}

func TestICMPv6NoAllocs(t *testing.T) {
	src, dst := w2Src6.As16(), w2Dst6.As16()
	target := netip.MustParseAddr("fe80::2")
	opts := wire.NDPOptions{HasSourceLinkAddr: true, HasMTU: true, NumPrefixes: 1}
	opts.Prefixes[0].Prefix = netip.MustParsePrefix("2001:db8::/64")
	ra := wire.NDPRouterAdvert{CurHopLimit: 64}
	out := make([]byte, 200)
	var o wire.NDPOptions
	allocs := testing.AllocsPerRun(100, func() {
		n, err := wire.PutNDPRouterAdvert(out, &ra, &opts)
		if err != nil {
			panic(err)
		}
		m, err := wire.ParseICMPv6(out[:n])
		if err != nil {
			panic(err)
		}
		m.SetChecksum(src, dst)
		_ = m.ChecksumValid(src, dst)
		if err := wire.ParseNDPOptions(m.NDPOptions(), &o); err != nil {
			panic(err)
		}
		_, _ = wire.PutNDPNeighborSolicit(out, target, &opts)
		_, _ = wire.PutNDPNeighborAdvert(out, target, false, true, true, nil)
		_, _ = wire.PutICMPv6Echo(out, wire.ICMPv6EchoRequest, 1, 2, out[100:110])
		_, _ = wire.PutICMPv6Error(out, wire.ICMPv6DestUnreach, 1, 0, out[100:150])
		_ = m.TargetAddr()
		_, _ = wire.ParseICMPv6(out[:3])
		_ = wire.ParseNDPOptions(out[:1], &o)
	})
	if allocs != 0 {
		t.Errorf("ICMPv6/NDP allocates %v times per run", allocs)
	}
}
