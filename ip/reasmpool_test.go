package ip

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// holder is a Transport that keeps the buffers it is given, checking the
// reassembled IPv4 header still in front of each, until release.
type holder struct {
	t    testing.TB
	bufs []*link.Buf
	pkts []Packet
}

func (h *holder) Deliver(now time.Duration, p *Packet, b *link.Buf, out Output) {
	hdr := b.Prepend(p.HeaderLen)
	if hdr == nil {
		h.t.Errorf("no IPv4 header in front of the delivered data")
	} else {
		ip, err := wire.ParseIPv4(b.Bytes())
		if err != nil || !ip.ChecksumValid() || ip.IsFragment() || ip.TotalLen() != b.Len() {
			h.t.Errorf("delivered header: %v, checksum ok %v, fragment %v, total %d of %d",
				err, err == nil && ip.ChecksumValid(), err == nil && ip.IsFragment(), ip.TotalLen(), b.Len())
		}
		b.TrimFront(p.HeaderLen)
	}
	h.bufs = append(h.bufs, b)
	h.pkts = append(h.pkts, *p)
}

func (h *holder) release() {
	for _, b := range h.bufs {
		b.Free()
	}
	h.bufs = h.bufs[:0]
	h.pkts = h.pkts[:0]
}

// cut splits n payload bytes into fragments of size bytes (a multiple of
// 8) and a shorter last one.
func cut(n, size int) []frag {
	var fs []frag
	for off := 0; off < n; off += size {
		fs = append(fs, frag{off, min(size, n-off), off+size < n})
	}
	return fs
}

// A 65000-byte datagram in 45 fragments, each in a default 2048-byte link
// buffer, is reassembled with the default configuration (in the
// reassembly pool), in order, reversed and shuffled; a small datagram
// still joins in its first fragment's own buffer.
func TestReassemblyLargeDatagram(t *testing.T) {
	const size = 65000
	payload := pattern(size)
	frags := cut(size, 1456)
	if len(frags) != 45 {
		t.Fatalf("%d fragments", len(frags))
	}
	c := newCollector(t) // 2048-byte buffers
	h := hostA(t, nil)
	tr := &holder{t: t}
	h.Register(17, tr)
	rng := rand.New(rand.NewPCG(3, 4))
	orders := [][]frag{frags, nil}
	for i := len(frags) - 1; i >= 0; i-- {
		orders[1] = append(orders[1], frags[i])
	}
	for range 6 {
		o := append([]frag(nil), frags...)
		rng.Shuffle(len(o), func(i, j int) { o[i], o[j] = o[j], o[i] })
		orders = append(orders, o)
	}
	for k, order := range orders {
		id := uint16(100 + k)
		for i, f := range order {
			h.Input(time.Duration(i)*time.Millisecond, bufOf(t, c.pool, fragFrame(id, payload, f)), c)
			if i < len(order)-1 && len(tr.bufs) != 0 {
				t.Fatalf("order %d: delivered after %d fragments", k, i+1)
			}
		}
		if len(tr.bufs) != 1 {
			t.Fatalf("order %d: %d deliveries; counters %+v", k, len(tr.bufs), h.Counters())
		}
		b, p := tr.bufs[0], tr.pkts[0]
		if !bytes.Equal(b.Bytes(), payload) || !p.Reassembled || p.ID != id || p.Proto != 17 || p.Src != addrB {
			t.Fatalf("order %d: %d bytes, equal %v, packet %+v", k, b.Len(), bytes.Equal(b.Bytes(), payload), p)
		}
		if b.Pool() != h.ReasmPool() || b.Flags != 0 {
			t.Fatalf("order %d: datagram not in a clean reassembly pool buffer", k)
		}
		// Every fragment's link buffer went back at once.
		checkPool(t, c.pool, 0)
		checkPool(t, h.ReasmPool(), 1)
		tr.release()
		checkPool(t, h.ReasmPool(), 0)
	}
	cn := h.Counters()
	if n := uint64(len(orders)); cn.ReasmOKs != n || cn.ReasmReqds != 45*n || cn.ReasmFails != 0 || cn.InDelivers != n {
		t.Fatalf("counters %+v", cn)
	}
	// Small: joined in place, the pool untouched.
	small := pattern(1000)
	for _, f := range cut(1000, 304) {
		h.Input(time.Second, bufOf(t, c.pool, fragFrame(7, small, f)), c)
	}
	if len(tr.bufs) != 1 || !bytes.Equal(tr.bufs[0].Bytes(), small) || tr.bufs[0].Pool() != c.pool {
		t.Fatalf("small datagram: %d deliveries", len(tr.bufs))
	}
	if h.ReasmPool().Misses() != 0 {
		t.Fatal("reassembly pool missed")
	}
	tr.release()
	checkPool(t, c.pool, 0)
}

