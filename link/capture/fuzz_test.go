package capture_test

import (
	"bytes"
	"testing"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/capture"
	"github.com/ustack/ustack/link/mem"
)

// FuzzCaptureRoundTrip sends frames of arbitrary contents and lengths
// through a capture with an arbitrary snaplen and buffer size, and checks
// the file parses and holds exactly the accepted frames, cut at snaplen.
func FuzzCaptureRoundTrip(f *testing.F) {
	f.Add(uint16(64), uint16(300), []byte("\x00\x10abcdefghijklmnop\x05\x00\x00"))
	f.Add(uint16(1), uint16(0), []byte{1, 0, 0xff, 3, 1, 2, 3})
	f.Add(uint16(2000), uint16(100), bytes.Repeat([]byte{0x7f, 0x05}, 40))
	f.Fuzz(func(t *testing.T, snap, bufSize uint16, data []byte) {
		a, b, err := mem.NewPair(mem.WithPool(link.PoolConfig{Count: 64, Size: 2048}), mem.WithRingSize(8))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		c, err := capture.New(a, &out, capture.WithSnaplen(int(snap)), capture.WithBufferSize(int(bufSize)))
		if err != nil {
			t.Fatal(err)
		}
		var want [][]byte
		in := make([]*link.Buf, 16)
		// data: [burst][len] pairs; frame bytes are drawn from data too.
		for len(data) >= 2 {
			burst := 1 + int(data[0]%12)
			size := int(data[1]) * 7
			data = data[2:]
			frames := make([]*link.Buf, 0, burst)
			for i := 0; i < burst; i++ {
				x := c.Pool().Get()
				d := x.Extend(size)
				for k := range d {
					if len(data) > 0 {
						d[k] = data[k%len(data)]
					}
				}
				frames = append(frames, x)
			}
			n := c.Send(frames)
			for _, x := range frames[n:] {
				x.Free()
			}
			for {
				k := b.Recv(in)
				if k == 0 {
					break
				}
				for _, x := range in[:k] {
					want = append(want, append([]byte(nil), x.Bytes()...))
					x.Free()
				}
			}
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		file, err := parsePcapng(out.Bytes())
		if err != nil {
			t.Fatalf("capture does not parse: %v", err)
		}
		if len(file.packets) != len(want) {
			t.Fatalf("%d packets recorded, %d frames delivered", len(file.packets), len(want))
		}
		limit := int(file.ifaces[0].snaplen)
		for i, p := range file.packets {
			cut := want[i][:min(len(want[i]), limit)]
			if int(p.origLen) != len(want[i]) || !bytes.Equal(p.data, cut) || p.flags != 2 {
				t.Fatalf("packet %d differs from frame %d", i, i)
			}
		}
	})
}
