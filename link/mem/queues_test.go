package mem_test

import (
	"encoding/binary"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
)

// flowFrameLen is Ethernet + IPv4 + TCP headers, then 4 bytes of flow id
// and 8 bytes of sequence number.
const (
	flowHdrLen   = 14 + 20 + 20
	flowFrameLen = flowHdrLen + 12
)

func smallQueues(t testing.TB, n int, opts ...mem.Option) (a, b []*mem.Link) {
	t.Helper()
	opts = append([]mem.Option{
		mem.WithPool(link.PoolConfig{Count: 512, Size: 256, Headroom: 64}),
		mem.WithRingSize(256),
	}, opts...)
	a, b, err := mem.NewQueues(n, opts...)
	if err != nil {
		t.Fatalf("NewQueues(%d): %v", n, err)
	}
	return a, b
}

// putFlow writes into f (flowFrameLen bytes) an IPv4 TCP frame of flow id
// (client 10.0.x.y:id+1024 -> server 10.1.0.1:80, reversed when reply)
// carrying seq.
func putFlow(f []byte, id uint32, seq uint64, reply bool) {
	clear(f[:flowHdrLen])
	f[12], f[13] = 0x08, 0x00
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], 20+20+12)
	ip[8], ip[9] = 64, 6
	cli := [4]byte{10, 0, byte(id >> 8), byte(id)}
	srv := [4]byte{10, 1, 0, 1}
	cport, sport := uint16(id%50000+1024), uint16(80)
	if reply {
		cli, srv, cport, sport = srv, cli, sport, cport
	}
	copy(ip[12:16], cli[:])
	copy(ip[16:20], srv[:])
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:2], cport)
	binary.BigEndian.PutUint16(tcp[2:4], sport)
	tcp[12] = 5 << 4
	binary.BigEndian.PutUint32(f[flowHdrLen:], id)
	binary.BigEndian.PutUint64(f[flowHdrLen+4:], seq)
}

func flowFrame(t testing.TB, l *mem.Link, id uint32, seq uint64, reply bool) *link.Buf {
	t.Helper()
	b := l.Pool().Get()
	if b == nil {
		t.Fatalf("pool empty")
	}
	putFlow(b.Extend(flowFrameLen), id, seq, reply)
	return b
}

func flowOf(b *link.Buf) (id uint32, seq uint64) {
	f := b.Bytes()
	return binary.BigEndian.Uint32(f[flowHdrLen:]), binary.BigEndian.Uint64(f[flowHdrLen+4:])
}

// arpFrame is a non-TCP frame (an ARP request's Ethernet type).
func arpFrame(t testing.TB, l *mem.Link) *link.Buf {
	b := l.Pool().Get()
	if b == nil {
		t.Fatalf("pool empty")
	}
	f := b.Extend(60)
	f[12], f[13] = 0x08, 0x06
	return b
}

func checkPools(t *testing.T, ends ...[]*mem.Link) {
	t.Helper()
	for e, end := range ends {
		for i, l := range end {
			if n := l.Pool().InUse(); n != 0 {
				t.Errorf("end %d queue %d: %d buffers still in use", e, i, n)
			}
		}
	}
}

func TestQueuesConfig(t *testing.T) {
	for _, n := range []int{0, -1, 65} {
		if _, _, err := mem.NewQueues(n); err == nil {
			t.Errorf("NewQueues(%d) succeeded", n)
		}
	}
	if _, _, err := mem.NewQueues(2, mem.WithRingSize(3)); err == nil {
		t.Error("ring size 3 accepted")
	}
	macA, macB := [6]byte{2, 9, 9, 9, 9, 1}, [6]byte{2, 9, 9, 9, 9, 2}
	a, b := smallQueues(t, 3, mem.WithMTU(9000), mem.WithGSO(65536), mem.WithMACs(macA, macB))
	defer a[0].Close()
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("got %d and %d queues", len(a), len(b))
	}
	pools := map[*link.Pool]bool{}
	for i := range a {
		for _, l := range []*mem.Link{a[i], b[i]} {
			var _ link.Link = l
			var _ link.Waiter = l
			var g link.GSO = l
			if l.MTU() != 9000 || g.MaxFrame() != 65536 || l.Fd() != -1 {
				t.Errorf("queue %d: MTU %d MaxFrame %d Fd %d", i, l.MTU(), g.MaxFrame(), l.Fd())
			}
			pools[l.Pool()] = true
		}
		if a[i].HardwareAddr() != macA || b[i].HardwareAddr() != macB {
			t.Errorf("queue %d: MACs %x %x", i, a[i].HardwareAddr(), b[i].HardwareAddr())
		}
	}
	if len(pools) != 6 {
		t.Errorf("%d distinct pools for 6 queues", len(pools))
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Queues(0) did not panic")
			}
		}()
		mem.Queues(0)
	}()
}