// When the reassembly pool is empty (its buffers held by a transport), a
// large datagram is dropped and counted as ReasmNoBuffer; small datagrams
// still arrive, and large ones again once buffers are freed.
func TestReassemblyPoolExhausted(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, func(c *Config) { c.Frag.Buffers = 2 })
	tr := &holder{t: t}
	h.Register(17, tr)
	payload := pattern(5000)
	send := func(id uint16, n int) {
		for _, f := range cut(n, 1480) {
			h.Input(0, bufOf(t, c.pool, fragFrame(id, payload, f)), c)
		}
	}
	send(1, 5000)
	send(2, 5000)
	if len(tr.bufs) != 2 {
		t.Fatalf("%d deliveries", len(tr.bufs))
	}
	send(3, 5000)
	cn := h.Counters()
	if len(tr.bufs) != 2 || cn.ReasmNoBuffer != 1 || cn.ReasmFails != 1 || cn.InDiscards != 1 || cn.ReasmTooBig != 0 || cn.ReasmOKs != 2 {
		t.Fatalf("exhausted pool: %d deliveries, counters %+v", len(tr.bufs), cn)
	}
	// Nothing of the dropped datagram is kept.
	checkPool(t, c.pool, 0)
	if h.frag.busy != 0 || h.frag.mem != 0 {
		t.Fatalf("reassembly still holds %d datagrams, %d bytes", h.frag.busy, h.frag.mem)
	}
	// A datagram that fits its first fragment's buffer needs no pool.
	send(4, 1800)
	if len(tr.bufs) != 3 || !bytes.Equal(tr.bufs[2].Bytes(), payload[:1800]) {
		t.Fatalf("small datagram with the pool empty: %d deliveries", len(tr.bufs))
	}
	tr.release()
	send(5, 5000)
	if len(tr.bufs) != 1 || !bytes.Equal(tr.bufs[0].Bytes(), payload) || h.Counters().ReasmNoBuffer != 1 {
		t.Fatalf("after release: %d deliveries, counters %+v", len(tr.bufs), h.Counters())
	}
	tr.release()
	checkPool(t, c.pool, 0)
	checkPool(t, h.ReasmPool(), 0)
}

// Reassembling a large datagram into the pool allocates nothing.
func TestAllocsReassemblyPool(t *testing.T) {
	h, out := allocSetup(t)
	h.Register(17, &nopTransport{})
	payload := pattern(65000)
	var frames [][]byte
	for _, f := range cut(len(payload), 1456) {
		frames = append(frames, fragFrame(9, payload, f))
	}
	in := func(f []byte) {
		b := out.pool.Get()
		copy(b.Extend(len(f)), f)
		h.Input(time.Second, b, out)
	}
	n := testing.AllocsPerRun(50, func() {
		for _, f := range frames {
			in(f)
		}
	})
	if n != 0 {
		t.Fatalf("reassembly into the pool: %v allocs per run", n)
	}
	if cn := h.Counters(); cn.ReasmOKs != 51 || cn.ReasmFails != 0 {
		t.Fatalf("counters %+v", cn)
	}
	checkPool(t, out.pool, 0)
	checkPool(t, h.ReasmPool(), 0)
}

