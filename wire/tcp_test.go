package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/ustack/ustack/wire"
)

// w2RefChecksum is an obvious RFC 1071 checksum over the concatenation of
// the given pieces, one 16-bit word at a time, used to cross-check the
// checksum methods. The pieces are joined first, so odd lengths are only
// padded at the very end.
func w2RefChecksum(pieces ...[]byte) uint16 {
	var all []byte
	for _, p := range pieces {
		all = append(all, p...)
	}
	var s uint32
	for i := 0; i < len(all); i += 2 {
		w := uint32(all[i]) << 8
		if i+1 < len(all) {
			w |= uint32(all[i+1])
		}
		s += w
		s = (s & 0xffff) + (s >> 16)
	}
	return ^uint16(s)
}

// w2Pseudo4 and w2Pseudo6 lay out the pseudo-headers byte by byte as RFC
// 9293 section 3.1 and RFC 8200 section 8.1 draw them.
func w2Pseudo4(src, dst [4]byte, proto uint8, n int) []byte {
	p := append(append([]byte{}, src[:]...), dst[:]...)
	return append(p, 0, proto, byte(n>>8), byte(n))
}

func w2Pseudo6(src, dst [16]byte, proto uint8, n int) []byte {
	p := append(append([]byte{}, src[:]...), dst[:]...)
	return append(p, byte(n>>24), byte(n>>16), byte(n>>8), byte(n), 0, 0, 0, proto)
}

// w2SynSegment is a hand-written SYN from 10.0.0.1:40000 to 10.0.0.2:80
// with Linux's SYN options (MSS 1460, SACK-permitted, TS, WS 7).
func w2SynSegment() []byte {
	return []byte{
		0x9c, 0x40, 0x00, 0x50, // ports 40000 -> 80
		0x11, 0x22, 0x33, 0x44, // seq
		0x00, 0x00, 0x00, 0x00, // ack
		0xa0, 0x02, 0xfa, 0xf0, // offset 10 words, SYN, window 64240
		0x00, 0x00, 0x00, 0x00, // checksum, urgent
		0x02, 0x04, 0x05, 0xb4,
		0x04, 0x02, 0x08, 0x0a, 0x00, 0x01, 0xe2, 0x40, 0x00, 0x00, 0x00, 0x00,
		0x01, 0x03, 0x03, 0x07,
	}
}

func TestTCPFlagsString(t *testing.T) {
	F, S, R, P, A := wire.TCPFlagFIN, wire.TCPFlagSYN, wire.TCPFlagRST, wire.TCPFlagPSH, wire.TCPFlagACK
	cases := []struct {
		f    wire.TCPFlags
		want string
	}{
		{S, "S"},
		{S | A, "S."},
		{P | A, "P."},
		{F | A, "F."},
		{R, "R"},
		{R | A, "R."},
		{A, "."},
		{F | P | A, "FP."},
		{S | wire.TCPFlagECE | wire.TCPFlagCWR, "SEW"},
		{S | A | wire.TCPFlagECE, "S.E"},
		{A | wire.TCPFlagURG, ".U"},
		{0, "none"},
		{0xff, "FSRP.UEW"},
	}
	for _, c := range cases {
		if got := c.f.String(); got != c.want {
			t.Errorf("TCPFlags(%#02x).String() = %q, want %q", uint8(c.f), got, c.want)
		}
	}
	if !(S | A).Has(S) || (S | A).Has(S|F) || !(S | A).Has(S|A) {
		t.Error("Has is wrong")
	}
}

func TestParseTCPFields(t *testing.T) {
	seg := append(w2SynSegment(), 'h', 'i')
	h, err := wire.ParseTCP(seg)
	if err != nil {
		t.Fatal(err)
	}
	if h.SrcPort() != 40000 || h.DstPort() != 80 || h.Seq() != 0x11223344 || h.Ack() != 0 {
		t.Errorf("ports/seq/ack = %d %d %#x %#x", h.SrcPort(), h.DstPort(), h.Seq(), h.Ack())
	}
	if h.DataOffset() != 40 || h.Flags() != wire.TCPFlagSYN || h.Window() != 64240 || h.Urgent() != 0 {
		t.Errorf("off/flags/win/urg = %d %v %d %d", h.DataOffset(), h.Flags(), h.Window(), h.Urgent())
	}
	if !bytes.Equal(h.Options(), seg[20:40]) || string(h.Payload()) != "hi" {
		t.Errorf("options %x payload %q", h.Options(), h.Payload())
	}
	h.SetSrcPort(1)
	h.SetDstPort(2)
	h.SetSeq(3)
	h.SetAck(4)
	h.SetFlags(wire.TCPFlagACK | wire.TCPFlagPSH)
	h.SetWindow(5)
	h.SetUrgent(6)
	h.SetChecksumField(0xbeef)
	want := []byte{0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0xa0, 0x18, 0, 5, 0xbe, 0xef, 0, 6}
	if !bytes.Equal(seg[:20], want) {
		t.Errorf("after setters header = % x, want % x", seg[:20], want)
	}
	if h.Checksum() != 0xbeef {
		t.Errorf("Checksum = %#x", h.Checksum())
	}
}

