package vnet_test

import (
	"encoding/binary"
	"testing"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/tap/vnet"
	"github.com/ustack/ustack/wire"
)

func TestEncodeDecode(t *testing.T) {
	h := vnet.Hdr{Flags: vnet.FlagNeedsCsum, GSOType: vnet.GSOTCPv4 | vnet.GSOECN, HdrLen: 66, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	var b [vnet.Len]byte
	h.Encode(b[:])
	want := [vnet.Len]byte{1, 0x81, 66, 0, 0xa8, 0x05, 34, 0, 16, 0} // little-endian fields
	if b != want {
		t.Fatalf("Encode = % x, want % x", b, want)
	}
	got, ok := vnet.Decode(b[:])
	if !ok || got != h {
		t.Fatalf("Decode = %+v, %v", got, ok)
	}
	if _, ok := vnet.Decode(b[:9]); ok {
		t.Fatal("Decode of 9 bytes succeeded")
	}
}

// udpFrame is Ethernet/IPv4/UDP with the checksum field holding only the
// pseudo-header sum, as a CHECKSUM_PARTIAL skb has it.
func udpFrame(vlan bool, payload int) []byte {
	l2 := 14
	if vlan {
		l2 = 18
	}
	f := make([]byte, l2+20+8+payload)
	if vlan {
		binary.BigEndian.PutUint16(f[12:], 0x8100)
		binary.BigEndian.PutUint16(f[14:], 7)
	}
	binary.BigEndian.PutUint16(f[l2-2:], 0x0800)
	ip := f[l2:]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(28+payload))
	copy(ip[12:], []byte{192, 0, 2, 1, 192, 0, 2, 2})
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp[0:], 1234)
	binary.BigEndian.PutUint16(udp[2:], 5678)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+payload))
	for i := 0; i < payload; i++ {
		udp[8+i] = byte(i * 7)
	}
	ps := wire.PseudoHeaderSum4([4]byte(ip[12:16]), [4]byte(ip[16:20]), 17, uint16(8+payload))
	binary.BigEndian.PutUint16(udp[6:], ^wire.Fold(ps))
	return f
}

// slowUDPChecksumOK is the plain RFC 768 check, one 16-bit word at a time.
func slowUDPChecksumOK(f []byte, l2 int) bool {
	ip := f[l2:]
	udp := ip[20:]
	var s uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			s += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			s += uint32(b[len(b)-1]) << 8
		}
	}
	add(ip[12:20])
	s += 17 + uint32(len(udp))
	add(udp)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return s == 0xffff
}

func TestApplyCompletesPartialChecksum(t *testing.T) {
	for _, vlan := range []bool{false, true} {
		for _, n := range []int{0, 1, 17, 1000} {
			f := udpFrame(vlan, n)
			l2 := 14
			if vlan {
				l2 = 18
			}
			start, proto, off, ok := vnet.L4(f)
			if !ok || start != l2+20 || proto != 17 || off != 6 {
				t.Fatalf("L4 = %d %d %d %v", start, proto, off, ok)
			}
			p := link.MustPool(link.PoolConfig{Count: 1, Size: 2048})
			b := p.Get()
			copy(b.Extend(len(f)), f)
			h := vnet.Hdr{Flags: vnet.FlagNeedsCsum, CsumStart: uint16(start), CsumOffset: uint16(off)}
			if err := vnet.Apply(h, b); err != nil {
				t.Fatal(err)
			}
			if !slowUDPChecksumOK(b.Bytes(), l2) || b.Flags != link.FlagCsumValid {
				t.Fatalf("vlan %v payload %d: checksum not completed (flags %v)", vlan, n, b.Flags)
			}
			b.Free()
		}
	}
}

