package sim

import (
	"math"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/impair"
)

func TestDelayIsExact(t *testing.T) {
	const delay = 7*time.Millisecond + 3*time.Nanosecond
	f := newFlow(t, 1, impair.Config{Delay: delay}, 200, time.Millisecond, 100)
	f.snd.start = 5 * time.Microsecond
	f.run(t)
	if len(f.rcv.got) != 200 {
		t.Fatalf("delivered %d frames, want 200", len(f.rcv.got))
	}
	for i, a := range f.rcv.got {
		want := f.snd.start + time.Duration(i)*time.Millisecond + delay
		if a.num != uint32(i) || a.at != want || !a.good {
			t.Fatalf("delivery %d: frame %d at %v (intact %v), want frame %d at %v", i, a.num, a.at, a.good, i, want)
		}
	}
	if st := f.a.Stats(); st.TxFrames != 200 || st.TxBytes != 200*100 {
		t.Errorf("sender stats %+v", st)
	}
	if st := f.b.Stats(); st.RxFrames != 200 || st.RxBytes != 200*100 {
		t.Errorf("receiver stats %+v", st)
	}
}

func TestRateSerializes(t *testing.T) {
	const (
		n     = 100
		size  = 1000
		rate  = 100_000_000
		delay = time.Millisecond
	)
	f := newFlow(t, 1, impair.Config{Rate: rate, Delay: delay}, n, 0, size)
	f.run(t)
	if len(f.rcv.got) != n {
		t.Fatalf("delivered %d, want %d", len(f.rcv.got), n)
	}
	per := time.Duration(size * 8 * int64(time.Second) / rate) // 80µs
	for i, a := range f.rcv.got {
		want := time.Duration(i+1)*per + delay
		if a.num != uint32(i) || a.at != want {
			t.Fatalf("frame %d (#%d) arrived at %v, want %v", i, a.num, a.at, want)
		}
	}
	if last, want := f.rcv.got[n-1].at-delay, time.Duration(n*size*8*int64(time.Second)/rate); last != want {
		t.Errorf("%d frames of %d bytes at %d bit/s took %v, want %v", n, size, rate, last, want)
	}
}

func TestRateRoundsUpPerFrame(t *testing.T) {
	// 3 bytes at 7 bit/s... use 100 bytes at 3 Mbit/s: 266666.67ns → 266667ns.
	f := newFlow(t, 1, impair.Config{Rate: 3_000_000}, 3, 0, 100)
	f.run(t)
	for i, a := range f.rcv.got {
		if want := time.Duration(i+1) * 266667; a.at != want {
			t.Errorf("frame %d at %v, want %v", i, a.at, want)
		}
	}
}

func TestQueueTailDrop(t *testing.T) {
	const size = 1000
	cfg := impair.Config{Rate: 10_000_000, QueueLimit: 10 * 1024}
	f := newFlow(t, 1, cfg, 50, 0, size)
	f.run(t)
	// At t=0 the queue holds floor(10240/1000) = 10 frames; 40 are dropped.
	if st := f.a.Impair(); st.QueueDrops != 40 || st.Passed != 10 {
		t.Errorf("impair stats %+v, want 40 queue drops and 10 passed", st)
	}
	if st := f.a.Stats(); st.TxDropped != 40 || st.TxFrames != 50 {
		t.Errorf("port stats %+v", st)
	}
	if len(f.rcv.got) != 10 {
		t.Fatalf("delivered %d, want 10", len(f.rcv.got))
	}
	for i, a := range f.rcv.got {
		if a.num != uint32(i) {
			t.Errorf("delivery %d is frame %d: tail drop must keep the head", i, a.num)
		}
	}

	// Offered at exactly the drain rate (one frame per 800µs), nothing drops.
	g := newFlow(t, 1, cfg, 500, 800*time.Microsecond, size)
	g.run(t)
	if st := g.a.Impair(); st.QueueDrops != 0 || len(g.rcv.got) != 500 {
		t.Errorf("at line rate: %d queue drops, %d delivered", st.QueueDrops, len(g.rcv.got))
	}
	// At twice the drain rate, the queue fills and then half the frames drop.
	h := newFlow(t, 1, cfg, 1000, 400*time.Microsecond, size)
	h.run(t)
	st := h.a.Impair()
	if st.QueueDrops < 480 || st.QueueDrops > 500 {
		t.Errorf("at 2x line rate: %d queue drops of 1000, want about 490", st.QueueDrops)
	}
	// The backlog never exceeds the limit: the last arrival is at most
	// QueueLimit/Rate after the last send.
	if lastSend, lastArr := 999*400*time.Microsecond, h.rcv.got[len(h.rcv.got)-1].at; lastArr-lastSend > time.Duration(cfg.QueueLimit)*8*time.Second/time.Duration(cfg.Rate)+time.Millisecond {
		t.Errorf("last frame sent %v arrived %v: backlog exceeded the limit", lastSend, lastArr)
	}
}

