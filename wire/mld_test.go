package wire_test

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/ustack/ustack/wire"
)

func TestSolicitedNodeAndMulticastMAC(t *testing.T) {
	a := netip.MustParseAddr("2001:db8::1234:5678")
	sn := wire.SolicitedNodeMulticast(a)
	if sn != netip.MustParseAddr("ff02::1:ff34:5678") {
		t.Errorf("solicited-node of %v = %v", a, sn)
	}
	if m := wire.MulticastMAC6(sn); m != (wire.MAC{0x33, 0x33, 0xff, 0x34, 0x56, 0x78}) {
		t.Errorf("multicast MAC of %v = %v", sn, m)
	}
	if m := wire.MulticastMAC6(netip.MustParseAddr("ff02::16")); m != (wire.MAC{0x33, 0x33, 0, 0, 0, 0x16}) {
		t.Errorf("multicast MAC of ff02::16 = %v", m)
	}
}

// A join of ff02::1:ff00:1 as Linux sends it when fe80::1 comes up:
// hop-by-hop router alert, then an MLDv2 report with one
// CHANGE_TO_EXCLUDE record and no sources, to ff02::16 with hop limit 1.
func TestMLDv2ReportGolden(t *testing.T) {
	src, dst := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::16")
	group := wire.SolicitedNodeMulticast(src)
	want := w2Bytes(
		[]byte{0x3a, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00},
		[]byte{0x8f, 0x00, 0, 0, 0x00, 0x00, 0x00, 0x01},
		[]byte{0x04, 0x00, 0x00, 0x00}, group.AsSlice(),
	)
	pkt := make([]byte, 40+len(want))
	hdr := wire.IPv6Header{PayloadLen: uint16(len(want)), NextHeader: wire.IPv6HopByHop, HopLimit: 1, Src: src, Dst: dst}
	if _, err := wire.PutIPv6(pkt, &hdr); err != nil {
		t.Fatal(err)
	}
	if n, err := wire.PutIPv6RouterAlert(pkt[40:], wire.ProtoICMPv6); err != nil || n != 8 {
		t.Fatal(n, err)
	}
	n, err := wire.PutMLDv2Report(pkt[48:], wire.MLDv2ChangeToExclude, []netip.Addr{group})
	if err != nil || n != 28 {
		t.Fatal(n, err)
	}
	m := wire.ICMPv6(pkt[48:])
	m.SetChecksum(src.As16(), dst.As16())
	got := append([]byte{}, pkt[40:]...)
	got[10], got[11] = 0, 0
	if !bytes.Equal(got, want) {
		t.Errorf("MLD join\n got % x\nwant % x", got, want)
	}
	if w2RefChecksum(w2Pseudo6(src.As16(), dst.As16(), 58, 28), pkt[48:]) != 0 {
		t.Error("checksum disagrees with the reference")
	}

	// Parse it back the way a receiver would.
	h, err := wire.ParseIPv6(pkt)
	if err != nil {
		t.Fatal(err)
	}
	proto, off, _, err := h.UpperLayer()
	if err != nil || proto != wire.ProtoICMPv6 || off != 48 {
		t.Fatalf("UpperLayer = %d %d %v", proto, off, err)
	}
	hbh, _, _ := h.ExtHeader(wire.IPv6HopByHop, 40)
	typ, data, _, err := wire.IPv6Option(hbh, 2)
	if err != nil || typ != wire.IPv6OptRouterAlert || !bytes.Equal(data, []byte{0, 0}) {
		t.Errorf("router alert option: %#x % x %v", typ, data, err)
	}
	r, err := wire.ParseICMPv6(h[off:])
	if err != nil || r.Type() != wire.ICMPv6MLDv2Report || r.MLDv2RecordCount() != 1 || !r.ChecksumValid(src.As16(), dst.As16()) {
		t.Fatalf("report: %v", err)
	}
	rt, g, ns, next, err := r.MLDv2Record(8)
	if err != nil || rt != wire.MLDv2ChangeToExclude || g != group || ns != 0 || next != 28 {
		t.Errorf("record: %d %v %d %d %v", rt, g, ns, next, err)
	}
}

