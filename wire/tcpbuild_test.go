package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

// The slow reference: PutTCP, the payload copied after the header, then
// SetChecksum4 over the whole segment.
func refTCPSegment4(b []byte, h *TCPHeader, opts *TCPOptions, p1, p2 []byte, src, dst [4]byte) (int, error) {
	n, err := PutTCP(b, h, opts)
	if err != nil {
		return 0, err
	}
	if len(b) < n+len(p1)+len(p2) {
		return 0, errTCPBuild
	}
	n += copy(b[n:], p1)
	n += copy(b[n:], p2)
	TCP(b[:n]).SetChecksum4(src, dst)
	return n, nil
}

func randomTCPOptions(r *rand.Rand) *TCPOptions {
	if r.IntN(8) == 0 {
		return nil
	}
	o := &TCPOptions{HasTS: r.IntN(4) != 0, TSVal: r.Uint32(), TSEcr: r.Uint32(), SACKPermitted: r.IntN(4) == 0}
	if r.IntN(3) == 0 {
		o.HasMSS, o.MSS = r.IntN(2) == 0, uint16(r.Uint32())
		o.HasWScale, o.WScale = r.IntN(2) == 0, uint8(r.IntN(15))
		o.NumSACK = r.IntN(5)
		for i := range o.SACK {
			o.SACK[i] = SACKBlock{Left: r.Uint32(), Right: r.Uint32()}
		}
		o.HasTFO, o.TFOLen = r.IntN(4) == 0, r.IntN(17)
		o.HasMD5 = r.IntN(8) == 0
		for i := range o.MD5 {
			o.MD5[i] = byte(r.Uint32())
		}
	}
	return o
}

func TestPutTCPSegment4MatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	payload := make([]byte, 3000)
	for i := range payload {
		payload[i] = byte(r.Uint32())
	}
	want := make([]byte, 4000)
	got := make([]byte, 4000)
	for iter := 0; iter < 20000; iter++ {
		h := TCPHeader{SrcPort: uint16(r.Uint32()), DstPort: uint16(r.Uint32()), Seq: r.Uint32(), Ack: r.Uint32(),
			Flags: TCPFlags(r.Uint32()), Window: uint16(r.Uint32()), Urgent: uint16(r.Uint32())}
		if r.IntN(2) == 0 {
			h.Urgent = 0
		}
		opts := randomTCPOptions(r)
		var p1, p2 []byte
		switch r.IntN(4) {
		case 0: // no payload
		case 1: // small, either parity
			a := r.IntN(len(payload) - 8)
			p1 = payload[a : a+r.IntN(8)]
		default: // a wrapped ring: two pieces of any lengths
			a, b := r.IntN(len(payload)), r.IntN(len(payload))
			p1 = payload[a : a+r.IntN(min(1500, len(payload)-a)+1)]
			p2 = payload[b : b+r.IntN(min(1500, len(payload)-b)+1)]
		}
		var src, dst [4]byte
		binary.BigEndian.PutUint32(src[:], r.Uint32())
		binary.BigEndian.PutUint32(dst[:], r.Uint32())
		for i := range want {
			want[i], got[i] = 0x5a, 0x5a
		}
		wn, werr := refTCPSegment4(want, &h, opts, p1, p2, src, dst)
		gn, gerr := PutTCPSegment4(got, &h, opts, p1, p2, src, dst)
		if wn != gn || (werr == nil) != (gerr == nil) || !bytes.Equal(want, got) {
			t.Fatalf("%+v %+v p1 %d p2 %d: got %d, %v\n% x\nreference %d, %v\n% x",
				h, opts, len(p1), len(p2), gn, gerr, got[:gn], wn, werr, want[:wn])
		}
		if !TCP(got[:gn]).ChecksumValid4(src, dst) {
			t.Fatal("checksum does not verify")
		}
	}
}

func TestPutTCPSegment4ShortBuffer(t *testing.T) {
	h := TCPHeader{SrcPort: 1, DstPort: 2}
	o := TCPOptions{HasTS: true}
	b := make([]byte, 32+10)
	if _, err := PutTCPSegment4(b[:41], &h, &o, make([]byte, 5), make([]byte, 5), [4]byte{}, [4]byte{}); !errors.Is(err, ErrShortBuffer) {
		t.Fatalf("short buffer: %v", err)
	}
	if n, err := PutTCPSegment4(b, &h, &o, make([]byte, 5), make([]byte, 5), [4]byte{}, [4]byte{}); err != nil || n != 42 {
		t.Fatalf("exact buffer: %d, %v", n, err)
	}
}

func TestPutTCPSegment4NoAllocs(t *testing.T) {
	b := make([]byte, 100)
	h := TCPHeader{SrcPort: 1, DstPort: 2, Flags: TCPFlagACK}
	o := TCPOptions{HasTS: true}
	p := []byte{1}
	if n := testing.AllocsPerRun(100, func() { PutTCPSegment4(b, &h, &o, p, nil, [4]byte{1}, [4]byte{2}) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// BenchmarkTCPSegment4 compares the one-pass builder with PutTCP, the
// payload copy and SetChecksum4 for the small segment of a request/response
// exchange.
func BenchmarkTCPSegment4(b *testing.B) {
	out := make([]byte, 2048)
	h := TCPHeader{SrcPort: 1, DstPort: 2, Seq: 3, Ack: 4, Flags: TCPFlagACK | TCPFlagPSH, Window: 100}
	o := TCPOptions{HasTS: true, TSVal: 1, TSEcr: 2}
	src, dst := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	p := []byte{'x'}
	b.Run("OnePass", func(b *testing.B) {
		for b.Loop() {
			o.TSVal++
			PutTCPSegment4(out, &h, &o, p, nil, src, dst)
		}
	})
	b.Run("Reference", func(b *testing.B) {
		for b.Loop() {
			o.TSVal++
			refTCPSegment4(out, &h, &o, p, nil, src, dst)
		}
	})
}