func TestRandomLoss(t *testing.T) {
	const n = 100_000
	f := newFlow(t, 7, impair.Config{Delay: time.Millisecond, Loss: 0.05}, n, 10*time.Microsecond, 64)
	f.run(t)
	lost := n - len(f.rcv.got)
	within(t, "random loss", lost, n, 0.05, 5)
	if st := f.a.Impair(); st.LossDrops != uint64(lost) || st.Passed != uint64(len(f.rcv.got)) {
		t.Errorf("counters %+v do not match %d lost", st, lost)
	}
	// Independent loss: bursts are short (mean 1/(1-p) ≈ 1.05).
	if mb := meanBurst(f.rcv.got, n); mb > 1.2 {
		t.Errorf("random loss mean burst %.2f, want about 1.05", mb)
	}
}

// meanBurst is the mean length of runs of missing frame numbers in an
// in-order arrival list of frames 0..n-1.
func meanBurst(got []arrival, n int) float64 {
	lost, bursts := 0, 0
	next := uint32(0)
	for _, a := range got {
		if a.num > next {
			lost += int(a.num - next)
			bursts++
		}
		next = a.num + 1
	}
	if int(next) < n {
		lost += n - int(next)
		bursts++
	}
	if bursts == 0 {
		return 0
	}
	return float64(lost) / float64(bursts)
}

func TestGilbertElliottBursts(t *testing.T) {
	const n = 100_000
	ge := impair.GilbertElliott{P: 0.01, R: 0.25, LossGood: 0, LossBad: 1}
	f := newFlow(t, 3, impair.Config{Delay: time.Millisecond, GE: ge}, n, 10*time.Microsecond, 64)
	f.run(t)
	lost := n - len(f.rcv.got)
	// Stationary share of the bad state: P/(P+R) = 1/26.
	within(t, "GE loss", lost, n, ge.P/(ge.P+ge.R), 8) // bursty: the binomial sd understates; allow more
	mb := meanBurst(f.rcv.got, n)
	t.Logf("GE mean burst %.3f (want 1/R = %.1f)", mb, 1/ge.R)
	if math.Abs(mb-1/ge.R) > 0.4 {
		t.Errorf("GE mean burst length %.3f, want 1/R = %.1f ± 0.4", mb, 1/ge.R)
	}
	if st := f.a.Impair(); st.BurstDrops != uint64(lost) || st.LossDrops != 0 {
		t.Errorf("counters %+v, want %d burst drops", st, lost)
	}
}

func TestDuplicate(t *testing.T) {
	const n = 100_000
	f := newFlow(t, 5, impair.Config{Delay: time.Millisecond, Duplicate: 0.02}, n, 10*time.Microsecond, 80)
	f.run(t)
	dups := len(f.rcv.got) - n
	within(t, "duplicates", dups, n, 0.02, 5)
	seen := 0
	for i := 1; i < len(f.rcv.got); i++ {
		a, b := f.rcv.got[i-1], f.rcv.got[i]
		if !b.good {
			t.Fatalf("frame %d altered", b.num)
		}
		if a.num == b.num {
			seen++
			if a.at != b.at {
				t.Errorf("duplicate of %d at %v, original at %v", a.num, b.at, a.at)
			}
		} else if b.num != a.num+1 {
			t.Fatalf("frame %d after %d: duplication must not reorder", b.num, a.num)
		}
	}
	if seen != dups {
		t.Errorf("%d adjacent duplicates, %d extra deliveries", seen, dups)
	}
	if st := f.a.Impair(); st.Duplicated != uint64(dups) || st.DupNoBuf != 0 {
		t.Errorf("counters %+v, want %d duplicated", st, dups)
	}
}

