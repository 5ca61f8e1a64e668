package ustack_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/impair"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/sim"
	"github.com/ustack/ustack/wire"
)

// gsoPair makes two running stacks on a link/mem pair with segmentation
// offload (64 KiB frames, MTU 1500), as a NIC with TSO and GRO would be.
func gsoPair(t *testing.T, cfgA, cfgB func(*ustack.Config)) (a, b *ustack.Stack, la, lb *mem.Link) {
	t.Helper()
	la, lb, err := mem.NewPair(mem.WithGSO(65535+18), mem.WithPool(link.PoolConfig{Count: 256}))
	if err != nil {
		t.Fatal(err)
	}
	ca := ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24"), Polling: shard.Adaptive}
	cb := ustack.Config{Link: lb, Addr: netip.MustParsePrefix("10.0.0.2/24"), Polling: shard.Adaptive}
	if cfgA != nil {
		cfgA(&ca)
	}
	if cfgB != nil {
		cfgB(&cb)
	}
	if a, err = ustack.New(ca); err != nil {
		t.Fatal(err)
	}
	if b, err = ustack.New(cb); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b, la, lb
}

// GSOMaxSize follows the link: a 64 KiB IP packet's worth on a GSO link,
// nothing on a plain one or with DisableGSO, and TCP.GSOMaxSize can only
// lower it.
func TestGSOMaxSizeFromLink(t *testing.T) {
	a, b, _, _ := gsoPair(t, func(c *ustack.Config) { c.TCP.GSOMaxSize = 10000 }, nil)
	p, q := newPair(t, shard.Adaptive)
	d, _, _, _ := gsoPair(t, func(c *ustack.Config) { c.DisableGSO = true }, nil)
	for _, tc := range []struct {
		name string
		s    *ustack.Stack
		want int
	}{
		{"lowered", a, 10000},
		{"gso link", b, 65535 - 20 - 60},
		{"plain link", p, 0},
		{"plain link b", q, 0},
		{"disabled", d, 0},
	} {
		st, err := tc.s.TCPStats()
		if err != nil {
			t.Fatal(err)
		}
		if st.GSOMaxSize != tc.want {
			t.Errorf("%s: GSOMaxSize %d, want %d", tc.name, st.GSOMaxSize, tc.want)
		}
	}
}

// Bulk transfer over link/mem with GSO: the bytes arrive intact (hash),
// the sender hands the link far fewer frames than segments, and the
// receiver takes super-segments larger than the MSS it advertised.
func TestGSOBulkOverMem(t *testing.T) {
	a, b, la, _ := gsoPair(t, nil, nil)
	c, s := connPair(t, a, b)
	const total = 16 << 20
	src := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	want := sha256.New()
	for i := 0; i < total/len(src); i++ {
		want.Write(src)
	}
	f0 := la.Stats().TxFrames
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < total/len(src); i++ {
			if _, err := c.Write(src); err != nil {
				errc <- err
				return
			}
		}
		errc <- c.CloseWrite()
	}()
	got := sha256.New()
	n, err := io.Copy(got, s)
	if err != nil || n != total {
		t.Fatalf("read %d bytes, %v; want %d", n, err, total)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("received bytes differ from the bytes sent")
	}
	frames := la.Stats().TxFrames - f0
	sa, _ := a.TCPStats()
	if segs := uint64(total / 1448); frames >= segs/4 {
		t.Errorf("sender sent %d frames for %d segments' worth: no offload", frames, segs)
	}
	if sa.Counters.TCPGSOFrames == 0 {
		t.Error("no super-segments counted")
	}
	t.Logf("%d frames, %d super-segments, %d segments out, %d retransmitted", frames, sa.Counters.TCPGSOFrames, sa.Counters.OutSegs, sa.Counters.RetransSegs)
}

// gsoLink wraps a simulator port as a link with TSO: the stack builds
// super-segments into buffers of a big pool, and Send cuts them into
// MSS-sized frames (headers copied, sequence numbers, lengths and IP IDs
// advanced, PSH and FIN on the last piece only, checksums completed) in
// the port's pool, as a NIC or the kernel's GSO would.
type gsoLink struct {
	*sim.Port
	big     *link.Pool
	scratch []*link.Buf
	cut     int // super-segments cut
}

