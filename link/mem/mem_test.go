package mem_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
)

func smallPair(t testing.TB, opts ...mem.Option) (*mem.Link, *mem.Link) {
	t.Helper()
	opts = append([]mem.Option{mem.WithPool(link.PoolConfig{Count: 256, Size: 2048, Headroom: 64})}, opts...)
	a, b, err := mem.NewPair(opts...)
	if err != nil {
		t.Fatalf("NewPair: %v", err)
	}
	return a, b
}

// frame takes a Buf from l's pool holding an n-byte frame whose first 8
// bytes are seq.
func frame(t testing.TB, l *mem.Link, seq uint64, n int) *link.Buf {
	t.Helper()
	b := l.Pool().Get()
	if b == nil {
		t.Fatal("pool empty")
	}
	d := b.Extend(n)
	if d == nil {
		t.Fatalf("cannot extend a Buf to %d bytes", n)
	}
	if n >= 8 {
		binary.BigEndian.PutUint64(d, seq)
	}
	return b
}

func seqOf(b *link.Buf) uint64 { return binary.BigEndian.Uint64(b.Bytes()) }

func TestDefaults(t *testing.T) {
	a, b := mem.Pair()
	defer a.Close()
	if a.MTU() != 1500 || b.MTU() != 1500 || a.MaxFrame() != 1518 {
		t.Fatalf("MTU %d/%d MaxFrame %d, want 1500/1500 1518", a.MTU(), b.MTU(), a.MaxFrame())
	}
	if a.HardwareAddr() != [6]byte{2, 0, 0, 0, 0, 1} || b.HardwareAddr() != [6]byte{2, 0, 0, 0, 0, 2} {
		t.Fatalf("MACs %x %x", a.HardwareAddr(), b.HardwareAddr())
	}
	if a.Fd() != -1 || b.Fd() != -1 {
		t.Fatal("Fd() != -1")
	}
	if a.Pool() == b.Pool() || a.Pool() == nil || a.Pool().Cap() != 4096 {
		t.Fatal("each end must have its own default pool")
	}
	var l link.Link = a
	if _, ok := l.(link.Waiter); !ok {
		t.Fatal("mem.Link does not implement link.Waiter")
	}
}