func TestApplyFlagsAndErrors(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 1, Size: 2048})
	b := p.Get()
	b.Extend(100)
	if err := vnet.Apply(vnet.Hdr{Flags: vnet.FlagDataValid, GSOType: vnet.GSOTCPv6, GSOSize: 1400}, b); err != nil {
		t.Fatal(err)
	}
	if b.Flags != link.FlagCsumValid|link.FlagGSO || b.GSOSize != 1400 {
		t.Fatalf("flags %v gso %d", b.Flags, b.GSOSize)
	}
	b.Reset()
	b.Extend(100)
	for _, h := range []vnet.Hdr{
		{Flags: vnet.FlagNeedsCsum, CsumStart: 99, CsumOffset: 0},
		{Flags: vnet.FlagNeedsCsum, CsumStart: 0xffff, CsumOffset: 0xffff},
		{GSOType: vnet.GSOUDP},
		{GSOType: 0x42},
	} {
		if err := vnet.Apply(h, b); err == nil {
			t.Errorf("Apply(%+v) accepted", h)
		}
	}
	b.Free()
}

func TestFromBuf(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 1, Size: 2048})
	b := p.Get()
	f := udpFrame(false, 10)
	copy(b.Extend(len(f)), f)
	if h, err := vnet.FromBuf(b); err != nil || h != (vnet.Hdr{}) {
		t.Fatalf("plain frame: %+v %v", h, err)
	}
	b.Flags = link.FlagCsumPartial
	h, err := vnet.FromBuf(b)
	if err != nil || h != (vnet.Hdr{Flags: vnet.FlagNeedsCsum, CsumStart: 34, CsumOffset: 6}) {
		t.Fatalf("partial UDP: %+v %v", h, err)
	}
	b.Flags = link.FlagGSO
	b.GSOSize = 1000
	if _, err := vnet.FromBuf(b); err == nil {
		t.Fatal("GSO of a UDP frame accepted")
	}
	b.Free()
}

// FuzzFrames: L4, FromBuf and Apply never panic, and a checksum Apply
// completes always verifies afterwards.
func FuzzFrames(f *testing.F) {
	f.Add(udpFrame(false, 5), uint16(34), uint16(6), uint8(1), uint8(0))
	f.Add(udpFrame(true, 0), uint16(38), uint16(6), uint8(1), uint8(1))
	f.Add([]byte{}, uint16(0), uint16(0), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, frame []byte, start, off uint16, flags, gso uint8) {
		if len(frame) > 4000 {
			return
		}
		p := link.MustPool(link.PoolConfig{Count: 1, Size: 4096})
		b := p.Get()
		copy(b.Extend(len(frame)), frame)
		vnet.L4(b.Bytes())
		for _, fl := range []link.Flags{link.FlagCsumPartial, link.FlagGSO, link.FlagGSO | link.FlagCsumPartial} {
			b.Flags, b.GSOSize = fl, 100
			vnet.FromBuf(b)
		}
		b.Flags = 0
		var pseudo uint32 // what the field held: the pseudo-header sum
		if at := int(start) + int(off); at+2 <= len(frame) {
			pseudo = uint32(binary.BigEndian.Uint16(frame[at:]))
		}
		err := vnet.Apply(vnet.Hdr{Flags: flags, GSOType: gso, CsumStart: start, CsumOffset: off}, b)
		if err == nil && flags&vnet.FlagNeedsCsum != 0 {
			if wire.Fold(wire.Sum(b.Bytes()[start:], pseudo)) != 0 && binary.BigEndian.Uint16(b.Bytes()[int(start)+int(off):]) != 0xffff {
				t.Fatalf("completed checksum does not verify")
			}
		}
		b.Free()
	})
}

// A sum that folds to 0xffff gives checksum 0x0000: TCP keeps it (RFC
// 1624), UDP sends 0xffff since 0 means "no checksum" there.
func TestCompleteNegativeZero(t *testing.T) {
	for _, tc := range []struct {
		offset int
		want   uint16
	}{{16, 0x0000}, {2, 0x0000}, {6, 0xffff}} {
		seg := make([]byte, 20)
		// The field holds 0xfffe; one more word of 0x0001 makes the
		// whole sum 0xffff, whose complement is 0.
		binary.BigEndian.PutUint16(seg[tc.offset:], 0xfffe)
		binary.BigEndian.PutUint16(seg[18:], 0x0001)
		if !vnet.Complete(seg, 0, tc.offset) {
			t.Fatalf("offset %d: Complete refused", tc.offset)
		}
		if got := binary.BigEndian.Uint16(seg[tc.offset:]); got != tc.want {
			t.Errorf("offset %d: checksum %#04x, want %#04x", tc.offset, got, tc.want)
		}
	}
}
