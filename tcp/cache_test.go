package tcp

import (
	"bytes"
	"testing"
)

// A connection gives its send buffer back once its FIN is queued and all
// its data acknowledged; the next connection sharing the cache writes into
// that storage and sends only its own bytes.
func TestCacheRingRecycledAfterClose(t *testing.T) {
	cfg := testConfig()
	k := NewCache(0)
	cfg.Cache = k
	h := newHarness(t, cfg)
	h.established("")
	h.write(10)
	h.out("<SEQ=101><ACK=301><CTL=PSH,ACK><LEN=10>")
	first := &h.c.ring.buf[0]
	if k.Rings() != 0 {
		t.Fatalf("cache holds %d buffers while the first is in use", k.Rings())
	}
	h.c.Close(h.now, h.rec)
	h.out("FIN-WAIT-1 --> <SEQ=111><ACK=301><CTL=FIN,ACK>")
	if k.Rings() != 0 || h.c.ring.buf == nil {
		t.Fatal("send buffer given back while its data is unacknowledged")
	}
	// The FIN is lost: the data is acknowledged alone. Nothing more can be
	// written, so the buffer goes back now.
	h.in("FIN-WAIT-1 <-- <SEQ=301><ACK=111><CTL=ACK>")
	if k.Rings() != 1 || h.c.ring.buf != nil {
		t.Fatalf("after the data's ACK: cache %d, ring still holds storage: %v", k.Rings(), h.c.ring.buf != nil)
	}
	// Retransmitting the FIN needs no send buffer.
	h.advance(h.c.rtt.RTO())
	h.out("<SEQ=111><ACK=301><CTL=FIN,ACK>")
	h.in("FIN-WAIT-2 <-- <SEQ=301><ACK=112><CTL=ACK>")
	h.in("TIME-WAIT <-- <SEQ=301><ACK=112><CTL=FIN,ACK>")
	h.out("<SEQ=112><ACK=302><CTL=ACK>")

	// A second connection on the same cache reuses the storage.
	h2 := newHarness(t, cfg)
	h2.established("")
	p := []byte("second")
	if n, err := h2.c.Write(h2.now, p, h2.rec); n != len(p) || err != nil {
		t.Fatal(n, err)
	}
	if &h2.c.ring.buf[0] != first || k.Rings() != 0 {
		t.Fatal("the second connection did not take the cached buffer")
	}
	s := h2.out("<SEQ=101><ACK=301><CTL=PSH,ACK><LEN=6>")
	if !bytes.Equal(s.payload, p) {
		t.Fatalf("payload %q, want %q", s.payload, p)
	}
}

// Closing with data written but not acknowledged (passive close, FIN with
// the data) gives the buffer back when the ACK of both arrives; an abort
// gives it back at once.
func TestCacheRingReleasedOnAckOfFINAndOnAbort(t *testing.T) {
	cfg := testConfig()
	k := NewCache(0)
	cfg.Cache = k
	h := newHarness(t, cfg)
	h.established("")
	h.in("CLOSE-WAIT <-- <SEQ=301><ACK=101><CTL=FIN,ACK>")
	h.out("<SEQ=101><ACK=302><CTL=ACK>")
	h.write(10)
	h.out("<SEQ=101><ACK=302><CTL=PSH,ACK><LEN=10>")
	h.c.Close(h.now, h.rec)
	h.out("LAST-ACK --> <SEQ=111><ACK=302><CTL=FIN,ACK>")
	if k.Rings() != 0 {
		t.Fatal("released with data in flight")
	}
	h.in("CLOSED <-- <SEQ=302><ACK=112><CTL=ACK>")
	if k.Rings() != 1 {
		t.Fatalf("cache holds %d buffers after CLOSED, want 1", k.Rings())
	}

	h = newHarness(t, cfg)
	h.established("")
	h.write(100) // takes the cached buffer
	h.out("<SEQ=101><ACK=301><CTL=PSH,ACK><LEN=100>")
	if k.Rings() != 0 {
		t.Fatal("buffer not taken from the cache")
	}
	h.c.Abort(h.now, h.rec)
	h.out("CLOSED --> <SEQ=201><ACK=301><CTL=RST,ACK>")
	if k.Rings() != 1 || h.c.ring.buf != nil {
		t.Fatal("abort with unacknowledged data kept the buffer")
	}
}