func (g *gsoLink) Pool() *link.Pool { return g.big }
func (g *gsoLink) MaxFrame() int    { return g.big.BufSize() }

func (g *gsoLink) Send(bufs []*link.Buf) int {
	for _, b := range bufs {
		g.scratch = g.scratch[:0]
		cutFrame(b, g.Port.Pool(), func(nb *link.Buf) { g.scratch = append(g.scratch, nb) })
		if b.Flags&link.FlagGSO != 0 {
			g.cut++
		}
		b.Free()
		n := g.Port.Send(g.scratch)
		for _, nb := range g.scratch[n:] {
			nb.Free()
		}
	}
	return len(bufs)
}

// cutFrame copies the Ethernet/IPv4/TCP frame in b into frames from pool,
// cut at b.GSOSize when b is a super-segment, with complete checksums.
func cutFrame(b *link.Buf, pool *link.Pool, emit func(*link.Buf)) {
	f := b.Bytes()
	ip, err := wire.ParseIPv4(f[14:])
	if err != nil || ip.Protocol() != wire.ProtoTCP {
		if nb := pool.Get(); nb != nil && nb.Extend(len(f)) != nil {
			copy(nb.Bytes(), f)
			emit(nb)
		}
		return
	}
	ihl := ip.HeaderLen()
	th := wire.TCP(f[14+ihl:])
	thl := th.DataOffset()
	payload := th[thl:]
	seg, pieces := len(payload), 1
	if b.Flags&link.FlagGSO != 0 && b.GSOSize > 0 {
		seg = int(b.GSOSize)
		pieces = (len(payload) + seg - 1) / seg
	}
	hdr := 14 + ihl + thl
	for i := 0; i < pieces; i++ {
		off := i * seg
		n := min(seg, len(payload)-off)
		nb := pool.Get()
		if nb == nil || nb.Extend(hdr+n) == nil {
			nb.Free()
			return
		}
		d := nb.Bytes()
		copy(d, f[:hdr])
		copy(d[hdr:], payload[off:off+n])
		nip := wire.IPv4(d[14:])
		nip.SetTotalLen(uint16(ihl + thl + n))
		nip.SetID(ip.ID() + uint16(i))
		nip.SetChecksum()
		nt := wire.TCP(d[14+ihl:])
		nt.SetSeq(th.Seq() + uint32(off))
		if off+n < len(payload) {
			nt.SetFlags(th.Flags() &^ (wire.TCPFlagPSH | wire.TCPFlagFIN))
		}
		nt.SetChecksum4(ip.Src4(), ip.Dst4())
		emit(nb)
	}
}

// Correctness under loss with GSO on: both directions over the lossy
// simulated path (loss, reordering, duplication, corruption), through
// links that cut super-segments into frames (so pieces are lost one by
// one); the receivers coalesce what arrives in one burst (GRO).
func TestSimGSOLossyPath(t *testing.T) {
	total := int64(8 << 20)
	if testing.Short() {
		total = 2 << 20
	}
	var ga, gb *gsoLink
	n := newSimNetWith(t, 11, lossyPath(), lossyPath(), func(p *sim.Port) link.Link {
		g := &gsoLink{Port: p, big: link.MustPool(link.PoolConfig{Count: 512, Size: 16 << 10})}
		if ga == nil {
			ga = g
		} else {
			gb = g
		}
		return g
	}, nil)
	runBidirectional(t, n, total, 0)
	sa, _ := n.a.TCPStats()
	sb, _ := n.b.TCPStats()
	if sa.GSOMaxSize == 0 || ga.cut == 0 || gb.cut == 0 {
		t.Fatalf("no offload: GSOMaxSize %d, super-segments cut %d/%d", sa.GSOMaxSize, ga.cut, gb.cut)
	}
	t.Logf("super-segments %d/%d (GSOMaxSize %d), GRO segments %d/%d", ga.cut, gb.cut, sa.GSOMaxSize, sa.GROSegs, sb.GROSegs)
}

