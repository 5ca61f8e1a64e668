package tcp

import (
	"testing"

	"github.com/ustack/ustack/link"
)

// BenchmarkReceive: one in-order 1448-byte segment in (queued zero copy),
// its share of ACKs out, and Read.
func BenchmarkReceive(b *testing.B) {
	t := &testing.T{}
	h, out := establishedForAllocs(t, Linux())
	c := h.c
	pool := link.MustPool(link.PoolConfig{Count: 64})
	rb := make([]byte, 4096)
	seq := c.rcvNxt
	var seg Segment
	b.ReportAllocs()
	b.SetBytes(1448)
	for i := 0; i < b.N; i++ {
		buf := pool.Get()
		buf.Extend(1448)
		seg = Segment{Seq: seq, Ack: c.sndNxt, Flags: flagACK, Window: 1000, Payload: buf.Bytes()}
		seg.Opts.HasTS, seg.Opts.TSVal = true, uint32(i)
		h.now += 1000
		c.Input(h.now, &seg, buf, out)
		seq = seq.Add(1448)
		c.Read(rb, h.now, out)
	}
}

// BenchmarkSend: Write of one MSS, the segment out, its ACK in.
func BenchmarkSend(b *testing.B) {
	t := &testing.T{}
	cfg := Linux()
	cfg.NoDelay = true
	h, out := establishedForAllocs(t, cfg)
	c := h.c
	p := make([]byte, 1448)
	var ack Segment
	b.ReportAllocs()
	b.SetBytes(1448)
	for i := 0; i < b.N; i++ {
		h.now += 1000
		c.Write(h.now, p, out)
		ack = Segment{Seq: c.rcvNxt, Ack: c.sndNxt, Flags: flagACK, Window: 1000}
		ack.Opts.HasTS, ack.Opts.TSVal, ack.Opts.TSEcr = true, uint32(i), c.tsNow(h.now)
		c.Input(h.now, &ack, nil, out)
	}
}
