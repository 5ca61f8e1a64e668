package cc

import (
	"errors"
	"math"
	"testing"
	"time"
)

const mss = 1000
const ms = time.Millisecond

func mustNew(t *testing.T, name string, cfg Config) Algorithm {
	t.Helper()
	a, err := New(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.Init(mss, 0)
	return a
}

func TestRegistry(t *testing.T) {
	for _, n := range []string{"cubic", "newreno", "reno"} {
		a, err := New(n, Config{})
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		want := n
		if n == "reno" {
			want = "newreno"
		}
		if a.Name() != want {
			t.Fatalf("name %q", a.Name())
		}
	}
	if _, err := New("bbr3", Config{}); !errors.Is(err, ErrUnknown) {
		t.Fatalf("unknown name: %v", err)
	}
	for _, c := range []Config{{CubicBeta: 1.5}, {CubicC: -1}, {InitialWindow: -1}, {CubicC: math.NaN()}} {
		if _, err := New("cubic", c); !errors.Is(err, ErrConfig) {
			t.Fatalf("config %+v: %v", c, err)
		}
	}
	if len(Names()) != 2 {
		t.Fatal("names")
	}
	if FastRetransmit.String() != "fast-retransmit" || Event(99).String() != "Event(99)" {
		t.Fatal("event strings")
	}
	for _, n := range Names() {
		a := mustNew(t, n, Config{})
		a.OnCongestion(Event(0), 5*mss, 0)
		a.OnCongestion(Event(77), 5*mss, 0)
		if a.Cwnd() != 10*mss || a.Ssthresh() != InfiniteSsthresh {
			t.Fatalf("%s: undefined events changed the window", n)
		}
	}
}

func TestInitialWindow(t *testing.T) {
	for _, n := range Names() {
		a := mustNew(t, n, Config{})
		if a.Cwnd() != 10*mss || a.Ssthresh() != InfiniteSsthresh || !a.InSlowStart() {
			t.Fatalf("%s: cwnd %d ssthresh %d", n, a.Cwnd(), a.Ssthresh())
		}
		b := mustNew(t, n, Config{InitialWindow: 4})
		if b.Cwnd() != 4*mss {
			t.Fatalf("%s: IW 4 gives %d", n, b.Cwnd())
		}
	}
}

// TestSlowStart: each ACK of one MSS adds one MSS (the window doubles per
// round trip); a stretch ACK of 5 MSS adds only L = 2 MSS (RFC 3465).
func TestSlowStart(t *testing.T) {
	for _, n := range Names() {
		a := mustNew(t, n, Config{})
		now := time.Duration(0)
		for round := 0; round < 3; round++ {
			start := a.Cwnd()
			for i := 0; i < start/mss; i++ {
				a.OnAck(mss, 50*ms, a.Cwnd(), now, false)
			}
			if a.Cwnd() != 2*start {
				t.Fatalf("%s round %d: cwnd %d, want %d", n, round, a.Cwnd(), 2*start)
			}
			now += 50 * ms
		}
		c := a.Cwnd()
		a.OnAck(5*mss, 50*ms, 0, now, false)
		if a.Cwnd() != c+2*mss {
			t.Fatalf("%s: stretch ACK grew %d, want 2 MSS", n, a.Cwnd()-c)
		}
	}
}

func TestAppLimitedDoesNotGrow(t *testing.T) {
	for _, n := range Names() {
		a := mustNew(t, n, Config{})
		for i := 0; i < 100; i++ {
			a.OnAck(mss, 50*ms, mss, time.Duration(i)*ms, true)
		}
		if a.Cwnd() != 10*mss {
			t.Fatalf("%s: app-limited slow start grew to %d", n, a.Cwnd())
		}
		// Congestion avoidance too.
		a.OnCongestion(FastRetransmit, 40*mss, 0)
		a.OnRecoveryExit(0)
		c := a.Cwnd()
		for i := 0; i < 1000; i++ {
			a.OnAck(mss, 50*ms, mss, time.Second+time.Duration(i)*ms, true)
		}
		if a.Cwnd() != c {
			t.Fatalf("%s: app-limited CA grew %d -> %d", n, c, a.Cwnd())
		}
	}
}

func TestCwndLimited(t *testing.T) {
	if !CwndLimited(10, 6, true, false) || CwndLimited(12, 6, true, true) {
		t.Fatal("slow start rule: limited while cwnd < 2*inflight")
	}
	if CwndLimited(10, 10, false, false) || !CwndLimited(10, 10, false, true) {
		t.Fatal("congestion avoidance rule: limited only when cwnd was full")
	}
}

// TestNewRenoAvoidance: one MSS per window of acknowledged bytes, i.e. per
// round trip (RFC 5681 section 3.1).
func TestNewRenoAvoidance(t *testing.T) {
	a := mustNew(t, "newreno", Config{})
	a.OnCongestion(FastRetransmit, 40*mss, 0) // ssthresh 20 MSS
	if a.Ssthresh() != 20*mss || a.Cwnd() != 20*mss || !a.InRecovery() {
		t.Fatalf("after loss: cwnd %d ssthresh %d", a.Cwnd(), a.Ssthresh())
	}
	// No growth during recovery; a second loss in the same episode is
	// ignored (RFC 6582).
	a.OnAck(mss, 50*ms, 0, 0, false)
	a.OnCongestion(FastRetransmit, 20*mss, 0)
	if a.Cwnd() != 20*mss || a.Ssthresh() != 20*mss {
		t.Fatalf("recovery: cwnd %d ssthresh %d", a.Cwnd(), a.Ssthresh())
	}
	a.OnRecoveryExit(0)
	for rtt := 0; rtt < 5; rtt++ {
		c := a.Cwnd()
		for i := 0; i < c/mss; i++ {
			a.OnAck(mss, 50*ms, c, 0, false)
		}
		if a.Cwnd() != c+mss {
			t.Fatalf("round %d: cwnd %d, want %d", rtt, a.Cwnd(), c+mss)
		}
	}
}

func TestNewRenoLossReductions(t *testing.T) {
	a := mustNew(t, "newreno", Config{})
	a.OnCongestion(ECN, 30*mss, 0)
	if a.Ssthresh() != 15*mss || a.Cwnd() != 15*mss {
		t.Fatalf("ECN: %d %d", a.Cwnd(), a.Ssthresh())
	}
	a.OnRecoveryExit(0)
	a.OnCongestion(FastRetransmit, 3*mss, 0) // floor 2 MSS
	if a.Ssthresh() != 2*mss {
		t.Fatalf("floor: %d", a.Ssthresh())
	}
	a.OnRecoveryExit(0)
	a = mustNew(t, "newreno", Config{})
	a.OnCongestion(RTO, 16*mss, 0)
	if a.Cwnd() != mss || a.Ssthresh() != 8*mss || a.InRecovery() {
		t.Fatalf("RTO: cwnd %d ssthresh %d", a.Cwnd(), a.Ssthresh())
	}
	a.OnCongestion(RepeatedRTO, mss, 0)
	if a.Cwnd() != mss || a.Ssthresh() != 8*mss {
		t.Fatalf("repeated RTO must hold ssthresh: %d", a.Ssthresh())
	}
	// Slow start again up to ssthresh, then linear.
	for i := 0; i < 7; i++ {
		a.OnAck(mss, 50*ms, 0, 0, false)
	}
	if a.Cwnd() != 8*mss || a.InSlowStart() {
		t.Fatalf("after slow start: %d", a.Cwnd())
	}
	a.Undo(0)
	if a.Cwnd() != 10*mss || a.Ssthresh() != InfiniteSsthresh {
		t.Fatalf("undo: cwnd %d ssthresh %d", a.Cwnd(), a.Ssthresh())
	}
}

// TestSlowStartCrossingSsthresh: the part of an ACK beyond ssthresh counts
// toward congestion avoidance, not slow start.
func TestSlowStartCrossingSsthresh(t *testing.T) {
	a := mustNew(t, "newreno", Config{})
	a.OnCongestion(RTO, 10*mss+500, 0) // ssthresh 5250
	for i := 0; i < 4; i++ {
		a.OnAck(mss, 0, 0, 0, false) // 1000 -> 5000
	}
	a.OnAck(mss, 0, 0, 0, false)
	if a.Cwnd() != 5250 {
		t.Fatalf("cwnd %d, want capped at ssthresh 5250", a.Cwnd())
	}
}

// TestCubicReduction: ×0.7 and fast convergence.
func TestCubicReduction(t *testing.T) {
	a := mustNew(t, "cubic", Config{InitialWindow: 100})
	c := a.(*Cubic)
	a.OnCongestion(FastRetransmit, 100*mss, 0)
	if a.Cwnd() != 70*mss || a.Ssthresh() != 70*mss || c.WMax() != 100 {
		t.Fatalf("cwnd %d ssthresh %d wmax %v", a.Cwnd(), a.Ssthresh(), c.WMax())
	}
	a.OnRecoveryExit(0)
	// A second loss below W_max: fast convergence lowers W_max to
	// cwnd·(1+β)/2 = 70·0.85 = 59.5.
	a.OnCongestion(FastRetransmit, 70*mss, time.Second)
	if math.Abs(c.WMax()-59.5) > 1e-9 || a.Cwnd() != 49*mss {
		t.Fatalf("fast convergence: wmax %v cwnd %d", c.WMax(), a.Cwnd())
	}
	a.OnRecoveryExit(time.Second)
	b := mustNew(t, "cubic", Config{InitialWindow: 70, DisableFastConvergence: true})
	b.(*Cubic).wMax = 100
	b.OnCongestion(FastRetransmit, 70*mss, 0)
	if b.(*Cubic).WMax() != 70 {
		t.Fatalf("without fast convergence wmax %v", b.(*Cubic).WMax())
	}
	// Undo restores window and W_max.
	b.Undo(0)
	if b.Cwnd() != 70*mss || b.(*Cubic).WMax() != 100 || b.InRecovery() {
		t.Fatalf("undo: cwnd %d wmax %v", b.Cwnd(), b.(*Cubic).WMax())
	}
	// RTO: one segment, ssthresh ×0.7, W_max forgotten.
	r := mustNew(t, "cubic", Config{InitialWindow: 20})
	r.OnCongestion(RTO, 20*mss, 0)
	if r.Cwnd() != mss || r.Ssthresh() != 14*mss || r.(*Cubic).WMax() != 0 {
		t.Fatalf("rto: %d %d %v", r.Cwnd(), r.Ssthresh(), r.(*Cubic).WMax())
	}
}

// runRounds simulates congestion avoidance: every round trip the whole
// window is acknowledged one MSS at a time, evenly over the RTT. It returns
// cwnd (in segments) at the start of each round and the round's time.
func runRounds(a Algorithm, start, rtt time.Duration, rounds int) (w []float64, at []time.Duration) {
	now := start
	for r := 0; r < rounds; r++ {
		w = append(w, float64(a.Cwnd())/mss)
		at = append(at, now)
		n := a.Cwnd() / mss
		for i := 0; i < n; i++ {
			a.OnAck(mss, rtt, a.Cwnd(), now+rtt*time.Duration(i)/time.Duration(n), false)
		}
		now += rtt
	}
	return w, at
}

// TestCubicCurve compares the window with RFC 9438 equation 1 at several t
// after a loss at W_max = 100 segments: K = ∛(100·0.3/0.4) ≈ 4.217 s.
func TestCubicCurve(t *testing.T) {
	a := mustNew(t, "cubic", Config{InitialWindow: 100, DisableRenoFriendly: true})
	c := a.(*Cubic)
	a.OnCongestion(FastRetransmit, 100*mss, 0)
	a.OnRecoveryExit(0)
	const rtt = 100 * ms
	w, at := runRounds(a, 0, rtt, 80)
	if k := c.K(); math.Abs(k-math.Cbrt(75)) > 1e-9 {
		t.Fatalf("K %v", k)
	}
	formula := func(sec float64) float64 {
		d := sec - math.Cbrt(75)
		return 0.4*d*d*d + 100
	}
	for _, r := range []int{5, 10, 20, 30, 42, 50, 60, 70, 79} {
		ts := at[r].Seconds()
		want := formula(ts)
		if math.Abs(w[r]-want) > 0.02*want+1 {
			t.Errorf("t=%.1fs: cwnd %.2f segments, W_cubic(t) = %.2f", ts, w[r], want)
		}
	}
	// Concave then convex: growth slows approaching W_max and speeds up
	// after it.
	if !(w[10]-w[5] > w[40]-w[35] && w[79]-w[74] > w[45]-w[40]) {
		t.Errorf("curve shape wrong: %v", w)
	}
}

// TestCubicRenoFriendly: on a short RTT the cubic curve is slower than
// Reno; the window follows W_est, growing about alpha_cubic = 0.53
// segments per round trip, then 1 once W_est passes cwnd_prior.
func TestCubicRenoFriendly(t *testing.T) {
	a := mustNew(t, "cubic", Config{InitialWindow: 100})
	a.OnCongestion(FastRetransmit, 100*mss, 0)
	a.OnRecoveryExit(0)
	const rtt = 1 * ms
	w, _ := runRounds(a, 0, rtt, 200)
	alpha := 3 * 0.3 / 1.7
	// After 40 rounds (40 ms; the cubic term has added ~0.04 segments).
	if got, want := w[40], 70+40*alpha; math.Abs(got-want) > 1 {
		t.Fatalf("after 40 rounds cwnd %.2f, want W_est %.2f", got, want)
	}
	// W_est reaches cwnd_prior = 100 after ~57 rounds; then 1 per round.
	if d := w[199] - w[150]; math.Abs(d-49) > 1.5 {
		t.Fatalf("growth per round past cwnd_prior: %.2f over 49 rounds", d)
	}
}

// TestCubicAppLimitedShiftsEpoch: an app-limited pause neither grows the
// window nor lets it jump when sending resumes.
func TestCubicAppLimitedShiftsEpoch(t *testing.T) {
	a := mustNew(t, "cubic", Config{InitialWindow: 100, DisableRenoFriendly: true})
	a.OnCongestion(FastRetransmit, 100*mss, 0)
	a.OnRecoveryExit(0)
	runRounds(a, 0, 100*ms, 10) // 1 s into the epoch
	before := a.Cwnd()
	for i := 0; i < 100; i++ { // 10 s app-limited
		a.OnAck(mss, 100*ms, mss, time.Second+time.Duration(i)*100*ms, true)
	}
	if a.Cwnd() != before {
		t.Fatalf("grew while app-limited: %d -> %d", before, a.Cwnd())
	}
	w, _ := runRounds(a, 11*time.Second, 100*ms, 2)
	if w[1]-w[0] > 5 {
		t.Fatalf("jump after app-limited period: %.1f -> %.1f", w[0], w[1])
	}
}

func TestPRRRFC6937(t *testing.T) {
	// RFC 6937 section 6 style: 20 segments in flight, one lost, ssthresh
	// 10: while pipe > ssthresh PRR sends one segment for every two
	// delivered.
	var p PRR
	p.Start(10*mss, 20*mss, mss)
	pipe := 19 * mss
	var sent []int
	for i := 0; i < 8; i++ {
		pipe -= mss
		n := p.OnAck(mss, pipe)
		sent = append(sent, n/mss)
		p.OnSent(n)
		pipe += n
	}
	want := []int{1, 0, 1, 0, 1, 0, 1, 0}
	for i := range want {
		if sent[i] != want[i] {
			t.Fatalf("sndcnt per ACK %v, want %v", sent, want)
		}
	}
	if p.Delivered() != 8*mss || p.Out() != 4*mss {
		t.Fatalf("delivered %d out %d", p.Delivered(), p.Out())
	}
	// Below ssthresh (a burst of losses): SSRB sends up to the delivered
	// bytes plus one MSS, never above ssthresh - pipe.
	p.Start(10*mss, 20*mss, mss)
	p.OnSent(mss)
	if n := p.OnAck(2*mss, 5*mss); n != 3*mss {
		t.Fatalf("SSRB sndcnt %d, want 3 MSS", n)
	}
	if n := p.OnAck(2*mss, 9*mss); n != mss {
		t.Fatalf("ssthresh-pipe bound: %d", n)
	}
	c := PRR{Conservative: true}
	c.Start(10*mss, 20*mss, mss)
	c.OnSent(mss)
	if n := c.OnAck(2*mss, 5*mss); n != mss {
		t.Fatalf("CRB sndcnt %d, want prr_delivered-prr_out = 1 MSS", n)
	}
}

// TestPRRAgainstReference cross-checks OnAck with the RFC 6937 pseudocode
// written out directly, over many ACK patterns.
func TestPRRAgainstReference(t *testing.T) {
	for _, cons := range []bool{false, true} {
		for recoverFS := 3; recoverFS < 40; recoverFS += 3 {
			ssthresh := recoverFS * 7 / 10
			p := PRR{Conservative: cons}
			p.Start(ssthresh*mss, recoverFS*mss, mss)
			var del, out int
			pipe := recoverFS*mss - mss
			for i := 0; i < 50; i++ {
				d := (i%3 + 1) * mss / 2
				pipe -= d
				if pipe < 0 {
					pipe = 0
				}
				del += d
				var want int
				if pipe > ssthresh*mss {
					share := float64(del) * float64(ssthresh*mss) / float64(recoverFS*mss)
					want = int(math.Ceil(share/mss))*mss - out
				} else {
					lim := del - out
					if !cons {
						lim = max(lim, d) + mss
					}
					want = min(ssthresh*mss-pipe, lim)
				}
				if out == 0 {
					want = max(want, mss)
				}
				want = max(want, 0)
				got := p.OnAck(d, pipe)
				if got != want {
					t.Fatalf("cons %v fs %d ack %d: sndcnt %d, reference %d", cons, recoverFS, i, got, want)
				}
				p.OnSent(got)
				out += got
				pipe += got
			}
		}
	}
}

func TestAllocs(t *testing.T) {
	for _, n := range Names() {
		a := mustNew(t, n, Config{})
		now := time.Duration(0)
		var p PRR
		if al := testing.AllocsPerRun(500, func() {
			now += ms
			a.OnAck(mss, 20*ms, 10*mss, now, false)
			if a.Cwnd() > 200*mss {
				a.OnCongestion(FastRetransmit, a.Cwnd(), now)
				p.Start(a.Ssthresh(), a.Cwnd(), mss)
				p.OnSent(p.OnAck(mss, a.Cwnd()))
				a.OnRecoveryExit(now)
			}
		}); al != 0 {
			t.Fatalf("%s: %v allocs", n, al)
		}
	}
}

func BenchmarkCubicOnAck(b *testing.B) {
	a, _ := New("cubic", Config{})
	a.Init(mss, 0)
	a.OnCongestion(FastRetransmit, 1000*mss, 0)
	a.OnRecoveryExit(0)
	now := time.Duration(0)
	for b.Loop() {
		now += time.Microsecond
		a.OnAck(mss, 10*ms, 0, now, false)
	}
}