// The cache is bounded; buffers grown past the first size are not kept.
func TestCacheBound(t *testing.T) {
	k := NewCache(2)
	for range 3 {
		k.putRing(make([]byte, sendRingMin))
	}
	k.putRing(make([]byte, 2*sendRingMin))
	if k.Rings() != 2 {
		t.Fatalf("cache holds %d, want 2", k.Rings())
	}
	if NewCache(-1).putRing(make([]byte, sendRingMin)); NewCache(-1).Rings() != 0 {
		t.Fatal("a negative bound keeps buffers")
	}
	var none *Cache
	if none.getRing() != nil {
		t.Fatal("nil cache returned a buffer")
	}
	none.putRing(make([]byte, sendRingMin)) // no panic
}

// With a cache warmed up, a connection's life from Dial to CLOSED and
// Release allocates nothing: the Conn, its send buffer and its congestion
// controller all come back.
func TestAllocsConnLifeWithCache(t *testing.T) {
	cfg := testConfig()
	cfg.Cache = NewCache(0)
	cfg, err := cfg.Resolved()
	if err != nil {
		t.Fatal(err)
	}
	out := &countOut{}
	p := []byte{1}
	life := func() {
		c, err := Dial(0, cfg, Tuple{Local: addrA, Remote: addrB}, 100, out)
		if err != nil {
			t.Fatal(err)
		}
		syn := Segment{Seq: 300, Ack: 101, Flags: flagSYN | flagACK, Window: 65535}
		syn.Opts.MSS, syn.Opts.HasMSS = 1460, true
		c.Input(0, &syn, nil, out)
		if _, err := c.Write(0, p, out); err != nil {
			t.Fatal(err)
		}
		c.Abort(0, out)
		if c.State() != Closed {
			t.Fatal(c.State())
		}
		c.Release()
	}
	life()
	if a := testing.AllocsPerRun(100, life); a != 0 {
		t.Fatalf("%.1f allocations per connection, want 0", a)
	}
}

// Release keeps a CLOSED Conn for the next connection, which starts from
// scratch: the handshake and first data of the reused Conn read exactly
// as a fresh one's. A Conn that is not CLOSED is not taken.
func TestCacheConnReleaseAndReuse(t *testing.T) {
	cfg := testConfig()
	k := NewCache(0)
	cfg.Cache = k
	h := newHarness(t, cfg)
	h.established("<MSS=1000>")
	h.write(10)
	h.out("<SEQ=101><ACK=301><CTL=PSH,ACK><LEN=10>")
	h.c.Release() // ESTABLISHED: refused
	if k.Conns() != 0 {
		t.Fatal("an open connection was taken")
	}
	h.c.Abort(h.now, h.rec)
	h.out("CLOSED --> <SEQ=111><ACK=301><CTL=RST,ACK>")
	old := h.c
	old.Release()
	if k.Conns() != 1 {
		t.Fatalf("cache holds %d Conns, want 1", k.Conns())
	}
	h2 := newHarness(t, cfg)
	h2.established("")
	if h2.c != old || k.Conns() != 0 {
		t.Fatal("the next Dial did not reuse the released Conn")
	}
	if h2.c.Err() != nil || h2.c.sndMSS != 1460 || h2.c.bytesSent != 0 {
		t.Fatalf("reused Conn kept old state: err %v, MSS %d, sent %d", h2.c.Err(), h2.c.sndMSS, h2.c.bytesSent)
	}
	h2.write(10)
	h2.out("<SEQ=101><ACK=301><CTL=PSH,ACK><LEN=10>")
	h2.in("<SEQ=301><ACK=111><CTL=ACK>")
	h2.none()
}

// A Listener gives back the half-open connections it drops.
func TestCacheListenerReleasesDroppedHalfOpens(t *testing.T) {
	cfg := testConfig()
	k := NewCache(0)
	cfg.Cache = k
	h := newHarness(t, cfg)
	h.listen()
	h.in("<SEQ=100><CTL=SYN>")
	h.out("<SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.in("<SEQ=101><CTL=RST>")
	if k.Conns() != 1 || h.l.SynQueueLen() != 0 {
		t.Fatalf("after RST: %d cached, SYN queue %d", k.Conns(), h.l.SynQueueLen())
	}
}
