package rtt

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestInitialRTO(t *testing.T) {
	e := New(Config{})
	if e.RTO() != time.Second || e.HasSample() || e.SRTT() != 0 || e.MinRTT() != 0 {
		t.Fatalf("fresh estimator: rto %v srtt %v", e.RTO(), e.SRTT())
	}
}

// TestRFC6298Sequence follows RFC 6298 2.2/2.3 by hand with G = 1 ms and a
// 1 ms minimum so that the formula itself shows.
func TestRFC6298Sequence(t *testing.T) {
	e := New(Config{Granularity: ms, Min: ms})
	steps := []struct {
		r, srtt, rttvar, rto time.Duration
	}{
		// first: SRTT=R, RTTVAR=R/2, RTO=SRTT+4*RTTVAR = 100+200
		{100 * ms, 100 * ms, 50 * ms, 300 * ms},
		// RTTVAR = 3/4*50 + 1/4*|100-200| = 37.5+25 = 62.5
		// SRTT = 7/8*100 + 1/8*200 = 112.5 ; RTO = 112.5 + 250 = 362.5
		{200 * ms, 112500 * time.Microsecond, 62500 * time.Microsecond, 362500 * time.Microsecond},
		// RTTVAR = 3/4*62.5 + 1/4*|112.5-112.5| = 46.875
		// SRTT = 112.5 ; RTO = 112.5 + 187.5 = 300
		{112500 * time.Microsecond, 112500 * time.Microsecond, 46875 * time.Microsecond, 300 * ms},
	}
	for i, s := range steps {
		e.Sample(s.r, time.Duration(i)*time.Second)
		if e.SRTT() != s.srtt || e.RTTVar() != s.rttvar || e.RTO() != s.rto {
			t.Fatalf("step %d: srtt %v rttvar %v rto %v; want %v %v %v",
				i, e.SRTT(), e.RTTVar(), e.RTO(), s.srtt, s.rttvar, s.rto)
		}
	}
}

func TestLinuxFloorAndBounds(t *testing.T) {
	e := New(Config{})
	// 10 ms RTT, tiny variance: Linux gives SRTT + 200 ms.
	e.Sample(10*ms, 0)
	if got := e.RTO(); got != 210*ms {
		t.Fatalf("rto %v, want 210ms (SRTT + rto_min floor)", got)
	}
	for i := 0; i < 100; i++ {
		e.Sample(10*ms, 0)
	}
	if got := e.RTO(); got != 210*ms {
		t.Fatalf("rto %v after steady samples, want 210ms", got)
	}
	big := New(Config{})
	big.Sample(100*time.Second, 0) // 100 + 200 s clamps to 120 s
	if big.RTO() != 120*time.Second {
		t.Fatalf("rto %v, want max 120s", big.RTO())
	}
	small := New(Config{Granularity: time.Nanosecond})
	small.Sample(time.Microsecond, 0)
	if small.RTO() != 200*ms {
		t.Fatalf("rto %v, want min 200ms", small.RTO())
	}
}

func TestBackoff(t *testing.T) {
	e := New(Config{})
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 120, 120, 120}
	for i, w := range want {
		if got := e.RTO(); got != w*time.Second {
			t.Fatalf("after %d backoffs rto %v, want %vs", i, got, int(w))
		}
		e.Backoff()
	}
	if e.Backoffs() != 7 {
		t.Fatalf("backoffs %d, want 7 (stops at Max)", e.Backoffs())
	}
	e.ResetBackoff()
	if e.RTO() != time.Second {
		t.Fatalf("after reset rto %v", e.RTO())
	}
	e.Sample(100*ms, 0)
	e.Backoff()
	e.Backoff()
	if e.RTO() != 4*(100+200)*ms {
		t.Fatalf("rto %v, want 4*300ms", e.RTO())
	}
	for i := 0; i < 100; i++ {
		e.Backoff()
	}
	if e.RTO() != 120*time.Second {
		t.Fatalf("rto %v, want capped", e.RTO())
	}
}

