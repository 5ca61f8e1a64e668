package sim

import (
	"math"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/impair"
)

var allImpairments = impair.Config{
	Delay: 2 * time.Millisecond, Jitter: 300 * time.Microsecond,
	Rate: 50_000_000, QueueLimit: 16 * 1024,
	Loss: 0.01, GE: impair.GilbertElliott{P: 0.005, R: 0.3, LossBad: 0.8},
	Reorder: 0.02, Duplicate: 0.01, Corrupt: 0.01, CorruptBits: 3,
}

// runAll sends 10k frames of varying size through every impairment, both
// ways, and returns the hashes of what each side received.
func runAll(t *testing.T, seed uint64) (uint64, uint64, int) {
	t.Helper()
	w := New(seed)
	a, b := w.Link(allImpairments, allImpairments)
	sa := &sender{t: t, p: a, n: 10_000, size: 300, every: 40 * time.Microsecond}
	sb := &sender{t: t, p: b, n: 10_000, size: 900, every: 60 * time.Microsecond, start: 7 * time.Microsecond}
	ra, rb := newSink(a), newSink(b)
	w.AddHost(multi{sa, ra}, a)
	w.AddHost(multi{sb, rb}, b)
	for w.Pending() > 0 {
		w.RunFor(time.Second)
	}
	checkPools(t, a, b)
	return rb.hash, ra.hash, len(ra.got) + len(rb.got)
}

// multi steps several hosts as one.
type multi []Host

func (m multi) Step(now time.Duration) time.Duration {
	next := time.Duration(math.MaxInt64)
	for _, h := range m {
		next = min(next, h.Step(now))
	}
	return next
}

func TestReproducible(t *testing.T) {
	h1, g1, n1 := runAll(t, 42)
	h2, g2, n2 := runAll(t, 42)
	if h1 != h2 || g1 != g2 || n1 != n2 {
		t.Errorf("same seed, different runs: %x/%x (%d) vs %x/%x (%d)", h1, g1, n1, h2, g2, n2)
	}
	h3, g3, n3 := runAll(t, 43)
	if h1 == h3 || g1 == g3 {
		t.Errorf("seeds 42 and 43 gave the same deliveries (%x/%x, %d and %d frames)", h1, g1, n1, n3)
	}
}

func TestDirectionsIndependentlySeeded(t *testing.T) {
	cfg := impair.Config{Loss: 0.5}
	w := New(9)
	a, b := w.Link(cfg, cfg)
	c, d := w.Link(cfg, cfg)
	pattern := func(p *Port) uint64 {
		var bits uint64
		for i := 0; i < 64; i++ {
			before := p.Impair().LossDrops
			x := p.Pool().Get()
			x.SetLen(minFrame)
			p.Send([]*link.Buf{x})
			if p.Impair().LossDrops != before {
				bits |= 1 << i
			}
		}
		return bits
	}
	pa, pb, pc, pd := pattern(a), pattern(b), pattern(c), pattern(d)
	if pa == pb || pa == pc || pa == pd || pb == pc || pb == pd || pc == pd {
		t.Errorf("loss patterns repeat across link directions: %x %x %x %x", pa, pb, pc, pd)
	}
	w.Close()
	checkPools(t, a, b, c, d)
}

// stepper records its Steps and returns scripted deadlines.
type stepper struct {
	p     *Port
	steps []time.Duration
	next  func(now time.Duration) time.Duration
	bufs  [8]*link.Buf
}

func (s *stepper) Step(now time.Duration) time.Duration {
	s.steps = append(s.steps, now)
	if s.p != nil {
		for n := s.p.Recv(s.bufs[:]); n > 0; n = s.p.Recv(s.bufs[:]) {
			for _, b := range s.bufs[:n] {
				b.Free()
			}
		}
	}
	return s.next(now)
}

func TestHostDeadlines(t *testing.T) {
	w := New(1)
	// A host asking for a Step every 3ms until 10ms.
	h := &stepper{next: func(now time.Duration) time.Duration {
		if now+3*time.Millisecond > 10*time.Millisecond {
			return math.MaxInt64
		}
		return now + 3*time.Millisecond
	}}
	w.AddHost(h)
	w.RunFor(time.Second)
	want := []time.Duration{0, 3 * time.Millisecond, 6 * time.Millisecond, 9 * time.Millisecond}
	if !equalDurations(h.steps, want) {
		t.Errorf("steps at %v, want %v", h.steps, want)
	}
	if w.Now() != time.Second || w.Clock().Now() != time.Second {
		t.Errorf("clock at %v after RunFor(1s)", w.Now())
	}
}