func TestOptions(t *testing.T) {
	ma, mb := [6]byte{2, 1, 1, 1, 1, 1}, [6]byte{2, 2, 2, 2, 2, 2}
	a, b, err := mem.NewPair(mem.WithMTU(9000), mem.WithRingSize(4), mem.WithMACs(ma, mb),
		mem.WithPool(link.PoolConfig{Count: 8}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.MTU() != 9000 || a.MaxFrame() != 9018 || a.HardwareAddr() != ma || b.HardwareAddr() != mb {
		t.Fatalf("options not applied: MTU %d MaxFrame %d MACs %x %x", a.MTU(), a.MaxFrame(), a.HardwareAddr(), b.HardwareAddr())
	}
	if a.Pool().Cap() != 8 || a.Pool().BufSize() < 9018 {
		t.Fatalf("pool Cap %d BufSize %d: the zero Size must grow to fit a 9018-byte frame", a.Pool().Cap(), a.Pool().BufSize())
	}
	// Ring size 4: the fifth frame is refused.
	bufs := []*link.Buf{frame(t, a, 0, 60), frame(t, a, 1, 60), frame(t, a, 2, 60), frame(t, a, 3, 60), frame(t, a, 4, 60)}
	if n := a.Send(bufs); n != 4 {
		t.Fatalf("Send into a 4-slot ring took %d of 5", n)
	}
	bufs[4].Free()
}

func TestNewPairRejectsBadOptions(t *testing.T) {
	bad := map[string][]mem.Option{
		"mtu too small":   {mem.WithMTU(67)},
		"mtu negative":    {mem.WithMTU(-1)},
		"mtu too big":     {mem.WithMTU(65536)},
		"ring not pow2":   {mem.WithRingSize(1000)},
		"ring 1":          {mem.WithRingSize(1)},
		"ring negative":   {mem.WithRingSize(-4)},
		"ring too big":    {mem.WithRingSize(1 << 21)},
		"gso below frame": {mem.WithGSO(1517)},
		"gso too big":     {mem.WithGSO(1<<20 + 1)},
		"bad pool":        {mem.WithPool(link.PoolConfig{Count: -1})},
	}
	for name, opts := range bad {
		a, b, err := mem.NewPair(opts...)
		if err == nil || a != nil || b != nil {
			t.Errorf("%s: NewPair = %v, %v, %v; want an error", name, a, b, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Pair with a bad option did not panic")
		}
	}()
	mem.Pair(mem.WithRingSize(3))
}

// TestRoundTripBursts sends bursts of every size both ways and checks the
// receiver gets the very same Bufs (zero copy), in order, and that freeing
// them on the receiving side returns them to the sender's pool.
func TestRoundTripBursts(t *testing.T) {
	a, b := smallPair(t, mem.WithRingSize(64))
	defer a.Close()
	for _, dir := range []struct {
		name     string
		from, to *mem.Link
	}{{"a->b", a, b}, {"b->a", b, a}} {
		seq, want := uint64(0), uint64(0)
		in := make([]*link.Buf, 64)
		for burst := 1; burst <= 64; burst++ {
			out := make([]*link.Buf, burst)
			for i := range out {
				out[i] = frame(t, dir.from, seq, 60+i)
				seq++
			}
			if n := dir.from.Send(out); n != burst {
				t.Fatalf("%s: Send took %d of %d", dir.name, n, burst)
			}
			// Receive in odd-sized pieces to cross burst boundaries.
			got := 0
			for got < burst {
				n := dir.to.Recv(in[:min(7, len(in))])
				if n == 0 {
					t.Fatalf("%s: Recv returned 0 with %d frames outstanding", dir.name, burst-got)
				}
				for _, x := range in[:n] {
					if x != out[got] {
						t.Fatalf("%s: received Buf %p, sent %p: not the same Buf", dir.name, x, out[got])
					}
					if s := seqOf(x); s != want {
						t.Fatalf("%s: got frame %d, want %d", dir.name, s, want)
					}
					if x.Pool() != dir.from.Pool() {
						t.Fatalf("%s: received Buf is not from the sender's pool", dir.name)
					}
					want++
					got++
					x.Free()
				}
			}
			if n := dir.to.Recv(in); n != 0 {
				t.Fatalf("%s: Recv got %d frames nobody sent", dir.name, n)
			}
		}
		if dir.from.Pool().InUse() != 0 || dir.to.Pool().InUse() != 0 {
			t.Fatalf("%s: pools not back at rest: %d, %d", dir.name, dir.from.Pool().InUse(), dir.to.Pool().InUse())
		}
		st := dir.from.Stats()
		if st.TxFrames != want || st.TxDropped != 0 || st.TxErrors != 0 {
			t.Fatalf("%s: sender stats %+v", dir.name, st)
		}
		rt := dir.to.Stats()
		if rt.RxFrames != want || rt.RxBytes != st.TxBytes || rt.RxDropped != 0 {
			t.Fatalf("%s: receiver stats %+v, sender %+v", dir.name, rt, st)
		}
	}
}

func TestFlagsAndMetadataPassThrough(t *testing.T) {
	a, b := smallPair(t, mem.WithGSO(16000), mem.WithPool(link.PoolConfig{Count: 4}))
	defer a.Close()
	x := frame(t, a, 7, 15000)
	x.Flags = link.FlagGSO | link.FlagCsumPartial
	x.GSOSize = 1448
	if a.Send([]*link.Buf{x}) != 1 {
		t.Fatal("GSO-sized frame refused")
	}
	in := make([]*link.Buf, 1)
	if b.Recv(in) != 1 || in[0].Flags != link.FlagGSO|link.FlagCsumPartial || in[0].GSOSize != 1448 || in[0].Len() != 15000 {
		t.Fatalf("frame metadata not carried: %+v", in[0])
	}
	in[0].Free()
}

func TestRingFull(t *testing.T) {
	a, b := smallPair(t, mem.WithRingSize(8))
	defer a.Close()
	out := make([]*link.Buf, 10)
	for i := range out {
		out[i] = frame(t, a, uint64(i), 64)
	}
	if n := a.Send(out); n != 8 {
		t.Fatalf("Send into an 8-slot ring took %d of 10", n)
	}
	if n := a.Send(out[8:]); n != 0 {
		t.Fatalf("Send into a full ring took %d", n)
	}
	if st := a.Stats(); st.TxFrames != 8 || st.TxDropped != 4 || st.TxErrors != 0 {
		t.Fatalf("stats after refusals: %+v, want TxFrames 8 TxDropped 4", st)
	}
	// The refused Bufs are still ours: we can write them and send later.
	in := make([]*link.Buf, 3)
	if n := b.Recv(in); n != 3 {
		t.Fatalf("Recv got %d, want 3", n)
	}
	for _, x := range in {
		x.Free()
	}
	if n := a.Send(out[8:]); n != 2 {
		t.Fatalf("Send after space freed took %d of 2", n)
	}
	want := uint64(3)
	in = make([]*link.Buf, 16)
	n := b.Recv(in)
	if n != 7 {
		t.Fatalf("Recv got %d, want 7", n)
	}
	for _, x := range in[:n] {
		if seqOf(x) != want {
			t.Fatalf("got frame %d, want %d", seqOf(x), want)
		}
		want++
		x.Free()
	}
	if a.Pool().InUse() != 0 {
		t.Fatalf("InUse %d", a.Pool().InUse())
	}
}

func TestInvalidFramesRefused(t *testing.T) {
	a, b := smallPair(t, mem.WithMTU(1000))
	defer a.Close()
	ok := frame(t, a, 1, 1018)  // MTU + 14 + 4: the largest allowed
	big := frame(t, a, 2, 1019) // one byte too many
	after := frame(t, a, 3, 60) // behind the bad one: not taken
	n := a.Send([]*link.Buf{ok, big, after})
	if n != 1 {
		t.Fatalf("Send took %d, want 1 (stop at the oversized frame)", n)
	}
	if st := a.Stats(); st.TxErrors != 1 || st.TxDropped != 1 || st.TxFrames != 1 {
		t.Fatalf("stats %+v, want TxErrors 1, TxDropped 1, TxFrames 1", st)
	}
	if n := a.Send([]*link.Buf{nil, after}); n != 0 {
		t.Fatalf("Send with a nil Buf first took %d", n)
	}
	if st := a.Stats(); st.TxErrors != 2 {
		t.Fatalf("nil Buf not counted as a TX error: %+v", st)
	}
	// Refused means still ours.
	big.Free()
	after.Free()
	in := make([]*link.Buf, 4)
	if got := b.Recv(in); got != 1 || in[0] != ok {
		t.Fatalf("Recv got %d frames", got)
	}
	in[0].Free()
	if a.Pool().InUse() != 0 {
		t.Fatalf("InUse %d", a.Pool().InUse())
	}
	if a.Send(nil) != 0 || a.Recv(nil) != 0 {
		t.Fatal("empty Send/Recv did something")
	}
}

func TestCloseFreesEverything(t *testing.T) {
	for _, closer := range []string{"a", "b"} {
		a, b := smallPair(t, mem.WithRingSize(16))
		for i := 0; i < 10; i++ {
			if a.Send([]*link.Buf{frame(t, a, uint64(i), 100)}) != 1 {
				t.Fatal("Send failed")
			}
		}
		for i := 0; i < 5; i++ {
			if b.Send([]*link.Buf{frame(t, b, uint64(i), 100)}) != 1 {
				t.Fatal("Send failed")
			}
		}
		// One frame received and still held by the application.
		held := make([]*link.Buf, 1)
		if b.Recv(held) != 1 {
			t.Fatal("Recv failed")
		}
		c, other := a, b
		if closer == "b" {
			c, other = b, a
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if got := a.Pool().InUse(); got != 1 {
			t.Fatalf("close by %s: a's pool InUse %d, want 1 (the held frame)", closer, got)
		}
		if got := b.Pool().InUse(); got != 0 {
			t.Fatalf("close by %s: b's pool InUse %d, want 0", closer, got)
		}
		held[0].Free()
		if a.Pool().InUse() != 0 {
			t.Fatal("held frame did not go back")
		}
		if a.Stats().RxDropped != 5 || b.Stats().RxDropped != 9 {
			t.Fatalf("RxDropped a=%d b=%d, want 5, 9", a.Stats().RxDropped, b.Stats().RxDropped)
		}
		x := frame(t, a, 0, 60)
		y := frame(t, b, 0, 60)
		in := make([]*link.Buf, 4)
		if a.Send([]*link.Buf{x}) != 0 || b.Send([]*link.Buf{y}) != 0 || a.Recv(in) != 0 || b.Recv(in) != 0 {
			t.Fatal("Send/Recv worked after Close")
		}
		x.Free()
		y.Free()
		if err := c.Close(); !errors.Is(err, link.ErrClosed) {
			t.Fatalf("second Close = %v, want ErrClosed", err)
		}
		if err := other.Close(); err != nil {
			t.Fatalf("peer's first Close = %v, want nil", err)
		}
	}
}

func TestArm(t *testing.T) {
	a, b := smallPair(t)
	defer a.Close()
	c := make(chan struct{}, 1)
	if !b.Arm(c) {
		t.Fatal("Arm on an empty ring returned false")
	}
	if a.Send([]*link.Buf{frame(t, a, 0, 60)}) != 1 {
		t.Fatal("Send failed")
	}
	select {
	case <-c:
	default:
		t.Fatal("Send did not wake the armed poller")
	}
	// Frames waiting: Arm refuses and registers nothing.
	if b.Arm(c) {
		t.Fatal("Arm with a frame waiting returned true")
	}
	a.Send([]*link.Buf{frame(t, a, 1, 60)})
	select {
	case <-c:
		t.Fatal("refused Arm still registered a wake-up")
	default:
	}
	in := make([]*link.Buf, 4)
	for _, x := range in[:b.Recv(in)] {
		x.Free()
	}
	// A registration is used once.
	if !b.Arm(c) {
		t.Fatal("Arm on an emptied ring returned false")
	}
	a.Send([]*link.Buf{frame(t, a, 2, 60)})
	a.Send([]*link.Buf{frame(t, a, 3, 60)})
	<-c
	select {
	case <-c:
		t.Fatal("one Arm woke twice")
	default:
	}
	for _, x := range in[:b.Recv(in)] {
		x.Free()
	}
	if b.Arm(nil) || b.Arm(make(chan struct{})) {
		t.Fatal("Arm accepted a nil or unbuffered channel")
	}
	// Close wakes an armed poller on either end, and Arm fails after it.
	ca := make(chan struct{}, 1)
	if !b.Arm(c) || !a.Arm(ca) {
		t.Fatal("Arm failed")
	}
	a.Close()
	select {
	case <-c:
	default:
		t.Fatal("Close did not wake b's poller")
	}
	select {
	case <-ca:
	default:
		t.Fatal("Close did not wake a's poller")
	}
	if a.Arm(ca) || b.Arm(c) {
		t.Fatal("Arm succeeded on a closed pair")
	}
}

func TestAllocsSteadyState(t *testing.T) {
	a, b := smallPair(t)
	defer a.Close()
	out := make([]*link.Buf, 32)
	in := make([]*link.Buf, 32)
	c := make(chan struct{}, 1)
	round := func() {
		for i := range out {
			out[i] = a.Pool().Get()
			out[i].Extend(64)
		}
		if a.Send(out) != len(out) {
			panic("send")
		}
		n := b.Recv(in)
		for _, x := range in[:n] {
			x.Free()
		}
		b.Arm(c) // same channel every time: no allocation
		b.Send(out[:0])
	}
	round()
	if allocs := testing.AllocsPerRun(200, round); allocs != 0 {
		t.Fatalf("burst send+recv+free allocates %.1f times per run, want 0", allocs)
	}
	if a.Pool().InUse() != 0 {
		t.Fatalf("InUse %d", a.Pool().InUse())
	}
}

// RxPending tells whether Recv would return a frame, and takes none.
func TestRxPending(t *testing.T) {
	a, b := smallPair(t)
	defer a.Close()
	if b.RxPending() {
		t.Fatal("RxPending on an empty ring")
	}
	out := []*link.Buf{frame(t, a, 1, 60), frame(t, a, 2, 60)}
	if n := a.Send(out); n != 2 {
		t.Fatalf("Send took %d of 2", n)
	}
	in := make([]*link.Buf, 1)
	for i := range 2 {
		for range 2 { // looking takes nothing
			if !b.RxPending() {
				t.Fatalf("RxPending false with %d frames waiting", 2-i)
			}
		}
		if n := b.Recv(in); n != 1 {
			t.Fatalf("Recv got %d frames, want 1", n)
		}
		in[0].Free()
	}
	if b.RxPending() {
		t.Fatal("RxPending after every frame was received")
	}
	if a.RxPending() {
		t.Fatal("RxPending on the sending end")
	}
}