func TestDuplicateEmptyPoolCounts(t *testing.T) {
	w := New(1)
	a, b := w.Link(impair.Config{Duplicate: 1}, impair.Config{}, WithPoolConfig(link.PoolConfig{Count: 4}))
	bufs := make([]*link.Buf, 4)
	for i := range bufs {
		bufs[i] = a.Pool().Get()
		bufs[i].SetLen(minFrame)
		buildFrame(bufs[i].Bytes(), uint32(i))
	}
	// Four originals use the whole pool: no copy can be made.
	if n := a.Send(bufs); n != 4 {
		t.Fatalf("Send took %d", n)
	}
	st := a.Impair()
	if st.DupNoBuf != 4 || st.Duplicated != 0 {
		t.Errorf("counters %+v, want 4 copies missed", st)
	}
	w.RunFor(0)
	got := make([]*link.Buf, 8)
	if n := b.Recv(got); n != 4 {
		t.Errorf("received %d, want 4", n)
	}
	for _, x := range got[:4] {
		x.Free()
	}
	// With room in the pool, copies come from it.
	x := a.Pool().Get()
	x.SetLen(minFrame)
	buildFrame(x.Bytes(), 9)
	a.Send([]*link.Buf{x})
	w.RunFor(0)
	if n := b.Recv(got); n != 2 || got[0] == got[1] || got[1].Pool() != a.Pool() || string(got[0].Bytes()) != string(got[1].Bytes()) {
		t.Errorf("received %d frames, want an original and a distinct identical copy from the same pool", n)
	}
	got[0].Free()
	got[1].Free()
	checkPools(t, a, b)
}

// early counts deliveries that arrived before some frame sent earlier: the
// frames that skipped ahead.
func early(got []arrival) int {
	n := 0
	minAfter := uint32(math.MaxUint32)
	for i := len(got) - 1; i >= 0; i-- {
		if got[i].num > minAfter {
			n++
		}
		minAfter = min(minAfter, got[i].num)
	}
	return n
}

func TestReorder(t *testing.T) {
	const n = 100_000
	f := newFlow(t, 11, impair.Config{Delay: 10 * time.Millisecond, Reorder: 0.03}, n, 100*time.Microsecond, 64)
	f.run(t)
	if len(f.rcv.got) != n {
		t.Fatalf("delivered %d", len(f.rcv.got))
	}
	e := early(f.rcv.got)
	within(t, "reordered", e, n, 0.03, 5)
	st := f.a.Impair()
	if st.Reordered < uint64(e) || st.Reordered > uint64(e)+uint64(e)/50 {
		t.Errorf("Reordered counter %d, %d frames arrived early", st.Reordered, e)
	}
	// A reordered frame skips the whole delay (ReorderGap defaults to it).
	sendAt := func(i uint32) time.Duration { return time.Duration(i) * 100 * time.Microsecond }
	fast := 0
	for _, a := range f.rcv.got {
		switch d := a.at - sendAt(a.num); d {
		case 0:
			fast++
		case 10 * time.Millisecond:
		default:
			t.Fatalf("frame %d took %v", a.num, d)
		}
	}
	if fast != int(st.Reordered) {
		t.Errorf("%d frames skipped the delay, counter says %d", fast, st.Reordered)
	}
}