func TestParseTCPMalformed(t *testing.T) {
	seg := w2SynSegment()
	for n := 0; n < wire.TCPMinHeaderLen; n++ {
		if _, err := wire.ParseTCP(seg[:n]); !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("len %d: err = %v, want ErrTruncated", n, err)
		}
	}
	// Every truncation inside the options is caught by the data offset.
	for n := wire.TCPMinHeaderLen; n < len(seg); n++ {
		if _, err := wire.ParseTCP(seg[:n]); !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("len %d of %d: err = %v, want ErrTruncated", n, len(seg), err)
		}
	}
	for off := 0; off < 5; off++ {
		b := append([]byte{}, seg...)
		b[12] = byte(off<<4) | b[12]&0x0f
		if _, err := wire.ParseTCP(b); !errors.Is(err, wire.ErrBadLength) {
			t.Errorf("data offset %d: err = %v, want ErrBadLength", off, err)
		}
	}
	for off := 5; off < 16; off++ {
		b := make([]byte, 60)
		b[12] = byte(off << 4)
		h, err := wire.ParseTCP(b[:off*4])
		if err != nil || h.DataOffset() != off*4 || len(h.Payload()) != 0 {
			t.Errorf("data offset %d exactly filling: %v", off, err)
		}
		if _, err := wire.ParseTCP(b[:off*4-1]); !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("data offset %d one byte short: err = %v", off, err)
		}
	}
}

func TestTCPChecksumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	src4, dst4 := [4]byte{10, 0, 0, 1}, [4]byte{192, 168, 200, 254}
	var src6, dst6 [16]byte
	for i := range src6 {
		src6[i], dst6[i] = byte(r.Uint32()), byte(r.Uint32())
	}
	for _, n := range []int{20, 21, 40, 41, 63, 1460 + 32, 9000} {
		seg := make([]byte, n)
		for i := range seg {
			seg[i] = byte(r.Uint32())
		}
		seg[12] = 5 << 4
		h, err := wire.ParseTCP(seg)
		if err != nil {
			t.Fatal(err)
		}
		h.SetChecksum4(src4, dst4)
		if !h.ChecksumValid4(src4, dst4) {
			t.Errorf("len %d: v4 checksum does not verify after SetChecksum4", n)
		}
		if w2RefChecksum(w2Pseudo4(src4, dst4, 6, n), seg) != 0 {
			t.Errorf("len %d: reference disagrees with SetChecksum4", n)
		}
		seg[n-1] ^= 0x40
		if h.ChecksumValid4(src4, dst4) {
			t.Errorf("len %d: corrupted segment verifies (v4)", n)
		}
		seg[n-1] ^= 0x40
		if h.ChecksumValid4(src4, [4]byte{10, 0, 0, 3}) {
			t.Errorf("len %d: wrong address verifies (v4)", n)
		}

		h.SetChecksum6(src6, dst6)
		if !h.ChecksumValid6(src6, dst6) {
			t.Errorf("len %d: v6 checksum does not verify after SetChecksum6", n)
		}
		if w2RefChecksum(w2Pseudo6(src6, dst6, 6, n), seg) != 0 {
			t.Errorf("len %d: reference disagrees with SetChecksum6", n)
		}
		seg[0] ^= 1
		if h.ChecksumValid6(src6, dst6) {
			t.Errorf("len %d: corrupted segment verifies (v6)", n)
		}
	}
}

func TestPutTCPGolden(t *testing.T) {
	h := wire.TCPHeader{SrcPort: 40000, DstPort: 80, Seq: 0x11223344, Flags: wire.TCPFlagSYN, Window: 64240}
	o := wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTS: true, TSVal: 123456, HasWScale: true, WScale: 7}
	b := make([]byte, 64)
	for i := range b {
		b[i] = 0xee // the builder must overwrite whatever was there
	}
	n, err := wire.PutTCP(b, &h, &o)
	if err != nil || n != 40 {
		t.Fatalf("PutTCP = %d, %v", n, err)
	}
	if want := w2SynSegment(); !bytes.Equal(b[:n], want) {
		t.Errorf("PutTCP\n got % x\nwant % x", b[:n], want)
	}
	n, err = wire.PutTCP(b, &h, nil)
	if err != nil || n != 20 || b[12] != 0x50 {
		t.Errorf("PutTCP without options = %d, %v, offset byte %#x", n, err, b[12])
	}
	for size := 0; size < 40; size++ {
		if _, err := wire.PutTCP(make([]byte, size), &h, &o); !errors.Is(err, wire.ErrShortBuffer) {
			t.Errorf("PutTCP into %d bytes: err = %v, want ErrShortBuffer", size, err)
		}
	}
}

func TestTCPBuildParseRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	src, dst := [4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}
	for i := 0; i < 500; i++ {
		h := wire.TCPHeader{
			SrcPort: uint16(r.Uint32()), DstPort: uint16(r.Uint32()),
			Seq: r.Uint32(), Ack: r.Uint32(), Flags: wire.TCPFlags(r.Uint32()),
			Window: uint16(r.Uint32()), Urgent: uint16(r.Uint32()),
		}
		o := w2RandomOptions(r)
		payload := make([]byte, r.IntN(100))
		for j := range payload {
			payload[j] = byte(r.Uint32())
		}
		b := make([]byte, 60+len(payload))
		n, err := wire.PutTCP(b, &h, &o)
		if err != nil {
			t.Fatal(err)
		}
		copy(b[n:], payload)
		seg := wire.TCP(b[:n+len(payload)])
		seg.SetChecksum4(src, dst)

		p, err := wire.ParseTCP(b[:n+len(payload)])
		if err != nil {
			t.Fatalf("ParseTCP of built segment: %v", err)
		}
		got := wire.TCPHeader{SrcPort: p.SrcPort(), DstPort: p.DstPort(), Seq: p.Seq(), Ack: p.Ack(),
			Flags: p.Flags(), Window: p.Window(), Urgent: p.Urgent()}
		if got != h {
			t.Fatalf("header round trip: got %+v want %+v", got, h)
		}
		if !bytes.Equal(p.Payload(), payload) || !p.ChecksumValid4(src, dst) {
			t.Fatalf("payload or checksum differ")
		}
		var po wire.TCPOptions
		if err := wire.ParseTCPOptions(p.Options(), &po); err != nil {
			t.Fatalf("ParseTCPOptions of built options % x: %v", p.Options(), err)
		}
		if want := w2Fitted(o); po != want {
			t.Fatalf("options round trip:\n got %+v\nwant %+v", po, want)
		}
	}
}

func TestTCPNoAllocs(t *testing.T) {
	seg := append(w2SynSegment(), make([]byte, 100)...)
	src, dst := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	var src6, dst6 [16]byte
	var o wire.TCPOptions
	h := wire.TCPHeader{SrcPort: 1, DstPort: 2, Flags: wire.TCPFlagACK, Window: 100}
	opts := wire.TCPOptions{HasTS: true, TSVal: 1, TSEcr: 2, NumSACK: 2}
	out := make([]byte, 200)
	allocs := testing.AllocsPerRun(100, func() {
		p, err := wire.ParseTCP(seg)
		if err != nil {
			panic(err)
		}
		if err := wire.ParseTCPOptions(p.Options(), &o); err != nil {
			panic(err)
		}
		_ = p.ChecksumValid4(src, dst)
		_ = p.ChecksumValid6(src6, dst6)
		_ = p.Flags().AppendString(out[:0])
		n, err := wire.PutTCP(out, &h, &opts)
		if err != nil {
			panic(err)
		}
		wire.TCP(out[:n+10]).SetChecksum4(src, dst)
		wire.TCP(out[:n+10]).SetChecksum6(src6, dst6)
		_, _ = wire.ParseTCP(seg[:10])
		_ = wire.ParseTCPOptions([]byte{2, 0}, &o)
	})
	if allocs != 0 {
		t.Errorf("TCP parse/build allocates %v times per run", allocs)
	}
}

func BenchmarkTCPParse(b *testing.B) {
	seg := make([]byte, 32+1448)
	seg[12] = 8 << 4
	seg[13] = byte(wire.TCPFlagACK)
	copy(seg[20:], []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})
	var o wire.TCPOptions
	b.ReportAllocs()
	for b.Loop() {
		p, err := wire.ParseTCP(seg)
		if err != nil {
			b.Fatal(err)
		}
		if err := wire.ParseTCPOptions(p.Options(), &o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTCPParseSYNOptions(b *testing.B) {
	seg := w2SynSegment()
	var o wire.TCPOptions
	b.ReportAllocs()
	for b.Loop() {
		p, err := wire.ParseTCP(seg)
		if err != nil {
			b.Fatal(err)
		}
		if err := wire.ParseTCPOptions(p.Options(), &o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTCPBuild(b *testing.B) {
	out := make([]byte, 60)
	h := wire.TCPHeader{SrcPort: 1, DstPort: 2, Seq: 3, Ack: 4, Flags: wire.TCPFlagACK, Window: 100}
	o := wire.TCPOptions{HasTS: true, TSVal: 1, TSEcr: 2}
	b.ReportAllocs()
	for b.Loop() {
		o.TSVal++
		if _, err := wire.PutTCP(out, &h, &o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTCPBuildChecksum4(b *testing.B) {
	out := make([]byte, 32+1448)
	h := wire.TCPHeader{SrcPort: 1, DstPort: 2, Seq: 3, Ack: 4, Flags: wire.TCPFlagACK, Window: 100}
	o := wire.TCPOptions{HasTS: true, TSVal: 1, TSEcr: 2}
	src, dst := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	b.ReportAllocs()
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, err := wire.PutTCP(out, &h, &o); err != nil {
			b.Fatal(err)
		}
		wire.TCP(out).SetChecksum4(src, dst)
	}
}

var _ = binary.BigEndian