func TestMLDv2ReportErrorsAndRecords(t *testing.T) {
	groups := []netip.Addr{netip.MustParseAddr("ff02::1:ff00:1"), netip.MustParseAddr("ff05::2")}
	b := make([]byte, 48)
	n, err := wire.PutMLDv2Report(b, wire.MLDv2ChangeToInclude, groups)
	if err != nil || n != 48 {
		t.Fatal(n, err)
	}
	m := wire.ICMPv6(b)
	off := 8
	for i := 0; i < m.MLDv2RecordCount(); i++ {
		rt, g, _, next, err := m.MLDv2Record(off)
		if err != nil || rt != wire.MLDv2ChangeToInclude || g != groups[i] {
			t.Errorf("record %d: %d %v %v", i, rt, g, err)
		}
		off = next
	}
	if _, err := wire.PutMLDv2Report(b[:47], 4, groups); !errors.Is(err, wire.ErrShortBuffer) {
		t.Errorf("short: %v", err)
	}
	if _, err := wire.PutMLDv2Report(b, 4, []netip.Addr{netip.MustParseAddr("224.0.0.1")}); !errors.Is(err, wire.ErrUnsupported) {
		t.Errorf("IPv4 group: %v", err)
	}
	if _, err := wire.PutIPv6RouterAlert(b[:7], 58); !errors.Is(err, wire.ErrShortBuffer) {
		t.Errorf("short router alert: %v", err)
	}
	// A record claiming a source and auxiliary data the report lacks.
	rec := w2Bytes([]byte{0x8f, 0, 0, 0, 0, 0, 0, 1}, []byte{1, 1, 0, 1}, make([]byte, 16), make([]byte, 16), make([]byte, 3))
	if _, _, _, _, err := wire.ICMPv6(rec).MLDv2Record(8); !errors.Is(err, wire.ErrTruncated) {
		t.Errorf("short record: %v", err)
	}
	rec = append(rec, 0)
	if _, _, ns, next, err := wire.ICMPv6(rec).MLDv2Record(8); err != nil || ns != 1 || next != len(rec) {
		t.Errorf("record with a source and aux data: %d %d %v", ns, next, err)
	}
	for _, o := range []int{-1, 9, 100} {
		if _, _, _, _, err := m.MLDv2Record(o); !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("record at %d: %v", o, err)
		}
	}
}

func TestMLDQuery(t *testing.T) {
	// A general MLDv1 query, maximum response delay 10 s.
	q := w2Bytes([]byte{0x82, 0, 0, 0, 0x27, 0x10, 0, 0}, make([]byte, 16))
	m, err := wire.ParseICMPv6(q)
	if err != nil || m.MLDMaxRespCode() != 10000 || m.MLDMulticastAddr() != netip.IPv6Unspecified() {
		t.Errorf("query: %v %d %v", err, m.MLDMaxRespCode(), m.MLDMulticastAddr())
	}
	for _, typ := range []byte{130, 131, 132} {
		for n := 8; n < 24; n++ {
			b := make([]byte, n)
			b[0] = typ
			if _, err := wire.ParseICMPv6(b); !errors.Is(err, wire.ErrTruncated) {
				t.Errorf("type %d len %d: %v", typ, n, err)
			}
		}
	}
	if wire.ICMPv6(make([]byte, 8)).MLDMulticastAddr().IsValid() {
		t.Error("short message has a multicast address")
	}
}

func TestMLDNoAllocs(t *testing.T) {
	groups := []netip.Addr{netip.MustParseAddr("ff02::1:ff00:1")}
	b := make([]byte, 64)
	a := netip.MustParseAddr("fe80::1")
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = wire.PutIPv6RouterAlert(b, 58)
		n, _ := wire.PutMLDv2Report(b[8:], wire.MLDv2ChangeToExclude, groups)
		m := wire.ICMPv6(b[8 : 8+n])
		_, _, _, _, _ = m.MLDv2Record(8)
		_ = wire.MulticastMAC6(wire.SolicitedNodeMulticast(a))
	})
	if allocs != 0 {
		t.Errorf("MLD allocates %v times per run", allocs)
	}
}
