package impair

import (
	"testing"
	"time"

	"github.com/ustack/ustack/link"
)

func newBuf(t testing.TB, p *link.Pool, n int) *link.Buf {
	b := p.Get()
	if b == nil {
		t.Fatal("pool empty")
	}
	b.SetLen(n)
	for i, d := 0, b.Bytes(); i < n; i++ {
		d[i] = byte(i)
	}
	return b
}

func TestSerializeAndBacklog(t *testing.T) {
	for _, tc := range []struct {
		n    int
		rate uint64
		want time.Duration
	}{
		{1000, 100_000_000, 80 * time.Microsecond},
		{1500, 1_000_000_000, 12 * time.Microsecond},
		{100, 3_000_000, 266667},
		{1, 1, 8 * time.Second},
		{64, 400_000_000_000, 2}, // 1.28ns rounds up
	} {
		if got := serialize(tc.n, tc.rate); got != tc.want {
			t.Errorf("serialize(%d, %d) = %v, want %v", tc.n, tc.rate, got, tc.want)
		}
	}
	if got := backlogBytes(80*time.Microsecond, 100_000_000); got != 1000 {
		t.Errorf("backlog = %d, want 1000", got)
	}
	if got := backlogBytes(1<<62, 1<<62); got < 1<<40 {
		t.Errorf("huge backlog = %d, want saturation", got)
	}
}

func TestOfferPassThrough(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 4})
	m, err := NewModel(Config{})
	if err != nil {
		t.Fatal(err)
	}
	b := newBuf(t, p, 60)
	out, drop := m.Offer(123, b, nil)
	if drop != DropNone || len(out) != 1 || out[0].At != 123 || out[0].Buf != b {
		t.Fatalf("Offer = %+v, %v", out, drop)
	}
	b.Free()
	if st := m.Stats(); st.Offered != 1 || st.OfferedBytes != 60 || st.Passed != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestOfferDropFreesBuffer(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 4})
	m, _ := NewModel(Config{Loss: 1})
	out, drop := m.Offer(0, newBuf(t, p, 60), nil)
	if drop != DropLoss || len(out) != 0 || p.InUse() != 0 {
		t.Errorf("drop %v, %d out, %d in use", drop, len(out), p.InUse())
	}
	if DropLoss.String() != "loss" || DropQueue.String() != "queue" || DropBurst.String() != "burst" || Drop(9).String() != "Drop(9)" {
		t.Error("Drop.String")
	}
}

func TestCloneUsesHeadroom(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 4, Size: 256, Headroom: 64})
	m, _ := NewModel(Config{Duplicate: 1})
	b := p.Get()
	b.Prepend(64)      // the sender used all the headroom
	b.SetLen(256 + 64) // and all the buffer
	b.Flags = link.FlagCsumValid
	b.GSOSize = 7
	for i, d := 0, b.Bytes(); i < len(d); i++ {
		d[i] = byte(i * 3)
	}
	out, _ := m.Offer(0, b, nil)
	if len(out) != 2 {
		t.Fatalf("%d deliveries, want 2", len(out))
	}
	c := out[1].Buf
	if string(c.Bytes()) != string(b.Bytes()) || c.Flags != b.Flags || c.GSOSize != 7 || c == b {
		t.Errorf("copy differs")
	}
	b.Free()
	c.Free()
	if p.InUse() != 0 {
		t.Error("leak")
	}
}

func TestCorruptSparesEthernetHeader(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 4})
	m, _ := NewModel(Config{Corrupt: 1, CorruptBits: 64})
	for n := 0; n < 200; n++ {
		b := newBuf(t, p, n%80)
		b.Flags = link.FlagCsumValid
		orig := string(b.Bytes())
		out, _ := m.Offer(0, b, nil)
		got := out[0].Buf.Bytes()
		if len(got) >= 14 && string(got[:14]) != orig[:14] {
			t.Fatalf("Ethernet header changed")
		}
		flipped := 0
		for i := range got {
			for x := got[i] ^ orig[i]; x != 0; x &= x - 1 {
				flipped++
			}
		}
		body := max(len(got)-14, 0) * 8
		switch {
		case body == 0 && flipped != 0:
			t.Fatalf("%d-byte frame changed", len(got))
		case body > 0 && (flipped < 1 || flipped > min(64, body)):
			t.Fatalf("%d bits flipped in a %d-byte frame, want 1..64", flipped, len(got))
		case body > 0 && b.Flags&link.FlagCsumValid != 0:
			t.Fatalf("corrupted frame still claims a valid checksum")
		}
		b.Free()
	}
}

func TestSameSeedSameDecisions(t *testing.T) {
	cfg := Config{Delay: time.Millisecond, Jitter: time.Millisecond, JitterReorder: true, Loss: 0.3, Reorder: 0.2, Seed: 5}
	run := func(c Config) []time.Duration {
		p := link.MustPool(link.PoolConfig{Count: 8})
		m, _ := NewModel(c)
		var res []time.Duration
		for i := 0; i < 500; i++ {
			out, drop := m.Offer(time.Duration(i)*time.Microsecond, newBuf(t, p, 64), nil)
			if drop != DropNone {
				res = append(res, -1)
				continue
			}
			res = append(res, out[0].At)
			out[0].Buf.Free()
		}
		return res
	}
	a, b := run(cfg), run(cfg)
	cfg.Seed = 6
	c := run(cfg)
	same := func(x, y []time.Duration) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("same seed, different decisions")
	}
	if same(a, c) {
		t.Error("different seeds, same decisions")
	}
}

