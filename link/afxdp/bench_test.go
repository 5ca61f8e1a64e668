package afxdp

import (
	"testing"
	"time"

	"github.com/ustack/ustack/link"
)

// roundTrip sends burst frames from s and receives them all on r. It
// returns false if they did not all arrive within a generous spin bound.
type roundTrip struct {
	s, r     *Link
	out, in  []*link.Buf
	seq      uint32
	bogusMAC [6]byte
}

func newRoundTrip(s, r *Link, burst int) *roundTrip {
	return &roundTrip{s: s, r: r, out: make([]*link.Buf, burst), in: make([]*link.Buf, burst), bogusMAC: [6]byte{2, 0, 0, 0, 0, 0xee}}
}

func (rt *roundTrip) run() bool {
	for i := range rt.out {
		b := rt.s.Pool().Get()
		if b == nil {
			return false
		}
		udpFrame(b, rt.r.HardwareAddr(), rt.s.HardwareAddr(), rt.seq)
		rt.seq++
		rt.out[i] = b
	}
	sent := 0
	got := 0
	for spins := 0; got < len(rt.out); spins++ {
		if spins > 10_000_000 {
			return false
		}
		if sent < len(rt.out) {
			sent += rt.s.Send(rt.out[sent:])
		}
		n := rt.r.Recv(rt.in)
		for _, b := range rt.in[:n] {
			b.Free()
		}
		got += n
	}
	return true
}

// TestSteadyStateAllocs: Send and Recv allocate nothing once running,
// including the TX kick and completion reclaim.
func TestSteadyStateAllocs(t *testing.T) {
	a, b := linkPair(t)
	rt := newRoundTrip(b, a, 16)
	for range 100 { // warm up: every UMEM TX frame used at least once
		if !rt.run() {
			t.Fatal("warm-up frames did not arrive")
		}
	}
	// A's transmit path too: frames to a MAC nobody has, dropped by B's kernel.
	aOut := make([]*link.Buf, 4)
	ok := true
	allocs := testing.AllocsPerRun(200, func() {
		if !rt.run() {
			ok = false
		}
		for i := range aOut {
			aOut[i] = a.Pool().Get()
			udpFrame(aOut[i], rt.bogusMAC, a.HardwareAddr(), 0)
		}
		if n := a.Send(aOut); n != len(aOut) {
			for _, x := range aOut[n:] {
				x.Free()
			}
		}
	})
	if !ok {
		t.Fatal("frames were lost during the measurement")
	}
	if allocs != 0 {
		t.Fatalf("Send/Recv allocate %.1f times per round", allocs)
	}
}

// BenchmarkSendRecv: one op is a burst of 32 frames sent by one AF_XDP
// link and received by the other across a veth, native XDP both ends.
func BenchmarkSendRecv(b *testing.B) {
	for _, mode := range []AttachMode{AttachNative, AttachGeneric} {
		name := map[AttachMode]string{AttachNative: "native", AttachGeneric: "generic"}[mode]
		b.Run(name, func(b *testing.B) {
			x, y := linkPair(b, WithAttachMode(mode))
			rt := newRoundTrip(y, x, 32)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if !rt.run() {
					b.Fatal("frames lost")
				}
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*32), "ns/frame")
		})
	}
}
