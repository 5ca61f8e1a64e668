package tcp

import (
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// countOut counts segments and remembers the last header (no allocation).
type countOut struct {
	n    int
	last wire.TCPHeader
	plen int
}

func (o *countOut) Send(t *Tuple, h *wire.TCPHeader, opts *wire.TCPOptions, p1, p2 []byte) {
	o.n++
	o.last = *h
	o.plen = len(p1) + len(p2)
}

// establishedPair returns a Conn established with a peer (ISS 300) through
// the harness, then switched to a non-recording Output.
func establishedForAllocs(t *testing.T, cfg Config) (*harness, *countOut) {
	h := newHarness(t, cfg)
	h.established("<MSS=1460><SACKOK><TS=1,0><WS=7>")
	return h, &countOut{}
}

// Steady state receive: data segment in (kept in its frame buffer), ACK
// out, Read copies and frees: zero allocations.
func TestAllocsReceive(t *testing.T) {
	h, out := establishedForAllocs(t, Linux())
	c := h.c
	pool := link.MustPool(link.PoolConfig{Count: 64})
	seq := c.rcvNxt
	rb := make([]byte, 4096)
	var seg Segment
	ts := uint32(10)
	run := func() {
		b := pool.Get()
		b.Extend(1448)
		seg = Segment{Seq: seq, Ack: c.sndNxt, Flags: flagACK | flagPSH, Window: 1000, Payload: b.Bytes()}
		seg.Opts.HasTS, seg.Opts.TSVal, seg.Opts.TSEcr = true, ts, 0
		ts++
		h.now += 1000
		c.Input(h.now, &seg, b, out)
		seq = seq.Add(1448)
		if _, err := c.Read(rb, h.now, out); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 50; i++ {
		run() // leave quick-ACK mode, grow the window
	}
	n0 := out.n
	if a := testing.AllocsPerRun(200, run); a != 0 {
		t.Fatalf("%.1f allocations per received segment", a)
	}
	if out.n <= n0 || pool.InUse() != 0 {
		t.Fatalf("no ACKs sent (%d) or buffers held (%d)", out.n-n0, pool.InUse())
	}
}

// Steady state send: Write → data segment out, ACK in frees the ring: zero
// allocations.
func TestAllocsSend(t *testing.T) {
	cfg := Linux()
	cfg.NoDelay = true
	h, out := establishedForAllocs(t, cfg)
	c := h.c
	p := make([]byte, 1000)
	var ack Segment
	ts := uint32(10)
	run := func() {
		h.now += 1000
		before := out.n
		if n, err := c.Write(h.now, p, out); n != len(p) || err != nil {
			t.Fatal(n, err)
		}
		if out.n != before+1 || out.plen != len(p) {
			t.Fatalf("write sent %d segments of %d bytes", out.n-before, out.plen)
		}
		ack = Segment{Seq: c.rcvNxt, Ack: c.sndNxt, Flags: flagACK, Window: 1000}
		ack.Opts.HasTS, ack.Opts.TSVal, ack.Opts.TSEcr = true, ts, c.tsNow(h.now)
		ts++
		h.now += 1000
		c.Input(h.now, &ack, nil, out)
	}
	run() // allocate the send ring
	if a := testing.AllocsPerRun(200, run); a != 0 {
		t.Fatalf("%.1f allocations per sent segment", a)
	}
}

// Timer work is allocation-free too: a delayed ACK firing, and an RTO
// retransmission.
func TestAllocsTimers(t *testing.T) {
	h, out := establishedForAllocs(t, Linux())
	c := h.c
	pool := link.MustPool(link.PoolConfig{Count: 8})
	seq := c.rcvNxt
	var seg Segment
	p := make([]byte, 100)
	rb := make([]byte, 4096)
	c.quickAcks = 0
	run := func() {
		// One segment in: its ACK is delayed; fire the timer.
		b := pool.Get()
		b.Extend(100)
		seg = Segment{Seq: seq, Ack: c.sndNxt, Flags: flagACK, Window: 1000, Payload: b.Bytes()}
		h.now += time.Second
		c.Input(h.now, &seg, b, out)
		seq = seq.Add(100)
		if at, ok := c.Deadline(); ok {
			h.now = at
			c.OnTimer(h.now, out)
		}
		c.Read(rb, h.now, out)
		// Data out, lost: the RTO resends it; then it is acknowledged.
		c.Write(h.now, p, out)
		if at, ok := c.Deadline(); ok {
			h.now = at
			c.OnTimer(h.now, out)
		}
		seg = Segment{Seq: seq, Ack: c.sndMax, Flags: flagACK, Window: 1000}
		c.Input(h.now, &seg, nil, out)
	}
	run()
	if a := testing.AllocsPerRun(100, run); a != 0 {
		t.Fatalf("%.1f allocations per timer round", a)
	}
	if c.cnt.DelayedACKs == 0 || c.cnt.TCPTimeouts+c.cnt.TCPLossProbes == 0 {
		t.Fatalf("timers did not fire: %+v", *c.cnt)
	}
}
