package cc

import (
	"testing"
	"time"
)

// ssRound acknowledges the whole window one MSS per ACK, each ACK with an
// RTT sample of rtt, and returns cwnd after the round.
func ssRound(a Algorithm, now time.Duration, rtt time.Duration) int {
	n := a.Cwnd() / mss
	inflight := a.Cwnd()
	for i := 0; i < n; i++ {
		a.(RTTObserver).OnRTTSample(rtt, now)
		inflight -= mss
		a.OnAck(mss, rtt, inflight, now, false)
		inflight += 2 * mss // slow start sends two for one
	}
	return a.Cwnd()
}

func TestHyStartSteadyRTTIsPlainSlowStart(t *testing.T) {
	for _, n := range Names() {
		a := mustNew(t, n, Config{HyStart: true})
		want := 10 * mss
		for r := 0; r < 6; r++ {
			want *= 2
			if got := ssRound(a, time.Duration(r)*100*ms, 100*ms); got != want {
				t.Fatalf("%s round %d: cwnd %d, want %d", n, r, got, want)
			}
		}
		if !a.InSlowStart() || a.(interface{ InCSS() bool }).InCSS() {
			t.Fatalf("%s left slow start on a steady RTT", n)
		}
	}
}

// TestHyStartDelayIncrease follows RFC 9406: a round whose minimum RTT
// exceeds the previous round's by max(4 ms, min/8) (here 12.5 ms over
// 100 ms) enters CSS, where growth is a quarter; after 5 CSS rounds slow
// start ends with ssthresh = cwnd.
func TestHyStartDelayIncrease(t *testing.T) {
	for _, n := range Names() {
		a := mustNew(t, n, Config{HyStart: true})
		ssRound(a, 0, 100*ms)
		ssRound(a, 100*ms, 100*ms) // cwnd 40 MSS
		c := a.Cwnd()
		// The next round's RTT rises by 13 ms: after 8 samples, CSS.
		got := ssRound(a, 200*ms, 113*ms)
		if !a.(interface{ InCSS() bool }).InCSS() {
			t.Fatalf("%s: no CSS after an RTT increase", n)
		}
		// 8 ACKs at full rate, 32 at a quarter.
		if want := c + 8*mss + 32*mss/4; got != want {
			t.Fatalf("%s: cwnd %d after the detecting round, want %d", n, got, want)
		}
		for r := 0; r < 5 && a.InSlowStart(); r++ {
			before := a.Cwnd()
			after := ssRound(a, time.Duration(3+r)*100*ms, 113*ms)
			if a.InSlowStart() && after-before > (before/mss)*mss/4+mss {
				t.Fatalf("%s: CSS round grew %d from %d", n, after-before, before)
			}
		}
		if a.InSlowStart() || a.Ssthresh() == InfiniteSsthresh {
			t.Fatalf("%s: still in slow start after 5 CSS rounds (ssthresh %d)", n, a.Ssthresh())
		}
	}
}

func TestHyStartSpuriousCSS(t *testing.T) {
	a := mustNew(t, "cubic", Config{HyStart: true})
	ssRound(a, 0, 100*ms)
	ssRound(a, 100*ms, 100*ms)
	ssRound(a, 200*ms, 120*ms)
	hs := a.(interface{ InCSS() bool })
	if !hs.InCSS() {
		t.Fatal("no CSS")
	}
	// The RTT falls below the CSS baseline: back to standard slow start.
	ssRound(a, 300*ms, 100*ms)
	if hs.InCSS() || !a.InSlowStart() {
		t.Fatal("CSS not abandoned when the RTT fell back")
	}
}

func TestHyStartOffByDefaultAndAfterLoss(t *testing.T) {
	a := mustNew(t, "newreno", Config{})
	ssRound(a, 0, 100*ms)
	ssRound(a, 100*ms, 100*ms)
	ssRound(a, 200*ms, 150*ms)
	if a.(interface{ InCSS() bool }).InCSS() || a.Cwnd() != 80*mss {
		t.Fatalf("HyStart++ acted while disabled: cwnd %d", a.Cwnd())
	}
	b := mustNew(t, "newreno", Config{HyStart: true})
	b.OnCongestion(RTO, 20*mss, 0)
	for r := 0; r < 6; r++ {
		ssRound(b, time.Duration(r)*100*ms, time.Duration(100+20*r)*ms)
	}
	if b.(interface{ InCSS() bool }).InCSS() {
		t.Fatal("HyStart++ used after a loss")
	}
}