// ownPool is a collector that also counts frames sent in buffers that
// are not from its pool.
type ownPool struct {
	*collector
	foreign int
}

func (o *ownPool) Send(b *link.Buf) {
	if b.Pool() != o.pool {
		o.foreign++
	}
	o.collector.Send(b)
}

// Output fragments a 60000-byte UDP-like datagram held in one large
// buffer (the reassembly pool's, or any large pool's) into MTU-sized
// frames taken from out.Pool(), freeing the large buffer at once; another
// host with default configuration reassembles it.
func TestFragmentationFromLargeBuf(t *testing.T) {
	const size = 60000
	payload := pattern(size)
	other := link.MustPool(link.PoolConfig{Count: 2, Size: 65535})
	rng := rand.New(rand.NewPCG(5, 6))
	for _, name := range []string{"reassembly pool", "other pool"} {
		c := newCollector(t) // 256 × 2048
		a := hostA(t, nil)
		learnB(t, a, 0, c)
		c.take()
		big := a.ReasmPool()
		if name == "other pool" {
			big = other
		}
		o := &ownPool{collector: c}
		if err := a.Output(0, addrB, 17, bufOf(t, big, payload), o); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if o.foreign != 0 {
			t.Fatalf("%s: %d frames sent in the large buffer", name, o.foreign)
		}
		checkPool(t, big, 0)
		frames := c.take()
		if want := (size + 1479) / 1480; len(frames) != want {
			t.Fatalf("%s: %d frames, want %d", name, len(frames), want)
		}
		for i, f := range frames {
			_, ip := parseSent(t, f)
			if len(f) > c.pool.BufSize() || len(ip) > 1500 || ip.DontFragment() || ip.FragOffset() != 1480*i ||
				ip.MoreFragments() != (i < len(frames)-1) {
				t.Fatalf("%s: fragment %d: %d bytes, offset %d, MF %v", name, i, len(ip), ip.FragOffset(), ip.MoreFragments())
			}
		}
		if cn := a.Counters(); cn.FragOKs != 1 || cn.FragCreates != uint64(len(frames)) {
			t.Fatalf("%s: counters %+v", name, cn)
		}
		rng.Shuffle(len(frames), func(i, j int) { frames[i], frames[j] = frames[j], frames[i] })
		b := hostB(t)
		s := &sink{}
		b.Register(17, s)
		for _, f := range frames {
			b.Input(0, bufOf(t, c.pool, f), c)
		}
		if len(s.pkts) != 1 || !bytes.Equal(s.data[0], payload) {
			t.Fatalf("%s: %d deliveries", name, len(s.pkts))
		}
		checkPool(t, c.pool, 0)
		checkPool(t, b.ReasmPool(), 0)
	}
	// Refused (DF) or short of frame buffers: everything is freed.
	c := &collector{pool: link.MustPool(link.PoolConfig{Count: 20})}
	a := hostA(t, nil)
	learnB(t, a, 0, c)
	c.take()
	if err := a.OutputOpts(0, addrB, 17, bufOf(t, a.ReasmPool(), payload), Opts{DF: DFDo}, c); !errors.Is(err, ErrMsgSize) {
		t.Fatalf("DF: %v", err)
	}
	if err := a.Output(0, addrB, 17, bufOf(t, a.ReasmPool(), payload), c); !errors.Is(err, ErrNoBuffer) {
		t.Fatalf("20 frame buffers: %v", err)
	}
	if len(c.take()) != 0 {
		t.Fatal("frames sent")
	}
	checkPool(t, c.pool, 0)
	checkPool(t, a.ReasmPool(), 0)
}