func TestJitter(t *testing.T) {
	cfg := impair.Config{Delay: 5 * time.Millisecond, Jitter: 2 * time.Millisecond}
	// Frames spaced wider than the jitter range: each delay is uniform on
	// [Delay-Jitter, Delay+Jitter].
	const n = 5000
	f := newFlow(t, 2, cfg, n, 5*time.Millisecond, 64)
	f.run(t)
	var lo, hi, sum time.Duration = math.MaxInt64, 0, 0
	for i, a := range f.rcv.got {
		d := a.at - time.Duration(i)*5*time.Millisecond
		lo, hi, sum = min(lo, d), max(hi, d), sum+d
		if d < cfg.Delay-cfg.Jitter || d > cfg.Delay+cfg.Jitter {
			t.Fatalf("frame %d delayed %v, outside %v ± %v", i, d, cfg.Delay, cfg.Jitter)
		}
	}
	if lo > cfg.Delay-cfg.Jitter+20*time.Microsecond || hi < cfg.Delay+cfg.Jitter-20*time.Microsecond {
		t.Errorf("delays span [%v, %v], want about [3ms, 7ms]", lo, hi)
	}
	// Uniform on a 4ms range: sd of the mean is 4ms/sqrt(12*n) ≈ 16µs.
	if mean := sum / n; mean < cfg.Delay-100*time.Microsecond || mean > cfg.Delay+100*time.Microsecond {
		t.Errorf("mean delay %v, want %v", mean, cfg.Delay)
	}
}

func TestJitterKeepsOrder(t *testing.T) {
	const n = 20_000
	cfg := impair.Config{Delay: 5 * time.Millisecond, Jitter: 2 * time.Millisecond}
	f := newFlow(t, 2, cfg, n, 50*time.Microsecond, 64)
	f.run(t)
	for i, a := range f.rcv.got {
		if a.num != uint32(i) {
			t.Fatalf("delivery %d is frame %d: jitter reordered a FIFO link", i, a.num)
		}
		if d := a.at - time.Duration(i)*50*time.Microsecond; d < cfg.Delay-cfg.Jitter || d > cfg.Delay+cfg.Jitter {
			t.Fatalf("frame %d delayed %v, outside %v ± %v", i, d, cfg.Delay, cfg.Jitter)
		}
	}
	cfg.JitterReorder = true
	g := newFlow(t, 2, cfg, n, 50*time.Microsecond, 64)
	g.run(t)
	if e := early(g.rcv.got); e < n/10 {
		t.Errorf("with JitterReorder only %d of %d frames overtook others", e, n)
	} else {
		t.Logf("with JitterReorder %d of %d frames overtook others", e, n)
	}
}

func TestCorruption(t *testing.T) {
	const n = 50_000
	wantEth := append(append(testDstMAC[:], testSrcMAC[:]...), 0x08, 0x00)
	for _, bits := range []int{1, 4} {
		f := newFlow(t, 13, impair.Config{Delay: time.Millisecond, Corrupt: 0.01, CorruptBits: bits}, n, 10*time.Microsecond, 120)
		ref := make([]byte, 120)
		var corrupted, undetected, ipBad, udpBad int
		f.rcv.check = func(fr []byte) {
			if string(fr[:ethLen]) != string(wantEth) {
				t.Fatalf("Ethernet header changed: % x", fr[:ethLen])
			}
			buildFrame(ref, frameNum(fr))
			ipOK, udpOK := checksumsOK(fr)
			if string(ref) == string(fr) {
				if !ipOK || !udpOK {
					t.Fatalf("intact frame %d fails its checksums", frameNum(fr))
				}
				return
			}
			corrupted++
			switch {
			case !ipOK:
				ipBad++
			case !udpOK:
				udpBad++
			default:
				undetected++
			}
		}
		f.run(t)
		t.Logf("bits=%d: %d corrupted: %d fail the IPv4 checksum, %d the UDP checksum, %d pass both", bits, corrupted, ipBad, udpBad, undetected)
		within(t, "corrupted", corrupted, n, 0.01, 5)
		if st := f.a.Impair(); st.Corrupted != uint64(corrupted) {
			t.Errorf("Corrupted counter %d, %d frames differ", st.Corrupted, corrupted)
		}
		if ipBad == 0 || udpBad == 0 {
			t.Errorf("flips should land in both the IPv4 header and the UDP datagram")
		}
		// One flipped bit always changes the ones'-complement sum; several
		// can (rarely) cancel out, as on a real wire.
		if bits == 1 && undetected != 0 {
			t.Errorf("%d single-bit corruptions passed both checksums", undetected)
		}
		if undetected > corrupted/50 {
			t.Errorf("%d of %d corruptions undetected", undetected, corrupted)
		}
	}
}
