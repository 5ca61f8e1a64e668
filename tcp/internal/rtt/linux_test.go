package rtt

import (
	"testing"
	"time"
)

const us = time.Microsecond

func near(a, b time.Duration) bool { return a-b < 10 && b-a < 10 }

// TestLinuxVariance walks Linux's estimator by hand (rto_min 200 ms).
func TestLinuxVariance(t *testing.T) {
	e := New(Config{LinuxVariance: true})
	steps := []struct {
		r         time.Duration
		una, nxt  uint32
		srtt, rto time.Duration
	}{
		// First: SRTT 100, mdev 200 (4·R/2), term max(200, 200): RTO 300.
		{100 * ms, 1000, 2000, 100 * ms, 300 * ms},
		// err +200: SRTT 125; mdev 200 + (200 - 50) = 350 raises the term
		// at once: RTO 475. snd.una 1500 has not passed 2000.
		{300 * ms, 1500, 2000, 125 * ms, 475 * ms},
		// err -25, |err| below mdev/4: mdev 350 - 62.5 = 287.5. Round ends
		// (2500 > 2000): the round's max, 350, equals the term, no decay.
		// SRTT 121.875, RTO 471.875.
		{100 * ms, 2500, 5000, 121875 * us, 471875 * us},
		// err -21.875: mdev 287.5 - 50 = 237.5, the new round's max.
		// Round ends: term 350 decays by (350-237.5)/4 to 321.875.
		// SRTT 119.140625, RTO 441.015625.
		{100 * ms, 6000, 7000, 119140625 * time.Nanosecond, 441015625 * time.Nanosecond},
		// A sharp drop (err -109.14, beyond mdev/4): gain 1/32, mdev rises
		// only by (109.140625 - 59.375)/8; the term holds at 321.875.
		// SRTT 105.498046875 (truncated to ns), RTO + 321.875.
		{10 * ms, 6500, 7000, 105498047 * time.Nanosecond, (105498047 + 321875000) * time.Nanosecond},
	}
	for i, s := range steps {
		e.SampleSeq(s.r, time.Duration(i)*time.Second, s.una, s.nxt)
		if !near(e.SRTT(), s.srtt) || !near(e.RTO(), s.rto) {
			t.Fatalf("step %d: srtt %v rto %v, want %v %v", i, e.SRTT(), e.RTO(), s.srtt, s.rto)
		}
	}
	if want := time.Duration(243720703); !near(e.RTTVar()*4, want) {
		t.Fatalf("mdev %v, want ~%v", e.RTTVar()*4, want)
	}
}

// TestLinuxVarianceFloor: with a steady RTT the term settles at rto_min,
// so RTO = SRTT + 200 ms, as on Linux.
func TestLinuxVarianceFloor(t *testing.T) {
	e := New(Config{LinuxVariance: true})
	var una, nxt uint32 = 0, 10
	for i := 0; i < 200; i++ {
		una, nxt = nxt, nxt+10 // each sample ends a round
		e.SampleSeq(700*ms, time.Duration(i)*time.Second, una, nxt)
	}
	if got := e.RTO(); got < 900*ms || got > 900*ms+us {
		t.Fatalf("steady RTO %v, want 900ms", got)
	}
	// Without LinuxVariance SampleSeq is Sample.
	a, b := New(Config{}), New(Config{})
	for i, r := range []time.Duration{50 * ms, 400 * ms, 20 * ms, 90 * ms} {
		a.SampleSeq(r, time.Duration(i), uint32(i), uint32(i+1))
		b.Sample(r, time.Duration(i))
	}
	if a.RTO() != b.RTO() || a.SRTT() != b.SRTT() || a.RTTVar() != b.RTTVar() {
		t.Fatal("SampleSeq differs from Sample in RFC mode")
	}
}

// TestLinuxVarianceNoDecayWithinRound: inside one round trip the term
// never falls, however small the samples.
func TestLinuxVarianceNoDecayWithinRound(t *testing.T) {
	e := New(Config{LinuxVariance: true})
	e.SampleSeq(500*ms, 0, 0, 1000)
	term := e.RTO() - e.SRTT()
	for i := 0; i < 50; i++ {
		e.SampleSeq(500*ms, time.Duration(i)*ms, 500, 1000) // snd.una below 1000
		if got := e.RTO() - e.SRTT(); got != term {
			t.Fatalf("sample %d: term %v, want %v held", i, got, term)
		}
	}
	// The first round's maximum is the initial term itself, so the term
	// can only start falling at the end of the second round.
	e.SampleSeq(500*ms, time.Second, 1001, 2000)
	if got := e.RTO() - e.SRTT(); got != term {
		t.Fatalf("term %v changed at the end of the first round", got)
	}
	e.SampleSeq(500*ms, 2*time.Second, 2001, 3000)
	if got := e.RTO() - e.SRTT(); got >= term {
		t.Fatalf("term %v did not decay after the second round", got)
	}
}