// TestQueuesSteering sends many flows from several queues of a, checks each
// frame arrives on b's queue SteerQueue says, in per-flow order, echoes it
// back and checks the reply lands on a's queue of the same index.
func TestQueuesSteering(t *testing.T) {
	const n, flows, perFlow = 4, 96, 5
	a, b := smallQueues(t, n)
	defer a[0].Close()
	sent := make([]uint64, flows)
	buf := make([]*link.Buf, 64)
	for round := 0; round < perFlow; round++ {
		for i := 0; i < n; i++ { // flow f is sent by a's queue f%n
			out := buf[:0]
			for f := i; f < flows; f += n {
				out = append(out, flowFrame(t, a[i], uint32(f), sent[f], false))
				sent[f]++
			}
			if i == 1 {
				out = append(out, arpFrame(t, a[i]))
			}
			if k := a[i].Send(out); k != len(out) {
				t.Fatalf("queue %d took %d of %d", i, k, len(out))
			}
		}
	}
	var tcpSeen, arpSeen int
	recvAll := func(end []*mem.Link, reply bool, next []uint64, echo []*mem.Link) {
		for j, l := range end {
			for {
				k := l.Recv(buf)
				if k == 0 {
					break
				}
				for _, x := range buf[:k] {
					if x.Bytes()[12] == 0x08 && x.Bytes()[13] == 0x06 {
						arpSeen++
						if j != 0 {
							t.Errorf("ARP frame on queue %d", j)
						}
						x.Free()
						continue
					}
					tcpSeen++
					id, seq := flowOf(x)
					if want := link.SteerQueue(x.Bytes(), n); j != want {
						t.Errorf("flow %d (reply %v) on queue %d, SteerQueue says %d", id, reply, j, want)
					}
					if seq != next[id] {
						t.Errorf("flow %d (reply %v): seq %d, want %d", id, reply, seq, next[id])
					}
					next[id] = seq + 1
					x.Free()
					if echo != nil {
						r := flowFrame(t, echo[j], id, seq, true)
						if echo[j].Send([]*link.Buf{r}) != 1 {
							t.Fatalf("echo on queue %d refused", j)
						}
					}
				}
			}
		}
	}
	recvAll(b, false, make([]uint64, flows), b)
	if tcpSeen != flows*perFlow || arpSeen != perFlow {
		t.Fatalf("b got %d TCP and %d ARP frames, want %d and %d", tcpSeen, arpSeen, flows*perFlow, perFlow)
	}
	tcpSeen = 0
	recvAll(a, true, make([]uint64, flows), nil)
	if tcpSeen != flows*perFlow {
		t.Fatalf("a got %d replies, want %d", tcpSeen, flows*perFlow)
	}
	// Every queue of b got some of the flows.
	var rx uint64
	for j := range b {
		s := b[j].Stats()
		if s.RxFrames == 0 {
			t.Errorf("queue %d of b received nothing", j)
		}
		rx += s.RxFrames
	}
	if want := uint64(flows*perFlow + perFlow); rx != want {
		t.Errorf("b's queues count %d frames received, want %d", rx, want)
	}
	if s := a[1].Stats(); s.TxFrames != uint64(flows/n*perFlow+perFlow) || s.TxBytes == 0 {
		t.Errorf("a[1] stats %+v", s)
	}
	checkPools(t, a, b)
}

func TestQueuesWithSteer(t *testing.T) {
	const n = 4
	for _, tc := range []struct{ ret, want int }{{2, 2}, {7, 3}, {-1, 3}, {-8, 0}} {
		var gotN int
		a, b := smallQueues(t, n, mem.WithSteer(func(f []byte, k int) int { gotN = k; return tc.ret }))
		out := []*link.Buf{flowFrame(t, a[0], 1, 0, false), arpFrame(t, a[3])}
		if a[0].Send(out[:1]) != 1 || a[3].Send(out[1:]) != 1 {
			t.Fatal("Send refused")
		}
		if gotN != n {
			t.Errorf("steer called with n=%d, want %d", gotN, n)
		}
		in := make([]*link.Buf, 4)
		for j := range b {
			k := b[j].Recv(in)
			if want := map[bool]int{true: 2, false: 0}[j == tc.want]; k != want {
				t.Errorf("steer returning %d: queue %d got %d frames, want %d", tc.ret, j, k, want)
			}
			for _, x := range in[:k] {
				x.Free()
			}
		}
		a[0].Close()
		checkPools(t, a, b)
	}
}