func TestLossPatternIndependentOfOtherImpairments(t *testing.T) {
	pattern := func(c Config) uint64 {
		p := link.MustPool(link.PoolConfig{Count: 8})
		m, _ := NewModel(c)
		var bits uint64
		for i := 0; i < 64; i++ {
			out, drop := m.Offer(0, newBuf(t, p, 64), nil)
			if drop != DropNone {
				bits |= 1 << i
			}
			for _, d := range out {
				d.Buf.Free()
			}
		}
		return bits
	}
	base := Config{Loss: 0.5, Seed: 3}
	more := base
	more.Duplicate, more.Corrupt, more.Jitter = 0.5, 0.5, time.Millisecond
	if pattern(base) != pattern(more) {
		t.Error("enabling duplication/corruption/jitter changed which frames are lost")
	}
}

func TestOfferAllocs(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 8})
	m, _ := NewModel(Config{Delay: time.Millisecond, Jitter: 10, Rate: 1e9, QueueLimit: 1 << 20, Loss: 0.1,
		GE: GilbertElliott{P: 0.1, R: 0.1, LossBad: 1}, Reorder: 0.1, Duplicate: 0.1, Corrupt: 0.1, CorruptBits: 3})
	out := make([]Delivery, 0, 2)
	now := time.Duration(0)
	allocs := testing.AllocsPerRun(2000, func() {
		now += time.Microsecond
		b := p.Get()
		b.SetLen(100)
		res, _ := m.Offer(now, b, out[:0])
		for _, d := range res {
			d.Buf.Free()
		}
	})
	if allocs != 0 {
		t.Errorf("Offer allocates %v times", allocs)
	}
}

func BenchmarkOffer(b *testing.B) {
	p := link.MustPool(link.PoolConfig{Count: 8})
	m, _ := NewModel(Config{Delay: time.Millisecond, Jitter: 10, Rate: 1e9, Loss: 0.01, Reorder: 0.01, Corrupt: 0.01})
	out := make([]Delivery, 0, 2)
	now := time.Duration(0)
	for b.Loop() {
		now += time.Microsecond
		x := p.Get()
		x.SetLen(1500)
		res, _ := m.Offer(now, x, out[:0])
		for _, d := range res {
			d.Buf.Free()
		}
	}
}

func TestReorderGap(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 4})
	m, _ := NewModel(Config{Delay: 10 * time.Millisecond, Reorder: 1, ReorderGap: 3 * time.Millisecond})
	for i := 0; i < 3; i++ {
		now := time.Duration(i) * time.Millisecond
		out, _ := m.Offer(now, newBuf(t, p, 64), nil)
		if want := now + 7*time.Millisecond; out[0].At != want {
			t.Errorf("reordered frame offered at %v arrives %v, want %v", now, out[0].At, want)
		}
		out[0].Buf.Free()
	}
	// A gap larger than the delay cannot make a frame arrive before it left.
	m, _ = NewModel(Config{Delay: time.Millisecond, Rate: 8e6, Reorder: 1, ReorderGap: time.Hour})
	out, _ := m.Offer(5, newBuf(t, p, 1000), nil)
	if out[0].At != 5+time.Millisecond {
		t.Errorf("arrival %v, want the end of serialization (1ms after 5ns)", out[0].At)
	}
	out[0].Buf.Free()
	if m.Stats().Reordered != 1 {
		t.Errorf("stats %+v", m.Stats())
	}
}

func TestQueueLimitBoundary(t *testing.T) {
	p := link.MustPool(link.PoolConfig{Count: 8})
	// 1000-byte frames at 8 Mbit/s take 1ms each; the queue holds 2500 bytes.
	m, _ := NewModel(Config{Rate: 8e6, QueueLimit: 2500})
	offer := func(now time.Duration) Drop {
		out, d := m.Offer(now, newBuf(t, p, 1000), nil)
		for _, x := range out {
			x.Buf.Free()
		}
		return d
	}
	d1, d2, d3 := offer(0), offer(0), offer(0)
	if d1 != DropNone || d2 != DropNone || d3 != DropQueue {
		t.Errorf("at t=0: %v %v %v, want the queue to take exactly two 1000-byte frames", d1, d2, d3)
	}
	// At 0.5ms 1500 bytes are left: one more frame fits (2500), two do not.
	d1, d2 = offer(500*time.Microsecond), offer(500*time.Microsecond)
	if d1 != DropNone || d2 != DropQueue {
		t.Errorf("at 0.5ms: %v %v, want the queue to take exactly one more frame", d1, d2)
	}
	if m.BusyUntil() != 3*time.Millisecond {
		t.Errorf("busy until %v, want 3ms", m.BusyUntil())
	}
	// Once drained, a frame starts serializing at once.
	if out, d := m.Offer(time.Second, newBuf(t, p, 1500), nil); d != DropNone || out[0].At != time.Second+1500*time.Microsecond {
		t.Errorf("idle link: %v %+v", d, out)
	} else {
		out[0].Buf.Free()
	}
	if p.InUse() != 0 {
		t.Error("leak")
	}
}
