package wire_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/ustack/ustack/wire"
)

func FuzzIPv6(f *testing.F) {
	f.Add(w2V6Packet(wire.ProtoUDP, []byte("12345678")))
	f.Add(w2V6Packet(wire.IPv6HopByHop, w2Ext(wire.IPv6DestOpts, 0), w2Ext(wire.IPv6Routing, 1),
		w2Ext(wire.IPv6AH, 0), w2AH(wire.IPv6Fragment, 1), w2FragHdr(wire.ProtoTCP, 8, true, 5), make([]byte, 20)))
	f.Add(w2V6Packet(wire.IPv6DestOpts, w2Ext(wire.IPv6HopByHop, 0)))
	f.Add(w2V6Header(0, wire.IPv6HopByHop))
	f.Add(w2V6Header(500, wire.ProtoTCP))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := wire.ParseIPv6Partial(b); err == nil {
			_, _, _, _ = p.UpperLayer()
		}
		h, err := wire.ParseIPv6(b)
		if err != nil {
			return
		}
		if len(h) != 40+h.PayloadLen() || len(h.Payload()) != h.PayloadLen() {
			t.Fatalf("view %d bytes for payload length %d", len(h), h.PayloadLen())
		}
		proto, off, frag, err := h.UpperLayer()
		if err == nil {
			if off < 40 || off > len(h) {
				t.Fatalf("upper layer offset %d of %d", off, len(h))
			}
			if frag.Present {
				if frag.HeaderOff+8 != off || h[frag.PrevNextHeaderOff] != wire.IPv6Fragment || frag.NextHeader != proto || frag.Offset%8 != 0 {
					t.Fatalf("fragment info %+v, off %d", frag, off)
				}
			}
		}
		// The ExtHeader walk agrees with UpperLayer wherever UpperLayer
		// walks to the end without stopping at a fragment header, and
		// IPv6Option never panics on the option headers it meets.
		if err == nil && !frag.Present {
			p, o, werr := w2Walk(h)
			if werr != nil || p != proto || o != off {
				t.Fatalf("ExtHeader walk %d, %d, %v; UpperLayer %d, %d", p, o, werr, proto, off)
			}
		}
		for p, o, n := h.NextHeader(), wire.IPv6HeaderLen, 0; wire.IsIPv6ExtHeader(p) && n < 20; n++ {
			hdr, next, err := h.ExtHeader(p, o)
			if err != nil {
				break
			}
			if p == wire.IPv6HopByHop || p == wire.IPv6DestOpts {
				for k := 2; k < len(hdr); {
					_, _, nk, err := wire.IPv6Option(hdr, k)
					if err != nil {
						break
					}
					if nk <= k || nk > len(hdr) {
						t.Fatalf("option walk stuck or past the header: %d -> %d of %d", k, nk, len(hdr))
					}
					k = nk
				}
			}
			p, o = next, o+len(hdr)
		}
		hdr := wire.IPv6Header{TrafficClass: h.TrafficClass(), FlowLabel: h.FlowLabel(), PayloadLen: uint16(h.PayloadLen()),
			NextHeader: h.NextHeader(), HopLimit: h.HopLimit(), Src: h.Src(), Dst: h.Dst()}
		out := make([]byte, 40)
		if _, err := wire.PutIPv6(out, &hdr); err != nil {
			t.Fatal(err)
		}
		want := append([]byte{}, b[:40]...)
		if !bytes.Equal(out, want) {
			t.Fatalf("rebuilt\n got % x\nwant % x", out, want)
		}
	})
}

func FuzzICMPv6(f *testing.F) {
	f.Add(w2EchoGolden)
	f.Add(w2Bytes([]byte{0x87, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 16), []byte{0x01, 0x01, 0x02, 0, 0, 0, 0, 0x01}))
	f.Add(w2Bytes([]byte{0x86, 0, 0, 0, 0x40, 0xc0, 0x07, 0x08, 0, 0, 0x75, 0x30, 0, 0, 0x03, 0xe8},
		[]byte{0x05, 0x01, 0, 0, 0, 0, 0x05, 0xdc},
		[]byte{0x03, 0x04, 0x40, 0xc0, 0, 0x27, 0x8d, 0, 0, 0x09, 0x3a, 0x80, 0, 0, 0, 0}, make([]byte, 16)))
	f.Add(w2Bytes([]byte{0x89, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 32), []byte{0x04, 0x02, 0, 0, 0, 0, 0, 0}, make([]byte, 8)))
	f.Add([]byte{0x88, 0, 0, 0, 0xe0, 0, 0, 0, 1})
	f.Add(w2Bytes([]byte{2, 0, 0, 0, 0, 0, 5, 0}, w2V6Header(100, wire.ProtoTCP)))
	f.Add(w2Bytes([]byte{0x8f, 0, 0, 0, 0, 0, 0, 2}, []byte{4, 0, 0, 0}, make([]byte, 16), []byte{1, 1, 0, 1}, make([]byte, 36)))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wire.ParseICMPv6(b)
		if err != nil {
			return
		}
		_, _, _, _, _, _ = m.Type(), m.Code(), m.ID(), m.Seq(), m.MTU(), m.Body()
		_, _, _, _, _, _ = m.CurHopLimit(), m.ManagedFlag(), m.RouterLifetime(), m.ReachableTime(), m.RetransTimer(), m.OverrideFlag()
		_, _ = m.TargetAddr(), m.RedirectDst()
		_, _ = m.MLDMaxRespCode(), m.MLDMulticastAddr()
		if m.Type() == wire.ICMPv6MLDv2Report {
			for i, off := 0, 8; i < m.MLDv2RecordCount(); i++ {
				_, _, _, next, err := m.MLDv2Record(off)
				if err != nil {
					break
				}
				if next <= off || next > len(m) {
					t.Fatalf("MLDv2 record walk %d -> %d of %d", off, next, len(m))
				}
				off = next
			}
		}
		if m.IsError() {
			if q, err := wire.ParseIPv6Partial(m.Body()); err == nil {
				_, _, _, _ = q.UpperLayer()
			}
		}
		var o wire.NDPOptions
		if opts := m.NDPOptions(); opts != nil && wire.ParseNDPOptions(opts, &o) == nil {
			n := o.EncodedLen()
			out := make([]byte, n)
			if k, err := o.Encode(out); err != nil || k != n || n%8 != 0 {
				t.Fatalf("Encode = %d, %v; EncodedLen %d", k, err, n)
			}
			var p wire.NDPOptions
			if err := wire.ParseNDPOptions(out, &p); err != nil {
				t.Fatalf("re-parse of % x: %v", out, err)
			}
			cut := o.RedirectedHeader != nil && len(p.RedirectedHeader) < len(o.RedirectedHeader)
			if !cut && !bytes.Equal(p.RedirectedHeader, o.RedirectedHeader) {
				t.Fatalf("redirected header % x -> % x", o.RedirectedHeader, p.RedirectedHeader)
			}
			p.RedirectedHeader, o.RedirectedHeader = nil, nil
			o.DroppedPrefixes = 0 // those past NDPMaxPrefixes are not encoded
			if !reflect.DeepEqual(p, o) {
				t.Fatalf("options %+v\nre-parsed %+v", o, p)
			}
		}
		src, dst := w2Src6.As16(), w2Dst6.As16()
		m.SetChecksum(src, dst)
		if !m.ChecksumValid(src, dst) {
			t.Fatal("checksum does not verify after SetChecksum")
		}
	})
}