func TestHostWokenByArrivalOncePerInstant(t *testing.T) {
	w := New(1)
	a, b := w.Link(impair.Config{Delay: time.Millisecond}, impair.Config{})
	// The receiver asks for a deadline 5ms after its first Step, then moves
	// it later on every arrival; superseded deadlines must not step it.
	deadline := time.Duration(5 * time.Millisecond)
	r := &stepper{p: b}
	r.next = func(now time.Duration) time.Duration {
		if now >= deadline {
			return math.MaxInt64
		}
		return deadline
	}
	w.AddHost(r, b)
	w.RunFor(0) // first Step at 0
	bufs := make([]*link.Buf, 3)
	for i := range bufs {
		bufs[i] = a.Pool().Get()
		bufs[i].SetLen(minFrame)
	}
	a.Send(bufs) // three frames arriving together at 1ms
	w.RunFor(500 * time.Microsecond)
	deadline = 8 * time.Millisecond // moved later while the 5ms event is queued
	w.RunFor(time.Second)
	want := []time.Duration{0, time.Millisecond, 8 * time.Millisecond}
	if !equalDurations(r.steps, want) {
		t.Errorf("steps at %v, want %v (one Step for three simultaneous arrivals; none at the stale 5ms deadline)", r.steps, want)
	}
	checkPools(t, a, b)

	// An earlier deadline replaces a later one.
	r.steps = nil
	r.next = func(now time.Duration) time.Duration {
		if now == w.Now() && len(r.steps) == 1 {
			return now + 10*time.Millisecond
		}
		return math.MaxInt64
	}
	start := w.Now()
	x := a.Pool().Get()
	x.SetLen(minFrame)
	a.Send([]*link.Buf{x}) // arrives at start+1ms; that Step returns start+11ms
	w.RunFor(time.Second)
	want = []time.Duration{start + time.Millisecond, start + 11*time.Millisecond}
	if !equalDurations(r.steps, want) {
		t.Errorf("steps at %v, want %v", r.steps, want)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRunUntil(t *testing.T) {
	f := newFlow(t, 1, impair.Config{Delay: time.Millisecond}, 10, time.Millisecond, 64)
	ok := f.w.RunUntil(func() bool { return len(f.rcv.got) == 5 }, time.Second)
	if !ok || f.w.Now() != 5*time.Millisecond {
		t.Errorf("RunUntil = %v at %v, want true at 5ms", ok, f.w.Now())
	}
	ok = f.w.RunUntil(func() bool { return len(f.rcv.got) == 11 }, time.Second)
	if ok || f.w.Now() != time.Second+5*time.Millisecond {
		t.Errorf("RunUntil(never) = %v at %v, want false at 1.005s", ok, f.w.Now())
	}
	checkPools(t, f.a, f.b)
}

func TestTrace(t *testing.T) {
	var sent, dropped, delivered int
	var reasons [4]int
	trace := func(ev TraceEvent) {
		switch ev.Kind {
		case TraceSent:
			sent++
			if len(ev.Data) != ev.Len {
				t.Errorf("sent trace without the frame")
			}
		case TraceDropped:
			dropped++
			reasons[ev.Drop]++
		case TraceDelivered:
			delivered++
			if ev.Port.Side() != 1 {
				t.Errorf("delivery traced on side %d", ev.Port.Side())
			}
		}
	}
	f := newFlow(t, 4, impair.Config{Loss: 0.1, Duplicate: 0.1, Rate: 1e6, QueueLimit: 4000}, 2000, 500*time.Microsecond, 100, WithTrace(trace))
	f.run(t)
	st := f.a.Impair()
	if sent != 2000 || dropped != int(st.LossDrops+st.QueueDrops) || delivered != len(f.rcv.got) {
		t.Errorf("traced %d sent, %d dropped, %d delivered; stats %+v, %d received", sent, dropped, delivered, st, len(f.rcv.got))
	}
	if reasons[impair.DropLoss] != int(st.LossDrops) || reasons[impair.DropQueue] != int(st.QueueDrops) || st.QueueDrops == 0 {
		t.Errorf("drop reasons %v, stats %+v", reasons, st)
	}
}

func TestCloseFreesEverything(t *testing.T) {
	w := New(1)
	a, b := w.Link(impair.Config{Delay: time.Second}, impair.Config{})
	for i := 0; i < 10; i++ {
		x := a.Pool().Get()
		x.SetLen(minFrame)
		a.Send([]*link.Buf{x})
	}
	w.RunFor(time.Second) // all ten now wait on b
	for i := 0; i < 5; i++ {
		x := a.Pool().Get()
		x.SetLen(minFrame)
		a.Send([]*link.Buf{x}) // in flight
	}
	if b.Queued() != 10 || w.Pending() != 5 || a.Pool().InUse() != 15 {
		t.Fatalf("queued %d, pending %d, in use %d", b.Queued(), w.Pending(), a.Pool().InUse())
	}
	w.Close()
	checkPools(t, a, b)
	x := a.Pool().Get()
	if a.Send([]*link.Buf{x}) != 0 || b.Recv(make([]*link.Buf, 1)) != 0 {
		t.Errorf("closed port still works")
	}
	x.Free()
}

func TestPortClosedPeerDropsArrivals(t *testing.T) {
	w := New(1)
	a, b := w.Link(impair.Config{Delay: time.Millisecond}, impair.Config{})
	x := a.Pool().Get()
	x.SetLen(minFrame)
	a.Send([]*link.Buf{x})
	_ = b.Close()
	w.RunFor(time.Second)
	if b.Stats().RxDropped != 1 {
		t.Errorf("RxDropped %d, want 1", b.Stats().RxDropped)
	}
	checkPools(t, a, b)
}

func TestOversizeFrameDropped(t *testing.T) {
	w := New(1)
	a, b := w.Link(impair.Config{}, impair.Config{}, WithMTU(100))
	x := a.Pool().Get()
	x.SetLen(100 + 19)
	y := a.Pool().Get()
	y.SetLen(100 + 18)
	if a.Send([]*link.Buf{x, y}) != 2 {
		t.Fatal("Send refused")
	}
	w.RunFor(0)
	if a.Stats().TxErrors != 1 || b.Queued() != 1 {
		t.Errorf("TxErrors %d, queued %d: want the 119-byte frame dropped, the 118-byte one delivered", a.Stats().TxErrors, b.Queued())
	}
	w.Close()
	checkPools(t, a, b)
}

func TestLinkOptions(t *testing.T) {
	w := New(1)
	if _, _, err := w.TryLink(impair.Config{Loss: 2}, impair.Config{}); err == nil {
		t.Error("TryLink accepted loss 200%")
	}
	if _, _, err := w.TryLink(impair.Config{}, impair.Config{}, WithMTU(10)); err == nil {
		t.Error("TryLink accepted MTU 10")
	}
	pa := link.MustPool(link.PoolConfig{Count: 8})
	ma, mb := [6]byte{2, 1, 1, 1, 1, 1}, [6]byte{2, 2, 2, 2, 2, 2}
	a, b := w.Link(impair.Config{}, impair.Config{}, WithMTU(9000), WithMACs(ma, mb), WithPools(pa, nil))
	if a.MTU() != 9000 || a.HardwareAddr() != ma || b.HardwareAddr() != mb || a.Pool() != pa || b.Pool() == pa || b.Pool() == nil {
		t.Errorf("options not applied")
	}
	if a.Fd() != -1 || a.Peer() != b || b.Peer() != a {
		t.Errorf("Fd/Peer wrong")
	}
	c, d := w.Link(impair.Config{}, impair.Config{})
	if c.HardwareAddr() == d.HardwareAddr() || c.HardwareAddr()[0]&2 == 0 || c.HardwareAddr()[0]&1 != 0 {
		t.Errorf("default MACs %x %x should be distinct, unicast, locally administered", c.HardwareAddr(), d.HardwareAddr())
	}
	if c.Pool() == d.Pool() {
		t.Errorf("ports share a pool")
	}
}

func TestSteadyStateAllocs(t *testing.T) {
	w := New(1)
	cfg := impair.Config{Delay: time.Millisecond, Jitter: 100 * time.Microsecond, Rate: 1e9, QueueLimit: 1 << 20,
		Loss: 0.01, GE: impair.GilbertElliott{P: 0.01, R: 0.5, LossBad: 0.5}, Reorder: 0.01, Corrupt: 0.01}
	a, b := w.Link(cfg, cfg)
	one := make([]*link.Buf, 1)
	got := make([]*link.Buf, 8)
	cycle := func() {
		x := a.Pool().Get()
		x.SetLen(200)
		buildFrame(x.Bytes(), 1)
		one[0] = x
		a.Send(one)
		w.RunFor(2 * time.Millisecond)
		for n := b.Recv(got); n > 0; n = b.Recv(got) {
			for _, y := range got[:n] {
				y.Free()
			}
		}
	}
	for i := 0; i < 100; i++ {
		cycle()
	}
	if allocs := testing.AllocsPerRun(1000, cycle); allocs != 0 {
		t.Errorf("send→deliver cycle allocates %v times", allocs)
	}
	checkPools(t, a, b)
}

func BenchmarkSendDeliver(b *testing.B) {
	w := New(1)
	cfg := impair.Config{Delay: time.Millisecond, Rate: 10e9, Loss: 0.001}
	p, q := w.Link(cfg, impair.Config{})
	bufs := make([]*link.Buf, 32)
	got := make([]*link.Buf, 32)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for j := range bufs {
			bufs[j] = p.Pool().Get()
			bufs[j].SetLen(1514)
		}
		p.Send(bufs)
		w.RunFor(time.Millisecond + 100*time.Microsecond)
		for n := q.Recv(got); n > 0; n = q.Recv(got) {
			for _, y := range got[:n] {
				y.Free()
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32), "ns/frame")
}

// SetDown loses every frame sent while down, in that direction only, and
// traffic flows again once it is up.
func TestPortSetDown(t *testing.T) {
	w := New(1)
	a, b := w.Link(impair.Config{Delay: time.Millisecond}, impair.Config{Delay: time.Millisecond})
	send := func(p *Port) {
		buf := p.Pool().Get()
		buf.Extend(60)
		if p.Send([]*link.Buf{buf}) != 1 {
			t.Fatal("Send refused a frame")
		}
	}
	recv := func(p *Port) int {
		var bufs [8]*link.Buf
		n := p.Recv(bufs[:])
		for _, x := range bufs[:n] {
			x.Free()
		}
		return n
	}
	a.SetDown(true)
	send(a)
	send(b)
	w.RunFor(10 * time.Millisecond)
	if got := recv(b); got != 0 {
		t.Fatalf("b received %d frames while a->b was down", got)
	}
	if got := recv(a); got != 1 {
		t.Fatalf("a received %d frames from b; the other direction must stay up", got)
	}
	if a.Stats().TxDropped != 1 {
		t.Fatalf("TxDropped = %d, want 1", a.Stats().TxDropped)
	}
	a.SetDown(false)
	send(a)
	w.RunFor(10 * time.Millisecond)
	if got := recv(b); got != 1 {
		t.Fatalf("b received %d frames after the link came back, want 1", got)
	}
	w.Close()
	if a.Pool().InUse() != 0 || b.Pool().InUse() != 0 {
		t.Fatal("buffers leaked")
	}
}

// wakeHost records its Steps and has no deadline of its own.
type wakeHost struct {
	steps []time.Duration
	wake  func()
}

func (h *wakeHost) Step(now time.Duration) time.Duration {
	h.steps = append(h.steps, now)
	return math.MaxInt64
}
func (h *wakeHost) SetWake(wake func()) { h.wake = wake }

// A Waker host that asks for a Step between runs is stepped at that very
// instant, although neither a frame nor a deadline announced it.
func TestWakerStepsAtOnce(t *testing.T) {
	w := New(1)
	h := &wakeHost{}
	w.AddHost(h)
	w.RunFor(time.Second)
	if h.wake == nil {
		t.Fatal("AddHost did not hand the Waker its wake function")
	}
	before := len(h.steps)
	h.wake()
	w.RunFor(time.Millisecond)
	if len(h.steps) != before+1 || h.steps[len(h.steps)-1] != time.Second {
		t.Fatalf("steps %v: want one more at 1s, right after the wake", h.steps)
	}
}
