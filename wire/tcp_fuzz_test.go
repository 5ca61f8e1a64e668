package wire_test

import (
	"bytes"
	"testing"

	"github.com/ustack/ustack/wire"
)

func FuzzTCP(f *testing.F) {
	f.Add(w2SynSegment())
	f.Add(append(w2SynSegment(), "payload"...))
	f.Add(w2Bytes([]byte{0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0x80, 0x10, 0, 5, 0, 0, 0, 0},
		[]byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}))
	f.Add(make([]byte, 19))
	f.Add([]byte{0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0xf0, 0x10, 0, 5, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := wire.ParseTCP(b)
		if err != nil {
			return
		}
		if h.DataOffset() < 20 || h.DataOffset() > len(b) || len(h.Options())+len(h.Payload())+20 != len(b) {
			t.Fatalf("inconsistent lengths: off %d opts %d payload %d len %d", h.DataOffset(), len(h.Options()), len(h.Payload()), len(b))
		}
		_ = h.Flags().String()
		_ = h.Reserved()
		var o wire.TCPOptions
		if err := wire.ParseTCPOptions(h.Options(), &o); err == nil {
			if n := o.EncodedLen(); n%4 != 0 || n > 40 {
				t.Fatalf("EncodedLen %d", n)
			}
		}
		// Rebuilding the fixed header from the view gives the same bytes.
		hdr := wire.TCPHeader{SrcPort: h.SrcPort(), DstPort: h.DstPort(), Seq: h.Seq(), Ack: h.Ack(),
			Flags: h.Flags(), Window: h.Window(), Urgent: h.Urgent()}
		out := make([]byte, 20)
		if _, err := wire.PutTCP(out, &hdr, nil); err != nil {
			t.Fatal(err)
		}
		want := append([]byte{}, b[:20]...)
		want[12] = 0x50
		want[16], want[17] = 0, 0
		if !bytes.Equal(out, want) {
			t.Fatalf("rebuilt header\n got % x\nwant % x", out, want)
		}
		src, dst := [4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}
		h.SetChecksum4(src, dst)
		if !h.ChecksumValid4(src, dst) {
			t.Fatal("v4 checksum does not verify after SetChecksum4")
		}
		var s6, d6 [16]byte
		s6[15], d6[0] = 1, 0xfe
		h.SetChecksum6(s6, d6)
		if !h.ChecksumValid6(s6, d6) {
			t.Fatal("v6 checksum does not verify after SetChecksum6")
		}
	})
}

// FuzzTCPOptions: whatever parses re-encodes (Linux layout) and parses back
// to the same options, less what the 40-byte limit drops.
func FuzzTCPOptions(f *testing.F) {
	for _, c := range w2Golden {
		f.Add(c.want)
	}
	f.Add([]byte{0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x06, 0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, 0x04, 0x02, 0x00, 0x00})
	f.Add([]byte{0x05, 0x22, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0x22, 0x07, 1, 2, 3, 4, 5})
	f.Add([]byte{0x02, 0x01})
	f.Add([]byte{0x01, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		var o wire.TCPOptions
		if err := wire.ParseTCPOptions(b, &o); err != nil {
			return
		}
		n := o.EncodedLen()
		if n%4 != 0 || n > wire.TCPMaxOptionsLen {
			t.Fatalf("EncodedLen %d", n)
		}
		out := make([]byte, 40)
		m, err := o.Encode(out)
		if err != nil || m != n {
			t.Fatalf("Encode = %d, %v; EncodedLen %d", m, err, n)
		}
		var p wire.TCPOptions
		if err := wire.ParseTCPOptions(out[:m], &p); err != nil {
			t.Fatalf("re-parse of % x: %v", out[:m], err)
		}
		if want := w2Fitted(o); p != want {
			t.Fatalf("% x -> %+v\nencoded % x -> %+v\nwant %+v", b, o, out[:m], p, want)
		}
	})
}