func TestQueuesRefusal(t *testing.T) {
	a, b := smallQueues(t, 2, mem.WithRingSize(2), mem.WithPool(link.PoolConfig{Count: 16, Size: 2048}), mem.WithSteer(func([]byte, int) int { return 1 }))
	defer a[0].Close()
	out := []*link.Buf{flowFrame(t, a[0], 1, 0, false), flowFrame(t, a[0], 1, 1, false), flowFrame(t, a[0], 1, 2, false)}
	if k := a[0].Send(out); k != 2 {
		t.Fatalf("Send into a 2-slot ring took %d of 3", k)
	}
	big := a[0].Pool().Get()
	big.Extend(a[0].MaxFrame() + 1)
	if k := a[0].Send([]*link.Buf{nil, big}); k != 0 {
		t.Fatalf("Send(nil) took %d", k)
	}
	if k := a[1].Send([]*link.Buf{big}); k != 0 {
		t.Fatalf("oversized frame taken")
	}
	s := a[0].Stats()
	if s.TxFrames != 2 || s.TxDropped != 2 || s.TxErrors != 1 {
		t.Errorf("a[0] stats %+v, want 2 sent, 2 dropped (ring full, the big frame), 1 error", s)
	}
	in := make([]*link.Buf, 8)
	if k := b[1].Recv(in); k != 2 {
		t.Fatalf("got %d", k)
	}
	for _, x := range in[:2] {
		x.Free()
	}
	if k := a[0].Send(out[2:]); k != 1 {
		t.Fatal("retry after drain refused")
	}
	if k := b[1].Recv(in); k != 1 {
		t.Fatalf("got %d", k)
	}
	in[0].Free()
	big.Free()
	checkPools(t, a, b)
}

// TestQueuesRecvFair fills queue 0 of b from both of a's queues and checks
// that a small Recv burst alternates its starting ring.
func TestQueuesRecvFair(t *testing.T) {
	a, b := smallQueues(t, 2, mem.WithSteer(func([]byte, int) int { return 0 }))
	defer a[0].Close()
	for i := range a {
		for s := 0; s < 4; s++ {
			if a[i].Send([]*link.Buf{flowFrame(t, a[i], uint32(i), uint64(s), false)}) != 1 {
				t.Fatal("refused")
			}
		}
	}
	in := make([]*link.Buf, 1)
	from := [2]int{}
	for k := 0; k < 8; k++ {
		if b[0].Recv(in) != 1 {
			t.Fatal("nothing")
		}
		id, _ := flowOf(in[0])
		from[id]++
		in[0].Free()
		if k == 1 && from != [2]int{1, 1} {
			t.Errorf("first two one-frame bursts came from %v, want one of each queue", from)
		}
	}
	if b[0].Recv(in) != 0 || b[0].RxPending() {
		t.Error("frames left over")
	}
	checkPools(t, a, b)
}

func TestQueuesArm(t *testing.T) {
	const n = 3
	a, b := smallQueues(t, n, mem.WithSteer(func(f []byte, _ int) int { return int(binary.BigEndian.Uint32(f[flowHdrLen:])) }))
	defer a[0].Close()
	c := make(chan struct{}, 1)
	if b[2].Arm(make(chan struct{})) {
		t.Error("Arm with an unbuffered channel accepted")
	}
	if b[2].RxPending() {
		t.Fatal("pending on a new link")
	}
	for src := 0; src < n; src++ {
		if !b[2].Arm(c) {
			t.Fatal("Arm refused on an empty queue")
		}
		// A frame to another queue does not make queue 2 pending.
		if a[src].Send([]*link.Buf{flowFrame(t, a[src], 1, 0, false)}) != 1 {
			t.Fatal("refused")
		}
		if b[2].RxPending() {
			t.Error("queue 2 pending after a frame for queue 1")
		}
		if a[src].Send([]*link.Buf{flowFrame(t, a[src], 2, 0, false)}) != 1 {
			t.Fatal("refused")
		}
		select {
		case <-c:
		case <-time.After(hangLimit):
			t.Fatalf("no wake-up for a frame from queue %d", src)
		}
		if !b[2].RxPending() {
			t.Error("not pending after the wake-up")
		}
		if b[2].Arm(c) {
			t.Error("Arm accepted with a frame waiting")
		}
		in := make([]*link.Buf, 4)
		for _, q := range []int{1, 2} {
			if k := b[q].Recv(in); k != 1 {
				t.Fatalf("queue %d got %d", q, k)
			}
			in[0].Free()
		}
		// Drain a spurious wake-up, if any, for the next round.
		select {
		case <-c:
		default:
		}
	}
	if a := testing.AllocsPerRun(50, func() {
		if !b[0].Arm(c) {
			panic("Arm refused on an empty queue")
		}
	}); a != 0 {
		t.Errorf("Arm allocates %v", a)
	}
}