// Two hosts with default configurations and default 2048-byte link
// buffers ping each other with 60000 bytes of echo data: each request is
// built in the sender's reassembly pool, fragmented into link buffers,
// reassembled in the receiver's pool, answered in place and fragmented
// back.
func TestTwoHostsPingLarge(t *testing.T) {
	p := &pair{
		a:    hostA(t, nil),
		b:    hostB(t),
		outA: &wireEnd{pool: link.MustPool(link.PoolConfig{Count: 128}), name: "A"},
		outB: &wireEnd{pool: link.MustPool(link.PoolConfig{Count: 128}), name: "B"},
	}
	if p.outA.pool.BufSize() != 2048 {
		t.Fatalf("link buffers of %d bytes", p.outA.pool.BufSize())
	}
	data := pattern(60000)
	var ra, rb replies
	p.a.SetEchoReplyHandler(&ra)
	p.b.SetEchoReplyHandler(&rb)
	if err := p.a.Ping(0, addrB, 0x77, 1, data, p.outA); err != nil {
		t.Fatal(err)
	}
	p.run(time.Second)
	if len(ra.seq) != 1 || ra.from[0] != addrB || ra.seq[0] != 1 || !bytes.Equal(ra.data[0], data) {
		t.Fatalf("A: %d replies; A sent %d frames, B sent %d; B counters %+v", len(ra.seq), len(p.outA.log), len(p.outB.log), p.b.Counters())
	}
	if err := p.b.Ping(p.now, addrA, 0x78, 2, data, p.outB); err != nil {
		t.Fatal(err)
	}
	p.run(p.now + time.Second)
	if len(rb.seq) != 1 || rb.from[0] != addrA || rb.seq[0] != 2 || !bytes.Equal(rb.data[0], data) {
		t.Fatalf("B: %d replies; A counters %+v", len(rb.seq), p.a.Counters())
	}
	const frags = (60000 + 8 + 1479) / 1480
	for _, h := range []*Host{p.a, p.b} {
		cn := h.Counters()
		if cn.ReasmOKs != 2 || cn.ReasmFails != 0 || cn.FragOKs != 2 || cn.FragCreates != 2*frags ||
			cn.InEchos != 1 || cn.InEchoReps != 1 || cn.OutEchoReps != 1 {
			t.Fatalf("%v counters %+v", h.Addr(), cn)
		}
		checkPool(t, h.ReasmPool(), 0)
	}
	if p.outA.large != 0 || p.outB.large != 0 {
		t.Fatalf("frames in large buffers: A %d, B %d", p.outA.large, p.outB.large)
	}
	checkPool(t, p.outA.pool, 0)
	checkPool(t, p.outB.pool, 0)
}

// Reassembly cost per datagram: joined in place (link buffers large enough
// to hold it) and into the reassembly pool (default 2048-byte link
// buffers). Both copy every payload byte once.
func BenchmarkReassembly(b *testing.B) {
	for _, bc := range []struct {
		name    string
		size    int
		bufSize int
	}{
		{"inplace-8000", 8000, 9216},
		{"pool-8000", 8000, 2048},
		{"pool-65000", 65000, 2048},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pool := link.MustPool(link.PoolConfig{Count: 64, Size: bc.bufSize})
			out := discard{pool}
			h := hostA(b, nil)
			h.Register(17, &nopTransport{})
			payload := pattern(bc.size)
			var frames [][]byte
			for _, f := range cut(bc.size, 1480) {
				frames = append(frames, fragFrame(9, payload, f))
			}
			b.SetBytes(int64(bc.size))
			b.ReportAllocs()
			for b.Loop() {
				for _, f := range frames {
					buf := pool.Get()
					copy(buf.Extend(len(f)), f)
					h.Input(time.Second, buf, out)
				}
			}
			if h.Counters().ReasmFails != 0 {
				b.Fatal("reassembly failed")
			}
		})
	}
}