// oneWay moves total bytes from a to b over n and returns the stacks'
// TCP stats.
func oneWay(t *testing.T, n *simNet, total int64) (sa, sb ustack.TCPStats) {
	t.Helper()
	server := newBulk(0, 1)
	client := newBulk(total, 2)
	if _, err := n.b.ListenEvents(5001, oneAcceptor{server}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.a.DialEvents(netip.MustParseAddrPort("10.0.0.2:5001"), client); err != nil {
		t.Fatal(err)
	}
	if !n.w.RunUntil(func() bool { return client.closed && server.closed }, time.Hour) {
		t.Fatalf("transfer did not finish: server received %d of %d", server.recvd, total)
	}
	if server.recvd != total || server.rxHash() != client.streamHash() {
		t.Fatalf("server received %d bytes of %d, or different bytes", server.recvd, total)
	}
	sa, _ = n.a.TCPStats()
	sb, _ = n.b.TCPStats()
	return sa, sb
}

// GRO: the sender's initial window and each flight after it arrive in one
// receive burst (no rate limit on the path), and the receiver answers
// each run with one ACK: far fewer ACKs than with DisableGRO, where quick-
// ACK mode and the every-second-segment rule answer each burst segment by
// segment.
func TestGROAcksRunsOnce(t *testing.T) {
	const total = 1 << 20
	run := func(gro bool) ustack.TCPStats {
		seed := uint64(3)
		w := sim.New(seed)
		path := impair.Config{Delay: time.Millisecond}
		pa, pb := w.Link(path, path, sim.WithPoolConfig(link.PoolConfig{Count: 4096}))
		n := &simNet{w: w, pa: pa, pb: pb}
		var err error
		n.a, err = ustack.New(ustack.Config{Link: pa, Addr: netip.MustParsePrefix("10.0.0.1/24"), Clock: w.Clock(), Manual: true,
			Rand: rand.NewChaCha8(seedBytes(seed, 1))})
		if err != nil {
			t.Fatal(err)
		}
		n.b, err = ustack.New(ustack.Config{Link: pb, Addr: netip.MustParsePrefix("10.0.0.2/24"), Clock: w.Clock(), Manual: true,
			Rand: rand.NewChaCha8(seedBytes(seed, 2)), DisableGRO: !gro})
		if err != nil {
			t.Fatal(err)
		}
		w.AddHost(n.a, pa)
		w.AddHost(n.b, pb)
		_, sb := oneWay(t, n, total)
		return sb
	}
	on, off := run(true), run(false)
	t.Logf("receiver with GRO: %d segments out, %d joined runs; without: %d segments out", on.Counters.OutSegs, on.GROSegs, off.Counters.OutSegs)
	if on.GROSegs < total/1448/2 || off.GROSegs != 0 {
		t.Errorf("GROSegs %d with GRO (want most of %d segments), %d without", on.GROSegs, total/1448, off.GROSegs)
	}
	if on.Counters.OutSegs*4 > off.Counters.OutSegs {
		t.Errorf("%d ACKs with GRO, %d without: not fewer", on.Counters.OutSegs, off.Counters.OutSegs)
	}
}

// Steady-state bulk Write and Read over a GSO link (super-segments out,
// GRO runs in) allocate nothing.
func TestGSOReadWriteAllocs(t *testing.T) {
	a, b, _, _ := gsoPair(t, nil, nil)
	c, s := connPair(t, a, b)
	msg := make([]byte, 64<<10)
	buf := make([]byte, 64<<10)
	roundTrip := func() {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, buf); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 {
		roundTrip()
	}
	if n := testing.AllocsPerRun(100, roundTrip); n != 0 {
		t.Errorf("Write+Read of 64 KiB allocate %v times per run, want 0", n)
	}
	st, _ := a.TCPStats()
	if st.Counters.TCPGSOFrames == 0 {
		t.Error("no super-segments sent")
	}
}
