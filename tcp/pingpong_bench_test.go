package tcp

import (
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// ppOut is one side's Output in the ping-pong benchmark: it keeps the last
// segment sent, with its payload in a frame buffer, for the other side.
type ppOut struct {
	pool *link.Pool
	seg  Segment
	buf  *link.Buf
	n    int
}

func (o *ppOut) Send(t *Tuple, h *wire.TCPHeader, opts *wire.TCPOptions, p1, p2 []byte) {
	if o.buf != nil {
		o.buf.Free() // only the last segment is delivered
	}
	b := o.pool.Get()
	p := b.Extend(len(p1) + len(p2))
	copy(p[copy(p, p1):], p2)
	o.seg = Segment{Seq: seqv(h.Seq), Ack: seqv(h.Ack), Flags: h.Flags, Window: h.Window, Opts: *opts, Payload: p}
	o.buf = b
	o.n++
}

// pingPongPair is two established engines connected through ppOuts, the
// client's 1-byte request already sent.
func pingPongPair(tb testing.TB) (conns [2]*Conn, outs [2]*ppOut, now time.Duration) {
	cfg := Linux()
	pool := link.MustPool(link.PoolConfig{Count: 64})
	outs = [2]*ppOut{{pool: pool}, {pool: pool}}
	sec := NewSecrets([16]byte{7})
	l, err := NewListener(cfg, addrB, sec)
	if err != nil {
		tb.Fatal(err)
	}
	now = time.Second
	a, err := Dial(now, cfg, Tuple{Local: addrA, Remote: addrB}, 1000, outs[0])
	if err != nil {
		tb.Fatal(err)
	}
	take := func(o *ppOut) (*Segment, *link.Buf) {
		if o.buf == nil {
			tb.Fatal("nothing sent")
		}
		b := o.buf
		o.buf = nil
		return &o.seg, b
	}
	now += time.Millisecond
	seg, b := take(outs[0]) // SYN
	l.Input(now, addrB, addrA, seg, b, outs[1])
	seg, b = take(outs[1]) // SYN,ACK
	a.Input(now, seg, b, outs[0])
	seg, b = take(outs[0]) // ACK
	c := l.Input(now, addrB, addrA, seg, b, outs[1])
	if c == nil || l.Accept() != c || a.State() != Established {
		tb.Fatalf("handshake: %v / %v", a.State(), c)
	}
	conns = [2]*Conn{a, c}
	if _, err := a.Write(now, []byte{1}, outs[0]); err != nil {
		tb.Fatal(err)
	}
	return conns, outs, now
}

// pingPongStep is one side's share of a round trip as the stack's event
// glue drives it: the peer's segment through a run, the events, the
// handler's read and 1-byte answer under hold, the run's end, and the
// timer deadline read back.
func pingPongStep(now time.Duration, c *Conn, in, out *ppOut, rb []byte) {
	seg, b := &in.seg, in.buf
	in.buf = nil
	c.InputRun(now, seg, b, out)
	c.Deadline()
	c.TakeEvents()
	c.SetHold(now, true, out)
	c.Read(rb, now, out)
	c.Write(now, rb[:1], out)
	c.SetHold(now, false, out)
	c.EndRun(now, out)
	c.Deadline()
}

// BenchmarkPingPong is the engine's share of BenchmarkEventRTTManual (the
// root package): one 1-byte request/response round trip between two
// engines, no wire format, no IP.
func BenchmarkPingPong(b *testing.B) {
	conns, outs, now := pingPongPair(b)
	rb := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		now += 20 * time.Microsecond
		pingPongStep(now, conns[1], outs[0], outs[1], rb)
		pingPongStep(now, conns[0], outs[1], outs[0], rb)
	}
}

func TestPingPongAllocs(t *testing.T) {
	conns, outs, now := pingPongPair(t)
	rb := make([]byte, 64)
	sent := outs[0].n + outs[1].n
	n := testing.AllocsPerRun(200, func() {
		now += 20 * time.Microsecond
		pingPongStep(now, conns[1], outs[0], outs[1], rb)
		pingPongStep(now, conns[0], outs[1], outs[0], rb)
	})
	if n != 0 {
		t.Fatalf("%v allocations per round trip", n)
	}
	// One segment each way per round trip (the ACK rides on the answer).
	if got := outs[0].n + outs[1].n - sent; got != 2*201 {
		t.Fatalf("%d segments for 201 round trips, want %d", got, 2*201)
	}
}