// TestAgainstFloatReference cross-checks the integer estimator against the
// RFC formulas in float64 over random samples.
func TestAgainstFloatReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e := New(Config{Granularity: ms, Min: ms, Max: time.Hour})
	var srtt, rttvar float64
	for i := 0; i < 5000; i++ {
		r := time.Duration(rng.Int64N(int64(2*time.Second))) + time.Microsecond
		e.Sample(r, time.Duration(i)*ms)
		x := float64(r)
		if i == 0 {
			srtt, rttvar = x, x/2
		} else {
			rttvar = 0.75*rttvar + 0.25*math.Abs(srtt-x)
			srtt = 0.875*srtt + 0.125*x
		}
		rto := srtt + math.Max(float64(ms), 4*rttvar)
		if math.Abs(float64(e.SRTT())-srtt) > 16 || math.Abs(float64(e.RTTVar())-rttvar) > 16 ||
			math.Abs(float64(e.RTO())-rto) > 80 {
			t.Fatalf("sample %d: got %v/%v/%v, reference %.0f/%.0f/%.0f",
				i, e.SRTT(), e.RTTVar(), e.RTO(), srtt, rttvar, rto)
		}
	}
}

func TestFromTSEcr(t *testing.T) {
	cases := []struct {
		now, ecr, hz uint32
		r            time.Duration
		ok           bool
	}{
		{1050, 1000, 1000, 50 * ms, true},
		{1000, 1000, 1000, ms, true},                 // less than a tick
		{5, 0xfffffffb, 1000, 10 * ms, true},         // wrapped clock
		{1000, 1001, 1000, 0, false},                 // echo from the future
		{1000, 0, 1000, 0, false},                    // no echo
		{1000, 990, 0, 0, false},                     // no clock
		{244, 0xfffffff0 + 10, 250, 1000 * ms, true}, // 4 ms ticks, wrapped
	}
	for _, c := range cases {
		r, ok := FromTSEcr(c.now, c.ecr, c.hz)
		if r != c.r || ok != c.ok {
			t.Errorf("FromTSEcr(%d, %d, %d) = %v %v, want %v %v", c.now, c.ecr, c.hz, r, ok, c.r, c.ok)
		}
	}
}

func TestMinRTT(t *testing.T) {
	e := New(Config{MinRTTWindow: 100 * time.Second})
	s := time.Second
	e.Sample(50*ms, 0)
	e.Sample(80*ms, 1*s)
	if e.MinRTT() != 50*ms {
		t.Fatalf("min %v", e.MinRTT())
	}
	e.Sample(40*ms, 2*s) // lower sample takes over at once
	if e.MinRTT() != 40*ms {
		t.Fatalf("min %v", e.MinRTT())
	}
	// Path gets slower: after the window the minimum must rise.
	for i := 3; i <= 300; i++ {
		e.Sample(90*ms, time.Duration(i)*s)
	}
	if e.MinRTT() != 90*ms {
		t.Fatalf("min %v after window, want 90ms", e.MinRTT())
	}
}

// TestMinRTTProperties checks the filter against every sample kept in a
// slice (the slow reference): the reported minimum is always a sample taken
// within the window, so it is never below the true windowed minimum nor
// above the latest sample.
func TestMinRTTProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	const win = 10 * time.Second
	e := New(Config{MinRTTWindow: win})
	type smp struct{ r, at time.Duration }
	var all []smp
	now := time.Duration(0)
	for i := 0; i < 20000; i++ {
		now += time.Duration(rng.Int64N(int64(200 * ms)))
		base := 20*ms + time.Duration(i/2000)*5*ms // drifting path
		r := base + time.Duration(rng.Int64N(int64(30*ms)))
		e.Sample(r, now)
		all = append(all, smp{r, now})
		got := e.MinRTT()
		found, trueMin := false, time.Duration(math.MaxInt64)
		for j := len(all) - 1; j >= 0 && now-all[j].at <= win; j-- {
			if all[j].r == got {
				found = true
			}
			trueMin = min(trueMin, all[j].r)
		}
		if !found {
			t.Fatalf("sample %d: min %v is not a sample within the window", i, got)
		}
		if got < trueMin || got > r {
			t.Fatalf("sample %d: min %v outside [window min %v, latest %v]", i, got, trueMin, r)
		}
	}
}

func TestSampleAllocs(t *testing.T) {
	e := New(Config{})
	n := time.Duration(0)
	if a := testing.AllocsPerRun(1000, func() {
		n += ms
		e.Sample(n%(37*ms)+ms, n)
		_ = e.RTO()
		e.Backoff()
		e.ResetBackoff()
		_, _ = FromTSEcr(uint32(n), 5, 1000)
	}); a != 0 {
		t.Fatalf("allocs %v", a)
	}
}