func TestQueuesClose(t *testing.T) {
	a, b := smallQueues(t, 3)
	// Frames in flight toward several queues, a poller armed on each
	// queue of both ends.
	for i := range a {
		out := make([]*link.Buf, 0, 8)
		for f := 0; f < 8; f++ {
			out = append(out, flowFrame(t, a[i], uint32(f*3+i), 0, false))
		}
		if a[i].Send(out) != 8 {
			t.Fatal("refused")
		}
	}
	chans := make([]chan struct{}, 0, 6)
	for _, l := range a {
		c := make(chan struct{}, 1)
		if !l.Arm(c) {
			t.Fatal("Arm on an empty queue of a refused")
		}
		chans = append(chans, c)
	}
	if err := b[1].Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b[1].Close(); !errors.Is(err, link.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if err := a[2].Close(); err != nil {
		t.Errorf("Close of another queue after the pair closed = %v, want nil", err)
	}
	for i, c := range chans {
		select {
		case <-c:
		default:
			t.Errorf("armed poller on a[%d] not woken by Close", i)
		}
	}
	var dropped uint64
	in := make([]*link.Buf, 32)
	for _, end := range [][]*mem.Link{a, b} {
		for j, l := range end {
			dropped += l.Stats().RxDropped
			if l.Recv(in) != 0 || l.RxPending() {
				t.Errorf("queue %d: frames after Close", j)
			}
			x := flowFrame(t, l, 1, 0, false)
			if l.Send([]*link.Buf{x}) != 0 {
				t.Errorf("queue %d: Send after Close took a frame", j)
			}
			x.Free()
			if l.Arm(make(chan struct{}, 1)) {
				t.Errorf("queue %d: Arm after Close", j)
			}
		}
	}
	if dropped != 24 {
		t.Errorf("RxDropped sums to %d, want the 24 frames in flight", dropped)
	}
	checkPools(t, a, b)
}

func TestQueuesNoAllocs(t *testing.T) {
	const n = 4
	a, b := smallQueues(t, n)
	defer a[0].Close()
	out := make([]*link.Buf, 32)
	in := make([]*link.Buf, 32)
	seq := uint64(0)
	allocs := testing.AllocsPerRun(100, func() {
		for i := range a {
			for k := range out {
				x := a[i].Pool().Get()
				putFlow(x.Extend(flowFrameLen), uint32(k), seq, false)
				out[k] = x
			}
			seq++
			if a[i].Send(out) != len(out) {
				panic("refused")
			}
		}
		for j := range b {
			for {
				k := b[j].Recv(in)
				if k == 0 {
					break
				}
				for _, x := range in[:k] {
					x.Free()
				}
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per Send+Recv round, want 0", allocs)
	}
	checkPools(t, a, b)
}

// TestQueuesConcurrent runs one goroutine per queue on each end: a's
// queues send their flows' frames, b's queues check steering and per-flow
// order and echo each frame back, a's queues check the replies the same
// way. Run with -race.
func TestQueuesConcurrent(t *testing.T) {
	const n, flows = 4, 64
	total := 100000
	if testing.Short() {
		total = 10000
	}
	perFlow := total / flows
	total = perFlow * flows
	a, b := smallQueues(t, n, mem.WithRingSize(64))
	defer a[0].Close()
	var aGot, bGot atomic.Int64
	nextB := make([]uint64, flows) // flow f touched only by b's queue for f
	nextA := make([]uint64, flows) // ... and a's queue of the same index
	var wg sync.WaitGroup
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		a[0].Close() // stops everyone
	}
	for q := 0; q < n; q++ {
		wg.Add(2)
		go func() { // a's queue q: sends flows f%n == q, receives replies
			defer wg.Done()
			l := a[q]
			in := make([]*link.Buf, 32)
			out := make([]*link.Buf, 0, 32)
			sent := make([]uint64, flows)
			for aGot.Load() < int64(total) {
				// One frame of each of this queue's flows (f%n == q)
				// that still has frames to send.
				out = out[:0]
				for g := q; g < flows; g += n {
					if sent[g] == uint64(perFlow) {
						continue
					}
					x := l.Pool().Get()
					if x == nil {
						break
					}
					putFlow(x.Extend(flowFrameLen), uint32(g), sent[g], false)
					out = append(out, x)
					sent[g]++
				}
				k := l.Send(out)
				for _, x := range out[k:] { // refused: send those seqs again later
					id, _ := flowOf(x)
					sent[id]--
					x.Free()
				}
				k = l.Recv(in)
				for _, x := range in[:k] {
					id, seq := flowOf(x)
					if want := link.SteerQueue(x.Bytes(), n); want != q {
						fail("reply of flow %d on a's queue %d, want %d", id, q, want)
					}
					if seq != nextA[id] {
						fail("reply of flow %d: seq %d want %d", id, seq, nextA[id])
					}
					nextA[id]++
					x.Free()
				}
				aGot.Add(int64(k))
				if k == 0 {
					runtime.Gosched()
				}
				if t.Failed() {
					return
				}
			}
		}()
		go func() { // b's queue q: checks and echoes
			defer wg.Done()
			l := b[q]
			in := make([]*link.Buf, 32)
			var pend []*link.Buf
			for bGot.Load() < int64(total) || len(pend) > 0 {
				if t.Failed() {
					for _, x := range pend {
						x.Free()
					}
					return
				}
				if len(pend) > 0 {
					k := l.Send(pend)
					pend = pend[k:]
				}
				if len(pend) > 0 {
					runtime.Gosched()
					continue
				}
				k := l.Recv(in)
				if k == 0 {
					runtime.Gosched()
					continue
				}
				for _, x := range in[:k] {
					id, seq := flowOf(x)
					if want := link.SteerQueue(x.Bytes(), n); want != q {
						fail("flow %d on b's queue %d, want %d", id, q, want)
					}
					if seq != nextB[id] {
						fail("flow %d: seq %d want %d", id, seq, nextB[id])
					}
					nextB[id]++
					r := l.Pool().Get()
					if r == nil {
						fail("b's pool %d empty", q)
						x.Free()
						continue
					}
					putFlow(r.Extend(flowFrameLen), id, seq, true)
					// The frame is ours the moment Recv returns it, even
					// while the sender is still inside Send: change it as
					// IP input does (with -race: the sender must not
					// read it after publishing it).
					x.TrimFront(x.Len())
					x.Free()
					pend = append(pend, r)
				}
				bGot.Add(int64(k))
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if aGot.Load() != int64(total) || bGot.Load() != int64(total) {
		t.Fatalf("a got %d replies, b got %d frames, want %d", aGot.Load(), bGot.Load(), total)
	}
	for f := 0; f < flows; f++ {
		if nextA[f] != uint64(perFlow) || nextB[f] != uint64(perFlow) {
			t.Errorf("flow %d: %d frames and %d replies, want %d", f, nextB[f], nextA[f], perFlow)
		}
	}
	checkPools(t, a, b)
}

// BenchmarkQueuesFrames: one goroutine, n queues per end; every a queue
// sends a burst of mixed flows, b's queues echo what they get, a's queues
// free the replies.
func BenchmarkQueuesFrames(b *testing.B) {
	const n = 4
	x, y := smallQueues(b, n)
	defer x[0].Close()
	out := make([]*link.Buf, benchBurst)
	in := make([]*link.Buf, benchBurst)
	var tmpl [flowFrameLen]byte
	b.ReportAllocs()
	frames := 0
	for b.Loop() {
		for i, l := range x {
			for k := range out {
				f := l.Pool().Get()
				putFlow(tmpl[:], uint32(k*n+i), 0, false)
				copy(f.Extend(flowFrameLen), tmpl[:])
				out[k] = f
			}
			l.Send(out)
		}
		for _, l := range y {
			for k := l.Recv(in); k > 0; k = l.Recv(in) {
				for _, f := range in[l.Send(in[:k]):k] {
					f.Free()
				}
				frames += k
			}
		}
		for _, l := range x {
			for k := l.Recv(in); k > 0; k = l.Recv(in) {
				for _, f := range in[:k] {
					f.Free()
				}
				frames += k
			}
		}
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}
